"""Add papers to a saved map without refitting: ``python -m pipeline update MAP FILE...``.

A build saves what the update needs in the map's ``fitted.npz`` (plain numeric
arrays, read with ``allow_pickle=False`` and checked against the manifest's
hash; see ``pipeline.engines.fitted``): the clustering-space coordinates of every
paper, the parent links of the layers, the phrase vocabulary with its
document frequencies and each node's phrase totals, and the phrases the namer
embedded with their vectors (an update embeds only phrases it has not seen).

An update then, for the new papers only:

1. reads them with the map's saved ingest settings and drops those already in
   the map (same normalised title, or same given id);
2. embeds them (through the embedding cache, or from ``--embeddings``;
   ``recipe.embed_papers``, the build's embed step);
3. places them as UMAP's ``transform`` does (``pipeline.fit.placement``): each
   new paper's ``n_neighbors`` nearest map papers by cosine get UMAP's fuzzy-set
   weights (``smooth_knn_dist`` with UMAP's transform settings); its position on
   the 2-D map and in the clustering space starts at the weighted mean of theirs
   and then follows UMAP's transform epochs with the map held fixed;
4. places them in the layers as the Ray engine places papers outside its sample
   (``pipeline.fit.layers.place_layers``): the finest cluster by a vote of those same
   nearest map papers (noise can win; ties to the nearer), every broader layer by
   the saved parent links (a paper voted noise takes its neighbours' majority at
   layer 1), and ``is_noise`` by the neighbours' majority of HDBSCAN's verdict;
5. refreshes counts, centres and representative papers of every node of every
   layer that received papers, and renames those that grew by ``RENAME_GROWTH`` or more
   since they were last named, as a build names them (from their papers and a sample of
   their siblings', counted over the saved vocabulary; ``pipeline.naming.offline.refresh_nodes``),
   or, when that would read more papers than the map holds (a small map, most nodes grown),
   by naming the whole map once over the saved vocabulary and giving them those names;
6. writes the map atomically (a crash leaves the old map as it was).

It advises a full rebuild when the new papers land outside every finest cluster
far more often than the map's own papers did (they may form topics the map
lacks), or when papers added since the last fit exceed ``ADVISE_GROWTH`` of the
fitted ones. ``--rebuild`` refits reduce, cluster, layers and labels over every
paper of the map plus the new ones with the saved config;
the vectors come from the map itself, so the original input files need not exist.
"""


from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import BuildConfig
from pipeline.embed.registry import embedder_for_update
from pipeline.errors import InputError
from pipeline.fit.layers import Layers, place_layers
from pipeline.fit.placement import place
from pipeline.ingest.clean import normalise_title, read_papers
from pipeline.mapdir.store import DOCUMENT_COLUMNS, TopicMap, load_map, write_map
from pipeline.naming.offline import OfflineNamer, refresh_nodes, rename_cost
from pipeline.naming.phrase_model import phrase_embedder
from pipeline.naming.registry import NodeSet, layers_of, names_record

from .assemble import attach_layers, grown_manifest, now, package_versions
from .fitted import (
    PhraseVectors,
    add_phrase_counts,
    fitted_levels,
    fitted_parents,
    load_fitted,
    saved_counts,
    saved_phrases,
)
from .recipe import STEPS, Embedded, StepTimer, embed_papers, fit_map

log = logging.getLogger("pipeline")

#: A node is renamed once it grew by this share since it was last named.
RENAME_GROWTH = 0.05
#: Advise a rebuild when new papers are in no finest cluster this much more often than
#: the map's own papers.
ADVISE_NOISE_MARGIN = 0.20
#: Advise a rebuild when papers added since the last fit exceed this share of it.
ADVISE_GROWTH = 0.20
_GENERATED_ID = re.compile(r"^paper-\d+(-\d+)*$")


@dataclass
class UpdateResult:
    """What an update did."""

    topic_map: TopicMap
    added: int
    skipped_duplicates: int
    new_noise: int
    renamed: dict[str, list[int]] = field(default_factory=dict)
    advice: list[str] = field(default_factory=list)
    seconds: float = 0.0


def read_new_papers(paths: Sequence[Path | str], topic_map: TopicMap, config: BuildConfig, *,
                    embeddings_path: Path | str | None = None, embedder=None,
                    cache_dir: Path | str | None = None, use_cache: bool = True,
                    show_progress: bool = False) -> tuple[pd.DataFrame, Embedded, dict, int]:
    """New papers not already in the map, their vectors (with the embedder that made them),
    the ingest report, duplicates."""
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
        return papers.drop(columns="_row"), Embedded(np.zeros((0, dimension), np.float32), 0,
                                                     {}, embedder), report.__dict__, skipped
    embed_config = dataclasses.replace(config.embed, embeddings_path=embeddings_path,
                                       use_cache=use_cache)
    if embedder is None and not embeddings_path:  # a fast map: its own tuned table
        embedder = embedder_for_update(topic_map.manifest.get("model"), cache_dir=cache_dir)
    embedded = embed_papers(papers, embed_config, n_read=report.read, embedder=embedder,
                            cache_dir=cache_dir, show_progress=show_progress)
    vectors = embedded.vectors
    if vectors.shape[1] != dimension:
        raise InputError(
            f"the new papers' vectors have {vectors.shape[1]} dimensions but the map's have "
            f"{dimension}; embed them with the map's model ({topic_map.model_name})"
        )
    return papers.drop(columns="_row"), embedded, report.__dict__, skipped


def update_map(map_path: Path | str, paths: Sequence[Path | str], *,
               embeddings_path: Path | str | None = None, embedder=None,
               cache_dir: Path | str | None = None, use_cache: bool = True,
               rename_growth: float = RENAME_GROWTH, show_progress: bool = False,
               ) -> UpdateResult:
    """Add the papers in ``paths`` to the map at ``map_path`` without refitting."""
    started = time.perf_counter()
    topic_map = load_map(map_path, mmap=False)
    fitted = load_fitted(topic_map)
    config = BuildConfig.from_dict(topic_map.manifest["config"])
    papers, embedded, report, skipped = read_new_papers(
        paths, topic_map, config, embeddings_path=embeddings_path, embedder=embedder,
        cache_dir=cache_dir, use_cache=use_cache, show_progress=show_progress)
    vectors = embedded.vectors
    if not len(papers):
        return UpdateResult(topic_map, 0, skipped, 0,
                            advice=["every paper in the input is already in the map"],
                            seconds=time.perf_counter() - started)
    old = topic_map.documents
    n_old = len(old)
    old_vectors = np.asarray(topic_map.embeddings, dtype=np.float32)

    # Place the new papers into the saved fit: UMAP's transform, then the layers by a vote
    # of the same nearest map papers and the parent links.
    (coords, space), neighbours = place(
        vectors, old_vectors, [old[["x", "y"]].to_numpy(), fitted["cluster_space"]],
        n_neighbors=config.reduce.neighbors_for(n_old),
        min_dists=[config.reduce.map_min_dist, config.reduce.cluster_min_dist], seed=config.seed)
    levels, parents = fitted_levels(fitted), fitted_parents(fitted)
    labels, share, is_noise = place_layers(
        neighbours, [old[level].to_numpy(dtype=np.int32) for level in levels], parents,
        old["is_noise"].to_numpy(dtype=bool))
    new = attach_layers(papers, coords, Layers(
        labels, parents, [], probabilities=share,
        outlier_scores=(1.0 - share).astype(np.float32), is_noise=is_noise))
    extra = topic_map.metadata_columns
    for column in extra:
        if column not in new.columns:
            new[column] = np.nan if old[column].dtype.kind == "f" else ""
    new = new[DOCUMENT_COLUMNS + levels[1:-1] + extra]
    new = new.astype({c: old[c].dtype for c in new.columns if c in old.columns},
                     errors="ignore")
    clusters = topic_map.clusters.copy()
    unclustered = int((labels[0] < 0).sum())
    documents = pd.concat([old, new], ignore_index=True)
    all_vectors = np.vstack([old_vectors, vectors])

    fitted = dict(fitted)
    fitted["cluster_space"] = np.vstack([fitted["cluster_space"], space]).astype(np.float32)
    phrases = PhraseVectors.from_fitted(fitted, names_embedder(topic_map, embedded.embedder,
                                                               cache_dir=cache_dir))
    renamed = refresh_names(documents, all_vectors, clusters, fitted, config,
                            new_rows=np.arange(n_old, len(documents)),
                            rename_growth=rename_growth, embed_phrases=phrases)
    if phrases.vectors:
        fitted.update(phrases.saved())

    n_fitted = int(fitted["n_fitted"])
    advice = advise(unclustered / len(new), float(fitted["fitted_unclustered_share"]),
                    len(documents) - n_fitted, n_fitted)
    manifest = grown_manifest(topic_map.manifest, documents, clusters, inputs=report["inputs"],
                              update={
        "time": now(), "files": [item["path"] for item in report["inputs"]],
        "added": len(new), "skipped_duplicates": skipped, "new_noise": unclustered,
        "renamed": renamed, "seconds": round(time.perf_counter() - started, 3),
        "rebuild_advised": bool(advice),
    })
    llm = names_record(topic_map.manifest, "llm_label")
    lost = int((topic_map.clusters["llm_label"].astype(str) != "").sum()
                - (clusters["llm_label"].astype(str) != "").sum()) if llm else 0
    if lost:
        log.warning("%d renamed topics lost their names from %s; name them again with "
                    "`python -m pipeline rename %s --llm-url URL --llm-model %s` (the other "
                    "topics' answers come from its cache)", lost, llm.get("model", "the model"),
                    map_path, llm.get("model", "MODEL"))
    updated = TopicMap(documents, clusters.reset_index(drop=True), all_vectors, manifest,
                       fitted=fitted)
    updated.path = write_map(updated, map_path)
    seconds = time.perf_counter() - started
    log.info("added %d papers to %s in %.1fs (%d in no cluster; %d duplicates skipped)",
             len(new), updated.path, seconds, unclustered, skipped)
    return UpdateResult(updated, len(new), skipped, unclustered, renamed, advice, seconds)


def names_embedder(topic_map: TopicMap, embedder=None, *, cache_dir: Path | str | None = None):
    """What embeds candidate names for ``topic_map``, as a build's are judged: ``embedder``
    (the one that embedded the new papers, already loaded) when there is one, else the
    map's own model if it is installed here (loaded on first use), else None."""
    if embedder is not None:
        return lambda phrases: np.asarray(embedder.encode(list(phrases)), dtype=np.float32)
    return phrase_embedder(topic_map.manifest.get("model", {}), cache_dir=cache_dir,
                           dimension=int(topic_map.embeddings.shape[1]))


def advise(new_noise_share: float, fitted_noise_share: float, added_since_fit: int,
           n_fitted: int) -> list[str]:
    """Reasons to rebuild, or an empty list. The noise shares are of papers in no finest
    cluster (new papers; the map's fitted papers)."""
    reasons = []
    if new_noise_share > fitted_noise_share + ADVISE_NOISE_MARGIN:
        reasons.append(
            f"{100 * new_noise_share:.0f}% of the new papers landed as noise, in no cluster "
            f"(the map's own papers: {100 * fitted_noise_share:.0f}%): they may form topics "
            "the map lacks")
    if n_fitted and added_since_fit > ADVISE_GROWTH * n_fitted:
        reasons.append(
            f"{added_since_fit} papers were added since the map was fitted on {n_fitted} "
            f"(more than {100 * ADVISE_GROWTH:.0f}%): its clusters may have drifted")
    return reasons


def refresh_names(documents: pd.DataFrame, embeddings: np.ndarray, clusters: pd.DataFrame,
                   fitted: dict[str, np.ndarray], config: BuildConfig, *,
                   new_rows: np.ndarray, rename_growth: float,
                   embed_phrases=None) -> dict[str, list[int]]:
    """Add the new papers' phrases to the saved totals; refresh every node that got papers
    and rename those that grew by ``rename_growth`` since they were last named (their
    candidate names judged with ``embed_phrases``, as a build's are): one by one, or, when
    that would read more papers than the map holds, by naming the whole map once. Edits
    ``clusters`` and ``fitted`` in place; returns the renamed nodes per level."""
    add_phrase_counts(fitted, documents.iloc[new_rows], max_ngram=config.label.max_ngram)
    renamed: dict[str, list[int]] = {}
    growth, cost = {}, 0
    for level in fitted_levels(fitted):
        labelled = fitted[f"labelled_size_{level}"].copy()

        def grew(c: int, size: int, labelled=labelled) -> bool:
            return c < len(labelled) and not size < labelled[c] * (1 + rename_growth)

        nodes = documents[level].to_numpy()
        sizes = np.bincount(nodes[nodes >= 0], minlength=len(labelled))
        touched = sorted({int(c) for c in nodes[new_rows] if c >= 0})
        growth[level] = (labelled, grew, touched)
        cost += rename_cost(sizes, [c for c in touched if grew(c, int(sizes[c]))])
    named = None
    if cost > len(documents):  # many nodes grew (a small map): name the map once, as a build
        counts = saved_counts(fitted, documents, max_ngram=config.label.max_ngram)
        named = OfflineNamer(config.label).name(NodeSet(
            documents, embeddings, layers_of(documents, clusters), clusters,
            extras={"embed_phrases": embed_phrases, "counts": counts}))
    for level, (labelled, grew, touched) in growth.items():
        done = refresh_nodes(clusters, documents, embeddings, level=level, touched=touched,
                               rename=grew, terms=saved_phrases(fitted, level, len(documents)),
                               config=config.label, embed_phrases=embed_phrases, named=named)
        for c, size in done.items():
            labelled[c] = size
        fitted[f"labelled_size_{level}"] = labelled
        renamed[level] = list(done)
    return renamed


def rebuild_map(map_path: Path | str, paths: Sequence[Path | str] = (), *,
                embeddings_path: Path | str | None = None, embedder=None,
                cache_dir: Path | str | None = None, use_cache: bool = True,
                show_progress: bool = False) -> TopicMap:
    """Refit the whole map (plus the papers in ``paths``) with its saved config."""
    started = time.perf_counter()
    topic_map = load_map(map_path, mmap=False)
    config = BuildConfig.from_dict(topic_map.manifest["config"]).validate()
    documents = topic_map.documents
    vectors = np.asarray(topic_map.embeddings, dtype=np.float32)
    report: dict = {"inputs": []}
    skipped = 0
    if paths:
        papers, embedded, report, skipped = read_new_papers(
            paths, topic_map, config, embeddings_path=embeddings_path, embedder=embedder,
            cache_dir=cache_dir, use_cache=use_cache, show_progress=show_progress)
        documents = pd.concat([documents, papers], ignore_index=True)
        vectors = np.vstack([vectors, embedded.vectors])
        embedder = embedded.embedder or embedder  # the one that embedded the new papers
    fitted_columns = ["x", "y", "probability", "outlier_score", "is_noise", *topic_map.levels]
    papers = documents.drop(columns=[c for c in fitted_columns if c in documents.columns])
    timer = StepTimer(STEPS)
    refit = fit_map(papers, vectors, config, timer=timer,
                    embed_phrases=names_embedder(topic_map, embedder, cache_dir=cache_dir))
    created = now()
    manifest = grown_manifest(topic_map.manifest, refit.documents, refit.clusters,
                              inputs=report["inputs"], update={
        "time": created, "rebuild": True,
        "files": [item["path"] for item in report["inputs"]],
        "added": len(refit.documents) - len(topic_map.documents), "skipped_duplicates": skipped,
    })
    manifest["created"] = created
    manifest["timings"] = dict(timer.timings, total=round(time.perf_counter() - started, 3))
    manifest["versions"] = package_versions()
    manifest.pop("engine", None)  # refitted here, on every paper
    manifest["fit"] = refit.fit_parameters(config)
    names = {column: entry for column, entry in (manifest.get("names") or {}).items()
             if column == "label"}
    if manifest.pop("llm", None) or len(names) < len(manifest.get("names") or {}):
        log.warning("the rebuilt map's topics are new: their names from a language model are "
                    "gone; name them again with `python -m pipeline rename %s ...`", map_path)
    names["label"] = {**names.get("label", {}), "namer": "offline", **OfflineNamer().describe()}
    manifest["names"] = names
    rebuilt = TopicMap(refit.documents, refit.clusters, vectors, manifest,
                       fitted=refit.fitted_state())
    rebuilt.path = write_map(rebuilt, map_path)
    return rebuilt
