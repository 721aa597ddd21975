"""AppTest of the landing page (the map) on the small test map."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HTML_PAYLOADS as PAYLOADS
from conftest import FakeEmbedder
from streamlit.testing.v1 import AppTest

import ui.app.loaders
import ui.core.querymodel
from pipeline import load_map
from pipeline.mapdir.store import write_manifest
from pipeline.review.readinglist import ReadingList
from ui.core.escape import escape
from ui.core.events import selected_rows_from_event
from ui.core.latex import readable

APP = Path(__file__).resolve().parents[1] / "dashboard.py"
TIMEOUT = 90

@pytest.fixture
def maps_dir(small_map, monkeypatch):
    """Point the app at the folder holding the small map; fresh query-model cache."""
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(small_map.parent))
    ui.core.querymodel.clear()
    ui.app.loaders.embed_query.clear()
    yield small_map.parent
    ui.core.querymodel.clear()
    ui.app.loaders.embed_query.clear()


@pytest.fixture
def fake_query_model(fake_backend):
    """Semantic search with the fake embedder the test map was built with: the backend the
    map records (``fake``) is registered for the test, as any backend is."""


def run_app(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def map_spec(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert charts, "no chart on the page"
    return json.loads(charts[0].proto.spec)


def trace_length(trace: dict) -> int:
    x = trace["x"]
    return len(base64.b64decode(x["bdata"])) // 4 if isinstance(x, dict) else len(x)


def n_points(spec: dict) -> int:
    return sum(trace_length(t) for t in spec["data"]
               if t.get("name") not in ("search results", "open paper", "reading list"))


def overlay_data(at: AppTest, key: str = "view_overlay") -> dict:
    """What the map's overlay component was given: the names (``payload``) and the
    reader's view (``state``: mask of papers shown, visible counts, label mode)."""
    found = [c for c in at.get("bidi_component") if c.key == key]
    assert found, f"no component {key!r} on the page"
    return json.loads(found[0].proto.json)


def shown_count(at: AppTest) -> int:
    """Papers the filters let through (the others are dimmed, not removed)."""
    state = overlay_data(at)["state"]
    if state["mask"] is None:
        return n_points(map_spec(at))
    bits = np.unpackbits(np.frombuffer(base64.b64decode(state["mask"]), dtype=np.uint8),
                         bitorder="little")
    return int(bits[:n_points(map_spec(at))].sum())


def search_rows(at: AppTest) -> list[int]:
    """The search hits marked on the map (row positions, by rank; ``ui.app.search``)."""
    return [int(h["r"]) for h in overlay_data(at, "view_search_marks").get("hits", [])]


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [b.label for b in at.button]
    return "\n".join(parts)


# --------------------------------------------------------------------------- renders


def test_landing_page_renders_every_paper_with_names_of_every_layer(maps_dir):
    at = run_app()
    assert_ok(at)
    spec = map_spec(at)
    assert n_points(spec) == 100
    assert not spec["layout"].get("annotations")  # names are the overlay's, in the browser
    small = load_map(maps_dir / "small")
    data = overlay_data(at)
    assert data["chart"] == "map_chart" and data["state"]["mode"] == "zoom"
    labels = data["payload"]["labels"]
    assert len(labels) == len(small.clusters)  # every node of every layer
    broad = [item for item in labels if item["d"] == 0]
    assert sorted(item["t"] for item in broad) == sorted(small.level("theme")["label"])
    assert data["state"]["mask"] is None  # nothing filtered, nothing dimmed
    assert "all 100 papers" in at.caption[0].value
    assert at.query_params.get("map") in ("small", ["small"])


def test_label_mode_switch(maps_dir):
    at = run_app()
    at.radio(key="view_labels").set_value("cluster").run()
    assert_ok(at)
    assert overlay_data(at)["state"]["mode"] == "cluster"
    at.radio(key="view_labels").set_value("none").run()
    assert overlay_data(at)["state"]["mode"] == "none"


# --------------------------------------------------------------------------- filters


def test_theme_filter_changes_map_counts_and_url(maps_dir):
    small = load_map(maps_dir / "small")
    theme = int(small.documents["theme"].value_counts().index[-1])
    expected = int((small.documents["theme"] == theme).sum())
    at = run_app()
    at.multiselect(key="view_themes").set_value([theme]).run()
    assert_ok(at)
    assert n_points(map_spec(at)) == 100  # the others are dimmed, not removed
    assert shown_count(at) == expected < 100
    assert f"{expected} of 100 papers" in at.caption[0].value
    state = overlay_data(at)["state"]
    assert f"theme:{theme}" in state["focus"]  # its name stays on the map
    labels = overlay_data(at)["payload"]["labels"]
    counts = {item["k"]: n for item, n in zip(labels, state["counts"], strict=True)}
    assert counts[f"theme:{theme}"] == expected and sum(
        n for k, n in counts.items() if k.startswith("theme:")) == expected
    assert at.query_params["theme"] in (str(theme), [str(theme)])
    # Only that theme's clusters are offered.
    fine = small.level("cluster")
    offered = at.multiselect(key="view_clusters").options
    assert sorted(o.rsplit(" (", 1)[0] for o in offered) == sorted(
        fine.loc[fine["parent"] == theme, "label"])


def test_cluster_text_noise_and_year_filters(maps_dir):
    small = load_map(maps_dir / "small")
    docs = small.documents
    cluster = int(docs.loc[docs["cluster"] >= 0, "cluster"].value_counts().index[0])
    at = run_app()
    at.multiselect(key="view_clusters").set_value([cluster]).run()
    assert shown_count(at) == int((docs["cluster"] == cluster).sum())
    at.multiselect(key="view_clusters").set_value([]).run()
    at.text_input(key="view_find").input("gripper").run()
    expected = int((docs["title"] + " " + docs["abstract"]).str.lower()
                   .str.contains("gripper").sum())
    assert shown_count(at) == expected < 100
    at.text_input(key="view_find").input("").run()
    low = int(docs["year"].min())
    at.slider(key="view_years").set_range(low, low + 1).run()
    assert shown_count(at) == int((docs["year"] <= low + 1).sum())
    at.slider(key="view_years").set_range(low, int(docs["year"].max())).run()
    at.checkbox(key="view_noise").uncheck().run()
    assert shown_count(at) == int((docs["cluster"] >= 0).sum())
    assert n_points(map_spec(at)) == 100
    assert_ok(at)


def test_colour_by_metadata_shows_a_legend(maps_dir):
    at = run_app()
    at.selectbox(key="view_colour").set_value("venue").run()
    assert_ok(at)
    spec = map_spec(at)
    assert spec["layout"]["showlegend"] is True
    assert {"VISION", "BIOLOGY"} <= {t["name"] for t in spec["data"]}
    at.selectbox(key="view_colour").set_value("year").run()
    assert any(t["marker"].get("showscale") for t in map_spec(at)["data"])


# --------------------------------------------------------------------------- search


def test_semantic_search_highlights_nearest_papers(maps_dir, fake_query_model):
    at = run_app()
    figure = map_spec(at)
    at.text_input(key="view_q").input("robot gripper grasping torque actuator").run()
    assert_ok(at)
    rows = search_rows(at)
    assert len(rows) == 10
    ids = load_map(maps_dir / "small").documents["id"].to_numpy()
    found = [ids[r] for r in rows]
    assert all(i.startswith("robotics-") for i in found), found
    assert map_spec(at) == figure  # marked by the browser: the figure is not sent again
    assert overlay_data(at)["state"]["hits"] == []  # by the search's own marks, not twice
    zoom = overlay_data(at, "view_search_marks")["zoom"]
    docs = load_map(maps_dir / "small").documents
    x0, x1, y0, y1 = zoom["box"]  # the map goes to the results
    assert all(x0 <= docs["x"].iat[r] <= x1 and y0 <= docs["y"].iat[r] <= y1 for r in rows)
    table = at.dataframe[0].value
    assert len(table) == 10 and table["similarity"].between(-1, 1).all()
    hits = [b.label for b in at.button if b.key and b.key.startswith("view_hit_")]
    assert len(hits) == 10 and hits[0].startswith("1. ") and "★" in hits[0]
    assert at.query_params["q"] in ("robot gripper grasping torque actuator",
                                    ["robot gripper grasping torque actuator"])
    at.selectbox(key="view_k").set_value(5).run()
    assert len(search_rows(at)) == 5


def test_search_embeds_queries_with_the_maps_backend(maps_dir, monkeypatch):
    """Queries go through the backend the map's papers were embedded with (manifest), made
    by the backends' registry."""
    from pipeline.embed.registry import BACKENDS, Backend

    asked = []
    monkeypatch.setitem(BACKENDS, "torch-bf16", Backend(
        "records what it is asked to run", lambda model, **_: asked.append(model) or FakeEmbedder(),
        lambda device: True))
    manifest_path = maps_dir / "small" / "manifest.json"
    original = manifest_path.read_text()
    manifest = json.loads(original)
    manifest["model"]["backend"] = "torch-bf16"
    write_manifest(manifest_path.parent, manifest)
    try:
        at = run_app()
        at.text_input(key="view_q").input("robot gripper").run()
    finally:
        manifest_path.write_text(original)  # the map is shared by the session's tests
    assert_ok(at)
    assert asked == [manifest["model"]["name"]], asked  # the map's model, on its backend


def test_search_within_filtered_view(maps_dir, fake_query_model):
    small = load_map(maps_dir / "small")
    theme = int(small.documents["theme"].iloc[0])
    at = run_app(theme=str(theme), q="robot gripper grasping")
    rows = search_rows(at)
    themes = small.documents["theme"].to_numpy()
    assert rows and all(themes[r] == theme for r in rows)


def test_map_opens_when_its_model_cannot_be_loaded(maps_dir):
    # The test map names "fake-hash-embedder", which is no installed model.
    at = run_app(q="robots")
    assert not at.exception
    assert n_points(map_spec(at)) == 100
    warning = " ".join(w.value for w in at.warning)
    assert "unavailable" in warning and "fake" in warning
    assert search_rows(at) == []


# --------------------------------------------------------------------------- paper panel, URL


def test_paper_panel_from_url_with_neighbours(maps_dir):
    small = load_map(maps_dir / "small")
    paper = small.documents.iloc[3]
    at = run_app(paper=str(paper["id"]))
    assert_ok(at)
    shown = texts(at)
    assert paper["title"].split()[0] in shown
    # The abstract as the panel writes it: LaTeX made readable, escaped for Markdown.
    assert escape(readable(paper["abstract"]), "markdown")[:80] in shown
    neighbours = [b for b in at.button if b.key and b.key.startswith("view_nb_")]
    assert len(neighbours) == 10
    assert any(t.get("name") == "open paper" for t in map_spec(at)["data"])
    neighbours[0].click().run()
    assert_ok(at)
    assert at.query_params["paper"] not in (str(paper["id"]), [str(paper["id"])])
    at.button(key="view_close_paper").click().run()
    assert "paper" not in at.query_params


def test_query_params_restore_the_view(maps_dir, fake_query_model):
    small = load_map(maps_dir / "small")
    docs = small.documents
    theme = int(docs["theme"].iloc[60])
    cluster = int(docs.loc[(docs["theme"] == theme) & (docs["cluster"] >= 0), "cluster"].iloc[0])
    paper = str(docs.loc[docs["cluster"] == cluster, "id"].iloc[0])
    at = run_app(theme=str(theme), cluster=str(cluster), paper=paper, q="robot arm",
                 find="study")
    assert_ok(at)
    assert at.multiselect(key="view_themes").value == [theme]
    assert at.multiselect(key="view_clusters").value == [cluster]
    assert at.text_input(key="view_q").value == "robot arm"
    assert at.text_input(key="view_find").value == "study"
    expected = (docs["cluster"] == cluster) & (docs["title"] + " " + docs["abstract"]).str.lower(
    ).str.contains("study")
    assert shown_count(at) == int(expected.sum())
    assert any(t.get("name") == "open paper" for t in map_spec(at)["data"])
    assert search_rows(at)


def test_garbage_url_values_are_ignored(maps_dir):
    at = run_app(theme="x,999,<script>", cluster="-5", paper="no-such-paper",
                 map="../../etc")
    assert not at.exception
    assert n_points(map_spec(at)) == 100
    assert any("outside the maps folder" in w.value for w in at.warning)


def test_no_map_explains_how_to_build_one(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(tmp_path))
    at = run_app()
    assert not at.exception
    assert "make run" in at.info[0].value


def test_reading_list_button_adds_the_open_paper(small_map, tmp_path, monkeypatch):
    copy = tmp_path / "maps" / "small"
    shutil.copytree(small_map, copy)
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(copy.parent))
    paper = str(load_map(copy).documents["id"].iloc[0])
    at = run_app(paper=paper)
    at.button(key="view_rl_add").click().run()
    assert_ok(at)
    assert ReadingList(copy).ids() == [paper]
    at.button(key="view_rl_remove").click().run()
    assert ReadingList(copy).ids() == []


def test_selection_events_are_interpreted():
    click = {"selection": {"points": [{"customdata": 7}], "box": [], "lasso": []}}
    assert selected_rows_from_event(click) == ("click", [7])
    listed = {"selection": {"points": [{"customdata": [8]}], "box": [], "lasso": []}}
    assert selected_rows_from_event(listed) == ("click", [8])
    area = {"selection": {"points": [{"customdata": 1}, {"customdata": 2}, {"customdata": 2}],
                          "box": [{"x": [0, 1]}], "lasso": []}}
    assert selected_rows_from_event(area) == ("area", [1, 2])
    assert selected_rows_from_event({"selection": {"points": []}}) == ("none", [])
    assert selected_rows_from_event(None) == ("none", [])


# --------------------------------------------------------------------------- hostile text


def test_hostile_text_reaches_the_page_escaped(hostile_map, monkeypatch):
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(hostile_map.parent))
    for name in PAYLOADS:
        at = run_app(paper=f"hostile-{name}")
        assert_ok(at)
        shown = texts(at)
        assert "<script" not in shown and "<img" not in shown and "<svg" not in shown
        assert "](" not in shown and "$x" not in shown and ":red[" not in shown
        assert f"title {name}" in shown  # the paper panel is open on it
        spec = json.dumps(map_spec(at))
        assert "<script" not in spec and "<img" not in spec and "<a href" not in spec
    hover = json.dumps(map_spec(at)["data"])
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in hover


def test_map_picker_switches_maps_and_forgets_the_view(small_map, tmp_path, monkeypatch):
    root = tmp_path / "maps"
    shutil.copytree(small_map, root / "alpha")
    shutil.copytree(small_map, root / "beta")
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(root))
    theme = int(load_map(root / "alpha").documents["theme"].iloc[0])
    at = run_app(map="alpha", theme=str(theme))
    assert_ok(at)
    assert shown_count(at) < 100
    picker = at.selectbox(key="map_picker")
    assert [o for o in picker.options] == ["alpha", "beta"]
    picker.set_value(str((root / "beta").resolve())).run()
    assert_ok(at)
    assert at.query_params.get("map") in ("beta", ["beta"])
    assert "theme" not in at.query_params
    assert shown_count(at) == 100


def test_a_broken_map_is_reported_not_crashed(small_map, tmp_path, monkeypatch):
    root = tmp_path / "maps"
    shutil.copytree(small_map, root / "good")
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(root))
    at = run_app(map="broken")
    assert not at.exception
    assert "rebuild the map" in at.error[0].value
    assert at.selectbox(key="map_picker").options == ["broken", "good"]


# --------------------------------------------------------------------------- big maps, reading list


def test_reading_list_papers_are_starred_on_the_main_map(small_map, tmp_path, monkeypatch):
    copy = tmp_path / "small"
    shutil.copytree(small_map, copy)
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(tmp_path))
    at = run_app()
    assert_ok(at)
    assert not any(t.get("name") == "reading list" for t in map_spec(at)["data"])
    ids = load_map(copy).documents["id"].astype(str).tolist()[:3]
    ReadingList(copy).add(ids)
    at.run()
    stars = [t for t in map_spec(at)["data"] if t.get("name") == "reading list"]
    assert len(stars) == 1 and trace_length(stars[0]) == 3
    assert n_points(map_spec(at)) == 100  # the stars are drawn over the points, not instead


def test_big_view_opens_on_an_overview_that_fills_in_when_filtered(maps_dir, monkeypatch):
    monkeypatch.setenv("TOPICMAP_OVERVIEW_POINTS", "30")
    small = load_map(maps_dir / "small")
    at = run_app()
    assert_ok(at)
    assert n_points(map_spec(at)) == 30
    assert any("Overview: 30 of the 100 papers" in i.value for i in at.info)
    # Every topic is still named although only a sample is drawn.
    assert len(overlay_data(at)["payload"]["labels"]) == len(small.clusters)
    # A cluster is drawn whole, over the same sample (kept, dimmed, for context).
    sizes = small.documents["cluster"].value_counts().drop(-1, errors="ignore")
    cluster = int(sizes.index[0])
    at.multiselect(key="view_clusters").set_value([cluster]).run()
    assert_ok(at)
    spec = map_spec(at)
    drawn = {int(r) for t in spec["data"] if t.get("name") not in ("search results",)
             for r in np.frombuffer(base64.b64decode(t["customdata"]["bdata"]), "i4")}
    members = set(np.flatnonzero(small.documents["cluster"].to_numpy() == cluster).tolist())
    assert members <= drawn and len(drawn) >= 30
    # Back to the whole map, with every paper drawn on request.
    at.multiselect(key="view_clusters").set_value([]).run()
    at.checkbox(key="view_all_points").check().run()
    assert_ok(at)
    assert n_points(map_spec(at)) == 100


def test_the_map_path_is_resolved_and_stamped_once_per_run(maps_dir, monkeypatch):
    """The map context takes the open map's path and its manifest's stamp once per run;
    the cached loaders key on them (issue 18)."""
    from ui.core.paths import MapRef

    made = []
    of = MapRef.of.__func__

    def counted(cls, path):
        made.append(path)
        return of(cls, path)

    monkeypatch.setattr(MapRef, "of", classmethod(counted))
    for runs in (1, 2):
        at = run_app(paper=str(load_map(maps_dir / "small").documents["id"].iat[3]))
        assert_ok(at)
        assert len(made) == runs, made
