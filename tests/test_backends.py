"""Embedder backends: choice, cache separation, and vectors close to torch float32."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FakeEmbedder, PaperCounter, make_corpus

from pipeline import BuildConfig, build, load_map
from pipeline.cli.main import main
from pipeline.config import EmbedConfig
from pipeline.embed.base import SentenceTransformerEmbedder
from pipeline.embed.registry import (
    BACKENDS,
    Backend,
    OnnxEmbedder,
    OvInt8Embedder,
    TorchBf16Embedder,
    cache_key_of,
    cpu_supports_bf16,
    embedder_for_map,
    make_embedder,
    resolve_backend,
)
from pipeline.embed.static import StaticEmbedder
from pipeline.errors import ConfigError


def test_auto_never_picks_bf16(monkeypatch):
    # bfloat16 measured slower than float32 on a CPU with avx512_bf16 but no AMX
    # (BENCHMARKS.md), so auto is ov-int8 (VNNI, tests/test_ov_embed.py) or torch.
    monkeypatch.setattr("pipeline.embed.registry._cuda_available", lambda: False)
    monkeypatch.setattr("pipeline.embed.registry.cpu_supports_vnni", lambda: False)
    monkeypatch.setattr("pipeline.embed.registry.cpu_supports_bf16", lambda: True)
    assert resolve_backend("auto") == "torch"
    assert resolve_backend("onnx-int8") == "onnx-int8"
    monkeypatch.setattr("pipeline.embed.registry._cuda_available", lambda: True)
    assert resolve_backend("auto") == "torch"  # a GPU: float32 there


def test_make_embedder_and_cache_keys_differ_per_backend(tmp_path):
    made = {}
    for backend in ("torch", "torch-bf16", "ov-int8", "onnx", "onnx-int8"):
        made[backend] = make_embedder(EmbedConfig(backend=backend), cache_dir=tmp_path)
    assert type(made["torch"]) is SentenceTransformerEmbedder
    assert isinstance(made["torch-bf16"], TorchBf16Embedder)
    assert isinstance(made["onnx"], OnnxEmbedder) and not made["onnx"].quantized
    assert made["onnx-int8"].quantized
    assert isinstance(made["ov-int8"], OvInt8Embedder)
    keys = {cache_key_of(e) for e in made.values()}
    assert len(keys) == 5
    # Plain torch keeps the model name as its key: caches made before backends existed stay valid.
    assert cache_key_of(made["torch"]) == "all-MiniLM-L6-v2"
    assert all(e.name == "all-MiniLM-L6-v2" for e in made.values())
    with pytest.raises(ConfigError, match=r"embed\.backend"):
        make_embedder(EmbedConfig(backend="tensorrt"))
    config = BuildConfig()
    config.embed.backend = "tensorrt"
    with pytest.raises(ConfigError, match=r"embed\.backend"):  # before any work
        build(["no-such-file.csv"], "no-such-map", config)


class KeyedFake(PaperCounter):
    def __init__(self, backend: str) -> None:
        super().__init__()
        self.backend = backend
        self.cache_key = f"{self.name}@{backend}"


def test_vectors_of_different_backends_never_mix_in_the_cache(tmp_path):
    source = tmp_path / "papers.csv"
    make_corpus(8).to_csv(source, index=False)
    first, second = KeyedFake("a"), KeyedFake("b")
    build([source], tmp_path / "m1", embedder=first, cache_dir=tmp_path / "c",
          show_progress=False)
    build([source], tmp_path / "m2", embedder=second, cache_dir=tmp_path / "c",
          show_progress=False)
    assert second.texts_seen == first.texts_seen == 32  # nothing reused across backends
    assert load_map(tmp_path / "m2").manifest["model"]["backend"] == "b"
    folders = sorted(p.name for p in (tmp_path / "c" / "embeddings").iterdir())
    assert folders == ["fake-hash-embedder_a", "fake-hash-embedder_b"]


class TrivialBackend(FakeEmbedder):
    """A whole backend: an embedder class that takes ``(model, *, device, cache_dir)`` and
    says its backend name."""

    backend = "trivial"

    def __init__(self, model: str = "default", *, device=None, cache_dir=None) -> None:
        super().__init__()


def test_adding_a_backend_is_one_class_and_one_registry_line(monkeypatch, corpus_csv, tmp_path):
    monkeypatch.setitem(BACKENDS, "trivial", Backend("the tests' bag of words", TrivialBackend))
    # The command line's choices, config validation and the build all read the registry.
    code = main(["build", str(corpus_csv), "--out", str(tmp_path / "m"), "--backend", "trivial",
                 "--cache-dir", str(tmp_path / "cache"), "-q"])
    assert code == 0
    model = load_map(tmp_path / "m").manifest["model"]
    assert model == {"name": "fake-hash-embedder", "dimension": 64, "source": "computed",
                     "backend": "trivial"}
    # Its vectors are cached apart from every other backend's.
    assert [p.name for p in (tmp_path / "cache" / "embeddings").iterdir()] == \
        ["fake-hash-embedder_trivial"]
    # And the dashboard embeds the map's queries with it.
    assert isinstance(embedder_for_map(model), TrivialBackend)


def test_queries_use_the_backend_the_map_was_embedded_with(monkeypatch, tmp_path):
    monkeypatch.setattr("pipeline.embed.registry._cuda_available", lambda: False)
    monkeypatch.setattr("pipeline.embed.registry.cpu_supports_bf16", lambda: True)
    name = "all-MiniLM-L6-v2"

    def made(model):
        return embedder_for_map(model, cache_dir=tmp_path)

    assert type(made({"name": name, "backend": "torch-bf16"})) is TorchBf16Embedder
    assert type(made({"name": name, "backend": "torch"})) is SentenceTransformerEmbedder
    onnx = made({"name": name, "backend": "onnx-int8"})
    assert isinstance(onnx, OnnxEmbedder) and onnx.quantized
    fast = made({"name": f"fast:{name}", "backend": "static"})
    assert isinstance(fast, StaticEmbedder) and fast.name == f"fast:{name}"
    # No backend recorded (older maps, precomputed vectors), an unknown one, or one that
    # cannot run here: the same model on torch float32.
    for model in ({"name": name}, {"name": name, "backend": None}, name,
                  {"name": name, "backend": "tensorrt"}):
        assert type(made(model)) is SentenceTransformerEmbedder
    monkeypatch.setattr("pipeline.embed.registry.cpu_supports_bf16", lambda: False)
    assert type(made({"name": name, "backend": "torch-bf16"})) is SentenceTransformerEmbedder
    assert all(e.name == name for e in (made(name), onnx))


# --------------------------------------------------------------------------- real model

TEXTS = [
    "Graph neural networks for molecular property prediction. We pass messages along bonds.",
    "Message passing networks on molecular graphs predict quantum chemistry properties.",
    "A legged robot learns to walk on rough terrain with reinforcement learning.",
    "Sourdough bread needs a starter, flour, water and salt.",
    "Large language models answer questions about long documents by retrieval.",
    "Semantic segmentation of street scenes with convolutional networks.",
    "A short one.",
    "Transformers " * 300,  # longer than the model's 256 tokens: truncated alike
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SentenceTransformerEmbedder("default").encode(TEXTS)


@pytest.mark.slow
def test_bf16_close_to_float32(reference):
    if not cpu_supports_bf16():
        with pytest.raises(Exception, match="bfloat16"):
            TorchBf16Embedder().encode(TEXTS[:1])
        return
    vectors = TorchBf16Embedder().encode(TEXTS)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.min() > 0.999


@pytest.mark.slow
@pytest.mark.parametrize("quantized, floor", [(False, 0.9999), (True, 0.97)])
def test_onnx_close_to_float32(reference, tmp_path_factory, quantized, floor):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    cache = tmp_path_factory.getbasetemp() / "onnx-cache"  # shared: export once per session
    embedder = OnnxEmbedder(quantized=quantized, cache_dir=cache)
    vectors = embedder.encode(TEXTS, batch_size=3)
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.min() > floor
    # Batching and order do not change a float32 vector; int8 activations are scaled per
    # batch, so there a text's vector moves a little with its batch companions.
    again = embedder.encode(TEXTS[::-1], batch_size=8)[::-1]
    if quantized:
        assert (again * vectors).sum(axis=1).min() > 0.98
    else:
        np.testing.assert_allclose(again, vectors, atol=1e-4)
    # The exported graph is cached and reused.
    graph = embedder.onnx_path()
    stamp = graph.stat().st_mtime_ns
    OnnxEmbedder(quantized=quantized, cache_dir=cache).encode(TEXTS[:1])
    assert graph.stat().st_mtime_ns == stamp
