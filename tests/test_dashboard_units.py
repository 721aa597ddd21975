"""Dashboard building blocks without a running app: escaping, filters, search, figures."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from pipeline import load_map
from pipeline.errors import MapFormatError
from ui.app.state import cli_map_arg, int_list, overview_limit
from ui.core.drill import group_choices, parse_trail, trail_param
from ui.core.escape import clean, escape, safe_url, wrap_html
from ui.core.events import selection_region
from ui.core.paths import MapRef, map_by_name, resolve_cli_map
from ui.core.view import (
    OVERVIEW_POINTS,
    Filters,
    colour_columns,
    filter_mask,
    label_positions,
    nearest_neighbours,
    overview_rows,
    rows_in_region,
    sample_priority,
    search_words,
    semantic_search,
    year_bounds,
)
from ui.figures.map import (
    NOISE_COLOUR,
    SVG_POINTS,
    cluster_colours,
    hover_texts,
    map_figure,
    standalone_html,
)
from ui.figures.readinglist import add_reading_list
from ui.figures.topics import terms_figure, topics_treemap

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=window.__pwned=1>",
    '<a href="javascript:window.__pwned=1">click</a>',
    "<b>bold</b> & <i>it</i> \"quoted\" 'single'",
]


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_escape_leaves_no_tag(payload):
    out = escape(payload, "html")
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    # Plotly and browsers decode these references back to the original characters.
    decoded = re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), out)
    decoded = decoded.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert decoded == payload


def test_html_escape_escapes_ampersand_first():
    assert escape("&lt;script&gt;", "html") == "&amp;lt;script&amp;gt;"


@pytest.mark.parametrize("text", [
    "[click](javascript:alert(1))", "![img](http://tracker.example/x.png)", "$x^2$",
    ":red[alert]", "**bold** _it_ `code`", "# heading", "1. list", "<script>x</script>",
])
def test_markdown_escape_leaves_no_syntax(text):
    out = escape(text, "markdown")
    assert not re.search(r"[\[\]()!$:*_`#<>\\]", out.replace("&#", "")), out
    assert re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), out).replace(
        "&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


def test_markdown_escape_flattens_indentation_and_keeps_paragraphs():
    out = escape("first line\n    indented code?\n\n\nsecond paragraph", "markdown")
    assert out.split("\n\n") == ["first line indented code&#63;", "second paragraph"]


def test_clean_removes_controls_and_bidi_but_keeps_text():
    text = "a\x00b\x07c\u202ed\u2066e\r\nf 🙂 עברית \u200d"
    out = clean(text)
    assert out == "abcde\nf 🙂 עברית \u200d"
    assert clean(None) == "" and clean(float("nan")) == ""
    assert clean("\ud800lone") == "?lone"


def test_limit_cuts_before_escaping():
    out = escape("<" * 50, "html", limit=10)
    assert out.endswith("…") and out.count("&lt;") == 9


def test_wrap_html_breaks_lines_without_splitting_references():
    out = wrap_html("<tag> " * 40, width=20)
    assert "<br>" in out
    for line in out.split("<br>"):
        assert "<" not in line and re.fullmatch(r"(&lt;tag&gt;\s?)+", line.strip())


@pytest.mark.parametrize("url,ok", [
    ("https://arxiv.org/abs/1234", True), ("http://x.org", True),
    ("javascript:alert(1)", False), ("JaVaScRiPt:alert(1)", False), ("data:text/html,x", False),
    ("//evil.example", False), ("https://a b", False), ("", False), (None, False),
])
def test_safe_url(url, ok):
    assert (safe_url(url) is not None) == ok


# --------------------------------------------------------------------------- filters and search


@pytest.fixture(scope="module")
def small(small_map):
    return load_map(small_map)


def test_filters_narrow_the_view(small):
    docs = small.documents
    everything = filter_mask(docs, Filters())
    assert everything.all()
    theme = int(docs["theme"].iloc[0])
    by_theme = filter_mask(docs, Filters(themes=(theme,)))
    assert by_theme.sum() == (docs["theme"] == theme).sum() < len(docs)
    cluster = int(docs.loc[docs["cluster"] >= 0, "cluster"].iloc[0])
    by_cluster = filter_mask(docs, Filters(clusters=(cluster,)))
    assert (docs.loc[by_cluster, "cluster"] == cluster).all()
    low, _high = year_bounds(docs)
    by_year = filter_mask(docs, Filters(years=(low, low + 2)))
    assert 0 < by_year.sum() < len(docs) and docs.loc[by_year, "year"].max() <= low + 2
    by_text = filter_mask(docs, Filters(text="gripper"))
    assert 0 < by_text.sum() < len(docs)
    text = (docs["title"] + " " + docs["abstract"]).str.lower()
    assert text[by_text].str.contains("gripper").all()
    assert not text[~by_text].str.contains("gripper").any()
    strict = filter_mask(docs, Filters(min_probability=0.99, show_noise=False))
    assert (docs.loc[strict, "probability"] >= 0.99).all()
    assert not (docs.loc[strict, "cluster"] == -1).any()


def test_search_words_keep_quoted_phrases():
    assert search_words('Graph "neural network"  x') == ["graph", "neural network", "x"]
    assert search_words("") == []


def test_semantic_search_and_neighbours(small):
    emb = np.asarray(small.embeddings)
    rows, scores = semantic_search(emb, emb[5], k=3)
    assert rows[0] == 5 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    subset = np.array([10, 20, 30, 40])
    rows, _ = semantic_search(emb, emb[5], k=10, rows=subset)
    assert sorted(rows.tolist()) == subset.tolist()
    neighbours, _sims = nearest_neighbours(emb, 5, k=10)
    assert len(neighbours) == 10 and 5 not in neighbours
    topic = small.documents["id"].iloc[5].split("-")[0]
    same = [small.documents["id"].iloc[r].startswith(topic) for r in neighbours]
    assert sum(same) >= 8  # the fake embedder keeps topics apart


def test_colour_columns_offer_metadata(small):
    cols = colour_columns(small.documents)
    assert "year" in cols and "venue" in cols
    assert "abstract" not in cols and "x" not in cols


def test_label_positions_follow_the_view(small):
    docs = small.documents
    every = label_positions(docs, small.clusters, "theme")
    assert set(every["id"]) == set(docs["theme"])
    one = int(docs["cluster"].max())
    part = docs[docs["cluster"] == one]
    labels = label_positions(part, small.clusters, "cluster")
    assert labels["id"].tolist() == [one]
    assert labels["x"].iloc[0] == pytest.approx(part["x"].median())


# --------------------------------------------------------------------------- figures


def _spec(fig) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


def test_map_figure_is_compact_with_noise_behind(small):
    docs = small.documents.copy()
    docs.loc[docs.index[:7], "cluster"] = -1  # make sure there is noise
    names = dict(zip(small.level("cluster")["id"], small.level("cluster")["label"], strict=True))
    themes = dict(zip(small.level("theme")["id"], small.level("theme")["label"], strict=True))
    hover = hover_texts(docs, names, themes)
    fig = map_figure(docs, hover=hover, labels=label_positions(docs, small.clusters, "theme"))
    spec = _spec(fig)
    traces = spec["data"]
    assert all(t["type"] == "scatter" for t in traces)  # SVG: a small map
    assert traces[0]["name"] == "unclustered" and traces[0]["marker"]["color"] == NOISE_COLOUR
    assert traces[0]["marker"]["size"] < traces[1]["marker"]["size"]
    # Coordinates and row ids travel as binary float32 / int32.
    assert traces[1]["x"]["dtype"] == "f4" and traces[1]["customdata"]["dtype"] == "i4"
    total = sum(len(np.frombuffer(base64.b64decode(t["x"]["bdata"]), "f4"))
                for t in traces)
    assert total == len(docs)
    assert len(spec["layout"]["annotations"]) == docs["theme"].nunique()
    assert len(json.dumps(spec["layout"])) < 6000
    # Each topic's trace names its node, for the names that follow the zoom.
    assert {t.get("meta") for t in traces[1:]} == {f"cluster:{c}" for c in
                                                    docs.loc[docs["cluster"] >= 0, "cluster"]}


def test_big_views_are_drawn_with_webgl_small_ones_in_svg(small):
    """A WebGL canvas scrolled partly out of the window goes blank under software
    compositing; small views are drawn in SVG, which never does (issue 20, item 10)."""
    docs = small.documents
    hover = np.array(["h"] * (SVG_POINTS + 1), dtype=object)
    big = pd.concat([docs] * (SVG_POINTS // len(docs) + 1), ignore_index=True)
    for view, kind in ((docs, "scatter"), (big.iloc[:SVG_POINTS], "scatter"),
                       (big.iloc[:SVG_POINTS + 1], "scattergl")):
        fig = map_figure(view, hover=hover, selected=int(view.index[0]))
        add_reading_list(fig, view, hover, [int(view.index[1])])
        assert {t["type"] for t in _spec(fig)["data"]} == {kind}, len(view)


def test_hover_text_is_escaped_and_short():
    docs = pd.DataFrame({
        "title": [PAYLOADS[0]], "abstract": [PAYLOADS[1] + " word" * 200],
        "authors": [PAYLOADS[2]], "year": [2020.0], "cluster": [0], "theme": [0],
    })
    (text,) = hover_texts(docs, {0: PAYLOADS[3]}, {0: "t"})
    markup = re.findall(r"<[^>]*>", text)
    assert set(markup) <= {"<b>", "</b>", "<br>", "<i>", "</i>"}
    assert "&lt;script&gt;" in text and "&lt;img src=x onerror=window.__pwned=1&gt;" in text
    assert len(text) < 600


def test_map_figure_colours_by_metadata(small):
    docs = small.documents
    hover = np.array(["h"] * len(docs), dtype=object)
    numeric = _spec(map_figure(docs, hover=hover, colour_by="year"))
    assert any(t["marker"].get("showscale") for t in numeric["data"])
    categories = _spec(map_figure(docs, hover=hover, colour_by="venue"))
    names = {t["name"] for t in categories["data"]}
    assert {"VISION", "LANGUAGE", "ROBOTICS", "BIOLOGY"} <= names
    with pytest.raises(ValueError):
        map_figure(docs, hover=hover, colour_by="nope")


def test_map_figure_highlights_and_selection(small):
    docs = small.documents
    hover = np.array(["h"] * len(docs), dtype=object)
    spec = _spec(map_figure(docs, hover=hover, highlight=[3, 4], highlight_scores=[0.9, 0.8],
                            selected=7))
    search = [t for t in spec["data"] if t["name"] == "search results"]
    assert len(search) == 1 and search[0]["text"] == ["1", "2"]
    assert "similarity 0.90" in search[0]["hovertext"][0]
    assert any(t["name"] == "open paper" for t in spec["data"])
    empty = _spec(map_figure(docs.iloc[0:0], hover=hover))
    assert "No paper matches" in empty["layout"]["annotations"][0]["text"]
    # Only the dashboard's map selects on click (an exported page keeps Plotly's default).
    assert "clickmode" not in spec["layout"]
    clickable = _spec(map_figure(docs, hover=hover, clickable=True))
    assert clickable["layout"]["clickmode"] == "event+select"


def test_cluster_colours_are_distinct_within_a_theme():
    colours = cluster_colours({0: 0, 1: 0, 2: 0, 3: 1, 4: 1})
    assert len(set(colours.values())) == 5


def test_terms_figure_and_treemap_escape_labels(small):
    fig = _spec(terms_figure(["<b>x</b>", "y"], [0.5, 0.2]))
    assert fig["data"][0]["y"] == ["y", "&lt;b&gt;x&lt;/b&gt;"]
    clusters = small.clusters.copy()
    clusters.loc[0, "label"] = PAYLOADS[0]
    tree = _spec(topics_treemap(clusters))["data"][0]
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in tree["labels"]
    assert not any("<script" in label for label in tree["labels"])


def test_standalone_html_is_offline_and_escaped(small):
    docs = small.documents.copy()
    docs.loc[0, "title"] = PAYLOADS[0]
    names = dict(zip(small.level("cluster")["id"], small.level("cluster")["label"], strict=True))
    themes = dict(zip(small.level("theme")["id"], small.level("theme")["label"], strict=True))
    fig = map_figure(docs, hover=hover_texts(docs, names, themes))
    html = standalone_html(fig, title="</title><script>window.__pwned=1</script>")
    assert "<script>window.__pwned" not in html
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=[\"']https?:", html)
    assert "Plotly" in html and len(html) > 1_000_000  # plotly.js is embedded


# --------------------------------------------------------------------------- small helpers


def test_trail_round_trip_and_bad_steps():
    trail = (("theme", 2), ("cluster", 5))
    assert parse_trail(trail_param(trail)) == trail
    assert parse_trail("theme:1,evil:2,cluster:3") == (("theme", 1),)
    assert parse_trail("theme:-1") == () and parse_trail("") == ()


def test_group_choices_are_plain_strings(small):
    choices = group_choices(small.clusters)
    assert all(parse_trail(k) for k in choices)
    assert next(iter(choices)).startswith("theme:")


def test_int_list_ignores_garbage():
    assert int_list("1, 3,x,,-1,99999999999") == [1, 3, -1]


def test_cli_map_arg_forms():
    assert cli_map_arg(["--map", "maps/x"]) == "maps/x"
    assert cli_map_arg(["--map=maps/y"]) == "maps/y"
    assert cli_map_arg(["-q"]) is None


def test_map_names_cannot_escape_the_maps_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(tmp_path))
    assert map_by_name("good") == (tmp_path / "good").resolve()
    for bad in ["../etc", "/etc/passwd", "a/../../b", "~", "", "."]:
        with pytest.raises(MapFormatError, match=r"maps folder|not a map name"):
            map_by_name(bad)


def test_cli_map_resolves_against_the_project_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = resolve_cli_map("sample/papers.csv")
    assert project.is_file()  # found relative to the project folder, not /tmp


def test_theme_label_sits_on_its_largest_cluster(small):
    docs = small.documents
    labels = label_positions(docs, small.clusters, "theme").set_index("id")
    for theme, row in labels.iterrows():
        members = docs[(docs["theme"] == theme) & (docs["cluster"] >= 0)]
        counts = members["cluster"].value_counts()
        largest = min(counts.index, key=lambda c: (-counts[c], c))  # ties: lowest id
        part = members[members["cluster"] == largest]
        assert row["x"] == pytest.approx(part["x"].median())
        assert row["y"] == pytest.approx(part["y"].median())
        assert row["size"] == (docs["theme"] == theme).sum()


@pytest.mark.parametrize("n", [12, 60, 600, 5000])
def test_drill_config_suits_small_subsets(small, n):
    from ui.app.loaders import drill_config

    manifest = dict(small.manifest)
    manifest["config"] = dict(manifest["config"])
    manifest["config"]["cluster"] = dict(manifest["config"]["cluster"], min_cluster_size=80)
    config = drill_config(manifest, n)
    assert config.cluster.min_cluster_size is None  # scales with the subset again
    assert 5 <= config.reduce.n_neighbors <= max(5, n // 6)
    assert config.embed.embeddings_path is None


def test_download_file_names_are_safe():
    from ui.app.exports import file_stem

    assert file_stem("../../etc/passwd") == "etc_passwd"
    assert file_stem("my map <script>") == "my_map_script"
    assert file_stem("...") == "papers"


# --------------------------------------------------------------------------- overview of big maps


def test_sample_priority_is_a_fixed_permutation():
    a, b = sample_priority(1000), sample_priority(1000)
    assert np.array_equal(a, b)
    assert sorted(a.tolist()) == list(range(1000))
    assert not np.array_equal(a, np.arange(1000))


def test_overview_rows_sample_is_nested_so_filtering_only_adds_points():
    priority = sample_priority(5000, seed=3)
    everything = np.arange(5000)
    wide = overview_rows(everything, priority, limit=400)
    assert len(wide) == 400 and np.all(np.diff(wide) > 0)
    narrow_view = everything[everything % 3 == 0]  # 1,667 papers, still over the limit
    narrow = overview_rows(narrow_view, priority, limit=400)
    assert len(narrow) == 400 and set(narrow) <= set(narrow_view)
    assert set(wide) & set(narrow_view) <= set(narrow)
    small_view = everything[:250]
    assert np.array_equal(overview_rows(small_view, priority, limit=400), small_view)
    assert np.array_equal(overview_rows(everything, priority, limit=0), everything)


def test_rows_in_region_box_and_lasso():
    view = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 0.2], "y": [0.0, 1.0, 2.0, 3.0, 2.9]},
                        index=[10, 11, 12, 13, 14])
    assert rows_in_region(view, box=(0.5, 2.5, 0.5, 2.5)).tolist() == [11, 12]
    assert rows_in_region(view, box=(2.5, 0.5, 2.5, 0.5)).tolist() == [11, 12]  # reversed
    triangle = (np.array([-1.0, 4.0, -1.0]), np.array([-1.0, -1.0, 4.0]))  # below x + y = 3
    assert rows_in_region(view, polygon=triangle).tolist() == [10, 11]
    assert rows_in_region(view).tolist() == []


def test_selection_region_reads_box_and_lasso_events():
    box = {"selection": {"points": [], "box": [{"x": [1, 2], "y": [3, 4]}], "lasso": []}}
    assert selection_region(box) == {"box": (1.0, 2.0, 3.0, 4.0)}
    lasso = {"selection": {"points": [], "box": [],
                           "lasso": [{"x": [0, 1, 0], "y": [0, 0, 1]}]}}
    xs, ys = selection_region(lasso)["polygon"]
    assert xs.tolist() == [0, 1, 0] and ys.tolist() == [0, 0, 1]
    assert selection_region({"selection": {"points": [], "box": [{"x": "junk"}]}}) == {}
    assert selection_region(None) == {}


def test_overview_limit_from_arguments_then_environment(monkeypatch):
    monkeypatch.delenv("TOPICMAP_OVERVIEW_POINTS", raising=False)
    assert overview_limit([]) == OVERVIEW_POINTS
    assert overview_limit(["--map", "m", "--overview-points", "5,000"]) == 5000
    assert overview_limit(["--overview-points=0"]) == 0
    monkeypatch.setenv("TOPICMAP_OVERVIEW_POINTS", "123")
    assert overview_limit([]) == 123
    monkeypatch.setenv("TOPICMAP_OVERVIEW_POINTS", "lots")
    assert overview_limit([]) == OVERVIEW_POINTS


def test_area_selection_on_an_overview_takes_every_paper_in_the_region(monkeypatch):
    import ui.app.paper as widgets

    docs = pd.DataFrame({"id": [f"p{i}" for i in range(6)],
                         "x": [0.0, 1.0, 2.0, 3.0, 1.5, 9.0], "y": [0.0] * 6})
    event = {"selection": {"points": [{"customdata": [1]}],  # only one drawn point in the box
                           "box": [{"x": [0.5, 2.5], "y": [-1, 1]}], "lasso": []}}
    session: dict = {widgets.CHART_KEY: event}
    monkeypatch.setattr(widgets.st, "session_state", session)
    ids = docs["id"].to_numpy(dtype=object)
    widgets.map_select_callback(ids)()
    assert session[widgets.SELECTION_KEY] == [1]
    widgets.map_select_callback(ids, sampled_view=docs.iloc[:5])()
    assert sorted(session[widgets.SELECTION_KEY]) == [1, 2, 4]


def test_a_point_whose_customdata_arrives_as_an_object_is_read():
    """Issue 13, item 3: a click on the trends chart sends customdata as {"0": id, "1": n}."""
    from ui.core.events import clicked_id, point_id

    event = {"selection": {"points": [{"customdata": {"0": 4, "1": 35}}]}}
    assert clicked_id(event) == 4
    assert point_id({"customdata": {"1": 35, "0": 2}}) == 2
    assert point_id({"customdata": {"1": 35}}) is None
    assert point_id({"customdata": {"0": "x"}}) is None
    assert point_id({"customdata": 7.0}) == 7 and point_id({"customdata": True}) is None


def test_the_legend_sits_beside_the_map_not_over_it():
    """Issue 13, item 7: colouring by a text column put the legend over points and names."""
    view = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5], "cluster": [0, 0, 1],
                         "theme": [0, 0, 0], "venue": ["A", "B", "A"]})
    layout = map_figure(view, hover=np.array(["a", "b", "c"], dtype=object),
                        colour_by="venue").to_dict()["layout"]
    assert layout["showlegend"] is True
    assert layout["legend"]["x"] >= 1 and layout["legend"]["xanchor"] == "left"


@pytest.mark.parametrize(("text", "shown"), [
    (r"Sorting in $\Theta(n \log n)$ time", "Sorting in Θ(n log n) time"),
    (r"We prove \emph{tight} bounds of $O(n^2)$ with $\alpha \leq 1$.",
     "We prove tight bounds of O(n²) with α ≤ 1."),
    (r"$x_i^2$, $\frac{a+b}{2}$, $\sqrt{n}$, $\mathbb{R}^d$, $\tilde{O}(\sqrt{T})$",
     "xᵢ², (a+b)/2, √n, ℝ^d, Õ(√T)"),
    (r"$$\int_0^1 x\,dx$$ and \textbf{bold} \cite{key}", "∫₀¹ x dx and bold […]"),
    ("costs $5 and $10", "costs $5 and $10"),  # money, not maths
    (r"a \$5 fee and $x$", "a $5 fee and x"),
    (r"$\href{javascript:alert(1)}{click}$", "click"),  # a link's text, never its address
    (r"C:\Users and \n", r"C:\Users and \n"),  # not LaTeX: left alone
    ("<b>no maths</b>", "<b>no maths</b>"),
])
def test_latex_reads_as_plain_text(text, shown):
    """Issue 13, item 10: raw LaTeX ($\\Theta(1)$, \\emph{...}) showed as markup."""
    from ui.core.latex import readable

    assert readable(text) == shown


def test_hover_and_tables_show_latex_readably():
    from ui.app.loaders import build_assets
    from ui.app.tables import papers_frame

    docs = pd.DataFrame({"id": ["a"], "title": [r"Bounds of $\Theta(n \log n)$"],
                         "abstract": [r"\emph{Tight} for $\alpha \leq 1$."], "year": [2020],
                         "authors": ["A"], "cluster": [0], "theme": [0], "x": [0.0],
                         "y": [0.0]})
    hover = hover_texts(docs, {0: "c"}, {0: "t"})[0]
    assert "Θ(n log n)" in hover and "α ≤ 1" in hover and "\\" not in hover
    clusters = pd.DataFrame({"level": ["cluster", "theme"], "id": [0, 0], "parent": [0, -1],
                             "label": ["c", "t"], "size": [1, 1]})
    table = papers_frame(docs, build_assets(docs, clusters))
    assert table["title"].iloc[0] == "Bounds of Θ(n log n)"
    assert table["abstract"].iloc[0] == "Tight for α ≤ 1."


def test_levels_come_from_the_clusters_table():
    """Labels, drill-down choices and trails follow the map's levels (format v2 adds layers
    between clusters and themes), broadest first."""
    from ui.core.view import label_positions, level_title, map_levels

    clusters = pd.DataFrame({
        "layer": [0, 0, 1, 2], "level": ["cluster", "cluster", "layer_1", "theme"],
        "id": [0, 1, 0, 0], "parent": [0, 0, 0, -1], "label": ["a", "b", "ab", "top"],
        "size": [2, 1, 3, 3]})
    assert map_levels(clusters) == ["theme", "layer_1", "cluster"]
    assert map_levels(clusters.drop(columns="layer").iloc[[0, 3]]) == ["theme", "cluster"]
    assert level_title("layer_1") == "Layer 1" and level_title("theme") == "Themes"
    assert list(group_choices(clusters)) == ["theme:0", "layer_1:0", "cluster:0", "cluster:1"]
    assert parse_trail("theme:0,layer_1:0,cluster:1") == (("theme", 0), ("layer_1", 0),
                                                          ("cluster", 1))
    view = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 2.0], "cluster": [0, 0, 1],
                         "layer_1": [0, 0, 0], "theme": [0, 0, 0]})
    assert label_positions(view, clusters, "layer_1")["label"].tolist() == ["ab"]


def test_a_remapped_topic_is_shown_without_asking_only_for_the_map_it_was_made_from(
        small_map, tmp_path, monkeypatch):
    """A topic re-mapped once is shown again without asking; after the map is rebuilt, the
    re-map is asked for again (it would run UMAP on the new map)."""
    import shutil

    import ui.app.loaders as loaders
    from pipeline.mapdir.store import write_manifest

    path = tmp_path / "small"
    shutil.copytree(small_map, path)
    monkeypatch.setattr(loaders, "map_papers", lambda base, embeddings, config: (
        base.assign(x=0.0, y=0.0, cluster=0, theme=0), load_map(path).clusters))
    monkeypatch.setattr(loaders, "build_assets", lambda documents, clusters: None)
    theme = int(load_map(path).level("theme").sort_values("size").iloc[-1]["id"])
    key = f"theme:{theme}"
    assert not loaders.remapped_if_cached(MapRef.of(path), key)
    loaders.remapped(MapRef.of(path), key)
    assert loaders.remapped_if_cached(MapRef.of(path), key)
    manifest = load_map(path).manifest
    manifest["rebuilt"] = True  # as a rebuild rewrites it
    write_manifest(path, manifest)
    assert not loaders.remapped_if_cached(MapRef.of(path), key)
