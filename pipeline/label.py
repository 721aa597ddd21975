"""Naming topics: one labeller for every layer of a map, and for updates.

Each class (a node of a layer: a cluster, a theme) gets:

- ``terms`` / ``weights``: the top terms by c-TF-IDF (``pipeline.terms``),
  re-ranked with maximal marginal relevance so near-synonyms do not crowd the
  list. Term vectors for MMR come for free from the document embeddings (the
  mean vector of the papers using a term), so no extra model call is needed.
- ``label``: a readable 2-4-word phrase: the best multi-word key phrase when
  one is strong enough, else the two best terms joined, in the casing the
  abstracts use most, and distinct from every other label at its level.
- ``size``, ``x``/``y`` (median position of its papers) and
  ``representative_ids`` (the papers nearest the class centre).

:func:`label_layers` labels every layer of a map (any number of nested
layers, finest first) into the clusters table; :func:`refresh_classes`
relabels only the classes an update changed, from the corpus term totals a map
saves (``pipeline.fitted``), keeping the other labels as they are.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import LabelConfig
from .terms import (
    ACADEMIC_STOP_WORDS,
    SavedTerms,
    TermCounts,
    class_matrix,
    class_tfidf,
    class_weights,
    count_terms,
    count_with_vocabulary,
    term_text,
)

__all__ = [
    "ACADEMIC_STOP_WORDS", "Layer", "SavedTerms", "TermCounts", "assign_labels", "class_matrix",
    "class_summary", "class_tfidf", "cluster_and_theme_layers", "count_terms", "free_label",
    "label_classes", "label_layers", "mmr", "phrase_candidates", "refresh_classes",
    "representatives", "surface_form", "term_text", "top_terms",
]
#: The columns of the rows :func:`label_classes` returns.
_CLASS_COLUMNS = ["level", "id", "label", "terms", "weights", "size", "x", "y",
                 "representative_ids"]


def mmr(candidate_vectors: np.ndarray, relevance: np.ndarray, *, top_n: int,
        diversity: float) -> list[int]:
    """Maximal marginal relevance: pick ``top_n`` items relevant yet unlike each other."""
    if len(relevance) == 0:
        return []
    relevance = relevance / (relevance.max() or 1.0)
    similarity = candidate_vectors @ candidate_vectors.T
    chosen = [int(np.argmax(relevance))]
    remaining = [i for i in range(len(relevance)) if i != chosen[0]]
    while remaining and len(chosen) < top_n:
        redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
        scores = (1 - diversity) * relevance[remaining] - diversity * redundancy
        best = remaining[int(np.argmax(scores))]
        chosen.append(best)
        remaining.remove(best)
    return chosen


def top_terms(weights: np.ndarray, counts: TermCounts, members: np.ndarray,
              embeddings: np.ndarray, config: LabelConfig) -> tuple[list[str], list[float]]:
    """The class's top terms and their c-TF-IDF weights, diversified with MMR.

    A term must appear in at least two of the class's papers: in small
    corpora one paper repeating its own jargon would otherwise name the
    whole cluster. (Weighting by coverage as well was tried on the venue
    corpus and made labels more generic: "Algorithm & Bounds".)
    """
    if weights.size == 0 or weights.max() <= 0 or len(members) == 0:
        return [], []
    pool = min(len(weights), max(6 * config.n_terms, 60))
    candidates = np.argsort(-weights, kind="stable")[:pool]
    candidates = candidates[weights[candidates] > 0]
    usage = (counts.matrix[members][:, candidates] > 0).astype(np.float32)
    used_by = np.asarray(usage.sum(axis=0)).ravel()
    keep = used_by >= min(2, len(members))
    if not keep.any():
        keep = used_by > 0
    candidates, usage, used_by = candidates[keep], usage[:, keep], used_by[keep]
    relevance = weights[candidates]
    # Term vector: mean embedding of the class's papers that use the term.
    vectors = np.asarray(usage.T @ embeddings[members], dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    picked = mmr(vectors, relevance, top_n=config.n_terms, diversity=config.diversity)
    picked.sort(key=lambda i: -relevance[i])
    return ([str(counts.vocabulary[candidates[i]]) for i in picked],
            [round(float(relevance[i]), 6) for i in picked])


def phrase_candidates(terms: list[str], weights: list[float]) -> list[tuple[str, float]]:
    """Readable label candidates with scores, best first.

    Multi-word key phrases come first when strong enough (at least 35% of the
    best term's weight); a phrase is replaced by a longer one containing it
    when the longer one is nearly as strong ("large language" ->
    "large language models"). Then pairs of single terms that are not
    variants of each other ("kernel & kernels" is never offered).
    """
    if not terms:
        return []
    top = weights[0] or 1.0
    scored = dict(zip(terms, weights, strict=True))
    phrases = [t for t in terms if 2 <= len(t.split()) <= 4 and scored[t] >= 0.35 * top]
    extended = []
    for phrase in phrases:
        longer = [p for p in terms if p != phrase and f" {phrase} " in f" {p} "
                  and len(p.split()) <= 4 and scored[p] >= 0.6 * scored[phrase]]
        extended.append(max(longer, key=scored.get) if longer else phrase)
    singles = [t for t in terms if len(t.split()) == 1]
    pairs = [(f"{a} & {b}", scored[a] + scored[b]) for i, a in enumerate(singles)
             for b in singles[i + 1:] if not _variants(a, b)]
    pairs.sort(key=lambda item: -item[1])
    out = [(p, scored.get(p, 0.0) * 2) for p in extended] + pairs
    out += [(t, scored[t]) for t in terms]
    seen: dict[str, float] = {}
    for phrase, score in out:
        seen.setdefault(phrase, score)
    return list(seen.items())


def _variants(a: str, b: str) -> bool:
    """Whether two words are forms of one word (graph/graphs, privacy/private)."""
    a, b = a.lower(), b.lower()
    if a.startswith(b) or b.startswith(a):
        return True
    prefix = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix += 1
    return prefix >= 5


def surface_form(phrase: str, text: str) -> str:
    """The phrase in the casing the texts use most (acronyms stay upper case)."""
    words = []
    for word in phrase.split():
        if word == "&":
            words.append(word)
            continue
        forms = Counter(m.group(0) for m in re.finditer(
            rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, flags=re.IGNORECASE))
        form = forms.most_common(1)[0][0] if forms else word
        if form.islower():
            form = form[0].upper() + form[1:]
        words.append(form)
    return " ".join(words)


def representatives(embeddings: np.ndarray, members: np.ndarray, ids: np.ndarray,
                    *, top_n: int) -> tuple[list[str], np.ndarray]:
    """Ids of the ``top_n`` members nearest the (normalised) centroid, and the centroid."""
    vectors = embeddings[members]
    centroid = vectors.mean(axis=0)
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    order = np.argsort(-(vectors @ centroid), kind="stable")[:top_n]
    return [str(ids[members[i]]) for i in order], centroid


def assign_labels(candidates: list[list[tuple[str, float]]], *, fallback: str) -> list[str]:
    """One distinct label per class from its ranked candidates.

    When several classes want the same phrase, the class where it scores
    highest keeps it and the others move to their next candidate, so a
    phrase names the cluster it describes best.
    """
    n = len(candidates)
    position = [0] * n
    labels: list[str | None] = [None] * n
    while True:
        wanted: dict[str, list[int]] = {}
        for c in range(n):
            if labels[c] is None and position[c] < len(candidates[c]):
                wanted.setdefault(candidates[c][position[c]][0].casefold(), []).append(c)
        if not wanted:
            break
        taken = {label.casefold() for label in labels if label is not None}
        for key, classes in wanted.items():
            if key in taken:
                for c in classes:
                    position[c] += 1
                continue
            winner = max(classes, key=lambda c: (candidates[c][position[c]][1], -c))
            labels[winner] = candidates[winner][position[winner]][0]
            taken.add(key)
            for c in classes:
                if c != winner:
                    position[c] += 1
    used = {label.casefold() for label in labels if label}
    out = []
    for c, label in enumerate(labels):
        if label is None:
            base = candidates[c][0][0] if candidates[c] else f"{fallback} {c}"
            label, k = base, 2
            while label.casefold() in used:
                label, k = f"{base} ({k})", k + 1
            used.add(label.casefold())
        out.append(label)
    return out


def class_summary(members: np.ndarray, *, coords: np.ndarray, embeddings: np.ndarray,
                  ids: np.ndarray, config: LabelConfig) -> dict:
    """``size``, label position ``x``/``y`` (median of its papers) and ``representative_ids``."""
    reps, _ = representatives(embeddings, members, ids, top_n=config.n_representatives)
    return {
        "size": len(members),
        "x": float(np.median(coords[members, 0])) if len(members) else 0.0,
        "y": float(np.median(coords[members, 1])) if len(members) else 0.0,
        "representative_ids": reps,
    }


def _label_texts(documents: pd.DataFrame) -> np.ndarray:
    """What each paper's terms are counted over (and label casing is taken from)."""
    return (documents["title"] + ". " + documents["abstract"]).map(term_text).to_numpy()


def label_classes(classes: np.ndarray, n_classes: int, *, documents: pd.DataFrame,
                  embeddings: np.ndarray, counts: TermCounts, config: LabelConfig,
                  level: str) -> pd.DataFrame:
    """One row per class: label, terms, weights, size, centre and representatives."""
    document_frequency = np.asarray((counts.matrix > 0).sum(axis=0)).ravel()
    weights = class_tfidf(class_matrix(counts, classes, n_classes), document_frequency,
                          counts.matrix.shape[0]) if n_classes else None
    texts = _label_texts(documents)
    ids = documents["id"].to_numpy()
    coords = documents[["x", "y"]].to_numpy()
    rows, candidates = [], []
    for c in range(n_classes):
        members = np.flatnonzero(classes == c)
        terms, term_weights = top_terms(weights[c], counts, members, embeddings, config)
        candidates.append(phrase_candidates(terms, term_weights))
        rows.append({"level": level, "id": c, "terms": terms, "weights": term_weights,
                     **class_summary(members, coords=coords, embeddings=embeddings, ids=ids,
                                     config=config)})
    labels = assign_labels(candidates, fallback=level.title())
    for c, (row, label) in enumerate(zip(rows, labels, strict=True)):
        members = np.flatnonzero(classes == c)
        row["label"] = surface_form(label, " ".join(texts[members[:300]]))
    return pd.DataFrame(rows, columns=_CLASS_COLUMNS)


@dataclass
class Layer:
    """One layer of nested topics, as the labeller sees it.

    ``level`` names the layer and its documents column ("cluster", "theme");
    ``nodes`` is each paper's node (-1: none, only at the finest layer);
    ``parents`` each node's node in the next broader layer (None at the top).
    """

    level: str
    nodes: np.ndarray
    n_nodes: int
    parents: np.ndarray | None = None


def cluster_and_theme_layers(labels: np.ndarray, cluster_theme: np.ndarray,
                             themes: np.ndarray) -> list[Layer]:
    """The two layers of a map: clusters (finest) inside themes."""
    n_clusters = len(cluster_theme)
    themes = np.asarray(themes)
    return [Layer("cluster", labels, n_clusters, cluster_theme),
            Layer("theme", themes, int(themes.max()) + 1 if n_clusters else 0)]


def label_layers(documents: pd.DataFrame, embeddings: np.ndarray, counts: TermCounts,
                 layers: Sequence[Layer], config: LabelConfig) -> pd.DataFrame:
    """The clusters table: every node of every layer, broadest layer first, with its parent
    (-1 at the top layer)."""
    tables = []
    for layer in reversed(layers):
        rows = label_classes(layer.nodes, layer.n_nodes, documents=documents,
                             embeddings=embeddings, counts=counts, config=config,
                             level=layer.level)
        if layer.parents is None:
            rows["parent"] = -1
        else:
            rows["parent"] = layer.parents[rows["id"].to_numpy()].astype(int) \
                if len(rows) else []
        tables.append(rows)
    clusters = pd.concat(tables, ignore_index=True)
    clusters["parent"] = clusters["parent"].astype(int)
    return clusters


# --------------------------------------------------------------------------- relabel what changed


def free_label(candidates: Iterable[tuple[str, float] | str], sample: str, used: set[str],
               current: str) -> str:
    """The first candidate, in the casing ``sample`` uses, that no label in ``used`` has
    (compared case-folded); ``current`` when every candidate is taken."""
    for candidate in candidates:
        phrase = candidate[0] if isinstance(candidate, tuple) else candidate
        form = surface_form(phrase, sample)
        if form.casefold() not in used:
            return form
    return current


def refresh_classes(clusters: pd.DataFrame, documents: pd.DataFrame, embeddings: np.ndarray,
                    *, level: str, touched: Iterable[int], relabel: Callable[[int, int], bool],
                    terms: SavedTerms, config: LabelConfig) -> dict[int, int]:
    """Bring the ``touched`` classes of ``level`` up to date; the rest stay as they are.

    Every touched class gets its size, centre and representatives again. One for
    which ``relabel(class id, new size)`` is true (and when there is a vocabulary)
    also gets new key terms, weighted by :func:`pipeline.terms.class_weights` from
    ``terms``, and a new label distinct from the level's others. Edits ``clusters``
    in place; returns the relabelled classes with their sizes.
    """
    classes = documents[level].to_numpy()
    texts = (documents["title"] + ". " + documents["abstract"]).to_numpy()
    ids = documents["id"].to_numpy()
    coords = documents[["x", "y"]].to_numpy()
    rows_of_level = clusters.index[clusters["level"] == level]
    used = {str(v).casefold() for v in clusters.loc[rows_of_level, "label"]}
    relabelled: dict[int, int] = {}
    for c in touched:
        row = rows_of_level[clusters.loc[rows_of_level, "id"].to_numpy() == c]
        if not len(row):
            continue
        row = row[0]
        members = np.flatnonzero(classes == c)
        for key, value in class_summary(members, coords=coords, embeddings=embeddings, ids=ids,
                                        config=config).items():
            clusters.at[row, key] = value
        if not relabel(c, len(members)) or not len(terms.vocabulary):
            continue
        member_counts = count_with_vocabulary(texts[members], terms.vocabulary,
                                              config.max_ngram)
        class_counts = np.asarray(member_counts.sum(axis=0), dtype=np.float64).ravel()
        weights = class_weights(class_counts, terms.frequency, len(rows_of_level),
                                terms.document_frequency, terms.n_documents)
        top, top_weights = top_terms(weights, TermCounts(member_counts, terms.vocabulary),
                                     np.arange(len(members)), embeddings[members], config)
        sample = " ".join(term_text(t) for t in texts[members[:300]])
        old_label = str(clusters.at[row, "label"])
        used.discard(old_label.casefold())
        label = free_label(phrase_candidates(top, top_weights), sample, used, old_label)
        used.add(label.casefold())
        clusters.at[row, "label"] = label
        clusters.at[row, "terms"] = top
        clusters.at[row, "weights"] = top_weights
        relabelled[c] = len(members)
    return relabelled
