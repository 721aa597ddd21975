"""The paper panel: one paper's abstract, details, reading-list button and neighbours;
and what a click or a box on the map does (open a paper, select papers).

The open paper lives in the session (``view_paper``) and the URL (``?paper=ID``).
Text from the data goes through :func:`ui.core.escape.escape`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from pipeline.errors import PipelineError
from pipeline.review.readinglist import ReadingList
from ui.core.escape import escape, safe_url
from ui.core.events import selected_rows_from_event, selection_region
from ui.core.latex import readable
from ui.core.view import nearest_neighbours, rows_in_region

from . import state
from .context import MapContext
from .loaders import MapAssets

PAPER_KEY = "view_paper"
SELECTION_KEY = "view_selection"
CHART_KEY = "map_chart"
ABSTRACT_PANEL_CHARS = 20000
#: The panel's height (the map's), and the abstract's box when it is longer than this.
PANEL_HEIGHT = 640
LONG_ABSTRACT_CHARS = 900
ABSTRACT_BOX_HEIGHT = 150
# Static code (only the row number, an int, changes): once the panel of paper ROW is
# drawn, bring its top into sight below Streamlit's top bar if the page is scrolled
# past it, and show the panel from its title.
_REVEAL_JS = """<script>
(() => {
  let tries = 0;
  const reveal = () => {
    const panel = document.querySelector('.st-key-view_panel_ROW');
    if (!panel) { if (tries++ < 60) setTimeout(reveal, 50); return; }
    panel.scrollTop = 0;
    if (panel.getBoundingClientRect().top < 64) {
      panel.style.scrollMarginTop = '4.5rem';
      panel.scrollIntoView({block: 'start'});
    }
  };
  reveal();
})();
</script>"""


def open_paper(paper_id: str | None) -> None:
    """Open the panel of ``paper_id`` (``None`` closes it) and put it in the URL."""
    st.session_state[PAPER_KEY] = paper_id
    state.set_params(paper=paper_id)


def current_paper_row(assets: MapAssets) -> int | None:
    """Row position of the open paper (seeded from ``?paper=``), if any."""
    state.seed(PAPER_KEY, state.param("paper") or None)
    paper_id = st.session_state.get(PAPER_KEY)
    if paper_id is None:
        return None
    return assets.row_of_id.get(str(paper_id))


def paper_panel(context: MapContext, row: int, *, height: int = PANEL_HEIGHT) -> None:
    """Full abstract, authors, year, link and the 10 nearest papers of paper ``row``.

    The panel is ``height`` pixels high (the map's height) and scrolls on its own, and it
    is drawn anew for each paper, so an opened paper always shows from its title; a long
    abstract scrolls in a box of its own, so the nearest papers stay in sight.
    """
    documents, assets = context.documents, context.assets
    doc = documents.iloc[row]
    with st.container(height=height, border=False, key=f"view_panel_{row}"):
        head, close = st.columns([9, 1], vertical_alignment="top")
        head.markdown(f"**{escape(readable(doc['title']), 'markdown', limit=400)}**")
        close.button("", icon=":material/close:", key="view_close_paper", type="tertiary",
                     help="Close this paper", on_click=open_paper, args=(None,))
        meta = []
        if str(doc.get("authors") or "").strip() and str(doc.get("authors")) != "nan":
            meta.append(escape(doc["authors"], "markdown", limit=600))
        if pd.notna(doc.get("year")):
            meta.append(str(int(doc["year"])))
        st.caption(" · ".join(meta) or "no authors or year given")
        cluster = int(doc["cluster"])
        topic = (assets.cluster_names.get(cluster, "") if cluster >= 0 else "unclustered")
        st.caption("Topic: " + escape(topic, "markdown") + " · theme: "
                   + escape(assets.theme_names.get(int(doc["theme"]), ""), "markdown"))
        with st.container(horizontal=True, gap="small"):
            url = safe_url(doc.get("url"))
            if url:
                st.link_button("Open paper", url, icon=":material/open_in_new:")
            reading_list_button(context.path, str(doc["id"]))
        abstract = readable(doc.get("abstract") or "")
        text = escape(abstract, "markdown", limit=ABSTRACT_PANEL_CHARS)
        if len(abstract) > LONG_ABSTRACT_CHARS:
            with st.container(height=ABSTRACT_BOX_HEIGHT, border=False, key="view_abstract"):
                st.markdown(text)
        else:
            st.markdown(text)
        if len(abstract) > ABSTRACT_PANEL_CHARS:
            st.caption(f"Abstract cut at {ABSTRACT_PANEL_CHARS:,} of {len(abstract):,} "
                       "characters.")
        st.markdown("**Nearest papers**")
        rows, scores = nearest_neighbours(context.topic_map.embeddings, row, k=10)
        ids = documents["id"].astype(str).to_numpy()
        titles = documents["title"].to_numpy()
        for rank, (other, score) in enumerate(zip(rows, scores, strict=True)):
            st.button(f"{score:.2f} · {escape(readable(titles[other]), 'markdown', limit=90)}",
                      key=f"view_nb_{rank}", on_click=open_paper, args=(str(ids[other]),),
                      width="stretch", type="tertiary")
        # Opened from a neighbour further down, the page may be scrolled past the title.
        st.html(_REVEAL_JS.replace("ROW", str(int(row))), unsafe_allow_javascript=True)


# --------------------------------------------------------------------------- the map's clicks


def map_select_callback(ids: np.ndarray, *, sampled_view: pd.DataFrame | None = None,
                        ) -> Callable[[], None]:
    """The ``on_select`` callback of the map: a click opens a paper, an area selects papers.

    ``ids``: each paper's id by row position (``MapAssets.ids``). ``sampled_view``: the
    whole view when the map draws only a sample of it (overview); a box or lasso then
    selects every paper of the view inside the region.
    """

    def _callback() -> None:
        event = st.session_state.get(CHART_KEY)
        kind, rows = selected_rows_from_event(event)
        if kind == "area" and sampled_view is not None:
            region = selection_region(event)
            if region:
                rows = rows_in_region(sampled_view, **region).tolist()
        rows = [r for r in rows if 0 <= r < len(ids)]
        if kind == "click" and rows:
            open_paper(str(ids[rows[0]]))
        elif kind == "area":
            st.session_state[SELECTION_KEY] = rows
        else:
            st.session_state[SELECTION_KEY] = []

    return _callback


# --------------------------------------------------------------------------- reading list


def reading_list_button(map_path: Path, paper_id: str, where: object = None) -> None:
    """Add one paper to the map's reading list, or remove it when it is listed.

    Icons are Streamlit's bundled Material icons: a plus sign as text needs a font
    the reader may not have.
    """
    target = where or st
    try:
        present = paper_id in ReadingList(map_path)
    except PipelineError as exc:
        target.caption("Reading list unavailable: " + escape(str(exc), "markdown"))
        return
    if present:
        target.button("Listed (remove)", icon=":material/bookmark_added:", key="view_rl_remove",
                      help="In this map's reading list; click to remove it",
                      on_click=change_reading_list, args=(map_path, [paper_id], False))
    else:
        target.button("Reading list", icon=":material/bookmark_add:", key="view_rl_add",
                      help="Add to this map's reading list",
                      on_click=change_reading_list, args=(map_path, [paper_id], True))


def add_to_reading_list_button(map_path: Path, paper_ids: Sequence[str], *, key: str,
                               where: object = None) -> None:
    """One button adding many papers (a selection) to the map's reading list."""
    (where or st).button(f"Add {len(paper_ids):,} to reading list", key=key,
                         on_click=change_reading_list, args=(map_path, list(paper_ids), True))


def reading_list_rows(map_path: Path, assets: MapAssets) -> list[int]:
    """Row positions of the map's reading-list papers (empty if the list cannot be read)."""
    try:
        ids = ReadingList(map_path).ids()
    except PipelineError:
        return []
    return [assets.row_of_id[i] for i in ids if i in assets.row_of_id]


def change_reading_list(map_path: Path, paper_ids: list[str], add: bool) -> None:
    """Add or remove papers, then say so in a toast (a button callback)."""
    try:
        reading_list = ReadingList(map_path)
        changed = reading_list.add(paper_ids) if add else reading_list.remove(paper_ids)
    except PipelineError as exc:
        st.toast("Reading list unavailable: " + escape(str(exc), "markdown"))
        return
    verb = "added to" if add else "removed from"
    st.toast(f"{changed} paper(s) {verb} the reading list")
