"""Scale: a long build is resumable (embeddings come from the cache), and the
steps' memory stays linear in the corpus."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import pipeline.embed.base
from pipeline import BuildConfig, build
from pipeline.embed.base import EmbeddingCache
from pipeline.embed.registry import cache_key_of
from tests.conftest import FakeEmbedder, PaperCounter, make_corpus


class InterruptedEmbedder(FakeEmbedder):
    """Embeds ``allowed`` calls, then behaves like Ctrl-C."""

    def __init__(self, allowed: int) -> None:
        super().__init__()
        self.allowed = allowed

    def encode(self, texts, *, batch_size=32, show_progress=False):
        if self.calls >= self.allowed:
            raise KeyboardInterrupt
        return super().encode(texts, batch_size=batch_size, show_progress=show_progress)


# Builds write a cache shard every ``pipeline.embed.base.SHARD_SIZE`` (2,048) texts; the test
# lowers it so that a corpus of a few hundred papers spans two shards and builds quickly.
SHARD_SIZE = 256


@pytest.fixture
def big_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline.embed.base, "SHARD_SIZE", SHARD_SIZE)
    corpus = make_corpus(n_per_topic=80, seed=3)  # 320 papers: a full shard and 64 more
    path = tmp_path / "papers.csv"
    corpus.to_csv(path, index=False)
    return path, len(corpus)


def test_interrupted_build_resumes_from_the_cache(big_csv, tmp_path):
    path, n = big_csv
    assert n > SHARD_SIZE
    cache = tmp_path / "cache"
    out = tmp_path / "map"
    config = BuildConfig()

    with pytest.raises(KeyboardInterrupt):
        build([path], out, config, embedder=InterruptedEmbedder(allowed=1), cache_dir=cache,
              show_progress=False)
    assert not out.exists()  # nothing half-written
    stored = EmbeddingCache(cache, cache_key_of(FakeEmbedder()))  # the build's own key
    shards = list(stored.dir.glob("*.npz"))
    assert len(shards) == 1  # the first shard was saved before the interruption
    with np.load(shards[0]) as data:
        assert len(data["keys"]) == SHARD_SIZE

    embedder = PaperCounter()
    topic_map = build([path], out, config, embedder=embedder, cache_dir=cache,
                      show_progress=False)
    assert embedder.texts_seen == n - SHARD_SIZE  # only the remainder is embedded again
    assert topic_map.manifest["counts"]["embedded"] == n - SHARD_SIZE
    assert len(topic_map.documents) == n

    # The vectors are those of an uninterrupted run, row for row.
    from pipeline.embed.base import document_texts, normalize_rows

    docs = topic_map.documents
    expected = normalize_rows(FakeEmbedder().encode(
        document_texts(docs["title"].tolist(), docs["abstract"].tolist())))
    np.testing.assert_allclose(topic_map.embeddings, expected, atol=1e-6)


# --------------------------------------------------------------------------- GPU paths


def test_gpu_paths_fall_back_without_cuda_or_cuml(monkeypatch):
    import umap

    from pipeline.embed import gpu

    gpu._cuml.cache_clear()
    monkeypatch.setitem(sys.modules, "cuml", None)  # import cuml -> ImportError
    assert not gpu.cuml_available()
    assert gpu.umap_class() is umap.UMAP
    model = gpu.make_umap(n_neighbors=5, n_jobs=1, low_memory=True)
    assert isinstance(model, umap.UMAP) and model.low_memory is True
    import hdbscan

    assert gpu.hdbscan_class() is hdbscan.HDBSCAN
    monkeypatch.setenv(gpu.NO_GPU_ENV, "1")
    assert gpu.torch_device() == "cpu" and not gpu.cuda_available()
    gpu._cuml.cache_clear()


def test_gpu_paths_use_cuml_when_present(monkeypatch):
    from pipeline.embed import gpu

    class FakeUMAP:
        def __init__(self, **settings):
            self.settings = settings

    fake = types.ModuleType("cuml")
    fake.UMAP = FakeUMAP
    gpu._cuml.cache_clear()
    monkeypatch.setitem(sys.modules, "cuml", fake)
    monkeypatch.setattr(gpu, "cuda_available", lambda: True)
    monkeypatch.delenv(gpu.NO_GPU_ENV, raising=False)
    try:
        assert gpu.cuml_available()
        model = gpu.make_umap(n_neighbors=5, n_components=2, n_jobs=1, low_memory=True)
        assert isinstance(model, FakeUMAP)
        assert model.settings == {"n_neighbors": 5, "n_components": 2}  # CPU-only args dropped
        monkeypatch.setenv(gpu.NO_GPU_ENV, "1")
        assert not gpu.cuml_available()
    finally:
        gpu._cuml.cache_clear()


def test_static_distillation_device_follows_cuda(monkeypatch):
    from pipeline.embed import gpu

    monkeypatch.setenv(gpu.NO_GPU_ENV, "1")
    assert gpu.torch_device() == "cpu"
    monkeypatch.delenv(gpu.NO_GPU_ENV)
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gpu.torch_device() == "cuda"
    assert gpu.describe()["torch_device"] == "cuda"
