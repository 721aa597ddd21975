"""The hostile corpus (tests/hostile.py) builds, keeps its text as text, and exports safely."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from conftest import FakeEmbedder
from hostile import LONG_ABSTRACT_CHARS, PAYLOADS, hostile_corpus, write_hostile_csv

from pipeline import BuildConfig, build, load_map
from pipeline.review.export import FORMULA_START, to_bibtex, to_csv, to_ris


@pytest.fixture(scope="module")
def hostile_full_map(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile_full")
    source = write_hostile_csv(root / "hostile.csv")
    out = root / "maps" / "hostile"
    build([source], out, BuildConfig(), embedder=FakeEmbedder(), cache_dir=root / "cache",
          show_progress=False)
    return out


def test_hostile_corpus_builds_and_keeps_text_as_text(hostile_full_map):
    topic_map = load_map(hostile_full_map)
    docs = topic_map.documents.set_index("id")
    assert len(docs) == len(hostile_corpus())
    for name, payload in PAYLOADS.items():
        # Markup is kept literally (entities decoded), never stripped or interpreted.
        assert payload.replace("&lt;", "<").replace("&gt;", ">") in docs.loc[f"hostile-{name}",
                                                                             "title"]
    assert PAYLOADS["script"] in docs.index  # an id that is a payload survives as an id
    assert "🧪🔥👩‍🔬" in docs.loc["hostile-emoji", "title"]
    assert "نموذج لغوي كبير" in docs.loc["hostile-rtl", "abstract"]
    control = docs.loc["hostile-control"]
    assert "\x00" not in control["title"] and "\x07" not in control["abstract"]
    assert "NUL here" in control["title"]
    assert len(docs.loc["long-abstract", "abstract"]) >= LONG_ABSTRACT_CHARS - 10
    assert PAYLOADS["img"] in topic_map.metadata_columns
    # Labels are words of the corpus, never markup.
    assert not topic_map.clusters["label"].str.contains("<|>", regex=True).any()


NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def formula(cell: str) -> bool:
    """Would a spreadsheet run this cell as a formula? (Numbers are numbers.)"""
    return cell.lstrip(" ").startswith(FORMULA_START) and not NUMBER.fullmatch(cell)


def parse_csv(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_hostile_map_exports_are_inert(hostile_full_map):
    import bibtexparser
    import rispy

    docs = load_map(hostile_full_map).documents
    rows = parse_csv(to_csv(docs))
    assert len(rows) == len(docs) + 1
    for row in rows:  # the header too: column names come from the data
        for cell in row:
            assert not formula(cell), cell
    library = bibtexparser.parse_string(to_bibtex(docs))
    assert library.failed_blocks == []
    assert len(library.entries) == len(docs)
    assert len(rispy.loads(to_ris(docs))) == len(docs)
