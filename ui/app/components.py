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
import streamlit as st

from ui.figures.overlay import overlay_js, static_js

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


def tree_nodes(rows: list[dict], counts: np.ndarray | None) -> list[dict]:
    """The tree's rows (``ui.figures.overlay.tree_rows``, cached per map) with the visible
    papers of each node (``counts``, in the same order; None when nothing is filtered)."""
    if counts is None:
        return rows
    return [{**row, "v": int(n)} for row, n in zip(rows, counts, strict=True)]


def topic_tree(chart: str, rows: list[dict], boxes: dict[str, list], colours: dict[str, str],
               *, selected: str, key: str, on_select: Callable[[], None]) -> object:
    """The topic tree; returns the component's result (``.select``: the node clicked)."""
    return _component("topicmap_tree")(
        key=key, data={"chart": chart, "nodes": rows, "boxes": boxes, "colours": colours,
                       "selected": selected},
        on_select_change=on_select)
