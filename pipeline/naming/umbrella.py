"""Umbrella names for broad nodes: what the node's children share, not what one of them says.

A node with two or more children ("Computer vision" over segmentation, 3-D vision,
faces ...) is rarely named by a phrase most of its papers write; the phrases most of
them write are either generic ("image", "model") or a child's own topic ("semantic
segmentation"). An umbrella phrase is instead one that is

- **spread** evenly over the node's finest-layer descendants (``breadth``: the share of
  the node, by size, whose leaves use the phrase about as often as the node as a whole;
  a phrase from a distinctive minority has low breadth),
- **rare among its siblings** (``R >= broad_precision * C``), and
- written **as a field**: the corpus writes "computer vision tasks", "the NLP
  community", "robotics applications" (``field``: the share of the phrase's papers that
  write it before one of :data:`FIELD_NOUNS`; a mined vocabulary of field names).

When no phrase passes, or the best one is weak and the node's largest children's names
together mean the node at least as well (cosine to its centroid), the naming joins those
names ("A and B", "A, B and C": as few children as hold half its papers, each well named
and :func:`related` to the largest); otherwise the best candidate names it, marked weak.
"""

from __future__ import annotations

import numpy as np

from .candidates import LayerCounts, Node, PhraseIndex, candidate, fragment, node_rates

#: Nouns a field name comes before when the corpus writes it as a field ("NLP tasks",
#: "the computer vision community", "robotics applications").
FIELD_NOUNS = ("task", "application", "community", "research", "researcher", "literature",
               "problem")


class Fieldness:
    """How much of a phrase's use is as the name of a field (cached per phrase)."""

    def __init__(self, index: PhraseIndex) -> None:
        self.index = index
        self._cache: dict[int, float] = {}

    def as_field(self, term: int) -> bool:
        """Whether the phrase is a field name followed by its field noun ("NLP tasks")."""
        words = str(self.index.vocabulary[term]).split()
        return len(words) > 1 and words[-1] in FIELD_NOUNS

    def __call__(self, term: int) -> float:
        """Share of the papers using the phrase (or its last words, "language processing"
        for "natural language processing") that write it before a field noun."""
        if term not in self._cache:
            key = str(self.index.vocabulary[term])
            words = key.split()
            best = 0.0
            for part in {key, " ".join(words[1:])} - {""}:
                j = self.index.index.get(part)
                if j is None:
                    continue
                with_noun = sum(self.index.doc_freq[n] for n in (
                    self.index.index.get(f"{part} {noun}") for noun in FIELD_NOUNS)
                    if n is not None)
                best = max(best, min(with_noun / max(self.index.doc_freq[j], 1.0), 1.0))
            self._cache[term] = best
        return self._cache[term]


def umbrella_pool(node: Node, counts: LayerCounts, finest: LayerCounts, index: PhraseIndex,
                  field: Fieldness, config) -> list[dict]:
    """Candidates for a broad node's name, scored from the counts alone, best first."""
    m = len(node.members)
    rate, contrast, pooled, big = node_rates(node, counts)
    df = rate * m
    floor = max(3.0, 0.02 * m)
    usable = (df >= floor) & (index.n_words <= config.max_ngram) & (rate >= 1.5 * contrast)
    pool = np.flatnonzero(usable)
    if not len(pool):
        return []
    breadth = spread(node, finest, pool, rate[pool])
    field_share = np.array([field(int(t)) for t in pool])
    first = (breadth ** 2 * np.sqrt(np.maximum(rate[pool] - contrast[pool], 0.0))
             * (1.0 + config.field_weight * field_share)
             * (1.0 + config.phrase_bonus * (index.n_words[pool] - 1)))
    order = [i for i in np.argsort(-first, kind="stable")[:2 * config.pool]
             if not fragment(int(pool[i]), df, index, config, skip=field.as_field)
             and not field.as_field(int(pool[i]))][:config.pool]
    out = []
    for t, b, f in zip(pool[order], breadth[order], field_share[order], strict=True):
        out.append(candidate(int(t), index, node, counts, config, rate=rate, pooled=pooled,
                             big=big, breadth=float(b), field=float(f)))
    return out


def spread(node: Node, finest: LayerCounts, terms: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Breadth of each of ``terms`` over the node's leaves: the size-weighted share of
    leaves using it, each counted up to the node's own rate (1: spread evenly)."""
    leaves = np.asarray(node.leaves, dtype=np.int64)
    sizes = finest.sizes[leaves]
    if not len(leaves) or sizes.sum() == 0:
        return np.ones(len(terms))
    leaf_rates = finest.papers[leaves][:, terms].toarray() / np.maximum(sizes[:, None], 1)
    capped = np.minimum(leaf_rates / np.maximum(rate[None, :], 1e-9), 1.0)
    return (sizes[:, None] * capped).sum(axis=0) / sizes.sum()


def related(centroids: np.ndarray, a: int, b: int) -> bool:
    """Whether nodes ``a`` and ``b`` of a layer are close in meaning: closer to each other
    than either is, on average, to the nodes of their layer."""
    closeness = float(centroids[a] @ centroids[b])
    typical = max(float(np.mean(centroids @ centroids[a])), float(np.mean(centroids @ centroids[b])))
    return closeness > typical
