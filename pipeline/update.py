"""Add papers to a saved map without refitting: ``python -m pipeline update MAP FILE...``.

A build saves what the update needs in the map's ``fitted.npz`` (plain numeric
arrays, read with ``allow_pickle=False`` and checked against the manifest's
hash; see ``pipeline.artifacts``): the clustering-space coordinates of every
paper, HDBSCAN's condensed tree with the core distances and the selected
clusters, and the c-TF-IDF vocabulary with its corpus term frequencies.

An update then, for the new papers only:

1. reads them with the map's saved ingest settings and drops those already in
   the map (same normalised title, or same given id);
2. embeds them (through the embedding cache, or from ``--embeddings``);
3. places them as UMAP's ``transform`` does, re-done over the saved arrays: each
   new paper's ``n_neighbors`` nearest map papers by cosine get UMAP's fuzzy-set
   weights (``smooth_knn_dist`` with UMAP's transform settings); its position on
   the 2-D map and in the clustering space starts at the weighted mean of theirs
   and then follows UMAP's transform epochs with the map held fixed;
4. assigns clusters exactly as ``hdbscan.approximate_predict`` does, re-done over
   the saved arrays (nearest mutual-reachability neighbour, then the condensed
   tree walked up to the lambda where the new point joins); noise is reassigned
   like the build does when the map's config asks for it; themes follow clusters,
   and noise papers get the nearest theme;
5. refreshes counts, centres and representative papers of every cluster and theme
   that received papers, and re-derives the key terms and label of those that grew
   by ``RELABEL_GROWTH`` or more since they were last labelled (c-TF-IDF over the
   saved corpus term frequencies plus the new papers);
6. writes the map atomically (a crash leaves the old map as it was).

It advises a full rebuild when the new papers land as noise far more often than
the map's own papers did, or when papers added since the last fit exceed
``ADVISE_GROWTH`` of the fitted ones. ``--rebuild`` refits reduce, cluster, themes
and labels over every paper of the map plus the new ones with the saved config;
the vectors come from the map itself, so the original input files need not exist.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .artifacts import DOCUMENT_COLUMNS, LEVELS, TopicMap, load_map, sha256_file, write_map
from .cluster import predict_clusters
from .config import BuildConfig
from .errors import InputError
from .fitted import add_term_counts, fitted_state, load_fitted, saved_terms
from .label import refresh_classes
from .placement import place

log = logging.getLogger("pipeline")

NOISE = -1
#: A class gets new key terms and a new label once it grew by this share.
RELABEL_GROWTH = 0.05
#: Advise a rebuild when new papers are noise this much more often than the map's.
ADVISE_NOISE_MARGIN = 0.20
#: Advise a rebuild when papers added since the last fit exceed this share of it.
ADVISE_GROWTH = 0.20
_GENERATED_ID = re.compile(r"^paper-\d+(-\d+)*$")


# --------------------------------------------------------------------------- update


@dataclass
class UpdateResult:
    """What an update did."""

    topic_map: TopicMap
    added: int
    skipped_duplicates: int
    new_noise: int
    relabelled: dict[str, list[int]] = field(default_factory=dict)
    advice: list[str] = field(default_factory=list)
    seconds: float = 0.0


def read_new_papers(paths: Sequence[Path | str], topic_map: TopicMap, config: BuildConfig, *,
                    embeddings_path: Path | str | None = None, embedder=None,
                    cache_dir: Path | str | None = None, use_cache: bool = True,
                    show_progress: bool = False) -> tuple[pd.DataFrame, np.ndarray, dict, int]:
    """New papers not already in the map, their vectors, the ingest report, duplicates."""
    from .embed import (
        EmbeddingCache,
        default_cache_dir,
        document_texts,
        embed_texts,
        load_precomputed,
    )
    from .ingest import normalise_title, read_papers

    papers, report = read_papers(paths, config.ingest)
    old = topic_map.documents
    old_titles = set(old["title"].map(normalise_title)) - {""}
    old_ids = set(old["id"].astype(str).str.casefold())
    titles = papers["title"].map(normalise_title)
    ids = papers["id"].astype(str)
    given = ~ids.str.match(_GENERATED_ID)
    duplicate = (titles.isin(old_titles) & (titles != "")) | (given & ids.str.casefold()
                                                               .isin(old_ids))
    papers = papers[~duplicate].reset_index(drop=True)
    skipped = int(duplicate.sum())
    # Keep ids unique across the map.
    taken = set(old["id"].astype(str))
    fresh = []
    for value in papers["id"].astype(str):
        candidate, n = value, 1
        while candidate in taken:
            n += 1
            candidate = f"{value}-{n}"
        taken.add(candidate)
        fresh.append(candidate)
    papers["id"] = fresh
    dimension = int(topic_map.embeddings.shape[1])
    if not len(papers):
        return papers.drop(columns="_row"), np.zeros((0, dimension), np.float32), \
            report.__dict__, skipped
    if embeddings_path:
        vectors = load_precomputed(embeddings_path, report.read)[papers["_row"].to_numpy()]
    else:
        from .backends import cache_key_of, make_embedder

        embedder = embedder or make_embedder(config.embed, cache_dir=cache_dir)
        cache = None
        if use_cache:
            cache = EmbeddingCache(Path(cache_dir) if cache_dir else default_cache_dir(),
                                   cache_key_of(embedder))
        texts = document_texts(papers["title"].tolist(), papers["abstract"].tolist())
        vectors, _ = embed_texts(texts, embedder, batch_size=config.embed.batch_size,
                                 cache=cache, show_progress=show_progress)
    if vectors.shape[1] != dimension:
        raise InputError(
            f"the new papers' vectors have {vectors.shape[1]} dimensions but the map's have "
            f"{dimension}; embed them with the map's model ({topic_map.model_name})"
        )
    return papers.drop(columns="_row"), vectors, report.__dict__, skipped


def update_map(map_path: Path | str, paths: Sequence[Path | str], *,
               embeddings_path: Path | str | None = None, embedder=None,
               cache_dir: Path | str | None = None, use_cache: bool = True,
               relabel_growth: float = RELABEL_GROWTH, show_progress: bool = False,
               ) -> UpdateResult:
    """Add the papers in ``paths`` to the map at ``map_path`` without refitting."""
    started = time.perf_counter()
    topic_map = load_map(map_path, mmap=False)
    fitted = load_fitted(topic_map)
    config = BuildConfig.from_dict(topic_map.manifest["config"])
    papers, vectors, report, skipped = read_new_papers(
        paths, topic_map, config, embeddings_path=embeddings_path, embedder=embedder,
        cache_dir=cache_dir, use_cache=use_cache, show_progress=show_progress)
    if not len(papers):
        return UpdateResult(topic_map, 0, skipped, 0,
                            advice=["every paper in the input is already in the map"],
                            seconds=time.perf_counter() - started)
    old = topic_map.documents
    n_old = len(old)
    old_vectors = np.asarray(topic_map.embeddings, dtype=np.float32)

    (coords, space), _ = place(vectors, old_vectors,
                               [old[["x", "y"]].to_numpy(), fitted["cluster_space"]],
                               n_neighbors=config.reduce.neighbors_for(n_old),
                               min_dists=[config.reduce.map_min_dist,
                                          config.reduce.cluster_min_dist], seed=config.seed)
    labels, probabilities = predict_clusters(space, fitted)
    is_noise = labels == NOISE
    old_labels = old["cluster"].to_numpy(dtype=np.int32)
    if config.cluster.reassign_noise and is_noise.any():
        from .cluster import reassign_noise

        all_space = np.vstack([fitted["cluster_space"], space])
        labels = reassign_noise(all_space, np.concatenate([old_labels, labels]))[n_old:]
    clusters = topic_map.clusters.copy()
    fine = clusters[clusters["level"] == "cluster"]
    cluster_theme = np.zeros(int(fine["id"].max()) + 1 if len(fine) else 0, dtype=np.int32)
    cluster_theme[fine["id"].to_numpy()] = fine["parent"].to_numpy()
    all_vectors = np.vstack([old_vectors, vectors])
    themes = np.where(labels >= 0, cluster_theme[np.maximum(labels, 0)], NOISE).astype(np.int32)
    if (themes == NOISE).any() and len(cluster_theme):
        from .themes import cluster_centroids

        old_themes = old["theme"].to_numpy()
        centroids = cluster_centroids(old_vectors[old_labels >= 0],
                                      old_themes[old_labels >= 0], int(cluster_theme.max()) + 1)
        noise = themes == NOISE
        themes[noise] = np.argmax(vectors[noise] @ centroids.T, axis=1)

    new = papers.copy()
    new["x"], new["y"] = coords[:, 0], coords[:, 1]
    new["cluster"] = labels
    new["theme"] = themes
    new["probability"] = probabilities
    new["outlier_score"] = (1.0 - probabilities).astype(np.float32)
    new["is_noise"] = is_noise
    extra = [c for c in old.columns if c not in DOCUMENT_COLUMNS]
    for column in extra:
        if column not in new.columns:
            new[column] = np.nan if old[column].dtype.kind == "f" else ""
    new = new[DOCUMENT_COLUMNS + extra]
    new = new.astype({c: old[c].dtype for c in DOCUMENT_COLUMNS if c in old.columns},
                     errors="ignore")
    documents = pd.concat([old, new], ignore_index=True)

    fitted = dict(fitted)
    fitted["cluster_space"] = np.vstack([fitted["cluster_space"], space]).astype(np.float32)
    relabelled = refresh_labels(documents, all_vectors, clusters, fitted, config,
                                 new_rows=np.arange(n_old, len(documents)),
                                 relabel_growth=relabel_growth)

    manifest = dict(topic_map.manifest)
    manifest["counts"] = dict(manifest.get("counts", {}),
                              kept=len(documents), noise=int(documents["is_noise"].sum()),
                              clusters=int((clusters["level"] == "cluster").sum()),
                              themes=int((clusters["level"] == "theme").sum()))
    manifest["inputs"] = list(manifest.get("inputs", [])) + [
        dict(item, sha256=sha256_file(Path(item["path"]))) for item in report["inputs"]]
    n_fitted = int(fitted["n_fitted"])
    noise_share = float(is_noise.mean())
    advice = advise(noise_share, float(fitted["fitted_noise_share"]),
                    len(documents) - n_fitted, n_fitted)
    manifest["updates"] = [*manifest.get("updates", []), {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": [item["path"] for item in report["inputs"]],
        "added": len(new), "skipped_duplicates": skipped, "new_noise": int(is_noise.sum()),
        "relabelled": relabelled, "seconds": round(time.perf_counter() - started, 3),
        "rebuild_advised": bool(advice),
    }]
    updated = TopicMap(documents, clusters.reset_index(drop=True), all_vectors, manifest,
                       fitted=fitted)
    updated.path = write_map(updated, map_path)
    seconds = time.perf_counter() - started
    log.info("added %d papers to %s in %.1fs (%d noise; %d duplicates skipped)",
             len(new), updated.path, seconds, int(is_noise.sum()), skipped)
    return UpdateResult(updated, len(new), skipped, int(is_noise.sum()), relabelled, advice,
                        seconds)


def advise(new_noise_share: float, fitted_noise_share: float, added_since_fit: int,
           n_fitted: int) -> list[str]:
    """Reasons to rebuild, or an empty list."""
    reasons = []
    if new_noise_share > fitted_noise_share + ADVISE_NOISE_MARGIN:
        reasons.append(
            f"{100 * new_noise_share:.0f}% of the new papers landed as noise (the map's own "
            f"papers: {100 * fitted_noise_share:.0f}%): they may form topics the map lacks")
    if n_fitted and added_since_fit > ADVISE_GROWTH * n_fitted:
        reasons.append(
            f"{added_since_fit} papers were added since the map was fitted on {n_fitted} "
            f"(more than {100 * ADVISE_GROWTH:.0f}%): its clusters may have drifted")
    return reasons


# --------------------------------------------------------------------------- labels


def refresh_labels(documents: pd.DataFrame, embeddings: np.ndarray, clusters: pd.DataFrame,
                   fitted: dict[str, np.ndarray], config: BuildConfig, *,
                   new_rows: np.ndarray, relabel_growth: float) -> dict[str, list[int]]:
    """Add the new papers' terms to the saved totals; refresh every class that got papers
    and relabel those that grew by ``relabel_growth`` since they were last labelled.
    Edits ``clusters`` and ``fitted`` in place; returns the relabelled classes per level."""
    add_term_counts(fitted, documents.iloc[new_rows], max_ngram=config.label.max_ngram)
    relabelled: dict[str, list[int]] = {}
    for level in LEVELS:
        labelled = fitted[f"labelled_size_{level}"].copy()

        def grew(c: int, size: int, labelled=labelled) -> bool:
            return c < len(labelled) and not size < labelled[c] * (1 + relabel_growth)

        touched = sorted({int(c) for c in documents[level].to_numpy()[new_rows] if c >= 0})
        done = refresh_classes(clusters, documents, embeddings, level=level, touched=touched,
                               relabel=grew, terms=saved_terms(fitted, level, len(documents)),
                               config=config.label)
        for c, size in done.items():
            labelled[c] = size
        fitted[f"labelled_size_{level}"] = labelled
        relabelled[level] = list(done)
    return relabelled


# --------------------------------------------------------------------------- rebuild


def rebuild_map(map_path: Path | str, paths: Sequence[Path | str] = (), *,
                embeddings_path: Path | str | None = None, embedder=None,
                cache_dir: Path | str | None = None, use_cache: bool = True,
                show_progress: bool = False) -> TopicMap:
    """Refit the whole map (plus the papers in ``paths``) with its saved config."""
    from .run import STEPS, StepTimer, map_papers

    started = time.perf_counter()
    topic_map = load_map(map_path, mmap=False)
    config = BuildConfig.from_dict(topic_map.manifest["config"]).validate()
    documents = topic_map.documents
    vectors = np.asarray(topic_map.embeddings, dtype=np.float32)
    report: dict = {"inputs": []}
    skipped = 0
    if paths:
        papers, new_vectors, report, skipped = read_new_papers(
            paths, topic_map, config, embeddings_path=embeddings_path, embedder=embedder,
            cache_dir=cache_dir, use_cache=use_cache, show_progress=show_progress)
        documents = pd.concat([documents, papers], ignore_index=True)
        vectors = np.vstack([vectors, new_vectors])
    fitted_columns = ["x", "y", "cluster", "theme", "probability", "outlier_score", "is_noise"]
    papers = documents.drop(columns=[c for c in fitted_columns if c in documents.columns])
    timer = StepTimer(STEPS)
    state: dict[str, Any] = {}
    documents, clusters = map_papers(papers, vectors, config, timer=timer, state=state)
    manifest = dict(topic_map.manifest)
    manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest["counts"] = dict(manifest.get("counts", {}), kept=len(documents),
                              clusters=int((clusters["level"] == "cluster").sum()),
                              themes=int((clusters["level"] == "theme").sum()),
                              noise=int(documents["is_noise"].sum()))
    manifest["inputs"] = list(manifest.get("inputs", [])) + [
        dict(item, sha256=sha256_file(Path(item["path"]))) for item in report["inputs"]]
    manifest["updates"] = [*manifest.get("updates", []), {
        "time": manifest["created"], "rebuild": True,
        "files": [item["path"] for item in report["inputs"]],
        "added": len(documents) - len(topic_map.documents), "skipped_duplicates": skipped,
    }]
    manifest["timings"] = dict(timer.timings, total=round(time.perf_counter() - started, 3))
    rebuilt = TopicMap(documents, clusters, vectors, manifest,
                       fitted=fitted_state(documents, clusters, **state))
    rebuilt.path = write_map(rebuilt, map_path)
    return rebuilt
