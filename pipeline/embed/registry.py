"""The embedding backends: one registry from name to description and embedder class.

``EmbedConfig.backend`` (``--backend``) picks a way to run the model:

=============  ==============================================================
``auto``       the default: ``ov-int8`` where OpenVINO and NNCF are installed
               and the CPU has int8 dot-product instructions (``avx512_vnni``,
               ``avx_vnni`` or AMX), else ``torch``. The pick is recorded in
               the map's manifest (``model.backend``).
``torch``      sentence-transformers on PyTorch, float32: the reference.
``torch-bf16`` the same model cast to bfloat16 (weights and activations;
               pooling and normalisation in float32). Not faster than float32
               on CPUs without AMX (measured; BENCHMARKS.md), so ``auto``
               does not pick it.
``ov-int8``    OpenVINO, int8 weights and activations quantised once with
               NNCF on a fixed calibration set (``pipeline.embed.openvino``): 3-4x
               float32 on a VNNI CPU, kNN@10 agreement ~0.94, the same map.
``onnx``       ONNX Runtime, float32, from a graph exported locally
               (``pipeline.embed.onnx``).
``onnx-int8``  ONNX Runtime with int8 weights (dynamic quantization, one scale
               per output channel): its neighbours drift (kNN@10 agreement
               ~0.91 with float32, see BENCHMARKS.md).
=============  ==============================================================

A model named ``fast`` or ``fast:<model>`` is the static model tuned on the
corpus (``pipeline.embed.fast_tune``) whatever the backend: the backend runs the
transformer that embeds its tuning sample, and the map records the backend
``static-tuned:<key>`` (maps built before record ``static``: the untuned
``pipeline.embed.static``).

:data:`BACKENDS` is the one table: config validation, ``--backend``'s choices,
``build`` (:func:`make_embedder`) and the dashboard's query embedder
(:func:`embedder_for_map`) all read it. Adding a backend is one embedder class
plus one line here (CONTRIBUTING.md). An embedder class takes
``(model, *, device=None, cache_dir=None)`` and has ``name`` (the model, as maps
record it and queries use it), ``backend`` (its name here), ``dimension`` and
``encode``; the embedding cache is keyed by :func:`cache_key_of` (model and
backend; plain ``torch`` keeps the model name so existing caches stay valid),
so vectors of different backends never mix. An embedder that makes something
once (a quantised model) may have ``ready()``: False sends the dashboard's
queries to ``torch`` rather than make it there.

Importing this module imports no model library (torch, onnxruntime, openvino):
the classes load them when they first embed.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import EmbedConfig
from pipeline.errors import ConfigError, PipelineError

from .base import (
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    TorchBf16Embedder,
    cpu_supports_bf16,
    cpu_supports_vnni,
    default_cache_dir,
    embed_texts,
)
from .fast_tune import BACKEND as TUNED
from .fast_tune import TunedStaticEmbedder
from .onnx import OnnxEmbedder
from .openvino import OvInt8Embedder, openvino_installed
from .static import StaticEmbedder, is_fast_model, source_of

log = logging.getLogger(__name__)

__all__ = [
    "BACKENDS", "DEFAULT_BACKEND", "Backend", "OnnxEmbedder", "OvInt8Embedder",
    "TorchBf16Embedder", "TunedStaticEmbedder", "backend_of", "cache_key_of", "cpu_supports_bf16",
    "cpu_supports_vnni", "embedder_for_map", "embedder_for_update", "make_embedder",
    "resolve_backend",
]


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _onnx_installed(device: str | None = None) -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def _bf16_runs_here(device: str | None = None) -> bool:
    return cpu_supports_bf16() or _cuda_available()


def _auto(model: str, *, device: str | None = None, cache_dir: Path | str | None = None,
          ) -> Embedder:
    """The backend ``auto`` stands for on this machine."""
    return BACKENDS[resolve_backend("auto", device)].factory(model, device=device,
                                                             cache_dir=cache_dir)


@dataclass(frozen=True)
class Backend:
    """One way to run an embedding model.

    ``factory(model, *, device=None, cache_dir=None)`` makes the embedder (an
    embedder class itself, usually); ``runs_here(device)`` says whether it can
    run on this machine (the dashboard falls back to ``torch`` when not).
    """

    description: str
    factory: Callable[..., Embedder]
    runs_here: Callable[[str | None], bool] = lambda device: True


#: Backend name -> what it is and how to make it. The first one is the default.
BACKENDS: dict[str, Backend] = {
    "auto": Backend("ov-int8 where OpenVINO runs on a CPU with VNNI, else torch (default)",
                    _auto),
    "torch": Backend("sentence-transformers on PyTorch, float32 (the reference)",
                     SentenceTransformerEmbedder),
    "torch-bf16": Backend("PyTorch with the model in bfloat16 (CPUs with avx512_bf16/AMX, or "
                          "a GPU)", TorchBf16Embedder, _bf16_runs_here),
    "ov-int8": Backend("OpenVINO, int8 weights and activations (NNCF, calibrated once): "
                       "3-4x torch on VNNI CPUs", OvInt8Embedder, openvino_installed),
    "onnx": Backend("ONNX Runtime, float32, exported locally from the model's weights",
                    functools.partial(OnnxEmbedder, quantized=False), _onnx_installed),
    "onnx-int8": Backend("ONNX Runtime, int8 weights quantized per channel (fastest, less "
                         "faithful)", functools.partial(OnnxEmbedder, quantized=True),
                         _onnx_installed),
}
DEFAULT_BACKEND = EmbedConfig.backend
#: The backend of maps that do not record one (built before backends, or from vectors).
FALLBACK_BACKEND = "torch"


def check_backend(name: object) -> str:
    """``name`` if it is a registered backend, else a ``ConfigError`` listing them."""
    if name not in BACKENDS:
        raise ConfigError(f"embed.backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    return str(name)


def make_embedder(config, *, cache_dir: Path | str | None = None) -> Embedder:
    """The embedder ``config`` (an ``EmbedConfig``) asks for.

    ``cache_dir`` is where a backend keeps what it makes once (exported ONNX
    graphs, distilled static vectors; default: the embedding cache's root).
    """
    return _make(config.model, getattr(config, "backend", None) or DEFAULT_BACKEND,
                 device=config.device, cache_dir=cache_dir)


def _make(model: str, backend: str, *, device: str | None, cache_dir: Path | str | None,
          ) -> Embedder:
    if is_fast_model(model):  # --model fast: the static model tuned on the corpus
        source = source_of(model)
        return TunedStaticEmbedder(
            model, cache_dir=cache_dir, device=device,
            teacher=lambda: _make(source, backend, device=device, cache_dir=cache_dir),
            teacher_vectors=functools.partial(_teacher_vectors, cache_dir=cache_dir))
    return BACKENDS[check_backend(backend)].factory(model, device=device, cache_dir=cache_dir)


def _teacher_vectors(teacher: Embedder, texts: list[str], *,
                     cache_dir: Path | str | None) -> np.ndarray:
    """The transformer's vectors of the tuning sample, through its embedding cache."""
    cache = EmbeddingCache(Path(cache_dir) if cache_dir else default_cache_dir(),
                           cache_key_of(teacher))
    return embed_texts(texts, teacher, cache=cache, show_progress=False)[0]


def embedder_for_map(model: Mapping | str, *, cache_dir: Path | str | None = None,
                     device: str | None = None) -> Embedder:
    """The embedder a map's papers were embedded with, to embed queries the same way.

    ``model`` is the manifest's ``model`` entry (``name`` and ``backend``; a bare
    name is taken as one without a backend). A map that records no backend (built
    before backends existed, or from precomputed vectors), or one not registered,
    unable to run here, or not ``ready()`` here (the quantised model not made on
    this machine), gets ``torch``: the same model in float32, logged. ``fast:``
    models get their tuned table (``static-tuned:<key>``); if it is gone, the
    transformer it was tuned to imitate (its vectors live in the same space),
    logged; maps of the untuned static model (``static``) get that.
    """
    entry = {"name": model} if isinstance(model, str) else dict(model)
    name = str(entry.get("name") or "")
    backend = str(entry.get("backend") or FALLBACK_BACKEND)
    if is_fast_model(name):
        if not backend.startswith(TUNED):
            return StaticEmbedder(name, cache_dir=cache_dir, device=device)
        tuned = TunedStaticEmbedder(name, cache_dir=cache_dir, device=device,
                                    key=backend.partition(":")[2] or None)
        if tuned.ready():
            return tuned
        log.warning("the map's corpus-tuned fast model (%s) is not in %s: queries use the "
                    "transformer it was tuned on instead (same space, coarser match)",
                    backend, tuned.cache_root / "static-tuned")
        return embedder_for_map({"name": source_of(name), "backend": resolve_backend("auto", device)},
                                cache_dir=cache_dir, device=device)
    if backend not in BACKENDS or not BACKENDS[backend].runs_here(device):
        log.info("queries use backend %s: the map's %r is not available here",
                 FALLBACK_BACKEND, backend)
        backend = FALLBACK_BACKEND
    embedder = _make(name, backend, device=device, cache_dir=cache_dir)
    ready = getattr(embedder, "ready", None)
    if ready is not None and not ready():
        log.info("queries use backend %s: the map's %s model is not prepared on this machine "
                 "(it would take a minute to make); float32 vectors are close to it",
                 FALLBACK_BACKEND, backend)
        embedder = _make(name, FALLBACK_BACKEND, device=device, cache_dir=cache_dir)
    return embedder


def embedder_for_update(model: Mapping | None, *, cache_dir: Path | str | None = None,
                        device: str | None = None) -> Embedder | None:
    """For ``update``: the embedder of a ``fast:`` map (its own tuned table, never one
    tuned on the new papers; an error if it is gone), else None (the config's)."""
    entry = dict(model or {})
    name, backend = str(entry.get("name") or ""), str(entry.get("backend") or "")
    if not is_fast_model(name):
        return None
    if not backend.startswith(TUNED):
        return StaticEmbedder(name, cache_dir=cache_dir, device=device)
    tuned = TunedStaticEmbedder(name, cache_dir=cache_dir, device=device,
                                key=backend.partition(":")[2] or None)
    if not tuned.ready():
        raise PipelineError(
            f"the map was embedded with a corpus-tuned fast model ({backend}) that is not in "
            f"{tuned.cache_root / 'static-tuned'}; new papers cannot be embedded the same way: "
            "build the map again (with --cache-dir pointing where it was built, if elsewhere)")
    return tuned


def resolve_backend(backend: str, device: str | None = None) -> str:
    """The concrete backend ``auto`` stands for here; other names unchanged."""
    if backend != "auto":
        return backend
    on_cpu = device is None or str(device).startswith("cpu")
    if on_cpu and device is None:
        on_cpu = not _cuda_available()
    return "ov-int8" if on_cpu and openvino_installed() and cpu_supports_vnni() else "torch"


def backend_of(embedder: object) -> str | None:
    """The backend an embedder runs on (None for adapters that do not say)."""
    backend = getattr(embedder, "backend", None)
    return None if backend is None else str(backend)


def cache_key_of(embedder: object) -> str:
    """The embedding-cache key of an embedder: its ``cache_key`` if it has one, else its
    name, with ``@backend`` appended for any backend but ``torch``."""
    key = getattr(embedder, "cache_key", None)
    if key:
        return str(key)
    backend = backend_of(embedder)
    return embedder.name if backend in (None, "torch") else f"{embedder.name}@{backend}"
