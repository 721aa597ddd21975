"""The analysis pages' data: themes over time (``pipeline.trends``) and the comparison of
two maps (``pipeline.compare``), with errors shown on the page instead of raised."""

from __future__ import annotations

from pathlib import Path

from pipeline import TopicMap
from pipeline.compare import Comparison, compare_maps
from pipeline.trends import TrendReport, TrendRule, theme_trends

from .context import MapContext, stop_on_error
from .loaders import load_topic_map

__all__ = ["Comparison", "TrendReport", "TrendRule", "compare_with", "names_at", "trend_report"]


def trend_report(context: MapContext, *, level: str, rule: TrendRule,
                 years: tuple[int, int]) -> TrendReport:
    """Each group's share of the papers per year, flagged by ``rule`` (the page ends with a
    warning when the map cannot be read that way)."""
    with stop_on_error("warning"):
        return theme_trends(context.documents, context.clusters, level=level, rule=rule,
                            years=(int(years[0]), int(years[1])))


def compare_with(context: MapContext, other: Path | str, *, current_is_new: bool, level: str,
                 threshold: float) -> tuple[TopicMap, TopicMap, Comparison]:
    """(old map, new map, comparison) of the open map and ``other``."""
    with stop_on_error():
        other_map = load_topic_map(other)
        old, new = ((other_map, context.topic_map) if current_is_new
                    else (context.topic_map, other_map))
        return old, new, compare_maps(old, new, level=level, threshold=threshold)


def names_at(topic_map: TopicMap, level: str) -> dict[int, str]:
    """``{id: label}`` of a map's groups at ``level``."""
    rows = topic_map.level(level)
    return dict(zip(rows["id"].astype(int), rows["label"].astype(str), strict=True))
