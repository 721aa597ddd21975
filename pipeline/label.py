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
    "open", "et", "al", "ie", "eg", "i.e", "e.g", "respectively", "able", "way", "ways",
    "called", "termed", "named", "simple", "general", "specific",
    "small", "better", "best", "good", "strong", "first", "second", "third", "one", "two",
    "three", "several", "many", "much", "wide", "range", "variety", "number", "set", "sets",
    "given", "make", "makes", "making", "via", "towards", "toward", "across", "within",
    "without", "yet", "still", "often", "usually", "typically", "thus", "therefore", "hence",
    "finally", "additionally", "specifically", "particular", "particularly", "previous", "prior", "traditional", "conventional", "important",
    "fundamental", "critical", "crucial", "remains", "remain", "need", "needs", "requires",
    "require", "required", "empirical", "empirically", "comprehensive",
    "consistently", "substantially", "effectively", "efficiently", "robust", "achieving",
    "technique", "techniques", }

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


def class_tfidf(class_counts: sparse.csr_matrix) -> np.ndarray:
    """BERTopic's c-TF-IDF: L1-normalised term frequency times log(1 + A / f_t)."""
    dense = np.asarray(class_counts.todense(), dtype=np.float64)
    totals = dense.sum(axis=1, keepdims=True)
    totals[totals == 0] = 1.0
    tf = dense / totals
    frequency = dense.sum(axis=0)
    average = dense.sum() / max(len(dense), 1)
    idf = np.log(1.0 + average / np.maximum(frequency, 1e-9))
    return tf * idf


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
    """The class's top terms and weights, diversified with MMR over term vectors."""
    if weights.size == 0 or weights.max() <= 0:
        return [], []
    pool = min(len(weights), max(3 * config.n_terms, 30))
    candidates = np.argsort(-weights, kind="stable")[:pool]
    candidates = candidates[weights[candidates] > 0]
    # Term vector: mean embedding of the class's papers that use the term.
    usage = counts.matrix[members][:, candidates]
    usage = (usage > 0).astype(np.float32)
    vectors = np.asarray(usage.T @ embeddings[members], dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    picked = mmr(vectors, weights[candidates], top_n=config.n_terms, diversity=config.diversity)
    terms = [str(counts.vocabulary[candidates[i]]) for i in picked]
    values = [float(weights[candidates[i]]) for i in picked]
    order = np.argsort(-np.array(values), kind="stable")
    return [terms[i] for i in order], [round(values[i], 6) for i in order]


def phrase_candidates(terms: list[str], weights: list[float]) -> list[str]:
    """Readable label candidates, best first: strong phrases, then term pairs."""
    if not terms:
        return []
    top = weights[0]
    phrases = [t for t, w in zip(terms, weights, strict=True)
               if 2 <= len(t.split()) <= 4 and w >= 0.35 * top]
    singles = [t for t in terms if len(t.split()) == 1]
    pairs = []
    for i, a in enumerate(singles):
        for b in singles[i + 1:]:
            pairs.append(f"{a} & {b}")
    out = phrases + pairs + [t for t in terms if t not in phrases]
    # A phrase that merely contains a better single term still reads well; keep order.
    return list(dict.fromkeys(out))


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
    weights = class_tfidf(class_matrix(counts, classes, n_classes)) if n_classes else None
    texts = (documents["title"] + ". " + documents["abstract"]).map(term_text).to_numpy()
    ids = documents["id"].to_numpy()
    rows, used = [], set()
    for c in range(n_classes):
        members = np.flatnonzero(classes == c)
        terms, term_weights = top_terms(weights[c], counts, members, embeddings, config)
        sample = " ".join(texts[members[:300]])
        label = _distinct(
            [surface_form(p, sample) for p in phrase_candidates(terms, term_weights)],
            used, fallback=f"{level.title()} {c}",
        )
        reps, _ = representatives(embeddings, members, ids, top_n=config.n_representatives)
        rows.append({
            "level": level, "id": c, "label": label, "terms": terms, "weights": term_weights,
            "size": len(members),
            "x": float(np.median(documents["x"].to_numpy()[members])) if len(members) else 0.0,
            "y": float(np.median(documents["y"].to_numpy()[members])) if len(members) else 0.0,
            "representative_ids": reps,
        })
    return pd.DataFrame(rows)


def _distinct(candidates: list[str], used: set[str], *, fallback: str) -> str:
    for candidate in candidates:
        if candidate.casefold() not in used:
            used.add(candidate.casefold())
            return candidate
    base = candidates[0] if candidates else fallback
    n = 2
    while f"{base} ({n})".casefold() in used:
        n += 1
    used.add(f"{base} ({n})".casefold())
    return f"{base} ({n})"
