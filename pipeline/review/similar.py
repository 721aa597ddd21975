"""Papers like these: the nearest neighbours of a few picked papers, across the whole map.

Similarity is cosine on the map's embeddings (stored L2-normalised, so a dot
product). Two ways to score a candidate against several picked papers:

``"max"`` (default)
    its similarity to the *closest* picked paper. A list that spans two
    topics gets neighbours of both, and each result names the picked paper
    it is close to (``because``).
``"mean"``
    its similarity to the normalised mean of the picked vectors: papers that
    sit near the list as a whole (good for a focused list; for a list that
    spans topics it favours papers halfway between them).

The picked papers, and anything in ``exclude`` (e.g. the rest of the reading
list), are never returned. Results carry their cluster and theme with labels,
so the page can say where on the map they come from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError
from pipeline.mapdir.store import TopicMap

Method = Literal["max", "mean"]
_BLOCK = 8192


def similar_papers(topic_map: TopicMap, ids: Iterable[str], *, k: int = 20,
                   method: Method = "max", exclude: Iterable[str] = ()) -> pd.DataFrame:
    """The ``k`` papers most like ``ids`` (see the module docstring), best first.

    Columns: ``rank, id, title, year, score, because, cluster, cluster_label,
    theme, theme_label``. Raises ``PipelineError`` if no picked id is on the map.
    """
    documents = topic_map.documents
    row_of = {str(v): i for i, v in enumerate(documents["id"].tolist())}
    picked = [row_of[i] for i in dict.fromkeys(str(i) for i in ids) if i in row_of]
    if not picked:
        raise PipelineError("pick at least one paper of this map to find papers like it")
    if method not in ("max", "mean"):
        raise PipelineError(f"method must be 'max' or 'mean', got {method!r}")
    skip = np.zeros(len(documents), dtype=bool)
    skip[picked] = True
    skip[[row_of[i] for i in map(str, exclude) if i in row_of]] = True

    scores, nearest = score_rows(topic_map.embeddings, np.asarray(picked), method=method)
    scores = np.where(skip, -np.inf, scores)
    k = int(max(0, min(k, int((~skip).sum()))))
    top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=int)
    top = top[np.lexsort((top, -scores[top]))]  # by score, ties by map order: deterministic

    names = _names(topic_map.clusters)
    rows = documents.iloc[top]
    picked_ids = documents["id"].astype(str).to_numpy()[picked]
    return pd.DataFrame({
        "rank": np.arange(1, len(top) + 1),
        "id": rows["id"].astype(str).to_numpy(),
        "title": rows["title"].astype(str).to_numpy(),
        "year": rows["year"].to_numpy(),
        "score": np.round(scores[top].astype(float), 4),
        "because": picked_ids[nearest[top]] if method == "max" else "",
        "cluster": rows["cluster"].astype(int).to_numpy(),
        "cluster_label": [names["cluster"].get(int(c), "noise") for c in rows["cluster"]],
        "theme": rows["theme"].astype(int).to_numpy(),
        "theme_label": [names["theme"].get(int(t), "") for t in rows["theme"]],
    })


def score_rows(embeddings: np.ndarray, picked: np.ndarray, *, method: Method = "max",
               ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's similarity to the picked rows, and (for ``max``) which pick is closest.

    Works in blocks of rows so a memory-mapped matrix is never copied whole.
    """
    vectors = np.asarray(embeddings[picked], dtype=np.float32)
    if method == "mean":
        centre = vectors.mean(axis=0)
        norm = float(np.linalg.norm(centre))
        vectors = (centre / norm if norm else centre)[None, :]
    n = len(embeddings)
    scores = np.empty(n, dtype=np.float32)
    nearest = np.zeros(n, dtype=np.int64)
    for start in range(0, n, _BLOCK):
        block = np.asarray(embeddings[start:start + _BLOCK], dtype=np.float32) @ vectors.T
        nearest[start:start + len(block)] = block.argmax(axis=1)
        scores[start:start + len(block)] = block.max(axis=1)
    return scores, nearest


def by_cluster(results: pd.DataFrame) -> pd.DataFrame:
    """How many of the results come from each cluster, most first."""
    if results.empty:
        return pd.DataFrame(columns=["cluster", "cluster_label", "theme_label", "papers",
                                     "best_score"])
    grouped = results.groupby(["cluster", "cluster_label", "theme_label"], as_index=False).agg(
        papers=("id", "size"), best_score=("score", "max"))
    return grouped.sort_values(["papers", "best_score"], ascending=False).reset_index(drop=True)


def _names(clusters: pd.DataFrame) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    for level in ("cluster", "theme"):
        rows = clusters[clusters["level"] == level]
        out[level] = dict(zip(rows["id"].astype(int), rows["label"].astype(str), strict=True))
    return out
