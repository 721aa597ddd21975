"""Map: every paper as a point, names that follow the zoom, the topic tree, filters that
dim what they leave out, semantic search, a paper panel.

The page draws the figure; the filters and all that follows them live in a fragment
(``ui.explore``) that reruns alone, so a filter change never sends the figure again.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import state
from ui.context import map_context
from ui.escape import escape
from ui.explore import FullRun, Slots, explore, focus_key, view_mask
from ui.figures import loading_figure, map_figure
from ui.paper import (
    CHART_KEY,
    current_paper_row,
    map_select_callback,
    paper_panel,
    reading_list_rows,
)
from ui.readinglist_figures import add_reading_list
from ui.search import search_hits, search_pending, semantic_search_results, wait_for_model
from ui.sidebar import display_controls, filters_from_state, overview_toggle
from ui.tables import papers_table
from ui.view import overview_rows

context = map_context()
docs, assets = context.documents, context.assets
filter_box = st.sidebar.container()
filter_box.header("Filter")
colour_by, label_mode = display_controls(context)
overview_points = state.overview_limit()
draw_every_paper = overview_toggle(len(docs), overview_points)
filters, focus = filters_from_state(context), focus_key(context)
visible_rows = np.flatnonzero(view_mask(context, filters, focus))

# ---- header and semantic search
st.markdown(f"## {escape(context.name, 'markdown')}")
caption_slot = st.empty()
state.seed("view_q", state.param("q")[:500])
search_col, k_col = st.columns([5, 1])
query = search_col.text_input(
    "Semantic search", key="view_q", max_chars=500,
    placeholder="Describe what you are looking for, e.g. 'robots learning to grasp objects'")
state.seed("view_k", 10)
k = k_col.selectbox("Top", [5, 10, 20, 50], key="view_k")
state.set_params(q=query.strip())
notices = st.container()
map_col, side_col = st.columns([2.6, 1], gap="medium")
map_slot = map_col.empty()
if "view_drawn" not in st.session_state:
    # First run of a session: a tiny placeholder chart makes the browser fetch Plotly
    # while the real figure (and perhaps the search model) is being prepared.
    map_slot.plotly_chart(loading_figure(), theme=None, config={"displayModeBar": False})

# The search model loads in the background from the moment the map opened: the map is
# drawn without waiting for it, and the page reruns with the results once it is there.
pending = search_pending(context, query)
found, scores, search_error = semantic_search_results(
    context, "" if pending else query, k=k, rows=visible_rows)
if search_error:
    notices.warning(escape(search_error, "markdown"))
if pending:
    notices.info("The search model is still loading (once per server); your results "
                 "appear here in a moment.")

# ---- the map: every paper (filters dim, they do not remove), or a big map's overview
paper_row = current_paper_row(assets)
keep = [r for r in (*found.tolist(), paper_row) if r is not None]
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
fig = map_figure(drawn, hover=assets.hover, colour_by=colour_by,
                 cluster_parent=assets.cluster_parent, level_themes=assets.level_themes,
                 highlight=found.tolist(), highlight_scores=scores.tolist(),
                 selected=paper_row, uirevision=str(context.path))
add_reading_list(fig, docs, assets.hover, reading_list_rows(context.path, assets))
map_slot.plotly_chart(fig, key=CHART_KEY,
                      on_select=map_select_callback(docs, sampled_view=docs if sampled else None),
                      selection_mode=("points", "box", "lasso"), theme=None,
                      config={"displaylogo": False, "scrollZoom": True,
                              "modeBarButtonsToRemove": ["toImage", "autoScale2d"]})
st.session_state["view_drawn"] = True
overlay_slot = map_col.container()
with side_col:
    if paper_row is not None or len(found):
        first = "Paper" if paper_row is not None else "Search results"
        panel_tab, tree_tab = st.tabs([first, "Topics"])
        with panel_tab:
            if paper_row is not None:
                paper_panel(context, paper_row)
            else:
                search_hits(docs, found, scores)
        tree_slot = tree_tab.container()
    else:
        tree_slot = st.container()

# ---- search results; then the fragment: selection, downloads
if len(found):
    st.subheader("Search results")
    papers_table(docs.iloc[found], assets, key="view_hits_table", scores=scores)
below_slot = st.container()

explore(context, Slots(filters=filter_box, caption=caption_slot, overlay=overlay_slot,
                       tree=tree_slot, below=below_slot),
        FullRun(filters=filters, focus=focus, searching=bool(len(found)), sampled=sampled,
                figure=fig),
        label_mode)
if pending:
    wait_for_model(context)
    st.rerun()
