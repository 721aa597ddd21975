"""Drill down: one theme or cluster, why it has its name, and its own sub-map.

The URL keeps the trail (``?drill=theme:2,cluster:1``): each step picks a
theme or cluster of the (sub-)map before it, whose papers are then reduced,
clustered and labelled again in place (cached per map and trail).
"""

from __future__ import annotations

import streamlit as st

from ui.context import map_context
from ui.drill import group_choices, group_row, parse_trail, trail_param
from ui.drill_panels import (
    breadcrumb,
    current_trail,
    go_to,
    representative_papers,
    why_this_name,
)
from ui.escape import escape
from ui.events import clicked_id
from ui.exports import download_buttons
from ui.figures import map_figure
from ui.loaders import MIN_DRILL_PAPERS, submap
from ui.paper import paper_panel
from ui.sidebar import overview
from ui.tables import papers_table
from ui.view import label_positions

context = map_context()
trail = current_trail(context)
breadcrumb(context, trail)

if not trail:
    st.markdown("## Drill down")
    st.caption("Pick a theme or a cluster: see why it has its name, and map its papers on "
               "their own, re-clustered and re-labelled.")
else:
    level, group = trail[-1]
    parent = submap(context.path, trail[:-1])
    row = group_row(parent.clusters, level, group)
    st.markdown(f"## {escape(row['label'], 'markdown')}")
    st.caption(f"{level.capitalize()} of {int(row['size']):,} papers"
               + (f" · {len(trail)} levels down" if len(trail) > 1 else ""))
    why, reps = st.columns([1, 1], gap="large")
    with why:
        why_this_name(row, level)
    with reps:
        representative_papers(row, parent.documents)

# ---- the (sub-)map and drilling again (computed after the above is on screen)
current = submap(context.path, trail)
if current.mapped:
    st.markdown("### Its map" if trail else "### The map")
    docs = current.documents
    labels = label_positions(docs, current.clusters, "cluster")
    drawn = overview(docs, current.assets.priority, where=st)
    fig = map_figure(drawn, hover=current.assets.hover, colour_by="cluster",
                     cluster_parent=current.assets.cluster_parent, labels=labels, label_size=12,
                     uirevision=f"{context.path}:{trail}", height=520)
    map_col, side_col = st.columns([2.2, 1], gap="medium")

    def _clicked() -> None:
        st.session_state["drill_paper"] = clicked_id(st.session_state.get("drill_map"))

    with map_col:
        st.plotly_chart(fig, key="drill_map", on_select=_clicked, selection_mode=("points",),
                        theme=None, config={"displaylogo": False, "scrollZoom": True})
    with side_col:
        choices = group_choices(current.clusters)
        if choices:
            st.markdown("**Drill further**")
            pick = st.selectbox("Theme or cluster", list(choices), key="drill_pick",
                                format_func=choices.get)
            st.button("Drill down ⤵", key="drill_go", type="primary",
                      on_click=lambda: go_to((*trail, *parse_trail(pick))))
        sub_position = st.session_state.get("drill_paper")
        if sub_position is not None and 0 <= sub_position < len(docs):
            st.divider()
            paper_panel(context, int(docs["_row"].iat[sub_position]))
        elif not trail:
            st.caption("Click a point to read the paper.")
else:
    st.info(f"Fewer than {MIN_DRILL_PAPERS} papers: too few to map again, listed below.")

# ---- the papers, named by the topics of the map they are drawn on
if trail:
    docs = current.documents.set_index("_row")
    st.markdown(f"### Its papers ({len(docs):,})")
    papers_table(docs, current.names, key="drill_papers", height=380)
    download_buttons(docs, current.names, stem=f"{context.name}-{trail_param(trail)}",
                     key="drill_dl")
