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

from .artifacts import DOCUMENT_COLUMNS, TopicMap, load_map, sha256_file, write_map
from .cluster import predict_clusters
from .config import BuildConfig
from .errors import InputError
from .fitted import fitted_state, load_fitted, vocabulary_of
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
    relabelled = refresh_classes(documents, all_vectors, clusters, fitted, config,
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


def refresh_classes(documents: pd.DataFrame, embeddings: np.ndarray, clusters: pd.DataFrame,
                    fitted: dict[str, np.ndarray], config: BuildConfig, *,
                    new_rows: np.ndarray, relabel_growth: float) -> dict[str, list[int]]:
    """Update sizes, centres and representatives of classes that got papers; relabel
    those that grew enough. Edits ``clusters`` and ``fitted`` in place."""
    from .label import (
        TermCounts,
        phrase_candidates,
        representatives,
        surface_form,
        term_text,
        top_terms,
    )

    vocabulary = vocabulary_of(fitted)
    texts = (documents["title"] + ". " + documents["abstract"]).to_numpy()
    new_counts = count_with_vocabulary(texts[new_rows], vocabulary, config.label.max_ngram)
    new_labels = documents["cluster"].to_numpy()[new_rows]
    fitted["term_freq_cluster"] = fitted["term_freq_cluster"] + np.asarray(
        new_counts[new_labels >= 0].sum(axis=0)).ravel()
    fitted["term_freq_theme"] = fitted["term_freq_theme"] + np.asarray(
        new_counts.sum(axis=0)).ravel()
    fitted["doc_freq"] = fitted["doc_freq"] + np.asarray((new_counts > 0).sum(axis=0)).ravel()
    ids = documents["id"].to_numpy()
    coords = documents[["x", "y"]].to_numpy()
    relabelled: dict[str, list[int]] = {"cluster": [], "theme": []}
    for level, column in (("cluster", "cluster"), ("theme", "theme")):
        classes = documents[column].to_numpy()
        touched = sorted({int(c) for c in classes[new_rows] if c >= 0})
        rows_of_level = clusters.index[clusters["level"] == level]
        n_classes = len(rows_of_level)
        labelled = fitted[f"labelled_size_{level}"].copy()
        frequency = fitted[f"term_freq_{level}"]
        used = {str(v).casefold() for v in clusters.loc[rows_of_level, "label"]}
        for c in touched:
            row = rows_of_level[clusters.loc[rows_of_level, "id"].to_numpy() == c]
            if not len(row):
                continue
            row = row[0]
            members = np.flatnonzero(classes == c)
            clusters.at[row, "size"] = len(members)
            clusters.at[row, "x"] = float(np.median(coords[members, 0]))
            clusters.at[row, "y"] = float(np.median(coords[members, 1]))
            reps, _ = representatives(embeddings, members, ids,
                                      top_n=config.label.n_representatives)
            clusters.at[row, "representative_ids"] = reps
            if c >= len(labelled) or len(members) < labelled[c] * (1 + relabel_growth) or \
                    not len(vocabulary):
                continue
            member_counts = count_with_vocabulary(texts[members], vocabulary,
                                                  config.label.max_ngram)
            class_counts = np.asarray(member_counts.sum(axis=0), dtype=np.float64).ravel()
            weights = class_weights(class_counts, frequency, n_classes, fitted["doc_freq"],
                                    len(documents))
            terms, term_weights = top_terms(weights, TermCounts(member_counts, vocabulary),
                                            np.arange(len(members)), embeddings[members],
                                            config.label)
            sample = " ".join(term_text(t) for t in texts[members[:300]])
            old_label = str(clusters.at[row, "label"])
            used.discard(old_label.casefold())
            label = old_label
            for candidate in phrase_candidates(terms, term_weights):
                phrase = candidate[0] if isinstance(candidate, tuple) else candidate
                candidate = surface_form(phrase, sample)
                if candidate.casefold() not in used:
                    label = candidate
                    break
            used.add(label.casefold())
            clusters.at[row, "label"] = label
            clusters.at[row, "terms"] = terms
            clusters.at[row, "weights"] = term_weights
            labelled[c] = len(members)
            relabelled[level].append(c)
        fitted[f"labelled_size_{level}"] = labelled
    return relabelled


def class_weights(class_counts: np.ndarray, frequency: np.ndarray, n_classes: int,
                  document_frequency: np.ndarray, n_documents: int) -> np.ndarray:
    """c-TF-IDF weights of one class, by ``pipeline.label.class_tfidf`` itself.

    ``class_tfidf`` sees the class-term matrix only through each row's total,
    the column sums, the grand total and the number of classes. A matrix of
    this class's row plus ``n_classes - 1`` rows sharing the rest of
    ``frequency`` has exactly those, so the result is the build's weight for this
    class. Only the class's own terms are kept (the others weigh 0), plus one
    column that carries the rest of the corpus's mass.
    """
    from scipy import sparse

    from .label import class_tfidf

    n_classes = max(int(n_classes), 1)
    present = np.flatnonzero(class_counts > 0)
    weights = np.zeros(len(class_counts), dtype=np.float64)
    if not len(present):
        return weights
    rest = np.clip(frequency[present] - class_counts[present], 0.0, None)
    outside = max(float(frequency.sum() - frequency[present].sum()), 0.0)
    share = max(n_classes - 1, 1)
    first = np.append(class_counts[present], 0.0)
    others = np.append(rest, outside) / share
    matrix = sparse.csr_matrix(np.vstack([first] + [others] * (n_classes - 1)))
    df = np.append(document_frequency[present], 1.0)
    weights[present] = class_tfidf(matrix, df, n_documents)[0][:-1]
    return weights


def count_with_vocabulary(texts: Sequence[str], vocabulary: np.ndarray, max_ngram: int):
    """Term counts of ``texts`` over a fixed vocabulary, tokenised as the build does."""
    from scipy import sparse
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    from .label import _TOKEN_PATTERN, ACADEMIC_STOP_WORDS, term_text

    if not len(vocabulary):
        return sparse.csr_matrix((len(texts), 0), dtype=np.float32)
    vectorizer = CountVectorizer(
        ngram_range=(1, max_ngram), stop_words=sorted(ENGLISH_STOP_WORDS | ACADEMIC_STOP_WORDS),
        token_pattern=_TOKEN_PATTERN, lowercase=True, dtype=np.float32,
        vocabulary={str(t): i for i, t in enumerate(vocabulary)},
    )
    return vectorizer.transform([term_text(t) for t in texts]).tocsr()


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
                       fitted=fitted_state(documents, clusters, state))
    rebuilt.path = write_map(rebuilt, map_path)
    return rebuilt
