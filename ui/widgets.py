"""Streamlit pieces the pages share: map picker, filters, paper panel, tables, downloads.

Everything here renders data text through :func:`ui.escape.escape`. Session
keys of a map's view start with ``view_`` so switching maps forgets them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from pipeline import TopicMap
from pipeline.errors import PipelineError
from pipeline.export import to_bibtex, to_csv, to_ris
from pipeline.readinglist import ReadingList

from . import state
from .escape import escape, safe_url
from .loaders import MapAssets, embed_query, load_topic_map, query_model
from .view import (
    Filters,
    colour_columns,
    nearest_neighbours,
    overview_view,
    rows_in_region,
    semantic_search,
    year_bounds,
)

PAPER_KEY = "view_paper"
SELECTION_KEY = "view_selection"
CHART_KEY = "map_chart"
ABSTRACT_PANEL_CHARS = 20000
TABLE_ABSTRACT_CHARS = 600
LABEL_CHOICES = {"themes": "Themes", "clusters": "Clusters", "none": "None"}
COLOUR_FIXED = {"cluster": "Cluster", "theme": "Theme"}


# --------------------------------------------------------------------------- page set-up

_STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; }
</style>"""


def page_style() -> None:
    """Tighter top margin so the map is visible without scrolling (static CSS, no data)."""
    st.html(_STYLE)


# --------------------------------------------------------------------------- map picking


def open_current_map() -> tuple[TopicMap, Path]:
    """The map this session shows, loaded; stops the page with a message if there is none."""
    page_style()
    path, warning = state.current_map_path()
    if warning:
        st.warning(escape(warning, "markdown"))
    if path is None:
        st.info(
            "No map found yet. Build the bundled sample with `make run`, or your own with "
            "`python -m pipeline build papers.csv --out maps/NAME` and open it with "
            "`streamlit run dashboard.py -- --map maps/NAME`."
        )
        st.stop()
    try:
        topic_map = load_topic_map(path)
    except PipelineError as exc:
        st.error(escape(str(exc), "markdown"))
        map_picker(path)
        st.stop()
    state.sync_map_param(path)
    return topic_map, path


def map_picker(current: Path | None) -> None:
    """Sidebar select box listing the maps under ``maps/`` (and the open one)."""
    choices = state.map_choices(current)
    if len(choices) <= 1:
        return
    names = [str(p.resolve()) for p in choices]
    current_name = str(Path(current).resolve()) if current else names[0]
    index = names.index(current_name) if current_name in names else 0

    def _switch() -> None:
        state.choose_map(st.session_state["map_picker"])

    st.sidebar.selectbox("Map", names, index=index, key="map_picker", on_change=_switch,
                         format_func=lambda p: escape(Path(p).name, "plain"))


# --------------------------------------------------------------------------- filters


def sidebar_filters(topic_map: TopicMap, assets: MapAssets) -> tuple[Filters, str, str]:
    """The filter, colour and label controls; returns (filters, colour_by, label level).

    Themes, clusters and the text filter are seeded from the URL and written back.
    """
    docs = topic_map.documents
    sidebar = st.sidebar
    theme_options = sorted(assets.theme_names, key=lambda t: (-assets.theme_sizes.get(t, 0), t))
    state.seed("view_themes", [t for t in state.int_list(state.param("theme"))
                               if t in assets.theme_names])
    state.seed("view_clusters", [c for c in state.int_list(state.param("cluster"))
                                 if c in assets.cluster_names])
    state.seed("view_find", state.param("find")[:200])
    state.seed("view_noise", True)
    state.seed("view_minprob", 0.0)
    state.seed("view_labels", "themes")
    state.seed("view_colour", "cluster")

    sidebar.header("Filter")
    themes = sidebar.multiselect(
        "Themes", theme_options, key="view_themes", placeholder="All themes",
        format_func=lambda t: f"{escape(assets.theme_names.get(t, t), 'plain', limit=60)} "
                              f"({assets.theme_sizes.get(t, 0):,})")
    cluster_options = sorted(
        (c for c, parent in assets.cluster_parent.items() if not themes or parent in themes),
        key=lambda c: (-assets.cluster_sizes.get(c, 0), c))
    st.session_state["view_clusters"] = [c for c in st.session_state["view_clusters"]
                                         if c in cluster_options]
    clusters = sidebar.multiselect(
        "Clusters", cluster_options, key="view_clusters", placeholder="All clusters",
        format_func=lambda c: f"{escape(assets.cluster_names.get(c, c), 'plain', limit=60)} "
                              f"({assets.cluster_sizes.get(c, 0):,})")
    years = None
    bounds = year_bounds(docs)
    if bounds and bounds[0] < bounds[1]:
        state.seed("view_years", bounds)
        low, high = st.session_state["view_years"]
        st.session_state["view_years"] = (max(bounds[0], min(low, bounds[1])),
                                          min(bounds[1], max(high, bounds[0])))
        chosen = sidebar.slider("Years", bounds[0], bounds[1], key="view_years")
        years = None if tuple(chosen) == tuple(bounds) else (int(chosen[0]), int(chosen[1]))
    text = sidebar.text_input("Words in title or abstract", key="view_find",
                              placeholder='e.g. graph "neural network"', max_chars=200)
    min_probability = sidebar.slider(
        "Minimum membership probability", 0.0, 1.0, step=0.05, key="view_minprob",
        help="How firmly HDBSCAN puts a paper in its cluster; unclustered papers are "
             "governed by the switch below.")
    show_noise = sidebar.checkbox("Show unclustered papers (grey)", key="view_noise")

    sidebar.header("Display")
    colours = ["cluster", "theme", *colour_columns(docs)]
    if st.session_state["view_colour"] not in colours:
        st.session_state["view_colour"] = "cluster"
    colour_by = sidebar.selectbox(
        "Colour by", colours, key="view_colour",
        format_func=lambda c: COLOUR_FIXED.get(c) or escape(c, "plain", limit=40))
    labels = sidebar.radio("Labels on the map", list(LABEL_CHOICES), key="view_labels",
                           horizontal=True, format_func=LABEL_CHOICES.get)
    state.set_params(theme=themes, cluster=clusters, find=text.strip())
    return (Filters(themes=tuple(themes), clusters=tuple(clusters), years=years, text=text,
                    min_probability=float(min_probability), show_noise=bool(show_noise)),
            colour_by, labels)


# --------------------------------------------------------------------------- paper state


def open_paper(paper_id: str | None) -> None:
    """Open the panel of ``paper_id`` (``None`` closes it) and put it in the URL."""
    st.session_state[PAPER_KEY] = paper_id
    state.set_params(paper=paper_id)


def current_paper_row(assets: MapAssets) -> int | None:
    """Row position of the open paper (seeded from ``?paper=``), if any."""
    state.seed(PAPER_KEY, state.param("paper") or None)
    paper_id = st.session_state.get(PAPER_KEY)
    if paper_id is None:
        return None
    return assets.row_of_id.get(str(paper_id))


def _selection(event: object) -> dict | None:
    """The ``selection`` part of a Plotly chart event (an object or a dict), if any."""
    selection = getattr(event, "selection", None)
    if selection is None and isinstance(event, dict):
        selection = event.get("selection")
    return selection or None


def selected_rows_from_event(event: object) -> tuple[str, list[int]]:
    """Interpret a Plotly selection event: ("click", [row]), ("area", rows) or ("none", [])."""
    selection = _selection(event)
    if not selection:
        return "none", []
    points = list(selection.get("points", []) or [])
    rows: list[int] = []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, list):
            data = data[0] if data else None
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            rows.append(int(data))
    rows = list(dict.fromkeys(rows))
    if selection.get("box") or selection.get("lasso"):
        return "area", rows
    if len(rows) == 1:
        return "click", rows
    return ("area", rows) if rows else ("none", [])


def selection_region(event: object) -> dict[str, tuple]:
    """The box (``{"box": (x0, x1, y0, y1)}``) or lasso (``{"polygon": (xs, ys)}``) of a
    Plotly selection event, or ``{}`` when it has neither."""
    selection = _selection(event)
    if not selection:
        return {}
    try:
        for box in selection.get("box") or []:
            x, y = box.get("x") or [], box.get("y") or []
            if len(x) >= 2 and len(y) >= 2:
                return {"box": (float(x[0]), float(x[-1]), float(y[0]), float(y[-1]))}
        for lasso in selection.get("lasso") or []:
            x, y = lasso.get("x") or [], lasso.get("y") or []
            if len(x) >= 3 and len(x) == len(y):
                return {"polygon": (np.asarray(x, dtype=float), np.asarray(y, dtype=float))}
    except (TypeError, ValueError, AttributeError):
        return {}
    return {}


def map_select_callback(documents: pd.DataFrame, *, sampled_view: pd.DataFrame | None = None,
                        ) -> Callable[[], None]:
    """The ``on_select`` callback of the map: a click opens a paper, an area selects papers.

    ``sampled_view``: the whole view when the map draws only a sample of it (overview);
    a box or lasso then selects every paper of the view inside the region.
    """
    ids = documents["id"].astype(str).to_numpy()

    def _callback() -> None:
        event = st.session_state.get(CHART_KEY)
        kind, rows = selected_rows_from_event(event)
        if kind == "area" and sampled_view is not None:
            region = selection_region(event)
            if region:
                rows = rows_in_region(sampled_view, **region).tolist()
        rows = [r for r in rows if 0 <= r < len(ids)]
        if kind == "click":
            open_paper(str(ids[rows[0]]))
        elif kind == "area":
            st.session_state[SELECTION_KEY] = rows
        else:
            st.session_state[SELECTION_KEY] = []

    return _callback


# --------------------------------------------------------------------------- the paper panel


def paper_panel(topic_map: TopicMap, assets: MapAssets, row: int, *, map_path: Path) -> None:
    """Full abstract, authors, year, link and the 10 nearest papers of paper ``row``."""
    doc = topic_map.documents.iloc[row]
    head, close = st.columns([5, 1])
    head.markdown(f"**{escape(doc['title'], 'markdown', limit=400)}**")
    close.button("✕", key="view_close_paper", help="Close this paper",
                 on_click=open_paper, args=(None,))
    meta = []
    if str(doc.get("authors") or "").strip() and str(doc.get("authors")) != "nan":
        meta.append(escape(doc["authors"], "markdown", limit=600))
    if pd.notna(doc.get("year")):
        meta.append(str(int(doc["year"])))
    st.caption(" · ".join(meta) or "no authors or year given")
    cluster = int(doc["cluster"])
    topic = (assets.cluster_names.get(cluster, "") if cluster >= 0 else "unclustered")
    st.caption("Topic: " + escape(topic, "markdown") + " · theme: "
               + escape(assets.theme_names.get(int(doc["theme"]), ""), "markdown"))
    url = safe_url(doc.get("url"))
    buttons = st.columns(2)
    if url:
        buttons[0].link_button("Open paper ↗", url, width="stretch")
    reading_list_button(map_path, str(doc["id"]), buttons[1])
    abstract = str(doc.get("abstract") or "")
    st.markdown(escape(abstract, "markdown", limit=ABSTRACT_PANEL_CHARS))
    if len(abstract) > ABSTRACT_PANEL_CHARS:
        st.caption(f"Abstract cut at {ABSTRACT_PANEL_CHARS:,} of {len(abstract):,} characters.")
    st.markdown("**Nearest papers**")
    rows, scores = nearest_neighbours(topic_map.embeddings, row, k=10)
    ids = topic_map.documents["id"].astype(str).to_numpy()
    titles = topic_map.documents["title"].to_numpy()
    for rank, (other, score) in enumerate(zip(rows, scores, strict=True)):
        st.button(f"{score:.2f} · {escape(titles[other], 'markdown', limit=90)}",
                  key=f"view_nb_{rank}", on_click=open_paper, args=(str(ids[other]),),
                  width="stretch", type="tertiary")


def reading_list_button(map_path: Path, paper_id: str, where: object = None) -> None:
    """ "Add to reading list" / "Remove from reading list" for one paper (issue 6's store)."""
    target = where or st
    try:
        present = paper_id in ReadingList(map_path)
    except PipelineError as exc:
        target.caption("Reading list unavailable: " + escape(str(exc), "markdown"))
        return
    if present:
        target.button("✓ Listed (remove)", key="view_rl_remove", width="stretch",
                      help="In this map's reading list; click to remove it",
                      on_click=_reading_list_change, args=(map_path, [paper_id], False))
    else:
        target.button("＋ Reading list", key="view_rl_add", width="stretch",
                      help="Add to this map's reading list",
                      on_click=_reading_list_change, args=(map_path, [paper_id], True))


def add_to_reading_list_button(map_path: Path, paper_ids: Sequence[str], *, key: str,
                               where: object = None) -> None:
    """One button adding many papers (a selection) to the map's reading list."""
    (where or st).button(f"Add {len(paper_ids):,} to reading list", key=key,
                         on_click=_reading_list_change, args=(map_path, list(paper_ids), True))


def reading_list_rows(map_path: Path, assets: MapAssets) -> list[int]:
    """Row positions of the map's reading-list papers (empty if the list cannot be read)."""
    try:
        ids = ReadingList(map_path).ids()
    except PipelineError:
        return []
    return [assets.row_of_id[i] for i in ids if i in assets.row_of_id]


def overview_toggle(n_papers: int, limit: int) -> bool:
    """The sidebar switch that draws every paper of a big map; True when ticked.

    Only offered when the map has more papers than the overview draws (``limit``).
    """
    if limit <= 0 or n_papers <= limit:
        return False
    state.seed("view_all_points", False)
    return bool(st.sidebar.checkbox(
        "Draw every paper", key="view_all_points",
        help=f"Views of more than {limit:,} papers open on an overview: "
             "a fixed random sample is drawn and every label is written. Filtering or "
             "drilling down fills the map in. Drawing every point sends more to the "
             "browser and makes each change slower."))


def overview(view: pd.DataFrame, priority: np.ndarray, *, where: object,
             keep: Sequence[int | None] = (), main_map: bool = False,
             limit: int | None = None) -> pd.DataFrame:
    """The part of ``view`` a map draws (``ui.view.overview_view``), with a note in
    ``where`` when that is a sample: how much is drawn and how to see the rest
    (``main_map``: the landing page, with its sidebar switch and area selection).
    ``limit`` defaults to :func:`ui.state.overview_limit`."""
    limit = state.overview_limit() if limit is None else limit
    drawn = overview_view(view, priority, limit=limit, keep=keep)
    if len(drawn) < len(view):
        text = (f"Overview: {len(drawn):,} of the {len(view):,} papers in view are drawn (a "
                "fixed random sample); every theme and cluster label is written. ")
        if main_map:
            text += ("Filter to a theme or cluster, or drill down, to draw them all, or tick "
                     "*Draw every paper* in the sidebar. A box or lasso selects every paper "
                     "inside it, drawn or not.")
        else:
            text += "Narrow the view to draw every paper."
        where.info(text)
    return drawn


def _reading_list_change(map_path: Path, paper_ids: list[str], add: bool) -> None:
    try:
        reading_list = ReadingList(map_path)
        changed = reading_list.add(paper_ids) if add else reading_list.remove(paper_ids)
    except PipelineError as exc:
        st.toast("Reading list unavailable: " + escape(str(exc), "markdown"))
        return
    verb = "added to" if add else "removed from"
    st.toast(f"{changed} paper(s) {verb} the reading list")


# --------------------------------------------------------------------------- search


def semantic_search_results(topic_map: TopicMap, query: str, *, k: int,
                            rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Top-``k`` rows for ``query`` among ``rows``, their similarity, and any error text."""
    empty = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    query = query.strip()[:500]
    if not query:
        return (*empty, None)
    name = topic_map.model_name
    dimension = int(topic_map.embeddings.shape[1])
    model = query_model(name, dimension)
    if not model.available:
        return (*empty, f"Semantic search is unavailable for this map: {model.error}")
    try:
        vector = embed_query(name, dimension, query)
    except PipelineError as exc:
        return (*empty, f"Semantic search failed: {exc}")
    found, scores = semantic_search(topic_map.embeddings, vector, k=k, rows=rows)
    return found, scores, None


# --------------------------------------------------------------------------- tables


def export_table(documents: pd.DataFrame, assets: MapAssets) -> pd.DataFrame:
    """Papers with their cluster and theme names, ready for the export functions."""
    table = documents.drop(columns=[c for c in documents.columns if c.startswith("_")]
                           + ["x", "y", "outlier_score"], errors="ignore").copy()
    table.insert(2, "cluster_label", [assets.cluster_names.get(int(c), "unclustered")
                                      for c in documents["cluster"]])
    table.insert(3, "theme_label", [assets.theme_names.get(int(t), "")
                                    for t in documents["theme"]])
    return table


def papers_table(documents: pd.DataFrame, assets: MapAssets, *, key: str,
                 scores: Sequence[float] | None = None, height: int | None = None,
                 on_select: Callable[[], None] | None = None) -> object:
    """An interactive table of papers (text shown as text), optionally selectable."""
    table = pd.DataFrame({
        "title": [escape(t, "plain", limit=300) for t in documents["title"]],
        "topic": [escape(assets.cluster_names.get(int(c), "unclustered"), "plain")
                  for c in documents["cluster"]],
        "year": pd.to_numeric(documents["year"], errors="coerce").astype("Int64"),
        "authors": [escape(a, "plain", limit=200) for a in documents["authors"]],
        "abstract": [escape(a, "plain", limit=TABLE_ABSTRACT_CHARS)
                     for a in documents["abstract"]],
    })
    if scores is not None:
        table.insert(0, "similarity", np.round(np.asarray(scores, dtype=float), 3))
    kwargs: dict = {"hide_index": True, "width": "stretch", "key": key}
    if height:
        kwargs["height"] = height
    if on_select is not None:
        kwargs.update(on_select=on_select, selection_mode="single-row")
    return st.dataframe(table, **kwargs)


def file_stem(text: str) -> str:
    """A download file name stem of safe characters only."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")[:80] or "papers"


def download_buttons(documents: pd.DataFrame, assets: MapAssets, *, stem: str, key: str,
                     formats: Sequence[str] = ("csv", "bib", "ris"), where: object = None,
                     ) -> None:
    """Download buttons for ``documents``; files are generated only when clicked."""
    target = where or st
    stem = file_stem(stem)
    table = export_table(documents, assets)
    makers = {
        "csv": ("CSV", "text/csv", lambda: to_csv(table)),
        "bib": ("BibTeX", "application/x-bibtex", lambda: to_bibtex(table).encode("utf-8")),
        "ris": ("RIS", "application/x-research-info-systems",
                lambda: to_ris(table).encode("utf-8")),
    }
    columns = target.columns(len(formats))
    for column, fmt in zip(columns, formats, strict=True):
        label, mime, make = makers[fmt]
        column.download_button(f"{label} ({len(documents):,})", data=make,
                               file_name=f"{stem}.{fmt}", mime=mime, key=f"{key}_{fmt}",
                               on_click="ignore", disabled=documents.empty)
