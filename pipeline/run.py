"""``build()``: the pipeline as a recipe, one log line per step.

    ingest -> embed -> reduce -> cluster -> themes -> label -> save

``map_papers()`` is the part after embedding; the dashboard's drill-down
calls it on a subset of a map to re-cluster and re-label in place.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import DOCUMENT_COLUMNS, TopicMap, sha256_file, write_map
from .backends import backend_of, cache_key_of, make_embedder
from .cluster import cluster
from .config import BuildConfig
from .embed import (
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,  # noqa: F401 - kept: tests replace it by name
    default_cache_dir,
    document_texts,
    embed_texts,
    load_precomputed,
)
from .fitted import fitted_state
from .ingest import read_papers
from .label import cluster_and_theme_layers, count_terms, label_layers
from .reduce import reduce
from .themes import group_into_themes

log = logging.getLogger("pipeline")

STEPS = ["ingest", "embed", "reduce", "cluster", "themes", "label", "save"]
VERSIONED_PACKAGES = ["numpy", "pandas", "umap-learn", "hdbscan", "scikit-learn",
                      "sentence-transformers", "torch", "pyarrow", "onnxruntime"]


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


def map_papers(documents: pd.DataFrame, embeddings: np.ndarray, config: BuildConfig,
               *, timer: StepTimer | None = None, state: dict | None = None,
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reduce, cluster, group into themes and label; return (documents, clusters).

    ``state``, when given, receives the fitted pieces that ``pipeline.update``
    saves: ``cluster_space``, ``clustering`` and the term ``counts``.
    """
    timer = timer or StepTimer(STEPS, logging.getLogger("pipeline.quiet"))
    documents = documents.reset_index(drop=True).copy()
    n = len(documents)
    with timer.step("reduce", f"UMAP to {config.reduce.n_components}-D and 2-D, {n} papers"):
        reduction = reduce(embeddings, config.reduce, random_state=config.seed)
    documents["x"] = reduction.coords[:, 0]
    documents["y"] = reduction.coords[:, 1]

    with timer.step("cluster", "HDBSCAN"):
        result = cluster(reduction.cluster_space, config.cluster)
    labels = result.labels
    n_clusters = int(labels.max()) + 1
    documents["cluster"] = labels
    documents["probability"] = result.probabilities
    documents["outlier_score"] = result.outlier_scores
    documents["is_noise"] = result.is_noise
    timer.log.info("    %d clusters, %.0f%% noise (min_cluster_size=%d, min_samples=%d)",
                   n_clusters, 100 * result.is_noise.mean(), result.min_cluster_size,
                   result.min_samples)

    with timer.step("themes", f"grouping {n_clusters} clusters"):
        cluster_theme, documents["theme"] = group_into_themes(
            embeddings, labels, n_clusters, n_themes=config.label.n_themes)

    with timer.step("label", "c-TF-IDF key phrases and representative papers"):
        counts = count_terms((documents["title"] + ". " + documents["abstract"]).tolist(),
                             max_ngram=config.label.max_ngram)
        layers = cluster_and_theme_layers(labels, cluster_theme, documents["theme"].to_numpy())
        clusters = label_layers(documents, embeddings, counts, layers, config.label)
    extra = [c for c in documents.columns if c not in DOCUMENT_COLUMNS]
    if state is not None:
        state.update(cluster_space=reduction.cluster_space, clustering=result, counts=counts)
    return documents[DOCUMENT_COLUMNS + extra], clusters


def build(inputs: Sequence[Path | str], out: Path | str, config: BuildConfig | None = None, *,
          embedder: Embedder | None = None, cache_dir: Path | str | None = None,
          show_progress: bool = True, timer: StepTimer | None = None) -> TopicMap:
    """Build a map from input files and write it atomically to ``out``.

    ``timer`` (optional) is told of every step; the benchmark passes one that
    also records memory.
    """
    config = (config or BuildConfig()).validate()
    timer = timer or StepTimer(STEPS)
    started = time.perf_counter()

    with timer.step("ingest", f"{len(inputs)} file(s)"):
        papers, report = read_papers(inputs, config.ingest)
    log.info("    %d read, %d without abstract, %d duplicates merged, %d kept",
             report.read, report.skipped_no_abstract, report.duplicates_merged, report.kept)

    model_name, model_source, model_backend = config.embed.model, "computed", None
    with timer.step("embed", f"{len(papers)} papers"):
        if config.embed.embeddings_path:
            vectors = load_precomputed(config.embed.embeddings_path, report.read)
            embeddings = vectors[papers["_row"].to_numpy()]
            newly_embedded = 0
            model_source = "precomputed"
        else:
            embedder = embedder or make_embedder(config.embed, cache_dir=cache_dir)
            model_backend = backend_of(embedder)
            cache = None
            if config.embed.use_cache:
                cache = EmbeddingCache(Path(cache_dir) if cache_dir else default_cache_dir(),
                                       cache_key_of(embedder))
            texts = document_texts(papers["title"].tolist(), papers["abstract"].tolist())
            embeddings, newly_embedded = embed_texts(
                texts, embedder, batch_size=config.embed.batch_size, cache=cache,
                show_progress=show_progress)
            model_name = embedder.name
    log.info("    %d embedded now, %d from cache", newly_embedded, len(papers) - newly_embedded)
    papers = papers.drop(columns="_row")

    state: dict = {}
    documents, clusters = map_papers(papers, embeddings, config, timer=timer, state=state)

    manifest = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "model": {"name": model_name, "dimension": int(embeddings.shape[1]),
                  "source": model_source, "backend": model_backend},
        "inputs": [dict(item, sha256=sha256_file(Path(item["path"]))) for item in report.inputs],
        "counts": {**report.counts(), "embedded": newly_embedded,
                   "clusters": int((clusters["level"] == "cluster").sum()),
                   "themes": int((clusters["level"] == "theme").sum()),
                   "noise": int(documents["is_noise"].sum())},
        "metadata_columns": [c for c in documents.columns if c not in DOCUMENT_COLUMNS],
        "timings": timer.timings,
        "versions": package_versions(),
    }
    topic_map = TopicMap(documents, clusters, embeddings, manifest)
    with timer.step("save", str(out)):
        topic_map.fitted = fitted_state(documents, clusters, **state)
        manifest["timings"] = dict(timer.timings, total=round(time.perf_counter() - started, 3))
        topic_map.path = write_map(topic_map, out)
    log.info("map written to %s in %.1fs", topic_map.path, time.perf_counter() - started)
    return topic_map


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide the result, and Python's."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions
