"""Words and phrases of topic names, and the phrase counts they are chosen from."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.naming.counts import count_phrases, count_with_vocabulary, min_papers
from pipeline.naming.phrases import adjective_like, content_words, fold, phrase_keys, surface_form


def test_phrases_never_cross_stop_words_punctuation_or_numbers():
    keys = phrase_keys("Learning of representations for graph neural networks, in 2020 "
                       "computer vision.", max_ngram=3)
    assert "learning representation" not in keys  # "of" breaks the phrase
    assert {"graph neural network", "neural network", "computer vision"} <= set(keys)
    assert "network computer" not in keys  # nor does a comma
    assert not any(k[0].isdigit() and k != "3d" for k in keys)


def test_words_that_start_with_a_digit_are_kept_when_they_are_terms():
    keys = phrase_keys("3D object detection from 2D images and 6-DoF poses, 2nd order, 10x")
    assert {"3d object detection", "2d image", "6-dof pose"} <= set(keys)
    assert not any(k.startswith(("2nd", "10x")) for k in keys)


def test_fold_gives_one_key_to_singular_and_plural():
    assert fold("networks") == fold("network") == "network"
    assert fold("studies") == "study" and fold("analysis") == "analysis"
    assert fold("processes") == "process" and fold("diabetes") == "diabetes"
    assert fold("dynamics") == "dynamics" and fold("AIDS") == "aids"


def test_surface_form_is_how_the_papers_write_it():
    texts = ["We study hidden Markov models. Hidden Markov Models are old.",
             "NLP tasks and hidden Markov models", "graph neural networks (GNNs) here",
             "Graph Neural Networks: a survey", "Graph neural networks again"]
    assert surface_form("hidden markov model", texts) == "Hidden Markov models"
    assert surface_form("nlp", texts) == "NLP"
    assert surface_form("graph neural network", texts) == "Graph neural networks"
    assert surface_form("unseen phrase", texts) == "Unseen phrase"


def test_adjectives_and_participles_are_not_names_on_their_own():
    assert adjective_like("visual") and adjective_like("respiratory")
    assert adjective_like("developed") and adjective_like("adversarial")
    assert not adjective_like("signal") and not adjective_like("theory")
    assert not adjective_like("robotics") and not adjective_like("segmentation")


def test_content_words_of_a_name():
    assert content_words("Graph neural networks & the Robots") == [
        "graph", "neural", "network", "robot"]


def test_counts_are_binary_and_a_saved_vocabulary_counts_the_same_way():
    texts = ["Robot grasping and robot grasping again.", "Robot grasping of objects.",
             "Language models for robot grasping."] * 3
    counts = count_phrases(texts)
    column = list(counts.vocabulary).index("robot grasping")
    assert counts.matrix[:, column].toarray().ravel().tolist() == [1.0] * 9
    assert counts.doc_freq[column] == 9 and counts.n_words[column] == 2
    again = count_with_vocabulary(texts, counts.vocabulary, 3)
    assert (again != counts.matrix).nnz == 0


def test_rare_phrases_leave_the_vocabulary_of_large_corpora():
    assert (min_papers(60), min_papers(600), min_papers(10_000)) == (1, 2, 3)
    texts = [f"graph kernels and unique{i} words" for i in range(250)]
    vocabulary = set(count_phrases(texts).vocabulary)
    assert "graph kernel" in vocabulary and "unique7" not in vocabulary


def test_empty_or_stop_word_only_texts_give_an_empty_vocabulary():
    counts = count_phrases(["the and of", "a an the"])
    assert counts.matrix.shape == (2, 0) and len(counts.vocabulary) == 0
    assert count_with_vocabulary(["x"], np.array([], dtype=str), 3).shape == (1, 0)


def test_contrast_is_measured_alike_in_the_pool_and_for_one_candidate():
    """With no sibling big enough to be 'the closest' (all under 5 papers), a candidate's
    contrast uses the pooled share, as the pool's ranking does (it used 0 instead)."""
    from pipeline.naming.candidates import LayerCounts, PhraseIndex, candidate, node_rates
    from pipeline.naming.counts import count_phrases
    from pipeline.naming.rank import NamingConfig, build_tree

    texts = ["graph kernels for molecules"] * 4 + ["graph kernels and graph sampling"] * 3 \
        + ["protein folding with graph kernels"] * 3
    nodes = np.array([0] * 4 + [1] * 3 + [2] * 3)
    index = PhraseIndex(count_phrases(texts))
    counts = LayerCounts.of(index, nodes, 3)
    node = build_tree([nodes], [None], [3])[0][0]
    rate, contrast, pooled, big = node_rates(node, counts)
    assert not len(big)
    term = int(np.flatnonzero(index.vocabulary == "graph kernel")[0])
    record = candidate(term, index, node, counts, NamingConfig(), rate=rate, pooled=pooled,
                       big=big)
    assert record["C"] == pytest.approx(contrast[term])
