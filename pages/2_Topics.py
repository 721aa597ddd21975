"""Topics overview: every theme and cluster with its size and name, as a table and a treemap.

Selecting a row of the table (or picking a topic below it) opens it in the
drill-down page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import state
from ui.drill import group_choices, parse_trail, trail_param
from ui.escape import escape
from ui.figures import topics_treemap
from ui.widgets import map_picker, open_current_map

DRILL_PAGE = "pages/1_Drill_down.py"

st.set_page_config(page_title="Topics · Topic map", page_icon="🗂️", layout="wide")

topic_map, map_path = open_current_map()
map_picker(map_path)
clusters = topic_map.clusters
n_papers = len(topic_map.documents)
n_noise = int((topic_map.documents["cluster"] == -1).sum())


def drill(level: str, group: int) -> None:
    """Open ``level`` ``group`` in the drill-down page, keeping the map in the URL."""
    params = {"drill": trail_param(((level, group),))}
    name = state.param("map")
    if name:
        params["map"] = name
    st.session_state["drill_trail"] = ((level, group),)
    st.switch_page(DRILL_PAGE, query_params=params)


st.markdown("## Topics")
st.caption(f"{(clusters['level'] == 'theme').sum()} themes and "
           f"{(clusters['level'] == 'cluster').sum()} clusters over {n_papers:,} papers; "
           f"{n_noise:,} papers ({100 * n_noise / max(1, n_papers):.0f}%) are unclustered and "
           "count only towards their nearest theme.")

st.plotly_chart(topics_treemap(clusters), key="topics_treemap", theme=None,
                config={"displaylogo": False})

theme_names = dict(zip(clusters.loc[clusters["level"] == "theme", "id"],
                       clusters.loc[clusters["level"] == "theme", "label"], strict=True))
ordered = clusters.assign(
    theme=[int(r.id) if r.level == "theme" else int(r.parent) for r in clusters.itertuples()],
    order=[0 if level == "theme" else 1 for level in clusters["level"]],
).sort_values(["theme", "order", "size"], ascending=[True, True, False])
table = pd.DataFrame({
    "level": ordered["level"].to_numpy(),
    "id": ordered["id"].astype(int).to_numpy(),
    "name": [escape(v, "plain", limit=80) for v in ordered["label"]],
    "theme": [escape(theme_names.get(t, ""), "plain", limit=60) for t in ordered["theme"]],
    "papers": ordered["size"].astype(int).to_numpy(),
    "share %": (100 * ordered["size"].astype(float) / max(1, n_papers)).round(1).to_numpy(),
    "top terms": [escape(", ".join(list(t)[:6]), "plain", limit=120) for t in ordered["terms"]],
})
st.markdown("**All topics** — select a row to drill down")
event = st.dataframe(table, hide_index=True, width="stretch", key="topics_table",
                     on_select="rerun", selection_mode="single-row", height=420)
picked = list(getattr(getattr(event, "selection", None), "rows", []) or [])
if picked:
    chosen = table.iloc[picked[0]]
    drill(str(chosen["level"]), int(chosen["id"]))

choices = group_choices(clusters)
if choices:
    pick_col, go_col = st.columns([4, 1], vertical_alignment="bottom")
    pick = pick_col.selectbox("Or pick a topic", list(choices), key="topics_pick",
                              format_func=choices.get)
    if go_col.button("Drill down ⤵", key="topics_go", type="primary"):
        drill(*parse_trail(pick)[0])
