"""The map page's sidebar (filters; colours and names on the map) and the overview of big
views.

Filters are widgets of the map page's fragment (``ui.app.explore``): changing one reruns only
the fragment, which dims the papers left out in the browser; the figure is not sent again.
The display settings (colours, names) change the figure, so they rerun the page.
Widget keys of a map's view start with ``view_`` so switching maps forgets them; themes,
clusters, the text filter and the topic in focus are seeded from the URL and written back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ui.core.escape import escape
from ui.core.nodes import node
from ui.core.view import (
    Filters,
    level_title,
    overview_view,
)
from ui.figures.overlay import NO_LABELS, ZOOM_MODE

from . import state
from .context import MapContext

COLOUR_FIXED = {"cluster": "Cluster", "theme": "Theme"}
FOCUS_KEY = "view_node"
FOCUS_URL_KEY = "view_node_url"  # the ?node= this session last wrote or read
ZOOM_KEY = "view_zoom"  # a one-off zoom the overlay applies: {"seq": n, "box": [...]}


def years_param(text: str) -> tuple[int, int] | None:
    """``?years=2015-2020`` (or one year, ``2018``) as an inclusive range; None if malformed."""
    parts = [p.strip() for p in text.split("-", 1)]
    if not all(p.isdigit() and len(p) <= 4 for p in parts):
        return None
    low, high = int(parts[0]), int(parts[-1])
    return (min(low, high), max(low, high))


def zoom_to(context: MapContext, key: str) -> None:
    """Ask the overlay to zoom the map once to topic ``key``'s papers (a link's ``?node=``)."""
    boxes = {item["k"]: item["b"] for item in context.assets.overlay.get("labels", [])}
    box = boxes.get(key)
    if box is not None and all(v is not None for v in box):
        seq = int((st.session_state.get(ZOOM_KEY) or {}).get("seq", 0)) + 1
        st.session_state[ZOOM_KEY] = {"seq": seq, "box": box}


def seed_filters(context: MapContext) -> None:
    """Give the filter widgets their first values (from the URL), once per session."""
    assets = context.assets
    state.seed("view_themes", [t for t in state.int_list(state.param("theme"))
                               if t in assets.theme_names])
    state.seed("view_clusters", [c for c in state.int_list(state.param("cluster"))
                                 if c in assets.cluster_names])
    state.seed("view_find", state.param("find")[:200])
    state.seed("view_noise", True)
    state.seed("view_minprob", 0.0)
    wanted = state.param("node")
    if st.session_state.get(FOCUS_URL_KEY, "") != wanted:  # a link brought a topic
        known = node(assets.nodes, wanted) is not None
        st.session_state[FOCUS_KEY] = wanted if known else ""
        st.session_state[FOCUS_URL_KEY] = wanted
        if known:  # and its view: the map zooms to it, as a click in the tree does
            zoom_to(context, wanted)
    state.seed(FOCUS_KEY, "")
    bounds = assets.years
    if bounds and bounds[0] < bounds[1]:
        state.seed("view_years", years_param(state.param("years")) or bounds)
        low, high = st.session_state["view_years"]
        st.session_state["view_years"] = (max(bounds[0], min(low, bounds[1])),
                                          min(bounds[1], max(high, bounds[0])))


def filters_from_state(context: MapContext) -> Filters:
    """The filters as the session holds them (what the widgets will show)."""
    seed_filters(context)
    get = st.session_state.get
    bounds = context.assets.years
    years = get("view_years") if bounds and bounds[0] < bounds[1] else None
    years = None if years is None or tuple(years) == tuple(bounds) else \
        (int(years[0]), int(years[1]))
    return Filters(themes=tuple(get("view_themes", ())), clusters=tuple(get("view_clusters", ())),
                   years=years, text=get("view_find", ""),
                   min_probability=float(get("view_minprob", 0.0)),
                   show_noise=bool(get("view_noise", True)))


def filter_widgets(context: MapContext, where: object) -> Filters:
    """The filter widgets, drawn in ``where`` (the sidebar's filter box); returns them."""
    assets = context.assets
    seed_filters(context)
    theme_options = sorted(assets.theme_names, key=lambda t: (-assets.theme_sizes.get(t, 0), t))
    themes = where.multiselect(
        "Themes", theme_options, key="view_themes", placeholder="All themes",
        format_func=lambda t: f"{escape(assets.theme_names.get(t, t), 'plain', limit=60)} "
                              f"({assets.theme_sizes.get(t, 0):,})")
    cluster_options = sorted(
        (c for c, parent in assets.cluster_parent.items() if not themes or parent in themes),
        key=lambda c: (-assets.cluster_sizes.get(c, 0), c))
    st.session_state["view_clusters"] = [c for c in st.session_state["view_clusters"]
                                         if c in cluster_options]
    clusters = where.multiselect(
        "Clusters", cluster_options, key="view_clusters", placeholder="All clusters",
        format_func=lambda c: f"{escape(assets.cluster_names.get(c, c), 'plain', limit=60)} "
                              f"({assets.cluster_sizes.get(c, 0):,})")
    years = None
    bounds = assets.years
    if bounds and bounds[0] < bounds[1]:
        chosen = where.slider("Years", bounds[0], bounds[1], key="view_years")
        years = None if tuple(chosen) == tuple(bounds) else (int(chosen[0]), int(chosen[1]))
    state.set_params(years=f"{years[0]}-{years[1]}" if years else "")
    text = where.text_input("Words in title or abstract", key="view_find",
                            placeholder='e.g. graph "neural network"', max_chars=200)
    min_probability = where.slider(
        "Minimum membership probability", 0.0, 1.0, step=0.05, key="view_minprob",
        help="How firmly HDBSCAN puts a paper in its cluster; unclustered papers are "
             "governed by the switch below.")
    show_noise = where.checkbox("Show unclustered papers (grey)", key="view_noise")
    state.set_params(theme=themes, cluster=clusters, find=text.strip())
    return Filters(themes=tuple(themes), clusters=tuple(clusters), years=years, text=text,
                   min_probability=float(min_probability), show_noise=bool(show_noise))


def display_controls(context: MapContext) -> tuple[str, str]:
    """Colour and names-on-the-map controls (sidebar); returns (colour_by, label mode).

    The label mode is ``"zoom"`` (names follow the zoom, broad to fine), a level of the
    map (only that layer's names) or ``"none"``."""
    sidebar = st.sidebar
    levels = context.assets.levels
    state.seed("view_labels", ZOOM_MODE)
    state.seed("view_colour", "cluster")
    sidebar.header("Display")
    colours = ["cluster", "theme", *[lv for lv in levels if lv not in COLOUR_FIXED],
               *context.assets.colour_columns]
    if st.session_state["view_colour"] not in colours:
        st.session_state["view_colour"] = "cluster"
    colour_by = sidebar.selectbox(
        "Colour by", colours, key="view_colour",
        format_func=lambda c: COLOUR_FIXED.get(c) or (level_title(c) if c in levels
                                                      else escape(c, "plain", limit=40)))
    label_options = [ZOOM_MODE, *levels, NO_LABELS]
    if st.session_state["view_labels"] not in label_options:
        st.session_state["view_labels"] = label_options[0]
    labels = sidebar.radio(
        "Names on the map", label_options, key="view_labels",
        format_func=lambda v: {ZOOM_MODE: "Follow the zoom", NO_LABELS: "None"}.get(
            v, level_title(v)),
        help="Follow the zoom: the two broadest layers' names at first, where there is room; "
             "zoom in and the names of finer topics appear.")
    return colour_by, labels


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
    """The part of ``view`` a map draws (``ui.core.view.overview_view``), with a note in
    ``where`` when that is a sample: how much is drawn and how to see the rest
    (``main_map``: the landing page, with its sidebar switch and area selection).
    ``limit`` defaults to :func:`ui.app.state.overview_limit`."""
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
