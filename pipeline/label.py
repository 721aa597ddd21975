"""Naming clusters: class-based TF-IDF key phrases, diversified by MMR, and
the papers nearest each cluster's centre.

Terms are 1- to 3-grams over the abstracts with English and academic
boilerplate stop words removed; a term must start with a letter, so numbers
never become labels. Each class (a cluster or a theme) gets:

- ``terms`` / ``weights``: the top terms by c-TF-IDF (BERTopic's formula,
  ``tf(t, c) * log(1 + A / f(t))``), re-ranked with maximal marginal relevance
  so near-synonyms do not crowd the list. Term vectors for MMR come for free
  from the document embeddings (the mean vector of the papers using a term),
  so no extra model call is needed.
- ``label``: a readable 2-4-word phrase: the best multi-word key phrase when
  one is strong enough, else the two best terms joined, in the casing the
  abstracts use most, and distinct from every other label at its level.
- ``representative_ids``: the papers nearest the class centre.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from .config import LabelConfig

ACADEMIC_STOP_WORDS = {
    "paper", "papers", "propose", "proposed", "proposes", "approach", "approaches", "method",
    "methods", "methodology", "result", "results", "show", "shows", "shown", "novel", "new",
    "using", "use", "used", "uses", "based", "existing", "state", "art", "performance",
    "demonstrate", "demonstrates", "experiment", "experiments", "experimental", "work", "works",
    "code", "available", "github", "https", "http", "www", "com", "org", "io", "html", "abs",
    "present", "presents", "introduce", "introduces", "problem", "problems",
    "significantly", "achieve", "achieves", "achieved", "outperforms", "outperform",
    "study", "studies", "effective",
    "effectiveness", "efficient", "improve", "improves", "improved", "improvement", "key", "main", "recent", "recently",
    "various", "different", "including", "provide", "provides", "significant", "extensive",
    "demonstrated", "evaluate", "evaluated", "compared", "comparison", "address",
    "challenge", "challenges", "challenging", "leverage", "leverages", "leveraging", "enable",
    "enables", "well", "also", "however", "moreover", "furthermore", "abstract",
    "superior", "superiority", "publicly", "release", "released", "project", "page", "source",
    "open", "et", "al", "ie", "eg", "respectively", "able", "way", "ways",
    "called", "termed", "named", "simple", "general", "specific",
    "small", "better", "best", "good", "strong", "first", "second", "third", "one", "two",
    "three", "several", "many", "much", "wide", "range", "variety", "number", "set", "sets",
    "given", "make", "makes", "making", "via", "towards", "toward", "across", "within",
    "without", "yet", "still", "often", "usually", "typically", "thus", "therefore", "hence",
    "finally", "additionally", "specifically", "particular", "particularly", "previous", "prior", "traditional", "conventional", "important",
    "fundamental", "critical", "crucial", "remains", "remain", "need", "needs", "requires",
    "require", "required", "empirical", "empirically", "comprehensive",
    "consistently", "substantially", "effectively", "efficiently", "robust", "achieving",
    "technique", "techniques", "cid", "ii", "iii", "iv",
}

_TOKEN_PATTERN = r"(?u)\b[^\W\d_](?:[\w-]*[^\W_])?\b"
_LATEX = re.compile(r"\$[^$]{0,200}\$|\\[a-zA-Z]+(\{[^}]*\})?")
_URL = re.compile(r"https?://\S+|www\.\S+")
_TAG = re.compile(r"<[^>]{0,200}>")


def term_text(text: str) -> str:
    """Text with LaTeX, URLs and markup tags removed: what terms are counted over."""
    return _TAG.sub(" ", _URL.sub(" ", _LATEX.sub(" ", text)))


@dataclass
class TermCounts:
    """A document-term count matrix and its vocabulary."""

    matrix: sparse.csr_matrix  # (n_docs, n_terms)
    vocabulary: np.ndarray  # term strings


def count_terms(texts: Sequence[str], *, max_ngram: int = 3) -> TermCounts:
    """Count 1..max_ngram-grams per document, dropping stop words and rare terms."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    texts = [term_text(t) for t in texts]
    n = len(texts)
    stop = sorted(ENGLISH_STOP_WORDS | ACADEMIC_STOP_WORDS)
    min_df = 1 if n < 200 else 2 if n < 5000 else 3
    vectorizer = CountVectorizer(
        ngram_range=(1, max_ngram), stop_words=stop, token_pattern=_TOKEN_PATTERN,
        min_df=min_df, lowercase=True, dtype=np.float32,
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary: only stop words or symbols
        return TermCounts(sparse.csr_matrix((n, 0), dtype=np.float32), np.array([], dtype=str))
    vocabulary = vectorizer.get_feature_names_out()
    keep = np.array([len(t) > 2 or " " in t for t in vocabulary], dtype=bool)
    return TermCounts(matrix[:, keep].tocsr(), vocabulary[keep])


def class_matrix(counts: TermCounts, classes: np.ndarray, n_classes: int) -> sparse.csr_matrix:
    """Sum document counts per class (rows with class < 0 are ignored)."""
    rows = np.flatnonzero(classes >= 0)
    indicator = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (classes[rows], rows)),
        shape=(n_classes, counts.matrix.shape[0]),
    )
    return (indicator @ counts.matrix).tocsr()


def class_tfidf(class_counts: sparse.csr_matrix, document_frequency: np.ndarray | None = None,
                n_documents: int | None = None) -> np.ndarray:
    """c-TF-IDF: L1-normalised term frequency times log(1 + A / f_t) (BERTopic's).

    With ``document_frequency`` the weight is also multiplied by the usual
    document-level IDF, ``log(N / df_t)``. With few classes (a map's handful
    of themes) BERTopic's class-level IDF barely separates words every paper
    uses ("learning", "models") from words a theme owns; the document-level
    factor does.
    """
    dense = np.asarray(class_counts.todense(), dtype=np.float64)
    totals = dense.sum(axis=1, keepdims=True)
    totals[totals == 0] = 1.0
    tf = dense / totals
    frequency = dense.sum(axis=0)
    average = dense.sum() / max(len(dense), 1)
    idf = np.log(1.0 + average / np.maximum(frequency, 1e-9))
    weights = tf * idf
    if document_frequency is not None and n_documents:
        weights = weights * np.log(n_documents / np.maximum(document_frequency, 1.0))
    return weights


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


def label_classes(classes: np.ndarray, n_classes: int, *, documents: pd.DataFrame,
                  embeddings: np.ndarray, counts: TermCounts, config: LabelConfig,
                  level: str) -> pd.DataFrame:
    """One row per class: label, terms, weights, size, centre and representatives."""
    document_frequency = np.asarray((counts.matrix > 0).sum(axis=0)).ravel()
    weights = class_tfidf(class_matrix(counts, classes, n_classes), document_frequency,
                          counts.matrix.shape[0]) if n_classes else None
    texts = (documents["title"] + ". " + documents["abstract"]).map(term_text).to_numpy()
    ids = documents["id"].to_numpy()
    rows, candidates = [], []
    for c in range(n_classes):
        members = np.flatnonzero(classes == c)
        terms, term_weights = top_terms(weights[c], counts, members, embeddings, config)
        candidates.append(phrase_candidates(terms, term_weights))
        reps, _ = representatives(embeddings, members, ids, top_n=config.n_representatives)
        rows.append({
            "level": level, "id": c, "terms": terms, "weights": term_weights,
            "size": len(members),
            "x": float(np.median(documents["x"].to_numpy()[members])) if len(members) else 0.0,
            "y": float(np.median(documents["y"].to_numpy()[members])) if len(members) else 0.0,
            "representative_ids": reps,
        })
    labels = assign_labels(candidates, fallback=level.title())
    for c, (row, label) in enumerate(zip(rows, labels, strict=True)):
        members = np.flatnonzero(classes == c)
        row["label"] = surface_form(label, " ".join(texts[members[:300]]))
    return pd.DataFrame(rows, columns=["level", "id", "label", "terms", "weights", "size",
                                       "x", "y", "representative_ids"])


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
