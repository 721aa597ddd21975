"""Figures of a map's topics: a topic's key terms, and every layer as a treemap.

No streamlit import: builders return Plotly figures; data text is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from ui.core.escape import escape
from ui.core.nodes import node_table

from .map import FONT, NOISE_COLOUR, shade, theme_colours


def terms_figure(terms: Sequence[str], weights: Sequence[float], *, colour: str = "#1f77b4",
                 height: int | None = None) -> go.Figure:
    """Horizontal bars of the phrases a topic's name was chosen from, by naming score, best
    on top."""
    terms = [escape(t, limit=40) for t in terms]
    weights = [float(w) for w in weights]
    fig = go.Figure(go.Bar(x=weights[::-1], y=terms[::-1], orientation="h",
                           marker={"color": colour}, hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(
        template="none", height=height or max(160, 26 * len(terms) + 40),
        margin={"l": 8, "r": 8, "t": 8, "b": 30}, font={"family": FONT, "size": 12},
        xaxis={"title": {"text": "naming score"}, "showgrid": True, "gridcolor": "#eceef1",
               "zeroline": False},
        yaxis={"automargin": True}, paper_bgcolor="#ffffff", plot_bgcolor="#ffffff",
        bargap=0.25)
    return fig


def topics_treemap(clusters: pd.DataFrame) -> go.Figure:
    """Every layer's topics as nested rectangles sized by papers, broad outside, fine
    inside (``clusters`` as ``ui.core.nodes.node_table`` gives it).

    A topic's area includes the papers its sub-topics leave unclustered, shown as the
    space they leave free.
    """
    if "depth" not in clusters.columns:
        clusters = node_table(clusters)
    nodes = clusters.sort_values(["depth", "size", "id"], ascending=[True, False, True])
    levels = nodes.drop_duplicates("level").sort_values("depth")["level"].tolist()
    base = theme_colours(sorted(set(nodes["theme"].astype(int))))
    ids, labels, parents, values, colours, data = [], [], [], [], [], []
    for row in nodes.itertuples(index=False):
        depth = int(row.depth)
        ids.append(str(row.key))
        labels.append(escape(row.label, limit=60))
        parents.append(f"{levels[depth - 1]}:{int(row.parent)}" if depth else "")
        values.append(int(row.size))
        colours.append(shade(base.get(int(row.theme), NOISE_COLOUR), 0.12 * min(depth, 3)))
        data.append([str(row.level), int(row.id)])
    fig = go.Figure(go.Treemap(
        ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
        customdata=data, marker={"colors": colours, "line": {"width": 1, "color": "#ffffff"}},
        texttemplate="%{label}<br>%{value} papers", hovertemplate="%{label}<br>%{value} papers"
        "<extra></extra>", textfont={"family": FONT}, tiling={"pad": 2}, maxdepth=3))
    fig.update_layout(template="none", height=560, margin={"l": 4, "r": 4, "t": 4, "b": 4},
                      font={"family": FONT, "size": 13})
    return fig
