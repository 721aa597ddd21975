"""The analysis pages' data: themes over time (``pipeline.review.trends``) and the comparison of
two maps (``pipeline.review.compare``), with errors shown on the page instead of raised."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pipeline import TopicMap
from pipeline.review.compare import Comparison, compare_maps, shared_papers
from pipeline.review.trends import TrendReport, TrendRule, theme_trends
from ui.core.escape import escape
from ui.core.paths import MapRef

from .context import MapContext, stop_on_error
from .loaders import load_topic_map

__all__ = ["Comparison", "TrendReport", "TrendRule", "check_overlap", "compare_with",
           "names_at", "open_map", "trend_report"]

#: Below this share of the smaller map's papers on both maps, two maps are taken for
#: maps of different papers: the page refuses to compare them unless asked to.
MIN_SHARED = 0.5
#: Below this share of either map, the page warns that only the shared papers count.
MOST_SHARED = 0.9


def trend_report(context: MapContext, *, level: str, rule: TrendRule,
                 years: tuple[int, int]) -> TrendReport:
    """Each group's share of the papers per year, flagged by ``rule`` (the page ends with a
    warning when the map cannot be read that way)."""
    with stop_on_error("warning"):
        return theme_trends(context.documents, context.clusters, level=level, rule=rule,
                            years=(int(years[0]), int(years[1])))


def open_map(path: Path | str) -> TopicMap:
    """The map at ``path`` (the page ends with the reason if it cannot be read)."""
    with stop_on_error():
        return load_topic_map(MapRef.of(path))


def check_overlap(current: TopicMap, other: TopicMap) -> None:
    """Say how many papers two maps share; end the page for maps of different papers
    unless the reader ticks *Compare anyway*."""
    common = shared_papers(current, other)
    n = int(common["shared"])
    st.caption(f"The two maps share {n:,} papers: {common['share_of_old']:.0%} of this map's "
               f"{int(common['old']):,} and {common['share_of_new']:.0%} of "
               f"{escape(Path(other.path).name, 'markdown')}'s {int(common['new']):,}. Only "
               "shared papers are compared; sizes are those on each whole map.")
    if n < MIN_SHARED * min(common["old"], common["new"]):
        st.error(f"These look like maps of different papers: only {n:,} papers are on both, "
                 f"fewer than {MIN_SHARED:.0%} of the smaller map's. Clusters are matched by "
                 "the papers they share, so a comparison would say little. Compare maps "
                 "built from the same input, or with other settings.")
        if not st.checkbox("Compare anyway", key="cmp_anyway"):
            st.stop()
    elif min(common["share_of_old"], common["share_of_new"]) < MOST_SHARED:
        st.warning(f"Only the {n:,} papers on both maps are compared; the others are left "
                   "out of every count below.")


def compare_with(current: TopicMap, other: TopicMap, *, current_is_new: bool, level: str,
                 threshold: float) -> tuple[TopicMap, TopicMap, Comparison]:
    """(old map, new map, comparison) of the open map and ``other``."""
    old, new = (other, current) if current_is_new else (current, other)
    with stop_on_error():
        return old, new, compare_maps(old, new, level=level, threshold=threshold)


def names_at(topic_map: TopicMap, level: str) -> dict[int, str]:
    """``{id: label}`` of a map's groups at ``level``."""
    rows = topic_map.level(level)
    return dict(zip(rows["id"].astype(int), rows["label"].astype(str), strict=True))
