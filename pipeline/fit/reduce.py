"""UMAP: a few dimensions for clustering and two for the map, from one kNN graph.

The nearest-neighbour graph is computed once and handed to both fits through
``precomputed_knn``; the two fits run side by side in two threads (umap-learn's
layout epochs release the GIL once ``pipeline.fit.umap_kernels`` has compiled them
with ``nogil``, and each fit has its own seeded generator, so the result is the
same as one after the other). Tiny corpora, where
UMAP's defaults fail (fewer points than neighbours, spectral initialisation
on a handful of points), get clamped settings, and below ``MIN_UMAP_POINTS``
a seeded PCA stands in.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from pipeline.config import ReduceConfig

MIN_UMAP_POINTS = 10


@dataclass
class Reduction:
    """The clustering space, the 2-D map, and the kNN graph they share."""

    cluster_space: np.ndarray  # (n, n_components) float32
    coords: np.ndarray  # (n, 2) float32
    knn_indices: np.ndarray | None
    knn_dists: np.ndarray | None


def nearest_neighbors(vectors: np.ndarray, *, n_neighbors: int, metric: str,
                      chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN graph (indices, distances), each point its own first neighbour.

    Computed by chunked matrix products: exact, deterministic, a few seconds
    at 10,000 points and about a minute at 100,000 on two cores, with memory
    bounded by ``chunk`` rows at a time. (pynndescent would spend ~30 s on
    JIT compilation alone before the first point.)
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    k = min(n_neighbors, n)
    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        base = vectors / np.where(norms == 0, 1.0, norms)
    else:
        base = vectors
        squared = (base**2).sum(axis=1)
    indices = np.empty((n, k), dtype=np.int32)
    dists = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        block = base[start:start + chunk]
        if metric == "cosine":
            score = block @ base.T  # similarity: larger is nearer
        else:
            score = -(squared[start:start + chunk, None] - 2 * block @ base.T + squared[None, :])
        rows = np.arange(len(block))
        score[rows, start + rows] = np.inf  # self first, whatever ties exist
        top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        top_score = np.take_along_axis(score, top, axis=1)
        order = np.lexsort((top, -top_score), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        top_score = np.take_along_axis(top_score, order, axis=1)
        top_score[:, 0] = 1.0 if metric == "cosine" else 0.0
        if metric == "cosine":
            d = np.clip(1.0 - top_score, 0.0, 2.0)
        else:
            d = np.sqrt(np.clip(-top_score, 0.0, None))
        indices[start:start + len(block)] = top
        dists[start:start + len(block)] = d
    return indices, dists


def reduce(vectors: np.ndarray, config: ReduceConfig, *, random_state: int = 42) -> Reduction:
    """Fit UMAP twice over one shared kNN graph: cluster space and 2-D map."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < MIN_UMAP_POINTS:
        return _small_reduction(vectors, config)
    n_neighbors = config.neighbors_for(n)
    n_components = min(config.n_components, n - 2)
    knn = nearest_neighbors(vectors, n_neighbors=n_neighbors, metric=config.metric)
    init = "spectral" if n > 4 * n_neighbors else "random"
    common = {"n_neighbors": n_neighbors, "metric": config.metric, "init": init,
              "random_state": random_state}
    fits = ({"n_components": n_components, "min_dist": config.cluster_min_dist},
            {"n_components": 2, "min_dist": config.map_min_dist})
    from pipeline.embed.gpu import cuml_available

    from .umap_kernels import threads_may_share_numba, use_cached_kernels

    gpu = cuml_available()
    if not gpu:
        use_cached_kernels()
    if gpu or not threads_may_share_numba():  # one GPU; numba's workqueue layer: one at a time
        cluster_space, coords = (_fit_umap(vectors, knn, **common, **fit) for fit in fits)
    else:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="umap") as pool:
            futures = [pool.submit(_fit_umap, vectors, knn, **common, **fit) for fit in fits]
            cluster_space, coords = (future.result() for future in futures)
    return Reduction(cluster_space, coords, knn[0], knn[1])


def _fit_umap(vectors: np.ndarray, knn: tuple, *, n_neighbors: int, n_components: int,
              min_dist: float, metric: str, init: str, random_state: int) -> np.ndarray:
    """One UMAP fit over the shared kNN graph."""
    from pipeline.embed.gpu import (
        make_umap,  # cuML's UMAP on a GPU when installed, else umap-learn's
    )

    model = make_umap(
        n_neighbors=n_neighbors, n_components=n_components, min_dist=min_dist, metric=metric,
        init=init, random_state=random_state, precomputed_knn=knn, n_jobs=1, low_memory=True,
        verbose=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.fit_transform(vectors)
    return np.asarray(out, dtype=np.float32)


def _small_reduction(vectors: np.ndarray, config: ReduceConfig) -> Reduction:
    """PCA for a handful of papers: deterministic, and defined down to 3 points."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    # Fix the sign of each component so the result does not depend on the LAPACK build.
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1
    projected = centred @ (vt * signs[:, None]).T
    k = max(1, min(config.n_components, projected.shape[1]))
    coords = np.zeros((len(vectors), 2), dtype=np.float32)
    width = min(2, projected.shape[1])
    coords[:, :width] = projected[:, :width]
    scale = np.abs(coords).max() or 1.0
    return Reduction(projected[:, :k].astype(np.float32), (coords / scale * 5).astype(np.float32),
                     None, None)
