"""Naming the nodes of a topic hierarchy: names a researcher signs, judged by the whole node.

For every node of every layer (:func:`name_layers`):

1. **candidates**: phrases of 1-3 words its papers write (``pipeline.naming.candidates``;
   for a node with children, phrases spread over them, ``pipeline.naming.umbrella``),
   short-listed by their counts, without artefact words ("dataset", "benchmark") unless
   the node is about them; and the field names of the vocabulary nearest it, where its own
   words confirm them (``pipeline.naming.fields``);
2. **strands**: "A and B" from its two largest children, or from two of its own names
   written by different papers (``pipeline.naming.parts``);
3. **one judgement** for all of them (``pipeline.naming.judge``): the share of its papers
   each would gather against its siblings' names, its meaning (closeness to the node with
   the map's model) and breadth; layer by layer, finest first;
4. a node no name covers (the best gathers under ``mixed_gather``, or, below the broadest
   layer, under ``weak_written_broad`` of its papers use its best single name's words) is
   named by a list of its parts and marked mixed;
5. names are given top-down, as far as a node's candidates allow never the same name
   twice in the tree (a node holding ``same_node`` of its parent may repeat its name; one
   whose every candidate a broader node has keeps its best), and each gets its provenance
   and weak mark (``pipeline.naming.verdict``).

Without the map's model, the phrases' vectors are the mean vectors of the papers that
write them and the vocabulary is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .candidates import Node, PhraseIndex, build_tree, unit
from .fields import add_fields, phrase_support
from .judge import Name, judge_layer
from .parts import children_parts, joined, mixed_name, own_parts, part_of
from .shortlist import phrase_names
from .verdict import TAKEN, node_record
from .vocabulary import Vocabulary

PhraseEmbedder = Callable[[list[str]], np.ndarray]
__all__ = ["NamingConfig", "assign_unique", "build_tree", "name_layers", "unit"]


@dataclass
class NamingConfig:
    """The naming's settings (chosen on principle and on five corpora; none tuned to one)."""

    n_terms: int = 10  # candidates kept per node (provenance)
    max_ngram: int = 3
    pool: int = 40  # candidates per node measured exactly from the counts
    shortlist: int = 3  # phrases per node judged with the model
    broad_shortlist: int = 5  # ... per node with children
    vocabulary_shortlist: int = 5  # fields, and topics, per node judged with the model
    max_embed: int = 1000  # cap on phrases embedded per build
    min_phrase_share: float = 0.03  # the phrase itself in >= this share of the node (2 papers)
    min_support: float = 0.2  # a leaf's name: its words in at least this share of its papers
    min_support_broad: float = 0.03  # ... of a node with children
    min_breadth: float = 0.6  # a broad node's name is spread this evenly over its leaves
    broad_precision: float = 2.0  # ... and used this many times as often as by its siblings
    field_weight: float = 3.0  # bonus for a phrase the corpus writes as a field's name
    single_word_max_df: float = 0.06  # a one-word name is used by less of the corpus ...
    concentration: float = 3.0  # ... unless the node uses it this many times as often
    extend_ratio: float = 0.6  # a longer phrase completes its head when it keeps this share
    fragment_ratio: float = 0.8  # a phrase inside a longer one this often is a fragment
    phrase_bonus: float = 0.6  # count score bonus per extra word
    modifier_max: float = 0.65  # a single word used as a modifier more often than this ...
    modifier_discount: float = 0.5  # ... has its count score multiplied by this
    max_name_words: int = 5  # longer vocabulary names are descriptions, not names
    min_confirmation: float = 0.15  # a field name: its terms written by this share of papers
    min_precision: float = 0.5  # a name gathers more of its node than it takes of others
    length_penalty: float = 0.15  # judgement: each word past three costs this much
    one_word: float = 0.75  # ... a lone word of the papers' is worth this much
    rounds: int = 2  # judgement rounds against the siblings' names
    part_share: float = 0.25  # a strand holds at least this share of its node
    two_part_share: float = 0.5  # "A and B": its strands hold this share together
    two_part_gain: float = 0.15  # ... and it gathers this much more than one name, or
    two_part_support: float = 0.25  # ... the best one name is written by less than this
    max_parts: int = 3  # at most this many parts ("A, B and C")
    max_overlap: float = 0.3  # a leaf's strands share at most this share of their papers
    mixed_gather: float = 0.5  # no name gathers this share of what the node's centroid
    mixed_breadth: float = 0.5  # would, or (broad) none spreads this evenly ...
    mixed_support: float = 0.1  # ... or is one word written by less than this share: mixed
    mixed_part: float = 0.1  # a mixed node lists its children holding this share of it
    weak_gather: float = 0.7  # weak mark: the name gathers less of what the centroid would
    weak_breadth: float = 0.7  # ... or its evidence is spread less evenly
    weak_support: float = 0.2  # ... or fewer of a leaf's papers write its specific word
    weak_written: float = 0.3  # ... or fewer of a leaf's papers write the name itself
    weak_written_broad: float = 0.15  # ... or of a node's with children (not the broadest)
    same_node: float = 0.95  # a child this big may repeat its parent's name
    general_within: float = 0.8  # a broad node takes a more general name scoring this much


def name_layers(counts, embeddings: np.ndarray, layers: Sequence[np.ndarray],
                parents: Sequence[np.ndarray | None], *, texts: Sequence[str],
                ids: Sequence, embed_phrases: PhraseEmbedder | None = None,
                config: NamingConfig | None = None, corpus: tuple[np.ndarray, int] | None = None,
                n_nodes: Sequence[int] | None = None,
                vocabulary: tuple[Vocabulary, np.ndarray] | None = None) -> list[list[dict]]:
    """Name every node of every layer; per layer (finest first), one record per node id.

    ``layers[k]`` is each paper's node at layer k (-1: none, only at the finest);
    ``parents[k]`` each node's node at layer k+1 (None at the top); ``counts`` the papers'
    phrase counts; ``texts`` the papers' "title. abstract" (for the names' casing);
    ``embed_phrases`` the map's model (short strings -> vectors); ``vocabulary`` the field
    vocabulary and its vectors in that model; ``corpus`` the whole corpus's phrase
    document frequencies and size when ``counts`` cover only part of it; ``n_nodes`` the
    nodes per layer (default: the largest node id + 1).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small products: one BLAS thread is faster on a busy machine
        return _name_layers(counts, embeddings, layers, parents, texts=texts, ids=ids,
                            embed_phrases=embed_phrases, config=config or NamingConfig(),
                            corpus=corpus, n_nodes=n_nodes, vocabulary=vocabulary)


def _name_layers(counts, embeddings, layers, parents, *, texts, ids, embed_phrases, config,
                 corpus, n_nodes, vocabulary) -> list[list[dict]]:
    index = PhraseIndex(counts, doc_freq=corpus[0] if corpus else None,
                        n_papers=corpus[1] if corpus else None)
    layers = [np.asarray(nodes, dtype=np.int64) for nodes in layers]
    tree = build_tree(layers, parents, n_nodes)
    vectors = unit(np.asarray(embeddings, dtype=np.float32))
    corpus_mean = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1])
    centroids = [unit(np.stack([vectors[n.members].mean(axis=0) if len(n.members)
                                else np.zeros(vectors.shape[1]) for n in row]))
                 if row else np.zeros((0, vectors.shape[1])) for row in tree]
    pools = phrase_names(tree, layers, index, texts, config)
    _give_vectors(pools, tree, vectors, centroids, embed_phrases, config)
    if vocabulary is not None and embed_phrases is not None:
        add_fields(pools, tree, index, vocabulary, centroids, corpus_mean, config)
    settings = {"min_precision": config.min_precision, "penalty": config.length_penalty,
                "one_word": config.one_word, "two_part_gain": config.two_part_gain,
                "fallback_support": config.weak_support}
    for k, row in enumerate(tree):
        below = [_single(p) for p in pools[k - 1]] if k else []  # the children's best names
        for node, pool in zip(row, pools[k], strict=True):
            if node.broad:
                parts = children_parts(node, tree[k - 1], below,
                                       part_share=config.part_share,
                                       two_part_share=config.two_part_share,
                                       max_parts=config.max_parts)
            else:
                parts = own_parts([n for n in pool if _single([n])], part_share=config.part_share,
                                  max_overlap=config.max_overlap)
            if parts:
                pool.append(joined(parts, source="children" if node.broad else "phrase",
                                   node_size=len(node.members)))
        reach = judge_layer(row, pools[k], vectors, corpus_mean, centroids[k],
                            rounds=config.rounds, **settings)
        for node, pool in zip(row, pools[k], strict=True):
            if node.broad:
                _prefer_strands(pool, config)
            elif pool:
                _prefer_own_strands(pool, config,
                                    written=phrase_support(index, pool[0].text, node.members))
            if k == len(tree) - 1 and node.broad:
                _prefer_general(pool, config)
            unwritten = node.broad and k < len(tree) - 1 and bool(pool) and \
                not pool[0].parts and \
                phrase_support(index, pool[0].text, node.members) < config.weak_written_broad
            _mark_mixed(node, pool, tree, pools, config, reach=reach[node.id],
                        unwritten=unwritten)
    return _assign(tree, pools, ids, vectors, centroids, config, index)


def _give_vectors(pools, tree, vectors, centroids, embed_phrases, config) -> None:
    """Each phrase's vector: the map's model's, in one call; without it, the mean vector of
    the node's papers that write it."""
    wanted = list(dict.fromkeys(n.text for layer in pools for pool in layer for n in pool))
    found = embed_phrases(wanted[:config.max_embed]) if embed_phrases and wanted else None
    model = dict(zip(wanted, unit(np.asarray(found, dtype=np.float32)), strict=False)) \
        if found is not None else {}
    for k, layer in enumerate(pools):
        for node, pool in zip(tree[k], layer, strict=True):
            for name in pool:
                vector = model.get(name.text)
                if vector is None:
                    hit = node.members[name.users] if name.users is not None else node.members
                    vector = unit(vectors[hit].mean(axis=0)) if len(hit) else centroids[k][node.id]
                name.vector = np.asarray(vector, dtype=np.float32)[None, :]


#: How general a name is by its vocabulary level (a phrase no entry has is the least).
GENERALITY = {"field": 4, "subfield": 3, "category": 3, "part": 3, "alias": 3, "topic": 2}


def _prefer_general(pool: list[Name], config: NamingConfig) -> None:
    """At a node of the broadest layer, put first the most general eligible name (a field
    before one of its topics, a topic before a phrase no field has) scoring at least
    ``general_within`` of the best, if its papers confirm it broadly (``weak_breadth``):
    the model tells a field from one of its parts poorly, the vocabulary's levels tell it
    well."""
    if not pool or not pool[0].eligible:
        return
    near = [n for n in pool if n.eligible and not n.parts and n.breadth >= config.weak_breadth
            and n.score >= config.general_within * pool[0].score]
    best = max(near, key=lambda n: (GENERALITY.get(n.kind, 1), n.score), default=None)
    if best is not None and GENERALITY.get(best.kind, 1) > GENERALITY.get(pool[0].kind, 1):
        pool.remove(best)
        pool.insert(0, best)


def _prefer_strands(pool: list[Name], config: NamingConfig) -> None:
    """Put a node's two strands ("A and B", from its children) first when its best single
    name is thin: written (or confirmed) by under ``two_part_support`` of its papers, or
    spread over few of its children. Against distant siblings every plausible name gathers
    the node, so the papers' own words decide whether one name covers it."""
    strands = next((n for n in pool if n.parts and n.source == "children" and n.eligible), None)
    best = pool[0] if pool else None
    if strands is None or best is None or best is strands:
        return
    if best.support < config.two_part_support or best.breadth < config.weak_breadth:
        pool.remove(strands)
        pool.insert(0, strands)


def _prefer_own_strands(pool: list[Name], config: NamingConfig, *, written: float) -> None:
    """At a leaf, put its two strands first ("A and B": two of its names written by
    different papers) when its best single name is written by under ``weak_written`` of its
    papers: read blind, such names were mostly rejected as naming a part of the node."""
    strands = next((n for n in pool if n.parts and n.eligible and not n.notes.get("mixed")),
                   None)
    if strands is None or pool[0].parts or written >= config.weak_written:
        return
    pool.remove(strands)
    pool.insert(0, strands)


def _single(pool: Sequence[Name], *, one_word: bool = False) -> Name | None:
    """A node's best name if it can be part of another's (past its list of parts, if it is
    mixed): eligible, one name (not a joined one, a mixed node's list, or one joining two
    things itself), of two or three words or a field's name (or, with ``one_word``, any one
    word)."""
    best = next((n for n in pool if not n.notes.get("mixed")), None)  # not a list of parts
    if best is None or not best.eligible or best.parts or best.n_words > 3 \
            or (best.n_words == 1 and best.kind == "phrase" and not one_word) \
            or " and " in best.text or "," in best.text:
        return None
    return best


def _mark_mixed(node: Node, pool: list[Name], tree, pools, config, *, reach: float,
                unwritten: bool = False) -> None:
    """Name a node no name covers by a list of its parts, marked mixed (first in its pool):
    its best name gathers under ``mixed_gather`` of what its own centroid would (``reach``),
    is spread over few of its children, is one word written by few of its papers, or
    (``unwritten``, below the broadest layer) is written by under ``weak_written_broad`` of
    them: read blind, such names were misleading more often than any other kind ("Reward
    function" for bandits and online learning, "Information theory" for learning theory),
    and a list of the node's parts never was. Its parts are its largest children (for a
    node with one child, its child's)."""
    if not pool or not len(node.members) or not node.broad:
        return  # a leaf's parts are phrases, too thin to list: its weak mark says it
    best = pool[0]
    thin = best.n_words == 1 and best.kind == "phrase" and best.support < config.mixed_support
    covered = best.gather >= config.mixed_gather * reach and not thin and not unwritten and (
        best.parts or best.breadth >= config.mixed_breadth)
    if covered:
        return
    split = node
    while len(split.children) == 1 and split.layer > 1:
        split = tree[split.layer - 1][split.children[0]]
    if split.layer == 0 or len(split.children) < 2:
        return
    children, child_pools = tree[split.layer - 1], pools[split.layer - 1]
    ranked = sorted(split.children, key=lambda c: -len(children[c].members))
    parts = [part_of(single, node, children[c]) for c in ranked
             if len(children[c].members) >= config.mixed_part * len(node.members)
             and (single := _single(child_pools[c], one_word=True)) is not None]
    parts = parts[:config.max_parts]
    if len(parts) < 2:
        return
    name = mixed_name(parts, len(node.members))
    name.gather, name.precision, name.closeness = pool[0].gather, pool[0].precision, \
        pool[0].closeness
    name.score = pool[0].score
    pool.insert(0, name)


def _assign(tree, pools, ids, vectors, centroids, config, index) -> list[list[dict]]:
    """Names top-down, distinct across the tree; one record per node (``index``: the
    papers' phrases, for how many of a node's papers write its name)."""
    out: list[list[dict]] = [[] for _ in tree]
    taken: dict[str, tuple[int, int]] = {}
    for k in reversed(range(len(tree))):
        row = tree[k]
        free = [[n for n in pool if _free(n.key, node, taken, tree, config)] or pool
                for node, pool in zip(row, pools[k], strict=True)]
        keys = assign_unique([[n.key for n in names] for names in free],
                             [[n.score for n in names] for names in free])
        for node, pool, names, key in zip(row, pools[k], free, keys, strict=True):
            chosen = next((n for n in pool if n.key == key), None)
            written = phrase_support(index, chosen.text, node.members) if chosen else 0.0
            out[k].append(node_record(node, pool, chosen, ids=ids, vectors=vectors,
                                      centroid=centroids[k][node.id], config=config,
                                      written=written, top=k == len(tree) - 1))
            if chosen is None and names:  # every name of it taken: its best, numbered
                out[k][-1]["label"] = names[0].text + key[len(names[0].key):]
                out[k][-1]["weak_name"] = True
                out[k][-1]["weak_reason"] = TAKEN
            taken.setdefault(key, (k, node.id))
    return out


def _free(key: str, node: Node, taken: dict, tree, config: NamingConfig) -> bool:
    """Whether ``node`` may take the name ``key``: no broader node has it, or the one that
    has it is an ancestor that the node nearly is (``same_node`` of its papers)."""
    holder = taken.get(key)
    if holder is None:
        return True
    current = node
    while current.parent >= 0:
        parent = tree[current.layer + 1][current.parent]
        if (parent.layer, parent.id) == holder:
            return len(node.members) >= config.same_node * len(parent.members)
        current = parent
    return False


def assign_unique(candidates: list[list[str]], scores: list[list[float]]) -> list[str]:
    """One distinct name per node: a name wanted by several goes to the node it scores
    best in; the others take their next candidate."""
    n = len(candidates)
    position = [0] * n
    out: list[str | None] = [None] * n
    taken: set[str] = set()
    while True:
        wanted: dict[str, list[int]] = {}
        for c in range(n):
            if out[c] is None and position[c] < len(candidates[c]):
                wanted.setdefault(candidates[c][position[c]], []).append(c)
        if not wanted:
            break
        for key, contenders in wanted.items():
            if key in taken:
                for c in contenders:
                    position[c] += 1
                continue
            winner = max(contenders, key=lambda c: (scores[c][position[c]], -c))
            out[winner] = key
            taken.add(key)
            for c in contenders:
                if c != winner:
                    position[c] += 1
    names = []
    for c in range(n):
        name = out[c]
        if name is None:
            base = candidates[c][0] if candidates[c] else f"topic {c}"
            name, k = base, 2
            while name in taken:
                name, k = f"{base} ({k})", k + 1
            taken.add(name)
        names.append(name)
    return names
