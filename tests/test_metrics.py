"""Benchmark metrics on cases whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.bench.metrics import (
    knn_agreement,
    mean_cosine,
    nearest_neighbours,
    partition_scores,
    reassign_noise_labels,
    reassigned_scores,
)


def test_identical_and_renamed_partitions_score_one():
    truth = ["a", "a", "b", "b", "c", "c"]
    scores = partition_scores(truth, [5, 5, 3, 3, 9, 9])
    assert scores.ari == pytest.approx(1.0)
    assert scores.nmi == pytest.approx(1.0)
    assert scores.n_clusters == 3
    assert scores.noise_share == 0.0


def test_hand_computed_case():
    # truth [0,0,1,1] vs prediction [0,0,1,2]:
    # ARI = (1 - 1/3) / (3/2 - 1/3) = 4/7; the prediction determines the truth, so
    # MI = H(truth) = ln 2 and H(pred) = 1.5 ln 2: NMI = ln 2 / (1.25 ln 2) = 0.8.
    scores = partition_scores([0, 0, 1, 1], [0, 0, 1, 2])
    assert scores.ari == pytest.approx(4 / 7)
    assert scores.nmi == pytest.approx(0.8)


def test_noise_counts_as_its_own_class():
    truth = [0, 0, 1, 1]
    # Noise holding exactly class 1 is as good as a cluster holding it...
    assert partition_scores(truth, [0, 0, -1, -1]).ari == pytest.approx(1.0)
    # ...and noise spread over both classes costs like any mixed cluster would.
    mixed = partition_scores(truth, [0, -1, -1, 1])
    assert mixed.ari == pytest.approx(partition_scores(truth, [0, 2, 2, 1]).ari)
    assert mixed.noise_share == 0.5
    assert mixed.n_clusters == 2


def test_independent_labels_score_near_zero():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 4000)
    scores = partition_scores(truth, rng.integers(0, 4, 4000))
    assert abs(scores.ari) < 0.01
    assert scores.nmi < 0.01


def test_mismatched_lengths_refused():
    with pytest.raises(ValueError, match="3 reference labels but 2"):
        partition_scores([0, 1, 2], [0, 1])


def test_noise_joins_the_cluster_of_its_neighbours():
    space = np.array([[0.0, 0], [0.1, 0], [0.05, 0.02], [10, 10], [10.1, 10], [10.05, 9.9]])
    labels = np.array([0, 0, -1, 1, 1, -1])
    out = reassign_noise_labels(space, labels, k=2)
    assert out.tolist() == [0, 0, 0, 1, 1, 1]
    scores = reassigned_scores(["a", "a", "a", "b", "b", "b"], labels, space)
    assert scores.ari == pytest.approx(1.0) and scores.noise_share == 0.0


def test_all_noise_stays_noise():
    assert reassign_noise_labels(np.zeros((3, 2)), [-1, -1, -1]).tolist() == [-1, -1, -1]


def test_nearest_neighbours_exclude_self_and_are_nearest_first():
    vectors = np.array([[1.0, 0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    nn = nearest_neighbours(vectors, k=2)
    assert nn[0].tolist() == [1, 3]
    assert nn[2].tolist() == [3, 1]
    assert all(i not in row for i, row in enumerate(nn))


def test_knn_agreement_one_for_same_vectors_low_for_unrelated():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 16))
    assert knn_agreement(a, a * 3.0) == pytest.approx(1.0)  # scale does not matter to cosine
    near = knn_agreement(a, a + rng.normal(scale=0.01, size=a.shape))
    assert near > 0.9
    far = knn_agreement(a, rng.normal(size=(300, 16)))
    assert far < 0.1  # chance level is 10/299


def test_mean_cosine():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[1.0, 1.0], [0.0, 5.0]])
    assert mean_cosine(a, b) == pytest.approx((1 / math.sqrt(2) + 1.0) / 2)
    with pytest.raises(ValueError):
        mean_cosine(a, b[:1])


# --------------------------------------------------------------------------- names and layers


def test_layer_scores_noise_largest_and_homogeneity():
    from pipeline.bench.metrics import layer_scores

    scores = layer_scores(["a", "a", "b", "b", "b", "c"], [0, 0, 1, 1, -1, -1])
    assert scores["nodes"] == 2 and scores["noise"] == pytest.approx(2 / 6)
    assert scores["largest"] == pytest.approx(2 / 6)
    assert scores["homogeneity"] == pytest.approx(1.0)  # noise left out
    assert "nmi" not in layer_scores(None, [0, 1])


def test_name_terms_read_phrases_pairs_and_bertopic_names():
    from pipeline.bench.metrics import name_terms

    assert name_terms("Graph neural networks") == [["graph", "neural", "network"]]
    assert name_terms("Robot & Control") == [["robot"], ["control"]]
    assert name_terms("Localization and mapping") == [["localization"], ["mapping"]]
    assert name_terms("3_the_graph_of_nodes") == [["graph"], ["node"]]


def test_name_scores_by_hand():
    from pipeline.bench.metrics import WordUsage, name_scores

    texts = ["robot arm grasping", "robot grasping", "robot legs", "parsing sentences",
             "parsing trees", "sentences"]
    labels = np.array([0, 0, 0, 1, 1, 1])
    usage = WordUsage(texts)
    rows, summary = name_scores(usage, labels, None, ["Robot grasping", "Parsing & trees"])
    robot, parsing = rows
    # "grasping" (2 papers) is rarer than "robot" (3): the specific term; 2 of 3 use it.
    assert robot["spec_word"] == "grasping" and robot["support_spec"] == pytest.approx(2 / 3)
    assert robot["support_any"] == 1.0 and robot["contrast"] == 1.0
    # Two terms: the weaker one counts ("trees": 1 of 3).
    assert parsing["support_spec"] == pytest.approx(1 / 3)
    assert parsing["support_any"] == pytest.approx(2 / 3)
    assert summary["nodes"] == 2 and summary["sibling_duplicates"] == 0
    assert summary["support_spec_min"] == pytest.approx(1 / 3)


def test_name_scores_duplicates_and_retrieval():
    from pipeline.bench.metrics import WordUsage, name_scores

    texts = ["alpha one", "alpha two", "beta one", "beta two"]
    labels = np.array([0, 0, 1, 1])
    embeddings = np.array([[1.0, 0], [1, 0.1], [0, 1], [0.1, 1]])

    def embed(names):
        return np.array([[1.0, 0] if "alpha" in n.lower() else [0, 1.0] for n in names])

    rows, summary = name_scores(WordUsage(texts), labels, None, ["Alpha", "Alpha"],
                                embed=embed, embeddings=embeddings)
    assert summary["sibling_duplicates"] == 2 and summary["layer_duplicates"] == 2
    assert [r["retrieved"] for r in rows] == [True, False]
    assert summary["retrieval"] == 0.5
