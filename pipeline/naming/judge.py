"""Judging a candidate name by the whole node: the papers it would gather.

Every candidate, a phrase the papers write or a field from the vocabulary, is judged the
same way, with the map's own model:

- **gather**: the node's papers and its siblings' are each given to the nearest name
  among this candidate and the siblings' current names (similarities less each name's mean
  similarity to the whole corpus, so that a name near everything gathers nothing by that
  alone; softly, ``TEMPERATURE``); ``gather`` is the share of the node's papers the
  candidate gets, ``precision`` the share of what it gets that is the node's. A name of a minority of the node loses
  the rest to the siblings' names; a name of a sibling's topic takes the sibling's papers.
- **meaning**: its similarity to the node's centroid, less its mean similarity to the
  corpus (``closeness``).
- **breadth**: at a node with children, how evenly its papers' evidence for the name
  (the words they write) is spread over the node's leaves (``pipeline.naming.umbrella``,
  ``pipeline.naming.fields``); 1 at a leaf.

``score = closeness x gather x breadth^2 x brevity``, scaled down in proportion where the
candidate takes more of its siblings' papers than it gathers of its own (``precision``
under ``min_precision``), and by ``OFF_TARGET`` where the name is nearer another node of
its layer than its own (``notes["retrieved"]``). :func:`judge_layer` judges every node of a layer against
its siblings' current best names, a few rounds, so that each name is chosen knowing its
neighbours'. On the blind readings (FINDINGS.md in the project's notes), ``gather`` and
``closeness`` each tell accepted from rejected names (AUC 0.74 and 0.72; names rated
misleading: 0.89 and 0.90).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .candidates import Node
from .phrases import content_words

#: Papers of a node, and of its siblings, compared in one judgement (a seeded sample).
SAMPLE = 1500
#: A paper goes to the names in proportion to exp(similarity / TEMPERATURE): nearly all
#: to the nearest when the names differ clearly, shared when two names are about as near
#: (two sibling nodes of one topic split its papers rather than one taking all).
TEMPERATURE = 0.02
#: A name nearer another node of its layer than its own (with the map's model) counts
#: this much: it would point a reader to the other node.
OFF_TARGET = 0.5


def key_of(name: str) -> str:
    """What makes two names the same name: their folded content words, in order."""
    return " ".join(content_words(name)) or name.strip().casefold()


@dataclass
class Name:
    """A candidate name of one node and how it was judged.

    ``vector`` holds one row per part (a joined name "A and B" has two); ``users`` says
    which of the node's papers write it (or the terms confirming it); ``support`` is that
    share, ``sibling_support`` the same among its siblings, ``spec_support`` the share
    writing its most specific word; ``source`` is where it came from ("phrase",
    "openalex", "arxiv", "children", "parts"); ``entry`` the vocabulary entry (id and
    original name) and ``kind`` its level ("field", "subfield", "category", "topic",
    ...; "phrase" for a name no entry has)."""

    text: str
    key: str
    source: str
    vector: np.ndarray | None
    eligible: bool
    support: float
    sibling_support: float
    spec_support: float
    breadth: float = 1.0
    users: np.ndarray | None = None
    entry: str = ""
    kind: str = "phrase"
    term: int | None = None
    parts: tuple[Name, ...] = ()
    count_score: float = 0.0
    closeness: float = 0.0
    gather: float = 0.0
    precision: float = 0.0
    score: float = 0.0
    notes: dict = field(default_factory=dict)

    @property
    def n_words(self) -> int:
        return len(self.text.split())


def brevity(name: Name, *, penalty: float, one_word: float) -> float:
    """Shorter names read better: each word past three costs ``penalty``; a lone word of
    the papers' (not a field's name) is multiplied by ``one_word``."""
    factor = 1.0 / (1.0 + penalty * max(0, name.n_words - 3))
    if name.n_words == 1 and name.source == "phrase" and not name.parts:
        factor *= one_word
    return factor


def contest(papers: np.ndarray, own: np.ndarray, corpus_mean: np.ndarray,
            names: Sequence[np.ndarray], rivals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``gather`` and ``precision`` of each of ``names`` (each one row per part) against
    ``rivals`` (one row per rival name's part) over ``papers`` (``own``: the node's)."""
    if not len(names):
        return np.zeros(0), np.zeros(0)
    stacked = np.concatenate(names)
    scores = papers @ stacked.T - corpus_mean @ stacked.T
    starts = np.cumsum([0] + [len(n) for n in names[:-1]])
    mine = np.maximum.reduceat(scores, starts, axis=1)
    if len(rivals):
        theirs = papers @ rivals.T - corpus_mean @ rivals.T
        top = np.maximum(theirs.max(axis=1, keepdims=True), mine)
        rest = np.exp((theirs[:, :, None] - top[:, None, :]) / TEMPERATURE).sum(axis=1)
        mine_weight = np.exp((mine - top) / TEMPERATURE)
        won = mine_weight / (mine_weight + rest)
    else:
        won = np.ones_like(mine)
    taken = won.sum(axis=0)
    gather = won[own].mean(axis=0) if own.any() else np.zeros(len(names))
    precision = np.where(taken > 0, won[own].sum(axis=0) / np.maximum(taken, 1e-9), 0.0)
    return gather, precision


def sample_rows(rows: np.ndarray, size: int, seed: int) -> np.ndarray:
    """At most ``size`` of ``rows``, a seeded sample (sorted)."""
    if len(rows) <= size:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size, replace=False))


def score(name: Name, *, penalty: float, one_word: float, min_precision: float,
          two_part_gain: float = 0.0) -> float:
    """The judgement's score (see the module's docstring); a joined name's gather counts
    ``two_part_gain`` less (it must gather clearly more than one name to be chosen)."""
    gather = max(name.gather - (two_part_gain if name.parts else 0.0), 0.0)
    precise = min(name.precision / min_precision, 1.0) if min_precision > 0 else 1.0
    aimed = 1.0 if name.notes.get("retrieved", True) else OFF_TARGET
    return max(name.closeness, 0.0) * gather * precise * aimed * name.breadth ** 2 * brevity(
        name, penalty=penalty, one_word=one_word)


def rank(names: list[Name], *, min_support: float = 0.0) -> list[Name]:
    """Names best first: eligible before not, then by score; of names none of which is
    eligible, those whose most specific word ``min_support`` of the papers write first."""
    return sorted(names, key=lambda n: (not n.eligible, n.spec_support < min_support, -n.score))


def judge_layer(row: Sequence[Node], names: list[list[Name]], vectors: np.ndarray,
                corpus_mean: np.ndarray, centroids: np.ndarray, *, rounds: int,
                min_precision: float, penalty: float, one_word: float,
                two_part_gain: float = 0.0, fallback_support: float = 0.0) -> list[float]:
    """Judge every node's names against its siblings' current best (in place: each list is
    left ranked best first). The first round's rivals are each sibling's closest name.
    Returns each node's ``reach``: what its own centroid would gather against its
    siblings' centroids (how much any name could gather; each name keeps it in
    ``notes["reach"]``)."""
    for node, pool in zip(row, names, strict=True):
        for name in pool:
            if name.vector is not None:
                name.closeness = float((name.vector @ (centroids[node.id] - corpus_mean)).max())
                meant = centroids @ name.vector.mean(axis=0)
                name.notes["retrieved"] = len(meant) < 2 or int(np.argmax(meant)) == node.id
        pool.sort(key=lambda n: (not n.eligible, -n.closeness))
    reach = [1.0] * len(row)
    for _ in range(rounds):
        best = [pool[0] if pool else None for pool in names]
        for node, pool in zip(row, names, strict=True):
            if not pool or not len(node.members):
                continue
            rivals = [best[s].vector for s in node.siblings
                      if best[s] is not None and best[s].vector is not None]
            around = np.concatenate([row[s].members for s in node.siblings]) \
                if node.siblings else np.zeros(0, dtype=np.int64)
            mine = sample_rows(node.members, SAMPLE, node.id)
            theirs = sample_rows(np.sort(around), SAMPLE, node.id + 1)
            papers = vectors[np.concatenate([mine, theirs])]
            own = np.arange(len(papers)) < len(mine)
            rival = np.concatenate(rivals) if rivals else np.zeros((0, vectors.shape[1]))
            reach[node.id] = float(contest(papers, own, corpus_mean, [centroids[node.id][None, :]],
                                           centroids[node.siblings])[0][0]) \
                if node.siblings else 1.0
            judged = [name for name in pool if name.vector is not None]
            gather, precision = contest(papers, own, corpus_mean, [n.vector for n in judged],
                                        rival)
            for name, g, p in zip(judged, gather, precision, strict=True):
                name.gather, name.precision = float(g), float(p)
                name.notes["reach"] = reach[node.id]
                name.score = score(name, penalty=penalty, one_word=one_word,
                                   min_precision=min_precision, two_part_gain=two_part_gain)
            pool[:] = rank(pool, min_support=fallback_support)
    return reach
