"""Reading list: the papers picked on this map, on the map as stars, exported, and papers like them.

The list is kept beside the map (``maps/NAME.reading-list.sqlite3``), so it
survives restarts of the app and rebuilds of the map.
"""

from __future__ import annotations

import streamlit as st

from ui.app import nav
from ui.app.context import map_context
from ui.app.exports import download_buttons
from ui.app.paper import change_reading_list
from ui.app.reading import listed_papers, papers_like, where_they_come_from
from ui.app.sidebar import overview
from ui.app.tables import listed_frame, show_table, similar_frame
from ui.core.escape import escape
from ui.figures.map import map_figure
from ui.figures.readinglist import add_reading_list

context = map_context()
docs, assets = context.documents, context.assets
listed = listed_papers(context)


def change(paper_ids: list[str], add: bool) -> None:
    change_reading_list(context.path, paper_ids, add)


st.markdown("## Reading list")
st.caption(f"{len(listed.papers):,} papers listed on {escape(context.name, 'markdown')} · kept "
           f"in {escape(listed.store_name, 'markdown')} beside the map, so it survives "
           "restarts and rebuilds")
if listed.missing:
    st.warning(f"{len(listed.missing)} listed paper(s) are not on this map any more (it was "
               "rebuilt from other input): " + escape(", ".join(listed.missing[:10]), "markdown"))
    st.button("Remove them from the list", key="rl_drop_missing", on_click=change,
              args=(listed.missing, False))
if not listed.ids:
    st.info("The list is empty. Add papers on the map page: open a paper and press "
            "*Reading list*, or select papers with a box or lasso and add them all.")
    st.stop()

drawn = overview(docs, assets.priority, where=st, keep=listed.rows)
fig = map_figure(drawn, hover=assets.hover, colour_by="theme",
                 cluster_parent=assets.cluster_parent, uirevision=f"rl-{context.path}",
                 height=460)
add_reading_list(fig, docs, assets.hover, listed.rows)
st.plotly_chart(fig, key="rl_map", theme=None, config={"displaylogo": False,
                                                       "scrollZoom": True})

st.markdown("**Listed papers** — select rows to remove them or to find papers like them")
picked_rows = show_table(listed_frame(listed.papers, assets), key="rl_table",
                         select="multi-row")
picked = listed.papers["id"].astype(str).iloc[picked_rows].tolist()

cols = st.columns([3, 1, 1])
download_buttons(listed.papers, assets, stem=f"{context.name}-reading-list", key="rl_dl",
                 where=cols[0])
cols[1].button(f"Remove {len(picked)} selected", key="rl_remove", disabled=not picked,
               on_click=change, args=(picked, False))
if len(picked) == 1:
    nav.page_link(cols[2], nav.MAP, "Open on the map", paper=picked[0])

# ---- papers like these
st.subheader("Papers like these")
basis = picked or listed.papers["id"].astype(str).tolist()
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
like = papers_like(context, basis, k=int(k), method=method, exclude=listed.ids)
chosen_rows = show_table(similar_frame(like, listed.papers), key="rl_like_table",
                         select="multi-row")
chosen = like["id"].iloc[chosen_rows].tolist() or like["id"].tolist()
st.button(f"Add {'the ' + str(len(chosen)) + ' selected' if chosen_rows else 'all ' + str(len(chosen))}"
          " to the reading list", key="rl_like_add", on_click=change, args=(chosen, True),
          disabled=not chosen)
st.caption("Where they come from: " + where_they_come_from(like))
