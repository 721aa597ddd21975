"""Scores for benchmarks: clusterings against known labels, and one set of
vectors against another.

- ``partition_scores``: ARI and NMI of predicted clusters against reference
  labels, with noise (``-1``) counted as one class of its own, plus the noise
  share and the number of clusters. ``reassigned_scores`` gives the same after
  every noise point joins the cluster of its nearest clustered neighbours, so
  that tools with different amounts of noise can be compared both ways.
- ``knn_agreement``: how many of each point's ``k`` nearest neighbours (cosine,
  the point itself excluded) two embeddings of the same texts share.
- ``mean_cosine``: the mean cosine similarity of matching rows.

Everything here is plain numpy/scikit-learn and independent of the pipeline's
steps, so the benchmark scores our maps and BERTopic's the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

NOISE = -1


@dataclass
class PartitionScores:
    """How well a clustering matches reference labels."""

    ari: float
    nmi: float
    noise_share: float
    n_clusters: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def partition_scores(reference: Sequence, predicted: Sequence[int]) -> PartitionScores:
    """ARI and NMI (arithmetic normalisation) with noise as a class of its own."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    reference = np.asarray(reference)
    predicted = np.asarray(predicted, dtype=np.int64)
    if len(reference) != len(predicted):
        raise ValueError(f"{len(reference)} reference labels but {len(predicted)} predictions")
    if len(predicted) == 0:
        raise ValueError("no labels to score")
    clusters = np.unique(predicted[predicted != NOISE])
    return PartitionScores(
        ari=float(adjusted_rand_score(reference, predicted)),
        nmi=float(normalized_mutual_info_score(reference, predicted)),
        noise_share=float(np.mean(predicted == NOISE)),
        n_clusters=len(clusters),
    )


def reassign_noise_labels(space: np.ndarray, predicted: Sequence[int], *, k: int = 10,
                          ) -> np.ndarray:
    """Each noise point takes the distance-weighted majority cluster of its ``k``
    nearest clustered points in ``space``; clustered points keep theirs."""
    from sklearn.neighbors import NearestNeighbors

    labels = np.asarray(predicted, dtype=np.int64).copy()
    noise = labels == NOISE
    if not noise.any() or noise.all():
        return labels
    clustered = np.flatnonzero(~noise)
    k = min(k, len(clustered))
    index = NearestNeighbors(n_neighbors=k).fit(np.asarray(space)[clustered])
    dist, idx = index.kneighbors(np.asarray(space)[noise])
    neighbour_labels = labels[clustered][idx]
    ids, inverse = np.unique(neighbour_labels, return_inverse=True)
    votes = np.zeros((len(idx), len(ids)))
    np.add.at(votes, (np.repeat(np.arange(len(idx)), k), inverse.ravel()),
              (1.0 / (dist + 1e-9)).ravel())
    labels[noise] = ids[votes.argmax(axis=1)]
    return labels


def reassigned_scores(reference: Sequence, predicted: Sequence[int], space: np.ndarray,
                      ) -> PartitionScores:
    """``partition_scores`` after noise is reassigned in ``space`` (noise share is then 0)."""
    return partition_scores(reference, reassign_noise_labels(space, predicted))


def nearest_neighbours(vectors: np.ndarray, k: int = 10, *, chunk: int = 2048) -> np.ndarray:
    """Indices of each row's ``k`` nearest rows by cosine similarity, itself excluded,
    nearest first (ties broken by index, so the result is deterministic)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < 2:
        raise ValueError("need at least two vectors")
    k = min(k, n - 1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, chunk):
        scores = unit[start:start + chunk] @ unit.T
        rows = np.arange(len(scores))
        scores[rows, start + rows] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.lexsort((top, -top_scores), axis=1)
        out[start:start + len(scores)] = np.take_along_axis(top, order, axis=1)
    return out


def knn_agreement(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's ``k`` nearest neighbours that ``a`` and ``b`` agree on."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"row counts differ: {a.shape[0]} and {b.shape[0]}")
    na, nb = nearest_neighbours(a, k), nearest_neighbours(b, k)
    k = na.shape[1]
    shared = [len(np.intersect1d(x, y, assume_unique=True)) for x, y in zip(na, nb, strict=True)]
    return float(np.mean(shared) / k)


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine similarity between matching rows of ``a`` and ``b``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    denom = np.where((na == 0) | (nb == 0), 1.0, na * nb)
    return float(np.mean((a * b).sum(axis=1) / denom))


# --------------------------------------------------------------------------- topic layers


def layer_scores(reference: Sequence | None, labels: Sequence[int]) -> dict[str, float | int]:
    """One layer of a hierarchy: nodes, noise share, the largest node's share of all papers,
    and against ``reference`` (when given) NMI and ARI with noise as a class of its own,
    and the homogeneity of the clustered papers only."""
    from sklearn.metrics import homogeneity_score

    labels = np.asarray(labels, dtype=np.int64)
    clustered = labels != NOISE
    sizes = np.bincount(labels[clustered]) if clustered.any() else np.zeros(1, dtype=int)
    out: dict[str, float | int] = {
        "nodes": int((sizes > 0).sum()), "noise": float(1 - clustered.mean()),
        "largest": float(sizes.max() / len(labels))}
    if reference is not None:
        reference = np.asarray(reference).astype(str)
        scores = partition_scores(reference, labels)
        out.update(nmi=scores.nmi, ari=scores.ari)
        out["homogeneity"] = float(homogeneity_score(reference[clustered], labels[clustered])) \
            if clustered.sum() > 1 else float("nan")
    return out


# --------------------------------------------------------------------------- names

_NAME_SPLIT = re.compile(r"\s*(?:&|,|;|/|·|\band\b|_)\s*")


def name_terms(name: str) -> list[list[str]]:
    """A name's terms, each a list of folded content words (``pipeline.naming.phrases``).

    "Robot & Control" -> [[robot], [control]]; BERTopic's "0_graph_node_edge_the" ->
    [[graph], [node], [edge]]; "Graph neural networks" -> [[graph, neural, network]].
    """
    from pipeline.naming.phrases import content_words

    name = re.sub(r"^-?\d+_", "", str(name))
    return [words for part in _NAME_SPLIT.split(name) if (words := content_words(part))]


class WordUsage:
    """Which papers use which (folded, non-stop) word: what name support is measured on."""

    def __init__(self, texts: Sequence[str]) -> None:
        from functools import partial

        from sklearn.feature_extraction.text import CountVectorizer

        from pipeline.naming.phrases import phrase_keys

        vectorizer = CountVectorizer(analyzer=partial(phrase_keys, max_ngram=1), binary=True)
        matrix = vectorizer.fit_transform(list(texts)).tocsc() if len(texts) else None
        self.n = len(texts)
        self.matrix = matrix
        self.index = {w: i for i, w in enumerate(vectorizer.get_feature_names_out())} \
            if matrix is not None else {}
        self.doc_freq = np.asarray(matrix.sum(axis=0)).ravel() if matrix is not None else None

    def uses(self, word: str) -> np.ndarray:
        """Per paper: does it use ``word``?"""
        out = np.zeros(self.n, dtype=bool)
        j = self.index.get(word)
        if j is not None:
            out[self.matrix.indices[self.matrix.indptr[j]:self.matrix.indptr[j + 1]]] = True
        return out

    def rarest(self, words: list[str]) -> str:
        """The word of ``words`` fewest papers use (one the corpus never uses comes first)."""
        return min(words, key=lambda w: self.doc_freq[self.index[w]] if w in self.index else -1)


def name_scores(usage: WordUsage, labels: Sequence[int], parents: Sequence[int] | None,
                names: Sequence[str], *, embed=None, embeddings: np.ndarray | None = None,
                ) -> tuple[list[dict], dict]:
    """How well each name of a layer is borne out by its node's papers; and the layer summary.

    Per node: ``support_any`` (share of its papers using any content word of the name),
    ``support_spec`` (using its most specific term: the rarest content word in the
    corpus; for a name joining terms, "A & B" or BERTopic's "0_a_b_c_d", the weakest
    term's), ``contrast`` (1 - the share of its siblings' papers, pooled, using that
    word; siblings: the other children of its parent, at the top layer the other top
    nodes, an only child the rest of its layer), and with ``embed`` (the map's model:
    list of strings -> vectors) and ``embeddings`` ``retrieved`` (the name's nearest
    node centroid is its own node's).
    """
    labels = np.asarray(labels, dtype=np.int64)
    n_nodes = len(names)
    parents = np.zeros(n_nodes, dtype=np.int64) if parents is None else np.asarray(parents)
    keys = [str(name).strip().casefold() for name in names]
    rows = []
    for c in range(n_nodes):
        members = labels == c
        siblings = [s for s in range(n_nodes) if parents[s] == parents[c] and s != c] or \
            [s for s in range(n_nodes) if s != c]
        around = np.isin(labels, siblings)
        row = {"id": c, "name": str(names[c]), "size": int(members.sum()), "spec_word": "",
               "support_any": 0.0, "support_spec": 0.0, "contrast": 0.0,
               "sibling_duplicate": any(keys[s] == keys[c] for s in siblings
                                        if parents[s] == parents[c]),
               "layer_duplicate": keys.count(keys[c]) > 1}
        terms = name_terms(names[c])
        if terms and members.any():
            any_word = np.zeros(usage.n, dtype=bool)
            weakest = None
            for term in terms:
                for word in term:
                    any_word |= usage.uses(word)
                word = usage.rarest(term)
                used = usage.uses(word)
                share = float(used[members].mean())
                if weakest is None or share < weakest[1]:
                    weakest = (word, share, used)
            word, share, used = weakest
            row.update(spec_word=word, support_any=float(any_word[members].mean()),
                       support_spec=share,
                       contrast=1.0 - float(used[around].mean()) if around.any() else 1.0)
        rows.append(row)
    if embed is not None and embeddings is not None and n_nodes > 1:
        vectors = _unit_rows(np.asarray(embeddings, dtype=np.float32))
        centroids = _unit_rows(np.stack([vectors[labels == c].mean(axis=0) if rows[c]["size"]
                                         else np.zeros(vectors.shape[1])
                                         for c in range(n_nodes)]))
        shown = [re.sub(r"^-?\d+_", "", str(n)).replace("_", " ") for n in names]
        similarity = _unit_rows(np.asarray(embed(shown), dtype=np.float32)) @ centroids.T
        for c, row in enumerate(rows):
            row["retrieved"] = bool(similarity[c].argmax() == c)
    return rows, summarize_names(rows)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def summarize_names(rows: Sequence[dict]) -> dict[str, float | int]:
    """A layer's name scores: medians and minimum over its (non-empty) nodes."""
    rows = [r for r in rows if r["size"] > 0]
    if not rows:
        return {"nodes": 0}
    spec = np.array([r["support_spec"] for r in rows])
    out: dict[str, float | int] = {
        "nodes": len(rows), "support_spec_median": float(np.median(spec)),
        "support_spec_min": float(spec.min()), "support_spec_under_015": int((spec < 0.15).sum()),
        "support_any_median": float(np.median([r["support_any"] for r in rows])),
        "contrast_median": float(np.median([r["contrast"] for r in rows])),
        "sibling_duplicates": int(sum(r["sibling_duplicate"] for r in rows)),
        "layer_duplicates": int(sum(r["layer_duplicate"] for r in rows)),
    }
    if "retrieved" in rows[0]:
        out["retrieval"] = float(np.mean([r["retrieved"] for r in rows]))
    return out
