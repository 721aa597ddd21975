"""Placing new points into a saved UMAP fit, as UMAP's ``transform`` does.

Used by ``update`` (new papers onto a saved map) and by the Ray engine (papers
outside the fitted sample). Everything works over plain arrays (the map's
vectors and layouts), so no fitted UMAP object needs to be kept:

- :func:`place`: each new point's ``n_neighbors`` nearest map points by cosine
  get UMAP's fuzzy-set weights (:func:`smooth_knn_weights`); its position in
  every layout starts at the weighted mean of theirs and, with ``min_dists``,
  follows UMAP's transform epochs with the map held fixed (:func:`refine`).
- :func:`ab_params`: UMAP's curve parameters for a ``min_dist``.

The optimiser loop is compiled with numba on first use (cached on disk).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_SMOOTH_K_TOLERANCE = 1e-5
_MIN_K_DIST_SCALE = 1e-3


def smooth_knn_weights(distances: np.ndarray, k: float) -> np.ndarray:
    """UMAP's fuzzy-set membership of new points to their neighbours.

    Exactly ``umap.umap_.smooth_knn_dist`` with the settings UMAP's ``transform``
    uses (``local_connectivity`` 1 - 1 = 0, so ``rho`` is 0, and the first column
    skipped in the sum as UMAP does), followed by ``exp(-(d - rho) / sigma)``.
    """
    distances = np.asarray(distances, dtype=np.float64)
    n = len(distances)
    target = np.log2(k)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    mid = np.ones(n)
    done = np.zeros(n, dtype=bool)
    tail = distances[:, 1:]
    for _ in range(64):
        psum = np.where(tail > 0, np.exp(-tail / mid[:, None]), 1.0).sum(axis=1)
        done |= np.abs(psum - target) < _SMOOTH_K_TOLERANCE
        active = ~done
        high = active & (psum > target)
        low = active & ~(psum > target)
        hi[high] = mid[high]
        mid[high] = (lo[high] + hi[high]) / 2
        lo[low] = mid[low]
        grow = low & np.isinf(hi)
        mid[grow] *= 2
        half = low & ~np.isinf(hi)
        mid[half] = (lo[half] + hi[half]) / 2
        if done.all():
            break
    mean_all = distances.mean()
    mid = np.maximum(mid, _MIN_K_DIST_SCALE * mean_all)
    weights = np.exp(-distances / mid[:, None])
    weights[distances <= 0] = 1.0
    return weights.astype(np.float32)


def place(new_vectors: np.ndarray, map_vectors: np.ndarray, layouts: Sequence[np.ndarray],
          *, n_neighbors: int, min_dists: Sequence[float] | None = None, seed: int = 42,
          ) -> tuple[list[np.ndarray], np.ndarray]:
    """Positions of new points in each layout, as UMAP's ``transform`` places them.

    The start is UMAP's transform initialisation (the weighted mean of the
    neighbours' positions; a new point identical to a map point takes its
    position). With ``min_dists`` (one per layout) UMAP's transform epochs
    follow (``optimize_layout`` with the map fixed; see ``refine``).
    Returns one ``(n_new, dim)`` array per layout, and the neighbour indices.
    """
    k = max(1, min(n_neighbors, len(map_vectors)))
    similarity = np.asarray(new_vectors, dtype=np.float32) @ np.asarray(map_vectors,
                                                                       dtype=np.float32).T
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    top_sim = np.take_along_axis(similarity, top, axis=1)
    order = np.lexsort((top, -top_sim), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    dists = np.clip(1.0 - np.take_along_axis(top_sim, order, axis=1), 0.0, 2.0)
    dists[dists < 1e-6] = 0.0  # the same text: float32 rounding aside, distance 0
    weights = smooth_knn_weights(dists, float(k))
    exact = (weights >= 1.0).any(axis=1)
    out = []
    for layout in layouts:
        layout = np.asarray(layout, dtype=np.float64)
        total = weights.sum(axis=1, keepdims=True)
        positions = (weights[:, :, None] * layout[top]).sum(axis=1) / np.where(total == 0, 1, total)
        if exact.any():
            first = np.argmax(weights >= 1.0, axis=1)
            positions[exact] = layout[top[exact, first[exact]]]
        out.append(positions.astype(np.float32))
    if min_dists is not None:
        out = [refine(start, np.asarray(layout, dtype=np.float32), top, weights,
                      min_dist=min_dist, seed=seed, keep=exact)
               for start, layout, min_dist in zip(out, layouts, min_dists, strict=True)]
    return out, top


#: ``ab_params`` of the default min_dists (spread 1), as the fit below gives them: an update
#: places its papers without importing scipy.optimize (a fifth of a second per process).
KNOWN_AB = {(0.0, 1.0): (1.93280839734315, 0.7904949732233831),
            (0.1, 1.0): (1.5769434602697652, 0.8950608778515733)}


def ab_params(min_dist: float, spread: float = 1.0) -> tuple[float, float]:
    """UMAP's ``find_ab_params``: the curve ``1 / (1 + a d^2b)`` fitted to its target."""
    known = KNOWN_AB.get((float(min_dist), float(spread)))
    if known is not None:
        return known
    return fit_ab(min_dist, spread)


def fit_ab(min_dist: float, spread: float = 1.0) -> tuple[float, float]:
    """The least-squares fit behind :func:`ab_params` (scipy's ``curve_fit``)."""
    from scipy.optimize import curve_fit

    xv = np.linspace(0, spread * 3, 300)
    yv = np.where(xv < min_dist, 1.0, np.exp(-(xv - min_dist) / spread))
    params, _ = curve_fit(lambda x, a, b: 1.0 / (1.0 + a * x ** (2 * b)), xv, yv)
    return float(params[0]), float(params[1])


def refine(start: np.ndarray, layout: np.ndarray, neighbours: np.ndarray, weights: np.ndarray,
           *, min_dist: float, seed: int, n_epochs: int = 100, negative_rate: int = 5,
           keep: np.ndarray | None = None) -> np.ndarray:
    """UMAP's transform epochs: new points move, the map stays fixed.

    ``optimize_layout_euclidean`` as UMAP runs it for ``transform`` (100 epochs,
    initial learning rate 1/4, five negative samples per positive one, edges
    sampled in proportion to their weight, gradients clipped to 4), compiled
    with numba as UMAP's is. Negative samples come from numba's seeded
    generator instead of UMAP's tau-rand, so positions match UMAP's in kind,
    not bit for bit.
    """
    a, b = ab_params(min_dist)
    w = np.array(weights, dtype=np.float64)
    w[w < w.max() / n_epochs] = 0.0
    with np.errstate(divide="ignore"):
        per_sample = np.where(w > 0, w.max() / w, -1.0)
    moving = np.ones(len(start), dtype=np.bool_) if keep is None else ~np.asarray(keep)
    return _optimize(np.array(start, dtype=np.float64), np.asarray(layout, dtype=np.float64),
                     np.asarray(neighbours, dtype=np.int64), per_sample, moving, float(a),
                     float(b), int(n_epochs), int(negative_rate), int(seed)).astype(np.float32)


def _optimize(current, tail, neighbours, per_sample, moving, a, b, n_epochs, negative_rate,
              seed):
    """The compiled loop of ``refine`` (compiled on first use, cached on disk)."""
    global _optimize_compiled
    if _optimize_compiled is None:
        import numba

        _optimize_compiled = numba.njit(cache=True)(_optimize_loop)
    return _optimize_compiled(current, tail, neighbours, per_sample, moving, a, b, n_epochs,
                              negative_rate, seed)


_optimize_compiled = None


def _optimize_loop(current, tail, neighbours, per_sample, moving, a, b, n_epochs,
                   negative_rate, seed):  # pragma: no cover - runs compiled
    np.random.seed(seed)
    n, k = neighbours.shape
    dim = current.shape[1]
    n_tail = tail.shape[0]
    next_sample = per_sample.copy()
    per_negative = per_sample / negative_rate
    next_negative = per_negative.copy()
    for epoch in range(n_epochs):
        alpha = 0.25 * (1.0 - epoch / n_epochs)
        for i in range(n):
            if not moving[i]:
                continue
            for j in range(k):
                if per_sample[i, j] <= 0 or next_sample[i, j] > epoch:
                    continue
                other = tail[neighbours[i, j]]
                d2 = 0.0
                for d in range(dim):
                    d2 += (current[i, d] - other[d]) ** 2
                if d2 > 0.0:
                    coeff = -2.0 * a * b * d2 ** (b - 1.0) / (a * d2**b + 1.0)
                    for d in range(dim):
                        grad = min(4.0, max(-4.0, coeff * (current[i, d] - other[d])))
                        current[i, d] += grad * alpha
                next_sample[i, j] += per_sample[i, j]
                n_negative = int((epoch - next_negative[i, j]) / per_negative[i, j])
                for _ in range(max(n_negative, 0)):
                    other = tail[np.random.randint(n_tail)]
                    d2 = 0.0
                    for d in range(dim):
                        d2 += (current[i, d] - other[d]) ** 2
                    if d2 > 0.0:
                        coeff = 2.0 * b / ((0.001 + d2) * (a * d2**b + 1.0))
                        for d in range(dim):
                            grad = min(4.0, max(-4.0, coeff * (current[i, d] - other[d])))
                            current[i, d] += grad * alpha
                next_negative[i, j] += max(n_negative, 0) * per_negative[i, j]
    return current

