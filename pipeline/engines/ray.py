"""``--engine ray``: the heavy steps of a build on Ray, the same map format out.

:class:`RayEngine` is an engine of ``pipeline.engines.recipe.build`` (the same recipe as a
local build): it decides how the embed, fit and term-counting steps run.

Local Ray by default (``ray.init`` with ``--ray-workers`` CPUs), or an existing
cluster with ``--ray-address``. Ray is an optional dependency
(``requirements-scale.txt``); without it ``--engine ray`` is a clear error.

    ingest    on the driver (streams files; the arXiv snapshot reader is chunked)
    embed     Ray Data ``map_batches`` over an actor pool: one embedder per actor,
              a GPU per actor when the cluster has GPUs; results stream back to the
              driver, which writes the embedding cache every ``SHARD_SIZE`` papers,
              so an interrupted build resumes like a local one
    reduce    UMAP fitted on a seeded sample of ``--ray-sample`` papers (driver)
    cluster   the finest layer: HDBSCAN fitted on the same sample (driver), sizes
              scaled to the sample
    layers    the broader layers and every node's stability, on the sample (driver)
    place     every other paper in parallel Ray tasks, in batches: its position on
              the 2-D map and in the clustering space as UMAP's ``transform``
              initialises it (``pipeline.fit.placement.place``, the code incremental
              updates use), its finest cluster by a vote of its nearest sample
              papers in the embedding space (``cluster.vote_clusters``: HDBSCAN's
              ``approximate_predict`` made twice the sample's share of them noise),
              and its broader layers by the parent links
              (``pipeline.fit.layers.place_layers``, as ``update`` places papers)
    name      phrase vocabulary from the sample; phrase counts per partition in Ray
              tasks, merged on the driver; named as a local build names them
    save      the map, written atomically; papers of the sample come first, and
              ``fitted.npz`` records them as the fitted rows, so ``update`` works

With the whole corpus inside the sample (``n <= --ray-sample``) the result is
the local engine's map, except that label terms come from per-partition counts.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import BuildConfig
from pipeline.embed.base import (
    SHARD_SIZE,
    Embedder,
    EmbeddingCache,
    assemble_vectors,
    lookup_cached,
    normalize_rows,
)
from pipeline.embed.registry import backend_of, check_backend, make_embedder
from pipeline.errors import PipelineError, first_line
from pipeline.fit.cluster import cluster_sizes
from pipeline.fit.layers import Layers, place_layers
from pipeline.fit.placement import place
from pipeline.fit.reduce import reduce
from pipeline.mapdir.store import TopicMap
from pipeline.naming.counts import PhraseCounts, count_phrases, count_with_vocabulary

from .recipe import Fit, build, fit_layers, open_cache

log = logging.getLogger("pipeline")

STEPS = ["ingest", "embed", "reduce", "cluster", "layers", "place", "name", "save"]
DEFAULT_SAMPLE = 20_000
#: Papers per Ray task when placing papers and counting terms.
PARTITION = 5_000
ROOT = Path(__file__).resolve().parents[2]


def ray_available() -> bool:
    """Whether Ray is installed (without importing it: that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def _ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise PipelineError(
            "--engine ray needs Ray: pip install -r requirements-scale.txt (or use the default "
            "--engine local)") from None
    return ray


class RaySession:
    """``ray.init`` on entry (unless Ray is already up), ``ray.shutdown`` on exit if we started it."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address = address
        self.workers = workers
        self.started = False

    def __enter__(self):
        ray = _ray()
        if not ray.is_initialized():
            options = dict(include_dashboard=False, log_to_driver=False,
                           configure_logging=False)
            env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "TOKENIZERS_PARALLELISM": "false"}
            if self.address:
                # A remote cluster gets this package shipped with the job.
                options["runtime_env"] = {"py_modules": [str(ROOT / "pipeline")],
                                          "env_vars": env}
                options["address"] = self.address
            else:
                env["PYTHONPATH"] = os.pathsep.join(
                    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
                options["runtime_env"] = {"env_vars": env}
                # One logical CPU more than workers: Ray Data's own read and split tasks
                # must find a free CPU while the embedding actors hold theirs.
                options["num_cpus"] = (self.workers or max(1, len(os.sched_getaffinity(0)))) + 1
            try:
                ray.init(**options)
            except Exception as exc:  # noqa: BLE001 - connection and start-up failures
                raise PipelineError(f"could not start or reach Ray "
                                    f"({first_line(exc)}); check --ray-address"
                                    ) from None
            self.started = True
        return ray

    def __exit__(self, *exc) -> None:
        if self.started:
            _ray().shutdown()


# --------------------------------------------------------------------------- embedding


class _EmbedActor:
    """One embedder per Ray actor, built by ``factory`` (loaded once, used for many batches)."""

    def __init__(self, factory: Callable[[], Embedder], batch_size: int) -> None:
        self.embedder = factory()
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = normalize_rows(self.embedder.encode(
            [str(t) for t in batch["text"]], batch_size=self.batch_size))
        return {"row": np.asarray(batch["row"], dtype=np.int64), "vector": vectors}


def embed_on_ray(texts: Sequence[str], factory: Callable[[], Embedder], *,
                 cache: EmbeddingCache | None, workers: int, batch_size: int = 32,
                 gpus_per_actor: float = 0.0) -> tuple[np.ndarray, int]:
    """Vectors of ``texts`` (cached ones reused) and how many were computed on Ray."""
    ray = _ray()
    keys, found, todo = lookup_cached(texts, cache)
    computed: dict[bytes, np.ndarray] = {}
    if todo:
        rows = np.fromiter(todo.values(), dtype=np.int64, count=len(todo))
        frame = pd.DataFrame({"row": rows, "text": [texts[i] for i in rows]})
        blocks = max(workers * 4, math.ceil(len(frame) / 1024))
        dataset = ray.data.from_pandas(frame).repartition(blocks)
        mapped = dataset.map_batches(
            _EmbedActor, fn_constructor_args=(factory, batch_size), batch_size=256,
            batch_format="numpy", concurrency=workers, num_gpus=gpus_per_actor or None,
            num_cpus=None if gpus_per_actor else 1)
        pending_keys: list[bytes] = []
        pending_vectors: list[np.ndarray] = []
        started = time.perf_counter()
        for batch in mapped.iter_batches(batch_size=SHARD_SIZE, batch_format="numpy"):
            for row, vector in zip(batch["row"], batch["vector"], strict=True):
                key = keys[int(row)]
                computed[key] = vector
                pending_keys.append(key)
                pending_vectors.append(vector)
            if cache is not None and len(pending_keys) >= SHARD_SIZE:
                cache.put(pending_keys, np.vstack(pending_vectors))
                pending_keys, pending_vectors = [], []
            log.info("    embedded %d/%d on Ray (%.1f papers/s)", len(computed), len(todo),
                     len(computed) / max(time.perf_counter() - started, 1e-9))
        if cache is not None and pending_keys:
            cache.put(pending_keys, np.vstack(pending_vectors))
    return assemble_vectors(keys, found, computed, cache), len(todo)


# --------------------------------------------------------------------------- placement


def _place_partition(vectors: np.ndarray, sample_vectors: np.ndarray, layouts: list,
                     sample_layers: Layers, n_neighbors: int,
                     ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
    """Coordinates, clustering-space positions, layers, vote shares and noise flags of a
    batch.

    Positions as UMAP's ``transform`` initialises them; the finest cluster by a vote of
    the same nearest sample papers (``cluster.vote_clusters``; see there why not
    ``approximate_predict``), the broader layers by the parent links.
    """
    (coords, space), neighbours = place(vectors, sample_vectors, layouts,
                                        n_neighbors=n_neighbors)
    labels, share, noise = place_layers(neighbours, sample_layers.labels, sample_layers.parents,
                                        sample_layers.is_noise)
    return coords, space, labels, share, noise


def sample_sizes(n: int, n_sample: int, config: BuildConfig) -> tuple[int, int]:
    """HDBSCAN ``(min_cluster_size, min_samples)`` for a sample of ``n_sample`` of ``n`` papers.

    A cluster of ``m`` papers has about ``m * n_sample / n`` of them in the
    sample, so the full corpus's cluster size (``cluster.cluster_sizes``: the
    config's, or the local engine's default) is scaled by that share.
    ``min_samples`` is a neighbourhood for density and stays as it is (5 by
    default at every corpus size; scaled, it would fall to 1 at a quarter of the
    corpus: single linkage).
    """
    size, samples = cluster_sizes(n, config.cluster)
    size = max(2, round(size * n_sample / n))
    return size, max(1, min(samples, size, n_sample - 1))


# --------------------------------------------------------------------------- the engine


class RayEngine:
    """Embed on Ray actors, fit on a seeded sample, place the rest in Ray tasks."""

    steps = STEPS

    def __init__(self, ray, factory: Callable[[], Embedder], *, workers: int, sample_size: int,
                 address: str | None = None) -> None:
        self.ray, self.factory = ray, factory
        self.workers, self.sample_size, self.address = workers, sample_size, address
        self.n_sample = self.sample_min_cluster_size = self.sample_min_samples = 0

    def embed(self, texts, embedder, *, config, cache_dir, show_progress):
        log.info("    on Ray, %d actor(s)", self.workers)
        probe = embedder or self.factory()
        if backend_of(probe) == "static":
            probe.dimension  # noqa: B018 - distil once here, not in every actor
        gpus = float(self.ray.cluster_resources().get("GPU", 0))
        vectors, computed = embed_on_ray(
            texts, self.factory, cache=open_cache(config, probe, cache_dir),
            workers=self.workers, batch_size=config.batch_size,
            gpus_per_actor=1.0 if gpus >= 1 else 0.0)
        return vectors, computed, probe

    def order(self, n, config):
        """A seeded sample first, the rest after: fitted.npz then names the fitted rows."""
        rng = np.random.default_rng(config.seed)
        self.n_sample = min(self.sample_size, n)
        in_sample = np.zeros(n, dtype=bool)
        in_sample[rng.choice(n, size=self.n_sample, replace=False)] = True
        return np.concatenate([np.flatnonzero(in_sample), np.flatnonzero(~in_sample)])

    def fit(self, embeddings, config, timer):
        n, n_sample = len(embeddings), self.n_sample
        sample_vectors = embeddings[:n_sample]
        with timer.step("reduce", f"UMAP fitted on a sample of {n_sample} of {n} papers"):
            reduction = reduce(sample_vectors, config.reduce, random_state=config.seed)
        size, samples = sample_sizes(n, n_sample, config)
        self.sample_min_cluster_size, self.sample_min_samples = size, samples
        if n_sample < n:  # a whole corpus in the sample is clustered as the local engine does
            config = dataclasses.replace(config, cluster=dataclasses.replace(
                config.cluster, min_cluster_size=size, min_samples=samples))
        fitted = fit_layers(reduction.cluster_space, config, timer,
                            what=f" on the sample of {n_sample}")

        coords = np.zeros((n, 2), dtype=np.float32)
        space = np.zeros((n, reduction.cluster_space.shape[1]), dtype=np.float32)
        labels = [np.zeros(n, dtype=np.int32) for _ in fitted.labels]
        probabilities = np.zeros(n, dtype=np.float32)
        outliers = np.zeros(n, dtype=np.float32)
        is_noise = np.zeros(n, dtype=bool)
        coords[:n_sample], space[:n_sample] = reduction.coords, reduction.cluster_space
        for layer, sample_layer in zip(labels, fitted.labels, strict=True):
            layer[:n_sample] = sample_layer
        probabilities[:n_sample] = fitted.probabilities
        outliers[:n_sample] = fitted.outlier_scores
        is_noise[:n_sample] = fitted.is_noise
        rest = n - n_sample
        with timer.step("place", f"{rest} papers in Ray tasks of {PARTITION}"):
            if rest:
                ray = self.ray
                remote = ray.remote(_place_partition)
                shared = [ray.put(sample_vectors),
                          ray.put([reduction.coords, reduction.cluster_space]),
                          ray.put(fitted)]
                k = config.reduce.neighbors_for(n_sample)
                starts = list(range(n_sample, n, PARTITION))
                futures = [remote.remote(embeddings[s:s + PARTITION], *shared, k) for s in starts]
                for s, (c, sp, placed, share, noise) in zip(starts, ray.get(futures),
                                                             strict=True):
                    end = s + len(share)
                    coords[s:end], space[s:end] = c, sp
                    for layer, part in zip(labels, placed, strict=True):
                        layer[s:end] = part
                    probabilities[s:end] = share
                    outliers[s:end] = 1.0 - share  # as pipeline.engines.update marks placed papers
                    is_noise[s:end] = noise
        log.info("    %d clusters, %.0f%% noise, %.0f%% in no cluster (sample: "
                 "min_cluster_size=%d, min_samples=%d)", fitted.counts[0],
                 100 * is_noise.mean(), 100 * (labels[0] < 0).mean(), size, samples)
        layers = dataclasses.replace(fitted, labels=labels, probabilities=probabilities,
                                     outlier_scores=outliers, is_noise=is_noise)
        return Fit(coords, space, layers, n_sample)

    def count_phrases(self, texts, *, max_ngram, n_fitted):
        """The vocabulary and counts of the sample; the other papers' counts per partition
        in Ray tasks."""
        ray = self.ray
        head = count_phrases(texts[:n_fitted], max_ngram=max_ngram)
        remote_count = ray.remote(count_with_vocabulary)
        vocab_ref = ray.put(head.vocabulary)
        parts = ray.get([remote_count.remote(texts[s:s + PARTITION], vocab_ref, max_ngram)
                         for s in range(n_fitted, len(texts), PARTITION)])
        from scipy import sparse

        return PhraseCounts(sparse.vstack([head.matrix, *parts]).tocsr(), head.vocabulary)

    def describe(self):
        return {"name": "ray", "address": self.address or "local", "workers": self.workers,
                "sample_size": self.n_sample,
                "sample_min_cluster_size": self.sample_min_cluster_size,
                "sample_min_samples": self.sample_min_samples,
                "ray_version": self.ray.__version__}


def build_ray(inputs: Sequence[Path | str], out: Path | str, config: BuildConfig | None = None,
              *, embedder_factory: Callable[[], Embedder] | None = None,
              cache_dir: Path | str | None = None, address: str | None = None,
              workers: int | None = None, sample_size: int = DEFAULT_SAMPLE,
              show_progress: bool = False) -> TopicMap:
    """Build a map with the heavy steps on Ray; write it atomically to ``out``."""
    config = (config or BuildConfig()).validate()
    check_backend(config.embed.backend)
    if sample_size < 100:
        raise PipelineError(f"--ray-sample must be at least 100 papers, got {sample_size}")
    workers = workers or max(1, len(os.sched_getaffinity(0)))
    factory = embedder_factory or functools.partial(make_embedder, config.embed,
                                                    cache_dir=cache_dir)
    with RaySession(address, workers) as ray:
        engine = RayEngine(ray, factory, workers=workers, sample_size=sample_size,
                           address=address)
        return build(inputs, out, config, cache_dir=cache_dir, show_progress=show_progress,
                     engine=engine)
