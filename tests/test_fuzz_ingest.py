"""Fuzzed input: random and mutated files in every format the ingester reads.

Every case must end in one of two ways:

- papers: at least ``MIN_PAPERS`` rows, clean text, unique non-empty ids; or
- a ``PipelineError`` whose message names the file.

Anything else (a traceback) fails the test. The command-line cases also check
that a failed build leaves the ``--out`` map exactly as it was (absent, or the
previous map, still loadable) and that a successful one leaves a loadable map:
never a partial map, never a leftover temporary directory.

Profiles (``FUZZ_PROFILE``): ``quick`` (default, part of ``make test``) and
``thorough`` (well over 1,000 cases across formats; ``benchmarks/fuzz_report.py``
runs it and prints the cases by format). With ``FUZZ_REPORT=path.json`` the
cases and outcomes by format are written there.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import TOPICS, FakeEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.ingest.clean import MIN_PAPERS, read_papers
from pipeline.ingest.readers import READERS
from pipeline.mapdir.store import load_map

settings.register_profile(
    "quick", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough", max_examples=250, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("FUZZ_PROFILE", "quick")
#: Command-line builds per profile: slower (a map is built on success), so fewer.
CLI_EXAMPLES = {"quick": 44, "thorough": 330}[PROFILE]

#: Formats with a writer here. The other suffixes of pipeline.ingest.readers.READERS
#: are fuzzed too (see ``extra_suffixes``): with mutated text of their own kind when
#: a writer below knows them, with random bytes and text otherwise.
TABLE_FORMATS = ["csv", "tsv", "json", "jsonl", "parquet", "txt"]
STATS: Counter = Counter()

WORDS = [w for words in TOPICS.values() for w in words] + ["the", "of", "and", "we"]
ALIASES = ["title", "abstract", "id", "year", "authors", "url", "summary", "text", "Title",
           "ABSTRACT", "doi", "date", "venue", "label", "TI", "AB", "name", "description"]


# --------------------------------------------------------------------------- strategies

sentence = st.lists(st.sampled_from(WORDS), min_size=0, max_size=40).map(" ".join)
long_sentence = st.lists(st.sampled_from(WORDS), min_size=4, max_size=60).map(" ".join)
odd_text = st.text(max_size=40)  # any code point but surrogates: NUL, controls, RTL, emoji
markup = st.sampled_from([
    "<script>window.__pwned=1</script>", "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)",
    "{\\bf x} $\\alpha$ }{", "\u202egnp.exe", "\x00\x01\x1b[31m", "&lt;b&gt;&amp;#0;", "\ufeff",
    "a\r\nb\rc\n", '"', "'", "\\", "NaN", "null", "None", "1e309", "-0", "",
])
text_value = st.one_of(sentence, sentence, sentence, odd_text, markup)
scalar = st.one_of(text_value, st.integers(-(2**70), 2**70), st.floats(), st.booleans(),
                   st.none())
json_value = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner,
                                                                         max_size=3),
    max_leaves=6)
names = st.one_of(st.sampled_from(["Müller, Jörg", "Ada Lovelace", "{\\'E}mile Zola", "李 雷",
                                   "O'Brien, Pat", "van der Berg, Jr, Jan"]), odd_text)
column_name = st.one_of(st.sampled_from(ALIASES), st.text(max_size=8))


@st.composite
def tables(draw, *, values=scalar) -> tuple[list[str], list[dict]]:
    """Column names and rows: usually with title and abstract, sometimes without.

    Title and abstract cells are mostly words (so that many cases build), the
    other cells anything ``values`` draws (wrong types included).
    """
    core = []
    if draw(st.integers(0, 9)) < 8:
        core = [draw(st.sampled_from(["title", "Title", "name"])),
                draw(st.sampled_from(["abstract", "summary", "AB", "text"]))]
    columns = list(dict.fromkeys(core + draw(st.lists(column_name, max_size=4))))
    n_rows = draw(st.sampled_from(range(15)))
    core_values = st.one_of(*[long_sentence] * 6, values)
    rows = [{c: draw(core_values if c in core else values) for c in columns}
            for _ in range(n_rows)]
    return columns, rows


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def write_delimited(columns: list[str], rows: list[dict], sep: str, draw) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    if draw(st.integers(0, 7)) or not rows:  # sometimes no header line
        writer.writerow(columns)
    ragged_row = draw(st.integers(0, 3 * len(rows)))  # sometimes one ragged row
    for n, row in enumerate(rows):
        cells = [_cell(row[c]) for c in columns]
        if n == ragged_row:
            if draw(st.booleans()):
                cells = cells[: draw(st.integers(0, len(cells)))]
            else:
                cells += draw(st.lists(text_value, min_size=1, max_size=3))
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8")


def write_json(columns: list[str], rows: list[dict], draw, lines: bool) -> bytes:
    if lines:
        out = [json.dumps(r, ensure_ascii=draw(st.booleans())) for r in rows]
        if draw(st.integers(0, 5)) == 0:
            out.insert(draw(st.integers(0, len(out))), draw(st.sampled_from(
                ["", "[1, 2]", "42", '"text"', "null", "{", "}"])))
        return "\n".join(out).encode("utf-8")
    shape = draw(st.integers(0, 5))
    data: object = rows
    if shape == 1:
        data = {"papers": rows}
    elif shape == 2:
        data = {draw(odd_text): rows, "meta": {"n": len(rows)}}
    elif shape == 3:
        data = rows[0] if rows else {}
    elif shape == 4:
        data = draw(json_value)
    return json.dumps(data, ensure_ascii=draw(st.booleans())).encode("utf-8")


PARQUET_TYPES = ["string", "int", "float", "bool", "list", "struct", "binary", "timestamp",
                 "dictionary", "null"]


@st.composite
def parquet_bytes(draw) -> bytes:
    """A Parquet file whose columns have arbitrary Arrow types (not only strings)."""
    columns, rows = draw(tables(values=text_value))
    arrays, names = [], []
    n = len(rows)
    for column in columns:
        kind = draw(st.sampled_from(PARQUET_TYPES[:1] * 4 + PARQUET_TYPES))
        if kind == "string":
            array = pa.array([r[column] for r in rows], pa.string())
        elif kind == "int":
            array = pa.array(draw(st.lists(st.integers(-(2**63), 2**63 - 1) | st.none(),
                                           min_size=n, max_size=n)), pa.int64())
        elif kind == "float":
            array = pa.array(draw(st.lists(st.floats() | st.none(), min_size=n, max_size=n)),
                             pa.float64())
        elif kind == "bool":
            array = pa.array(draw(st.lists(st.booleans() | st.none(), min_size=n, max_size=n)))
        elif kind == "list":
            array = pa.array(draw(st.lists(st.lists(text_value, max_size=3) | st.none(),
                                           min_size=n, max_size=n)), pa.list_(pa.string()))
        elif kind == "struct":
            array = pa.array([{"a": r[column], "b": i} for i, r in enumerate(rows)])
        elif kind == "binary":
            array = pa.array(draw(st.lists(st.binary(max_size=30), min_size=n, max_size=n)))
        elif kind == "timestamp":
            array = pa.array(draw(st.lists(st.integers(0, 2**40) | st.none(), min_size=n,
                                           max_size=n)), pa.timestamp("s"))
        elif kind == "dictionary":
            array = pa.array([r[column] for r in rows], pa.string()).dictionary_encode()
        else:
            array = pa.nulls(n)
        arrays.append(array)
        names.append(column)
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=names), buffer)
    return buffer.getvalue()


def write_page_text(rows: list[dict], draw) -> bytes:
    lines = draw(st.lists(st.sampled_from(["Trending Papers", "Subscribe", "12 Mar 2025", "★ 341",
                                           ""]), max_size=4))
    for row in rows:
        values = [_cell(v) for v in row.values()] or [""]
        lines.append(draw(st.sampled_from(values)))
        lines.append(draw(st.one_of(st.sampled_from(values),
                                    st.lists(st.sampled_from(WORDS), min_size=20, max_size=60)
                                    .map(" ".join))))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "1,024 stars", "PDF Code"])))
    return "\n".join(lines).encode("utf-8")


def deeply_nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return ("[" * depth + "]" * depth).encode()
    if kind == "dict":
        return ('{"a":' * depth + "1" + "}" * depth).encode()
    # a normal-looking paper whose abstract is a deep structure
    inner = "[" * depth + "]" * depth
    row = '{"title": "t", "abstract": ' + inner + "}"
    return f"[{row}, {row}, {row}]".encode()


@st.composite
def format_bytes(draw, fmt: str) -> bytes:
    """A well-formed-ish file of ``fmt`` (before mutation)."""
    if fmt == "parquet":
        return draw(parquet_bytes())
    if fmt in ("json", "jsonl") and draw(st.integers(0, 14)) == 0:
        return deeply_nested(draw(st.sampled_from([50, 999, 5000, 200_000])),
                             draw(st.sampled_from(["list", "dict", "field"])))
    values = json_value if fmt in ("json", "jsonl") else scalar
    columns, rows = draw(tables(values=values))
    if fmt in ("json", "jsonl"):
        flavoured = _json_flavour(columns, rows, draw, lines=fmt == "jsonl")
        if flavoured is not None:
            return flavoured
    if fmt == "csv":
        if draw(st.integers(0, 4)) == 0:
            return _zotero_writer(columns, rows, draw)
        return write_delimited(columns, rows, ",", draw)
    if fmt == "tsv":
        return write_delimited(columns, rows, "\t", draw)
    if fmt in ("json", "jsonl"):
        return write_json(columns, rows, draw, lines=fmt == "jsonl")
    if fmt == "txt":
        return write_page_text(rows, draw)
    writer = EXTRA_WRITERS.get(fmt)
    if writer is not None:
        return writer(columns, rows, draw)
    return draw(st.one_of(st.binary(max_size=300),
                          st.text(max_size=300).map(lambda t: t.encode("utf-8"))))


def _huge_field(data: bytes, draw) -> bytes:
    size = draw(st.sampled_from([70_000, 140_000, 1_100_000]))
    position = draw(st.integers(0, len(data)))
    filler = ("word " * (size // 5 + 1))[:size].encode()
    return data[:position] + filler + data[position:]


MUTATIONS = ["none"] * 9 + ["truncate", "nul", "flip", "reencode", "binary", "bom",
             "empty", "huge", "garbage_tail"]


@st.composite
def mutated(draw, fmt: str) -> tuple[bytes, str]:
    """File bytes of ``fmt`` after a random mutation; also the mutation's name."""
    data = draw(format_bytes(fmt))
    mutation = draw(st.sampled_from(MUTATIONS))
    if mutation == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif mutation == "nul":
        for _ in range(draw(st.integers(1, 4))):
            position = draw(st.integers(0, len(data)))
            data = data[:position] + b"\x00" + data[position:]
    elif mutation == "flip" and data:
        buffer = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            buffer[draw(st.integers(0, len(buffer) - 1))] = draw(st.integers(0, 255))
        data = bytes(buffer)
    elif mutation == "reencode":
        text = data.decode("utf-8", errors="replace")
        codec = draw(st.sampled_from(["latin-1", "utf-16", "cp1252", "utf-32", "shift_jis"]))
        data = text.encode(codec, errors="replace")
    elif mutation == "binary":
        data = draw(st.binary(min_size=1, max_size=500))
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    elif mutation == "empty":
        data = draw(st.sampled_from([b"", b"\n", b"   \r\n\t", b"\x00"]))
    elif mutation == "huge":
        data = _huge_field(data, draw)
    elif mutation == "garbage_tail":
        data = data + draw(st.binary(min_size=1, max_size=50))
    return data, mutation


@st.composite
def input_files(draw, fmt: str) -> tuple[str, bytes, str]:
    """(file name, bytes, description): possibly gzip-compressed, possibly a broken gzip."""
    data, mutation = draw(mutated(fmt))
    name = f"papers.{fmt}"
    compress = draw(st.integers(0, 3))
    if compress >= 2:
        data = gzip.compress(data, mtime=0)
        name += ".gz"
        if compress == 3 and draw(st.booleans()) and data:
            data = data[: draw(st.integers(0, len(data) - 1))]
            mutation += "+truncated-gzip"
    return name, data, mutation


# --------------------------------------------------------------------------- bibliographic
# Writers for the bibliographic formats of pipeline.ingest.readers, and for the flavours it tells
# apart by content (OpenAlex and arXiv-snapshot JSON, Zotero CSV).


def _core(columns: list[str], row: dict) -> tuple[str, str]:
    values = [_cell(row[c]) for c in columns] or [""]
    return values[0], values[1] if len(values) > 1 else values[0]


def _bib_writer(columns: list[str], rows: list[dict], draw) -> bytes:
    """BibTeX entries; half the files are written as an exporter would (escaped values,
    valid keys), the other half raw, with odd entry types, keys and fields."""
    from pipeline.review.export import bibtex_escape

    clean = draw(st.booleans())
    entries = []
    for n, row in enumerate(rows):
        title, abstract = _core(columns, row)
        if clean:
            title, abstract = bibtex_escape(title), bibtex_escape(abstract)
        fields = [f"  title = {{{title}}}", f"  abstract = {{{abstract}}}"]
        if draw(st.booleans()):
            year = draw(st.integers(1900, 2100) | (st.nothing() if clean else odd_text))
            fields.append(f"  year = {{{year}}}")
        if draw(st.booleans()):
            fields.append(f"  author = {{{draw(names)} and {draw(names)}}}")
        if not clean and draw(st.integers(0, 5)) == 0:
            bad_value = draw(st.sampled_from(["jmlr", "{", "}}", '"x']))
            fields.append(f"  journal = {bad_value}")
        kinds = ["article"] if clean else ["article"] * 4 + ["inproceedings", "misc", "string",
                                                            "comment", "preamble"]
        kind = draw(st.sampled_from(kinds))
        keys = [f"key{n}"] if clean else [f"key{n}"] * 8 + ["dup", "", "a b", "{"]
        key = draw(st.sampled_from(keys))
        entries.append(f"@{kind}{{{key},\n" + ",\n".join(fields) + "\n}")
    return "\n\n".join(entries).encode("utf-8")


def _ris_writer(columns: list[str], rows: list[dict], draw) -> bytes:
    lines = []
    unended = draw(st.integers(0, 8 * len(rows)))  # sometimes one record lacks its end
    for n, row in enumerate(rows):
        title, abstract = _core(columns, row)
        lines += ["TY  - " + draw(st.sampled_from(["JOUR", "CONF", "", "???"])),
                  f"TI  - {title}", f"AB  - {abstract}"]
        if draw(st.booleans()):
            lines.append(f"PY  - {draw(st.integers(1900, 2100) | odd_text)}")
        if draw(st.booleans()):
            lines.append(f"AU  - {draw(names)}")
        if n != unended:
            lines.append("ER  - ")
    return "\n".join(lines).encode("utf-8")


def _atom_writer(columns: list[str], rows: list[dict], draw) -> bytes:
    from xml.sax.saxutils import escape

    entries = []
    clean = draw(st.booleans())  # half the files hold only characters XML allows
    for n, row in enumerate(rows):
        title, abstract = _core(columns, row)
        if clean:
            title, abstract = (re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", v)
                               for v in (title, abstract))
        author = draw(names)
        if clean:
            author = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", author)
        category = draw(st.sampled_from(["cs.LG", "math.ST", "", "<>"]))
        entries.append(
            f"<entry><id>http://arxiv.org/abs/2101.{n:05d}v1</id>"
            f"<published>{escape(draw(st.sampled_from(['2021-01-01T00:00:00Z', '', 'x'])))}"
            f"</published><title>{escape(title)}</title><summary>{escape(abstract)}</summary>"
            f"<author><name>{escape(author)}</name></author>"
            f'<category term="{escape(category, {chr(34): "&quot;"})}"/>'
            f'<arxiv:primary_category term="cs.LG"/></entry>')
    root = draw(st.sampled_from(["feed", "feed", "feed", "rss"]))
    return (f"<?xml version='1.0' encoding='UTF-8'?><{root} xmlns='http://www.w3.org/2005/Atom' "
            f"xmlns:arxiv='http://arxiv.org/schemas/atom'>{''.join(entries)}</{root}>"
            ).encode()


def _scalar_json(value: object) -> object:
    """A JSON-safe version of a drawn value (very large integers become floats)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return float(value)
    return value


def _openalex_rows(columns: list[str], rows: list[dict], draw) -> list[dict]:
    works = []
    for n, row in enumerate(rows):
        title, abstract = _core(columns, row)
        inverted: object = {}
        for position, word in enumerate(abstract.split()):
            inverted.setdefault(word, []).append(position)
        if draw(st.integers(0, 5)) == 0:
            inverted = draw(json_value)  # wrong types where the index should be
        works.append({
            "id": f"https://openalex.org/W{n}", "title": title,
            "abstract_inverted_index": inverted,
            "publication_year": draw(st.integers(1900, 2100) | st.none() | odd_text),
            "authorships": draw(st.sampled_from([
                [{"author": {"display_name": "A. Author"}}], [], None, "x", [{"author": "x"}],
                [{"raw_author_name": 3}]])),
            "primary_location": draw(st.sampled_from([None, {}, {"source": None},
                                                      {"source": {"display_name": "V"}}, 3])),
            "keywords": draw(st.sampled_from([None, [], [{"display_name": "k"}], ["k"], {}])),
            "cited_by_count": _scalar_json(draw(scalar)),
        })
    return works


def _arxiv_rows(columns: list[str], rows: list[dict], draw) -> list[dict]:
    records = []
    for n, row in enumerate(rows):
        title, abstract = _core(columns, row)
        records.append({
            "id": f"2101.{n:05d}", "title": title, "abstract": abstract,
            "categories": draw(st.sampled_from(["cs.LG stat.ML", "", None, 5, ["cs.LG"]])),
            "versions": draw(st.sampled_from([
                [{"version": "v1", "created": "Mon, 4 Jan 2021 00:00:00 GMT"}], [], None,
                [{"created": "not a date"}], [{"created": 7}], ["v1"]])),
            "update_date": draw(st.sampled_from(["2021-01-05", "", None, 20210105])),
            "authors_parsed": draw(st.sampled_from([[["Last", "First", ""]], [], None,
                                                    [[None, 1]], ["x"], [["a"] * 5]])),
        })
    return records


ZOTERO_HEADER = ["Key", "Item Type", "Publication Year", "Author", "Title", "Publication Title",
                 "DOI", "Url", "Abstract Note", "Date", "Manual Tags", "Automatic Tags"]


def _zotero_writer(columns: list[str], rows: list[dict], draw) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = list(ZOTERO_HEADER)
    if draw(st.integers(0, 4)) == 0:
        header.remove(draw(st.sampled_from(header[3:])))  # a column missing
    writer.writerow(header)
    for n, row in enumerate(rows):
        title, abstract = _core(columns, row)
        values = {"Key": f"K{n}", "Item Type": "journalArticle", "Title": title,
                  "Abstract Note": abstract, "Author": "Last, First; Other, A",
                  "Publication Year": _cell(draw(scalar)), "DOI": "10.1/x", "Url": ""}
        writer.writerow([values.get(h, _cell(draw(scalar))) for h in header])
    return buffer.getvalue().encode("utf-8")


def _json_flavour(columns: list[str], rows: list[dict], draw, lines: bool) -> bytes | None:
    """OpenAlex works or arXiv snapshot lines, one time in three; else None (plain)."""
    flavour = draw(st.sampled_from(["plain", "plain", "plain", "plain", "openalex", "arxiv"]))
    if flavour == "plain":
        return None
    records = (_openalex_rows if flavour == "openalex" else _arxiv_rows)(columns, rows, draw)
    if lines or flavour == "arxiv":
        return "\n".join(json.dumps(r) for r in records).encode("utf-8")
    data = {"results": records, "meta": {}} if draw(st.booleans()) else records
    return json.dumps(data).encode("utf-8")


EXTRA_WRITERS = {"bib": _bib_writer, "bibtex": _bib_writer, "ris": _ris_writer,
                 "xml": _atom_writer, "atom": _atom_writer}


def extra_suffixes() -> list[str]:
    """Formats in pipeline.ingest.readers' table beyond the table formats (bibliographic, arXiv)."""
    known = {"." + f for f in TABLE_FORMATS} | {".tab", ".ndjson", ".pq", ".text"}
    return sorted(s.lstrip(".") for s in READERS if s not in known)


ALL_FORMATS = TABLE_FORMATS + extra_suffixes()


# --------------------------------------------------------------------------- checks


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="fuzz-") as path:
        yield Path(path)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    target = os.environ.get("FUZZ_REPORT")
    if target:
        by_format: dict[str, dict[str, int]] = {}
        for (kind, fmt, outcome), count in sorted(STATS.items()):
            by_format.setdefault(f"{kind}:{fmt}", {})[outcome] = count
        Path(target).write_text(json.dumps({"profile": PROFILE, "cases": by_format}, indent=2))


def write_case(workdir: Path, name: str, data: bytes) -> Path:
    case = Path(tempfile.mkdtemp(dir=workdir))
    path = case / name
    path.write_bytes(data)
    return path


def check_ingest(path: Path) -> str:
    """Read ``path``; 'ok' for clean papers, 'error' for a clear error; else fail."""
    try:
        papers, report = read_papers([path])
    except PipelineError as exc:
        message = str(exc)
        assert path.name in message, f"error does not name the file: {message!r}"
        assert "Traceback" not in message
        return "error"
    assert len(papers) >= MIN_PAPERS
    assert report.kept == len(papers)
    for column in ("id", "title", "abstract", "authors", "url"):
        assert papers[column].map(type).eq(str).all(), column
    assert papers["id"].str.len().gt(0).all() and papers["id"].is_unique
    assert not papers["abstract"].str.contains("[\x00-\x08\x0b\x0c\x0e-\x1f]", regex=True).any()
    assert papers["year"].dtype.kind == "f"
    return "ok"


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_fuzzed_file_reads_or_fails_clearly(fmt, workdir):
    """Any file of any format: papers, or a PipelineError naming the file."""

    @settings(settings.get_profile(PROFILE))
    @given(case=input_files(fmt))
    def run(case):
        name, data, _ = case
        path = write_case(workdir, name, data)
        outcome = check_ingest(path)
        STATS["ingest", fmt, outcome] += 1
        shutil.rmtree(path.parent, ignore_errors=True)

    run()


def test_wrong_extension_and_odd_paths(workdir):
    """Files named for one format holding another, directories, missing and unknown names."""
    csv_bytes = b"title,abstract\n" + b"".join(
        f"paper {i},{' '.join(WORDS[i:i + 30])}\n".encode() for i in range(5))
    cases = {"papers.json": csv_bytes, "papers.parquet": csv_bytes, "papers.csv.gz": csv_bytes,
             "papers.jsonl": b'{"title": "a"}\n', "papers.xlsx": csv_bytes,
             "papers": csv_bytes, "papers.csv": gzip.compress(csv_bytes)}
    for name, data in cases.items():
        assert check_ingest(write_case(workdir, name, data)) in ("ok", "error")
    directory = Path(tempfile.mkdtemp(dir=workdir)) / "dir.csv"
    directory.mkdir()
    assert check_ingest(directory) == "error"
    assert check_ingest(workdir / "missing.csv") == "error"


def test_parquet_with_invalid_utf8_is_a_clear_error(workdir):
    """Regression (found by the fuzzer): a Parquet string column holding invalid UTF-8
    used to escape as a pyarrow ArrowException while converting columns."""
    frame = pd.DataFrame({"title": ["tést"] * 3, "abstract": ["word " * 10] * 3})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression=None)
    data = buffer.getvalue().replace("tést".encode(), b"t\xff\xfest")
    assert b"t\xff\xfest" in data
    assert check_ingest(write_case(workdir, "bad.parquet", data)) == "error"


# --------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def previous_map(tmp_path_factory) -> Path:
    """A small valid map to pre-populate ``--out`` with."""
    from conftest import make_corpus

    from pipeline import BuildConfig, build

    root = tmp_path_factory.mktemp("previous")
    source = root / "papers.csv"
    make_corpus(n_per_topic=4).to_csv(source, index=False)
    build([source], root / "map", BuildConfig(), embedder=FakeEmbedder(),
          cache_dir=root / "cache", show_progress=False)
    return root / "map"


def tree_digest(path: Path) -> str | None:
    """A digest of every file under ``path`` (None when absent)."""
    if not path.exists():
        return None
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from pipeline.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def fake_model():
    """The command line's embedder replaced by the fast fake one (test-only patch)."""
    mp = pytest.MonkeyPatch()
    mp.setattr("pipeline.engines.recipe.make_embedder", lambda *a, **k: FakeEmbedder())
    yield
    mp.undo()


def check_cli_build(workdir: Path, path: Path, previous: Path | None) -> str:
    """Run ``build`` on ``path``; exit 0 with a loadable map or 2 with --out untouched."""
    out = path.parent / "maps" / "out"
    if previous is not None:
        shutil.copytree(previous, out)
    before = tree_digest(out)
    code, stdout, stderr = run_cli(["build", str(path), "--out", str(out), "-q",
                                    "--cache-dir", str(workdir / "cache")])
    assert "Traceback" not in stderr + stdout
    # (The build's lock file, ``.out.lock``, stays by design: it is empty and hidden.)
    leftovers = [p.name for p in out.parent.iterdir()
                 if p.name not in ("out", ".out.lock")] if out.parent.exists() else []
    assert leftovers == [], f"temporary directories left behind: {leftovers}"
    if code == 0:
        topic_map = load_map(out)
        assert len(topic_map.documents) >= MIN_PAPERS
        return "ok"
    assert code == 2, (code, stderr)
    assert stderr.startswith("error: ") and path.name in stderr, stderr
    assert tree_digest(out) == before, "a failed build changed the existing map"
    if previous is not None:
        load_map(out)
    return "error"


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_fuzzed_file_builds_or_exits_2(fmt, workdir, previous_map, fake_model):
    """End to end through the command line: a whole map or exit 2, never a partial map."""

    @settings(settings.get_profile(PROFILE), max_examples=max(2, CLI_EXAMPLES // len(ALL_FORMATS)))
    @given(case=input_files(fmt), keep_previous=st.booleans())
    def run(case, keep_previous):
        name, data, _ = case
        path = write_case(workdir, name, data)
        outcome = check_cli_build(workdir, path, previous_map if keep_previous else None)
        STATS["cli", fmt, outcome] += 1
        shutil.rmtree(path.parent, ignore_errors=True)

    run()


def test_cli_builds_every_format(workdir, previous_map, fake_model):
    """A valid file of each format (plain and gzipped) builds through the CLI."""
    from xml.sax.saxutils import escape

    from pipeline.review.export import to_bibtex, to_ris

    rows = [{"id": f"p{i}", "title": f"Paper {i} " + " ".join(WORDS[i:i + 3]),
             "abstract": " ".join(np.random.default_rng(i).choice(WORDS, 30)), "year": 2020,
             "authors": "Ada Lovelace", "url": ""}
            for i in range(12)]
    frame = pd.DataFrame(rows)
    atom = "".join(f"<entry><id>http://arxiv.org/abs/2101.{i:05d}v1</id><title>"
                   f"{escape(r['title'])}</title><summary>{escape(r['abstract'])}</summary>"
                   "</entry>" for i, r in enumerate(rows))
    atom = f"<feed xmlns='http://www.w3.org/2005/Atom'>{atom}</feed>"
    writers = {
        "bib": lambda: to_bibtex(frame).encode(),
        "ris": lambda: to_ris(frame).encode(),
        "xml": lambda: atom.encode(),
        "csv": lambda: frame.to_csv(index=False).encode(),
        "tsv": lambda: frame.to_csv(index=False, sep="\t").encode(),
        "json": lambda: frame.to_json(orient="records").encode(),
        "jsonl": lambda: frame.to_json(orient="records", lines=True).encode(),
        "parquet": lambda: frame.to_parquet(index=False),
        "txt": lambda: "\n".join(f"{r['title']}\n{r['abstract']}" for r in rows).encode(),
    }
    for fmt, write in writers.items():
        if f".{fmt}" not in READERS:  # (a bibliographic format not registered)
            continue
        for compress in (False, True):
            data = write()
            name = f"papers.{fmt}" + (".gz" if compress else "")
            path = write_case(workdir, name, gzip.compress(data) if compress else data)
            assert check_cli_build(workdir, path, previous_map) == "ok", name

