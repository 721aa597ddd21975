"""The finest layer (``pipeline.fit.cluster``): HDBSCAN on the reduced space, noise absorbed
where its neighbours agree, clusters numbered from the largest, new papers voted in."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from pipeline.config import ClusterConfig
from pipeline.fit.cluster import (
    absorb_noise,
    auto_min_cluster_size,
    cluster,
    cluster_sizes,
    renumber_by_size,
    vote_clusters,
)


def blobs(seed: int = 0, sizes=(80, 50, 30)) -> tuple[np.ndarray, np.ndarray]:
    """Far-apart Gaussian blobs in 5-D and each point's blob."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=30, size=(len(sizes), 5))
    points = np.vstack([c + rng.normal(size=(n, 5)) for c, n in zip(centres, sizes, strict=True)])
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return points.astype(np.float32), truth


def test_clusters_recover_separate_blobs_numbered_largest_first():
    space, truth = blobs()
    result = cluster(space, ClusterConfig())
    grouped = result.labels >= 0
    assert grouped.mean() > 0.9
    assert adjusted_rand_score(truth[grouped], result.labels[grouped]) > 0.9
    sizes = np.bincount(result.labels[grouped])
    assert (np.diff(sizes) <= 0).all()  # 0 is the largest
    assert result.min_cluster_size == auto_min_cluster_size(len(space))
    assert len(result.probabilities) == len(space) and result.is_noise.dtype == bool


def test_same_input_same_clusters():
    space, _ = blobs(3)
    a, b = cluster(space, ClusterConfig()), cluster(space, ClusterConfig())
    np.testing.assert_array_equal(a.labels, b.labels)


def test_config_sizes_win_and_stay_within_the_data():
    config = ClusterConfig(min_cluster_size=40, min_samples=7)
    assert cluster_sizes(500, config) == (40, 7)
    assert cluster_sizes(10, config) == (10, 7)  # never above the number of points
    assert cluster_sizes(600, ClusterConfig()) == (9, 5)


def test_renumber_by_size_keeps_noise_and_orders_by_size():
    labels = np.array([5, 5, 2, 2, 2, -1, 9])
    assert renumber_by_size(labels).tolist() == [1, 1, 0, 0, 0, -1, 2]


def test_absorb_takes_noise_whose_neighbours_agree_only():
    space = np.array([[0.0], [0.1], [0.2], [-0.05], [9.8], [9.9], [10.0], [5.0], [5.0001]])
    labels = np.array([0, 0, 0, -1, 1, 1, 1, -1, -1])
    absorbed = absorb_noise(space, labels, k=3)
    assert absorbed[3] == 0  # among cluster 0
    assert (absorbed[7:] == -1).all()  # half-way: no majority of their neighbours agrees



def test_auto_min_cluster_size_grows_with_the_square_root():
    assert [auto_min_cluster_size(n) for n in (3, 60, 600, 10_000)] == [3, 3, 9, 35]



def test_vote_clusters_majority_then_nearest_and_noise_can_win():
    fitted = np.array([0, 0, 1, 1, -1, -1, -1, 2])
    neighbours = np.array([
        [0, 1, 2],  # two votes for 0
        [2, 0, 4],  # one each: the nearest (cluster 1) wins
        [4, 5, 0],  # noise has the majority
        [7, 7, 7],
    ])
    labels, share = vote_clusters(neighbours, fitted)
    assert labels.tolist() == [0, 1, -1, 2]
    assert np.allclose(share, [2 / 3, 1 / 3, 2 / 3, 1.0])
    empty_labels, empty_share = vote_clusters(np.empty((0, 3), dtype=int), fitted)
    assert len(empty_labels) == 0 and len(empty_share) == 0
