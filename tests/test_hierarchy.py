"""Topic layers (issue #12): the finest layer, the broad layers, stability, placing new papers,
and maps of every size keeping the format's promises about layers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder, assert_layers_nest, make_corpus
from sklearn.metrics import adjusted_rand_score

from pipeline import BuildConfig, build, load_map
from pipeline.config import ClusterConfig
from pipeline.fit.cluster import cluster
from pipeline.fit.layers import (
    broad_layers,
    build_layers,
    check_nesting,
    layer_counts,
    place_layers,
    ward_linkage,
)
from pipeline.fit.stability import match_jaccard
from pipeline.mapdir.levels import ancestors


def two_level_blobs(seed: int = 0, *, groups: int = 4, per_group: int = 4, size: int = 30,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points in 5-D: ``groups`` far-apart groups, each of ``per_group`` nearer blobs.
    Returns the points, each point's blob and its group."""
    rng = np.random.default_rng(seed)
    points, blob, group = [], [], []
    for g, centre in enumerate(rng.normal(scale=40, size=(groups, 5))):
        for b, offset in enumerate(rng.normal(scale=7, size=(per_group, 5))):
            points.append(centre + offset + rng.normal(size=(size, 5)))
            blob += [g * per_group + b] * size
            group += [g] * size
    return np.vstack(points).astype(np.float32), np.array(blob), np.array(group)


@pytest.fixture(scope="module")
def blobs_layers():
    space, blob, group = two_level_blobs()
    fine = cluster(space, ClusterConfig())
    return space, blob, group, build_layers(space, fine, ClusterConfig(), seed=1)


# --------------------------------------------------------------------------- the layers


def test_layers_recover_a_known_two_level_structure(blobs_layers):
    _, blob, group, layers = blobs_layers
    assert check_nesting(layers.labels, layers.parents)
    assert layers.counts[-1] == 4  # the four groups: the largest gap in Ward heights
    assert adjusted_rand_score(group, layers.labels[-1]) == 1.0
    fine = layers.labels[0]
    grouped = fine >= 0
    assert adjusted_rand_score(blob[grouped], fine[grouped]) > 0.9
    assert layers.counts[0] >= 16  # leaf clusters: the blobs, or parts of them
    assert (fine < 0).mean() < 0.1  # noise absorbed where its neighbours agree
    assert layers.is_noise.sum() >= (fine < 0).sum()  # HDBSCAN's verdict is kept


def test_every_paper_sits_in_every_broad_layer_and_ids_go_largest_first(blobs_layers):
    *_, layers = blobs_layers
    for k, (labels, parents) in enumerate(zip(layers.labels, layers.parents, strict=True)):
        sizes = np.bincount(labels[labels >= 0], minlength=len(parents))
        assert (sizes > 0).all() and (np.diff(sizes) <= 0).all()
        if k:
            assert (labels >= 0).all()
    assert (layers.parents[-1] == -1).all()


def test_stability_is_a_share_and_flags_fragile_nodes(blobs_layers):
    *_, layers = blobs_layers
    for stability, parents in zip(layers.stability, layers.parents, strict=True):
        assert len(stability) == len(parents)
        assert ((stability >= 0) & (stability <= 1)).all()
    assert layers.stability[-1].min() > 0.9  # four far-apart groups survive every resample


def test_same_seed_same_layers():
    space, *_ = two_level_blobs(seed=3)
    runs = [build_layers(space, cluster(space, ClusterConfig()), ClusterConfig(), seed=5)
            for _ in range(2)]
    for a, b in zip(runs[0].labels + runs[0].stability, runs[1].labels + runs[1].stability,
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_n_themes_fixes_the_top_layer_and_adds_layers_between():
    space, *_ = two_level_blobs(groups=6, per_group=5)
    fine = cluster(space, ClusterConfig()).labels
    labels, parents = broad_layers(space, fine, n_themes=2)
    assert len(parents[-1]) == 2 and len(labels) == 3  # 30 -> 8 -> 2
    assert check_nesting(labels, parents)
    assert broad_layers(space, fine, n_themes=6)[1][-1].size == 6


def test_few_clusters_make_one_natural_layer():
    space, *_ = two_level_blobs(groups=5, per_group=1)
    fine = cluster(space, ClusterConfig()).labels
    labels, parents = broad_layers(space, fine)
    assert len(labels) == 2 and len(parents[0]) == len(parents[1]) == int(fine.max()) + 1
    grouped = fine >= 0
    np.testing.assert_array_equal(labels[1][grouped], fine[grouped])  # the top repeats it
    assert (labels[1] >= 0).all()


def test_layer_counts_shrink_by_about_four_to_the_top():
    assert layer_counts(67, 4) == [17, 4]
    assert layer_counts(19, 7) == [7]
    assert layer_counts(108, 6) == [27, 6]  # 27 -> 7 would leave a layer barely above 6
    assert layer_counts(5, 5) == []


def test_size_weighted_ward_equals_scipy_ward_for_single_points():
    from scipy.cluster.hierarchy import linkage

    points = np.random.default_rng(2).normal(size=(12, 3))
    ours = ward_linkage(points, np.ones(12))
    np.testing.assert_allclose(ours[:, 2], linkage(points, method="ward")[:, 2], rtol=1e-9)


def test_match_jaccard():
    ours = np.array([0, 0, 1, 1, -1])
    theirs = np.array([0, 0, 0, 1, 1])
    np.testing.assert_allclose(match_jaccard(ours, theirs, 2), [2 / 3, 1 / 3])


def test_place_layers_votes_the_finest_and_follows_parents(blobs_layers):
    space, *_, layers = blobs_layers
    probes = np.arange(0, len(space), 7)
    distance = ((space[probes, None] - space[None]) ** 2).sum(axis=-1)
    neighbours = np.argsort(distance, axis=1)[:, 1:11]  # the probe itself left out
    placed, share, noise = place_layers(neighbours, layers.labels, layers.parents,
                                        layers.is_noise)
    assert len(placed) == len(layers.labels)
    for k in range(1, len(placed)):
        assert (placed[k] >= 0).all()
        voted = placed[k - 1] >= 0
        assert (layers.parents[k - 1][placed[k - 1][voted]] == placed[k][voted]).all()
    assert (placed[-1] == layers.labels[-1][probes]).mean() > 0.95
    assert ((share >= 0) & (share <= 1)).all() and noise.dtype == bool


# --------------------------------------------------------------------------- maps


@pytest.mark.parametrize("n", [3, 10, 60])
def test_tiny_corpora_build_with_two_layers(tmp_path, n):
    corpus = make_corpus(n // 4 + 1).sample(n, random_state=0)
    source = tmp_path / "tiny.csv"
    corpus.to_csv(source, index=False)
    build([source], tmp_path / "m", embedder=FakeEmbedder(), cache_dir=tmp_path / "c",
          show_progress=False)
    topic_map = load_map(tmp_path / "m")
    assert len(topic_map.documents) == n
    assert_layers_nest(topic_map)
    stability = topic_map.clusters["stability"]
    assert stability.isna().all() if n < 20 else stability.notna().all()


@pytest.fixture(scope="module")
def layered_map(tmp_path_factory):
    """A 240-paper map with three layers (--n-themes 2 over about 14 finest clusters)."""
    root = tmp_path_factory.mktemp("layered")
    make_corpus(60).to_csv(root / "papers.csv", index=False)
    config = BuildConfig()
    config.label.n_themes = 2
    build([root / "papers.csv"], root / "map", config, embedder=FakeEmbedder(),
          cache_dir=root / "cache", show_progress=False)
    return root / "map"


def test_a_map_with_three_layers_keeps_the_format(layered_map):
    topic_map = load_map(layered_map)
    assert topic_map.levels == ["cluster", "layer_1", "theme"]
    assert_layers_nest(topic_map)
    docs = topic_map.documents
    assert list(docs.columns[:14]) == ["id", "title", "abstract", "year", "authors", "url", "x",
                                       "y", "cluster", "theme", "probability", "outlier_score",
                                       "is_noise", "layer_1"]
    assert topic_map.metadata_columns == ["venue"]
    assert topic_map.level_name(-1) == "theme" and topic_map.level_name(1) == "layer_1"
    assert topic_map.level(1).equals(topic_map.level("layer_1"))
    counts = topic_map.manifest["counts"]
    assert counts["themes"] == 2 and counts["clusters"] == counts["layers"][0]
    theme_of = ancestors(topic_map.clusters, "cluster", "theme")  # through layer_1
    clustered = docs[docs["cluster"] >= 0]
    assert (clustered["cluster"].map(theme_of) == clustered["theme"]).all()
    assert ancestors(topic_map.clusters, "theme", "theme") == {0: 0, 1: 1}
    for level in topic_map.levels:
        labels = topic_map.level(level)["label"]
        assert labels.is_unique and labels.str.len().gt(0).all()


def test_update_places_new_papers_in_every_layer(layered_map, tmp_path, monkeypatch):
    import shutil

    from pipeline.engines.fitted import load_fitted
    from pipeline.engines.update import update_map

    monkeypatch.setattr("pipeline.engines.recipe.make_embedder", lambda *a, **k: FakeEmbedder())
    target = tmp_path / "map"
    shutil.copytree(layered_map, target)
    new = make_corpus(4, seed=21)
    new["id"], new["title"] = "new-" + new["id"], "Fresh " + new["title"]
    new.to_csv(tmp_path / "new.csv", index=False)
    result = update_map(target, [tmp_path / "new.csv"], rename_growth=0.0)
    updated = load_map(target)
    assert result.added == 16 and updated.levels == ["cluster", "layer_1", "theme"]
    assert_layers_nest(updated)
    assert set(result.renamed) == set(updated.levels)
    docs = updated.documents.set_index("id")
    old = docs.drop(index=new["id"])
    topic_theme = old.groupby("venue")["theme"].agg(lambda s: s.mode()[0])
    placed = docs.loc[new["id"]]
    assert (placed["theme"] == placed["venue"].map(topic_theme)).all()
    assert len(load_fitted(updated)["cluster_space"]) == len(docs)


def test_trends_follow_any_level(layered_map, capsys):
    from pipeline.cli.main import main

    assert main(["trends", str(layered_map), "--level", "layer_1", "--min-year-papers", "5",
                 "--min-papers", "5"]) == 0
    out = capsys.readouterr().out
    assert "layer_1" in out
    assert main(["trends", str(layered_map), "--level", "layer_7"]) == 2
    assert "this map's levels (cluster, theme, layer_1), got 'layer_7'" in capsys.readouterr().err


def test_info_prints_the_tree(layered_map, capsys):
    from pipeline.cli.main import main

    assert main(["info", str(layered_map)]) == 0
    out = capsys.readouterr().out
    assert "layers (broadest first): theme, layer_1, cluster" in out
    theme = load_map(layered_map).level("theme").iloc[0]
    assert f"theme 0: {theme['label']}" in out and "stability" in out


def test_a_map_of_schema_1_is_refused_with_a_rebuild_message(tmp_path, small_map):
    import json
    import shutil

    from pipeline.errors import MapFormatError
    from pipeline.mapdir.store import MANIFEST

    shutil.copytree(small_map, tmp_path / "v1")
    manifest = json.loads((tmp_path / "v1" / MANIFEST).read_text())
    manifest["schema_version"] = 1
    (tmp_path / "v1" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(MapFormatError, match=r"before topic layers.*rebuild it .*pipeline build"):
        load_map(tmp_path / "v1")
    from pipeline.cli.main import main

    assert main(["info", str(tmp_path / "v1")]) == 2


def test_drill_down_of_a_map_replaces_its_layer_columns(layered_map):
    from pipeline import map_papers

    topic_map = load_map(layered_map)
    part = topic_map.documents[topic_map.documents["theme"] == 0].reset_index(drop=True)
    part["_row"] = np.arange(len(part))
    vectors = np.asarray(topic_map.embeddings, dtype=np.float32)[
        topic_map.documents["theme"].to_numpy() == 0]
    documents, clusters = map_papers(part, vectors, BuildConfig())
    levels = list(pd.unique(clusters.sort_values("layer")["level"]))
    assert [c for c in documents.columns if c.startswith("layer_")] == levels[1:-1]
    assert "_row" in documents.columns
