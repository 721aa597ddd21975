"""The map's embedding model for search queries: loaded once per process, in the
background, as soon as a map opens, so neither the first page nor the first search waits
for it (15-20 s for a transformer on a small CPU). No streamlit import.

:func:`warm` starts the load in a daemon thread and returns at once; :func:`query_model`
gives the loaded model, waiting for a load under way (:func:`ready` says whether it
would wait); :func:`clear` forgets every model (a load still running when it is called
keeps its result to itself).

The embedder is the one the map's manifest names, made by the embedding backends'
registry (``pipeline.embed.registry.embedder_for_map``). Tests give their maps an
embedder of their own the same way: a backend registered in ``BACKENDS`` that the map
records (``tests/conftest.py``, ``fake``), not a switch in this module.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pipeline.embed.base import Embedder
from pipeline.errors import PipelineError, first_line

Key = tuple[str, int, str]

_lock = threading.Lock()
_models: dict[Key, QueryModel] = {}
_loading: dict[Key, threading.Thread] = {}
_generation = [0]


@dataclass
class QueryModel:
    """The map's embedding model for queries, or why it cannot be used."""

    name: str
    embedder: Embedder | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def available(self) -> bool:
        return self.embedder is not None


def make_query_embedder(model: str | dict) -> Embedder:
    """The embedder for queries: the one the map's papers were embedded with.

    ``model`` is the map's manifest ``model`` entry (name and backend), or just
    the model's name (then the backend is torch); see
    ``pipeline.embed.registry.embedder_for_map``.
    """
    from pipeline.embed.registry import embedder_for_map

    return embedder_for_map(model)


def load(model_name: str, dimension: int, backend: str = "") -> QueryModel:
    """Load the model now (weights and a first encoding); a failure is kept with its
    reason, so a map whose model is missing still opens."""
    if not model_name:
        return QueryModel(model_name, error="the map's manifest does not name its model")
    try:
        embedder = make_query_embedder({"name": model_name, "backend": backend or None})
        got = int(embedder.dimension)  # loads the weights now, not at the first query
        embedder.encode(["warm up"])  # and whatever the first encoding sets up
    except PipelineError as exc:
        return QueryModel(model_name, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure to load means "unavailable"
        first = first_line(exc)
        return QueryModel(model_name, error=f"cannot load model {model_name!r} ({first})")
    if got != dimension:
        return QueryModel(model_name, error=(
            f"model {model_name!r} gives {got}-d vectors but the map was built with "
            f"{dimension}-d ones; rebuild the map or install the model it used"))
    return QueryModel(model_name, embedder=embedder)


def warm(model_name: str, dimension: int, backend: str = "") -> None:
    """Start loading the model in the background (once per process); returns at once."""
    key = (str(model_name), int(dimension), str(backend or ""))
    with _lock:
        if key in _models or key in _loading:
            return
        generation = _generation[0]
        thread = threading.Thread(target=_load_into, args=(key, generation), daemon=True,
                                  name=f"topicmap-query-model-{model_name}")
        _loading[key] = thread
        thread.start()  # started before another caller can find it and join it


def _load_into(key: Key, generation: int) -> None:
    model = load(*key)
    with _lock:
        if generation == _generation[0]:
            _models[key] = model
            _loading.pop(key, None)


def ready(model_name: str, dimension: int, backend: str = "") -> bool:
    """Whether :func:`query_model` would return without waiting."""
    return (str(model_name), int(dimension), str(backend or "")) in _models


def query_model(model_name: str, dimension: int, backend: str = "") -> QueryModel:
    """The model, loaded once per process: waits for a load under way, or loads it."""
    key = (str(model_name), int(dimension), str(backend or ""))
    warm(*key)
    with _lock:
        thread = _loading.get(key)
    if thread is not None:
        thread.join()
    with _lock:
        model = _models.get(key)
    return model if model is not None else load(*key)


def clear() -> None:
    """Forget every loaded model (tests)."""
    with _lock:
        _generation[0] += 1
        _models.clear()
        _loading.clear()
