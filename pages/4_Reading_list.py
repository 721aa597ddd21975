"""Reading list: the papers picked on this map, on the map as stars, exported, and papers like them.

The list is kept beside the map (``maps/NAME.reading-list.sqlite3``), so it
survives restarts of the app and rebuilds of the map.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.errors import PipelineError
from pipeline.readinglist import ReadingList, papers_in_list
from pipeline.similar import by_cluster, similar_papers
from ui import state
from ui.escape import escape
from ui.figures import map_figure
from ui.loaders import map_assets
from ui.readinglist_figures import add_reading_list
from ui.widgets import download_buttons, map_picker, open_current_map, overview

st.set_page_config(page_title="Reading list · Topic map", page_icon="📚", layout="wide")

topic_map, map_path = open_current_map()
map_picker(map_path)
assets = map_assets(map_path)
docs = topic_map.documents
reading = ReadingList(map_path)
try:
    ids = reading.ids()
except PipelineError as exc:
    st.error(escape(str(exc), "markdown"))
    st.stop()
listed, missing = papers_in_list(docs, ids)
rows = [assets.row_of_id[i] for i in listed["id"].astype(str)]


def change(paper_ids: list[str], add: bool) -> None:
    """Add or remove papers, then say so (runs as a button callback)."""
    try:
        n = reading.add(paper_ids) if add else reading.remove(paper_ids)
    except PipelineError as exc:
        st.toast(escape(str(exc), "markdown"))
        return
    st.toast(f"{n} paper(s) {'added to' if add else 'removed from'} the reading list")


def open_on_map(paper_id: str) -> None:
    params = {"paper": paper_id}
    if state.param("map"):
        params["map"] = state.param("map")
    st.switch_page("dashboard.py", query_params=params)


st.markdown("## Reading list")
st.caption(f"{len(listed):,} papers listed on {escape(map_path.name, 'markdown')} · kept in "
           f"{escape(reading.db_path.name, 'markdown')} beside the map, so it survives restarts "
           "and rebuilds")
if missing:
    st.warning(f"{len(missing)} listed paper(s) are not on this map any more (it was rebuilt "
               "from other input): " + escape(", ".join(missing[:10]), "markdown"))
    st.button("Remove them from the list", key="rl_drop_missing", on_click=change,
              args=(missing, False))
if not ids:
    st.info("The list is empty. Add papers on the map page: open a paper and press "
            "＋ Reading list, or select papers with a box or lasso and add them all.")
    st.stop()

drawn = overview(docs, assets.priority, where=st, keep=rows)
fig = map_figure(drawn, hover=assets.hover, colour_by="theme",
                 cluster_parent=assets.cluster_parent, uirevision=f"rl-{map_path}", height=460)
add_reading_list(fig, docs, assets.hover, rows)
st.plotly_chart(fig, key="rl_map", theme=None, config={"displaylogo": False,
                                                       "scrollZoom": True})

table = pd.DataFrame({
    "title": [escape(t, "plain", limit=300) for t in listed["title"]],
    "topic": [escape(assets.cluster_names.get(int(c), "unclustered"), "plain")
              for c in listed["cluster"]],
    "theme": [escape(assets.theme_names.get(int(t), ""), "plain") for t in listed["theme"]],
    "year": pd.to_numeric(listed["year"], errors="coerce").astype("Int64"),
    "authors": [escape(a, "plain", limit=200) for a in listed["authors"]],
})
st.markdown("**Listed papers** — select rows to remove them or to find papers like them")
event = st.dataframe(table, hide_index=True, width="stretch", key="rl_table",
                     on_select="rerun", selection_mode="multi-row")
picked_rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
picked = listed["id"].astype(str).iloc[picked_rows].tolist()

cols = st.columns([3, 1, 1])
download_buttons(listed, assets, stem=f"{map_path.name}-reading-list", key="rl_dl",
                 where=cols[0])
cols[1].button(f"Remove {len(picked)} selected", key="rl_remove", disabled=not picked,
               on_click=change, args=(picked, False))
if len(picked) == 1:
    cols[2].button("Open on the map", key="rl_open", on_click=open_on_map, args=(picked[0],))

# ---- papers like these
st.subheader("Papers like these")
basis = picked or listed["id"].astype(str).tolist()
options = st.columns([1, 2, 3])
k = options[0].selectbox("How many", [10, 20, 50], index=1, key="rl_k")
method = options[1].radio(
    "Similar to", ["max", "mean"], horizontal=True, key="rl_method",
    format_func={"max": "any of them", "mean": "all of them (centre)"}.get,
    help="Any: each candidate is scored by its closest listed paper, so a list spanning "
         "topics gets neighbours of each. All: scored against the centre of the list.")
options[2].caption(f"Nearest papers on the map (cosine similarity of embeddings) to the "
                   f"{'selected' if picked else 'listed'} {len(basis)} paper(s), leaving out "
                   "everything already in the list.")
try:
    like = similar_papers(topic_map, basis, k=int(k), method=method, exclude=ids)
except PipelineError as exc:
    st.warning(escape(str(exc), "markdown"))
    st.stop()
found = pd.DataFrame({
    "similarity": like["score"].to_numpy(),
    "title": [escape(t, "plain", limit=300) for t in like["title"]],
    "topic": [escape(v, "plain") for v in like["cluster_label"]],
    "theme": [escape(v, "plain") for v in like["theme_label"]],
    "year": pd.to_numeric(like["year"], errors="coerce").astype("Int64"),
    "near": [escape(listed.set_index("id")["title"].get(b, b), "plain", limit=80) if b else ""
             for b in like["because"]],
})
event = st.dataframe(found, hide_index=True, width="stretch", key="rl_like_table",
                     on_select="rerun", selection_mode="multi-row")
chosen_rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
chosen = like["id"].iloc[chosen_rows].tolist() or like["id"].tolist()
st.button(f"Add {'the ' + str(len(chosen)) + ' selected' if chosen_rows else 'all ' + str(len(chosen))}"
          " to the reading list", key="rl_like_add", on_click=change, args=(chosen, True),
          disabled=not chosen)
summary = by_cluster(like)
st.caption("Where they come from: " + escape("; ".join(
    f"{row.cluster_label} ({row.papers})" for row in summary.head(8).itertuples()), "markdown"))
