"""Tables of papers and topics as the pages show them, text shown as text.

Builders (``*_table``) return plain DataFrames whose text cells went through
:func:`ui.core.escape.escape` (``"plain"``); :func:`show_table` puts one on the page
and returns the selected row positions when it is selectable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ui.core.escape import escape
from ui.core.events import table_rows
from ui.core.latex import readable
from ui.core.nodes import node_table
from ui.core.wording import level_noun

from .loaders import MapAssets


def _plain(values: object, limit: int | None = None) -> list[str]:
    return [escape(v, "plain", limit=limit) for v in values]


def _text(values: object, limit: int | None = None) -> list[str]:
    """Titles and abstracts: their LaTeX as readable text (``ui.core.latex``), then plain."""
    return [escape(readable(v), "plain", limit=limit) for v in values]


def _years(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("Int64").reset_index(drop=True)


def topic_names(clusters: Sequence[int], assets: MapAssets) -> list[str]:
    """The topic (cluster) name of each cluster id, "unclustered" for noise."""
    return [escape(assets.cluster_names.get(int(c), "unclustered"), "plain") for c in clusters]


def papers_frame(documents: pd.DataFrame, assets: MapAssets, *,
                 scores: Sequence[float] | None = None,
                 sub_level: str | None = None) -> pd.DataFrame:
    """Title, topic, year, authors and the start of the abstract of each paper.

    ``topic`` is the finest topic holding the paper ("unclustered" for noise); with
    ``sub_level`` (a broader layer, e.g. the sub-topics a drill-down lists) a
    ``sub-topic`` column names the paper's node there too: both hold the paper."""
    # Their rows in the map ``assets`` belong to (by id: a re-mapped topic's table is
    # indexed by the papers' rows in the whole map).
    rows = np.fromiter((assets.row_of_id[str(i)] for i in documents["id"]), dtype=np.int64,
                       count=len(documents))
    table = pd.DataFrame({
        "title": assets.table_text("title")[rows],
        "topic": topic_names(documents["cluster"], assets),
        "year": _years(documents["year"]),
        "authors": assets.table_text("authors")[rows],
        "abstract": assets.table_text("abstract")[rows],
    })
    if sub_level is not None and sub_level in documents.columns:
        names = assets.level_names.get(sub_level, {})
        table.insert(1, "sub-topic", [escape(names.get(int(v), "unclustered"), "plain")
                                      for v in documents[sub_level]])
    if scores is not None:
        table.insert(0, "similarity", np.round(np.asarray(scores, dtype=float), 3))
    return table


def papers_table(documents: pd.DataFrame, assets: MapAssets, *, key: str,
                 scores: Sequence[float] | None = None, height: int | None = None,
                 on_select: Callable[[], None] | None = None,
                 sub_level: str | None = None) -> object:
    """An interactive table of papers (text shown as text), optionally selectable."""
    kwargs: dict = {"hide_index": True, "width": "stretch", "key": key}
    if height:
        kwargs["height"] = height
    if on_select is not None:
        kwargs.update(on_select=on_select, selection_mode="single-row")
    return st.dataframe(papers_frame(documents, assets, scores=scores, sub_level=sub_level),
                        **kwargs)


def show_table(table: pd.DataFrame, *, key: str, select: str | None = None,
               height: int | None = None) -> list[int]:
    """Show ``table``; with ``select`` ("single-row" or "multi-row") the reader can
    pick rows, whose positions are returned (each pick reruns the page)."""
    kwargs: dict = {"hide_index": True, "width": "stretch", "key": key}
    if height:
        kwargs["height"] = height
    if select:
        kwargs.update(on_select="rerun", selection_mode=select)
    event = st.dataframe(table, **kwargs)
    return table_rows(event) if select else []


# --------------------------------------------------------------------------- topics


def topics_frame(clusters: pd.DataFrame, n_papers: int) -> pd.DataFrame:
    """Every topic of every layer, each followed by the topics inside it (depth first),
    with sizes, shares, flags, top terms, and the offline name where a language model's
    is shown (``clusters`` as ``ui.core.nodes.node_table`` gives it)."""
    if "depth" not in clusters.columns:
        clusters = node_table(clusters)
    levels = clusters.drop_duplicates("level").sort_values("depth")["level"].tolist()
    kids: dict[str, list] = {}
    for row in clusters.sort_values(["depth", "size", "id"],
                                    ascending=[True, False, True]).itertuples(index=False):
        parent = f"{levels[int(row.depth) - 1]}:{int(row.parent)}" if row.depth else ""
        kids.setdefault(parent, []).append(row)
    ordered: list = []
    stack = list(reversed(kids.get("", [])))
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(kids.get(str(row.key), [])))
    table = pd.DataFrame({
        "level": [str(r.level) for r in ordered],
        "id": [int(r.id) for r in ordered],
        "name": [escape(r.label, "plain", limit=80) for r in ordered],
        "papers": [int(r.size) for r in ordered],
        "share %": [round(100 * float(r.size) / max(1, n_papers), 1) for r in ordered],
        "flags": [", ".join(f for f, on in (("weak name", r.weak_name), ("fragile", r.fragile))
                            if on) for r in ordered],
        "top terms": [escape(", ".join(list(r.terms)[:6]), "plain", limit=120)
                      for r in ordered],
    })
    if any(bool(r.alt_name) for r in ordered):
        table.insert(3, "offline name", [escape(r.offline_label, "plain", limit=80)
                                         for r in ordered])
    return table


# --------------------------------------------------------------------------- reading list


def listed_frame(listed: pd.DataFrame, assets: MapAssets) -> pd.DataFrame:
    """The reading list's papers: title, topic, theme, year, authors."""
    return pd.DataFrame({
        "title": _text(listed["title"], 300),
        "topic": topic_names(listed["cluster"], assets),
        "theme": [escape(assets.theme_names.get(int(t), ""), "plain") for t in listed["theme"]],
        "year": _years(listed["year"]),
        "authors": _plain(listed["authors"], 200),
    })


def similar_frame(like: pd.DataFrame, listed: pd.DataFrame) -> pd.DataFrame:
    """Papers like the listed ones (``pipeline.review.similar`` results), with the listed
    paper each is nearest to."""
    titles = listed.set_index("id")["title"]
    return pd.DataFrame({
        "similarity": like["score"].to_numpy(),
        "title": _text(like["title"], 300),
        "topic": [escape("unclustered" if int(c) < 0 else label, "plain")
                  for c, label in zip(like["cluster"], like["cluster_label"], strict=True)],
        "theme": _plain(like["theme_label"]),
        "year": _years(like["year"]),
        "near": [escape(readable(titles.get(b, b)), "plain", limit=80) if b else ""
                 for b in like["because"]],
    })


# --------------------------------------------------------------------------- trends, compare


def trends_frame(table: pd.DataFrame, level: str) -> pd.DataFrame:
    """A trend report's table (``pipeline.review.trends``) with shares in percent."""
    unclustered = (table["group"] < 0).to_numpy()
    return table.assign(
        label=["unclustered" if u else v for u, v in zip(unclustered, _plain(table["label"], 80),
                                                         strict=True)],
        status=table["status"].replace({"noise": "unclustered"}),
        share_start=(100 * table["share_start"]).round(1),
        share_end=(100 * table["share_end"]).round(1),
        share_overall=(100 * table["share_overall"]).round(1),
    ).rename(columns={"group": level_noun(level), "slope_pp_per_year": "slope (points/year)",
                      "share_start": "share at start %", "share_end": "share at end %",
                      "share_overall": "share overall %", "papers_in_window": "papers in window"})


def moved_frame(moved: pd.DataFrame) -> pd.DataFrame:
    """Papers whose cluster changed between two maps (``pipeline.review.compare``)."""
    return pd.DataFrame({
        "kind": [str(k).replace("noise", "unclustered") for k in moved["kind"]],
        "title": _text(moved["title"], 200),
        "old": [escape("unclustered" if c < 0 else v, "plain", limit=80)
                for c, v in zip(moved["old_cluster"], moved["old_label"], strict=True)],
        "new": [escape("unclustered" if c < 0 else v, "plain", limit=80)
                for c, v in zip(moved["new_cluster"], moved["new_label"], strict=True)],
        "id": _plain(moved["id"], 80),
    })
