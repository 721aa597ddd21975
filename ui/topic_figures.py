"""Figures of a map's topics: a topic's key terms, and themes with clusters as a treemap.

No streamlit import: builders return Plotly figures; data text is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from .escape import escape
from .figures import FONT, NOISE_COLOUR, cluster_colours, theme_colours


def terms_figure(terms: Sequence[str], weights: Sequence[float], *, colour: str = "#1f77b4",
                 height: int | None = None) -> go.Figure:
    """Horizontal bars of a topic's key terms by c-TF-IDF weight, strongest on top."""
    terms = [escape(t, limit=40) for t in terms]
    weights = [float(w) for w in weights]
    fig = go.Figure(go.Bar(x=weights[::-1], y=terms[::-1], orientation="h",
                           marker={"color": colour}, hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(
        template="none", height=height or max(160, 26 * len(terms) + 40),
        margin={"l": 8, "r": 8, "t": 8, "b": 30}, font={"family": FONT, "size": 12},
        xaxis={"title": {"text": "c-TF-IDF weight"}, "showgrid": True, "gridcolor": "#eceef1",
               "zeroline": False},
        yaxis={"automargin": True}, paper_bgcolor="#ffffff", plot_bgcolor="#ffffff",
        bargap=0.25)
    return fig


def topics_treemap(clusters: pd.DataFrame) -> go.Figure:
    """Themes and their clusters as nested rectangles sized by papers.

    A theme's area includes its unclustered papers, shown as the space its
    clusters leave free.
    """
    themes = clusters[clusters["level"] == "theme"]
    fine = clusters[clusters["level"] == "cluster"]
    ids, labels, parents, values, colours, data = [], [], [], [], [], []
    base = theme_colours(themes["id"].tolist())
    shades = cluster_colours(dict(zip(fine["id"].astype(int), fine["parent"].astype(int),
                                      strict=True)))
    for row in themes.itertuples(index=False):
        ids.append(f"t{row.id}")
        labels.append(escape(row.label, limit=60))
        parents.append("")
        values.append(int(row.size))
        colours.append(base[int(row.id)])
        data.append(["theme", int(row.id)])
    for row in fine.itertuples(index=False):
        ids.append(f"c{row.id}")
        labels.append(escape(row.label, limit=60))
        parents.append(f"t{row.parent}")
        values.append(int(row.size))
        colours.append(shades.get(int(row.id), NOISE_COLOUR))
        data.append(["cluster", int(row.id)])
    fig = go.Figure(go.Treemap(
        ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
        customdata=data, marker={"colors": colours, "line": {"width": 1, "color": "#ffffff"}},
        texttemplate="%{label}<br>%{value} papers", hovertemplate="%{label}<br>%{value} papers"
        "<extra></extra>", textfont={"family": FONT}, tiling={"pad": 2}))
    fig.update_layout(template="none", height=560, margin={"l": 4, "r": 4, "t": 4, "b": 4},
                      font={"family": FONT, "size": 13})
    return fig
