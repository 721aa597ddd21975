"""GPU when present: CUDA for torch models, cuML for UMAP and HDBSCAN.

Everything here is optional and guarded: without CUDA or without cuML the
CPU paths run unchanged. ``$TOPICMAP_NO_GPU=1`` forces the CPU paths (for
comparing both on one machine).

- ``torch_device()``: ``"cuda"`` when torch sees a GPU, else ``"cpu"``.
  (sentence-transformers picks CUDA by itself with ``device=None``; the
  static embedder's distillation uses this.)
- ``cuml_available()``: cuML importable and a GPU present. ``pipeline.fit.reduce``
  then fits ``cuml.UMAP`` through ``make_umap()``, with the same settings
  (those cuML lacks, CPU threading and memory hints, are dropped) and
  arrays of the same shapes and meaning out. ``hdbscan_class()`` names
  cuML's HDBSCAN likewise; ``pipeline.fit.cluster`` does not use it yet, since
  ``pipeline.engines.update`` saves the CPU library's condensed tree (see docs/scale.md).
"""

from __future__ import annotations

import functools
import importlib
import logging
import os

log = logging.getLogger(__name__)

NO_GPU_ENV = "TOPICMAP_NO_GPU"


def gpu_disabled() -> bool:
    """Whether ``$TOPICMAP_NO_GPU`` asks for the CPU paths only."""
    return os.environ.get(NO_GPU_ENV, "").strip().lower() not in ("", "0", "false", "no")


def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device (and GPUs are not disabled)."""
    if gpu_disabled():
        return False
    try:
        import torch
    except ImportError:
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken driver means "no GPU"
        return False


def torch_device() -> str:
    """``"cuda"`` when a GPU is usable, else ``"cpu"``."""
    return "cuda" if cuda_available() else "cpu"


@functools.lru_cache(maxsize=1)
def _cuml():
    try:
        return importlib.import_module("cuml")
    except Exception:  # noqa: BLE001 - ImportError, or a CUDA runtime error on import
        return None


def cuml_available() -> bool:
    """True when cuML imports and a GPU is usable."""
    return not gpu_disabled() and _cuml() is not None and cuda_available()


def umap_class():
    """``cuml.UMAP`` with a GPU and cuML, else ``umap.UMAP``."""
    if cuml_available():
        return _cuml().UMAP
    import umap

    return umap.UMAP


#: umap-learn settings cuML's UMAP does not take (threads and memory use of the CPU code).
CPU_ONLY_UMAP_ARGS = ("n_jobs", "low_memory")


def make_umap(**settings):
    """A UMAP model: cuML's on a GPU when installed, else umap-learn's, same settings."""
    cls = umap_class()
    if cuml_available():
        settings = {k: v for k, v in settings.items() if k not in CPU_ONLY_UMAP_ARGS}
        log.info("UMAP on the GPU (cuML)")
    return cls(**settings)


def hdbscan_class():
    """``cuml.cluster.hdbscan.HDBSCAN`` with a GPU and cuML, else ``hdbscan.HDBSCAN``."""
    if cuml_available():
        return importlib.import_module("cuml.cluster.hdbscan").HDBSCAN
    import hdbscan

    return hdbscan.HDBSCAN


def describe() -> dict[str, object]:
    """What this process would use: for manifests and benchmark reports."""
    return {"cuda": cuda_available(), "cuml": cuml_available(), "torch_device": torch_device()}
