"""The map page's sidebar (filters, colours, labels) and the overview of big views.

Widget keys of a map's view start with ``view_`` so switching maps forgets them;
themes, clusters and the text filter are seeded from the URL and written back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from . import state
from .context import MapContext
from .escape import escape
from .view import Filters, colour_columns, level_title, map_levels, overview_view, year_bounds

NO_LABELS = "none"
COLOUR_FIXED = {"cluster": "Cluster", "theme": "Theme"}


def sidebar_filters(context: MapContext) -> tuple[Filters, str, str]:
    """The filter, colour and label controls; returns (filters, colour_by, label level).

    The label level is a level of the map's clusters table (``"theme"``,
    ``"cluster"``, ...) or ``"none"``.
    """
    docs, assets = context.documents, context.assets
    sidebar = st.sidebar
    theme_options = sorted(assets.theme_names, key=lambda t: (-assets.theme_sizes.get(t, 0), t))
    state.seed("view_themes", [t for t in state.int_list(state.param("theme"))
                               if t in assets.theme_names])
    state.seed("view_clusters", [c for c in state.int_list(state.param("cluster"))
                                 if c in assets.cluster_names])
    state.seed("view_find", state.param("find")[:200])
    state.seed("view_noise", True)
    state.seed("view_minprob", 0.0)
    levels = map_levels(context.clusters)
    state.seed("view_labels", levels[0] if levels else NO_LABELS)
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
    label_options = [*levels, NO_LABELS]
    if st.session_state["view_labels"] not in label_options:
        st.session_state["view_labels"] = label_options[0]
    labels = sidebar.radio("Labels on the map", label_options, key="view_labels",
                           horizontal=True,
                           format_func=lambda v: "None" if v == NO_LABELS else level_title(v))
    state.set_params(theme=themes, cluster=clusters, find=text.strip())
    return (Filters(themes=tuple(themes), clusters=tuple(clusters), years=years, text=text,
                    min_probability=float(min_probability), show_noise=bool(show_noise)),
            colour_by, labels)


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
