"""Themes: a coarser level over the clusters, for the map's overview.

Clusters are grouped by Ward linkage over their centroids in embedding space
(unit vectors, so Ward on them follows cosine similarity), weighted towards
balanced groups. Papers that HDBSCAN left as noise still belong to the theme
whose centroid is nearest, so every paper has a theme while keeping its noise
flag at the cluster level.
"""

from __future__ import annotations

import math

import numpy as np

NOISE = -1


def auto_n_themes(n_clusters: int) -> int:
    """About the square root of the number of clusters, between 2 and 12."""
    if n_clusters <= 3:
        return n_clusters
    return int(min(12, max(2, round(math.sqrt(n_clusters)))))


def cluster_centroids(embeddings: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Unit-length mean embedding of each cluster."""
    centroids = np.zeros((n_clusters, embeddings.shape[1]), dtype=np.float64)
    for c in range(n_clusters):
        members = labels == c
        if members.any():
            centroids[c] = embeddings[members].mean(axis=0)
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    return centroids / np.where(norms == 0, 1.0, norms)


def group_clusters(centroids: np.ndarray, *, n_themes: int) -> np.ndarray:
    """Theme id of each cluster (0 = the theme with the most clusters)."""
    n_clusters = len(centroids)
    if n_themes >= n_clusters:
        return np.arange(n_clusters, dtype=np.int32)
    if n_themes <= 1:
        return np.zeros(n_clusters, dtype=np.int32)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(centroids, method="ward")
    groups = fcluster(tree, t=n_themes, criterion="maxclust") - 1
    return _order_by_first(groups)


def assign_themes(embeddings: np.ndarray, labels: np.ndarray, cluster_theme: np.ndarray, *,
                  centroids: np.ndarray | None = None) -> np.ndarray:
    """Each paper's theme: its cluster's, or for noise the nearest theme centroid.

    ``centroids`` (one unit vector per theme) default to those of these papers'
    clustered ones; an update passes the map's.
    """
    themes = np.full(len(labels), NOISE, dtype=np.int32)
    clustered = labels >= 0
    themes[clustered] = cluster_theme[labels[clustered]]
    n_themes = int(cluster_theme.max()) + 1 if len(cluster_theme) else 0
    if (~clustered).any() and n_themes:
        if centroids is None:
            centroids = cluster_centroids(embeddings[clustered], themes[clustered], n_themes)
        themes[~clustered] = np.argmax(embeddings[~clustered] @ centroids.T, axis=1)
    return themes


def group_into_themes(embeddings: np.ndarray, labels: np.ndarray, n_clusters: int, *,
                      n_themes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(theme of each cluster, theme of each paper)``: clusters grouped by Ward linkage
    of their centroids into ``n_themes`` (default :func:`auto_n_themes`)."""
    n_themes = min(n_themes or auto_n_themes(n_clusters), n_clusters)
    cluster_theme = group_clusters(cluster_centroids(embeddings, labels, n_clusters),
                                   n_themes=n_themes)
    return cluster_theme, assign_themes(embeddings, labels, cluster_theme)


def _order_by_first(groups: np.ndarray) -> np.ndarray:
    """Renumber groups 0..k-1 in order of first appearance (cluster 0 is the largest)."""
    mapping: dict[int, int] = {}
    for g in groups:
        mapping.setdefault(int(g), len(mapping))
    return np.array([mapping[int(g)] for g in groups], dtype=np.int32)
