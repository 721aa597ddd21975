"""Search by words and meaning (``ui.core.retrieval``) and where its results go on the map
(``ui.figures.searchmarks``); issue 20, item 5."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ui.core.retrieval import (
    KeywordIndex,
    MatchScale,
    embedding_ranking,
    fuse,
    hybrid_ranking,
    keyword_ranking,
    reference_matches,
    words,
)
from ui.figures.searchmarks import map_extent, marks_payload, result_view

TEXTS = [
    "Gradient inversion attack in federated learning exposes private text",  # 0
    "Federated learning with noisy user feedback",  # 1
    "Secure aggregation for federated learning",  # 2
    "Robots learning to grasp objects with tactile sensing",  # 3
    "A survey of privacy in machine learning and the attacks on it",  # 4
    "Image segmentation with convolutional networks",  # 5
]


def test_words_are_stemmed_and_stop_words_dropped():
    assert words("The attacks on federated Learning") == ["attack", "feder", "learn"]
    assert words("attack") == words("attacks") and words("study") == words("studies")


def test_bm25_ranks_papers_with_the_rarer_query_words_first():
    index = KeywordIndex.build(TEXTS)
    rows, scores = keyword_ranking(index, "privacy attacks on federated learning")
    assert rows[0] in (0, 4) and set(rows[:2]) == {0, 4}  # "attack", "privacy" are rare
    assert 5 not in rows  # no word of the query: not ranked at all
    assert (np.diff(scores) <= 0).all()
    only, _ = keyword_ranking(index, "federated", rows=np.array([2, 3, 5]))
    assert only.tolist() == [2]  # searched among the rows a filter lets through
    assert len(keyword_ranking(index, "zebra quokka")[0]) == 0
    assert index.matched("attacks on federated learning", 0) == ["attack", "feder", "learn"]


def test_reciprocal_rank_fusion():
    rows, scores = fuse([np.array([7, 8, 9]), np.array([9, 5])], k=60)
    assert rows.tolist() == [9, 7, 5, 8]  # in both lists first; ties: best rank, then row
    assert scores[0] == pytest.approx(1 / 63 + 1 / 61)
    assert fuse([np.array([3, 4])])[0].tolist() == [3, 4]


def test_hybrid_finds_what_the_words_say_and_what_the_meaning_says():
    index = KeywordIndex.build(TEXTS)
    # Meaning (a made-up embedding) puts paper 3 next to the query, words put paper 0.
    embeddings = np.eye(len(TEXTS), dtype=np.float32)
    vector = np.zeros(len(TEXTS), dtype=np.float32)
    vector[3] = 1.0
    hits = hybrid_ranking(index, embeddings, "gradient inversion", vector, k=3)
    assert hits.rows[0] in (0, 3) and {0, 3} <= set(hits.rows.tolist())
    assert hits.keyword.tolist() == [r == 0 for r in hits.rows]
    assert hits.similarity[hits.rows.tolist().index(3)] == pytest.approx(1.0)
    # No paper has the query's words: the ranking by meaning alone.
    alone = hybrid_ranking(index, embeddings, "quokka", vector, k=3)
    assert alone.rows.tolist() == embedding_ranking(embeddings, vector, k=3)[0].tolist()
    assert not alone.keyword.any()
    # Only the rows a filter lets through.
    assert set(hybrid_ranking(index, embeddings, "federated", vector, np.array([1, 2]),
                              k=5).rows.tolist()) == {1, 2}


def test_match_scale_is_against_the_maps_own_titles():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(50, 8)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    titles = [f"title {i}" for i in range(50)]
    # An "embedder" that gives each title its own paper's vector: its own paper is left
    # out, so the reference is the next nearest, always below 1.
    lookup = {t: embeddings[i] for i, t in enumerate(titles)}
    reference = reference_matches(titles, embeddings, lambda ts: np.array([lookup[t] for t in ts]),
                                  n=30)
    assert len(reference) == 30 and (np.diff(reference) >= 0).all() and reference.max() < 0.999
    scale = MatchScale(reference)
    assert scale.strength(1.0) == 100 and scale.strength(-1.0) == 0
    assert scale.weak(float(reference[0]) - 0.01) and not scale.weak(float(np.median(reference)))
    assert MatchScale(np.empty(0)).strength(0.3) == 50


def test_the_map_goes_to_the_results_with_room_around_them():
    docs = pd.DataFrame({"x": [0.0, 10.0, 4.0, 4.2, 9.9], "y": [0.0, 10.0, 5.0, 5.1, 9.8]})
    assert map_extent(docs) == [0.0, 10.0, 0.0, 10.0]
    rng = np.random.default_rng(0)
    far = pd.DataFrame(rng.uniform(0, 10, size=(200, 2)), columns=["x", "y"])
    far.loc[len(far)] = [500.0, 500.0]  # a stray far out
    assert map_extent(far)[1] < 11 and map_extent(far)[3] < 11
    extent = map_extent(docs)
    box = result_view([4.0, 4.2], [5.0, 5.1], extent)
    assert box[0] < 4.0 and box[1] > 4.2 and box[2] < 5.0 and box[3] > 5.1
    assert box[1] - box[0] >= 0.25 * 10 and box[3] - box[2] >= 0.25 * 10  # some context
    edge = result_view([9.9], [9.8], extent)  # near the map's edge: kept inside it
    assert edge[1] <= 10.0 and edge[3] <= 10.0 and edge[0] < 9.9 < edge[1]
    assert result_view([], [], extent) == extent
    payload = marks_payload(docs, [3, 2], zoom={"seq": 2, "box": box})
    assert [h["n"] for h in payload["hits"]] == [1, 2] and payload["hits"][0]["r"] == 3
    assert payload["zoom"] == {"seq": 2, "box": box}
    assert marks_payload(docs, [])["hits"] == []
