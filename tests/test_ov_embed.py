"""The ov-int8 backend (OpenVINO + NNCF): quantised once, cached, close to torch float32,
chosen by ``auto`` only where it pays, and silent (no telemetry).

A tiny random BERT (test_static_embed.make_tiny_model) quantises in seconds; one
test quantises the real model with a small calibration set, once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_static_embed import WORDS, make_tiny_model

from pipeline.bench.metrics import knn_agreement
from pipeline.config import EmbedConfig
from pipeline.embed.base import SentenceTransformerEmbedder, cpu_supports_vnni
from pipeline.embed.openvino import OvInt8Embedder, QuantSettings, calibration_texts
from pipeline.embed.registry import (
    BACKENDS,
    Backend,
    embedder_for_map,
    make_embedder,
    resolve_backend,
)

pytest.importorskip("openvino")
pytest.importorskip("nncf")

ROOT = Path(__file__).resolve().parents[1]
rng = np.random.default_rng(0)
TINY_TEXTS = [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 40)))) for _ in range(24)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-bert")


@pytest.fixture(scope="module")
def tiny_int8(tiny_model, tmp_path_factory):
    cache = tmp_path_factory.mktemp("ov-cache")
    embedder = OvInt8Embedder(str(tiny_model), cache_dir=cache, calibration=TINY_TEXTS[:16])
    return embedder, embedder.encode(TINY_TEXTS, batch_size=5)


def test_quantises_once_and_caches(tiny_int8, tiny_model):
    embedder, vectors = tiny_int8
    assert vectors.shape == (len(TINY_TEXTS), 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.one_time_s > 0 and embedder.ready()
    folder = embedder.model_dir()
    assert {"model.xml", "model.bin", "meta.json"} <= {p.name for p in folder.iterdir()}
    # written atomically: no temporary folder or ONNX file left behind
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]
    stamp = (folder / "model.bin").stat().st_mtime_ns
    again = OvInt8Embedder(str(tiny_model), cache_dir=embedder.cache_root,
                           calibration=TINY_TEXTS[:16])
    assert again.ready() and again.cache_key == embedder.cache_key
    np.testing.assert_allclose(again.encode(TINY_TEXTS, batch_size=7), vectors, atol=1e-5)
    assert again.one_time_s == 0 and (folder / "model.bin").stat().st_mtime_ns == stamp
    # Other calibration texts: another model, another embedding-cache key.
    other = OvInt8Embedder(str(tiny_model), cache_dir=embedder.cache_root,
                           calibration=TINY_TEXTS[8:])
    assert other.cache_key != embedder.cache_key and not other.ready()
    assert embedder.cache_key.startswith(f"{embedder.name}@ov-int8-")


def test_tiny_int8_close_to_float32(tiny_int8, tiny_model):
    _, vectors = tiny_int8
    reference = SentenceTransformerEmbedder(str(tiny_model)).encode(TINY_TEXTS)
    assert (vectors * reference).sum(axis=1).min() > 0.97
    assert knn_agreement(vectors, reference, 5) > 0.7
    # length-sorted, streamed batches: order and batch size do not move a vector much
    embedder, _ = tiny_int8
    again = embedder.encode(TINY_TEXTS[::-1], batch_size=3)[::-1]
    assert (again * vectors).sum(axis=1).min() > 0.99
    assert embedder.encode([]).shape == (0, 32)


def test_a_damaged_cached_model_is_made_again(tiny_model, tmp_path):
    embedder = OvInt8Embedder(str(tiny_model), cache_dir=tmp_path, calibration=TINY_TEXTS[:8])
    first = embedder.encode(TINY_TEXTS[:4])
    (embedder.model_dir() / "model.xml").write_text("<not a model")
    again = OvInt8Embedder(str(tiny_model), cache_dir=tmp_path, calibration=TINY_TEXTS[:8])
    np.testing.assert_allclose(again.encode(TINY_TEXTS[:4]), first, atol=1e-5)


def test_shipped_calibration_is_fixed():
    texts = calibration_texts(QuantSettings())
    assert len(texts) == 128 and texts == calibration_texts(QuantSettings())
    assert all(". " in t for t in texts)  # title. abstract, as papers are embedded


def test_auto_picks_ov_int8_only_with_vnni_and_the_packages(monkeypatch):
    monkeypatch.setattr("pipeline.embed.registry._cuda_available", lambda: False)
    monkeypatch.setattr("pipeline.embed.registry.openvino_installed", lambda device=None: True)
    monkeypatch.setattr("pipeline.embed.registry.cpu_supports_vnni", lambda: True)
    assert resolve_backend("auto") == "ov-int8"
    assert isinstance(make_embedder(EmbedConfig()), OvInt8Embedder)
    monkeypatch.setattr("pipeline.embed.registry.cpu_supports_vnni", lambda: False)
    assert resolve_backend("auto") == "torch"  # no VNNI: int8 would not pay
    monkeypatch.setattr("pipeline.embed.registry.cpu_supports_vnni", lambda: True)
    monkeypatch.setattr("pipeline.embed.registry.openvino_installed", lambda device=None: False)
    assert resolve_backend("auto") == "torch"  # packages missing
    monkeypatch.setattr("pipeline.embed.registry.openvino_installed", lambda device=None: True)
    monkeypatch.setattr("pipeline.embed.registry._cuda_available", lambda: True)
    assert resolve_backend("auto") == "torch"  # a GPU: float32 there
    assert resolve_backend("auto", "cpu") == "ov-int8"


def test_cpu_flag_parsing(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    for flags, expected in (("fpu avx2 avx512f avx512_vnni", True), ("fpu avx2 avx_vnni", True),
                            ("fpu avx2 avx512f avx512_bf16", False), ("", False)):
        cpuinfo.write_text(f"processor : 0\nflags : {flags}\n")
        assert cpu_supports_vnni(cpuinfo) is expected
    assert cpu_supports_vnni(tmp_path / "missing") is False


def test_queries_of_an_ov_int8_map(tiny_model, tmp_path, monkeypatch, caplog):
    embedder = OvInt8Embedder(str(tiny_model), cache_dir=tmp_path)  # shipped calibration
    vectors = embedder.encode(TINY_TEXTS[:3])
    model = {"name": str(tiny_model), "backend": "ov-int8"}
    # The exact quantised model is here: queries use it (one model per machine).
    same = embedder_for_map(model, cache_dir=tmp_path)
    assert isinstance(same, OvInt8Embedder) and same.ready()
    np.testing.assert_allclose(same.encode(TINY_TEXTS[:3]), vectors, atol=1e-5)
    assert same.one_time_s == 0
    # Not made on this machine (another cache): torch float32, said in the log, rather
    # than a minute of quantising in the dashboard.
    with caplog.at_level("INFO", logger="pipeline.embed.registry"):
        other = embedder_for_map({"name": "default", "backend": "ov-int8"},
                                 cache_dir=embedder.cache_root / "elsewhere")
    assert type(other) is SentenceTransformerEmbedder
    assert "not prepared on this machine" in caplog.text
    # OpenVINO not installed here: torch as well.
    monkeypatch.setitem(BACKENDS, "ov-int8",
                        Backend("absent", OvInt8Embedder, lambda device=None: False))
    assert type(embedder_for_map(model)) is SentenceTransformerEmbedder


def test_no_telemetry_is_sent_or_written(tmp_path):
    """openvino and nncf imported through pipeline.embed.openvino take their no-op telemetry
    stubs: no consent or client-id file appears in HOME (outside pytest too)."""
    code = ("from pipeline.embed.openvino import import_nncf, import_openvino\n"
            "import_nncf(); import_openvino()\n"
            "import openvino.tools.ovc.utils as u\n"
            "from nncf.telemetry import wrapper\n"
            "assert u.tm.__name__.endswith('telemetry_stub'), u.tm\n"
            "assert isinstance(wrapper.telemetry, wrapper.NNCFTelemetryStub)\n")
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, timeout=300)
    assert not (tmp_path / "intel").exists()


@pytest.mark.slow
def test_real_model_int8_close_to_float32(tmp_path_factory):
    from test_backends import TEXTS

    reference = SentenceTransformerEmbedder("default").encode(TEXTS)
    embedder = OvInt8Embedder(cache_dir=tmp_path_factory.mktemp("ov-real"),
                              settings=QuantSettings(n_calibration=32))
    vectors = embedder.encode(TEXTS, batch_size=3)
    assert vectors.shape == (len(TEXTS), 384)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine[:-1].min() > 0.99  # real texts
    assert cosine[-1] > 0.9  # one token 300 times over: int8 moves it most (0.956)
    assert knn_agreement(vectors, reference, 3) >= 0.7
