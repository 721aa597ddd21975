"""``--engine ray``: the heavy steps of a build on Ray, the same map format out.

Local Ray by default (``ray.init`` with ``--ray-workers`` CPUs), or an existing
cluster with ``--ray-address``. Ray is an optional dependency
(``requirements-scale.txt``); without it ``--engine ray`` is a clear error.

    ingest    on the driver (streams files; the arXiv snapshot reader is chunked)
    embed     Ray Data ``map_batches`` over an actor pool: one embedder per actor,
              a GPU per actor when the cluster has GPUs; results stream back to the
              driver, which writes the embedding cache every ``SHARD_SIZE`` papers,
              so an interrupted build resumes like a local one
    reduce    UMAP fitted on a seeded sample of ``--ray-sample`` papers (driver)
    cluster   HDBSCAN fitted on the same sample (driver), sizes scaled to the sample
    place     every other paper in parallel Ray tasks, in batches: its position on
              the 2-D map and in the clustering space as UMAP's ``transform``
              initialises it (``pipeline.update.place``, the code incremental
              updates use), and its cluster by a vote of its nearest sample papers
              in the embedding space (``cluster.vote_clusters``: HDBSCAN's
              ``approximate_predict`` made twice the sample's share of them noise)
    themes    on the driver (cluster centroids are small)
    label     vocabulary from the sample; term counts per partition in Ray tasks,
              merged on the driver; c-TF-IDF as a local build
    save      the map, written atomically; papers of the sample come first, and
              ``fitted.npz`` records them as the fitted rows, so ``update`` works

With the whole corpus inside the sample (``n <= --ray-sample``) the result is
the local engine's map, except that label terms come from per-partition counts.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import DOCUMENT_COLUMNS, TopicMap, sha256_file, write_map
from .cluster import NOISE, auto_min_cluster_size, cluster, reassign_noise, vote_clusters
from .config import BuildConfig
from .embed import (
    SHARD_SIZE,
    Embedder,
    EmbeddingCache,
    assemble_vectors,
    default_cache_dir,
    document_texts,
    load_precomputed,
    lookup_cached,
    normalize_rows,
)
from .errors import PipelineError
from .label import TermCounts, cluster_and_theme_layers, count_terms, label_layers
from .reduce import reduce
from .themes import group_into_themes

log = logging.getLogger("pipeline")

STEPS = ["ingest", "embed", "reduce", "cluster", "place", "themes", "label", "save"]
DEFAULT_SAMPLE = 20_000
#: Papers per Ray task when placing papers and counting terms.
PARTITION = 5_000
ROOT = Path(__file__).resolve().parents[1]


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
                                    f"({str(exc).splitlines()[0][:200]}); check --ray-address"
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
                     sample_labels: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray,
                                                          np.ndarray, np.ndarray]:
    """Coordinates, clustering-space positions, labels and probabilities of a batch.

    Positions as UMAP's ``transform`` initialises them; clusters by a vote of the
    same nearest sample papers (``cluster.vote_clusters``; see there why not
    ``approximate_predict``).
    """
    from .placement import place

    (coords, space), neighbours = place(vectors, sample_vectors, layouts,
                                        n_neighbors=n_neighbors)
    labels, probabilities = vote_clusters(neighbours, sample_labels)
    return coords, space, labels, probabilities


def _count_partition(texts: list[str], vocabulary: np.ndarray, max_ngram: int):
    from .terms import count_with_vocabulary

    return count_with_vocabulary(texts, vocabulary, max_ngram)


def sample_sizes(n: int, n_sample: int, config: BuildConfig) -> tuple[int, int]:
    """HDBSCAN ``(min_cluster_size, min_samples)`` for a sample of ``n_sample`` of ``n`` papers.

    A cluster of ``m`` papers has about ``m * n_sample / n`` of them in the
    sample, so the full corpus's sizes (given, or the local engine's defaults)
    are scaled by that share.
    """
    share = n_sample / n
    size = config.cluster.min_cluster_size or auto_min_cluster_size(n)
    samples = config.cluster.min_samples or max(1, min(size, 5 if n < 1000 else 10))
    return max(2, round(size * share)), max(1, min(round(samples * share), n_sample - 1))


# --------------------------------------------------------------------------- build


def build_ray(inputs: Sequence[Path | str], out: Path | str, config: BuildConfig | None = None,
              *, embedder_factory: Callable[[], Embedder] | None = None,
              cache_dir: Path | str | None = None, address: str | None = None,
              workers: int | None = None, sample_size: int = DEFAULT_SAMPLE,
              show_progress: bool = False) -> TopicMap:
    """Build a map with the heavy steps on Ray; write it atomically to ``out``."""
    from .backends import backend_of, cache_key_of, make_embedder
    from .fitted import fitted_state
    from .ingest import read_papers
    from .run import StepTimer, package_versions

    config = (config or BuildConfig()).validate()
    if sample_size < 100:
        raise PipelineError(f"--ray-sample must be at least 100 papers, got {sample_size}")
    timer = StepTimer(STEPS)
    started = time.perf_counter()
    workers = workers or max(1, len(os.sched_getaffinity(0)))
    with RaySession(address, workers) as ray:
        with timer.step("ingest", f"{len(inputs)} file(s)"):
            papers, report = read_papers(inputs, config.ingest)
        n = len(papers)
        model_name, model_source, model_backend = config.embed.model, "computed", None
        with timer.step("embed", f"{n} papers on Ray, {workers} actor(s)"):
            if config.embed.embeddings_path:
                vectors = load_precomputed(config.embed.embeddings_path, report.read)
                embeddings = vectors[papers["_row"].to_numpy()]
                newly_embedded, model_source = 0, "precomputed"
            else:
                factory = embedder_factory or functools.partial(
                    make_embedder, config.embed, cache_dir=cache_dir)
                probe = factory()
                if getattr(probe, "backend", None) == "static":
                    probe.dimension  # noqa: B018 - distil once here, not in every actor
                model_name, model_backend = probe.name, backend_of(probe)
                cache = None
                if config.embed.use_cache:
                    cache = EmbeddingCache(Path(cache_dir) if cache_dir else default_cache_dir(),
                                           cache_key_of(probe))
                texts = document_texts(papers["title"].tolist(), papers["abstract"].tolist())
                gpus = float(ray.cluster_resources().get("GPU", 0))
                embeddings, newly_embedded = embed_on_ray(
                    texts, factory, cache=cache, workers=workers,
                    batch_size=config.embed.batch_size,
                    gpus_per_actor=1.0 if gpus >= 1 else 0.0)
        papers = papers.drop(columns="_row")

        # Seeded sample first, the rest after: fitted.npz then names the fitted rows.
        rng = np.random.default_rng(config.seed)
        n_sample = min(sample_size, n)
        in_sample = np.zeros(n, dtype=bool)
        in_sample[rng.choice(n, size=n_sample, replace=False)] = True
        order = np.concatenate([np.flatnonzero(in_sample), np.flatnonzero(~in_sample)])
        documents = papers.iloc[order].reset_index(drop=True)
        embeddings = np.ascontiguousarray(embeddings[order], dtype=np.float32)
        sample_vectors = embeddings[:n_sample]

        with timer.step("reduce", f"UMAP fitted on a sample of {n_sample} of {n} papers"):
            reduction = reduce(sample_vectors, config.reduce, random_state=config.seed)
        with timer.step("cluster", f"HDBSCAN fitted on the sample of {n_sample}"):
            sample_config = BuildConfig.from_dict(config.to_dict())
            size, samples = sample_sizes(n, n_sample, config)
            sample_config.cluster.min_cluster_size = size
            sample_config.cluster.min_samples = samples
            sample_config.cluster.reassign_noise = False
            fitted_cluster = cluster(reduction.cluster_space, sample_config.cluster)

        coords = np.zeros((n, 2), dtype=np.float32)
        space = np.zeros((n, reduction.cluster_space.shape[1]), dtype=np.float32)
        labels = np.full(n, NOISE, dtype=np.int32)
        probabilities = np.zeros(n, dtype=np.float32)
        outliers = np.zeros(n, dtype=np.float32)
        coords[:n_sample], space[:n_sample] = reduction.coords, reduction.cluster_space
        labels[:n_sample] = fitted_cluster.labels
        probabilities[:n_sample] = fitted_cluster.probabilities
        outliers[:n_sample] = fitted_cluster.outlier_scores
        is_noise = np.zeros(n, dtype=bool)
        is_noise[:n_sample] = fitted_cluster.is_noise
        from .fitted import hdbscan_arrays

        fitted = {"cluster_space": reduction.cluster_space,
                  "n_fitted": np.array(n_sample, dtype=np.int64),
                  "min_samples": np.array(fitted_cluster.min_samples, dtype=np.int64),
                  **hdbscan_arrays(fitted_cluster.model, fitted_cluster.labels)}
        rest = n - n_sample
        with timer.step("place", f"{rest} papers in Ray tasks of {PARTITION}"):
            if rest:
                remote = ray.remote(_place_partition)
                shared = [ray.put(sample_vectors),
                          ray.put([reduction.coords, reduction.cluster_space]),
                          ray.put(fitted_cluster.labels)]
                k = config.reduce.neighbors_for(n_sample)
                starts = list(range(n_sample, n, PARTITION))
                futures = [remote.remote(embeddings[s:s + PARTITION], *shared, k) for s in starts]
                for s, (c, sp, lab, prob) in zip(starts, ray.get(futures), strict=True):
                    end = s + len(lab)
                    coords[s:end], space[s:end], labels[s:end] = c, sp, lab
                    probabilities[s:end] = prob
                    outliers[s:end] = 1.0 - prob  # as pipeline.update marks placed papers
                    is_noise[s:end] = lab == NOISE
            if config.cluster.reassign_noise:
                labels = reassign_noise(space, labels)
        documents["x"], documents["y"] = coords[:, 0], coords[:, 1]
        documents["cluster"] = labels
        documents["probability"] = probabilities
        documents["outlier_score"] = outliers
        documents["is_noise"] = is_noise
        n_clusters = int(labels.max()) + 1 if (labels >= 0).any() else 0
        log.info("    %d clusters, %.0f%% noise (sample: min_cluster_size=%d, min_samples=%d)",
                 n_clusters, 100 * is_noise.mean(), size, samples)

        with timer.step("themes", f"grouping {n_clusters} clusters"):
            cluster_theme, documents["theme"] = group_into_themes(
                embeddings, labels, n_clusters, n_themes=config.label.n_themes)

        with timer.step("label", "vocabulary from the sample, term counts per partition"):
            texts = (documents["title"] + ". " + documents["abstract"]).tolist()
            vocabulary = count_terms(texts[:n_sample], max_ngram=config.label.max_ngram).vocabulary
            remote_count = ray.remote(_count_partition)
            vocab_ref = ray.put(vocabulary)
            parts = ray.get([remote_count.remote(texts[s:s + PARTITION], vocab_ref,
                                                 config.label.max_ngram)
                             for s in range(0, n, PARTITION)])
            from scipy import sparse

            counts = TermCounts(sparse.vstack(parts).tocsr(), vocabulary)
            layers = cluster_and_theme_layers(labels, cluster_theme,
                                              documents["theme"].to_numpy())
            clusters = label_layers(documents, embeddings, counts, layers, config.label)
        extra = [c for c in documents.columns if c not in DOCUMENT_COLUMNS]
        documents = documents[DOCUMENT_COLUMNS + extra]

        manifest = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "config": config.to_dict(),
            "model": {"name": model_name, "dimension": int(embeddings.shape[1]),
                      "source": model_source, "backend": model_backend},
            "inputs": [dict(item, sha256=sha256_file(Path(item["path"])))
                       for item in report.inputs],
            "counts": {**report.counts(), "embedded": newly_embedded,
                       "clusters": int((clusters["level"] == "cluster").sum()),
                       "themes": int((clusters["level"] == "theme").sum()),
                       "noise": int(documents["is_noise"].sum())},
            "metadata_columns": extra,
            "engine": {"name": "ray", "address": address or "local", "workers": workers,
                       "sample_size": n_sample, "sample_min_cluster_size": size,
                       "sample_min_samples": samples, "ray_version": ray.__version__},
            "timings": timer.timings,
            "versions": package_versions(),
        }
        topic_map = TopicMap(documents, clusters, embeddings, manifest)
        with timer.step("save", str(out)):
            saved = fitted_state(documents, clusters, cluster_space=space,
                                 clustering=fitted_cluster, counts=counts, n_fitted=n_sample)
            saved.update(fitted)  # the models were fitted on the first n_sample rows
            saved["cluster_space"] = space
            topic_map.fitted = saved
            manifest["timings"] = dict(timer.timings,
                                       total=round(time.perf_counter() - started, 3))
            topic_map.path = write_map(topic_map, out)
    log.info("map written to %s in %.1fs (Ray engine)", topic_map.path,
             time.perf_counter() - started)
    return topic_map
