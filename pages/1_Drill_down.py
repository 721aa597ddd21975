"""Drill-down: one theme or cluster, why it has its name, and its own sub-map.

The URL keeps the trail (``?drill=theme:2,cluster:1``): each step picks a
theme or cluster of the (sub-)map before it, whose papers are then reduced,
clustered and labelled again in place (cached per map and trail).
"""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.drill import (
    group_choices,
    group_row,
    parse_trail,
    trail_param,
)
from ui.escape import escape
from ui.figures import map_figure, terms_figure, theme_colours
from ui.loaders import MIN_DRILL_PAPERS, map_assets, submap
from ui.view import label_positions
from ui.widgets import (
    download_buttons,
    map_picker,
    open_current_map,
    overview,
    paper_panel,
    papers_table,
    selected_rows_from_event,
)

st.set_page_config(page_title="Drill down · Topic map", page_icon="🔎", layout="wide")

topic_map, map_path = open_current_map()
map_picker(map_path)
root_assets = map_assets(map_path)


def go_to(trail: tuple[tuple[str, int], ...]) -> None:
    """Move to ``trail`` (a callback: the next run shows it)."""
    st.session_state["drill_trail"] = trail
    st.session_state.pop("drill_paper", None)
    state.set_params(drill=trail_param(trail))


state.seed("drill_trail", parse_trail(state.param("drill")))
trail, problem = st.session_state["drill_trail"], None
# Validate the trail step by step against the sub-maps it walks through.
valid: list[tuple[str, int]] = []
for step in trail:
    parent = submap(map_path, tuple(valid))
    if not parent.mapped or group_row(parent.clusters, *step) is None:
        problem = f"{step[0]} {step[1]} does not exist here; showing its parent instead."
        break
    valid.append(step)
trail = tuple(valid)
st.session_state["drill_trail"] = trail
state.set_params(drill=trail_param(trail))
if problem:
    st.warning(escape(problem, "markdown"))

# ---- breadcrumb
crumbs = st.columns(len(trail) + 1)
crumbs[0].button("Whole map", key="drill_crumb_0", on_click=go_to, args=((),),
                 disabled=not trail, type="tertiary")
for depth, (level, group) in enumerate(trail, start=1):
    parent = submap(map_path, trail[:depth - 1])
    name = group_row(parent.clusters, level, group)["label"]
    crumbs[depth].button(f"› {escape(name, 'markdown', limit=40)}", key=f"drill_crumb_{depth}",
                         on_click=go_to, args=(trail[:depth],), disabled=depth == len(trail),
                         type="tertiary")

if not trail:
    st.markdown("## Drill down")
    st.caption("Pick a theme or a cluster: see why it has its name, and map its papers on "
               "their own, re-clustered and re-labelled.")
else:
    level, group = trail[-1]
    parent = submap(map_path, trail[:-1])
    row = group_row(parent.clusters, level, group)
    st.markdown(f"## {escape(row['label'], 'markdown')}")
    st.caption(f"{level.capitalize()} of {int(row['size']):,} papers"
               + (f" · {len(trail)} levels down" if len(trail) > 1 else ""))
    why, reps = st.columns([1, 1], gap="large")
    with why:
        st.markdown("**Why this name:** its most distinctive terms (c-TF-IDF weight)")
        terms, weights = list(row["terms"]), list(row["weights"])
        if terms:
            colour = theme_colours([group if level == "theme" else int(row["parent"])])
            st.plotly_chart(terms_figure(terms, weights, colour=next(iter(colour.values()))),
                            key="drill_terms", theme=None, config={"displayModeBar": False})
        else:
            st.caption("No terms were found for this group.")
    with reps:
        st.markdown("**Representative papers** (nearest its centre)")
        by_id = dict(zip(parent.documents["id"].astype(str), range(len(parent.documents)),
                         strict=True))
        for paper_id in list(row["representative_ids"])[:5]:
            position = by_id.get(str(paper_id))
            if position is None:
                continue
            paper = parent.documents.iloc[position]
            with st.expander(escape(paper["title"], "markdown", limit=120)):
                st.markdown(escape(paper["abstract"], "markdown", limit=3000))

# ---- the (sub-)map and drilling again (computed after the above is on screen)
current = submap(map_path, trail)
if current.mapped:
    st.markdown("### Its map" if trail else "### The map")
    docs = current.documents
    labels = label_positions(docs, current.clusters, "cluster")
    drawn = overview(docs, current.assets.priority, where=st)
    fig = map_figure(drawn, hover=current.assets.hover, colour_by="cluster",
                     cluster_parent=current.assets.cluster_parent, labels=labels, label_size=12,
                     uirevision=f"{map_path}:{trail}", height=520)
    map_col, side_col = st.columns([2.2, 1], gap="medium")

    def _clicked() -> None:
        kind, rows = selected_rows_from_event(st.session_state.get("drill_map"))
        st.session_state["drill_paper"] = rows[0] if kind == "click" and rows else None

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
        if sub_position is not None and sub_position < len(docs):
            root_row = int(docs["_row"].iat[sub_position])
            st.divider()
            paper_panel(topic_map, root_assets, root_row, map_path=map_path)
        elif not trail:
            st.caption("Click a point to read the paper.")
else:
    st.info(f"Fewer than {MIN_DRILL_PAPERS} papers: too few to map again, listed below.")

# ---- the papers
if trail:
    docs = current.documents
    st.markdown(f"### Its papers ({len(docs):,})")
    papers_table(docs.set_index("_row"), root_assets, key="drill_papers", height=380)
    download_buttons(docs.set_index("_row"), root_assets,
                     stem=f"{map_path.name}-{trail_param(trail)}", key="drill_dl")
