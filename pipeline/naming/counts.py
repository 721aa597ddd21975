"""Phrase counts: which papers use which phrase, the raw material of topic names.

:func:`count_phrases` learns a vocabulary of phrases (1..``max_ngram`` words,
``pipeline.naming.phrases``) from the papers and returns a binary papers x phrases
matrix; :func:`count_with_vocabulary` counts over a saved vocabulary,
tokenised the same way (updates, and the Ray engine's partitions, whose
vocabulary comes from its sample). Presence is binary: a name is judged by
how many papers use it, not by how often one paper repeats it.

:class:`SavedPhrases` are the corpus totals a map keeps (``pipeline.engines.fitted``), so
that ``update`` can rename one node without recounting the corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import sparse

from .phrases import ACADEMIC_STOP_WORDS, phrase_keys, term_text

__all__ = [
    "ACADEMIC_STOP_WORDS",
    "PhraseCounts",
    "SavedPhrases",
    "count_phrases",
    "count_with_vocabulary",
    "min_papers",
    "term_text",
]


@dataclass
class PhraseCounts:
    """A binary papers x phrases matrix (CSR, float32) and its vocabulary (folded phrases)."""

    matrix: sparse.csr_matrix
    vocabulary: np.ndarray

    @property
    def n_words(self) -> np.ndarray:
        """Words per phrase."""
        return np.array([str(t).count(" ") + 1 for t in self.vocabulary], dtype=np.int64)

    @property
    def doc_freq(self) -> np.ndarray:
        """Papers using each phrase."""
        return np.asarray(self.matrix.sum(axis=0), dtype=np.float64).ravel()


@dataclass
class SavedPhrases:
    """Corpus phrase totals a map keeps, enough to rename one node as a build would.

    ``frequency``: papers using each phrase among those in any node of the layer;
    ``document_frequency``: papers using each phrase; ``n_documents``: all papers.
    """

    vocabulary: np.ndarray
    frequency: np.ndarray
    document_frequency: np.ndarray
    n_documents: int


def paper_texts(papers) -> list[str]:
    """The text whose phrases are counted for each paper (a frame with ``title`` and
    ``abstract``): ``title + ". " + abstract``."""
    return (papers["title"] + ". " + papers["abstract"]).tolist()


def min_papers(n: int) -> int:
    """Papers a phrase needs to enter the vocabulary: 1 under 200 papers, 2 under 5,000,
    then 3 (no node name rests on fewer)."""
    return 1 if n < 200 else 2 if n < 5000 else 3


def _vectorizer(max_ngram: int, **options):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer=partial(phrase_keys, max_ngram=max_ngram), binary=True,
                           dtype=np.float32, **options)


def count_phrases(texts: Sequence[str], *, max_ngram: int = 3) -> PhraseCounts:
    """Which of ``texts`` use which phrase, over a vocabulary learnt from them."""
    n = len(texts)
    vectorizer = _vectorizer(max_ngram, min_df=min_papers(n))
    try:
        matrix = vectorizer.fit_transform(list(texts))
    except ValueError:  # empty vocabulary: only stop words or symbols
        return PhraseCounts(sparse.csr_matrix((n, 0), dtype=np.float32), np.array([], dtype=str))
    vocabulary = vectorizer.get_feature_names_out()
    keep = np.flatnonzero([len(t) > 2 for t in vocabulary])
    return PhraseCounts(matrix[:, keep].tocsr(), vocabulary[keep])


def count_with_vocabulary(texts: Sequence[str], vocabulary: np.ndarray,
                          max_ngram: int) -> sparse.csr_matrix:
    """Binary papers x phrases matrix of ``texts`` over a fixed vocabulary."""
    index = {str(t): i for i, t in enumerate(vocabulary)}
    indptr, indices = [0], []
    for text in texts:  # what CountVectorizer(analyzer=phrase_keys, binary=True) gives
        indices.extend(sorted({index[key] for key in phrase_keys(text, max_ngram=max_ngram)
                               if key in index}))
        indptr.append(len(indices))
    return sparse.csr_matrix((np.ones(len(indices), dtype=np.float32),
                              np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
                             shape=(len(texts), len(vocabulary)))
