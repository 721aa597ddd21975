"""Map: every paper as a point, names that follow the zoom, the topic tree, filters that
dim what they leave out, semantic search, a paper panel.

The page draws the figure; the filters, the search and all that follows them live in a
fragment (``ui.app.explore``) that reruns alone, so neither sends the figure again.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui.app import state
from ui.app.context import map_context
from ui.app.explore import FullRun, Slots, explore, focus_key, view_mask
from ui.app.loaders import main_figure
from ui.app.paper import (
    CHART_KEY,
    current_paper_row,
    map_select_callback,
    paper_panel,
    reading_list_rows,
)
from ui.app.sidebar import display_controls, filters_from_state, overview_toggle
from ui.core.escape import escape
from ui.core.view import overview_rows
from ui.figures.map import loading_figure, map_figure
from ui.figures.readinglist import add_reading_list

context = map_context()
docs, assets = context.documents, context.assets
filter_box = st.sidebar.container()
filter_box.header("Filter")
colour_by, label_mode = display_controls(context)
overview_points = state.overview_limit()
draw_every_paper = overview_toggle(len(docs), overview_points)
filters, focus = filters_from_state(context), focus_key(context)
visible_rows = np.flatnonzero(view_mask(context, filters, focus))

# ---- header; the search box, like the filters, belongs to the fragment below
head_col, search_slot = st.container(key="view_head").columns([1.25, 1],
                                                               vertical_alignment="bottom")
head_col.markdown(f"## {escape(context.title, 'markdown')}")
caption_slot = head_col.empty()
notices = st.container()
map_col, side_col = st.columns([3, 1], gap="small")
map_slot = map_col.empty()
if "view_drawn" not in st.session_state:
    # First run of a session: a tiny placeholder chart makes the browser fetch Plotly
    # while the real figure is being prepared.
    map_slot.plotly_chart(loading_figure(), theme=None, config={"displayModeBar": False})

# ---- the map: every paper (filters dim, they do not remove), or a big map's overview
paper_row = current_paper_row(assets)
keep = [r for r in (paper_row,) if r is not None]
if draw_every_paper or overview_points <= 0 or len(docs) <= overview_points:
    drawn = docs
else:
    rows = np.union1d(overview_rows(np.arange(len(docs)), assets.priority, limit=overview_points),
                      overview_rows(visible_rows, assets.priority, limit=overview_points))
    drawn = docs.iloc[np.union1d(rows, np.asarray(keep, dtype=np.int64))]
    notices.info(f"Overview: {len(drawn):,} of the {len(docs):,} papers are drawn (a fixed "
                 "random sample, filled in with the papers your filters keep); every topic is "
                 "named. Filter, or tick *Draw every paper* in the sidebar, to see them all. A "
                 "box or lasso selects every paper inside it, drawn or not.")
sampled = len(drawn) < len(docs)
reading = reading_list_rows(context.path, assets)
if sampled:
    fig = map_figure(drawn, hover=assets.hover, colour_by=colour_by,
                     cluster_parent=assets.cluster_parent, level_themes=assets.level_themes,
                     selected=paper_row, uirevision=str(context.path), clickable=True)
    add_reading_list(fig, docs, assets.hover, reading)
else:  # the same for every reader of the map: made once
    fig = main_figure(context.ref, assets.names, colour_by=colour_by, selected=paper_row,
                      reading=reading)
map_slot.plotly_chart(fig, key=CHART_KEY, height="stretch",
                      on_select=map_select_callback(assets.ids,
                                                              sampled_view=docs if sampled else None),
                      selection_mode=("points", "box", "lasso"), theme=None,
                      config={"displaylogo": False, "scrollZoom": True,
                              "modeBarButtonsToRemove": ["toImage", "autoScale2d"]})
st.session_state["view_drawn"] = True
overlay_slot = map_col.container()
with side_col:
    if paper_row is not None:
        panel_tab, tree_tab = st.tabs(["Paper", "Topics"])
        with panel_tab:
            paper_panel(context, paper_row)
        side_slot, tree_slot = None, tree_tab.container()
    else:
        side_slot = tree_slot = st.container()
below_slot = st.container()

explore(context, Slots(filters=filter_box, caption=caption_slot, search=search_slot,
                       notices=notices, overlay=overlay_slot, side=side_slot, tree=tree_slot,
                       below=below_slot),
        FullRun(filters=filters, focus=focus, sampled=sampled, figure=fig),
        label_mode)
