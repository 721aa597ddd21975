"""Exports under fuzzed text (issue 5): CSV never runs a formula, BibTeX and RIS parse.

``tests/test_export.py`` checks chosen examples; here hypothesis draws the text
(any code point, formula starts, braces, LaTeX specials, newlines, control
characters), column names included, and every export is read back: by a CSV
reader, by bibtexparser and rispy, and by this tool's own ingest.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import bibtexparser
import pandas as pd
import rispy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest.clean import clean_prose, read_papers
from pipeline.review.export import FORMULA_START, to_bibtex, to_csv, to_ris

NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

hostile_text = st.one_of(
    st.text(max_size=60),
    st.builds(lambda start, rest: start + rest,
              st.sampled_from([*FORMULA_START, " =", "  +", "'", "\"", "{", "}", "\\", "%",
                               "@misc{", "}\n@article{x, title={y}}", "$", "\n"]),
              st.text(max_size=30)),
)
words = st.lists(st.sampled_from("alpha beta gamma delta protein robot image token".split()),
                 min_size=3, max_size=12).map(" ".join)


@st.composite
def papers(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 6))
    frame = pd.DataFrame({
        "id": draw(st.lists(hostile_text, min_size=n, max_size=n)),
        "title": draw(st.lists(hostile_text, min_size=n, max_size=n)),
        "abstract": draw(st.lists(hostile_text, min_size=n, max_size=n)),
        "authors": draw(st.lists(hostile_text, min_size=n, max_size=n)),
        "year": draw(st.lists(st.sampled_from([2020.0, float("nan"), 1999.0]), min_size=n,
                              max_size=n)),
        "url": draw(st.lists(hostile_text, min_size=n, max_size=n)),
        "venue": draw(st.lists(hostile_text, min_size=n, max_size=n)),
        "x": draw(st.lists(st.floats(-10, 10), min_size=n, max_size=n)),
    })
    for name in draw(st.lists(hostile_text.filter(lambda t: t not in frame.columns),
                              max_size=2, unique=True)):
        frame[name] = draw(st.lists(hostile_text, min_size=n, max_size=n))
    return frame


def formula(cell: str) -> bool:
    """Would a spreadsheet run this cell as a formula? (Numbers are numbers.)"""
    return cell.lstrip(" ").startswith(FORMULA_START) and not NUMBER.fullmatch(cell)


def same_text(exported: str, original: object) -> bool:
    """``exported`` is ``original`` (control characters dropped, newlines normalised),
    possibly behind the neutralising apostrophe."""
    want = CONTROL.sub("", str(original).replace("\r\n", "\n").replace("\r", "\n"))
    return exported in (want, "'" + want)


@SETTINGS
@given(papers())
def test_csv_cells_and_headers_never_run_as_formulas(frame):
    rows = list(csv.reader(io.StringIO(to_csv(frame).decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == len(frame)
    for cell in header:
        assert not formula(cell), f"header {cell!r}"
    for row in body:
        assert len(row) == len(header)
        for cell in row:
            assert not formula(cell), cell
    # Nothing but the apostrophe (and control characters) was changed.
    position = {name: i for i, name in enumerate(header)}
    for column in ("title", "abstract", "venue"):
        for row, value in zip(body, frame[column], strict=True):
            assert same_text(row[position[column]], value), (row[position[column]], value)


@SETTINGS
@given(papers())
def test_bibtex_parses_to_one_entry_per_paper_with_no_injected_fields(frame):
    library = bibtexparser.parse_string(to_bibtex(frame))
    assert library.failed_blocks == []
    assert len(library.entries) == len(frame)
    assert len({e.key for e in library.entries}) == len(frame)
    for entry in library.entries:
        assert set(entry.fields_dict) <= {"title", "author", "year", "journal", "booktitle",
                                          "howpublished", "url", "abstract"}
        assert entry.entry_type in ("article", "inproceedings", "misc")
        for field in entry.fields:
            assert "\n" not in field.value


@SETTINGS
@given(papers())
def test_ris_reads_back_one_record_per_paper(frame):
    records = rispy.loads(to_ris(frame))
    assert len(records) == len(frame)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(hostile_text, words), min_size=3, max_size=6))
def test_exports_read_back_by_the_ingest_give_the_same_papers(items):
    """What the dashboard exports, this tool reads back: same titles, same abstracts."""
    frame = pd.DataFrame({
        "id": [f"p{i}" for i in range(len(items))],
        "title": [f"{text} title {i}" for i, (text, _) in enumerate(items)],
        "abstract": [f"{text} {abstract} and more words here" for text, abstract in items],
        "authors": ["Ada Lovelace"] * len(items), "year": [2020.0] * len(items),
        "url": [""] * len(items),
    })
    exported = {".bib": to_bibtex(frame).encode(), ".ris": to_ris(frame).encode(),
                ".csv": to_csv(frame)}
    with tempfile.TemporaryDirectory() as tmp:
        for suffix, data in exported.items():
            path = Path(tmp) / f"export{suffix}"
            path.write_bytes(data)
            back, _ = read_papers([path])
            assert len(back) == len(frame), suffix
            for column in ("title", "abstract"):
                # Exports drop control characters; the ingest cleans as it always does.
                raw = [CONTROL.sub("", t) for t in frame[column]]
                want = [clean_prose(t) for t in raw]
                got = back[column].tolist()
                if suffix == ".csv":  # the neutralising apostrophe is part of the cell
                    want = [w if g == w else clean_prose("'" + t)
                            for t, w, g in zip(raw, want, got, strict=True)]
                assert got == want, (suffix, column)
