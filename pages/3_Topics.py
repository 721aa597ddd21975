"""Topics: every theme and cluster with its size and name, as a treemap and a table.

Selecting a row of the table (or picking a topic below it) opens it in the
drill-down page.
"""

from __future__ import annotations

import streamlit as st

from ui import nav
from ui.context import map_context
from ui.drill import group_choices, parse_trail, trail_param
from ui.tables import show_table, topics_frame
from ui.topic_figures import topics_treemap

context = map_context()
clusters = context.clusters
n_papers = len(context.documents)
n_noise = int((context.documents["cluster"] == -1).sum())


def drill(level: str, group: int) -> None:
    """Open ``level`` ``group`` in the drill-down page, keeping the map in the URL."""
    st.session_state["drill_trail"] = ((level, group),)
    nav.switch_to(nav.DRILL_DOWN, drill=trail_param(((level, group),)))


st.markdown("## Topics")
st.caption(f"{(clusters['level'] == 'theme').sum()} themes and "
           f"{(clusters['level'] == 'cluster').sum()} clusters over {n_papers:,} papers; "
           f"{n_noise:,} papers ({100 * n_noise / max(1, n_papers):.0f}%) are unclustered and "
           "count only towards their nearest theme.")

st.plotly_chart(topics_treemap(clusters), key="topics_treemap", theme=None,
                config={"displaylogo": False})

table = topics_frame(clusters, n_papers)
st.markdown("**All topics** — select a row to drill down")
picked = show_table(table, key="topics_table", select="single-row", height=420)
if picked:
    drill(str(table["level"].iat[picked[0]]), int(table["id"].iat[picked[0]]))

choices = group_choices(clusters)
if choices:
    pick_col, go_col = st.columns([4, 1], vertical_alignment="bottom")
    pick = pick_col.selectbox("Or pick a topic", list(choices), key="topics_pick",
                              format_func=choices.get)
    if go_col.button("Drill down ⤵", key="topics_go", type="primary"):
        drill(*parse_trail(pick)[0])
