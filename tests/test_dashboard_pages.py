"""AppTest of the drill-down and topics pages on the small test map."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import HTML_PAYLOADS as PAYLOADS
from streamlit.testing.v1 import AppTest
from test_dashboard_app import assert_ok, n_points, texts

from pipeline import load_map

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


def test_drill_down_start_page_lists_groups(maps_dir):
    at = open_page(DRILL)
    assert_ok(at)
    options = at.selectbox(key="drill_pick").options
    small = load_map(maps_dir / "small")
    assert len(options) == len(small.clusters)
    assert n_points(charts(at)[0]) == 100


def test_drill_into_a_theme_gives_a_labelled_submap_and_drills_again(maps_dir):
    small = load_map(maps_dir / "small")
    theme = small.level("theme").sort_values("size").iloc[-1]
    at = open_page(DRILL, drill=f"theme:{theme['id']}")
    assert_ok(at)
    shown = texts(at)
    assert theme["label"].split()[0] in shown
    figures = charts(at)
    terms = next(f for f in figures if f["data"][0]["type"] == "bar")
    assert terms["data"][0]["y"][-1] == next(iter(theme["terms"]))  # strongest term on top
    submap = next(f for f in figures if f["data"][0]["type"] == "scattergl")
    assert n_points(submap) == int(theme["size"])
    labels = [a["text"] for a in submap["layout"]["annotations"]]
    assert labels and all(label.strip() for label in labels)
    # The papers table lists this theme's papers, with abstracts.
    table = at.dataframe[0].value
    assert len(table) == int(theme["size"]) and "abstract" in table.columns
    # Drill again into the sub-map's largest cluster (clusters are numbered by size).
    choice = "cluster:0"
    assert any(o.startswith("Cluster") for o in at.selectbox(key="drill_pick").options)
    at.selectbox(key="drill_pick").set_value(choice).run()
    at.button(key="drill_go").click().run()
    assert_ok(at)
    assert at.query_params["drill"] in (f"theme:{theme['id']},{choice}",
                                        [f"theme:{theme['id']},{choice}"])
    deeper = at.dataframe[0].value
    assert 0 < len(deeper) < len(table)
    # The breadcrumb leads back to the whole map.
    at.button(key="drill_crumb_0").click().run()
    assert "drill" not in at.query_params


def test_bad_drill_trail_falls_back(maps_dir):
    at = open_page(DRILL, drill="cluster:999")
    assert not at.exception
    assert any("does not exist" in w.value for w in at.warning)
    assert "drill" not in at.query_params


def test_topics_page_shows_table_and_treemap_and_drills(maps_dir):
    small = load_map(maps_dir / "small")
    at = open_page(TOPICS)
    assert_ok(at)
    table = at.dataframe[0].value
    assert len(table) == len(small.clusters)
    assert set(table["name"]) == set(small.clusters["label"])
    tree = charts(at)[0]["data"][0]
    assert tree["type"] == "treemap" and len(tree["ids"]) == len(small.clusters)
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
    table = at.dataframe[0].value
    assert PAYLOADS["script"] + " title script" in set(table["title"])  # text, shown as text


def test_a_new_page_is_one_file_and_one_registry_line(maps_dir, tmp_path):
    """CONTRIBUTING.md's recipe: a page file in pages/ and one line in dashboard.py's PAGES."""
    root = Path(__file__).resolve().parents[1]
    app = tmp_path / "app"
    shutil.copytree(root / "pages", app / "pages")
    (app / "pages" / "7_Hello.py").write_text(
        "import streamlit as st\n\n"
        "from ui.context import map_context\n\n"
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


def containing_names(small, sub, position: int) -> set[str]:
    """Names of the nodes that hold the sub-map's paper at ``position``: its sub-map
    cluster and theme, its cluster and theme on the whole map ("unclustered" for noise)."""
    root_row = int(sub.documents["_row"].iat[position])
    names = set()
    for topic_map_clusters, cluster, theme in (
            (small.clusters, small.documents["cluster"].iat[root_row],
             small.documents["theme"].iat[root_row]),
            (sub.clusters, sub.documents["cluster"].iat[position],
             sub.documents["theme"].iat[position])):
        fine = topic_map_clusters[topic_map_clusters["level"] == "cluster"].set_index("id")
        broad = topic_map_clusters[topic_map_clusters["level"] == "theme"].set_index("id")
        names.add(fine.at[int(cluster), "label"] if cluster >= 0 else "unclustered")
        names.add(broad.at[int(theme), "label"])
    return names


def test_drill_down_table_names_each_paper_by_a_topic_that_holds_it(maps_dir):
    """Issue 13, item 1: the table looked sub-map cluster numbers up in the whole map."""
    import ui.loaders

    small = load_map(maps_dir / "small")
    for theme in small.level("theme")["id"].astype(int):
        at = open_page(DRILL, drill=f"theme:{theme}")
        assert_ok(at)
        sub = ui.loaders.submap(maps_dir / "small", (("theme", theme),))
        if not sub.mapped:
            continue
        table = at.dataframe[0].value
        assert len(table) == len(sub.documents)
        wrong = [(i, topic) for i, topic in enumerate(table["topic"])
                 if topic not in containing_names(small, sub, i)]
        assert wrong == [], (theme, wrong[:5])
        # ... and it is the paper's topic on the sub-map it was drilled into.
        names = sub.assets.cluster_names
        assert table["topic"].tolist() == [names.get(int(c), "unclustered")
                                           for c in sub.documents["cluster"]]
