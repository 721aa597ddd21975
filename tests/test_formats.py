"""Bibliographic formats: each realistic sample parses to the expected papers; bad files fail clearly."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import IngestConfig
from pipeline.errors import InputError, PipelineError
from pipeline.ingest import clean as ingest
from pipeline.ingest.clean import clean_text, normalise_title, read_papers
from pipeline.ingest.readers import arxiv
from pipeline.ingest.readers.fields import display_name
from pipeline.ingest.readers.openalex import rebuild_abstract

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def by_id(papers: pd.DataFrame) -> dict[str, dict]:
    return {row["id"]: row for row in papers.to_dict("records")}


# --------------------------------------------------------------------------- BibTeX

BIBTEX = r"""
% Exported from a reference manager
@string{neurips = "Advances in Neural Information Processing Systems"}

@inproceedings{muller2020schrodinger,
  title     = {On the {B}ehaviour of {Schr\"{o}dinger} Bridges in $\alpha$-Space},
  author    = {M{\"u}ller, J{\"o}rg and Garc{\'\i}a, Jos{\'e} and {Google Research}},
  booktitle = neurips,
  year      = 2020,
  month     = dec,
  doi       = {10.5555/3495724.3496001},
  keywords  = {diffusion, optimal transport},
  abstract  = {We study \emph{diffusion} bridges with 50\% fewer steps -- and show that
               the {S}chr\"odinger formulation converges faster.}
}

@article{smith2019graphs,
  author   = "Smith, Ann and van der Berg, Piet and O'Neil, Jr., Tom",
  title    = "Graph Neural Networks for Molecules",
  journal  = {Journal of Chemical Information},
  year     = {2019},
  url      = {https://example.org/gnn},
  abstract = "Message passing networks predict molecular properties from atom graphs."
}

@online{lee2023prompt,
  author       = {Lee, Min-Ji},
  title        = {Prompt Tuning at Scale},
  date         = {2023-04-17},
  eprint       = {2304.01234},
  archiveprefix = {arXiv},
  abstract     = {Soft prompts match full fine-tuning on large language models.}
}

@comment{This entry has no abstract and is skipped by ingest}
@book{knuth1984texbook, title = {The {\TeX}book}, author = {Knuth, Donald E.}, year = {1984}}
"""


def test_bibtex_parses_to_plain_text(tmp_path):
    papers, report = read_papers([write(tmp_path / "refs.bib", BIBTEX)])
    assert report.read == 4 and report.kept == 3 and report.skipped_no_abstract == 1
    rows = by_id(papers)
    first = rows["muller2020schrodinger"]
    assert first["title"] == r"On the Behaviour of Schrödinger Bridges in $\alpha$-Space"
    assert first["abstract"] == ("We study diffusion bridges with 50% fewer steps – and show "
                                 "that the Schrödinger formulation converges faster.")
    assert first["authors"] == "Jörg Müller; José García; Google Research"
    assert first["year"] == 2020
    assert first["doi"] == "10.5555/3495724.3496001"
    assert first["url"] == "https://doi.org/10.5555/3495724.3496001"
    assert first["venue"] == "Advances in Neural Information Processing Systems"
    assert first["keywords"] == "diffusion, optimal transport"
    second = rows["smith2019graphs"]
    assert second["title"] == "Graph Neural Networks for Molecules"
    assert second["authors"] == "Ann Smith; Piet van der Berg; Tom O'Neil, Jr."
    assert second["year"] == 2019 and second["url"] == "https://example.org/gnn"
    third = rows["lee2023prompt"]
    assert third["year"] == 2023 and third["url"] == "https://arxiv.org/abs/2304.01234"
    assert third["authors"] == "Min-Ji Lee"


def test_bibtex_links_keep_their_percent_signs(tmp_path):
    """Links are not LaTeX: "%" is part of the address, not a comment."""
    text = (r"@article{a, title={50\% fewer steps}, abstract={We study diffusion bridges with fewer steps and show they converge.}, "
            r"url={https://example.org/a%20b?q=1%2F2}, doi={10.1000/x%y}}" "\n"
            r"@article{b, title={B}, abstract={Message passing networks predict molecular properties from atom graphs.}, "
            r"url={\url{https://example.org/a\_b\%20c}}}" "\n")
    rows = by_id(read_papers([write(tmp_path / "links.bib", text + BIBTEX)])[0])
    assert rows["a"]["title"] == "50% fewer steps"  # prose is still decoded
    assert rows["a"]["url"] == "https://example.org/a%20b?q=1%2F2"
    assert rows["a"]["doi"] == "10.1000/x%y"
    assert rows["b"]["url"] == "https://example.org/a_b%20c"


def test_bibtex_export_reads_back_with_its_links(tmp_path):
    from pipeline.review.export import to_bibtex

    url = "https://example.org/a%20b?x=1&y=50%25_off#top"
    frame = pd.DataFrame({"id": ["k1", "k2", "k3"], "title": ["50% fewer steps", "B", "C"],
                          "abstract": ["Message passing networks predict molecular properties "
                                       "from atom graphs."] * 3,
                          "authors": [""] * 3, "year": [2020] * 3, "url": [url, "", ""]})
    path = tmp_path / "out.bib"
    path.write_text(to_bibtex(frame), encoding="utf-8")
    rows = by_id(read_papers([path])[0])
    assert rows["k1"]["url"] == url and rows["k1"]["title"] == "50% fewer steps"


def test_bibtex_gzip(tmp_path):
    path = tmp_path / "refs.bib.gz"
    path.write_bytes(gzip.compress(BIBTEX.encode()))
    papers, _ = read_papers([path])
    assert len(papers) == 3


def test_bibtex_unbalanced_brace_names_the_entry(tmp_path):
    broken = BIBTEX.replace("title    = \"Graph Neural Networks for Molecules\",",
                            "title    = {Graph Neural Networks for Molecules,")
    path = write(tmp_path / "broken.bib", broken)
    with pytest.raises(InputError, match=r"broken\.bib: BibTeX entry starting on line \d+ "
                                         r"cannot be read.*Fix or remove it"):
        read_papers([path])


def test_bibtex_without_entries_is_a_clear_error(tmp_path):
    path = write(tmp_path / "notes.bib", "title,abstract\nA table,not bibtex\n")
    with pytest.raises(InputError, match=r"notes\.bib: holds no BibTeX entries"):
        read_papers([path])


# --------------------------------------------------------------------------- RIS

RIS = """
TY  - JOUR
AU  - Müller, Jörg
AU  - García, José
TI  - Diffusion Bridges for Image Synthesis
T2  - Journal of Generative Models
AB  - We study diffusion bridges for fast image synthesis.
PY  - 2020
DA  - 2020/05/03/
DO  - 10.1000/jgm.2020.17
UR  - https://example.org/bridges
KW  - diffusion
KW  - image synthesis
ID  - mueller2020
ER  -

TY  - CONF
A1  - Smith, Ann
A1  - Berg, Piet
T1  - Graph Networks for Molecules
JO  - Proceedings of Chemistry and Learning
N2  - Message passing networks predict molecular properties.
Y1  - 2019///
ER  -

TY  - JOUR
AU  - Lee, Min-Ji
TI  - Prompt Tuning at Scale
AB  - Soft prompts match full fine-tuning on large models,
      even at small sizes.
PY  - 2023
DO  - https://doi.org/10.48550/arXiv.2304.01234
ER  -
"""


def test_ris_parses_zotero_and_scopus_styles(tmp_path):
    papers, report = read_papers([write(tmp_path / "export.ris", RIS)])
    assert report.kept == 3
    rows = by_id(papers)
    first = rows["mueller2020"]
    assert first["title"] == "Diffusion Bridges for Image Synthesis"
    assert first["abstract"] == "We study diffusion bridges for fast image synthesis."
    assert first["authors"] == "Jörg Müller; José García"
    assert first["year"] == 2020 and first["venue"] == "Journal of Generative Models"
    assert first["keywords"] == "diffusion; image synthesis"
    assert first["url"] == "https://example.org/bridges"
    assert first["entry_type"] == "jour"
    second = papers[papers["title"] == "Graph Networks for Molecules"].iloc[0]
    assert second["abstract"] == "Message passing networks predict molecular properties."
    assert second["authors"] == "Ann Smith; Piet Berg" and second["year"] == 2019
    third = rows["10.48550/arXiv.2304.01234"]
    assert third["doi"] == "10.48550/arXiv.2304.01234"
    assert third["url"] == "https://doi.org/10.48550/arXiv.2304.01234"
    assert third["abstract"].endswith("even at small sizes.")


def test_ris_missing_end_of_record_is_an_error(tmp_path):
    broken = RIS.replace("Y1  - 2019///\nER  -\n", "Y1  - 2019///\n", 1)
    path = write(tmp_path / "cut.ris", broken)
    with pytest.raises(InputError, match=r"cut\.ris: RIS record starting on line 16 has no end"):
        read_papers([path])


def test_ris_truncated_file_is_an_error(tmp_path):
    path = write(tmp_path / "short.ris", RIS.rsplit("ER  -", 1)[0])
    with pytest.raises(InputError, match=r"short\.ris: the RIS record starting on line \d+ "
                                         r"has no end.*export it again"):
        read_papers([path])


def test_ris_that_is_not_ris_is_an_error(tmp_path):
    path = write(tmp_path / "wrong.ris", "Just some notes about papers.\nNothing tagged here.\n")
    with pytest.raises(InputError, match=r"wrong\.ris: holds no RIS records"):
        read_papers([path])


# --------------------------------------------------------------------------- arXiv Atom

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query=cat:cs.CL" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=cat:cs.CL</title>
  <id>http://arxiv.org/api/abc</id>
  <updated>2024-01-02T00:00:00-05:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">3</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/2401.00001v2</id>
    <updated>2024-01-05T10:00:00Z</updated>
    <published>2023-12-29T18:59:59Z</published>
    <title>Sparse Attention for
  Long Documents</title>
    <summary>  We make attention sparse &amp; fast for
  documents of 100k tokens.
</summary>
    <author><name>Ana Souza</name></author>
    <author><name>Wei Zhang</name><arxiv:affiliation xmlns:arxiv="http://arxiv.org/schemas/atom">Tsinghua</arxiv:affiliation></author>
    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.1000/sparse.1</arxiv:doi>
    <link title="doi" href="http://dx.doi.org/10.1000/sparse.1" rel="related"/>
    <link href="http://arxiv.org/abs/2401.00001v2" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2401.00001v2" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
  <entry>
    <id>http://arxiv.org/abs/2402.01234v1</id>
    <published>2024-02-03T12:00:00Z</published>
    <title>Robot Grasping with Tactile Sensing</title>
    <summary>Tactile feedback improves grasp success on unseen objects.</summary>
    <author><name>Jonas Müller</name></author>
    <link href="http://arxiv.org/abs/2402.01234v1" rel="alternate" type="text/html"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.RO"/>
    <category term="cs.RO"/>
  </entry>
  <entry>
    <id>http://arxiv.org/abs/hep-th/9901001v3</id>
    <published>1999-01-01T00:00:01Z</published>
    <title>Strings on Branes</title>
    <summary>We compute string amplitudes on D-branes in detail.</summary>
    <author><name>E. Witten</name></author>
    <link href="http://arxiv.org/abs/hep-th/9901001v3" rel="alternate" type="text/html"/>
    <category term="hep-th"/>
  </entry>
</feed>
"""


def test_arxiv_atom_feed(tmp_path):
    papers, report = read_papers([write(tmp_path / "query.xml", ATOM)])
    assert report.kept == 3
    rows = by_id(papers)
    first = rows["2401.00001"]
    assert first["title"] == "Sparse Attention for Long Documents"
    assert first["abstract"] == "We make attention sparse & fast for documents of 100k tokens."
    assert first["authors"] == "Ana Souza; Wei Zhang"
    assert first["year"] == 2023 and first["date"] == "2023-12-29"
    assert first["url"] == "http://arxiv.org/abs/2401.00001v2"
    assert first["categories"] == "cs.CL cs.LG" and first["primary_category"] == "cs.CL"
    assert first["doi"] == "10.1000/sparse.1"
    assert rows["hep-th/9901001"]["year"] == 1999
    assert rows["2402.01234"]["authors"] == "Jonas Müller"


def test_arxiv_atom_category_filter(tmp_path):
    path = write(tmp_path / "query.atom", ATOM)
    config = IngestConfig(arxiv_categories=["cs"], min_abstract_chars=5)
    with pytest.raises(InputError, match="only 2 usable"):
        read_papers([path], config)
    config.arxiv_categories = ["cs.LG", "hep-th", "cs.RO"]
    papers, _ = read_papers([path], config)
    assert sorted(papers["id"]) == ["2401.00001", "2402.01234", "hep-th/9901001"]


def test_arxiv_atom_truncated_is_an_error(tmp_path):
    path = write(tmp_path / "cut.xml", ATOM[: len(ATOM) // 2])
    with pytest.raises(InputError, match=r"cut\.xml: is not well-formed XML \(line \d+"):
        read_papers([path])


def test_xml_that_is_not_atom_is_an_error(tmp_path):
    path = write(tmp_path / "pubmed.xml", "<PubmedArticleSet><PubmedArticle/></PubmedArticleSet>")
    with pytest.raises(InputError, match=r"pubmed\.xml: XML root is <PubmedArticleSet>, not an "
                                         r"Atom <feed>"):
        read_papers([path])


def test_xml_entities_are_refused(tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol;</title></feed>')
    with pytest.raises(InputError, match="DOCTYPE/ENTITY declaration is refused"):
        read_papers([write(tmp_path / "bomb.xml", bomb)])


def test_arxiv_api_error_feed(tmp_path):
    error = """<?xml version="1.0" encoding="UTF-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><entry>
      <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
      <title>Error</title><summary>incorrect id format for 1234.12345</summary>
    </entry></feed>"""
    with pytest.raises(InputError, match=r"arXiv API error.*incorrect id format"):
        read_papers([write(tmp_path / "err.xml", error)])


# --------------------------------------------------------------------------- arXiv snapshot


def snapshot_record(n: int, category: str = "cs.CL", created: str = "Mon, 2 Apr 2007 19:18:42 GMT",
                    ) -> dict:
    """A line shaped like arxiv-metadata-oai-snapshot.json."""
    return {
        "id": f"0704.{n:04d}",
        "submitter": "Pavel Nadolsky",
        "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
        "title": f"Calculation of prompt diphoton production\n  cross sections {n}",
        "comments": "37 pages, 15 figures",
        "journal-ref": "Phys.Rev.D76:013009,2007",
        "doi": "10.1103/PhysRevD.76.013009",
        "report-no": "ANL-HEP-PR-07-12",
        "categories": f"{category} hep-ph",
        "license": None,
        "abstract": f"  A fully differential calculation in perturbative quantum chromodynamics is\n"
                    f"presented for the production of massive photon pairs {n}.\n",
        "versions": [{"version": "v1", "created": created},
                     {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"}],
        "update_date": "2008-11-13",
        "authors_parsed": [["Balázs", "C.", ""], ["Berger", "E. L.", ""],
                           ["Nadolsky", "P. M.", ""], ["Yuan", "C. -P.", "Jr"]],
    }


def write_snapshot(path: Path, records: list[dict]) -> Path:
    lines = "".join(json.dumps(r) + "\n" for r in records)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(lines.encode()))
    else:
        path.write_text(lines, encoding="utf-8")
    return path


def snapshot_records() -> list[dict]:
    return ([snapshot_record(i, "cs.CL", "Mon, 2 Apr 2007 19:18:42 GMT") for i in range(4)]
            + [snapshot_record(10 + i, "math.PR", "Fri, 3 Jan 2020 10:00:00 GMT") for i in range(4)]
            + [snapshot_record(20 + i, "cs.LG", "Wed, 15 Jun 2022 08:00:00 GMT") for i in range(4)])


def test_arxiv_snapshot_is_detected_by_content(tmp_path):
    path = write_snapshot(tmp_path / "arxiv-metadata-oai-snapshot.json", snapshot_records())
    papers, report = read_papers([path])
    assert report.kept == 12
    first = by_id(papers)["0704.0000"]
    assert first["title"] == "Calculation of prompt diphoton production cross sections 0"
    assert first["abstract"].startswith("A fully differential calculation in perturbative")
    assert first["authors"] == "C. Balázs; E. L. Berger; P. M. Nadolsky; C. -P. Yuan Jr"
    assert first["year"] == 2007 and first["date"] == "2007-04-02"
    assert first["url"] == "https://arxiv.org/abs/0704.0000"
    assert first["categories"] == "cs.CL hep-ph" and first["primary_category"] == "cs.CL"


def test_arxiv_snapshot_filters_by_category_and_date(tmp_path):
    path = write_snapshot(tmp_path / "snap.jsonl.gz", snapshot_records())
    papers, _ = read_papers([path], IngestConfig(arxiv_categories=["cs"]))
    assert sorted(papers["primary_category"].unique()) == ["cs.CL", "cs.LG"]
    papers, _ = read_papers([path], IngestConfig(arxiv_categories=["cs"], arxiv_from="2020"))
    assert set(papers["year"]) == {2022.0}
    papers, _ = read_papers([path], IngestConfig(arxiv_from="2007-04", arxiv_until="2020"))
    assert set(papers["year"]) == {2007.0, 2020.0}
    papers, _ = read_papers([path], IngestConfig(arxiv_categories=["math.PR"]))
    assert len(papers) == 4
    # "math" is an archive prefix and must not match the math-ph archive; "cs.C" is no category.
    with pytest.raises(InputError, match=r"no arXiv paper matches the filter \(categories cs\.C"):
        read_papers([path], IngestConfig(arxiv_categories=["cs.C"]))


def test_arxiv_snapshot_bad_line_names_it(tmp_path):
    path = write_snapshot(tmp_path / "snap.json", snapshot_records())
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"id": "0704.9999", "title": "cut sho\n')
    with pytest.raises(InputError, match=r"snap\.json: line 13 is not valid JSON.*truncated"):
        read_papers([path])


def test_arxiv_snapshot_truncated_gzip(tmp_path):
    path = write_snapshot(tmp_path / "snap.json.gz", snapshot_records() * 30)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(InputError, match=r"snap\.json\.gz: .*download it again"):
        read_papers([path])


STREAM_PROBE = """
import json, resource, sys
from pathlib import Path
from pipeline.config import IngestConfig
from pipeline.ingest.clean import read_papers
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
papers, _ = read_papers([Path(sys.argv[1])], IngestConfig(arxiv_categories=["cs.CL"]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"kept": len(papers), "growth_kb": after - before}))
"""


def test_arxiv_snapshot_streams_in_bounded_memory(tmp_path):
    """Reading a ~40 MB snapshot that keeps 5 papers must not hold the file in memory."""
    path = tmp_path / "big-snapshot.json"
    filler = snapshot_record(0, "math.PR")
    filler["abstract"] = "x " * 3000
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(7000):
            record = snapshot_record(i, "cs.CL") if i % 1400 == 0 else dict(filler, id=f"m{i}")
            handle.write(json.dumps(record) + "\n")
    size_kb = path.stat().st_size // 1024
    assert size_kb > 35_000
    out = subprocess.run([sys.executable, "-c", STREAM_PROBE, str(path)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["kept"] == 5
    assert result["growth_kb"] < size_kb / 4, result


def quirky_snapshot_records() -> list[dict]:
    """Snapshot lines whose text needs cleaning, with duplicates that land in other chunks."""
    quirks = ["Caf&eacute; &amp; <b>bold</b>\u200b", "Schr\\\"odinger $\\alpha$-space \\emph{x}",
              "e\u0301 with a combining accent", "tab\tand\x07bell\x00 \r\n end"]
    records = []
    for i in range(14):
        record = snapshot_record(i, "cs.CL")
        record["title"] = f"  {quirks[i % 4]}\n   title {i}  "
        record["abstract"] = f"\n  {quirks[(i + 1) % 4]}  " + record["abstract"]
        record["authors_parsed"] = [["M&uuml;ller", "J.", ""], [" Lee\u200b ", "M.", ""]]
        records.append(record)
    records[5]["abstract"] = "  too &amp; short "
    records[9]["title"] = records[1]["title"].replace(" ", "\n  ").upper()  # same title key
    records[12]["id"] = records[2]["id"]  # same id, different title
    return records


def test_arxiv_snapshot_is_cleaned_a_chunk_at_a_time_like_a_whole_table(tmp_path, monkeypatch):
    """Per-chunk cleaning gives what one pass over whole columns gave, and never runs twice.

    A chunk of 2 rows puts the duplicates (rows 9 and 12 of 1 and 2) in other chunks.
    """
    path = write_snapshot(tmp_path / "snap.json", quirky_snapshot_records())
    monkeypatch.setattr(arxiv, "_CHUNK_ROWS", 2)
    cleaned_sizes: list[int] = []
    text_cleanings = 0

    def counting_clean_text(value: object) -> str:
        nonlocal text_cleanings
        text_cleanings += 1
        return clean_text(value)

    def recording_clean_papers(frame: pd.DataFrame) -> pd.DataFrame:
        cleaned_sizes.append(len(frame))
        return real_clean_papers(frame)

    real_clean_papers = ingest.clean_papers
    monkeypatch.setattr(ingest, "clean_text", counting_clean_text)
    monkeypatch.setattr(ingest, "clean_papers", recording_clean_papers)
    papers, report = read_papers([path])

    # The reference: every raw row cleaned on its own, then the usual skip and merge rules.
    raw = [dict(zip(arxiv.COLUMNS, row, strict=True))
           for row in arxiv.stream_snapshot(path, arxiv.ArxivFilter())]
    expected, titles, ids, usable = [], set(), set(), 0
    for row in raw:
        paper = {column: clean_text(row[column]) for column in ingest.TEXT_COLUMNS}
        if len(paper["abstract"]) < IngestConfig().min_abstract_chars:
            continue
        usable += 1
        keys = (normalise_title(paper["title"]), paper["id"].casefold())
        if not ((keys[0] in titles) or (keys[1] in ids)):
            expected.append(paper)
        titles.add(keys[0])
        ids.add(keys[1])
    assert any(row["title"] != clean_text(row["title"]) for row in raw)
    assert papers[list(ingest.TEXT_COLUMNS)].to_dict("records") == expected
    assert expected[0]["title"] == "Café & <b>bold</b> title 0"
    assert expected[0]["authors"] == "J. Müller; M. Lee"
    assert report.counts() == {"read": 14, "skipped_no_abstract": 1,
                               "duplicates_merged": usable - len(expected), "kept": len(expected)}
    assert report.duplicates_merged == 2
    assert cleaned_sizes == [2] * 7  # a chunk at a time, each row once
    assert text_cleanings == len(ingest.TEXT_COLUMNS) * 14  # no second whole-column pass


BROAD_PROBE = """
import json, resource, sys
from pathlib import Path
from pipeline.ingest.clean import read_papers
read_papers([Path(sys.argv[1])])  # loads the libraries and one chunk's working set
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
papers, _ = read_papers([Path(sys.argv[2])])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
text = int(papers["abstract"].str.len().sum() + papers["title"].str.len().sum())
print(json.dumps({"kept": len(papers), "growth_kb": after - before, "text_kb": text // 1024}))
"""


def test_arxiv_snapshot_keeping_many_papers_holds_their_text_about_once(tmp_path):
    """A broad filter keeps 30,000 papers (~42 MB of text): memory must not grow by several copies.

    Cleaning whole columns after reading grew by ~5.7x the kept text here; a chunk at a
    time ~2.5x (the text once in compact columns, plus the other fields and allocator slack).
    """
    words = "model data method learning network results propose show performance".split()
    big = tmp_path / "big.json"
    with open(big, "w", encoding="utf-8") as handle:
        for i in range(30_000):
            record = snapshot_record(i, "cs.CL")
            record["id"] = f"1801.{i:05d}"
            record["abstract"] = " ".join(words[(i * 7 + k) % 9] + str(k % 13) for k in range(160))
            handle.write(json.dumps(record) + "\n")
    warm = write_snapshot(tmp_path / "warm.json", [snapshot_record(i) for i in range(6000)])
    out = subprocess.run([sys.executable, "-c", BROAD_PROBE, str(warm), str(big)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["kept"] == 30_000
    assert result["growth_kb"] < 4 * result["text_kb"], result


# --------------------------------------------------------------------------- OpenAlex


def openalex_work(n: int, title: str, abstract: str, year: int, authors: list[str]) -> dict:
    inverted: dict[str, list[int]] = {}
    for position, word in enumerate(abstract.split()):
        inverted.setdefault(word, []).append(position)
    return {
        "id": f"https://openalex.org/W{4000000 + n}",
        "doi": f"https://doi.org/10.1000/oa.{n}",
        "title": title,
        "display_name": title,
        "publication_year": year,
        "publication_date": f"{year}-03-01",
        "type": "article",
        "authorships": [{"author_position": "first", "author": {"id": "https://openalex.org/A1",
                                                                "display_name": a},
                         "institutions": []} for a in authors],
        "primary_location": {"source": {"display_name": "Nature Machine Intelligence"},
                             "landing_page_url": "https://example.org/landing"},
        "primary_topic": {"display_name": "Topic Modeling"},
        "keywords": [{"display_name": "topic model", "score": 0.6}],
        "cited_by_count": 12 * n,
        "abstract_inverted_index": inverted,
    }


OPENALEX = [
    openalex_work(1, "Neural Topic Models", "Neural topic models learn topics from text and "
                  "the topics are coherent.", 2021, ["Ana Souza", "Wei Zhang"]),
    openalex_work(2, "Clustering Embeddings", "We cluster sentence embeddings to find themes "
                  "in abstracts.", 2022, ["Jonas Müller"]),
    openalex_work(3, "Maps of Science", "Maps of science show fields and their neighbours over "
                  "time.", 2019, ["Lee Min-Ji"]),
    dict(openalex_work(4, "No Abstract Here", "x", 2020, []), abstract_inverted_index=None),
]


@pytest.mark.parametrize("shape", ["array", "api_page", "jsonl", "jsonl_gz"])
def test_openalex_works(tmp_path, shape):
    if shape == "array":
        path = tmp_path / "works.json"
        path.write_text(json.dumps(OPENALEX, indent=2))
    elif shape == "api_page":
        path = tmp_path / "page.json"
        path.write_text(json.dumps({"meta": {"count": 4}, "results": OPENALEX}))
    else:
        path = tmp_path / ("works.jsonl" + (".gz" if shape == "jsonl_gz" else ""))
        write_snapshot(path, OPENALEX)
    papers, report = read_papers([path])
    assert report.read == 4 and report.skipped_no_abstract == 1 and report.kept == 3
    first = by_id(papers)["https://openalex.org/W4000001"]
    assert first["abstract"] == "Neural topic models learn topics from text and the topics are coherent."
    assert first["title"] == "Neural Topic Models"
    assert first["authors"] == "Ana Souza; Wei Zhang"
    assert first["year"] == 2021
    assert first["doi"] == "10.1000/oa.1" and first["url"] == "https://doi.org/10.1000/oa.1"
    assert first["venue"] == "Nature Machine Intelligence" and first["topic"] == "Topic Modeling"


def test_openalex_bad_json_is_an_error(tmp_path):
    path = tmp_path / "works.json"
    path.write_text(json.dumps(OPENALEX)[:-40])
    with pytest.raises(InputError, match=r"works\.json: is not valid JSON"):
        read_papers([path])


def test_rebuild_abstract_orders_words_and_ignores_junk():
    assert rebuild_abstract({"world": [1], "hello": [0, 2], "bad": "x"}) == "hello world hello"
    assert rebuild_abstract(None) == ""


def test_plain_json_table_still_reads(tmp_path):
    rows = [{"title": f"T{i}", "abstract": f"An ordinary abstract number {i} of some length."}
            for i in range(3)]
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(rows))
    papers, _ = read_papers([path])
    assert papers["title"].tolist() == ["T0", "T1", "T2"]


# --------------------------------------------------------------------------- Zotero CSV

ZOTERO_HEADER = ('"Key","Item Type","Publication Year","Author","Title","Publication Title",'
                 '"ISBN","ISSN","DOI","Url","Abstract Note","Date","Date Added","Date Modified",'
                 '"Access Date","Pages","Num Pages","Issue","Volume","Manual Tags",'
                 '"Automatic Tags","Extra"')


def zotero_row(*values: str) -> str:
    key, kind, year, author, title, venue, doi, url, abstract, date, tags = values
    cells = [key, kind, year, author, title, venue, "", "", doi, url, abstract, date,
             "2024-01-01 10:00:00", "2024-01-02 10:00:00", "", "1-10", "", "3", "12", tags,
             "auto tag", ""]
    return ",".join('"' + c.replace('"', '""') + '"' for c in cells)


ZOTERO = "\n".join([
    ZOTERO_HEADER,
    zotero_row("ABCD1234", "journalArticle", "2020", "Müller, Jörg; García, José",
               "Diffusion Bridges", "Journal of Generative Models", "10.1000/jgm.1", "",
               'We study "diffusion" bridges, quickly.', "2020-05-03", "diffusion; bridges"),
    zotero_row("EFGH5678", "conferencePaper", "2019", "Smith, Ann",
               "Graph Networks for Molecules", "ChemLearn", "", "https://example.org/gnn",
               "Message passing networks predict molecular properties.", "2019", ""),
    zotero_row("IJKL9012", "preprint", "", "Lee, Min-Ji", "Prompt Tuning at Scale", "arXiv",
               "", "https://arxiv.org/abs/2304.01234",
               "Soft prompts match full fine-tuning on large models.", "April 2023", ""),
]) + "\n"


def test_zotero_csv_export(tmp_path):
    path = tmp_path / "My Library.csv"
    path.write_text("\ufeff" + ZOTERO, encoding="utf-8")
    papers, report = read_papers([path])
    assert report.kept == 3
    rows = by_id(papers)
    first = rows["ABCD1234"]
    assert first["title"] == "Diffusion Bridges"
    assert first["abstract"] == 'We study "diffusion" bridges, quickly.'
    assert first["authors"] == "Jörg Müller; José García"
    assert first["year"] == 2020 and first["url"] == "https://doi.org/10.1000/jgm.1"
    assert first["keywords"] == "diffusion; bridges; auto tag"
    assert first["venue"] == "Journal of Generative Models"
    assert rows["IJKL9012"]["year"] == 2023  # from Date when Publication Year is empty
    assert rows["EFGH5678"]["url"] == "https://example.org/gnn"
    assert "Date Modified" not in papers.columns  # Zotero's bookkeeping columns are dropped


def test_zotero_csv_malformed_is_an_error(tmp_path):
    path = tmp_path / "zotero.csv"
    path.write_text(ZOTERO_HEADER + '\n"ABCD","journalArticle","2020","x","unterminated\n')
    with pytest.raises(InputError, match=r"zotero\.csv: is not valid CSV"):
        read_papers([path])


def test_display_name():
    assert display_name("Müller, Jörg") == "Jörg Müller"
    assert display_name("Jörg Müller") == "Jörg Müller"
    assert display_name("O'Neil, Jr., Tom") == "Tom O'Neil Jr."


# --------------------------------------------------------------------------- command line


def test_cli_malformed_bibtex_exits_2_without_traceback(tmp_path):
    path = write(tmp_path / "bad.bib", "@article{key,\n  title = {Open brace,\n  year = 2020\n")
    out = tmp_path / "map"
    result = subprocess.run([sys.executable, "-m", "pipeline", "build", str(path), "--out",
                             str(out), "-q"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "bad.bib" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_cli_rejects_bad_arxiv_date(tmp_path):
    path = write_snapshot(tmp_path / "snap.json", snapshot_records())
    result = subprocess.run([sys.executable, "-m", "pipeline", "build", str(path), "--out",
                             str(tmp_path / "m"), "--arxiv-from", "last year"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "arxiv_from must be a date" in result.stderr


# --------------------------------------------------------------------------- mutated files


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(out)) if out else 0
        roll = rng.random()
        if roll < 0.3 and out:
            del out[at:at + rng.randint(1, 50)]
        elif roll < 0.6:
            out[at:at] = bytes(rng.choice(b'{}"\\@,=\n\r\x00\xff<>&$%') for _ in range(3))
        elif roll < 0.9 and out:
            out[at] = rng.randrange(256)
        else:
            out = out[:rng.randrange(len(out) + 1)]
    return bytes(out)


def test_mutated_files_of_every_format_read_or_fail_clearly(tmp_path):
    """Seeded random damage to each sample: papers, or a PipelineError naming the file."""
    samples = {".bib": BIBTEX, ".ris": RIS, ".xml": ATOM, ".json": json.dumps(OPENALEX),
               ".jsonl": "".join(json.dumps(r) + "\n" for r in snapshot_records()),
               ".csv": ZOTERO}
    rng = random.Random(6)
    outcomes = {"papers": 0, "error": 0}
    for n in range(240):
        suffix = list(samples)[n % len(samples)]
        data = _mutate(samples[suffix].encode(), rng)
        path = tmp_path / f"case{n}{suffix}{'.gz' if n % 7 == 0 else ''}"
        path.write_bytes(gzip.compress(data) if n % 7 == 0 else data)
        try:
            papers, _ = read_papers([path])
        except PipelineError as exc:
            assert path.name in str(exc), str(exc)
            outcomes["error"] += 1
        else:
            assert len(papers) >= 3 and papers["id"].is_unique and (papers["id"] != "").all()
            outcomes["papers"] += 1
    assert outcomes["papers"] >= 24 and outcomes["error"] >= 24, outcomes  # both paths taken
