"""Map: every paper as a point, filters in the sidebar, semantic search, a paper panel."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import state
from ui.context import map_context
from ui.escape import escape
from ui.exports import download_buttons, take_it_away
from ui.figures import loading_figure, map_figure
from ui.paper import (
    CHART_KEY,
    SELECTION_KEY,
    add_to_reading_list_button,
    current_paper_row,
    map_select_callback,
    paper_panel,
    reading_list_rows,
)
from ui.readinglist_figures import add_reading_list
from ui.search import largest_topics, search_hits, semantic_search_results
from ui.sidebar import NO_LABELS, overview, overview_toggle, sidebar_filters
from ui.tables import papers_table
from ui.view import describe_counts, filter_mask, label_positions, map_levels

context = map_context()
docs, assets = context.documents, context.assets
filters, colour_by, label_level = sidebar_filters(context)
overview_points = state.overview_limit()
draw_every_paper = overview_toggle(len(docs), overview_points)

view = docs[filter_mask(docs, filters, search_text=assets.search_text)]
visible_rows = view.index.to_numpy()

# ---- header and semantic search
counts = context.topic_map.manifest.get("counts", {})
st.markdown(f"## {escape(context.name, 'markdown')}")
st.caption(
    f"Showing {describe_counts(len(view), len(docs))} · {counts.get('clusters', '?')} clusters in "
    f"{counts.get('themes', '?')} themes · model "
    f"{escape(context.topic_map.model_name, 'markdown')}"
    " · click a point to read it, drag a box or lasso to select papers")

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

found, scores, search_error = semantic_search_results(context, query, k=k, rows=visible_rows)
if search_error:
    notices.warning(escape(search_error, "markdown"))

# ---- the map and the side panel
paper_row = current_paper_row(assets)
labels = None if label_level == NO_LABELS else label_positions(view, context.clusters, label_level)
# Big views open on an overview: a fixed sample of points (plus the search hits and the
# open paper); every label is still placed from all papers in view.
drawn = view if draw_every_paper else overview(
    view, assets.priority, where=notices, keep=(*found.tolist(), paper_row), main_map=True,
    limit=overview_points)
fig = map_figure(drawn, hover=assets.hover, colour_by=colour_by,
                 cluster_parent=assets.cluster_parent, labels=labels,
                 label_size=15 if label_level == map_levels(context.clusters)[0] else 11,
                 highlight=found.tolist(), highlight_scores=scores.tolist(),
                 selected=paper_row, uirevision=str(context.path))
add_reading_list(fig, view, assets.hover, reading_list_rows(context.path, assets))
sampled = len(drawn) < len(view)
map_slot.plotly_chart(fig, key=CHART_KEY,
                      on_select=map_select_callback(docs, sampled_view=view if sampled else None),
                      selection_mode=("points", "box", "lasso"), theme=None,
                      config={"displaylogo": False, "scrollZoom": True,
                              "modeBarButtonsToRemove": ["toImage", "autoScale2d"]})
st.session_state["view_drawn"] = True
with side_col:
    if paper_row is not None:
        paper_panel(context, paper_row)
    elif len(found):
        search_hits(docs, found, scores)
    else:
        largest_topics(labels if labels is not None else
                       label_positions(view, context.clusters, map_levels(context.clusters)[0]))

# ---- search results, selection, export
if len(found):
    st.subheader("Search results")
    papers_table(docs.iloc[found], assets, key="view_hits_table", scores=scores)

visible = set(visible_rows.tolist())
selection = [r for r in st.session_state.get(SELECTION_KEY, []) if r in visible]
if selection:
    st.subheader(f"Selected papers ({len(selection):,})")
    chosen = docs.iloc[np.array(selection, dtype=np.int64)]
    papers_table(chosen, assets, key="view_selection_table", height=320)
    cols = st.columns([3, 1, 1])
    download_buttons(chosen, assets, stem=f"{context.name}-selection", key="dl_sel",
                     where=cols[0])
    add_to_reading_list_button(context.path, chosen["id"].astype(str).tolist(),
                               key="view_rl_sel", where=cols[1])
    cols[2].button("Clear selection", key="view_clear_sel",
                   on_click=lambda: st.session_state.update({SELECTION_KEY: []}))

take_it_away(view, assets, fig, name=context.name)
