"""Search a map's papers: by their words (BM25 over title and abstract), by meaning (the
map's embeddings), and both fused by reciprocal rank (hybrid). No streamlit.

- :class:`KeywordIndex`: BM25 weights of every paper's words, built once per map (the app
  keeps one per map and process). A few lines over ``scipy.sparse`` and scikit-learn's
  counting, both already dependencies (a BM25 library would add a package to save
  twenty lines); words are stemmed with the Snowball English stemmer
  (``snowballstemmer``), which measured +0.04 recall@10 over folding plurals by hand.
  A query is the sum of a few columns.
- :func:`keyword_ranking`, :func:`embedding_ranking`: each method's top papers among
  ``rows`` (the papers a filter lets through).
- :func:`hybrid_ranking`: reciprocal rank fusion of the two (Cormack et al. 2009: each
  paper scores ``sum 1 / (k + rank)`` over the rankings it is in), so a paper that says
  the query's words and one that means it both come up, and one that does both first.
- :class:`MatchScale`: how close in meaning a paper is, put on a scale a reader can compare
  across queries and maps (against how close this map's own titles are to their nearest
  other paper), and whether the best match is weak.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import sparse

from .view import semantic_search

#: BM25's saturation and length normalisation (the usual defaults).
K1, B = 1.2, 0.75
#: Reciprocal rank fusion's constant, and how deep each ranking is read for it.
RRF_K, FUSE_DEPTH = 60, 100
_WORD = re.compile(r"(?u)\b\w\w+\b")


def _english_stop_words() -> frozenset[str]:
    from pipeline.naming.phrases import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    import snowballstemmer

    return snowballstemmer.stemmer("english").stemWord


@lru_cache(maxsize=200_000)
def normalise_word(word: str) -> str:
    """A word as the index keeps it: lower case, stemmed by the Snowball English stemmer
    ("attacks" and "attack" are one word, "federated" and "federation" another)."""
    return _stemmer()(word.lower())


def words(text: str, stop: frozenset[str] | None = None) -> list[str]:
    """The index's words of ``text``: lower-case words of two or more characters, English
    stop words dropped, stemmed (:func:`normalise_word`)."""
    stop = _english_stop_words() if stop is None else stop
    return [normalise_word(w) for w in _WORD.findall(str(text).lower()) if w not in stop]


@dataclass(frozen=True)
class KeywordIndex:
    """BM25 over the papers' words: ``weights[i, j]`` is word ``j``'s BM25 weight in paper
    ``i`` (its idf times its saturated, length-normalised count)."""

    vocabulary: dict[str, int]
    weights: sparse.csc_matrix

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = K1, b: float = B) -> KeywordIndex:
        """The index of ``texts`` (one per paper, in map order)."""
        from sklearn.feature_extraction.text import CountVectorizer

        stop = _english_stop_words()
        counter = CountVectorizer(analyzer=lambda text: words(text, stop), dtype=np.float32)
        counts = sparse.csr_matrix(counter.fit_transform(texts), dtype=np.float32)
        n = counts.shape[0]
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        average = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        tf = counts.data
        norm = np.repeat(k1 * (1 - b + b * lengths / average), np.diff(counts.indptr))
        counts.data = (idf[counts.indices] * tf * (k1 + 1) / (tf + norm)).astype(np.float32)
        return cls({str(w): int(i) for w, i in counter.vocabulary_.items()}, counts.tocsc())

    def query_terms(self, query: str) -> np.ndarray:
        """The columns of the query's words that some paper has (each once)."""
        found = {self.vocabulary[w] for w in words(query) if w in self.vocabulary}
        return np.fromiter(sorted(found), dtype=np.int64)

    def scores(self, query: str) -> np.ndarray:
        """Every paper's BM25 score for ``query`` (0 for a paper with none of its words)."""
        terms = self.query_terms(query)
        if not len(terms):
            return np.zeros(self.weights.shape[0], dtype=np.float32)
        return np.asarray(self.weights[:, terms].sum(axis=1), dtype=np.float32).ravel()

    def matched(self, query: str, row: int) -> list[str]:
        """The query's words that paper ``row`` has."""
        wanted = [w for w in dict.fromkeys(words(query)) if w in self.vocabulary]
        return [w for w in wanted if self.weights[row, self.vocabulary[w]] > 0]


def paper_texts(documents: pd.DataFrame) -> list[str]:
    """What the keyword index reads of each paper: its title and abstract."""
    return (documents["title"].fillna("").astype(str) + " "
            + documents["abstract"].fillna("").astype(str)).tolist()


def _top(candidates: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``candidates`` by ``scores`` (ties by row), best first."""
    order = np.lexsort((candidates, -scores))[:k]
    return candidates[order], scores[order]


def keyword_ranking(index: KeywordIndex, query: str, rows: np.ndarray | None = None, *,
                    k: int = FUSE_DEPTH) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` papers of ``rows`` (all when None) with the highest BM25 score for
    ``query``, and their scores; papers without any of its words are left out."""
    scores = index.scores(query)
    candidates = np.arange(len(scores)) if rows is None else np.asarray(rows, dtype=np.int64)
    mine = scores[candidates]
    keep = mine > 0
    return _top(candidates[keep], mine[keep], k)


def embedding_ranking(embeddings: np.ndarray, vector: np.ndarray,
                      rows: np.ndarray | None = None, *, k: int = FUSE_DEPTH,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` papers of ``rows`` nearest ``vector`` in meaning (cosine), and it."""
    return semantic_search(embeddings, vector, k=k, rows=rows)


def fuse(rankings: Sequence[np.ndarray], *, k: int = RRF_K) -> tuple[np.ndarray, np.ndarray]:
    """Reciprocal rank fusion: every row of any ranking scored ``sum 1 / (k + rank)`` (rank
    from 1), best first (ties: the better best rank, then the row)."""
    score: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking in rankings:
        for rank, row in enumerate(np.asarray(ranking, dtype=np.int64).tolist(), start=1):
            score[row] = score.get(row, 0.0) + 1.0 / (k + rank)
            best[row] = min(best.get(row, rank), rank)
    ordered = sorted(score, key=lambda r: (-score[r], best[r], r))
    return (np.asarray(ordered, dtype=np.int64),
            np.asarray([score[r] for r in ordered], dtype=np.float64))


@dataclass(frozen=True)
class Hits:
    """A search's results, best first: rows, their cosine to the query, and whether each
    holds the query's words."""

    rows: np.ndarray
    similarity: np.ndarray
    keyword: np.ndarray  # bool per hit


def hybrid_ranking(index: KeywordIndex, embeddings: np.ndarray, query: str,
                   vector: np.ndarray, rows: np.ndarray | None = None, *, k: int = 10,
                   depth: int = FUSE_DEPTH) -> Hits:
    """The ``k`` best papers of ``rows`` for ``query`` (its words) and ``vector`` (its
    meaning): the two rankings, ``depth`` deep, fused by reciprocal rank. With no paper
    holding any of its words, the ranking by meaning alone."""
    by_words, _ = keyword_ranking(index, query, rows, k=depth)
    by_meaning, _ = embedding_ranking(embeddings, vector, rows, k=depth)
    found, _ = fuse([by_meaning, by_words] if len(by_words) else [by_meaning])
    found = found[:k]
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    similarity = (np.asarray(embeddings[found], dtype=np.float32) @ vector
                  if len(found) else np.empty(0, dtype=np.float32))
    return Hits(found, similarity, np.isin(found, by_words))


@dataclass(frozen=True)
class MatchScale:
    """How close in meaning a match is, on a scale a reader can compare: the share of
    this map's reference matches (a title's cosine to the nearest *other* paper: how
    close a short description comes to a related paper here) that it beats."""

    reference: np.ndarray  # sorted cosines
    weak_below: float = 0.1  # a best match beating fewer than this share is weak

    def strength(self, similarity: float | np.ndarray) -> np.ndarray:
        """0-100: the share (percent) of reference matches below ``similarity``."""
        ref = self.reference
        if not len(ref):
            return np.full(np.shape(similarity), 50.0)
        return 100.0 * np.searchsorted(ref, np.asarray(similarity, dtype=float)) / len(ref)

    def weak(self, similarity: float) -> bool:
        return bool(self.strength(similarity) < 100 * self.weak_below)


def reference_matches(titles: Sequence[str], embeddings: np.ndarray,
                      embed: Callable[[list[str]], np.ndarray], *, n: int = 200,
                      seed: int = 0) -> np.ndarray:
    """Sorted cosines of ``n`` titles (a fixed random sample) to the nearest paper other
    than their own, the titles embedded with ``embed`` (the map's query model)."""
    count = len(titles)
    if count < 2:
        return np.empty(0)
    pick = np.sort(np.random.default_rng(seed).permutation(count)[:n])
    vectors = np.asarray(embed([str(titles[i]) for i in pick]), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = vectors @ np.asarray(embeddings, dtype=np.float32).T
    sims[np.arange(len(pick)), pick] = -np.inf  # not its own paper
    return np.sort(sims.max(axis=1).astype(float))
