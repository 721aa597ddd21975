"""HDBSCAN on the reduced space: labels, membership probabilities, outlier scores.

Noise is labelled ``-1``. With ``reassign_noise`` every noise point joins the
cluster of its nearest clustered neighbours in the clustering space, and the
``is_noise`` flag keeps the original verdict.

New points get clusters in two ways: :func:`predict_clusters` redoes HDBSCAN's
``approximate_predict`` over the arrays a map saves (``pipeline.fitted``; used
by ``update``), and :func:`vote_clusters` takes a vote of nearest fitted points
(the Ray engine's placed papers).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .config import ClusterConfig

NOISE = -1


@dataclass
class Clustering:
    labels: np.ndarray  # int32, -1 is noise (after reassignment: only if nothing to join)
    probabilities: np.ndarray  # float32 in [0, 1]
    outlier_scores: np.ndarray  # float32 GLOSH scores, higher = more outlying
    is_noise: np.ndarray  # bool, HDBSCAN's own verdict
    min_cluster_size: int
    min_samples: int
    model: object = None  # the fitted hdbscan.HDBSCAN; pipeline.update saves its tree


def auto_min_cluster_size(n: int) -> int:
    """A cluster size that grows with the corpus: 4 for 60 papers, 69 for 10,000.

    ``f * sqrt(n)``, with ``f`` rising from 0.5 at 100 papers to 0.7 at
    10,000 (linear in log n). Tuned on the 9,852-paper venue corpus, where
    0.7 * sqrt(n) with ``min_samples`` 10 agreed best and most stably with the
    venue fields, and on the 60-paper trending page, where a smaller factor
    keeps its handful of topics apart; drill-down gives finer structure.
    """
    position = min(1.0, max(0.0, (math.log10(max(n, 1)) - 2) / 2))
    factor = 0.5 + 0.2 * position
    return int(min(250, max(3, round(factor * math.sqrt(n)))))


def cluster_sizes(n: int, config: ClusterConfig) -> tuple[int, int]:
    """HDBSCAN's ``(min_cluster_size, min_samples)`` for ``n`` points: the config's, else
    :func:`auto_min_cluster_size` and 5 (10 from 1,000 points on), within what ``n`` allows."""
    min_cluster_size = config.min_cluster_size or auto_min_cluster_size(n)
    min_cluster_size = max(2, min(min_cluster_size, n))
    min_samples = config.min_samples or max(1, min(min_cluster_size, 5 if n < 1000 else 10))
    return min_cluster_size, min(min_samples, n - 1)


def cluster(space: np.ndarray, config: ClusterConfig) -> Clustering:
    """Cluster the rows of ``space``; deterministic for a given input."""
    import hdbscan

    n = len(space)
    min_cluster_size, min_samples = cluster_sizes(n, config)
    model = hdbscan.HDBSCAN(
        min_cluster_size=min_cluster_size, min_samples=min_samples,
        cluster_selection_method=config.selection_method, core_dist_n_jobs=1,
        gen_min_span_tree=False, prediction_data=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = model.fit_predict(np.asarray(space, dtype=np.float64))
        outliers = np.nan_to_num(np.asarray(model.outlier_scores_, dtype=np.float32), nan=0.0)
    labels = _relabel_by_size(labels.astype(np.int32))
    probabilities = np.asarray(model.probabilities_, dtype=np.float32)
    is_noise = labels == NOISE
    if labels.max(initial=NOISE) == NOISE:
        # Nothing dense enough: one cluster of everything is more useful than all-noise.
        labels = np.zeros(n, dtype=np.int32)
        probabilities = np.ones(n, dtype=np.float32)
        is_noise = np.zeros(n, dtype=bool)
    if config.reassign_noise:
        labels = reassign_noise(space, labels)
    return Clustering(labels, probabilities, outliers, is_noise, min_cluster_size, min_samples,
                      model=model)


def reassign_noise(space: np.ndarray, labels: np.ndarray, *, k: int = 10) -> np.ndarray:
    """Give each noise point the majority cluster of its ``k`` nearest clustered points."""
    from sklearn.neighbors import NearestNeighbors

    labels = labels.copy()
    noise = labels == NOISE
    if not noise.any() or noise.all():
        return labels
    clustered = np.flatnonzero(~noise)
    k = min(k, len(clustered))
    index = NearestNeighbors(n_neighbors=k).fit(space[clustered])
    dist, idx = index.kneighbors(space[noise])
    neighbour_labels = labels[clustered][idx]
    weights = 1.0 / (dist + 1e-9)
    n_clusters = labels.max() + 1
    votes = np.zeros((len(idx), n_clusters))
    for j in range(k):
        np.add.at(votes, (np.arange(len(idx)), neighbour_labels[:, j]), weights[:, j])
    labels[noise] = votes.argmax(axis=1)
    return labels


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Number clusters 0, 1, ... from largest to smallest (ties by first appearance)."""
    ids, first, counts = np.unique(labels[labels >= 0], return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-counts[i], first[i]))
    mapping = {int(ids[i]): rank for rank, i in enumerate(order)}
    return np.array([mapping.get(int(v), NOISE) for v in labels], dtype=np.int32)


def vote_clusters(neighbours: np.ndarray, fitted_labels: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Clusters of new points by majority among their nearest fitted points.

    ``neighbours``: for each new point, row indices of its nearest fitted points,
    nearest first (as ``pipeline.update.place`` returns them); ``fitted_labels``:
    the fitted points' clusters (-1 noise, which can win the vote too). Ties go to
    the label of the nearer neighbour. Returns the labels and the winning share
    of the votes (a membership strength in [0, 1]).

    Used for papers placed onto a map fitted on a sample: HDBSCAN's
    ``approximate_predict`` called 53-61% of such papers noise where the sample
    had 24% (5,000 venue papers, samples of 4,000 and 2,000; ``docs/scale.md``),
    while a vote over neighbours in the embedding space keeps the sample's noise
    share and agrees better with a map fitted on every paper.
    """
    votes = np.asarray(fitted_labels, dtype=np.int64)[np.asarray(neighbours, dtype=np.int64)]
    if votes.size == 0:
        return np.full(len(votes), NOISE, dtype=np.int32), np.zeros(len(votes), np.float32)
    m, k = votes.shape
    columns = votes - NOISE  # noise is column 0
    rows = np.arange(m)
    counts = np.zeros((m, int(columns.max()) + 1), dtype=np.int32)
    np.add.at(counts, (rows[:, None], columns), 1)
    first = np.full(counts.shape, k, dtype=np.int32)
    for j in range(k - 1, -1, -1):  # ends with each label's nearest position
        first[rows, columns[:, j]] = j
    best = np.argmax(counts * (k + 1) - first, axis=1)  # most votes, then the nearest
    return ((best + NOISE).astype(np.int32),
            (counts[rows, best] / k).astype(np.float32))


def predict_clusters(points: np.ndarray, fitted: dict[str, np.ndarray],
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Labels and membership probabilities of new points in the clustering space.

    ``hdbscan.prediction.approximate_predict`` over the saved arrays: the nearest
    neighbour by mutual reachability among the fitted points, the lambda at which
    the new point would join it, and the condensed tree walked up from that
    neighbour's cluster while the cluster still exists at that lambda.
    """
    points = np.asarray(points, dtype=np.float64)
    if bool(fitted["single_cluster"]):
        return np.zeros(len(points), dtype=np.int32), np.ones(len(points), dtype=np.float32)
    n_fitted = int(fitted["n_fitted"])
    space = np.asarray(fitted["cluster_space"][:n_fitted], dtype=np.float64)
    min_samples = int(fitted["min_samples"])
    k = min(2 * min_samples, n_fitted)
    parent, child = fitted["tree_parent"], fitted["tree_child"]
    lambdas, sizes = fitted["tree_lambda"], fitted["tree_size"]
    core = fitted["core_distances"]
    point_row = np.full(n_fitted, 0, dtype=np.int64)
    is_point = child < n_fitted
    point_row[child[is_point]] = np.flatnonzero(is_point)
    cluster_rows = sizes > 1
    lookup = {int(c): (int(p), float(lam)) for c, p, lam in
              zip(child[cluster_rows], parent[cluster_rows], lambdas[cluster_rows], strict=True)}
    root = int(parent[cluster_rows].min()) if cluster_rows.any() else int(parent.min())
    node_label = dict(zip(fitted["node_ids"].tolist(), fitted["node_labels"].tolist(),
                          strict=True))
    node_max = dict(zip(fitted["node_ids"].tolist(), fitted["node_max_lambda"].tolist(),
                        strict=True))
    squared = (space**2).sum(axis=1)
    labels = np.full(len(points), NOISE, dtype=np.int32)
    probabilities = np.zeros(len(points), dtype=np.float32)
    for start in range(0, len(points), 512):
        block = points[start:start + 512]
        d2 = (block**2).sum(axis=1)[:, None] - 2 * block @ space.T + squared[None, :]
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dist = np.sqrt(np.clip(np.take_along_axis(d2, idx, axis=1), 0, None))
        order = np.argsort(dist, axis=1, kind="stable")
        idx = np.take_along_axis(idx, order, axis=1)
        dist = np.take_along_axis(dist, order, axis=1)
        for r in range(len(block)):
            point_core = dist[r, min(min_samples, k - 1)]
            mutual = np.maximum(np.maximum(core[idx[r]], point_core), dist[r])
            nearest = int(np.argmin(mutual))
            lam = 1.0 / mutual[nearest] if mutual[nearest] > 0 else np.finfo(np.float64).max
            row = point_row[idx[r, nearest]]
            node = int(parent[row])
            if lambdas[row] > lam:
                while node > root:
                    entry = lookup.get(node)
                    if entry is None or not entry[1] >= lam:
                        break
                    node = entry[0]
            label = node_label.get(node, NOISE)
            if label >= 0:
                top = node_max[node]
                probability = min(top, lam) / top if top > 0 else 1.0
                labels[start + r] = label
                probabilities[start + r] = probability
    return labels, probabilities
