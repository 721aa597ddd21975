"""Figures of themes over time. No streamlit import: builders return Plotly figures.

Data text (theme labels) is escaped here; callers pass raw text. Each line's
points carry the group id as ``customdata`` so a click on the chart can filter
the map to that theme.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from pipeline.review.trends import TrendReport
from ui.core.escape import escape
from ui.core.events import clicked_id

from .map import FONT, NOISE_COLOUR, THEME_PALETTE

STATUS_MARK = {"emerging": "▲ ", "declining": "▼ "}


def shown_groups(report: TrendReport, *, top: int = 12) -> list[int]:
    """The groups worth a line: every flagged one, then the largest, ``top`` in all at most."""
    table = report.table
    flagged = table[table["status"].isin(["emerging", "declining"])]["group"].tolist()
    rest = table[~table["group"].isin(flagged)].sort_values("papers", ascending=False)
    return [*flagged, *rest["group"].tolist()][: max(top, len(flagged))]


def shares_figure(report: TrendReport, *, groups: list[int] | None = None,
                  selected: int | None = None, colours: Mapping[int, str] | None = None,
                  height: int = 460) -> go.Figure:
    """Each group's share of the year's papers (percent), one line per group.

    Emerging and declining groups are marked ▲/▼ in the legend; the years the
    rule fitted are shaded; ``selected`` is drawn thick and the others faded.
    """
    groups = groups if groups is not None else shown_groups(report)
    table = report.table.set_index("group")
    years = report.shares.index.to_numpy()
    fig = go.Figure()
    for i, group in enumerate(groups):
        if group not in report.shares.columns:
            continue
        row = table.loc[group]
        colour = (NOISE_COLOUR if group < 0 else
                  (colours or {}).get(group, THEME_PALETTE[i % len(THEME_PALETTE)]))
        label = escape("unclustered" if group < 0 else row["label"], "html", limit=48)
        emphasis = selected is None or selected == group
        fig.add_trace(go.Scatter(
            x=years, y=100 * report.shares[group].to_numpy(), mode="lines+markers",
            name=STATUS_MARK.get(row["status"], "") + label,
            customdata=np.column_stack([np.full(len(years), group),
                                        report.counts[group].to_numpy()]).astype(int),
            hovertemplate=(f"<b>{label}</b><br>%{{x}}: %{{y:.1f}}% of the year's papers "
                           "(%{customdata[1]})<extra></extra>"),
            line={"color": colour, "width": 4 if selected == group else 2,
                  "dash": "dot" if group < 0 else "solid"},
            marker={"size": 6 if emphasis else 4, "color": colour},
            opacity=1.0 if emphasis else 0.3,
        ))
    if report.window_years:
        fig.add_vrect(x0=report.window_years[0] - 0.5, x1=report.window_years[-1] + 0.5,
                      fillcolor="#e5e7eb", opacity=0.45, line_width=0, layer="below",
                      annotation_text="trend window", annotation_position="top left",
                      annotation_font={"size": 11, "color": "#4b5563"})
    fig.update_layout(
        height=height, margin={"l": 70, "r": 10, "t": 30, "b": 50}, font={"family": FONT},
        plot_bgcolor="white", paper_bgcolor="white", hovermode="closest", clickmode="event",
        legend={"title": {"text": "click a point to filter the map"}, "font": {"size": 11}},
        xaxis={"title": "year", "dtick": _tick(len(years)), "gridcolor": "#f1f5f9"},
        yaxis={"title": "share of the year's papers (%)", "gridcolor": "#f1f5f9",
               "rangemode": "tozero"},
    )
    return fig


def papers_per_year_figure(report: TrendReport, *, height: int = 180) -> go.Figure:
    """Dated papers per year; years too thin for the rule are grey."""
    totals = report.counts.sum(axis=1)
    thin = totals < report.rule.min_year_papers
    fig = go.Figure(go.Bar(
        x=totals.index.to_numpy(), y=totals.to_numpy(),
        marker={"color": np.where(thin, NOISE_COLOUR, "#4c78a8").tolist()},
        hovertemplate="%{x}: %{y} papers<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 70, "r": 10, "t": 10, "b": 30},
                      font={"family": FONT}, plot_bgcolor="white", paper_bgcolor="white",
                      xaxis={"dtick": _tick(len(totals))}, yaxis={"title": "papers"},
                      showlegend=False)
    return fig


def clicked_group(event: object) -> int | None:
    """The group id of the point clicked in :func:`shares_figure`, if any."""
    return clicked_id(event)


def _tick(n_years: int) -> int:
    return 1 if n_years <= 12 else 2 if n_years <= 24 else 5
