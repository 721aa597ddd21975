"""Terms: what labels are made of, and the c-TF-IDF weights that rank them.

Terms are 1- to 3-grams over the abstracts with English and academic
boilerplate stop words removed; a term must start with a letter, so numbers
never become labels, and LaTeX, URLs and markup tags are dropped first
(:func:`term_text`). :func:`count_terms` learns a vocabulary;
:func:`count_with_vocabulary` counts over a saved one, tokenised the same way
(updates and the Ray engine's partitions).

Weights are BERTopic's class-based TF-IDF, ``tf(t, c) * log(1 + A / f(t))``,
times the document-level IDF (:func:`class_tfidf`); :func:`class_weights` gives
one class's weights from saved corpus totals, without the other classes' rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

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




@dataclass
class SavedTerms:
    """Corpus term totals a map keeps, enough to weigh one class's terms as a build would.

    ``frequency``: each term's count over the papers in any class of the level;
    ``document_frequency``: papers using each term; ``n_documents``: all papers.
    """

    vocabulary: np.ndarray
    frequency: np.ndarray
    document_frequency: np.ndarray
    n_documents: int


def _vectorizer(max_ngram: int, **options):
    """The term counter: 1..max_ngram-grams, stop words out, lower case, float32 counts."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    return CountVectorizer(
        ngram_range=(1, max_ngram), stop_words=sorted(ENGLISH_STOP_WORDS | ACADEMIC_STOP_WORDS),
        token_pattern=_TOKEN_PATTERN, lowercase=True, dtype=np.float32, **options,
    )


def count_terms(texts: Sequence[str], *, max_ngram: int = 3) -> TermCounts:
    """Count 1..max_ngram-grams per document, dropping stop words and rare terms."""
    texts = [term_text(t) for t in texts]
    n = len(texts)
    min_df = 1 if n < 200 else 2 if n < 5000 else 3
    vectorizer = _vectorizer(max_ngram, min_df=min_df)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary: only stop words or symbols
        return TermCounts(sparse.csr_matrix((n, 0), dtype=np.float32), np.array([], dtype=str))
    vocabulary = vectorizer.get_feature_names_out()
    keep = np.array([len(t) > 2 or " " in t for t in vocabulary], dtype=bool)
    return TermCounts(matrix[:, keep].tocsr(), vocabulary[keep])


def count_with_vocabulary(texts: Sequence[str], vocabulary: np.ndarray, max_ngram: int):
    """Term counts of ``texts`` over a fixed vocabulary, tokenised as :func:`count_terms` does."""
    if not len(vocabulary):
        return sparse.csr_matrix((len(texts), 0), dtype=np.float32)
    vectorizer = _vectorizer(max_ngram, vocabulary={str(t): i for i, t in enumerate(vocabulary)})
    return vectorizer.transform([term_text(t) for t in texts]).tocsr()


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
