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
from ui.core.events import clicked_id, first_point

from .map import FONT, NOISE_COLOUR, THEME_PALETTE

STATUS_MARK = {"emerging": "▲ ", "declining": "▼ "}


def shown_groups(report: TrendReport, *, top: int = 12) -> list[int]:
    """The groups worth a line: every flagged one, then the largest, ``top`` in all at most."""
    table = report.table
    flagged = table[table["status"].isin(["emerging", "declining"])]["group"].tolist()
    rest = table[~table["group"].isin(flagged)].sort_values("papers", ascending=False)
    return [*flagged, *rest["group"].tolist()][: max(top, len(flagged))]


def thin_years(report: TrendReport) -> list[int]:
    """Years with fewer papers than the rule's ``min_year_papers`` (none included): a
    share of 2 papers says nothing (one paper is 50%), so the lines skip them (the bars of
    :func:`papers_per_year_figure` show them)."""
    totals = report.counts.sum(axis=1)
    return [int(y) for y in totals.index if totals[y] < report.rule.min_year_papers]


def describe_years(years: list[int]) -> str:
    """"2001, 2003–2005 and 2008": years as short runs."""
    runs: list[list[int]] = []
    for y in sorted(years):
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    parts = [f"{r[0]}" if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def shares_figure(report: TrendReport, *, groups: list[int] | None = None,
                  selected: int | None = None, colours: Mapping[int, str] | None = None,
                  height: int = 460) -> go.Figure:
    """Each group's share of the year's papers (percent), one line per group.

    Emerging and declining groups are marked ▲/▼ in the legend; the years the
    rule fitted are shaded; ``selected`` is drawn thick and the others faded. Years with
    too few papers for a share (:func:`thin_years`) are gaps in the lines. Each point
    carries ``[group, papers, year]`` as its ``customdata`` (:func:`clicked_point`).
    """
    groups = groups if groups is not None else shown_groups(report)
    table = report.table.set_index("group")
    years = report.shares.index.to_numpy()
    thin = np.isin(years, thin_years(report))
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
            x=years, y=np.where(thin, np.nan, 100 * report.shares[group].to_numpy()),
            mode="lines+markers", name=STATUS_MARK.get(row["status"], "") + label,
            customdata=np.column_stack([np.full(len(years), group),
                                        report.counts[group].to_numpy(), years]).astype(int),
            hovertemplate=(f"<b>{label}</b><br>%{{x}}: %{{y:.1f}}% of the year's papers "
                           "(%{customdata[1]}); click to map them<extra></extra>"),
            line={"color": colour, "width": 4 if selected == group else 2,
                  "dash": "dot" if group < 0 else "solid"},
            marker={"size": 7 if emphasis else 4, "color": colour},
            opacity=1.0 if emphasis else 0.3, connectgaps=False,
        ))
    if report.window_years:
        fig.add_vrect(x0=report.window_years[0] - 0.5, x1=report.window_years[-1] + 0.5,
                      fillcolor="#e5e7eb", opacity=0.45, line_width=0, layer="below",
                      annotation_text="trend window", annotation_position="top left",
                      annotation_font={"size": 11, "color": "#4b5563"})
    fig.update_layout(
        height=height, margin={"l": 60, "r": 10, "t": 30, "b": 40}, font={"family": FONT},
        plot_bgcolor="white", paper_bgcolor="white", hovermode="closest", clickmode="event",
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.14, "yanchor": "top",
                "font": {"size": 11}},
        xaxis={"title": None, "dtick": _tick(len(years)), "gridcolor": "#f1f5f9",
               # the years with a share, not the thin ones before and after them
               **({"range": [float(years[~thin].min()) - 0.5, float(years[~thin].max()) + 0.5]}
                  if (~thin).any() else {})},
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


def clicked_point(event: object) -> tuple[int, int] | None:
    """``(group, year)`` of the point clicked in :func:`shares_figure`, if any (the year
    is the point's third ``customdata`` value: a point, not the whole line, was clicked)."""
    group, point = clicked_id(event), first_point(event)
    data = point.get("customdata") if point is not None and group is not None else None
    if isinstance(data, dict):
        data = [data.get(str(i), data.get(i)) for i in range(3)]
    if not isinstance(data, (list, tuple)) or len(data) < 3:
        return None
    try:
        year = int(data[2])
    except (TypeError, ValueError):
        return None
    return int(group), year


def _tick(n_years: int) -> int:
    return 1 if n_years <= 12 else 2 if n_years <= 24 else 5
