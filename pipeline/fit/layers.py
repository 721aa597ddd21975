"""Nested layers of topics over the finest one: broad layers, stability, placement.

Layer 0 is the finest (``pipeline.fit.cluster``); layer L-1 the broadest ("theme").
The broader layers agglomerate the layer-0 clusters by **size-weighted Ward** on
their centroids in the clustering space (the rise in the within-group sum of
squares of the *papers*, so a big cluster weighs as its papers do), cut so each
layer has about a quarter of the nodes of the one below, up to the broadest,
whose node count is the largest relative jump in Ward merge height between 4
and min(10, k0 / 2) nodes (``--n-themes`` fixes it). With fewer than 8 layer-0
clusters there is one natural layer: the top layer repeats layer 0. Papers that
are noise at layer 0 take the layer-1 node of their 10 nearest clustered papers
(distance-weighted vote) and the parent links above it, so every broad layer
places every paper and the layers nest exactly.

Each node's stability (0-1) is a bootstrap figure (``pipeline.fit.stability``):
the recipe re-run on random 80% subsets of the papers; below 0.5 a node is
fragile. New papers get their layers from the votes of their nearest fitted
papers and the parent links (:func:`place_layers`).

Issue #12's research (size-weighted Ward in the 5-D space against Ward in
embedding space, today's themes, average linkage, PLSCAN and cuts of
HDBSCAN's own tree; the gap rule against sqrt(k0)) chose these defaults on
corpora of 60 to 81,667 papers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipeline.config import ClusterConfig

from .cluster import NOISE, Clustering, cluster, nearest_vote, renumber_by_size, vote_clusters
from .stability import bootstrap_stability

#: Each broader layer has about 1/RATIO of the nodes of the one below.
RATIO = 4.0
#: The broadest layer has between TOP_MIN and TOP_MAX nodes (and at most half of layer 0's).
TOP_MIN, TOP_MAX = 4, 10
#: Bootstrap resamples and their share of the papers.
N_BOOT, BOOT_SHARE = 5, 0.8
#: Below this many papers stability is not measured (NaN).
MIN_STABILITY_PAPERS = 20


@dataclass
class Layers:
    """Nested layers of a set of papers, finest first.

    ``labels[k]``: int32 per paper, its node in layer k (0..n_k-1, numbered largest
    first); only layer 0 has -1 (noise). ``parents[k]``: int32 per node of layer k,
    its node in layer k+1 (-1 at the top layer). ``stability[k]``: float32 per node,
    0-1 (NaN: not measured). ``probabilities``, ``outlier_scores``, ``is_noise``: per
    paper, HDBSCAN's at layer 0 (for placed papers: their neighbours' vote).
    """

    labels: list[np.ndarray]
    parents: list[np.ndarray]
    stability: list[np.ndarray]
    probabilities: np.ndarray
    outlier_scores: np.ndarray
    is_noise: np.ndarray
    min_cluster_size: int = 0
    min_samples: int = 0

    @property
    def counts(self) -> list[int]:
        """Nodes per layer, finest first."""
        return [len(p) for p in self.parents]


def build_layers(space: np.ndarray, fine: Clustering, config: ClusterConfig, *,
                 n_themes: int | None = None, seed: int = 42,
                 stability: bool = True) -> Layers:
    """The layers above ``fine`` (the finest layer of the rows of ``space``), with every
    node's stability measured by re-running :func:`nested_layers` on subsets."""
    space = np.asarray(space, dtype=np.float32)
    labels, parents = broad_layers(space, fine.labels, n_themes=n_themes)
    if stability and len(space) >= MIN_STABILITY_PAPERS:
        scores = bootstrap_stability(space, labels, lambda s: nested_layers(s, config, n_themes),
                                     n_boot=N_BOOT, share=BOOT_SHARE, seed=seed)
    else:
        scores = [np.full(len(p), np.nan) for p in parents]
    return Layers(labels, parents, [s.astype(np.float32) for s in scores], fine.probabilities,
                  fine.outlier_scores, fine.is_noise, fine.min_cluster_size, fine.min_samples)


def nested_layers(space: np.ndarray, config: ClusterConfig,
                  n_themes: int | None = None) -> list[np.ndarray]:
    """The whole recipe on ``space``: the finest layer, then the broad ones (labels only)."""
    return broad_layers(space, cluster(space, config).labels, n_themes=n_themes)[0]


def broad_layers(space: np.ndarray, fine: np.ndarray, *, n_themes: int | None = None,
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every layer's labels and parent links, finest first, from the finest layer ``fine``
    (see the module docstring). Always at least two layers."""
    fine = np.asarray(fine, dtype=np.int32)
    k0 = int(fine.max()) + 1 if (fine >= 0).any() else 0
    if k0 == 0:  # nothing clustered: one node of everything above
        return finalize([fine, np.zeros(len(fine), dtype=np.int32)])
    centroids, sizes = centroids_of(space, fine, k0)
    tree = ward_linkage(centroids, sizes)
    top = top_count(tree, k0, n_themes)
    counts = layer_counts(k0, top) or [k0]  # one natural layer: the top repeats layer 0
    noise = np.flatnonzero(fine == NOISE)
    nearest = nearest_vote(space, fine, noise) if len(noise) else None
    broad = []
    for count in counts:
        groups = cut_linkage(tree, k0, count)
        labels = np.zeros(len(fine), dtype=np.int32)
        labels[fine >= 0] = groups[fine[fine >= 0]]
        if nearest is not None:
            labels[noise] = groups[nearest]
        broad.append(labels)
    return finalize([fine, *broad])


def centroids_of(space: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean position and size of each label 0..n-1 (noise ignored)."""
    space = np.asarray(space, dtype=np.float64)
    grouped = labels >= 0
    sizes = np.bincount(labels[grouped], minlength=n).astype(np.float64)
    sums = np.zeros((n, space.shape[1]))
    np.add.at(sums, labels[grouped], space[grouped])
    return sums / np.maximum(sizes, 1)[:, None], sizes


def ward_linkage(centroids: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Size-weighted Ward agglomeration of groups given their centroids and sizes.

    The merge cost is the rise in the within-group sum of squares of the papers,
    ``n_a n_b / (n_a + n_b) |c_a - c_b|^2``, updated by Lance-Williams (equal to
    scipy's Ward when every size is 1). Returns scipy's linkage format (heights
    ``sqrt(2 cost)``, made non-decreasing against rounding).
    """
    k = len(centroids)
    if k < 2:
        return np.zeros((0, 4))
    c = np.asarray(centroids, dtype=np.float64)
    size = np.asarray(sizes, dtype=np.float64).copy()
    squared = (c**2).sum(axis=1)
    distance = np.maximum(squared[:, None] + squared[None, :] - 2 * c @ c.T, 0.0)
    cost = size[:, None] * size[None, :] / (size[:, None] + size[None, :]) * distance
    np.fill_diagonal(cost, np.inf)
    node = np.arange(k)
    leaves = np.ones(k)
    out = np.zeros((k - 1, 4))
    for step in range(k - 1):
        a, b = sorted(divmod(int(np.argmin(cost)), k))
        merged, n_a, n_b = cost[a, b], size[a], size[b]
        new = ((n_a + size) * cost[a] + (n_b + size) * cost[b] - size * merged) \
            / (n_a + n_b + size)
        out[step] = (node[a], node[b], math.sqrt(2 * max(merged, 0.0)), leaves[a] + leaves[b])
        leaves[a] += leaves[b]
        cost[a], cost[:, a] = new, new
        cost[a, a] = np.inf
        cost[b], cost[:, b] = np.inf, np.inf
        size[a] = n_a + n_b
        node[a] = k + step
    out[:, 2] = np.maximum.accumulate(out[:, 2])
    return out


def cut_linkage(tree: np.ndarray, n_leaves: int, n_groups: int) -> np.ndarray:
    """The group (0..n_groups-1) of each leaf when the dendrogram is cut into ``n_groups``."""
    if n_groups >= n_leaves:
        return np.arange(n_leaves)
    if n_groups <= 1:
        return np.zeros(n_leaves, dtype=np.int64)
    from scipy.cluster.hierarchy import cut_tree

    return cut_tree(tree, n_clusters=[n_groups])[:, 0]


def top_count(tree: np.ndarray, k0: int, n_themes: int | None = None) -> int:
    """Nodes of the broadest layer over ``k0`` finest nodes.

    ``n_themes`` when given (at most k0); else the count between ``TOP_MIN`` and
    min(``TOP_MAX``, k0 // 2) whose Ward merge is followed by the largest relative
    jump in height (the merge that would leave one node fewer costs most against
    the one before). Below 8 finest nodes: k0 (one natural layer).
    """
    if n_themes:
        return max(1, min(n_themes, k0))
    low, high = TOP_MIN, min(TOP_MAX, k0 // 2)
    if high < low:
        return k0
    heights = tree[:, 2]  # merge i leaves k0 - 1 - i groups
    jumps = {k: heights[k0 - k] / max(heights[k0 - k - 1], 1e-12) for k in range(low, high + 1)}
    return max(jumps, key=lambda k: (jumps[k], -k))


def layer_counts(k0: int, top: int, ratio: float = RATIO) -> list[int]:
    """Node counts of the layers above ``k0`` finest nodes, each about 1/``ratio`` of the
    one below, ending at ``top`` (a last step that would leave a layer under 1.5 x top
    goes straight to top). Empty when ``top >= k0``."""
    counts: list[int] = []
    k = k0
    while k > top:
        step = max(top, round(k / ratio))
        if step < top * 1.5:
            step = top
        counts.append(step)
        k = step
    return counts


def finalize(layers: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each layer renumbered largest first, and each node's parent in the next layer.

    The layers must nest: every paper of a node has the same node one layer up.
    """
    labels = [renumber_by_size(layer) for layer in layers]
    parents = []
    for k, layer in enumerate(labels):
        parent = np.full(int(layer.max(initial=NOISE)) + 1, NOISE, dtype=np.int32)
        if k + 1 < len(labels):
            grouped = layer >= 0
            parent[layer[grouped]] = labels[k + 1][grouped]
        parents.append(parent)
    return labels, parents


def place_layers(neighbours: np.ndarray, labels: list[np.ndarray], parents: list[np.ndarray],
                 is_noise: np.ndarray | None = None,
                 ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Layers of new papers from their nearest fitted papers (``neighbours``: row indices
    into ``labels``, nearest first, as ``pipeline.fit.placement.place`` gives them).

    Layer 0 is the neighbours' majority (noise can win; ties to the nearer:
    ``cluster.vote_clusters``); every broader layer follows the parent links, and
    a paper voted noise takes its neighbours' majority at layer 1 instead, then the
    links above. Returns the labels per layer, the layer-0 vote share (a membership
    strength) and whether most neighbours were HDBSCAN noise (``is_noise`` of the
    fitted papers; all False without it).
    """
    fine, share = vote_clusters(neighbours, labels[0])
    placed = [fine]
    for k in range(1, len(labels)):
        if k == 1:
            voted, _ = vote_clusters(neighbours, labels[1])
            up = np.where(fine >= 0, parents[0][np.maximum(fine, 0)], voted)
        else:
            up = parents[k - 1][placed[-1]]
        placed.append(up.astype(np.int32))
    noise = np.zeros(len(fine), dtype=bool)
    if is_noise is not None and len(fine):
        noise = vote_clusters(neighbours, np.asarray(is_noise, dtype=np.int32))[0] == 1
    return placed, share, noise


def check_nesting(labels: list[np.ndarray], parents: list[np.ndarray]) -> bool:
    """Whether every paper's node at layer k+1 is the parent of its node at layer k."""
    for k in range(len(labels) - 1):
        grouped = labels[k] >= 0
        if not (parents[k][labels[k][grouped]] == labels[k + 1][grouped]).all():
            return False
    return all((layer >= 0).all() for layer in labels[1:])
