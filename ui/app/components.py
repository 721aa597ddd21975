"""The overlay on a map chart, as Streamlit components (v2: no iframe, the app's document).

- :func:`overlay`: topic names that follow the zoom, and the dimming of papers a filter
  leaves out, on the ``st.plotly_chart`` with key ``chart`` (``ui/static/zoomlabels.js``,
  the same script the HTML export runs). All of it happens in the browser on Plotly's
  relayout events: zooming reruns nothing.
- :func:`topic_tree`: the topics broad to fine beside the map (``ui/static/topictree.js``);
  clicking one zooms the chart to it at once and tells Python which (a trigger value).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from ui.core.escape import clean
from ui.figures.overlay import LABEL_CHARS, overlay_js, static_js

_MOUNT = "\nexport default (component) => window.TopicMapOverlay.mount(component);\n"
_COMPONENTS: dict[str, object] = {}


def _component(name: str) -> Callable:
    """Register a component once per process (its script is read from ``ui/static``)."""
    if name not in _COMPONENTS:
        if name == "topicmap_overlay":
            js = overlay_js() + _MOUNT
        else:
            js = static_js("topictree.js")
        _COMPONENTS[name] = st.components.v2.component(name, js=js)
    return _COMPONENTS[name]


def overlay(chart: str, payload: dict, view: dict, *, key: str, fit_window: bool = False,
            ) -> None:
    """Names and dimming on the chart whose key is ``chart`` (see ``ui.figures.overlay``);
    ``fit_window``: the chart's height is the window's below its top (the page's CSS reads
    ``--tm-map-top``, which the script sets)."""
    if payload:
        _component("topicmap_overlay")(key=key, data={"chart": chart, "payload": payload,
                                                      "state": view, "fit": fit_window})


def tree_nodes(nodes: pd.DataFrame, counts: np.ndarray | None) -> list[dict]:
    """The tree's rows (``nodes``' order, broad to fine): key, parent key, name, the offline
    name and key phrases as its provenance, sizes, flags, the box to zoom to."""
    levels = nodes.sort_values("depth")["level"].drop_duplicates().tolist()
    rows = []
    for i, row in enumerate(nodes.itertuples(index=False)):
        depth = int(row.depth)
        parent = f"{levels[depth - 1]}:{int(row.parent)}" if depth > 0 else ""
        terms = [clean(t, limit=40) for t in list(row.terms)[:6]] if row.terms is not None \
            else []
        rows.append({
            "k": str(row.key), "p": parent, "d": depth, "t": clean(row.label, limit=LABEL_CHARS),
            "o": clean(row.offline_label, limit=LABEL_CHARS) if row.alt_name else "",
            "desc": clean(row.description, limit=240) if row.alt_name else "",
            "terms": terms, "s": int(row.size),
            "v": None if counts is None else int(counts[i]),
            "w": bool(row.weak_name), "f": bool(row.fragile)})
    return rows


def topic_tree(chart: str, rows: list[dict], boxes: dict[str, list], colours: dict[str, str],
               *, selected: str, key: str, on_select: Callable[[], None]) -> object:
    """The topic tree; returns the component's result (``.select``: the node clicked)."""
    return _component("topicmap_tree")(
        key=key, data={"chart": chart, "nodes": rows, "boxes": boxes, "colours": colours,
                       "selected": selected},
        on_select_change=on_select)
