"""Ingest: every table format, the page format, column detection, cleaning, bad input."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from conftest import SHARED_DATA, make_corpus

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest.clean import clean_text, read_papers

ABSTRACT = ("We study how transformers attend to long documents and propose a sparse "
            "attention scheme that scales linearly with sequence length.")


def _records(n: int = 5) -> list[dict]:
    return [{"Title": f"Paper {i}", "Abstract": f"{ABSTRACT} Variant {i}.", "Year": 2020 + i,
             "Authors": f"A. Author{i}", "Venue": "ACL"} for i in range(n)]


def _write(path, records, fmt):
    frame = pd.DataFrame(records)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif fmt == "json":
        path.write_text(json.dumps(records))
    elif fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    elif fmt == "parquet":
        frame.to_parquet(path)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet"])
@pytest.mark.parametrize("gz", [False, True])
def test_every_table_format(tmp_path, fmt, gz):
    plain = tmp_path / f"papers.{fmt}"
    _write(plain, _records(), fmt)
    path = plain
    if gz:
        path = tmp_path / f"papers.{fmt}.gz"
        path.write_bytes(gzip.compress(plain.read_bytes()))
    papers, report = read_papers([path])
    assert list(papers["title"]) == [f"Paper {i}" for i in range(5)]
    assert papers["year"].tolist() == [2020.0, 2021.0, 2022.0, 2023.0, 2024.0]
    assert papers["authors"].iloc[2] == "A. Author2"
    assert "Venue" in papers.columns  # other columns are kept as metadata
    assert report.kept == 5 and report.read == 5


def test_trending_page_keeps_all_60_papers_with_exact_titles():
    page = SHARED_DATA / "trending-papers-page.txt"
    if not page.exists():
        pytest.skip("shared data not present")
    papers, report = read_papers([page])
    assert report.kept == 60
    lines = [line.strip() for line in page.read_text().splitlines() if line.strip()]
    assert papers["title"].iloc[0] == lines[5]
    assert papers["title"].iloc[0].startswith("TL-Training: A Task-Feature-Based Framework")
    assert papers["title"].iloc[-1] == lines[-2]
    assert not papers["title"].isin(["Subscribe", "new", "Mar 13"]).any()
    assert (papers["abstract"].str.len() > 200).all()


def test_page_format_made_here(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("Get trending papers in your email inbox!\n\nSubscribe\n\nMar 13\n\n"
                    f"First Title\n\n{ABSTRACT}\n\nSecond Title\n\n{ABSTRACT} Two.\n\n"
                    f"Third Title\n\n{ABSTRACT} Three.\n")
    papers, _ = read_papers([page])
    assert papers["title"].tolist() == ["First Title", "Second Title", "Third Title"]


def test_columns_found_case_insensitively_and_overridable(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"PAPER_TITLE": ["a b", "c d", "e f"], "Summary": [ABSTRACT + "1", ABSTRACT + "2",
                  ABSTRACT + "3"], "Body": ["x"] * 3}).to_csv(path, index=False)
    papers, _ = read_papers([path])
    assert papers["title"].tolist() == ["a b", "c d", "e f"]
    assert papers["abstract"].iloc[0].endswith("1")
    with pytest.raises(InputError, match="no column 'nope'"):
        read_papers([path], IngestConfig(abstract_column="nope"))


def test_several_inputs_duplicates_and_skips_are_counted(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.jsonl"
    records = _records(4)
    pd.DataFrame(records).to_csv(a, index=False)
    extra = [dict(records[0], Title="  paper 0!  "),  # same normalised title
             {"Title": "Empty", "Abstract": ""},  # no usable abstract
             {"Title": "New one", "Abstract": ABSTRACT + " New."}]
    b.write_text("\n".join(json.dumps(r) for r in extra))
    papers, report = read_papers([a, b])
    assert report.read == 7
    assert report.duplicates_merged == 1
    assert report.skipped_no_abstract == 1
    assert report.kept == 5
    assert set(papers["source_file"]) == {"a.csv", "b.jsonl"}
    assert papers["id"].is_unique


def test_text_is_normalised_not_interpreted():
    assert clean_text("  a&amp;b\x00 \n\t c  ") == "a&b c"
    assert clean_text("<script>alert(1)</script>") == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("papers.docx", b"whatever", "unknown format"),
        ("papers.csv", b"name,body\nx,y\n", "no abstract column"),
        ("papers.csv", "title,abstract\n\u00e9t\u00e9,r\u00e9sum\u00e9\n".encode("latin-1"),
         "not UTF-8"),
        ("papers.csv", b"title,abstract\n", "no papers with an abstract"),
        ("papers.csv", f"title,abstract\na,{ABSTRACT}\nb,{ABSTRACT} 2\n".encode(),
         "at least 3"),
        ("papers.json", b"{not json", "not valid JSON"),
        ("papers.csv.gz", b"not gzip at all", "not a valid gzip"),
        ("papers.parquet", b"PAR1garbage", "not a readable Parquet"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_papers([path])
    assert name in str(info.value)


def test_synthetic_corpus_round_trip(tmp_path):
    path = tmp_path / "c.csv"
    corpus = make_corpus(5)
    corpus.to_csv(path, index=False)
    papers, _ = read_papers([path])
    assert papers["id"].tolist() == corpus["id"].tolist()
    assert "venue" in papers.columns


def test_page_with_a_long_title_after_the_header(tmp_path):
    long_title = ("A very long title that runs on for more than fifteen words because some "
                  "authors like to explain everything in the title itself")
    page = tmp_path / "page.txt"
    page.write_text(f"Subscribe\n\nMar 13\n\n{long_title}\n\n{ABSTRACT} {ABSTRACT}\n\n"
                    f"Short Title\n\n{ABSTRACT}\n\nOther Title\n\n{ABSTRACT} Again.\n")
    papers, _ = read_papers([page])
    assert papers["title"].tolist() == [long_title, "Short Title", "Other Title"]
