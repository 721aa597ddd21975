"""AppTest of the drill-down and topics pages on the small test map."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest
from conftest import HTML_PAYLOADS as PAYLOADS
from streamlit.testing.v1 import AppTest
from test_dashboard_app import assert_ok, n_points, texts

from pipeline import load_map
from ui.core.escape import escape

APP = Path(__file__).resolve().parents[1] / "dashboard.py"
DRILL = "pages/2_Drill_down.py"
TOPICS = "pages/3_Topics.py"
TIMEOUT = 180  # the first drill-down in a process compiles UMAP


@pytest.fixture
def maps_dir(small_map, monkeypatch):
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(small_map.parent))
    return small_map.parent


def open_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.switch_page(page).run()


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def sub_topics(at: AppTest) -> list[str]:
    """The sub-topics a drill-down lists: one button each (key ``drill_sub_<key>``)."""
    return [html.unescape(b.label) for b in at.button
            if b.key and b.key.startswith("drill_sub_")]


def test_drill_down_start_page_lists_broad_topics(maps_dir):
    at = open_page(DRILL)
    assert_ok(at)
    small = load_map(maps_dir / "small")
    assert sorted(sub_topics(at)) == sorted(small.level("theme")["label"])
    assert n_points(charts(at)[0]) == 100


def test_drill_into_a_theme_walks_the_saved_layers(maps_dir, monkeypatch):
    """Its sub-topics are its children in the next layer, read from the map (no UMAP)."""
    import ui.app.loaders

    called = []
    monkeypatch.setattr(ui.app.loaders, "map_papers", lambda *a, **k: called.append(1))
    small = load_map(maps_dir / "small")
    theme = small.level("theme").sort_values("size").iloc[-1]
    at = open_page(DRILL, drill=f"theme:{theme['id']}")
    assert_ok(at)
    shown = texts(at)
    assert theme["label"].split()[0] in shown
    figures = charts(at)
    terms = next(f for f in figures if f["data"][0]["type"] == "bar")
    assert terms["data"][0]["y"][-1] == next(iter(theme["terms"]))  # strongest term on top
    # How far its papers bear the name out, from the map's support and contrast.
    assert escape(f"written by {theme['support']:.0%} of its papers and by "
                  f"{1 - theme['contrast']:.0%} of its siblings' papers", "markdown") in shown
    part = next(f for f in figures if f["data"][0]["type"] in ("scatter", "scattergl"))
    assert n_points(part) == int(theme["size"])
    # Its sub-topics: the next layer's nodes inside it, with their sizes.
    levels = small.levels
    finer = small.level(levels[levels.index("theme") - 1])
    kids = finer[finer["parent"] == theme["id"]]
    assert sorted(sub_topics(at)) == sorted(kids["label"])
    # The names on its map are those of the topics inside it, its sub-topics broadest (in
    # the size of a second layer's names, shown at once: issue 20, item 6).
    overlay = next(json.loads(c.proto.json) for c in at.get("bidi_component")
                   if c.key == "drill_overlay")
    top = {item["t"] for item in overlay["payload"]["labels"] if item["d"] == 1}
    assert top == set(kids["label"])
    assert min(item["d"] for item in overlay["payload"]["labels"]) == 1
    assert set(overlay["state"]["reveal"]) == {f"{k.level}:{k.id}" for k in kids.itertuples()}
    # The papers table lists this theme's papers, with abstracts.
    papers = next(d.value for d in at.dataframe if "abstract" in d.value.columns)
    assert len(papers) == int(theme["size"])
    # Drill again into its largest sub-topic: the URL follows, then the breadcrumb back.
    child = kids.sort_values(["size", "id"], ascending=[False, True]).iloc[0]
    at.button(key=f"drill_sub_{child['level']}:{child['id']}").click().run()
    assert_ok(at)
    assert at.query_params["drill"] in (f"{child['level']}:{child['id']}",
                                        [f"{child['level']}:{child['id']}"])
    deeper = next(d.value for d in at.dataframe if "abstract" in d.value.columns)
    assert len(deeper) == int(child["size"]) <= len(papers)
    assert at.button(key="drill_crumb_1").label.endswith(theme["label"][:20]) or \
        theme["label"][:10] in at.button(key="drill_crumb_1").label
    at.button(key="drill_crumb_0").click().run()
    assert "drill" not in at.query_params
    assert called == []  # nothing was re-mapped


def test_remapping_is_an_explicit_action_with_its_cost(maps_dir):
    small = load_map(maps_dir / "small")
    theme = small.level("theme").sort_values("size").iloc[-1]
    at = open_page(DRILL, drill=f"theme:{theme['id']}")
    assert "drill_remap_map" not in [c.key for c in at.get("plotly_chart")]
    assert any("roughly" in c.value and " s on this machine" in c.value for c in at.caption)
    at.button(key=f"drill_remap_theme:{theme['id']}").click().run()
    assert_ok(at)
    assert "drill_remap_map" in [c.key for c in at.get("plotly_chart")]


def test_bad_drill_trail_falls_back(maps_dir):
    at = open_page(DRILL, drill="cluster:999")
    assert not at.exception
    assert any("does not exist" in w.value for w in at.warning)
    assert "drill" not in at.query_params


def test_a_trail_that_leaves_its_topic_stops_there(maps_dir):
    small = load_map(maps_dir / "small")
    docs = small.documents
    theme = int(docs["theme"].iloc[0])
    outside = int(docs.loc[(docs["theme"] != theme) & (docs["cluster"] >= 0), "cluster"].iloc[0])
    at = open_page(DRILL, drill=f"theme:{theme},cluster:{outside}")
    assert any("does not exist" in w.value for w in at.warning)
    assert at.query_params["drill"] in (f"theme:{theme}", [f"theme:{theme}"])


def test_topics_page_shows_table_and_treemap_and_drills(maps_dir):
    small = load_map(maps_dir / "small")
    at = open_page(TOPICS)
    assert_ok(at)
    table = at.dataframe[0].value
    assert len(table) == len(small.clusters)
    assert set(table["name"]) == set(small.clusters["label"])
    tree = charts(at)[0]["data"][0]
    assert tree["type"] == "treemap" and len(tree["ids"]) == len(small.clusters)
    top = [p for p in tree["parents"] if p == ""]
    assert len(top) == len(small.level("theme"))  # the broadest layer outside
    cluster = int(small.level("cluster")["id"].iloc[0])
    at.selectbox(key="topics_pick").set_value(f"cluster:{cluster}").run()
    at.button(key="topics_go").click().run()
    assert_ok(at)
    assert at.query_params["drill"] in (f"cluster:{cluster}", [f"cluster:{cluster}"])
    assert "Its papers" in texts(at)


def test_pages_escape_hostile_text(hostile_map, monkeypatch):
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(hostile_map.parent))
    hostile = load_map(hostile_map)
    theme = int(hostile.documents.loc[hostile.documents["id"] == "hostile-script", "theme"]
                .iloc[0])
    for page, params in ((TOPICS, {}), (DRILL, {"drill": f"theme:{theme}"})):
        at = open_page(page, **params)
        assert_ok(at)
        shown = texts(at) + json.dumps(charts(at))
        assert "<script" not in shown and "<img" not in shown and "<svg" not in shown
    assert any("title" in e.label for e in at.expander) or at.dataframe
    table = next(d.value for d in at.dataframe if "title" in d.value.columns)
    assert PAYLOADS["script"] + " title script" in set(table["title"])  # text, shown as text


def test_a_new_page_is_one_file_and_one_registry_line(maps_dir, tmp_path):
    """CONTRIBUTING.md's recipe: a page file in pages/ and one line in dashboard.py's PAGES."""
    root = Path(__file__).resolve().parents[1]
    app = tmp_path / "app"
    shutil.copytree(root / "pages", app / "pages")
    (app / "pages" / "7_Hello.py").write_text(
        "import streamlit as st\n\n"
        "from ui.app.context import map_context\n\n"
        "context = map_context()\n"
        'st.markdown("## Hello")\n'
        'st.caption(f"{len(context.documents):,} papers on {context.name}")\n',
        encoding="utf-8")
    source = (root / "dashboard.py").read_text(encoding="utf-8")
    end = source.index("]\n", source.index("PAGES = ["))
    entry = source[:end] + '    st.Page("pages/7_Hello.py", title="Hello"),\n' + source[end:]
    assert len(entry.splitlines()) == len(source.splitlines()) + 1
    (app / "dashboard.py").write_text(entry, encoding="utf-8")

    at = AppTest.from_file(str(app / "dashboard.py"), default_timeout=TIMEOUT).run()
    assert_ok(at)
    at.switch_page("pages/7_Hello.py").run()
    assert_ok(at)
    assert "100 papers on small" in texts(at)


def test_drill_down_table_names_each_paper_by_a_topic_that_holds_it(maps_dir):
    """Issue 13, item 1: the table looked sub-map cluster numbers up in the whole map.
    Every paper's topic (and sub-topic) is the name of a node that contains it."""
    small = load_map(maps_dir / "small")
    docs = small.documents
    names = {level: dict(zip(small.level(level)["id"], small.level(level)["label"],
                             strict=True)) for level in small.levels}
    for theme in small.level("theme")["id"].astype(int):
        at = open_page(DRILL, drill=f"theme:{theme}")
        assert_ok(at)
        table = next(d.value for d in at.dataframe if "abstract" in d.value.columns)
        part = docs[docs["theme"] == theme]
        assert len(table) == len(part)
        holding = [names["cluster"].get(int(c), "unclustered") if c >= 0 else "unclustered"
                   for c in part["cluster"]]
        assert table["topic"].tolist() == holding
        if "sub-topic" in table.columns:
            level = small.levels[-2]
            assert table["sub-topic"].tolist() == [names[level][int(v)] for v in part[level]]
