"""The reading list: a per-map SQLite store beside the map that survives restarts and rebuilds."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_dashboard_app import n_points, trace_length

from pipeline import load_map
from pipeline.config import IngestConfig
from pipeline.ingest.readers.bibtex import read_bibtex
from pipeline.ingest.readers.ris import read_ris
from pipeline.mapdir.store import replace_directory
from pipeline.review.readinglist import (
    ReadingList,
    ReadingListError,
    export_papers,
    export_reading_list,
    papers_in_list,
    store_path,
    with_labels,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def map_dir(tmp_path) -> Path:
    path = tmp_path / "maps" / "papers"
    path.mkdir(parents=True)
    (path / "manifest.json").write_text("{}")
    return path


def test_add_remove_and_order(map_dir):
    reading = ReadingList(map_dir)
    assert reading.ids() == []
    assert reading.add(["b", "a", "c"]) == 3
    assert reading.add(["a", "d"]) == 1  # "a" is already there and keeps its place
    assert reading.ids() == ["b", "a", "c", "d"]
    assert reading.remove(["a", "not-there"]) == 1
    assert reading.ids() == ["b", "c", "d"]
    assert "c" in reading and "a" not in reading
    assert len(reading) == 3


def test_single_id_string_is_one_id_not_characters(map_dir):
    reading = ReadingList(map_dir)
    reading.add("2101.00001")
    assert reading.ids() == ["2101.00001"]
    reading.remove("2101.00001")
    assert reading.ids() == []


def test_store_lives_beside_the_map_not_inside(map_dir):
    reading = ReadingList(map_dir)
    reading.add(["x"])
    assert reading.db_path == store_path(map_dir)
    assert reading.db_path.parent == map_dir.parent
    assert reading.db_path.is_file()
    assert not any(p.suffix == ".sqlite3" for p in map_dir.iterdir())


def test_fresh_instance_reads_what_another_wrote(map_dir):
    ReadingList(map_dir).add(["p1", "p2"])
    assert ReadingList(map_dir).ids() == ["p1", "p2"]


def test_survives_a_restart_in_a_new_process(map_dir):
    ReadingList(map_dir).add(["first", "second"])
    code = (
        "import sys; from pipeline.review.readinglist import ReadingList; "
        "r = ReadingList(sys.argv[1]); print(','.join(r.ids())); r.add(['third'])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(map_dir)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "first,second"
    assert ReadingList(map_dir).ids() == ["first", "second", "third"]


def test_survives_an_atomic_rebuild_of_the_map(map_dir, tmp_path):
    ReadingList(map_dir).add(["keep-me"])
    rebuilt = tmp_path / "maps" / ".papers.tmp-x"
    rebuilt.mkdir()
    (rebuilt / "manifest.json").write_text('{"rebuilt": true}')
    replace_directory(rebuilt, map_dir)
    assert (map_dir / "manifest.json").read_text() == '{"rebuilt": true}'
    assert ReadingList(map_dir).ids() == ["keep-me"]


def test_lists_are_per_map(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    ReadingList(one).add(["a"])
    ReadingList(two).add(["b"])
    assert ReadingList(one).ids() == ["a"]
    assert ReadingList(two).ids() == ["b"]


def test_corrupt_store_is_a_clear_error(map_dir):
    store_path(map_dir).write_bytes(b"this is not a database" * 100)
    with pytest.raises(ReadingListError, match=r"unreadable.*move it aside"):
        ReadingList(map_dir).ids()


def test_clear_and_entries(map_dir):
    reading = ReadingList(map_dir)
    reading.add(["a", "b"])
    entries = reading.entries()
    assert entries["paper_id"].tolist() == ["a", "b"]
    assert entries["added_at"].str.endswith("+00:00").all()
    assert reading.clear() == 2
    assert reading.ids() == []


# --------------------------------------------------------------------------- exports


def test_bibtex_export_parses_back_with_the_same_entries(small_map, tmp_path):
    topic_map = load_map(small_map)
    docs = topic_map.documents
    picked = docs["id"].tolist()[::9]  # a dozen papers across the topics
    reading = ReadingList(small_map, db_path=tmp_path / "list.sqlite3")
    reading.add(picked)
    bib = tmp_path / "export.bib"
    bib.write_bytes(export_reading_list(topic_map, reading, "bibtex"))
    back = read_bibtex(bib, IngestConfig())
    assert back["id"].tolist() == picked
    expected = docs.set_index("id").loc[picked]
    assert back["title"].tolist() == expected["title"].tolist()
    assert back["abstract"].tolist() == expected["abstract"].tolist()
    assert back["authors"].tolist() == expected["authors"].tolist()
    assert back["year"].astype(int).tolist() == expected["year"].astype(int).tolist()


def test_bibtex_export_keeps_hostile_text_intact(tmp_path):
    papers = pd.DataFrame({
        "id": ["2101.00001", "odd id/with spaces"],
        "title": ["50% of {braces} & $x^2$ costs #1", "Unbalanced } brace { here"],
        "abstract": ["A back\\slash, an_underscore and a ~tilde.", "Schrödinger @ Zürich."],
        "authors": ["Jörg Müller; Ann Smith", "Min-Ji Lee"],
        "year": [2021.0, float("nan")],
        "url": ["https://arxiv.org/abs/2101.00001", ""],
    })
    bib = tmp_path / "hostile.bib"
    bib.write_bytes(export_papers(papers, "bibtex"))
    back = read_bibtex(bib, IngestConfig())
    assert len(back) == 2
    assert back["title"].tolist() == papers["title"].tolist()
    assert back["abstract"].tolist() == papers["abstract"].tolist()
    assert back["authors"].tolist() == papers["authors"].tolist()
    assert back.loc[0, "year"] == "2021" and back.loc[1, "year"] == ""


def test_ris_and_csv_exports_of_the_list(small_map, tmp_path):
    topic_map = load_map(small_map)
    picked = topic_map.documents["id"].tolist()[:5]
    reading = ReadingList(small_map, db_path=tmp_path / "list.sqlite3")
    reading.add(picked)
    ris = tmp_path / "export.ris"
    ris.write_bytes(export_reading_list(topic_map, reading, "ris"))
    assert read_ris(ris, IngestConfig())["id"].tolist() == picked
    table = pd.read_csv(io.BytesIO(export_reading_list(topic_map, reading, "csv")),
                        encoding="utf-8-sig")
    assert table["id"].tolist() == picked
    assert {"cluster_label", "theme_label", "abstract"} <= set(table.columns)
    assert table["theme_label"].str.len().gt(0).all()


def test_papers_in_list_reports_ids_the_map_lost(small_map):
    docs = load_map(small_map).documents
    first, second = docs["id"].iloc[3], docs["id"].iloc[7]
    papers, missing = papers_in_list(docs, [second, "gone-after-rebuild", first])
    assert papers["id"].tolist() == [second, first]
    assert missing == ["gone-after-rebuild"]


# --------------------------------------------------------------------------- the page


def test_reading_list_page(small_map, tmp_path, monkeypatch):
    root = tmp_path / "maps"
    shutil.copytree(small_map, root / "small")
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(root))
    app = Path(__file__).resolve().parents[1] / "dashboard.py"

    def open_page() -> AppTest:
        at = AppTest.from_file(str(app), default_timeout=120)
        return at.switch_page("pages/4_Reading_list.py").run()

    at = open_page()
    assert not at.exception
    assert any("The list is empty" in i.value for i in at.info)

    docs = load_map(root / "small").documents
    picked = [i for i in docs["id"] if i.startswith("robotics-")][:3]
    ReadingList(root / "small").add([*picked, "gone-after-rebuild"])
    at = open_page()  # a fresh app run reads what was stored
    assert not at.exception, [e.value for e in at.exception]
    assert any("not on this map any more" in w.value for w in at.warning)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    stars = next(t for t in spec["data"] if t.get("name") == "reading list")
    data = stars["customdata"]
    rows = (set(np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist())
            if isinstance(data, dict) else {int(v) for v in data})
    assert rows == {int(docs.index[docs["id"] == p][0]) for p in picked}
    frames = at.dataframe
    listed, like = frames[0].value, frames[1].value
    assert len(listed) == 3 and len(like) == 20
    assert set(like["title"]).isdisjoint(set(listed["title"]))
    assert (like["topic"].str.len() > 0).all()
    # "Add all" adds the similar papers; "Remove them" drops the vanished id.
    at.button(key="rl_like_add").click().run()
    at.button(key="rl_drop_missing").click().run()
    assert not at.exception
    stored = ReadingList(root / "small").ids()
    assert stored[:3] == picked and len(stored) == 23 and "gone-after-rebuild" not in stored



def test_reading_list_page_on_an_overview_keeps_every_star(small_map, tmp_path, monkeypatch):
    root = tmp_path / "maps"
    shutil.copytree(small_map, root / "small")
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(root))
    monkeypatch.setenv("TOPICMAP_OVERVIEW_POINTS", "25")
    docs = load_map(root / "small").documents
    ReadingList(root / "small").add(docs["id"].astype(str).tolist()[::10])  # 10 papers
    app = Path(__file__).resolve().parents[1] / "dashboard.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.switch_page("pages/4_Reading_list.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Overview:" in i.value for i in at.info)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    drawn = n_points(spec)
    stars = next(t for t in spec["data"] if t.get("name") == "reading list")
    assert trace_length(stars) == 10
    assert 25 <= drawn <= 35  # the sample, plus listed papers outside it


def test_a_locked_store_is_reported_as_busy(map_dir):
    import sqlite3

    reading = ReadingList(map_dir)
    reading.add(["a"])
    reading.timeout = 0.2
    other = sqlite3.connect(store_path(map_dir))
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(ReadingListError, match="is busy"):
            reading.add(["b"])
    finally:
        other.rollback()
        other.close()
    assert reading.add(["b"]) == 1 and reading.ids() == ["a", "b"]


def test_review_pages_show_hostile_text_as_text(hostile_map, tmp_path, monkeypatch):
    """Reading list, themes over time and compare pages on a map whose papers carry payloads."""
    from conftest import HTML_PAYLOADS

    root = tmp_path / "maps"
    shutil.copytree(hostile_map, root / "hostile")
    shutil.copytree(hostile_map, root / "hostile-copy")
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(root))
    ReadingList(root / "hostile").add([f"hostile-{name}" for name in HTML_PAYLOADS])
    app = Path(__file__).resolve().parents[1] / "dashboard.py"
    for page in ("pages/4_Reading_list.py", "pages/5_Themes_over_time.py",
                 "pages/6_Compare_maps.py"):
        at = AppTest.from_file(str(app), default_timeout=120)
        at.query_params["map"] = "hostile"
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        markdown = "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                             + [w.value for w in at.warning] + [b.label for b in at.button])
        charts = json.dumps([json.loads(c.proto.spec) for c in at.get("plotly_chart")])
        for marker in ("<script", "<img", "<svg", "<a href"):
            assert marker not in markdown and marker not in charts, (page, marker)
        assert "](javascript" not in markdown, page  # no Markdown link can be formed
        if page.endswith("Reading_list.py"):
            titles = set(at.dataframe[0].value["title"])
            assert f"{HTML_PAYLOADS['script']} title script" in titles  # shown as text


def test_reading_list_page_says_unclustered_like_every_other_page(small_map, tmp_path,
                                                                  monkeypatch):
    """Issue 13, item 11: papers like these came from "noise (3); noise (2)"."""
    from pipeline.mapdir.store import write_map

    topic_map = load_map(small_map)
    docs = topic_map.documents.copy()
    for theme in docs["theme"].unique():  # a few papers of each theme are unclustered
        docs.loc[docs.index[docs["theme"] == theme][1:6], "cluster"] = -1
    root = tmp_path / "maps"
    write_map(type(topic_map)(docs, topic_map.clusters, topic_map.embeddings,
                              topic_map.manifest, topic_map.path), root / "small")
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(root))
    firsts = docs.groupby("theme")["id"].first().astype(str).tolist()
    ReadingList(root / "small").add(firsts)
    app = Path(__file__).resolve().parents[1] / "dashboard.py"
    at = AppTest.from_file(str(app), default_timeout=120).run()
    at.switch_page("pages/4_Reading_list.py").run()
    at.selectbox(key="rl_k").set_value(50).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join([c.value for c in at.caption]
                     + [" ".join(map(str, t.value["topic"])) for t in at.dataframe])
    assert "noise" not in shown, shown
    assert "unclustered" in shown
    exported = export_papers(with_labels(docs.iloc[:10], topic_map.clusters), "csv")
    assert b"noise" not in exported and b"unclustered" in exported
