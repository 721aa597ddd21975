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

from .artifacts import DOCUMENT_COLUMNS, FITTED, TopicMap, load_map, sha256_file, write_map
from .config import BuildConfig
from .errors import InputError, MapFormatError

log = logging.getLogger("pipeline")

NOISE = -1
#: A class gets new key terms and a new label once it grew by this share.
RELABEL_GROWTH = 0.05
#: Advise a rebuild when new papers are noise this much more often than the map's.
ADVISE_NOISE_MARGIN = 0.20
#: Advise a rebuild when papers added since the last fit exceed this share of it.
ADVISE_GROWTH = 0.20
_SMOOTH_K_TOLERANCE = 1e-5
_MIN_K_DIST_SCALE = 1e-3
_GENERATED_ID = re.compile(r"^paper-\d+(-\d+)*$")


# --------------------------------------------------------------------------- saved state


def fitted_state(documents: pd.DataFrame, clusters: pd.DataFrame, state: dict[str, Any],
                 ) -> dict[str, np.ndarray]:
    """The arrays an update needs, from the ``state`` that ``map_papers`` filled."""
    space = np.asarray(state["cluster_space"], dtype=np.float32)
    clustering = state["clustering"]
    counts = state["counts"]
    labels = documents["cluster"].to_numpy()
    out: dict[str, np.ndarray] = {
        "cluster_space": space,
        "n_fitted": np.array(len(documents), dtype=np.int64),
        "fitted_noise_share": np.array(float(documents["is_noise"].mean()), dtype=np.float64),
        "min_samples": np.array(int(clustering.min_samples), dtype=np.int64),
    }
    out.update(hdbscan_arrays(getattr(clustering, "model", None), clustering.labels))
    vocabulary = [str(t) for t in counts.vocabulary]
    out["vocabulary"] = np.frombuffer("\n".join(vocabulary).encode("utf-8"), dtype=np.uint8)
    out["n_terms"] = np.array(len(vocabulary), dtype=np.int64)
    matrix = counts.matrix
    out["term_freq_cluster"] = np.asarray(matrix[labels >= 0].sum(axis=0),
                                          dtype=np.float64).ravel()
    out["term_freq_theme"] = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
    out["doc_freq"] = np.asarray((matrix > 0).sum(axis=0), dtype=np.float64).ravel()
    for level in ("cluster", "theme"):
        rows = clusters[clusters["level"] == level].sort_values("id")
        out[f"labelled_size_{level}"] = rows["size"].to_numpy(dtype=np.int64)
    return out


def hdbscan_arrays(model, labels: np.ndarray) -> dict[str, np.ndarray]:
    """What ``approximate_predict`` needs from a fitted ``hdbscan.HDBSCAN``, as arrays.

    ``labels`` are the pipeline's cluster ids of the fitted points (renumbered
    by size); the saved ``node_labels`` use them. A model that found no cluster
    (the build then puts everything in one) is saved as ``single_cluster``.
    """
    usable = model is not None and (np.asarray(model.labels_) >= 0).any()
    out: dict[str, np.ndarray] = {"single_cluster": np.array(not usable)}
    if not usable:
        return out
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.generate_prediction_data()
    prediction = model.prediction_data_
    raw = model.condensed_tree_._raw_tree
    # hdbscan numbers clusters its own way; the pipeline renumbers them by size.
    ours: dict[int, int] = {}
    for theirs, mine in zip(np.asarray(model.labels_), np.asarray(labels), strict=True):
        if theirs >= 0 and mine >= 0:
            ours.setdefault(int(theirs), int(mine))
    nodes = sorted(prediction.cluster_map)
    out.update({
        "tree_parent": np.asarray(raw["parent"], dtype=np.int64),
        "tree_child": np.asarray(raw["child"], dtype=np.int64),
        "tree_lambda": np.asarray(raw["lambda_val"], dtype=np.float64),
        "tree_size": np.asarray(raw["child_size"], dtype=np.int64),
        "core_distances": np.asarray(prediction.core_distances, dtype=np.float64),
        "node_ids": np.array(nodes, dtype=np.int64),
        "node_labels": np.array([ours.get(int(prediction.cluster_map[n]), NOISE)
                                 for n in nodes], dtype=np.int64),
        "node_max_lambda": np.array([prediction.max_lambdas[n] for n in nodes],
                                    dtype=np.float64),
    })
    return out


def load_fitted(topic_map: TopicMap) -> dict[str, np.ndarray]:
    """The map's ``fitted.npz``, checked against the manifest's hash."""
    path = Path(topic_map.path) / FITTED
    expected = topic_map.manifest.get("files", {}).get(FITTED)
    if not path.is_file() or expected is None:
        raise MapFormatError(
            f"map {topic_map.path} has no saved state for updates (it was built before updates "
            f"existed); refit it once with `python -m pipeline update {topic_map.path} --rebuild`"
        )
    if sha256_file(path) != expected:
        raise MapFormatError(f"{path} does not match the hash in its manifest; rebuild the map")
    try:
        with np.load(path, allow_pickle=False) as data:
            fitted = {name: data[name] for name in data.files}
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a corrupt file
        raise MapFormatError(f"{path} could not be read ({exc}); rebuild the map") from None
    if len(fitted.get("cluster_space", [])) != len(topic_map.documents):
        raise MapFormatError(f"{path} is not row-aligned with the documents; rebuild the map")
    return fitted


def vocabulary_of(fitted: dict[str, np.ndarray]) -> np.ndarray:
    """The saved c-TF-IDF vocabulary as an array of strings."""
    if int(fitted["n_terms"]) == 0:
        return np.array([], dtype=str)
    return np.array(bytes(fitted["vocabulary"]).decode("utf-8").split("\n"))


# --------------------------------------------------------------------------- placement


def smooth_knn_weights(distances: np.ndarray, k: float) -> np.ndarray:
    """UMAP's fuzzy-set membership of new points to their neighbours.

    Exactly ``umap.umap_.smooth_knn_dist`` with the settings UMAP's ``transform``
    uses (``local_connectivity`` 1 - 1 = 0, so ``rho`` is 0, and the first column
    skipped in the sum as UMAP does), followed by ``exp(-(d - rho) / sigma)``.
    """
    distances = np.asarray(distances, dtype=np.float64)
    n = len(distances)
    target = np.log2(k)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    mid = np.ones(n)
    done = np.zeros(n, dtype=bool)
    tail = distances[:, 1:]
    for _ in range(64):
        psum = np.where(tail > 0, np.exp(-tail / mid[:, None]), 1.0).sum(axis=1)
        done |= np.abs(psum - target) < _SMOOTH_K_TOLERANCE
        active = ~done
        high = active & (psum > target)
        low = active & ~(psum > target)
        hi[high] = mid[high]
        mid[high] = (lo[high] + hi[high]) / 2
        lo[low] = mid[low]
        grow = low & np.isinf(hi)
        mid[grow] *= 2
        half = low & ~np.isinf(hi)
        mid[half] = (lo[half] + hi[half]) / 2
        if done.all():
            break
    mean_all = distances.mean()
    mid = np.maximum(mid, _MIN_K_DIST_SCALE * mean_all)
    weights = np.exp(-distances / mid[:, None])
    weights[distances <= 0] = 1.0
    return weights.astype(np.float32)


def place(new_vectors: np.ndarray, map_vectors: np.ndarray, layouts: Sequence[np.ndarray],
          *, n_neighbors: int, min_dists: Sequence[float] | None = None, seed: int = 42,
          ) -> tuple[list[np.ndarray], np.ndarray]:
    """Positions of new points in each layout, as UMAP's ``transform`` places them.

    The start is UMAP's transform initialisation (the weighted mean of the
    neighbours' positions; a new point identical to a map point takes its
    position). With ``min_dists`` (one per layout) UMAP's transform epochs
    follow (``optimize_layout`` with the map fixed; see ``refine``).
    Returns one ``(n_new, dim)`` array per layout, and the neighbour indices.
    """
    k = max(1, min(n_neighbors, len(map_vectors)))
    similarity = np.asarray(new_vectors, dtype=np.float32) @ np.asarray(map_vectors,
                                                                       dtype=np.float32).T
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    top_sim = np.take_along_axis(similarity, top, axis=1)
    order = np.lexsort((top, -top_sim), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    dists = np.clip(1.0 - np.take_along_axis(top_sim, order, axis=1), 0.0, 2.0)
    dists[dists < 1e-6] = 0.0  # the same text: float32 rounding aside, distance 0
    weights = smooth_knn_weights(dists, float(k))
    exact = (weights >= 1.0).any(axis=1)
    out = []
    for layout in layouts:
        layout = np.asarray(layout, dtype=np.float64)
        total = weights.sum(axis=1, keepdims=True)
        positions = (weights[:, :, None] * layout[top]).sum(axis=1) / np.where(total == 0, 1, total)
        if exact.any():
            first = np.argmax(weights >= 1.0, axis=1)
            positions[exact] = layout[top[exact, first[exact]]]
        out.append(positions.astype(np.float32))
    if min_dists is not None:
        out = [refine(start, np.asarray(layout, dtype=np.float32), top, weights,
                      min_dist=min_dist, seed=seed, keep=exact)
               for start, layout, min_dist in zip(out, layouts, min_dists, strict=True)]
    return out, top


def ab_params(min_dist: float, spread: float = 1.0) -> tuple[float, float]:
    """UMAP's ``find_ab_params``: the curve ``1 / (1 + a d^2b)`` fitted to its target."""
    from scipy.optimize import curve_fit

    xv = np.linspace(0, spread * 3, 300)
    yv = np.where(xv < min_dist, 1.0, np.exp(-(xv - min_dist) / spread))
    params, _ = curve_fit(lambda x, a, b: 1.0 / (1.0 + a * x ** (2 * b)), xv, yv)
    return float(params[0]), float(params[1])


def refine(start: np.ndarray, layout: np.ndarray, neighbours: np.ndarray, weights: np.ndarray,
           *, min_dist: float, seed: int, n_epochs: int = 100, negative_rate: int = 5,
           keep: np.ndarray | None = None) -> np.ndarray:
    """UMAP's transform epochs: new points move, the map stays fixed.

    ``optimize_layout_euclidean`` as UMAP runs it for ``transform`` (100 epochs,
    initial learning rate 1/4, five negative samples per positive one, edges
    sampled in proportion to their weight, gradients clipped to 4), compiled
    with numba as UMAP's is. Negative samples come from numba's seeded
    generator instead of UMAP's tau-rand, so positions match UMAP's in kind,
    not bit for bit.
    """
    a, b = ab_params(min_dist)
    w = np.array(weights, dtype=np.float64)
    w[w < w.max() / n_epochs] = 0.0
    with np.errstate(divide="ignore"):
        per_sample = np.where(w > 0, w.max() / w, -1.0)
    moving = np.ones(len(start), dtype=np.bool_) if keep is None else ~np.asarray(keep)
    return _optimize(np.array(start, dtype=np.float64), np.asarray(layout, dtype=np.float64),
                     np.asarray(neighbours, dtype=np.int64), per_sample, moving, float(a),
                     float(b), int(n_epochs), int(negative_rate), int(seed)).astype(np.float32)


def _optimize(current, tail, neighbours, per_sample, moving, a, b, n_epochs, negative_rate,
              seed):
    """The compiled loop of ``refine`` (compiled on first use, cached on disk)."""
    global _optimize_compiled
    if _optimize_compiled is None:
        import numba

        _optimize_compiled = numba.njit(cache=True)(_optimize_loop)
    return _optimize_compiled(current, tail, neighbours, per_sample, moving, a, b, n_epochs,
                              negative_rate, seed)


_optimize_compiled = None


def _optimize_loop(current, tail, neighbours, per_sample, moving, a, b, n_epochs,
                   negative_rate, seed):  # pragma: no cover - runs compiled
    np.random.seed(seed)
    n, k = neighbours.shape
    dim = current.shape[1]
    n_tail = tail.shape[0]
    next_sample = per_sample.copy()
    per_negative = per_sample / negative_rate
    next_negative = per_negative.copy()
    for epoch in range(n_epochs):
        alpha = 0.25 * (1.0 - epoch / n_epochs)
        for i in range(n):
            if not moving[i]:
                continue
            for j in range(k):
                if per_sample[i, j] <= 0 or next_sample[i, j] > epoch:
                    continue
                other = tail[neighbours[i, j]]
                d2 = 0.0
                for d in range(dim):
                    d2 += (current[i, d] - other[d]) ** 2
                if d2 > 0.0:
                    coeff = -2.0 * a * b * d2 ** (b - 1.0) / (a * d2**b + 1.0)
                    for d in range(dim):
                        grad = min(4.0, max(-4.0, coeff * (current[i, d] - other[d])))
                        current[i, d] += grad * alpha
                next_sample[i, j] += per_sample[i, j]
                n_negative = int((epoch - next_negative[i, j]) / per_negative[i, j])
                for _ in range(max(n_negative, 0)):
                    other = tail[np.random.randint(n_tail)]
                    d2 = 0.0
                    for d in range(dim):
                        d2 += (current[i, d] - other[d]) ** 2
                    if d2 > 0.0:
                        coeff = 2.0 * b / ((0.001 + d2) * (a * d2**b + 1.0))
                        for d in range(dim):
                            grad = min(4.0, max(-4.0, coeff * (current[i, d] - other[d])))
                            current[i, d] += grad * alpha
                next_negative[i, j] += max(n_negative, 0) * per_negative[i, j]
    return current


# --------------------------------------------------------------------------- HDBSCAN


def predict_clusters(points: np.ndarray, fitted: dict[str, np.ndarray],
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Labels and membership probabilities of new points in the clustering space.

    ``hdbscan.prediction.approximate_predict`` over the saved arrays: the nearest
    neighbour by mutual reachability among the fitted points, the lambda at which
    the new point would join it, and the condensed tree walked up from that
    neighbour's cluster while the cluster still exists at that lambda.
    """
    points = np.asarray(points, dtype=np.float64)
    if bool(fitted["single_cluster"]):
        return np.zeros(len(points), dtype=np.int32), np.ones(len(points), dtype=np.float32)
    n_fitted = int(fitted["n_fitted"])
    space = np.asarray(fitted["cluster_space"][:n_fitted], dtype=np.float64)
    min_samples = int(fitted["min_samples"])
    k = min(2 * min_samples, n_fitted)
    parent, child = fitted["tree_parent"], fitted["tree_child"]
    lambdas, sizes = fitted["tree_lambda"], fitted["tree_size"]
    core = fitted["core_distances"]
    point_row = np.full(n_fitted, 0, dtype=np.int64)
    is_point = child < n_fitted
    point_row[child[is_point]] = np.flatnonzero(is_point)
    cluster_rows = sizes > 1
    lookup = {int(c): (int(p), float(lam)) for c, p, lam in
              zip(child[cluster_rows], parent[cluster_rows], lambdas[cluster_rows], strict=True)}
    root = int(parent[cluster_rows].min()) if cluster_rows.any() else int(parent.min())
    node_label = dict(zip(fitted["node_ids"].tolist(), fitted["node_labels"].tolist(),
                          strict=True))
    node_max = dict(zip(fitted["node_ids"].tolist(), fitted["node_max_lambda"].tolist(),
                        strict=True))
    squared = (space**2).sum(axis=1)
    labels = np.full(len(points), NOISE, dtype=np.int32)
    probabilities = np.zeros(len(points), dtype=np.float32)
    for start in range(0, len(points), 512):
        block = points[start:start + 512]
        d2 = (block**2).sum(axis=1)[:, None] - 2 * block @ space.T + squared[None, :]
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dist = np.sqrt(np.clip(np.take_along_axis(d2, idx, axis=1), 0, None))
        order = np.argsort(dist, axis=1, kind="stable")
        idx = np.take_along_axis(idx, order, axis=1)
        dist = np.take_along_axis(dist, order, axis=1)
        for r in range(len(block)):
            point_core = dist[r, min(min_samples, k - 1)]
            mutual = np.maximum(np.maximum(core[idx[r]], point_core), dist[r])
            nearest = int(np.argmin(mutual))
            lam = 1.0 / mutual[nearest] if mutual[nearest] > 0 else np.finfo(np.float64).max
            row = point_row[idx[r, nearest]]
            node = int(parent[row])
            if lambdas[row] > lam:
                while node > root:
                    entry = lookup.get(node)
                    if entry is None or not entry[1] >= lam:
                        break
                    node = entry[0]
            label = node_label.get(node, NOISE)
            if label >= 0:
                top = node_max[node]
                probability = min(top, lam) / top if top > 0 else 1.0
                labels[start + r] = label
                probabilities[start + r] = probability
    return labels, probabilities


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
