"""The embedding backends: one registry from name to description and embedder class.

``EmbedConfig.backend`` (``--backend``) picks a way to run the model:

=============  ==============================================================
``auto``       the default: ``torch-bf16`` on a CPU with bfloat16 instructions
               (``avx512_bf16`` or AMX), else ``torch``. The pick is recorded
               in the map's manifest (``model.backend``).
``torch``      sentence-transformers on PyTorch, float32: the reference.
``torch-bf16`` the same model cast to bfloat16 (weights and activations;
               pooling and normalisation in float32). Faster than
               ``torch.autocast``, which re-casts the weights at every call.
``onnx``       ONNX Runtime, float32, from a graph exported locally
               (``pipeline.onnx_embed``).
``onnx-int8``  ONNX Runtime with int8 weights (dynamic quantization, one scale
               per output channel): the fastest, but its neighbours drift
               (kNN@10 agreement ~0.92 with float32, see BENCHMARKS.md).
=============  ==============================================================

A model named ``fast`` or ``fast:<model>`` is the static embedder
(``pipeline.static_embed``) whatever the backend: a model of its own, recorded
with the backend ``static``.

:data:`BACKENDS` is the one table: config validation, ``--backend``'s choices,
``build`` (:func:`make_embedder`) and the dashboard's query embedder
(:func:`embedder_for_map`) all read it. Adding a backend is one embedder class
plus one line here (CONTRIBUTING.md). An embedder class takes
``(model, *, device=None, cache_dir=None)`` and has ``name`` (the model, as maps
record it and queries use it), ``backend`` (its name here), ``dimension`` and
``encode``; the embedding cache is keyed by :func:`cache_key_of` (model and
backend; plain ``torch`` keeps the model name so existing caches stay valid),
so vectors of different backends never mix.

Importing this module imports no model library (torch, onnxruntime): the
classes load them when they first embed.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .embed import (
    Embedder,
    SentenceTransformerEmbedder,
    TorchBf16Embedder,
    cpu_supports_bf16,
)
from .errors import ConfigError
from .onnx_embed import OnnxEmbedder
from .static_embed import StaticEmbedder, is_fast_model

log = logging.getLogger(__name__)

__all__ = [
    "BACKENDS", "DEFAULT_BACKEND", "Backend", "OnnxEmbedder", "TorchBf16Embedder",
    "backend_of", "cache_key_of", "cpu_supports_bf16", "embedder_for_map", "make_embedder",
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
    "auto": Backend("torch-bf16 on CPUs with bfloat16 instructions, else torch (default)",
                    _auto),
    "torch": Backend("sentence-transformers on PyTorch, float32 (the reference)",
                     SentenceTransformerEmbedder),
    "torch-bf16": Backend("PyTorch with the model in bfloat16 (CPUs with avx512_bf16/AMX, or "
                          "a GPU)", TorchBf16Embedder, _bf16_runs_here),
    "onnx": Backend("ONNX Runtime, float32, exported locally from the model's weights",
                    functools.partial(OnnxEmbedder, quantized=False), _onnx_installed),
    "onnx-int8": Backend("ONNX Runtime, int8 weights quantized per channel (fastest, less "
                         "faithful)", functools.partial(OnnxEmbedder, quantized=True),
                         _onnx_installed),
}
DEFAULT_BACKEND = "auto"
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
    if is_fast_model(model):  # --model fast: the static model (pipeline.static_embed)
        return StaticEmbedder(model, cache_dir=cache_dir, device=device)
    return BACKENDS[check_backend(backend)].factory(model, device=device, cache_dir=cache_dir)


def embedder_for_map(model: Mapping | str, *, cache_dir: Path | str | None = None,
                     device: str | None = None) -> Embedder:
    """The embedder a map's papers were embedded with, to embed queries the same way.

    ``model`` is the manifest's ``model`` entry (``name`` and ``backend``; a bare
    name is taken as one without a backend). ``fast:`` models get the static
    embedder; a map that records no backend (built before backends existed, or
    from precomputed vectors), or one not registered or unable to run here,
    gets ``torch``: the same model in float32.
    """
    entry = {"name": model} if isinstance(model, str) else dict(model)
    name = str(entry.get("name") or "")
    backend = entry.get("backend") or FALLBACK_BACKEND
    if not is_fast_model(name) and (backend not in BACKENDS
                                    or not BACKENDS[backend].runs_here(device)):
        log.info("queries use backend %s: the map's %r is not available here",
                 FALLBACK_BACKEND, backend)
        backend = FALLBACK_BACKEND
    return _make(name, backend, device=device, cache_dir=cache_dir)


def resolve_backend(backend: str, device: str | None = None) -> str:
    """The concrete backend ``auto`` stands for here; other names unchanged."""
    if backend != "auto":
        return backend
    on_cpu = device is None or str(device).startswith("cpu")
    if on_cpu and device is None:
        on_cpu = not _cuda_available()
    return "torch-bf16" if on_cpu and cpu_supports_bf16() else "torch"


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
