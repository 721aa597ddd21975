"""The map page's fragment: the filters, search and everything that follows them.

A filter change or a search reruns only :func:`explore` (``st.fragment``), never the page:
the map's figure stays in the browser as it is, zoom included; the papers left out are
dimmed there and the search hits marked (``ui.app.components.overlay``); the counts, the
caption, the topic tree, the hits, the selection and the downloads are redrawn from the
cached map. Only a big map's overview sample, which the figure draws, makes the fragment
ask for a rerun of the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.core.escape import escape
from ui.core.nodes import children, member_mask, node, visible_counts
from ui.core.view import BROADEST, FINEST, Filters, describe_counts, filter_mask
from ui.figures.overlay import view_state

from . import nav, state
from .components import overlay, topic_tree, tree_nodes
from .context import MapContext
from .exports import download_buttons, take_it_away
from .paper import CHART_KEY, SELECTION_KEY, add_to_reading_list_button
from .search import (
    run_search,
    search_box,
    search_hits,
    search_marks,
    search_note,
    search_pending,
    wait_for_model,
)
from .sidebar import FOCUS_KEY, FOCUS_URL_KEY, ZOOM_KEY, filter_widgets
from .tables import papers_table


@dataclass
class Slots:
    """Where the fragment writes: containers the page created in its full run. ``side``
    holds the search hits and the tree (``tree`` only the tree, when a paper is open)."""

    filters: object
    caption: object
    search: object
    notices: object
    overlay: object
    side: object | None
    tree: object
    below: object


@dataclass
class FullRun:
    """What the page's last full run drew with: a fragment that needs another figure
    (another overview sample of a big map) reruns the page."""

    filters: Filters
    focus: str
    sampled: bool
    figure: go.Figure | None = None

    def stale(self, filters: Filters, focus: str) -> bool:
        return self.sampled and (filters, focus) != (self.filters, self.focus)


def focus_key(context: MapContext) -> str:
    """The topic in focus (clicked in the tree or from ``?node=``), if it exists."""
    key = str(st.session_state.get(FOCUS_KEY) or "")
    return key if key and node(context.assets.nodes, key) is not None else ""


def view_mask(context: MapContext, filters: Filters, focus: str) -> np.ndarray:
    """Which papers the filters and the topic in focus let through."""
    docs = context.documents
    mask = filter_mask(docs, filters, word_mask=context.assets.word_masks)
    return mask & member_mask(docs, focus) if focus else mask


def _choose(key: str) -> None:
    """Tree callback: the topic clicked (or "" to let go) goes in focus and the URL."""
    result = st.session_state.get("view_tree") or {}
    chosen = result.get("select") if hasattr(result, "get") else None
    if chosen is None:
        return
    set_focus(str(chosen))


def set_focus(key: str) -> None:
    """Put topic ``key`` in focus ("" = none), in the session and the URL."""
    st.session_state[FOCUS_KEY] = st.session_state[FOCUS_URL_KEY] = key
    state.set_params(node=key)


def _clear_focus() -> None:
    set_focus("")


@st.fragment
def explore(context: MapContext, slots: Slots, full: FullRun, label_mode: str) -> None:
    """Filters -> papers shown: caption, dimming and names on the map, tree, selection."""
    docs, assets = context.documents, context.assets
    filters = filter_widgets(context, slots.filters)
    query, k = search_box(slots.search)
    focus = focus_key(context)
    if full.stale(filters, focus):
        st.rerun()  # the figure itself changes (a big map's overview sample)
    mask = view_mask(context, filters, focus)
    filtered = not bool(mask.all())
    view = docs[mask]
    nodes = assets.nodes
    # The search model loads in the background from the moment the map was drawn: a
    # query typed before it is there shows the map at once and its hits a moment later.
    pending = search_pending(context, query)
    search = run_search(context, "" if pending else query, k=k, rows=np.flatnonzero(mask))
    found = search.rows
    # An outside container must get the fragment's writes on every run: a placeholder.
    note = slots.notices.empty()
    search_note(note, search)
    if pending:
        note.info("The search model is still loading (once per server); your results appear "
                  "here in a moment.")
    counts = visible_counts(docs, nodes, mask if filtered else None)
    _caption(context, slots.caption, len(view), counts)
    forced = ([f"{BROADEST}:{t}" for t in filters.themes]
              + [f"{FINEST}:{c}" for c in filters.clusters] + ([focus] if focus else []))
    reveal = children(nodes, focus)["key"].tolist() if focus else []
    state = view_state(docs, nodes, mask if filtered else None, focus=forced, mode=label_mode,
                       counts=counts)  # the export's; the page adds what is on screen only
    with slots.overlay:
        overlay(CHART_KEY, assets.overlay,
                {**state, "reveal": reveal, "zoom": dict(st.session_state.get(ZOOM_KEY) or {})
                 or None, "hits": []},
                key="view_overlay", fit_window=True)
        search_marks(CHART_KEY, docs, search, key="view_search_marks")
    tree_box = slots.tree
    if slots.side is not None and len(found):
        hits_tab, tree_box = slots.side.tabs(["Search results", "Topics"])
        with hits_tab:
            search_hits(docs, search)
    elif slots.side is not None:
        tree_box = slots.side
    with tree_box:
        _tree(context, focus, counts if filtered else None)
    with slots.below:
        if len(found):
            st.subheader("Search results")
            papers_table(docs.iloc[found], assets, key="view_hits_table",
                         scores=search.similarity)
        _selection(context, mask)
        take_it_away(view, assets, full.figure, name=context.name, title=context.title,
                     overlay_state=state)
    set_focus(focus)
    if pending:
        wait_for_model(context)
        st.rerun()  # once, when the model has just arrived


def _caption(context: MapContext, where: object, n_shown: int, counts: np.ndarray) -> None:
    nodes = context.assets.nodes
    fine, broad = (nodes["level"] == FINEST).to_numpy(), (nodes["level"] == BROADEST).to_numpy()
    n_docs = len(context.documents)
    if n_shown == n_docs:
        topics = f"{int(fine.sum())} clusters in {int(broad.sum())} themes"
    else:
        topics = (f"{int((counts[fine] > 0).sum())} of {int(fine.sum())} clusters and "
                  f"{int((counts[broad] > 0).sum())} of {int(broad.sum())} themes in view; "
                  "the rest is dimmed")
    where.caption(
        f"Showing {describe_counts(n_shown, n_docs)} · {topics} · model "
        f"{escape(context.topic_map.model_name, 'markdown')}"
        " · click a point to read it, drag a box or lasso to select papers"
        + (" · names in *italics* are weak: few of their papers write them, or no one "
           "name covers the topic (the topic tree says why)"
           if bool((nodes["weak_name"] & ~nodes["alt_name"]).any()) else ""))


def _tree(context: MapContext, focus: str, counts: np.ndarray | None) -> None:
    nodes = context.assets.nodes
    if focus:
        row = node(nodes, focus)
        st.markdown(f"**{escape(row['label'], 'markdown', limit=80)}** · "
                    f"{int(row['size']):,} papers")
        with st.container(horizontal=True, gap="small", vertical_alignment="center"):
            nav.page_link(st, nav.DRILL_DOWN, "Its sub-topics", drill=focus)
            st.button("Let go", icon=":material/close:", key="view_focus_clear",
                      type="tertiary", help="Show the whole map again (the zoom stays)",
                      on_click=_clear_focus)
    assets = context.assets
    boxes = {str(item["k"]): item["b"] for item in assets.overlay.get("labels", [])}
    topic_tree(CHART_KEY, tree_nodes(assets.tree, counts), boxes, assets.tree_colours,
               selected=focus, key="view_tree", on_select=lambda: _choose("view_tree"))


def _selection(context: MapContext, mask: np.ndarray) -> None:
    """The papers selected with a box or lasso that the filters let through."""
    docs, assets = context.documents, context.assets
    selection = [r for r in st.session_state.get(SELECTION_KEY, [])
                 if 0 <= r < len(docs) and mask[r]]
    if not selection:
        return
    st.subheader(f"Selected papers ({len(selection):,})")
    chosen = docs.iloc[np.array(selection, dtype=np.int64)]
    papers_table(chosen, assets, key="view_selection_table", height=320)
    cols = st.columns([3, 1, 1])
    download_buttons(chosen, assets, stem=f"{context.name}-selection", key="dl_sel",
                     where=cols[0])
    add_to_reading_list_button(context.path, chosen["id"].astype(str).tolist(),
                               key="view_rl_sel", where=cols[1])
    cols[2].button("Clear selection", key="view_clear_sel",
                   on_click=lambda: st.session_state.update({SELECTION_KEY: []}))
