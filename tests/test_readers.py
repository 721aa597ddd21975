"""The readers' registry: one table from suffix and content to reader, and how to extend it."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest import readers
from pipeline.ingest.clean import read_papers
from pipeline.ingest.readers import READERS, SNIFFERS, Sniffer, find_reader, tables

ROOT = Path(__file__).resolve().parents[1]
ABSTRACT = "A made-up abstract long enough to be kept by ingest, about topic maps."


def read_foo(path: Path, config: IngestConfig) -> pd.DataFrame:
    """A trivial format: one paper per line, ``title | abstract``."""
    text = readers.base.read_text(path)
    rows = [line.split(" | ", 1) for line in text.splitlines() if " | " in line]
    return pd.DataFrame(rows, columns=["title", "abstract"])


def test_a_new_format_is_one_reader_and_one_registry_line(tmp_path, monkeypatch):
    path = tmp_path / "papers.foo"
    path.write_text("".join(f"Paper {i} | {ABSTRACT} ({i})\n" for i in range(4)))
    with pytest.raises(InputError, match=r"unknown format '\.foo'"):
        read_papers([path])

    monkeypatch.setitem(READERS, ".foo", read_foo)  # the one registry line

    papers, report = read_papers([path])
    assert papers["title"].tolist() == [f"Paper {i}" for i in range(4)]
    assert report.counts() == {"read": 4, "skipped_no_abstract": 0, "duplicates_merged": 0,
                               "kept": 4}
    gz = tmp_path / "more.foo.gz"  # gzip comes free
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert read_papers([gz])[0]["title"].tolist() == papers["title"].tolist()


def test_a_format_told_by_content_is_one_sniffer_line(tmp_path, monkeypatch):
    path = tmp_path / "export.csv"
    path.write_text("FOO EXPORT\n" + "".join(f"Paper {i} | {ABSTRACT}\n" for i in range(3)))
    with pytest.raises(InputError, match=r"export\.csv: no abstract column"):
        read_papers([path])

    def is_foo(path: Path, config: IngestConfig) -> bool:
        return readers.base.peek(path).startswith(b"FOO EXPORT\n")

    monkeypatch.setattr(readers, "SNIFFERS", [*SNIFFERS, Sniffer((".csv",), is_foo, read_foo)])

    assert read_papers([path])[0]["title"].tolist() == ["Paper 0", "Paper 1", "Paper 2"]


def test_sniffers_pick_the_reader_by_content(tmp_path):
    config = IngestConfig()
    snapshot = tmp_path / "any-name.json"
    snapshot.write_text(json.dumps({"id": "0704.0001", "abstract": "x", "categories": "cs.CL",
                                    "versions": []}) + "\n")
    openalex = tmp_path / "works.json"
    openalex.write_text(json.dumps([{"id": "https://openalex.org/W1", "title": "t"}]))
    zotero = tmp_path / "library.csv"
    zotero.write_text('"Key","Item Type","Title","Abstract Note"\n"K1","book","t","a"\n')
    plain = tmp_path / "plain.csv"
    plain.write_text("title,abstract\nt,a\n")
    assert find_reader(snapshot, config) is readers.arxiv.read_snapshot
    assert find_reader(openalex, config) is readers.openalex.read_openalex
    assert find_reader(zotero, config) is readers.zotero.read_zotero
    assert find_reader(zotero, IngestConfig(title_column="Title")) is tables.read_csv
    assert find_reader(plain, config) is tables.read_csv


def test_every_suffix_in_the_readme_has_a_reader():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    inputs = readme.split("### Inputs", 1)[1].split("\n\n", 2)[1]
    suffixes = set(re.findall(r"`(\.[a-z]+)`", inputs))
    assert suffixes and suffixes <= set(READERS), suffixes - set(READERS)


def test_openalex_line_nested_too_deeply_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "works.jsonl"
    path.write_text(json.dumps({"id": "https://openalex.org/W1", "title": "t"}) + "\n"
                    + "[" * 100_000 + "\n")
    with pytest.raises(InputError, match=r"works\.jsonl: line 2 is nested too deeply"):
        read_papers([path])
