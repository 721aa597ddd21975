"""Scores for benchmarks: clusterings against known labels, and one set of
vectors against another.

- ``partition_scores``: ARI and NMI of predicted clusters against reference
  labels, with noise (``-1``) counted as one class of its own, plus the noise
  share and the number of clusters. ``reassigned_scores`` gives the same after
  every noise point joins the cluster of its nearest clustered neighbours, so
  that tools with different amounts of noise can be compared both ways.
- ``knn_agreement``: how many of each point's ``k`` nearest neighbours (cosine,
  the point itself excluded) two embeddings of the same texts share.
- ``mean_cosine``: the mean cosine similarity of matching rows.

Everything here is plain numpy/scikit-learn and independent of the pipeline's
steps, so the benchmark scores our maps and BERTopic's the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

NOISE = -1


@dataclass
class PartitionScores:
    """How well a clustering matches reference labels."""

    ari: float
    nmi: float
    noise_share: float
    n_clusters: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def partition_scores(reference: Sequence, predicted: Sequence[int]) -> PartitionScores:
    """ARI and NMI (arithmetic normalisation) with noise as a class of its own."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    reference = np.asarray(reference)
    predicted = np.asarray(predicted, dtype=np.int64)
    if len(reference) != len(predicted):
        raise ValueError(f"{len(reference)} reference labels but {len(predicted)} predictions")
    if len(predicted) == 0:
        raise ValueError("no labels to score")
    clusters = np.unique(predicted[predicted != NOISE])
    return PartitionScores(
        ari=float(adjusted_rand_score(reference, predicted)),
        nmi=float(normalized_mutual_info_score(reference, predicted)),
        noise_share=float(np.mean(predicted == NOISE)),
        n_clusters=len(clusters),
    )


def reassign_noise_labels(space: np.ndarray, predicted: Sequence[int], *, k: int = 10,
                          ) -> np.ndarray:
    """Each noise point takes the distance-weighted majority cluster of its ``k``
    nearest clustered points in ``space``; clustered points keep theirs."""
    from sklearn.neighbors import NearestNeighbors

    labels = np.asarray(predicted, dtype=np.int64).copy()
    noise = labels == NOISE
    if not noise.any() or noise.all():
        return labels
    clustered = np.flatnonzero(~noise)
    k = min(k, len(clustered))
    index = NearestNeighbors(n_neighbors=k).fit(np.asarray(space)[clustered])
    dist, idx = index.kneighbors(np.asarray(space)[noise])
    neighbour_labels = labels[clustered][idx]
    ids, inverse = np.unique(neighbour_labels, return_inverse=True)
    votes = np.zeros((len(idx), len(ids)))
    np.add.at(votes, (np.repeat(np.arange(len(idx)), k), inverse.ravel()),
              (1.0 / (dist + 1e-9)).ravel())
    labels[noise] = ids[votes.argmax(axis=1)]
    return labels


def reassigned_scores(reference: Sequence, predicted: Sequence[int], space: np.ndarray,
                      ) -> PartitionScores:
    """``partition_scores`` after noise is reassigned in ``space`` (noise share is then 0)."""
    return partition_scores(reference, reassign_noise_labels(space, predicted))


def nearest_neighbours(vectors: np.ndarray, k: int = 10, *, chunk: int = 2048) -> np.ndarray:
    """Indices of each row's ``k`` nearest rows by cosine similarity, itself excluded,
    nearest first (ties broken by index, so the result is deterministic)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < 2:
        raise ValueError("need at least two vectors")
    k = min(k, n - 1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, chunk):
        scores = unit[start:start + chunk] @ unit.T
        rows = np.arange(len(scores))
        scores[rows, start + rows] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.lexsort((top, -top_scores), axis=1)
        out[start:start + len(scores)] = np.take_along_axis(top, order, axis=1)
    return out


def knn_agreement(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's ``k`` nearest neighbours that ``a`` and ``b`` agree on."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"row counts differ: {a.shape[0]} and {b.shape[0]}")
    na, nb = nearest_neighbours(a, k), nearest_neighbours(b, k)
    k = na.shape[1]
    shared = [len(np.intersect1d(x, y, assume_unique=True)) for x, y in zip(na, nb, strict=True)]
    return float(np.mean(shared) / k)


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine similarity between matching rows of ``a`` and ``b``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    denom = np.where((na == 0) | (nb == 0), 1.0, na * nb)
    return float(np.mean((a * b).sum(axis=1) / denom))
