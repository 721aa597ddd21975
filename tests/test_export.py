"""Exports: CSV safe in spreadsheets, BibTeX that parses back, RIS that reads back."""

from __future__ import annotations

import io
import math

import bibtexparser
import pandas as pd
import pytest
import rispy
from bibtexparser import middlewares as mw

from pipeline.review.export import (
    bibtex_escape,
    bibtex_key,
    neutralise_cell,
    to_bibtex,
    to_csv,
    to_ris,
    venue_kind,
)

HOSTILE = [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "   =1+1",
    "＝1+1",
    "Unbalanced { brace } } and {{",
    "}\n@article{injected, title={pwned}}\n{",
    "50% of $x_1$ & #hash ~tilde ^caret \\backslash",
    "<script>window.__pwned=1</script>",
    "emoji 🙂, עברית and العربية, NUL\x00 and bell\x07",
]


def hostile_papers() -> pd.DataFrame:
    n = len(HOSTILE)
    return pd.DataFrame({
        "id": [f"p{i}" if i % 3 else "same id" for i in range(n)],
        "title": HOSTILE,
        "abstract": HOSTILE[::-1],
        "authors": ["Ada Lovelace; Alan Turing"] + ["=cmd|' /C calc'!A0"] + [""] * (n - 2),
        "year": [2019.0, math.nan] + [2020.0] * (n - 2),
        "url": ["https://example.org/p"] * n,
        "venue": ["NeurIPS"] + [""] * (n - 1),
        "score": [-1.5] * n,
    })


@pytest.mark.parametrize("value", [v for v in HOSTILE[:8]])
def test_formula_cells_are_neutralised(value):
    out = neutralise_cell(value)
    assert out.startswith("'") and out[1:] == value


@pytest.mark.parametrize("value", ["plain text", "a=b", "", "2019", "e-mail"])
def test_ordinary_cells_are_untouched(value):
    assert neutralise_cell(value) == value


def test_csv_reads_back_with_every_formula_neutralised():
    papers = hostile_papers()
    data = to_csv(papers)
    assert data.startswith("\ufeff".encode())  # spreadsheets detect UTF-8
    table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False,
                        dtype=str)
    assert len(table) == len(papers)
    for column in table.columns.drop("score"):
        for cell in table[column]:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r", "＝")), (
                column, cell)
    assert table.loc[0, "title"] == "'" + HOSTILE[0]
    assert table.loc[1, "authors"].startswith("'=cmd")
    assert "\x00" not in data.decode("utf-8-sig") and "\x07" not in data.decode("utf-8-sig")
    # Numbers stay numbers (a negative number is not a formula).
    assert table.loc[0, "score"] == "-1.5"
    assert table.loc[0, "year"] == "2019" and table.loc[1, "year"] == ""


def _parse_bib(text: str):
    return bibtexparser.parse_string(text, append_middleware=[mw.LatexDecodingMiddleware()])


def test_bibtex_parses_back_one_entry_per_paper():
    papers = hostile_papers()
    text = to_bibtex(papers)
    library = _parse_bib(text)
    assert not library.failed_blocks
    assert len(library.entries) == len(papers)
    keys = [e.key for e in library.entries]
    assert len(set(keys)) == len(keys)
    # The injected "@article{injected" stayed inside its field.
    assert "injected" not in keys
    first = library.entries[0].fields_dict
    assert first["author"].value == "Ada Lovelace and Alan Turing"
    assert first["year"].value == "2019"
    assert first["booktitle"].value == "NeurIPS"  # a conference: proceedings, not a journal
    assert library.entries[0].entry_type == "inproceedings"
    assert library.entries[1].entry_type == "misc"


@pytest.mark.parametrize("text", [
    "50% of x_1 & #hash, cost $5",
    "Balanced {braces} stay {nested {ok}}",
    "<script>window.__pwned=1</script> and @misc{x, title={y}}",
    "Ünïcödé, emoji 🙂 and עברית",
])
def test_bibtex_round_trips_text(text):
    frame = pd.DataFrame({"id": ["k"], "title": [text], "abstract": ["a b c"],
                          "authors": [""], "year": [2020], "url": [""]})
    library = _parse_bib(to_bibtex(frame))
    assert not library.failed_blocks and len(library.entries) == 1
    assert library.entries[0].fields_dict["title"].value == text


def test_bibtex_values_have_balanced_braces():
    for text in HOSTILE:
        body = bibtex_escape(text)
        depth = 0
        for ch in body:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, (text, body)
        assert depth == 0, (text, body)
        assert "\n" not in body and "\x00" not in body


def test_bibtex_keys_are_safe_and_unique():
    used: set[str] = set()
    keys = [bibtex_key(v, used) for v in ["a b", "a b", "1x", "", "}{,@", "ключ"]]
    assert len(set(keys)) == len(keys)
    assert all(k[0].isalpha() and all(c.isalnum() or c in "_:-" for c in k) for k in keys)


def test_ris_reads_back_and_values_cannot_start_tags():
    papers = hostile_papers()
    papers.loc[2, "abstract"] = "first line\nER  - \nTY  - JOUR\nTI  - injected"
    text = to_ris(papers)
    records = rispy.loads(text)
    assert len(records) == len(papers)
    assert records[0]["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert records[0]["year"] == "2019"
    assert records[0]["type_of_reference"] == "CONF"
    assert records[0]["secondary_title"] == "NeurIPS"
    assert "injected" in records[2]["abstract"]  # kept as text inside the abstract
    assert all(r.get("title") != "injected" for r in records)
    assert "\x00" not in text


CVF_URL = ("https://openaccess.thecvf.com/content_cvpr_2014/html/"
           "Chen_Inferring_Analogous_Attributes_2014_CVPR_paper.html")


def test_bibtex_urls_are_verbatim_and_venues_give_the_entry_type():
    """Issue 13, item 9: urls escaped underscores (broken links) and every entry was an
    @article with journal={ICCV}, conferences included."""
    frame = pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"], "title": ["T"] * 5, "abstract": ["x y z"] * 5,
        "authors": ["Ada Lovelace"] * 5, "year": [2014] * 5,
        "url": [CVF_URL, "https://x.org/a b}{\\@c", "", "https://arxiv.org/abs/2101.00001",
                "https://example.org/q?a=1&b=%20#top"],
        "venue": ["ICCV", "IEEE Transactions on Pattern Analysis and Machine Intelligence",
                  "NeurIPS 2021", "arXiv", "Proceedings of the Web Conference"],
    })
    text = to_bibtex(frame)
    assert f"url = {{{CVF_URL}}}" in text  # not content\\_cvpr\\_2014
    assert "url = {https://example.org/q?a=1&b=%20#top}" in text
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks and len(library.entries) == 5
    kinds = [(e.entry_type, next(iter(set(e.fields_dict) & {"booktitle", "journal",
                                                            "howpublished"}), None))
             for e in library.entries]
    assert kinds == [("inproceedings", "booktitle"), ("article", "journal"),
                     ("inproceedings", "booktitle"), ("misc", "howpublished"),
                     ("inproceedings", "booktitle")]
    # A url with braces, a backslash, a space or "@" cannot end its field.
    assert library.entries[1].fields_dict["url"].value == "https://x.org/a%20b%7D%7B%5C%40c"
    records = rispy.loads(to_ris(frame))
    assert [r["type_of_reference"] for r in records] == ["CONF", "JOUR", "CONF", "GEN", "CONF"]
    assert records[1]["journal_name"].startswith("IEEE Transactions")
    assert records[0]["urls"] == [CVF_URL]


@pytest.mark.parametrize(("row", "kind"), [
    ({"venue": "CVPR2021"}, "inproceedings"), ({"venue": "ICML'22"}, "inproceedings"),
    ({"venue": "3DV"}, "inproceedings"), ({"venue": "Findings of ACL"}, "inproceedings"),
    ({"venue": "JMLR"}, "article"), ({"venue": "IEEE Robotics and Automation Letters"},
                                     "article"),
    ({"venue": "Some Venue"}, "misc"), ({}, "misc"),
    ({"venue": "ICCV", "journal": "Nature"}, "article"),
    ({"venue": "Nature", "booktitle": "Proc. of X"}, "inproceedings"),
])
def test_venue_kind(row, kind):
    assert venue_kind(row)[0] == kind


def test_bibtex_keeps_maths_as_maths(tmp_path):
    """Issue 20, item 9: ``$\\ell_1$`` became ``\\$\\textbackslash{}ell\\_1\\$``. Maths is
    written as it is; money and a span LaTeX would misread are still escaped, and the file
    reads back (by bibtexparser and by this tool's ingest) as the same text."""
    from pipeline.ingest.clean import read_papers

    titles = [r"Sparse $\ell_1$ recovery in $\mathbb{R}^d$ with $O(n^2)$ samples",
              r"Costs $5 and $10, and $$x^{2}$$ shown",
              r"A 50% cut of $x%$ and an escaped \$ sign with $a}{b$"]
    frame = pd.DataFrame({"id": ["a", "b", "c"], "title": titles,
                          "abstract": [r"We bound $\|w\|_1 \leq \lambda$ tightly."] * 3,
                          "authors": ["Ada Lovelace"] * 3, "year": [2020] * 3,
                          "url": [""] * 3})
    text = to_bibtex(frame)
    assert r"$\ell_1$" in text and r"$\mathbb{R}^d$" in text and r"$O(n^2)$" in text
    assert r"$\|w\|_1 \leq \lambda$" in text and r"$$x^{2}$$" in text
    assert "textbackslash{}ell" not in text
    assert r"Costs \$5 and \$10" in text  # not maths: still escaped
    assert r"\$x\%\$" in text and r"\$a\textbraceright{}" in text  # kept from LaTeX's misreading
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks and len(library.entries) == 3
    path = tmp_path / "export.bib"
    path.write_text(text, encoding="utf-8")
    back, _ = read_papers([path])
    assert back["title"].tolist() == titles
    assert back["abstract"].tolist() == frame["abstract"].tolist()
