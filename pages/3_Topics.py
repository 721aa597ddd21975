"""Topics: every topic of every layer with its size and name, as a treemap and a table.

Selecting a row of the table (or picking a topic below it) opens it in the
drill-down page.
"""

from __future__ import annotations

import streamlit as st

from ui.app import nav
from ui.app.context import map_context
from ui.app.drill_panels import TOPIC_KEY
from ui.app.tables import show_table, topics_frame
from ui.core.drill import group_choices
from ui.core.view import map_levels
from ui.core.wording import count_of
from ui.figures.topics import topics_treemap

context = map_context()
clusters = context.clusters
n_papers = len(context.documents)
n_noise = int((context.documents["cluster"] == -1).sum())


def drill(key: str) -> None:
    """Open topic ``key`` in the drill-down page, keeping the map in the URL."""
    st.session_state[TOPIC_KEY] = key
    nav.switch_to(nav.DRILL_DOWN, drill=key)


levels = map_levels(clusters)
st.markdown("## Topics")
st.caption(" · ".join(count_of(int((clusters["level"] == lv).sum()), lv) for lv in levels)
           + f" over {n_papers:,} papers, broad to fine; {n_noise:,} papers "
           f"({100 * n_noise / max(1, n_papers):.0f}%) are unclustered in the finest layer "
           "and count only towards the broader topics that hold them.")

st.plotly_chart(topics_treemap(clusters), key="topics_treemap", theme=None,
                config={"displaylogo": False})

table = topics_frame(clusters, n_papers)
st.markdown("**All topics**, each followed by the topics inside it — select a row to "
            "drill down")
picked = show_table(table, key="topics_table", select="single-row", height=420)
if picked:
    drill(f"{table['level'].iat[picked[0]]}:{int(table['id'].iat[picked[0]])}")

choices = group_choices(clusters)
if choices:
    pick_col, go_col = st.columns([4, 1], vertical_alignment="bottom")
    pick = pick_col.selectbox("Or pick a topic", list(choices), key="topics_pick",
                              format_func=choices.get)
    if go_col.button("Drill down", key="topics_go", type="primary",
                     icon=":material/subdirectory_arrow_right:"):
        drill(pick)
