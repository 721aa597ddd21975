"""The finest layer of topics: HDBSCAN on the reduced space, then noise absorbed.

HDBSCAN runs on the 5-D clustering space with **leaf** selection by default
(the excess-of-mass cut collapses into two or three giant clusters on some
corpora and seeds; measured in issue #12's research), ``min_cluster_size`` =
0.35 * sqrt(n) (at least 3) and ``min_samples`` 5. A noise paper then joins
the cluster that holds most of its ``2 * min_samples`` nearest papers, repeated
until nothing changes; what stays ``-1`` has no majority topic around it.
``is_noise`` keeps HDBSCAN's own verdict. With ``reassign_noise`` every paper
still noise joins the cluster of its nearest clustered neighbours.

New points (the Ray engine's placed papers, ``update``) get their clusters by
a vote of their nearest fitted points (:func:`vote_clusters`); the broader
layers follow (``pipeline.fit.layers``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from pipeline.config import ClusterConfig

NOISE = -1
#: A noise paper joins a cluster holding at least this share of its nearest papers.
ABSORB_SHARE = 0.5


@dataclass
class Clustering:
    """The finest layer of a set of papers."""

    labels: np.ndarray  # int32, -1 is noise (papers with no majority cluster around them)
    probabilities: np.ndarray  # float32 in [0, 1], HDBSCAN's membership strength
    outlier_scores: np.ndarray  # float32 GLOSH scores, higher = more outlying
    is_noise: np.ndarray  # bool, HDBSCAN's own verdict
    min_cluster_size: int
    min_samples: int


def auto_min_cluster_size(n: int) -> int:
    """A cluster size that grows with the corpus: 3 for 60 papers, 9 for 600, 35 for 10,000.

    ``0.35 * sqrt(n)``, at least 3. With leaf selection this sets how fine the
    finest layer is (dozens of clusters at 10,000 papers, about a hundred at
    80,000), not how good the broad layers are: 0.25, 0.35 and 0.5 gave the
    same broadest-layer NMI on 23 spaces of four corpora (issue #12).
    """
    return max(3, round(0.35 * math.sqrt(max(n, 0))))


def cluster_sizes(n: int, config: ClusterConfig) -> tuple[int, int]:
    """HDBSCAN's ``(min_cluster_size, min_samples)`` for ``n`` points: the config's, else
    :func:`auto_min_cluster_size` and 5 (never above min_cluster_size), within what ``n``
    allows."""
    min_cluster_size = config.min_cluster_size or auto_min_cluster_size(n)
    min_cluster_size = max(2, min(min_cluster_size, n))
    min_samples = config.min_samples or min(5, min_cluster_size)
    return min_cluster_size, max(1, min(min_samples, n - 1))


def cluster(space: np.ndarray, config: ClusterConfig) -> Clustering:
    """The finest layer of the rows of ``space``; deterministic for a given input."""
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
    labels = renumber_by_size(labels)
    probabilities = np.asarray(model.probabilities_, dtype=np.float32)
    is_noise = labels == NOISE
    if labels.max(initial=NOISE) == NOISE:
        # Nothing dense enough: one cluster of everything is more useful than all-noise.
        labels = np.zeros(n, dtype=np.int32)
        probabilities = np.ones(n, dtype=np.float32)
        is_noise = np.zeros(n, dtype=bool)
    labels = absorb_noise(space, labels, k=2 * min_samples)
    if config.reassign_noise:
        labels = reassign_noise(space, labels)
    return Clustering(renumber_by_size(labels), probabilities, outliers, is_noise,
                      min_cluster_size, min_samples)


def absorb_noise(space: np.ndarray, labels: np.ndarray, *, k: int,
                 share: float = ABSORB_SHARE) -> np.ndarray:
    """Noise papers whose neighbourhood is mostly one cluster join it, until nothing changes.

    Each noise paper's ``k`` nearest papers in ``space`` vote (noise neighbours
    vote for nothing); it joins the winning cluster when that cluster holds at
    least ``share`` of them. Papers absorbed in one pass vote in the next; the
    neighbour graph is computed once.
    """
    from sklearn.neighbors import NearestNeighbors

    labels = np.asarray(labels, dtype=np.int32).copy()
    noise = np.flatnonzero(labels == NOISE)
    if len(noise) == 0 or len(noise) == len(labels):
        return labels
    k = max(1, min(k, len(labels) - 1))
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(space).kneighbors(space[noise])
    idx = idx[:, 1:]
    rows = np.repeat(np.arange(len(noise)), k)
    todo = np.ones(len(noise), dtype=bool)
    while todo.any():
        counts = np.zeros((len(noise), int(labels.max()) + 2), dtype=np.int32)
        np.add.at(counts, (rows, (labels[idx] - NOISE).ravel()), 1)
        counts[:, 0] = 0  # noise neighbours vote for nothing
        best = counts.argmax(axis=1)
        joins = todo & (counts[np.arange(len(noise)), best] >= share * k)
        if not joins.any():
            break
        labels[noise[joins]] = best[joins] + NOISE
        todo &= ~joins
    return labels


def reassign_noise(space: np.ndarray, labels: np.ndarray, *, k: int = 10) -> np.ndarray:
    """Give each noise point the cluster of its ``k`` nearest clustered points
    (a vote weighted by inverse distance)."""
    labels = np.asarray(labels, dtype=np.int32).copy()
    noise = np.flatnonzero(labels == NOISE)
    if len(noise) and len(noise) < len(labels):
        labels[noise] = nearest_vote(space, labels, noise, k=k)
    return labels


def nearest_vote(space: np.ndarray, labels: np.ndarray, targets: np.ndarray, *,
                 k: int = 10) -> np.ndarray:
    """The label of each target row: a vote of its ``k`` nearest rows with a label (>= 0),
    weighted by inverse distance in ``space``."""
    from sklearn.neighbors import NearestNeighbors

    labelled = np.flatnonzero(labels >= 0)
    if len(targets) == 0 or len(labelled) == 0:
        return np.zeros(len(targets), dtype=np.int32)
    k = min(k, len(labelled))
    dist, idx = NearestNeighbors(n_neighbors=k).fit(space[labelled]).kneighbors(space[targets])
    votes = np.zeros((len(targets), int(labels.max()) + 1))
    np.add.at(votes, (np.repeat(np.arange(len(targets)), k), labels[labelled][idx].ravel()),
              (1.0 / (dist + 1e-9)).ravel())
    return votes.argmax(axis=1).astype(np.int32)


def renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Number the labels 0, 1, ... from the largest group (ties by first appearance);
    -1 stays -1."""
    labels = np.asarray(labels)
    ids, first, counts = np.unique(labels[labels >= 0], return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-counts[i], first[i]))
    lookup = np.full(int(ids.max()) + 1 if len(ids) else 0, NOISE, dtype=np.int32)
    lookup[ids[order]] = np.arange(len(order), dtype=np.int32)
    out = np.full(len(labels), NOISE, dtype=np.int32)
    grouped = labels >= 0
    out[grouped] = lookup[labels[grouped]]
    return out


def vote_clusters(neighbours: np.ndarray, fitted_labels: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Clusters of new points by majority among their nearest fitted points.

    ``neighbours``: for each new point, row indices of its nearest fitted points,
    nearest first (as ``pipeline.fit.placement.place`` returns them); ``fitted_labels``:
    the fitted points' clusters (-1 noise, which can win the vote too). Ties go to
    the label of the nearer neighbour. Returns the labels and the winning share
    of the votes (a membership strength in [0, 1]).

    Used for papers placed onto a map fitted on a sample and for ``update``:
    HDBSCAN's ``approximate_predict`` called 53-61% of such papers noise where the
    sample had 24% (5,000 venue papers, samples of 4,000 and 2,000; ``docs/scale.md``),
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
