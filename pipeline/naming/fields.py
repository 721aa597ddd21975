"""Field names from the vocabulary as candidates for a node's name, confirmed by its papers.

For every node, the entries of the field vocabulary (``pipeline.naming.vocabulary``)
nearest its papers in meaning are candidates: nearest the node's centroid with the map's
model, less each entry's mean similarity to the whole corpus (a *hubness* correction:
"Surgery" is near every medical paper and names none of them). An entry stays a candidate
only where the node's own words confirm it (:func:`confirmation`):

- its papers write the entry's characteristic terms (a subfield's keywords, a category's
  listed subjects) or a word of its name (stemmed: "robotics" by "robot", "oncology" by
  "oncologic"), counting only terms the node writes at least twice as often as its
  siblings (a term every sibling writes confirms nothing);
- at a node with children, that evidence is spread over its leaves (``breadth``: a field
  name must fit the whole node, not one part of it).

A node's leaves are named by what their papers write: there a vocabulary name must also
be written by them (its most specific word, as for a phrase). The entries then compete
with the extractive phrases under one judgement (``pipeline.naming.judge``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from .candidates import Node, PhraseIndex
from .judge import Name, key_of
from .phrases import content_words, fold
from .vocabulary import Vocabulary

#: Kinds of entries that may name a node (topics only when short: a long topic name is a
#: description, not a name).
NAMING_KINDS = ("field", "subfield", "category", "part", "alias", "topic")
#: What joins the terms of a name ("A and B", "A, B", "A/B").
JOINS = re.compile(r"\s*(?:&|,|;|/|\band\b)\s*")
#: Stems shorter than this are the word itself.
STEM = 6
#: Every word of a field's name is written by at least this share of a node's papers for
#: the name's words to confirm it.
WRITTEN = 0.03


def stem(word: str) -> str:
    """A crude stem: the first letters of a folded word ("robotics", "robotic", "robot"
    -> "robot"; "oncology", "oncologic" -> "oncolo")."""
    return word[:STEM] if len(word) > STEM else word


class TermIndex:
    """Which papers write which vocabulary term or name word, over a map's phrase index."""

    def __init__(self, index: PhraseIndex) -> None:
        self.index = index
        self.n_papers = index.matrix.shape[0]
        self._stems: dict[str, list[int]] | None = None

    def columns(self, terms: Sequence[str]) -> list[int]:
        """Phrase columns of ``terms`` the corpus writes."""
        return [j for j in (self.index.index.get(t) for t in terms) if j is not None]

    def stem_columns(self, word: str) -> list[int]:
        """Columns of the single words sharing ``word``'s stem, or that ``word`` starts
        with (five letters or more: "robot" for "robotics")."""
        if self._stems is None:
            self._stems = {}
            for j, phrase in enumerate(self.index.vocabulary):
                if " " not in phrase:
                    self._stems.setdefault(stem(phrase), []).append(j)
        shorter = [j for size in range(5, min(len(word), STEM))
                   if (j := self.index.index.get(word[:size])) is not None]
        return list(dict.fromkeys(self._stems.get(stem(word), []) + shorter))

    def share(self, rows: np.ndarray, column: int) -> float:
        """Share of ``rows`` (sorted paper ids) writing the phrase ``column`` itself."""
        if not len(rows):
            return 0.0
        hit = self.index.papers_of(column)
        if not len(hit):
            return 0.0
        at = np.minimum(np.searchsorted(hit, rows), len(hit) - 1)
        return float((hit[at] == rows).mean())

    def users(self, columns: Sequence[int]) -> np.ndarray:
        """Per paper: does it write any of ``columns``?"""
        out = np.zeros(self.n_papers, dtype=bool)
        for column in columns:
            out[self.index.papers_of(column)] = True
        return out


def entry_candidates(centroid: np.ndarray, corpus_mean: np.ndarray, vectors: np.ndarray,
                     allowed: np.ndarray, topics: np.ndarray, *, top: int) -> np.ndarray:
    """Rows of the entries nearest ``centroid`` after the hubness correction (the entry's
    similarity to the corpus mean subtracted), among ``allowed`` rows (``vectors``: theirs,
    in that order; ``topics``: which of them are topics): the ``top`` nearest fields
    (fields, subfields, categories and their short names) and the ``top`` nearest topics,
    so that the many specific topics do not crowd out the fields."""
    closeness = vectors @ (centroid - corpus_mean)
    order = np.argsort(-closeness, kind="stable")
    return np.concatenate([allowed[order[~topics[order]][:top]],
                           allowed[order[topics[order]][:top]]])


@lru_cache(maxsize=8)
def _allowed(vocabulary: Vocabulary, max_words: int) -> np.ndarray:
    return np.flatnonzero([kind in NAMING_KINDS and len(name.split()) <= max_words
                           and not name.lower().endswith((" and", " of", " in"))
                           for kind, name in zip(vocabulary.kinds, vocabulary.names,
                                                 strict=True)])


def allowed_entries(vocabulary: Vocabulary, terms: TermIndex, *, max_words: int) -> np.ndarray:
    """Rows of the entries that may name a node of this corpus: short enough, not cut off,
    and every word of the name written somewhere in the corpus (stemmed)."""
    rows = _allowed(vocabulary, max_words)
    return rows[[all(terms.stem_columns(w) for w in content_words(vocabulary.names[r]))
                 for r in rows]] if len(rows) else rows


def confirmation(terms: TermIndex, name: str, entry_terms: Sequence[str], node: Node,
                 sibling_rows: np.ndarray, leaves: Sequence[Node] | None
                 ) -> tuple[float, float, float, np.ndarray]:
    """How the node's own words confirm an entry: the share of its papers writing what the
    entry names, that share among its siblings, its ``breadth`` over the node's leaves,
    and which of the node's papers write it. Two kinds of evidence, the stronger counts:

    - the entry's terms the node writes at least twice as often as its siblings (a paper
      writing any of them);
    - the words of its name (stemmed), when the node writes every one of them (at least
      ``WRITTEN`` of its papers, and more often than its siblings): the share writing its
      most distinctive word, if the node writes that word at least twice as often as its
      siblings ("language" for "Natural language processing")."""
    members = node.members
    empty = (0.0, 0.0, 0.0, np.zeros(len(members), dtype=bool))
    if not len(members):
        return empty
    found = []
    distinct = [c for c in terms.columns(entry_terms)
                if (a := terms.share(members, c)) > 0 and a >= 2 * terms.share(sibling_rows, c)]
    if distinct:
        found.append(terms.users(distinct))
    words = [terms.users(terms.stem_columns(w)) for w in content_words(name)]

    def around(w: np.ndarray) -> float:
        return float(w[sibling_rows].mean()) if len(sibling_rows) else 0.0

    if words and all(w[members].mean() >= max(WRITTEN, 1.2 * around(w)) for w in words):
        best = max(words, key=lambda w: w[members].mean() - 2 * around(w))
        if best[members].mean() >= 2 * around(best):
            found.append(best)
    if not found:
        return empty
    users = max(found, key=lambda u: u[members].sum())
    share = float(users[members].mean())
    sibling_share = float(users[sibling_rows].mean()) if len(sibling_rows) else 0.0
    return share, sibling_share, spread(users, share, leaves), users[members]


def spread(users: np.ndarray, share: float, leaves: Sequence[Node] | None) -> float:
    """Size-weighted share of the leaves writing the terms about as often as the node (1:
    evenly spread; a field name confirmed by one part only has a low spread)."""
    if not leaves or share <= 0:
        return 1.0
    sizes = np.array([len(leaf.members) for leaf in leaves], dtype=float)
    rates = np.array([users[leaf.members].mean() if len(leaf.members) else 0.0
                      for leaf in leaves])
    return float((sizes * np.minimum(rates / share, 1.0)).sum() / max(sizes.sum(), 1.0))


def _weakest_share(index: PhraseIndex, name: str, members: np.ndarray,
                   column: Callable[[list[str]], int | None]) -> float:
    """Share of ``members`` using the phrase ``column`` picks from a term's folded words,
    for the name's least used term ("A and B": the weaker of A and B); 0 when a term has
    no column."""
    shares = []
    for part in JOINS.split(name):
        words = content_words(part)
        if not words:
            continue
        j = column(words)
        if j is None or not len(members):
            return 0.0
        shares.append(float(index.uses(members, j).mean()))
    return min(shares, default=0.0)


def word_support(index: PhraseIndex, name: str, members: np.ndarray) -> float:
    """Share of ``members`` writing the name's most specific word (its rarest in the
    corpus, folded; for a name joining terms, "A and B", its weakest term's): what the
    quality benchmark measures for a leaf's name."""

    def rarest(words: list[str]) -> int | None:
        found = [index.index.get(fold(w)) for w in words]
        return None if any(j is None for j in found) else \
            min(found, key=lambda j: index.doc_freq[j])

    return _weakest_share(index, name, members, rarest)


def phrase_support(index: PhraseIndex, name: str, members: np.ndarray) -> float:
    """Share of ``members`` using every word of the name (folded), counted where the corpus
    writes the name as a phrase somewhere (0 where it never does); for a name joining
    terms, "A and B", its least used term's. What the weak mark and the naming rules of
    ``pipeline.naming.rank`` call a name its papers write."""
    return _weakest_share(index, name, members, lambda words: index.index.get(" ".join(words)))


def vocabulary_names(node: Node, *, vocabulary: Vocabulary, vectors: np.ndarray,
                     rows: np.ndarray, terms: TermIndex, sibling_rows: np.ndarray,
                     leaves: Sequence[Node] | None, min_share: float, min_breadth: float,
                     min_word_support: float) -> list[Name]:
    """The entries ``rows`` as the node's candidate names, each confirmed (or not) by its
    papers (see the module's docstring)."""
    out, seen = [], set()
    for row in rows:
        name = vocabulary.names[row]
        if key_of(name) in seen:
            continue
        seen.add(key_of(name))
        share, around, breadth, users = confirmation(terms, name, vocabulary.terms[row], node,
                                                     sibling_rows, leaves)
        spec = word_support(terms.index, name, node.members)
        written = spec >= min_word_support  # a leaf's name, or a topic's anywhere
        eligible = share >= min_share and share >= 2 * around and (
            written if not node.broad or vocabulary.kinds[row] == "topic"
            else breadth >= min_breadth)
        out.append(Name(text=name, key=key_of(name), source=vocabulary.source(row),
                        vector=vectors[row][None, :], eligible=bool(eligible),
                        support=share, sibling_support=around, spec_support=spec,
                        breadth=breadth, users=users, kind=str(vocabulary.kinds[row]),
                        entry=f"{vocabulary.ids[row]} {vocabulary.originals[row]}"))
    return out


def add_fields(pools, tree, index: PhraseIndex, vocabulary, centroids, corpus_mean,
                config) -> None:
    """Add each node's nearest field names, confirmed (or not) by its words."""
    entries, entry_vectors = vocabulary
    terms = TermIndex(index)
    allowed = allowed_entries(entries, terms, max_words=config.max_name_words)
    allowed_vectors = entry_vectors[allowed]
    topics = entries.kinds[allowed] == "topic"
    for k, row in enumerate(tree):
        for node, pool in zip(row, pools[k], strict=True):
            if not len(node.members):
                continue
            rows = entry_candidates(centroids[k][node.id], corpus_mean, allowed_vectors,
                                    allowed, topics, top=config.vocabulary_shortlist)
            around = np.sort(np.concatenate([row[s].members for s in node.siblings])) \
                if node.siblings else np.zeros(0, dtype=np.int64)
            leaves = [tree[0][leaf] for leaf in node.leaves] if node.broad else None
            have = {n.key: n for n in pool}
            for name in vocabulary_names(
                    node, vocabulary=entries, vectors=entry_vectors, rows=rows, terms=terms,
                    sibling_rows=around, leaves=leaves, min_share=config.min_confirmation,
                    min_breadth=config.min_breadth, min_word_support=config.min_support):
                if name.key in have:
                    merge(have[name.key], name)
                else:
                    pool.append(name)


def merge(phrase: Name, field: Name) -> None:
    """A phrase its papers write that is also a field's name: one candidate, with the
    field's entry and the stronger evidence of the two (the field's source if its
    evidence is the stronger)."""
    phrase.entry, phrase.kind = field.entry, field.kind
    if field.eligible and field.support > phrase.support:
        phrase.source, phrase.users = field.source, field.users
        phrase.support, phrase.sibling_support = field.support, field.sibling_support
        phrase.breadth = max(phrase.breadth, field.breadth)
        phrase.eligible = True
