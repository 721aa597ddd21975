"""The reading list drawn over a map figure. No streamlit import.

``add_reading_list(fig, view, hover, rows)`` adds one trace named
``"reading list"`` (stars with a dark outline) on top of a figure made by
``ui.figures.map.map_figure``; its ``customdata`` are row positions like the
map's own traces, so clicks and selections on it work the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

TRACE_NAME = "reading list"


def add_reading_list(fig: go.Figure, view: pd.DataFrame, hover: np.ndarray,
                     rows: Sequence[int]) -> go.Figure:
    """Draw the listed papers (``rows``, row positions) that are in ``view`` as stars."""
    shown = np.array([r for r in rows if r in view.index], dtype=np.int64)
    if not len(shown):
        return fig
    part = view.loc[shown]
    kind = go.Scatter if fig.data and fig.data[0].type == "scatter" else go.Scattergl  # as the map
    fig.add_trace(kind(
        x=part["x"].to_numpy(dtype=np.float32), y=part["y"].to_numpy(dtype=np.float32),
        mode="markers", name=TRACE_NAME, customdata=shown.astype(np.int32),
        hovertext=np.array([f"{hover[r]}<br><i>★ in your reading list</i>" for r in shown],
                           dtype=object),
        hovertemplate="%{hovertext}<extra></extra>",
        marker={"size": 15, "symbol": "star", "color": "#facc15",
                "line": {"width": 1.5, "color": "#111827"}},
        showlegend=False))
    return fig
