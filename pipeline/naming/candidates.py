"""Name candidates for the nodes of one layer, measured from the phrase counts alone.

For every node a pool of phrases its papers write, each with:

- ``R``: the share of the node's papers using every word of the phrase (for a phrase of
  several words, :func:`pipeline.naming.rank.score` also weighs the share using it verbatim,
  ``R_phrase``, so two words that merely co-occur do not pass for a term);
- ``C``: the same share among the node's siblings, half pooled and half in the closest
  sibling (two sibling robotics nodes cannot both be "Robot");
- ``breadth`` and ``field``: for a node with children (``pipeline.naming.umbrella``);
- ``spec_support``/``spec_contrast``: the same for the phrase's rarest word alone (what the
  benchmark calls the name's most specific term).

:class:`PhraseIndex` holds the word structure of the vocabulary (each phrase's words, its
rarest word, the longer phrases that contain it) and which papers use all of a phrase's
words. Everything stays sparse: a dense nodes x phrases array would not fit at 100,000
papers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from .counts import PhraseCounts
from .phrases import GENERIC, adjective_like


class PhraseIndex:
    """The word structure of a phrase vocabulary and the papers behind each phrase."""

    def __init__(self, counts: PhraseCounts, *, doc_freq: np.ndarray | None = None,
                 n_papers: int | None = None) -> None:
        """``doc_freq``/``n_papers``: the corpus's, when ``counts`` cover only some papers."""
        self.vocabulary = np.asarray(counts.vocabulary).astype(str)
        self.n_papers = counts.matrix.shape[0] if n_papers is None else int(n_papers)
        self.n_words = counts.n_words
        self.doc_freq = counts.doc_freq if doc_freq is None else np.asarray(doc_freq, float)
        self.index = {t: i for i, t in enumerate(self.vocabulary)}
        self.words: list[list[int]] = []
        self.rarest = np.zeros(len(self.vocabulary), dtype=np.int64)
        self.longer: dict[int, list[int]] = {}
        before = np.zeros(len(self.vocabulary))
        after = np.zeros(len(self.vocabulary))
        for i, phrase in enumerate(self.vocabulary):
            parts = phrase.split()
            ids = [j for j in (self.index.get(w, -1) for w in parts) if j >= 0] or [i]
            self.words.append(ids)
            self.rarest[i] = min(ids, key=lambda j: self.doc_freq[j])
            if len(parts) > 1:
                for sub in (" ".join(parts[:-1]), " ".join(parts[1:])):
                    j = self.index.get(sub)
                    if j is not None:
                        self.longer.setdefault(j, []).append(i)
            if len(parts) == 2:
                a, b = self.index.get(parts[0]), self.index.get(parts[1])
                if a is not None:
                    before[a] += self.doc_freq[i]
                if b is not None:
                    after[b] += self.doc_freq[i]
        #: How often a word modifies the next one ("pose" of "pose estimation") rather than
        #: ending a phrase: a word mostly used as a modifier is an incomplete name.
        self.modifier = before / np.maximum(before + after, 1.0)
        csc = counts.matrix.tocsc()
        csc.sort_indices()
        self._indptr, self._indices = csc.indptr, csc.indices
        self.matrix = counts.matrix
        self._papers: dict[int, np.ndarray] = {}

    def papers(self, term: int) -> np.ndarray:
        """Sorted ids of the papers using every word of ``term``."""
        hit = self._papers.get(term)
        if hit is None:
            ids = sorted(self.words[term], key=lambda w: self._indptr[w + 1] - self._indptr[w])
            hit = self._indices[self._indptr[ids[0]]:self._indptr[ids[0] + 1]]
            for w in ids[1:]:
                hit = np.intersect1d(hit, self._indices[self._indptr[w]:self._indptr[w + 1]],
                                     assume_unique=True)
            self._papers[term] = hit
        return hit

    def papers_of(self, column: int) -> np.ndarray:
        """Sorted ids of the papers using the phrase ``column`` itself."""
        return self._indices[self._indptr[column]:self._indptr[column + 1]]

    def uses(self, rows: np.ndarray, term: int) -> np.ndarray:
        """Which of ``rows`` (sorted paper ids) use every word of ``term``."""
        hit = self.papers(term)
        if not len(hit):
            return np.zeros(len(rows), dtype=bool)
        at = np.minimum(np.searchsorted(hit, rows), len(hit) - 1)
        return hit[at] == rows

    def node_counts(self, nodes: np.ndarray, n_nodes: int, term: int) -> np.ndarray:
        """Papers of each node of a layer that use every word of ``term``."""
        of = nodes[self.papers(term)]
        return np.bincount(of[of >= 0], minlength=n_nodes).astype(np.float64)


@dataclass
class Node:
    """A node of a layer: its papers, parent, siblings and children (ids in their layers)."""

    layer: int
    id: int
    members: np.ndarray
    parent: int
    siblings: list[int]
    children: list[int] = field(default_factory=list)
    leaves: list[int] = field(default_factory=list)  # descendants at the finest layer

    @property
    def broad(self) -> bool:
        """A node with two or more leaves (finest descendants) is named for what they share
        (an only child of a node with several children is broad too)."""
        return self.layer > 0 and len(self.leaves) > 1


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def build_tree(layers: Sequence[np.ndarray], parents: Sequence[np.ndarray | None],
               n_nodes: Sequence[int] | None = None) -> list[list[Node]]:
    """The nodes of every layer (finest first) with their siblings and children.

    Siblings are the other children of a node's parent; at the top layer the other top
    nodes; an only child is compared with the rest of its layer.
    """
    tree: list[list[Node]] = []
    for k, nodes in enumerate(layers):
        n = int(nodes.max()) + 1 if len(nodes) and nodes.max() >= 0 else 0
        n = max(n, n_nodes[k]) if n_nodes is not None else n
        top = k == len(layers) - 1 or parents[k] is None
        parent = np.zeros(n, dtype=np.int64) if top else np.asarray(parents[k], dtype=np.int64)
        order = np.argsort(nodes, kind="stable")
        bounds = np.searchsorted(nodes[order], np.arange(n + 1))
        row = []
        for c in range(n):
            siblings = [s for s in np.flatnonzero(parent == parent[c]) if s != c] or \
                [s for s in range(n) if s != c]
            row.append(Node(k, c, np.sort(order[bounds[c]:bounds[c + 1]]),
                            -1 if top else int(parent[c]), [int(s) for s in siblings]))
        if k:
            for child in tree[k - 1]:
                if child.parent >= 0:
                    row[child.parent].children.append(child.id)
                    row[child.parent].leaves.extend(child.leaves)
        else:
            for node in row:
                node.leaves = [node.id]
        tree.append(row)
    return tree


def indicator(nodes: np.ndarray, n_nodes: int) -> sparse.csr_matrix:
    """Sparse nodes x papers membership (papers at node -1 belong to none)."""
    rows = np.flatnonzero(nodes >= 0)
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (nodes[rows], rows)),
                             shape=(n_nodes, len(nodes)))


@dataclass
class LayerCounts:
    """Papers per node using each phrase (sparse, nodes x phrases) for one layer."""

    nodes: np.ndarray
    papers: sparse.csr_matrix
    sizes: np.ndarray

    @classmethod
    def of(cls, index: PhraseIndex, nodes: np.ndarray, n_nodes: int) -> LayerCounts:
        papers = (indicator(nodes, n_nodes) @ index.matrix).tocsr()
        sizes = np.bincount(nodes[nodes >= 0], minlength=n_nodes).astype(np.float64)
        return cls(nodes, papers, sizes)


def node_rates(node: Node, counts: LayerCounts
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per phrase: the node's share of papers using it verbatim, its siblings' share
    (half pooled, half the closest sibling's), the pooled share alone, and the siblings
    big enough to be the closest (>= 5 papers and 2% of the siblings)."""
    rate = counts.papers[node.id].toarray().ravel() / max(len(node.members), 1)
    siblings = np.array(node.siblings, dtype=np.int64)
    sizes = counts.sizes
    if not len(siblings):
        zeros = np.zeros_like(rate)
        return rate, zeros, zeros, siblings
    big = siblings[sizes[siblings] >= max(5, 0.02 * sizes[siblings].sum())]
    pooled = np.asarray(counts.papers[siblings].sum(axis=0)).ravel() / max(
        sizes[siblings].sum(), 1)
    closest = (sparse.diags(1.0 / np.maximum(sizes[big], 1)) @ counts.papers[big]).max(
        axis=0).toarray().ravel() if len(big) else pooled
    return rate, 0.5 * pooled + 0.5 * closest, pooled, big


def candidate_pool(node: Node, counts: LayerCounts, index: PhraseIndex, config) -> list[dict]:
    """The candidates for a node named for its own papers, scored from the counts, best
    first."""
    m = len(node.members)
    if m == 0:
        return []
    rate, contrast, pooled, big = node_rates(node, counts)
    df = rate * m
    floor = max(2.0, config.min_phrase_share * m) if m >= 10 else 2.0 if m >= 4 else 1.0
    usable = (df >= floor) & (index.n_words <= config.max_ngram)
    pool = np.flatnonzero(usable) if usable.any() else np.flatnonzero(df > 0)
    rarest = index.rarest[pool]
    first = rate[rarest] - contrast[rarest]  # the all-words share is at most the rarest word's
    pool = pool[np.argsort(-first, kind="stable")[:2 * config.pool]]
    keep = [int(t) for t in pool if not fragment(int(t), df, index, config)]
    extra = _completions(keep[:config.pool // 2], df, floor, index, config)
    return [candidate(t, index, node, counts, config, rate=rate, pooled=pooled, big=big)
            for t in dict.fromkeys(keep[:config.pool] + extra)]


def fragment(term: int, df: np.ndarray, index: PhraseIndex, config, skip=None) -> bool:
    """A phrase mostly used inside one longer phrase ("markov decision" of "markov decision
    process") is a fragment; longer phrases for which ``skip`` is true do not count."""
    longer = [j for j in index.longer.get(term, []) if skip is None or not skip(j)]
    return bool(longer) and max(df[j] for j in longer) >= config.fragment_ratio * df[term]


def _completions(heads: list[int], df: np.ndarray, floor: float, index: PhraseIndex,
                 config) -> list[int]:
    """Longer phrases that complete the best heads ("reinforcement" -> "reinforcement
    learning") when most of the head's papers write them."""
    out = []
    for term in heads:
        for longer in index.longer.get(term, []):
            if df[longer] >= max(floor, config.extend_ratio * df[term]) and longer not in heads:
                out.append(longer)
                out += [j for j in index.longer.get(longer, [])
                        if df[j] >= max(floor, config.extend_ratio * df[longer])]
    return out


def candidate(term: int, index: PhraseIndex, node: Node, counts: LayerCounts, config, *,
              rate: np.ndarray, pooled: np.ndarray, big: np.ndarray, breadth: float = 1.0,
              field: float = 0.0) -> dict:
    """One candidate's record: its measurements, and whether it may name the node."""
    m = len(node.members)
    on = index.node_counts(counts.nodes, len(counts.sizes), term)
    siblings = node.siblings
    sizes = counts.sizes
    contrast = 0.0
    if siblings:  # as node_rates: with no sibling big enough, the pooled share stands in
        pooled_share = on[siblings].sum() / max(sizes[siblings].sum(), 1)
        closest = (on[big] / sizes[big]).max() if len(big) else pooled_share
        contrast = 0.5 * pooled_share + 0.5 * closest
    share = float(on[node.id] / max(m, 1))
    word = index.rarest[term]
    key = str(index.vocabulary[term])
    n_words = int(index.n_words[term])
    single = n_words == 1
    broad = node.broad
    lift = share * index.n_papers / max(index.doc_freq[term], 1.0)  # over the whole corpus
    common = index.doc_freq[term] > config.single_word_max_df * index.n_papers and not (
        broad and lift >= min(config.concentration, 0.5 * index.n_papers / max(m, 1)))
    generic = single and (key in GENERIC or adjective_like(key) or common)
    if broad:
        eligible = (share >= config.min_support_broad and breadth >= config.min_breadth
                    and share >= config.broad_precision * contrast)
    else:
        eligible = share >= config.min_support
    return {"term": term, "key": key, "n_words": n_words, "broad": broad,
            "modifier": float(index.modifier[term]) if single else 0.0, "generic": generic,
            "eligible": bool(eligible and not generic), "R": share, "R_phrase": float(rate[term]),
            "C": float(contrast), "breadth": float(breadth), "field": float(field),
            "spec_support": float(rate[word]),
            "spec_contrast": 1.0 - float(pooled[word]) if siblings else 1.0}
