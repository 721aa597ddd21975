"""Drill down: one topic, why it has its name, its sub-topics, its papers, its part of the map.

The page walks the map's saved layers: a topic's sub-topics are its children in the next
finer layer (read, not computed), and its map is the same coordinates, zoomed to its
papers. The URL keeps the topic (``?drill=layer_1:5``). Mapping a topic's papers again on
their own stays available as an explicit, costly action.
"""

from __future__ import annotations

import streamlit as st

from ui.app.components import overlay
from ui.app.context import map_context, stop_on_error
from ui.app.drill_panels import (
    breadcrumb,
    current_topic,
    name_and_provenance,
    remap_offer,
    representative_papers,
    sub_topics_list,
    why_this_name,
)
from ui.app.exports import download_buttons
from ui.app.loaders import remapped, topic_view
from ui.app.paper import paper_panel
from ui.app.sidebar import overview
from ui.app.tables import papers_table
from ui.core.drill import child_colours, sub_topics
from ui.core.escape import escape
from ui.core.events import clicked_id
from ui.core.nodes import node
from ui.core.view import label_positions, map_levels
from ui.figures.map import map_figure
from ui.figures.overlay import view_state

context = map_context()
docs, assets, nodes = context.documents, context.assets, context.clusters
key = current_topic(context)
breadcrumb(context, key)
levels = map_levels(nodes)
row = node(nodes, key) if key else None
depth = int(row["depth"]) if row is not None else -1
child_level = levels[depth + 1] if depth + 1 < len(levels) else None
# The same for every reader of this topic: made once per map and topic.
view = topic_view(context.ref, assets.names, key) if key else None
children = view.children if view is not None else sub_topics(nodes, key)

if row is None:
    st.markdown("## Drill down")
    st.caption("Pick a topic: see why it has its name, its sub-topics in the map's finer "
               "layers, its papers and its part of the map.")
else:
    name_and_provenance(context, row, len(children), child_level)

# ---- its part of the map (the same coordinates, fitted to its papers) and its sub-topics
# beside it: both at the top, the map first on the page (issue 20, item 6)
inside = view.inside if view is not None else None
part = view.papers if view is not None else docs
colour_by = child_level or "cluster"
# Each sub-topic in a hue of its own (on the whole map, each theme).
hues = child_colours(children) if row is not None and child_level else None
level_themes = {**assets.level_themes, colour_by: hues} if hues else assets.level_themes
map_col, side_col = st.columns([2.2, 1], gap="medium")
drawn = overview(part, assets.priority, where=map_col)
fig = map_figure(drawn, hover=assets.hover, colour_by=colour_by,
                 cluster_parent=assets.cluster_parent, level_themes=level_themes,
                 uirevision=f"{context.path}:{key}", height=520)
box, strays = (view.box, view.strays) if view is not None else (None, 0)
names_payload = view.names if view is not None else assets.overlay
if box is not None:  # fitted to the topic's papers: a few strays do not shrink it
    fig.update_layout(xaxis_range=box[:2], yaxis_range=box[2:])


def _clicked() -> None:
    st.session_state["drill_paper"] = clicked_id(st.session_state.get("drill_map"))


with map_col:
    st.plotly_chart(fig, key="drill_map", on_select=_clicked, selection_mode=("points",),
                    theme=None, config={"displaylogo": False, "scrollZoom": True})
    reveal = children["key"].tolist() if key else []
    overlay("drill_map", names_payload, {**view_state(docs, nodes, None), "reveal": reveal},
            key="drill_overlay")
    st.caption(("The map: each theme in a hue of its own. " if not key else
                "Its map: the papers of this topic, each sub-topic in a hue of its own. "
                if child_level else "Its map: the papers of this topic. ")
               + "Click a point to read the paper"
               + ("; zoom in for the names of finer topics." if child_level else ".")
               + (f" {strays:,} stray paper{'s lie' if strays != 1 else ' lies'} outside "
                  "this view, far from the rest: zoom out to see "
                  f"{'them' if strays != 1 else 'it'}." if strays else ""))
with side_col:
    paper_row = st.session_state.get("drill_paper")
    open_paper = paper_row is not None and 0 <= paper_row < len(docs) and (
        inside is None or bool(inside[paper_row]))
    paper_box, topics_box = (side_col.tabs(["Paper", "Sub-topics"]) if open_paper
                             else (None, side_col.container()))
    if open_paper:
        with paper_box:
            paper_panel(context, int(paper_row), height=520)
    with topics_box:
        # ---- its sub-topics (the next layer down, saved with the map): read, not computed
        if child_level is not None:
            st.markdown("#### Sub-topics" if row is not None else "#### Broad topics")
            sub_topics_list(context, key)

if row is not None:
    why, reps = st.columns([1, 1], gap="large")
    with why:
        why_this_name(row)
    with reps:
        representative_papers(row, docs)

# ---- its papers, each named by the topics that hold it
if row is not None:
    st.markdown(f"### Its papers ({len(part):,})")
    papers_table(part, assets, key="drill_papers", height=380,
                 sub_level=child_level if child_level != "cluster" else None)
    download_buttons(part, assets, stem=f"{context.name}-{key.replace(':', '-')}",
                     key="drill_dl")

    # ---- re-mapping: an explicit action, with its cost stated
    st.markdown("### A fresh map of these papers")
    if remap_offer(context, key, len(part)):
        with stop_on_error():
            sub = remapped(context.ref, key)
        labels = label_positions(sub.documents, sub.clusters, "cluster")
        sub_fig = map_figure(sub.documents, hover=sub.assets.hover, colour_by="cluster",
                             cluster_parent=sub.assets.cluster_parent, labels=labels,
                             label_size=12, uirevision=f"{context.path}:remap:{key}",
                             height=520)
        st.plotly_chart(sub_fig, key="drill_remap_map", theme=None,
                        config={"displaylogo": False, "scrollZoom": True})
        st.caption(f"{len(sub.documents):,} papers mapped again on their own: "
                   f"{len(sub.assets.cluster_names)} clusters in "
                   f"{len(sub.assets.theme_names)} themes of their own. Each paper is "
                   "named below by its topic on this fresh map.")
        remap_docs = sub.documents.set_index("_row")
        papers_table(remap_docs, sub.assets, key="drill_remap_papers", height=320)
        download_buttons(remap_docs, sub.assets,
                         stem=f"{context.name}-{key.replace(':', '-')}-remapped",
                         key="drill_remap_dl")
        st.caption(escape("Its topics are its own, not the map's layers.", "markdown"))
