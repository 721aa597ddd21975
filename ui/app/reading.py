"""The reading-list page's data: the listed papers of the open map and papers like them.

Thin over ``pipeline.review.readinglist`` and ``pipeline.review.similar``; a store or search
that fails shows its message and ends the page (``ui.app.context.stop_on_error``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.review.readinglist import ReadingList, papers_in_list
from pipeline.review.similar import by_cluster, similar_papers
from ui.core.escape import escape

from .context import MapContext, stop_on_error


@dataclass(frozen=True)
class Listed:
    """A map's reading list as the page shows it."""

    store_name: str  # the list's file name, beside the map
    ids: list[str]  # every listed id, in the order added
    papers: pd.DataFrame  # the listed papers this map has, in list order
    missing: list[str]  # listed ids this map does not have (it was rebuilt)
    rows: list[int]  # row positions of ``papers`` in the map


def listed_papers(context: MapContext) -> Listed:
    """The open map's reading list (the page ends with the reason if it cannot be read)."""
    reading = ReadingList(context.path)
    with stop_on_error():
        ids = reading.ids()
    papers, missing = papers_in_list(context.documents, ids)
    rows = [context.assets.row_of_id[i] for i in papers["id"].astype(str)]
    return Listed(reading.db_path.name, ids, papers, missing, rows)


def papers_like(context: MapContext, basis: list[str], *, k: int, method: str,
                exclude: list[str]) -> pd.DataFrame:
    """The ``k`` papers nearest ``basis`` (``pipeline.review.similar.similar_papers``)."""
    with stop_on_error("warning"):
        return similar_papers(context.topic_map, basis, k=k, method=method, exclude=exclude)


def where_they_come_from(like: pd.DataFrame, *, n: int = 8) -> str:
    """"Topic (3); unclustered, near theme (2)": the clusters the results come from, most
    first; unclustered papers are named as on every other page, by their nearest theme."""
    summary = by_cluster(like)
    return escape("; ".join(f"{topic_label(row.cluster, row.cluster_label, row.theme_label)} "
                            f"({row.papers})" for row in summary.head(n).itertuples()),
                  "markdown")


def topic_label(cluster: int, label: str, theme_label: str = "") -> str:
    """A result's topic as the dashboard names it: "unclustered" (near its theme) for noise."""
    if int(cluster) >= 0:
        return str(label)
    return f"unclustered, near {theme_label}" if theme_label else "unclustered"
