"""Topic map dashboard: the landing page (the map).

    streamlit run dashboard.py -- --map maps/NAME

Maps of more than 20,000 papers in view open on an overview (a fixed sample of
points, every label); ``--overview-points N`` changes the threshold (0: off).
Without ``--map`` it opens ``maps/sample`` (``make run`` builds it) and a
picker in the sidebar lists every map under ``maps/``. Other pages live in
``pages/``; what they share lives in ``ui/``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import state
from ui.escape import escape
from ui.figures import loading_figure, map_figure, standalone_html
from ui.loaders import map_assets
from ui.readinglist_figures import add_reading_list
from ui.view import describe_counts, filter_mask, label_positions
from ui.widgets import (
    CHART_KEY,
    SELECTION_KEY,
    add_to_reading_list_button,
    current_paper_row,
    download_buttons,
    file_stem,
    map_picker,
    map_select_callback,
    open_current_map,
    open_paper,
    overview,
    overview_toggle,
    paper_panel,
    papers_table,
    reading_list_rows,
    semantic_search_results,
    sidebar_filters,
)

st.set_page_config(page_title="Topic map", page_icon="🗺️", layout="wide")

topic_map, map_path = open_current_map()
assets = map_assets(map_path)
docs = topic_map.documents
map_picker(map_path)
filters, colour_by, label_level = sidebar_filters(topic_map, assets)
overview_points = state.overview_limit()
draw_every_paper = overview_toggle(len(docs), overview_points)

mask = filter_mask(docs, filters, search_text=assets.search_text)
view = docs[mask]
visible_rows = view.index.to_numpy()
visible = set(visible_rows.tolist())

# ---- header and semantic search
counts = topic_map.manifest.get("counts", {})
st.markdown(f"## {escape(map_path.name, 'markdown')}")
st.caption(
    f"Showing {describe_counts(len(view), len(docs))} · {counts.get('clusters', '?')} clusters in "
    f"{counts.get('themes', '?')} themes · model {escape(topic_map.model_name, 'markdown')}"
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

found, scores, search_error = semantic_search_results(topic_map, query, k=k, rows=visible_rows)
if search_error:
    notices.warning(escape(search_error, "markdown"))

# ---- the map and the side panel
paper_row = current_paper_row(assets)
labels = None
if label_level != "none":
    level = "theme" if label_level == "themes" else "cluster"
    labels = label_positions(view, topic_map.clusters, level)
# Big views open on an overview: a fixed sample of points (plus the search hits and the
# open paper); every label is still placed from all papers in view.
drawn = view if draw_every_paper else overview(
    view, assets.priority, where=notices, keep=(*found.tolist(), paper_row), main_map=True,
    limit=overview_points)
sampled = len(drawn) < len(view)
fig = map_figure(drawn, hover=assets.hover, colour_by=colour_by,
                 cluster_parent=assets.cluster_parent, labels=labels,
                 label_size=15 if label_level == "themes" else 11,
                 highlight=found.tolist(), highlight_scores=scores.tolist(),
                 selected=paper_row, uirevision=str(map_path))
add_reading_list(fig, view, assets.hover, reading_list_rows(map_path, assets))
map_slot.plotly_chart(fig, key=CHART_KEY,
                      on_select=map_select_callback(docs, sampled_view=view if sampled else None),
                      selection_mode=("points", "box", "lasso"), theme=None,
                      config={"displaylogo": False, "scrollZoom": True,
                              "modeBarButtonsToRemove": ["toImage", "autoScale2d"]})
st.session_state["view_drawn"] = True
with side_col:
    if paper_row is not None:
        paper_panel(topic_map, assets, paper_row, map_path=map_path)
    elif len(found):
        st.markdown(f"**{len(found)} nearest papers to your search**")
        for rank, (row, score) in enumerate(zip(found, scores, strict=True), start=1):
            st.button(f"{rank}. {escape(docs['title'].iat[row], 'markdown', limit=90)} "
                      f"({score:.2f})", key=f"view_hit_{rank}", type="tertiary",
                      on_click=open_paper, args=(str(docs["id"].iat[row]),))
    else:
        st.markdown("**Largest topics in view**")
        for row in (labels if labels is not None else
                    label_positions(view, topic_map.clusters, "theme")).head(12).itertuples():
            st.markdown(f"- {escape(row.label, 'markdown', limit=80)} · {row.size:,}")

# ---- search results, selection, export
if len(found):
    st.subheader("Search results")
    papers_table(docs.iloc[found], assets, key="view_hits_table", scores=scores)

selection = [r for r in st.session_state.get(SELECTION_KEY, []) if r in visible]
if selection:
    st.subheader(f"Selected papers ({len(selection):,})")
    chosen = docs.iloc[np.array(selection, dtype=np.int64)]
    papers_table(chosen, assets, key="view_selection_table", height=320)
    cols = st.columns([3, 1, 1])
    download_buttons(chosen, assets, stem=f"{map_path.name}-selection", key="dl_sel",
                     where=cols[0])
    add_to_reading_list_button(map_path, chosen["id"].astype(str).tolist(), key="view_rl_sel",
                               where=cols[1])
    cols[2].button("Clear selection", key="view_clear_sel",
                   on_click=lambda: st.session_state.update({SELECTION_KEY: []}))

with st.expander(f"Take it away: the current view ({len(view):,} papers)"):
    st.caption("The HTML file is the map as shown, with Plotly embedded: it opens offline, "
               "without any network access. CSV cells that a spreadsheet would run as "
               "formulas are neutralised.")
    download_buttons(view, assets, stem=f"{map_path.name}-view", key="dl_view")
    st.download_button("Interactive map (HTML)", key="dl_view_html", on_click="ignore",
                       data=lambda: standalone_html(fig, title=f"Topic map: {map_path.name}"),
                       file_name=f"{file_stem(map_path.name)}-map.html", mime="text/html")
