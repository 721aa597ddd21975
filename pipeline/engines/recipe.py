"""``build()``: the pipeline as a recipe, one log line per step.

    ingest -> embed -> reduce -> cluster -> layers -> name -> save

An *engine* decides how the heavy steps run, the fit step above all:
:class:`LocalEngine` (the default) embeds here and fits UMAP, HDBSCAN (the
finest layer, ``pipeline.fit.cluster``) and the broader layers (``pipeline.fit.layers``)
on every paper; the Ray engine (``pipeline.engines.ray``) embeds on Ray actors, fits
on a seeded sample and places the rest (``pipeline.fit.placement``). ``update``
(``pipeline.engines.update``) places new papers into a saved fit and shares the steps'
helpers: :func:`embed_papers` (embedding with the cache, or precomputed vectors)
and ``pipeline.engines.assemble`` (the documents table, the manifest).

:func:`fit_map` is the part after embedding; :func:`map_papers`, its tables
only, is what the dashboard's drill-down calls on a subset of a map to
re-cluster and re-name in place.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from pipeline.config import BuildConfig, EmbedConfig
from pipeline.embed.base import (
    Embedder,
    EmbeddingCache,
    default_cache_dir,
    document_texts,
    embed_texts,
    load_precomputed,
)
from pipeline.embed.registry import backend_of, cache_key_of, check_backend, make_embedder
from pipeline.fit.cluster import cluster
from pipeline.fit.layers import Layers, build_layers
from pipeline.fit.reduce import reduce
from pipeline.fit.stability import FRAGILE_BELOW
from pipeline.ingest.clean import read_papers
from pipeline.mapdir.store import TopicMap, level_names, write_map
from pipeline.naming.counts import PhraseCounts, count_phrases, paper_texts
from pipeline.naming.offline import OfflineNamer
from pipeline.naming.phrase_model import phrase_embedder
from pipeline.naming.registry import Layer, NodeSet

from .assemble import attach_layers, fit_parameters, new_manifest, node_table
from .fitted import PhraseVectors, fitted_state

log = logging.getLogger("pipeline")

STEPS = ["ingest", "embed", "reduce", "cluster", "layers", "name", "save"]


class StepTimer:
    """Logs every step in one format and keeps its duration."""

    def __init__(self, steps: Sequence[str], logger: logging.Logger = log) -> None:
        self.steps = list(steps)
        self.timings: dict[str, float] = {}
        self.log = logger

    @contextlib.contextmanager
    def step(self, name: str, detail: str = "") -> Iterator[None]:
        number = self.steps.index(name) + 1 if name in self.steps else len(self.timings) + 1
        prefix = f"[{number}/{len(self.steps)}] {name:<8}"
        self.log.info("%s %s", prefix, detail)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        self.log.info("%s done in %.1fs", prefix, self.timings[name])


# --------------------------------------------------------------------------- engines


@dataclass
class Fit:
    """The fit step's result: every paper's place on the map and in the clustering space,
    and its node at every layer. The models were fitted on the first ``n_fitted`` rows."""

    coords: np.ndarray
    cluster_space: np.ndarray
    layers: Layers
    n_fitted: int


class Engine(Protocol):
    """How a build runs its heavy steps; the recipe is the same for every engine."""

    steps: list[str]

    def embed(self, texts: list[str], embedder: Embedder | None, *, config: EmbedConfig,
              cache_dir: Path | str | None, show_progress: bool,
              ) -> tuple[np.ndarray, int, Embedder]:
        """Vectors of ``texts``, how many were computed, and the embedder (for its name)."""

    def order(self, n: int, config: BuildConfig) -> np.ndarray | None:
        """The map's row order (the rows the models are fitted on first), or None."""

    def fit(self, embeddings: np.ndarray, config: BuildConfig, timer: StepTimer) -> Fit:
        """Reduce, cluster and build the layers (the engine's ``reduce``, ``cluster``,
        ``layers`` ... steps)."""

    def count_phrases(self, texts: list[str], *, max_ngram: int, n_fitted: int) -> PhraseCounts:
        """The papers' term counts for labelling."""

    def describe(self) -> dict | None:
        """The manifest's ``engine`` entry (None: the local engine, not recorded)."""


class LocalEngine:
    """Everything in this process, every paper in the fit."""

    steps = STEPS

    def embed(self, texts, embedder, *, config, cache_dir, show_progress):
        embedder = embedder or make_embedder(config, cache_dir=cache_dir)
        vectors, computed = embed_texts(texts, embedder, batch_size=config.batch_size,
                                        cache=open_cache(config, embedder, cache_dir),
                                        show_progress=show_progress)
        return vectors, computed, embedder

    def order(self, n, config):
        return None

    def fit(self, embeddings, config, timer):
        n = len(embeddings)
        with timer.step("reduce", f"UMAP to {config.reduce.n_components}-D and 2-D, {n} papers"):
            reduction = reduce(embeddings, config.reduce, random_state=config.seed)
        layers = fit_layers(reduction.cluster_space, config, timer)
        return Fit(reduction.coords, reduction.cluster_space, layers, n)

    def count_phrases(self, texts, *, max_ngram, n_fitted):
        return count_phrases(texts, max_ngram=max_ngram)

    def describe(self):
        return None


# --------------------------------------------------------------------------- steps


def fit_layers(space: np.ndarray, config: BuildConfig, timer: StepTimer, *,
               what: str = "") -> Layers:
    """The ``cluster`` and ``layers`` steps: the finest layer, then the broader ones and
    every node's stability (``what`` says what is clustered, for the log)."""
    with timer.step("cluster", f"HDBSCAN ({config.cluster.selection_method}){what}"):
        fine = cluster(space, config.cluster)
    n_fine = int(fine.labels.max()) + 1
    timer.log.info("    %d clusters, %.0f%% noise, %.0f%% in no cluster (min_cluster_size=%d, "
                   "min_samples=%d)", n_fine, 100 * fine.is_noise.mean(),
                   100 * (fine.labels < 0).mean(), fine.min_cluster_size, fine.min_samples)
    with timer.step("layers", f"Ward layers over {n_fine} clusters, bootstrap stability"):
        layers = build_layers(space, fine, config.cluster, n_themes=config.label.n_themes,
                              seed=config.seed)
    fragile = sum(int((s < FRAGILE_BELOW).sum()) for s in layers.stability)
    timer.log.info("    layers of %s nodes (finest first); %d fragile",
                   " / ".join(map(str, layers.counts)), fragile)
    return layers


def open_cache(config: EmbedConfig, embedder: Embedder,
               cache_dir: Path | str | None) -> EmbeddingCache | None:
    """The embedding cache of ``embedder``'s vectors, unless the config turns it off."""
    if not config.use_cache:
        return None
    return EmbeddingCache(Path(cache_dir) if cache_dir else default_cache_dir(),
                          cache_key_of(embedder))


@dataclass
class Embedded:
    vectors: np.ndarray
    computed: int  # embedded now, not taken from the cache
    model: dict  # the manifest's "model" entry
    embedder: Embedder | None = None  # None: precomputed vectors, no model loaded

    def embed_phrases(self) -> Callable[[list[str]], np.ndarray] | None:
        """A function that embeds short strings with the build's own embedder; for
        precomputed vectors, with the model they name, loaded lazily if it is installed
        here and gives vectors of their size (else None: names are judged without it)."""
        embedder = self.embedder
        if embedder is None:
            return phrase_embedder(self.model, dimension=int(self.vectors.shape[1]))
        return lambda phrases: np.asarray(embedder.encode(list(phrases)), dtype=np.float32)


def embed_papers(papers: pd.DataFrame, config: EmbedConfig, *, n_read: int,
                 engine: Engine | None = None, embedder: Embedder | None = None,
                 cache_dir: Path | str | None = None, show_progress: bool = False) -> Embedded:
    """The embed step: vectors of ``title. abstract`` (through the cache), or the rows of
    ``config.embeddings_path`` (``n_read`` rows, ``papers["_row"]`` picks them)."""
    if config.embeddings_path:
        vectors = load_precomputed(config.embeddings_path, n_read)[papers["_row"].to_numpy()]
        name, computed, backend, source = config.model, 0, None, "precomputed"
        embedder = None
    else:
        texts = document_texts(papers["title"].tolist(), papers["abstract"].tolist())
        vectors, computed, embedder = (engine or LocalEngine()).embed(
            texts, embedder, config=config, cache_dir=cache_dir, show_progress=show_progress)
        name, backend, source = embedder.name, backend_of(embedder), "computed"
    return Embedded(vectors, computed, {"name": name, "dimension": int(vectors.shape[1]),
                                        "source": source, "backend": backend}, embedder)


@dataclass
class FittedMap:
    """A map before it is saved: its tables, its vectors (in map order), and what
    its fit left for ``update`` (:meth:`fitted_state`)."""

    documents: pd.DataFrame
    clusters: pd.DataFrame
    embeddings: np.ndarray
    fit: Fit
    counts: PhraseCounts
    phrases: PhraseVectors | None = None  # the phrases the namer embedded, for update

    def fit_parameters(self, config: BuildConfig) -> dict:
        """The settings the fit chose for itself, for the manifest."""
        return fit_parameters(config, self.fit.layers, self.fit.n_fitted,
                              dimensions=int(self.fit.cluster_space.shape[1]))

    def fitted_state(self) -> dict[str, np.ndarray]:
        return fitted_state(self.documents, self.clusters, cluster_space=self.fit.cluster_space,
                            layers=self.fit.layers, counts=self.counts,
                            n_fitted=self.fit.n_fitted, phrases=self.phrases)


def fit_map(papers: pd.DataFrame, embeddings: np.ndarray, config: BuildConfig, *,
            engine: Engine | None = None, timer: StepTimer | None = None,
            embed_phrases: Callable[[list[str]], np.ndarray] | None = None) -> FittedMap:
    """Reduce, build the layers and name them: everything after embedding.

    ``embed_phrases`` (optional) embeds short strings with the model that made
    ``embeddings``, for the namer; what it embeds is kept for ``update``."""
    engine = engine or LocalEngine()
    timer = timer or StepTimer(engine.steps, logging.getLogger("pipeline.quiet"))
    phrases = PhraseVectors(embed_phrases) if embed_phrases is not None else None
    order = engine.order(len(papers), config)
    if order is not None:
        papers = papers.iloc[order]
        embeddings = np.ascontiguousarray(embeddings[order], dtype=np.float32)
    fit = engine.fit(embeddings, config, timer)
    documents = attach_layers(papers, fit.coords, fit.layers)

    with timer.step("name", f"names, key phrases and representative papers of "
                            f"{sum(fit.layers.counts)} nodes in {len(fit.layers.counts)} layers"):
        counts = engine.count_phrases(paper_texts(documents), max_ngram=config.label.max_ngram,
                                      n_fitted=fit.n_fitted)
        named = name_nodes(documents, embeddings, counts, fit.layers, config,
                           embed_phrases=phrases)
        clusters = node_table(named, fit.layers)
    return FittedMap(documents, clusters, embeddings, fit, counts, phrases)


def name_nodes(documents: pd.DataFrame, embeddings: np.ndarray, counts: PhraseCounts,
               layers: Layers, config: BuildConfig, *,
               embed_phrases: Callable[[list[str]], np.ndarray] | None) -> pd.DataFrame:
    """The ``name`` step: the offline namer's rows for every node of every layer."""
    levels = level_names(len(layers.labels))
    nested = [Layer(level, labels, len(parents), parents if k + 1 < len(levels) else None)
              for k, (level, labels, parents)
              in enumerate(zip(levels, layers.labels, layers.parents, strict=True))]
    nodes = NodeSet(documents, embeddings, nested,
                    extras={"counts": counts, "embed_phrases": embed_phrases})
    return OfflineNamer(config.label).name(nodes)


def map_papers(documents: pd.DataFrame, embeddings: np.ndarray, config: BuildConfig,
               *, timer: StepTimer | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reduce, build the layers and name them; return (documents, clusters)."""
    fitted = fit_map(documents, embeddings, config, timer=timer)
    return fitted.documents, fitted.clusters


# --------------------------------------------------------------------------- the recipe


def build(inputs: Sequence[Path | str], out: Path | str, config: BuildConfig | None = None, *,
          embedder: Embedder | None = None, cache_dir: Path | str | None = None,
          show_progress: bool = True, timer: StepTimer | None = None,
          engine: Engine | None = None) -> TopicMap:
    """Build a map from input files and write it atomically to ``out``.

    ``engine`` (default :class:`LocalEngine`) runs the heavy steps; ``timer``
    (optional) is told of every step; the benchmark passes one that also
    records memory.
    """
    config = (config or BuildConfig()).validate()
    check_backend(config.embed.backend)
    engine = engine or LocalEngine()
    timer = timer or StepTimer(engine.steps)
    started = time.perf_counter()

    with timer.step("ingest", f"{len(inputs)} file(s)"):
        papers, report = read_papers(inputs, config.ingest)
    log.info("    %d read, %d without abstract, %d duplicates merged, %d kept",
             report.read, report.skipped_no_abstract, report.duplicates_merged, report.kept)

    with timer.step("embed", f"{len(papers)} papers"):
        embedded = embed_papers(papers, config.embed, n_read=report.read, engine=engine,
                                embedder=embedder, cache_dir=cache_dir,
                                show_progress=show_progress)
    log.info("    %d embedded now, %d from cache", embedded.computed,
             len(papers) - embedded.computed)

    fitted = fit_map(papers.drop(columns="_row"), embedded.vectors, config, engine=engine,
                     timer=timer, embed_phrases=embedded.embed_phrases())

    manifest = new_manifest(config=config, model=embedded.model, report=report,
                            documents=fitted.documents, clusters=fitted.clusters,
                            embedded=embedded.computed, timings=timer.timings,
                            fit=fitted.fit_parameters(config), engine=engine.describe())
    topic_map = TopicMap(fitted.documents, fitted.clusters, fitted.embeddings, manifest)
    with timer.step("save", str(out)):
        topic_map.fitted = fitted.fitted_state()
        manifest["timings"] = dict(timer.timings, total=round(time.perf_counter() - started, 3))
        topic_map.path = write_map(topic_map, out)
    log.info("map written to %s in %.1fs", topic_map.path, time.perf_counter() - started)
    return topic_map
