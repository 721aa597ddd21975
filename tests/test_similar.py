"""Papers like these: ranked cosine neighbours, picked and excluded papers never returned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline import load_map
from pipeline.errors import PipelineError
from pipeline.mapdir.store import TopicMap
from pipeline.review.similar import by_cluster, score_rows, similar_papers


@pytest.fixture(scope="module")
def topic_map(small_map) -> TopicMap:
    return load_map(small_map)


def ids_of(topic_map: TopicMap, topic: str, n: int) -> list[str]:
    return [i for i in topic_map.documents["id"] if i.startswith(topic + "-")][:n]


def test_neighbours_of_one_topic_come_from_that_topic(topic_map):
    picked = ids_of(topic_map, "vision", 3)
    result = similar_papers(topic_map, picked, k=10)
    assert len(result) == 10
    assert result["id"].str.startswith("vision-").all()
    assert not set(result["id"]) & set(picked)
    assert result["rank"].tolist() == list(range(1, 11))
    assert result["score"].is_monotonic_decreasing
    assert set(result["because"]) <= set(picked)
    assert (result["cluster_label"].str.len() > 0).all()


def test_scores_are_cosine_similarities(topic_map):
    picked = ids_of(topic_map, "biology", 1)
    result = similar_papers(topic_map, picked, k=5)
    emb = np.asarray(topic_map.embeddings)
    row = {v: i for i, v in enumerate(topic_map.documents["id"])}
    for paper, score in zip(result["id"], result["score"], strict=True):
        assert score == pytest.approx(float(emb[row[paper]] @ emb[row[picked[0]]]), abs=1e-4)


def test_max_covers_every_topic_of_a_mixed_list(topic_map):
    picked = ids_of(topic_map, "vision", 2) + ids_of(topic_map, "biology", 2)
    result = similar_papers(topic_map, picked, k=12, method="max")
    topics = set(result["id"].str.split("-").str[0])
    assert topics == {"vision", "biology"}


def test_mean_ranks_by_the_centroid(topic_map):
    picked = ids_of(topic_map, "robotics", 4)
    emb = np.asarray(topic_map.embeddings)
    rows = [topic_map.documents.index[topic_map.documents["id"] == p][0] for p in picked]
    centre = emb[rows].mean(axis=0)
    centre /= np.linalg.norm(centre)
    expected = np.argsort(-(emb @ centre))
    expected = [topic_map.documents["id"].iloc[i] for i in expected if i not in rows][:8]
    result = similar_papers(topic_map, picked, k=8, method="mean")
    assert result["id"].tolist() == expected


def test_excluded_papers_are_left_out(topic_map):
    picked = ids_of(topic_map, "language", 2)
    first = similar_papers(topic_map, picked, k=5)
    second = similar_papers(topic_map, picked, k=5, exclude=first["id"])
    assert not set(first["id"]) & set(second["id"])
    assert second["score"].max() <= first["score"].min() + 1e-6


def test_k_larger_than_the_map_returns_every_other_paper(topic_map):
    picked = ids_of(topic_map, "language", 1)
    result = similar_papers(topic_map, picked, k=10_000)
    assert len(result) == len(topic_map.documents) - 1


def test_unknown_ids_are_a_clear_error(topic_map):
    with pytest.raises(PipelineError, match="pick at least one paper"):
        similar_papers(topic_map, ["not-on-this-map"])


def test_block_scoring_matches_a_full_product():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(20_000, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    picked = np.array([3, 500, 17_000])
    scores, nearest = score_rows(emb, picked, method="max")
    full = emb @ emb[picked].T
    assert np.allclose(scores, full.max(axis=1), atol=1e-5)
    assert (nearest == full.argmax(axis=1)).all()


def test_by_cluster_counts(topic_map):
    result = similar_papers(topic_map, ids_of(topic_map, "vision", 2), k=15)
    table = by_cluster(result)
    assert table["papers"].sum() == 15
    assert table["papers"].is_monotonic_decreasing
    assert by_cluster(pd.DataFrame(columns=result.columns)).empty


def test_cli_similar_and_reading_list(small_map, capsys, tmp_path):
    import shutil

    from pipeline.cli.main import main
    from pipeline.review.readinglist import ReadingList

    own = tmp_path / "maps" / "small"
    shutil.copytree(small_map, own)
    ids = [i for i in load_map(own).documents["id"] if i.startswith("vision-")][:2]
    assert main(["reading-list", str(own), "--add", *ids]) == 0
    assert ReadingList(own).ids() == ids
    assert main(["similar", str(own), "--reading-list", "-k", "5"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()[:2].rstrip(".").isdigit()]
    assert len(lines) == 5 and all("vision-" in ln for ln in lines)
    assert not any(f" {i} " in ln for ln in lines for i in ids)
    bib = tmp_path / "list.bib"
    assert main(["reading-list", str(own), "--export", str(bib)]) == 0
    assert bib.read_text().count("@") == 2
    assert main(["reading-list", str(own), "--add", "no-such-paper"]) == 2
    assert "not on this map" in capsys.readouterr().err
    assert ReadingList(own).ids() == ids
