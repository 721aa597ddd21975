"""``--engine ray``: same map format as the local engine, clusters that agree with it,
and a clear error without Ray. The Ray build itself needs Ray installed
(requirements-scale.txt) and is skipped without it."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from pipeline import BuildConfig, build, load_map
from pipeline.engines.ray import ray_available, sample_sizes
from pipeline.errors import PipelineError
from tests.conftest import FakeEmbedder, assert_layers_nest, make_corpus

needs_ray = pytest.mark.skipif(not ray_available(), reason="ray not installed "
                               "(pip install -r requirements-scale.txt)")


def test_sample_sizes_scale_with_the_sample_share():
    from pipeline.fit.cluster import auto_min_cluster_size

    config = BuildConfig()
    full = auto_min_cluster_size(10_000)
    assert sample_sizes(10_000, 10_000, config) == (full, 5)  # the local engine's own
    size, samples = sample_sizes(10_000, 2_500, config)
    assert size == round(full / 4) and samples == 5  # min_samples is a density, not a size
    config.cluster.min_cluster_size, config.cluster.min_samples = 100, 20
    assert sample_sizes(1_000, 500, config) == (50, 20)
    assert sample_sizes(1_000, 10, config)[0] >= 2  # never below HDBSCAN's minimum


def test_engine_ray_without_ray_is_a_clear_error(monkeypatch, corpus_csv, tmp_path):
    from pipeline.engines.ray import build_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(PipelineError, match=r"requirements-scale\.txt"):
        build_ray([corpus_csv], tmp_path / "m", BuildConfig(), embedder_factory=FakeEmbedder)
    assert not (tmp_path / "m").exists()


def test_cli_has_engine_options():
    from pipeline.cli.main import build_parser

    args = build_parser().parse_args(["build", "x.csv", "--out", "m", "--engine", "ray",
                                      "--ray-workers", "2", "--ray-sample", "500"])
    assert (args.engine, args.ray_workers, args.ray_sample, args.ray_address) == \
        ("ray", 2, 500, None)
    assert build_parser().parse_args(["build", "x.csv", "--out", "m"]).engine == "local"


@needs_ray
@pytest.mark.slow
def test_ray_build_matches_local_engine(tmp_path):
    import ray.cloudpickle

    import tests.conftest as conftest
    from pipeline.bench.metrics import partition_scores
    from pipeline.engines.ray import build_ray
    from pipeline.engines.update import update_map

    # Workers get the test's fake embedder by value (tests/ is not a package on their path).
    ray.cloudpickle.register_pickle_by_value(conftest)
    corpus = make_corpus(n_per_topic=80, seed=5)  # 320 papers, 4 topics
    source = tmp_path / "papers.csv"
    corpus.to_csv(source, index=False)
    config = BuildConfig()
    local = build([source], tmp_path / "local", config, embedder=FakeEmbedder(),
                  cache_dir=tmp_path / "cache-local", show_progress=False)
    build_ray([source], tmp_path / "ray", config, embedder_factory=FakeEmbedder,
              cache_dir=tmp_path / "cache-ray", workers=2, sample_size=160)

    loaded = load_map(tmp_path / "ray")  # the same format, checked by the loader
    local = load_map(tmp_path / "local")
    assert list(loaded.documents.columns) == list(local.documents.columns)
    assert list(loaded.clusters.columns) == list(local.clusters.columns)
    assert (loaded.documents.dtypes == local.documents.dtypes).all()
    assert loaded.manifest["engine"]["name"] == "ray"
    assert loaded.manifest["engine"]["sample_size"] == 160
    assert loaded.manifest["counts"]["embedded"] == 320
    assert set(loaded.documents["id"]) == set(local.documents["id"])
    # Vectors are the same embedder's, row-aligned after the sample-first reordering.
    by_id = dict(zip(local.documents["id"], local.embeddings, strict=True))
    expected = np.vstack([by_id[i] for i in loaded.documents["id"]])
    np.testing.assert_allclose(loaded.embeddings, expected, atol=1e-6)

    # The layers: nested, every paper placed; the broad layer agrees with the local map and
    # with the topics (the finest layer splits each synthetic topic at random).
    assert_layers_nest(loaded)
    assert loaded.levels == local.levels
    merged = local.documents[["id", "theme", "venue"]].merge(
        loaded.documents[["id", "theme"]], on="id", suffixes=("_local", "_ray"))
    assert partition_scores(merged["theme_local"], merged["theme_ray"]).nmi >= 0.9
    assert partition_scores(merged["venue"], merged["theme_ray"]).nmi >= 0.9
    for level in loaded.levels:
        labels = loaded.level(level)["label"]
        assert labels.str.len().gt(0).all() and labels.is_unique

    # The saved fitted state serves incremental updates of a Ray-built map.
    new = make_corpus(n_per_topic=3, seed=11)
    new["id"] = [f"new-{i}" for i in range(len(new))]
    new["title"] = new["title"] + " (new)"
    new.to_csv(tmp_path / "new.csv", index=False)
    result = update_map(tmp_path / "ray", [tmp_path / "new.csv"], embedder=FakeEmbedder(),
                        cache_dir=tmp_path / "cache-ray")
    assert result.added == 12
    after = load_map(tmp_path / "ray")
    assert_layers_nest(after)
    updated = after.documents.set_index("id")
    assert np.isfinite(updated.loc[new["id"], ["x", "y"]].to_numpy()).all()
    wrong = 0
    for i, row in new.iterrows():
        same_topic = updated[updated["venue"] == row["venue"]].drop(
            index=new["id"], errors="ignore")["theme"]
        wrong += updated.loc[new["id"][i], "theme"] != same_topic.mode()[0]
    assert wrong == 0
    assert (updated.loc[new["id"], "cluster"] >= 0).sum() >= 6  # the vote may say noise
