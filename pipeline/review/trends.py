"""Themes over time: each theme's share of the papers per year, and which rise or fall.

Any layer of the map can be followed (``level``: ``theme``, the broadest, by
default; ``layer_1`` ...; ``cluster``, the finest). A topic's **share** in a
year is the fraction of that year's dated papers that belong to it (every
layer but the finest places every paper, so the shares of a year add up to 1;
at the ``cluster`` level the noise papers are a group of their own).

**Rule for emerging and declining** (``TrendRule``; the defaults are stated here
and in the README):

1. The *window* is the last ``window`` years (default 5) among the years that
   have at least ``min_year_papers`` dated papers (default 20), so a thin
   trailing year (a partial year, a venue missing) does not decide the trend.
   With fewer than 3 such years nothing is flagged (status ``too few years``).
2. A theme is judged only if it has at least ``min_papers`` papers inside the
   window (default 20); smaller ones are ``too small``. At the cluster level the
   noise papers are shown as a group but never flagged (status ``noise``).
3. Its **slope** is the least-squares slope of its share against the year over
   the window, in percentage points per year.
4. It is **emerging** if the slope is at least ``min_slope`` (default +1.0
   point a year), **declining** if it is at most ``-min_slope``, else **stable**.

The table also gives the fitted share at the start and end of the window and
the share over the whole map, so each flag comes with its numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError

#: The documents columns that hold a layer (see pipeline.mapdir.store).
_LEVEL = re.compile(r"cluster|layer_\d+|theme")
STATUSES = ("emerging", "declining", "stable", "too small", "too few years", "noise")


@dataclass
class TrendRule:
    """The emerging/declining rule's settings (see the module docstring)."""

    window: int = 5
    min_year_papers: int = 20
    min_papers: int = 20
    min_slope: float = 1.0  # percentage points of share per year

    def validate(self) -> TrendRule:
        if not isinstance(self.window, int) or self.window < 3:
            raise PipelineError(f"window must be a whole number of years >= 3, got {self.window!r}")
        for name in ("min_year_papers", "min_papers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise PipelineError(f"{name} must be a whole number >= 1, got {value!r}")
        if not isinstance(self.min_slope, (int, float)) or self.min_slope <= 0:
            raise PipelineError(f"min_slope must be a positive number, got {self.min_slope!r}")
        return self


@dataclass
class TrendReport:
    """Counts and shares per year and group, and the per-group verdicts."""

    level: str
    counts: pd.DataFrame  # index year, columns group id: papers
    shares: pd.DataFrame  # same shape: fraction of the year's papers
    table: pd.DataFrame  # one row per group (see ``theme_trends``)
    window_years: list[int]
    rule: TrendRule = field(default_factory=TrendRule)
    undated: int = 0

    @property
    def emerging(self) -> pd.DataFrame:
        return self.table[self.table["status"] == "emerging"]

    @property
    def declining(self) -> pd.DataFrame:
        return self.table[self.table["status"] == "declining"]

    def long(self) -> pd.DataFrame:
        """Shares in long form (year, group, label, papers, share) for charts and CSV."""
        counts = self.counts.stack().rename("papers")
        shares = self.shares.stack().rename("share")
        out = pd.concat([counts, shares], axis=1).reset_index()
        out.columns = ["year", "group", "papers", "share"]
        labels = dict(zip(self.table["group"], self.table["label"], strict=True))
        out["label"] = out["group"].map(labels).fillna("")
        return out[["year", "group", "label", "papers", "share"]]


def year_counts(documents: pd.DataFrame, *, level: str = "theme",
                years: tuple[int | None, int | None] = (None, None)) -> pd.DataFrame:
    """Papers per (year, group): index year (int), one column per group id."""
    if not _LEVEL.fullmatch(str(level)) or level not in documents.columns:
        have = [str(c) for c in documents.columns if _LEVEL.fullmatch(str(c))]
        raise PipelineError(f"level must be one of this map's levels ({', '.join(have)}), "
                            f"got {level!r}")
    if "year" not in documents.columns:
        raise PipelineError("this map's papers have no year column; themes over time needs dates")
    year = pd.to_numeric(documents["year"], errors="coerce")
    dated = year.notna()
    low, high = years
    if low is not None:
        dated &= year >= low
    if high is not None:
        dated &= year <= high
    frame = pd.DataFrame({"year": year[dated].astype(int),
                          "group": documents.loc[dated, level].astype(int)})
    counts = frame.groupby(["year", "group"]).size().unstack(fill_value=0)
    if counts.empty:
        return counts
    all_years = range(int(counts.index.min()), int(counts.index.max()) + 1)
    return counts.reindex(all_years, fill_value=0).sort_index(axis=1)


def slope_per_year(years: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of ``values`` against ``years``."""
    years = np.asarray(years, dtype=float)
    values = np.asarray(values, dtype=float)
    centred = years - years.mean()
    denominator = float((centred ** 2).sum())
    return float((centred * (values - values.mean())).sum() / denominator) if denominator else 0.0


def theme_trends(documents: pd.DataFrame, clusters: pd.DataFrame | None = None, *,
                 level: str = "theme", rule: TrendRule | None = None,
                 years: tuple[int | None, int | None] = (None, None)) -> TrendReport:
    """Shares per year and the emerging/declining verdict of every theme (or cluster).

    ``years`` restricts the papers counted (inclusive bounds, ``None`` = open).
    ``table`` columns: ``group, label, papers, papers_in_window, share_overall,
    share_start, share_end, slope_pp_per_year, status``, sorted by slope.
    """
    rule = (rule or TrendRule()).validate()
    counts = year_counts(documents, level=level, years=years)
    undated = int(pd.to_numeric(documents["year"], errors="coerce").isna().sum())
    if counts.empty:
        raise PipelineError("no paper of this map has a year (in the chosen range); themes over "
                            "time needs dated papers")
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0).fillna(0.0)

    eligible = [int(y) for y in totals.index if totals[y] >= rule.min_year_papers]
    window = eligible[-rule.window:] if len(eligible) >= 3 else []
    labels = _labels(clusters, level)
    rows = []
    for group in counts.columns:
        papers = int(counts[group].sum())
        in_window = int(counts.loc[window, group].sum()) if window else 0
        row = {
            "group": int(group),
            "label": labels.get(int(group), "noise" if int(group) < 0 else f"{level} {group}"),
            "papers": papers,
            "papers_in_window": in_window,
            "share_overall": round(papers / float(totals.sum()), 4),
            "share_start": np.nan, "share_end": np.nan, "slope_pp_per_year": np.nan,
            "status": "too small" if window else "too few years",
        }
        if int(group) < 0:
            row["status"] = "noise"  # not a theme: its share is shown, never flagged
        elif window and in_window >= rule.min_papers:
            values = shares.loc[window, group].to_numpy()
            slope = slope_per_year(np.array(window), values)
            centre = float(values.mean())
            middle = float(np.mean(window))
            row["share_start"] = round(centre + slope * (window[0] - middle), 4)
            row["share_end"] = round(centre + slope * (window[-1] - middle), 4)
            row["slope_pp_per_year"] = round(100 * slope, 3)
            row["status"] = ("emerging" if 100 * slope >= rule.min_slope
                             else "declining" if 100 * slope <= -rule.min_slope else "stable")
        rows.append(row)
    table = pd.DataFrame(rows)
    order = table["slope_pp_per_year"].fillna(0.0)
    table = table.iloc[np.argsort(-order.to_numpy(), kind="stable")].reset_index(drop=True)
    return TrendReport(level, counts, shares, table, window, rule, undated)


def format_table(report: TrendReport) -> str:
    """The verdicts as aligned text, for the command line."""
    lines = []
    if report.window_years:
        lines.append(f"window {report.window_years[0]}-{report.window_years[-1]} "
                     f"({len(report.window_years)} years with >= {report.rule.min_year_papers} "
                     f"papers); emerging/declining at |slope| >= {report.rule.min_slope:g} "
                     f"points/year, {report.rule.min_papers}+ papers in the window")
    else:
        lines.append("fewer than 3 years with enough dated papers: no trend is flagged")
    lines.append(f"{'status':<10} {'slope':>7} {'start':>7} {'end':>7} {'in window':>9} "
                 f"{'papers':>7}  {report.level}")
    for row in report.table.itertuples():
        slope = "" if np.isnan(row.slope_pp_per_year) else f"{row.slope_pp_per_year:+.2f}"
        start = "" if np.isnan(row.share_start) else f"{100 * row.share_start:.1f}%"
        end = "" if np.isnan(row.share_end) else f"{100 * row.share_end:.1f}%"
        lines.append(f"{row.status:<10} {slope:>7} {start:>7} {end:>7} {row.papers_in_window:>9} "
                     f"{row.papers:>7}  {row.group}: {row.label}")
    return "\n".join(lines)


def _labels(clusters: pd.DataFrame | None, level: str) -> dict[int, str]:
    if clusters is None or clusters.empty:
        return {}
    rows = clusters[clusters["level"] == level]
    return dict(zip(rows["id"].astype(int), rows["label"].astype(str), strict=True))
