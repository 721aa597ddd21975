"""Naming the nodes of a topic hierarchy so that their papers bear the names out.

Every node of every layer gets ONE phrase of 1-3 words that its papers write
(``pipeline.naming.candidates`` measures them), ranked by:

- **support minus contrast**: how many more of the node's papers use it than of its
  siblings' papers (a multi-word phrase's support is the geometric mean of the share using
  all its words and the share using it verbatim);
- **phrase quality**: each extra word earns a bonus (a term names more precisely than a
  word); a single word must be a specific noun (not generic, not adjective-like, not used
  by more than ``single_word_max_df`` of the corpus); a word mostly used to modify the next
  one is discounted; a lone word that one longer phrase completes gives way to it ("Pose"
  -> "Human pose estimation");
- **meaning** (KeyBERT-style): the short-listed phrases of the whole build go to the map's
  model in one call (``embed_phrases``); the score is multiplied by ``1 + w * margin``
  (cosine to the node's centroid minus the best cosine to another centroid of the layer:
  what name-to-cluster retrieval tests) and by ``cos / 0.4``. Without a model, the mean
  vector of the papers using the phrase stands in for the margin.

A node with two or more children is named for what its children share
(``pipeline.naming.umbrella``). Layers are named top-down, and a name is never shared by
two nodes that are not one inside the other: unique within a layer (a contested
phrase goes to the node where it scores best), never that of a broader node on another
branch; a node may repeat an ancestor's name, its parent's only if it holds most of it.

:func:`name_layers` returns, per layer, each node's name with its provenance: the
candidates behind it (``terms``/``weights``), the ``support`` and ``contrast`` of its
most specific (rarest) word, and ``weak_name`` when those are low or nothing passed
the bars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .candidates import LayerCounts, Node, PhraseIndex, candidate, candidate_pool, node_rates
from .phrases import surface_form
from .umbrella import Fieldness, related, umbrella_pool

PhraseEmbedder = Callable[[list[str]], np.ndarray]


@dataclass
class NamingConfig:
    """The naming's settings (defaults chosen on five corpora, none tuned to one)."""

    n_terms: int = 10  # candidates kept per node (provenance)
    max_ngram: int = 3
    pool: int = 40  # candidates per node measured exactly from the counts
    shortlist: int = 6  # best candidates per node whose vectors the model gives
    broad_shortlist: int = 10  # the same for a node with children (plus 4 field names)
    max_embed: int = 1500  # cap on phrases embedded per build
    min_phrase_share: float = 0.03  # the phrase itself in >= this share of the node (2 papers)
    min_support: float = 0.2  # a name's papers: at least this share of the node's
    min_support_broad: float = 0.03  # ... of a node with children
    min_breadth: float = 0.6  # a broad node's name is spread this evenly over its leaves
    broad_precision: float = 2.0  # ... and used this many times as often as by its siblings
    field_weight: float = 3.0  # bonus for a phrase the corpus writes as a field's name
    weak_breadth: float = 0.7  # a broad node's name spread less evenly: weak_name ...
    weak_support_broad: float = 0.15  # ... or used by fewer of its papers ...
    weak_field: float = 0.1  # ... and rarely written as a field
    single_word_max_df: float = 0.06  # a one-word name is used by less of the corpus ...
    concentration: float = 3.0  # ... unless the node uses it this many times as often
    weak_support: float = 0.2  # the name's rarest word used by fewer papers: weak_name
    weak_contrast: float = 0.6  # ... or its contrast below this
    semantic_weight: float = 2.0  # weight of the retrieval margin
    off_target: float = 0.6  # factor for a name closer to another node's centroid
    broad_semantic_boost: float = 2.0  # ... times this for a node with children
    extend_ratio: float = 0.6  # a longer phrase completes its head when it keeps this share
    fragment_ratio: float = 0.8  # a phrase inside a longer one this often is a fragment
    phrase_bonus: float = 0.6  # score bonus per extra word
    modifier_max: float = 0.65  # a single word used as a modifier more often than this ...
    modifier_discount: float = 0.5  # ... has its score multiplied by this
    core_child_share: float = 0.6  # a child this big may repeat its parent's name
    two_part_share: float = 0.5  # "A and B" from children holding this share of the node
    max_parts: int = 3  # ... at most this many of them ("A, B and C")


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


def score(o: dict, config: NamingConfig, *, semantic: bool = True) -> float:
    """Support minus contrast, weighted by breadth, phrase quality and (with ``semantic``)
    meaning. Broad nodes: support counts less (an umbrella is rarely written by most of
    its papers), breadth and meaning more."""
    support = o["R"] if o["n_words"] == 1 else float(np.sqrt(o["R"] * min(o["R_phrase"], o["R"])))
    lead = max(support - o["C"], 0.0)
    broad = o["broad"]
    value = np.sqrt(lead) * o["breadth"] ** 2 * (1.0 + config.field_weight * o["field"]) \
        if broad else lead
    value *= 1.0 + config.phrase_bonus * (o["n_words"] - 1)
    if o["modifier"] > config.modifier_max:
        value *= config.modifier_discount
    if semantic and o.get("margin") is not None:
        weight = config.semantic_weight * (config.broad_semantic_boost if broad else 1.0)
        value *= max(1.0 + weight * o["margin"], 0.05)
        if o["margin"] < 0:  # another node's centroid is closer: the name points there
            value *= config.off_target
        if o.get("sem") is not None:
            value *= max(o["sem"] / 0.4, 0.05) ** (2 if broad else 1)
    return float(value)


def name_layers(counts, embeddings: np.ndarray, layers: Sequence[np.ndarray],
                parents: Sequence[np.ndarray | None], *, texts: Sequence[str],
                ids: Sequence, embed_phrases: PhraseEmbedder | None = None,
                config: NamingConfig | None = None, corpus: tuple[np.ndarray, int] | None = None,
                n_nodes: Sequence[int] | None = None) -> list[list[dict]]:
    """Name every node of every layer; per layer (finest first), one record per node id.

    ``layers[k]`` is each paper's node at layer k (-1: none, only at the finest);
    ``parents[k]`` each node's node at layer k+1 (None at the top); ``counts`` the
    papers' phrase counts (``pipeline.naming.counts.PhraseCounts``); ``texts`` the papers'
    "title. abstract" (for the names' casing); ``corpus`` the whole corpus's phrase
    document frequencies and size when ``counts`` cover only part of it; ``n_nodes``
    the nodes per layer (default: the largest node id + 1).
    """
    config = config or NamingConfig()
    index = PhraseIndex(counts, doc_freq=corpus[0] if corpus else None,
                        n_papers=corpus[1] if corpus else None)
    layers = [np.asarray(nodes, dtype=np.int64) for nodes in layers]
    tree = build_tree(layers, parents, n_nodes)
    vectors = unit(np.asarray(embeddings, dtype=np.float32))
    field = Fieldness(index)
    counts_of = [LayerCounts.of(index, nodes, len(tree[k])) for k, nodes in enumerate(layers)]
    pools = [[umbrella_pool(node, counts_of[k], counts_of[0], index, field, config)
              if node.broad else candidate_pool(node, counts_of[k], index, config)
              for node in tree[k]] for k in range(len(layers))]
    centroids = [unit(np.stack([vectors[n.members].mean(axis=0) if len(n.members)
                                else np.zeros(vectors.shape[1]) for n in row]))
                 if row else np.zeros((0, vectors.shape[1])) for row in tree]
    phrase_vectors = _embed_shortlists(tree, pools, embed_phrases, config)
    for k in range(len(layers)):
        for node, pool in zip(tree[k], pools[k], strict=True):
            _rank(pool, node, centroids[k], phrase_vectors, vectors, index, config)
    out: list[list[dict]] = [[] for _ in layers]
    named: dict[str, tuple[int, int]] = {}  # names of broader layers -> their node
    for k in reversed(range(len(layers))):
        for node, pool in zip(tree[k], pools[k], strict=True):
            top = next((o for o in pool if o["eligible"]), None) if node.broad else None
            if node.broad and (top is None or _weak(top, node, config)):
                _named_for_children(node, pool, tree[k - 1], pools[k - 1], counts_of[k], centroids[k - 1],
                          index, config, rival=top, centroid=centroids[k][node.id],
                          phrase_vectors=phrase_vectors)
            allowed = _ancestors(node, tree, config)
            pool[:] = [o for o in pool if named.get(o["key"], allowed[0]) in allowed]
        keys = assign_unique([[o["key"] for o in pool] for pool in pools[k]],
                             [[o["score"] for o in pool] for pool in pools[k]])
        out[k] = [_record(node, pool, key, texts, ids, vectors, centroids[k], index, config)
                  for node, pool, key in zip(tree[k], pools[k], keys, strict=True)]
        for node, key in zip(tree[k], keys, strict=True):
            named.setdefault(key, (k, node.id))
    return out


def _ancestors(node: Node, tree: list[list[Node]], config: NamingConfig
               ) -> list[tuple[int, int] | None]:
    """The nodes whose names the node may repeat (None first: a name not taken above): its
    ancestors, but its parent only if it is the parent's core (it holds
    ``core_child_share`` of the parent's papers, or is its only child)."""
    out: list[tuple[int, int] | None] = [None]
    current = node
    while current.parent >= 0:
        parent = tree[current.layer + 1][current.parent]
        if current is not node or not parent.broad or len(node.members) >= \
                config.core_child_share * len(parent.members):
            out.append((parent.layer, parent.id))
        current = parent
    return out


def _named_for_children(node: Node, pool: list[dict], children: list[Node], child_pools: list[list[dict]],
              counts: LayerCounts, child_centroids: np.ndarray, index: PhraseIndex,
              config: NamingConfig, *, rival: dict | None = None,
              centroid: np.ndarray | None = None, phrase_vectors: dict | None = None) -> None:
    """Put "A and B" (or "A, B and C") first in a broad node's pool when no umbrella phrase
    passed, or when the best one (``rival``) is weak and the parts together are at least as
    close in meaning to the node's centroid: the names of its largest children, as few as
    hold ``two_part_share`` of its papers (at most ``max_parts``), each well borne out by
    its child and related in meaning to the largest."""
    ranked = sorted(node.children, key=lambda c: -len(children[c].members))
    chosen, held = [], 0
    for c in ranked[:config.max_parts]:
        chosen.append(c)
        held += len(children[c].members)
        if len(chosen) >= 2 and held >= config.two_part_share * len(node.members):
            break
    if len(chosen) < 2 or held < config.two_part_share * len(node.members):
        return
    tops = [next((o for o in child_pools[c] if o["eligible"]), None) for c in chosen]
    if None in tops or any(_weak(o, children[c], config) for o, c in zip(tops, chosen, strict=True)) \
            or not all(related(child_centroids, chosen[0], c) for c in chosen[1:]):
        return
    if rival is not None:
        vectors = [(phrase_vectors or {}).get(o["key"]) for o in (rival, *tops)]
        if centroid is None or any(v is None for v in vectors):
            return  # no model to judge meaning by: keep the umbrella
        if float(centroid @ unit(np.sum(vectors[1:], axis=0))) < float(centroid @ vectors[0]):
            return
    rate, _, pooled, big = node_rates(node, counts)
    parts = [candidate(o["term"], index, node, counts, config, rate=rate, pooled=pooled,
                       big=big) for o in tops]
    weaker = min(parts, key=lambda o: o["spec_support"])
    keys = [o["key"] for o in tops]
    pool.insert(0, dict(weaker, key=", ".join(keys[:-1]) + " and " + keys[-1],
                        n_words=len(keys), eligible=True, parts=tuple(o["term"] for o in tops),
                        score=max((o["score"] for o in pool), default=0.0) + 1.0))


def _embed_shortlists(tree, pools, embed_phrases, config) -> dict[str, np.ndarray]:
    """Model vectors of every node's best eligible candidates, in one call: by the counts,
    and for a broad node also those the corpus writes most as a field's name."""
    if embed_phrases is None:
        return {}
    wanted: list[str] = []
    for row, row_pools in zip(tree, pools, strict=True):
        for node, pool in zip(row, row_pools, strict=True):
            eligible = [o for o in pool if o["eligible"]]
            ranked = sorted(eligible, key=lambda o: -score(o, config, semantic=False))
            if node.broad:
                fields = sorted(eligible, key=lambda o: -o["field"] * o["breadth"])
                ranked = ranked[:config.broad_shortlist] + [o for o in fields[:4] if o["field"]]
            wanted += [o["key"] for o in ranked[:config.shortlist + 8 * node.broad]]
    wanted = list(dict.fromkeys(wanted))[:config.max_embed]
    if not wanted:
        return {}
    found = embed_phrases([surface_form(w, ()) for w in wanted])
    if found is None:  # the model could not be loaded
        return {}
    return dict(zip(wanted, unit(np.asarray(found, dtype=np.float32)), strict=True))


def _rank(pool: list[dict], node: Node, centroids: np.ndarray, phrase_vectors: dict,
          vectors: np.ndarray, index: PhraseIndex, config: NamingConfig) -> None:
    """Score the pool with meaning and sort it best first (eligible candidates first)."""
    own = node.id
    with_model = bool(phrase_vectors)
    for o in pool:
        vector = phrase_vectors.get(o["key"])
        o["sem"] = o["margin"] = None
        if vector is None and with_model:  # not short-listed: after those that were
            o["score"] = -1.0 + 1e-3 * score(o, config, semantic=False)
            continue
        if vector is None:
            hit = index.uses(node.members, o["term"])
            vector = unit(vectors[node.members[hit]].mean(axis=0)) if hit.any() \
                else centroids[own]
        else:
            o["sem"] = float(centroids[own] @ vector)
        sims = centroids @ vector
        best_other = np.delete(sims, own).max() if len(sims) > 1 else sims[own] - 1.0
        o["margin"] = float(sims[own] - best_other)
        o["score"] = score(o, config)
    pool.sort(key=lambda o: (not o["eligible"], -o["score"]))
    if pool and not pool[0]["eligible"]:  # nothing passed: what most of its papers write
        pool.sort(key=lambda o: -score(dict(o, broad=False), config, semantic=False))
    _complete(pool)


def _complete(pool: list[dict]) -> None:
    """Move a phrase ahead of a lone word it completes ("Pose" -> "Pose estimation"): when
    one of the pool's phrases holding a top single word is used verbatim by at least half
    the papers using the word, with at least half its score."""
    for o in pool[:3]:
        if o["n_words"] != 1 or not o["eligible"]:
            continue
        fits = [p for p in pool if p["n_words"] > 1 and p["eligible"]
                and o["key"] in p["key"].split() and p["R_phrase"] >= 0.5 * o["R"]
                and p["score"] >= 0.5 * o["score"]]
        if fits:
            best = max(fits, key=lambda p: p["R_phrase"])
            pool.remove(best)
            pool.insert(pool.index(o), best)
            return


def _weak(pick: dict, node: Node, config: NamingConfig) -> bool:
    """Whether a name is not well borne out. A node named for its papers: its most
    specific word is used by fewer than ``weak_support`` of them, or by many of its
    siblings' papers. An umbrella: not spread evenly over the node, or used by fewer than
    ``weak_support_broad`` and rarely written as a field. Any name closer in meaning to
    another node of its layer than to its own."""
    if not pick["eligible"] or (pick.get("margin") is not None and pick["margin"] < 0):
        return True  # ... or it means another node of its layer better than its own
    if node.broad:
        return pick["breadth"] < config.weak_breadth or (
            pick["R"] < config.weak_support_broad and pick["field"] < config.weak_field)
    return pick["spec_support"] < config.weak_support or \
        pick["spec_contrast"] < config.weak_contrast


def assign_unique(candidates: list[list[str]], scores: list[list[float]]) -> list[str]:
    """One distinct name per node: a phrase wanted by several goes to the node it scores
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


def _record(node: Node, pool: list[dict], key: str, texts: Sequence[str], ids: Sequence,
            vectors: np.ndarray, centroids: np.ndarray, index: PhraseIndex,
            config: NamingConfig) -> dict:
    """A node's name, provenance and measures of sureness."""
    pick = next((o for o in pool if o["key"] == key), None)
    members = node.members
    sample = [texts[i] for i in members[:400]]
    if pick is None:
        uses, name = np.zeros(len(members), dtype=bool), key
    elif "parts" in pick:  # "A and B" (or "A, B and C") from its children
        uses = np.logical_or.reduce([index.uses(members, t) for t in pick["parts"]])
        forms = [surface_form(str(index.vocabulary[t]), sample, capitalise=not k)
                 for k, t in enumerate(pick["parts"])]
        name = ", ".join(forms[:-1]) + " and " + forms[-1]
    else:
        uses, name = index.uses(members, pick["term"]), surface_form(key, sample)
    behind = members[uses] if uses.sum() >= 5 else members
    order = np.argsort(-(vectors[behind] @ centroids[node.id]), kind="stable")
    support = pick["spec_support"] if pick else 0.0
    if pick is not None and "parts" in pick:  # each paper is about one of the parts
        support = float(uses.mean()) if len(uses) else 0.0
    contrast = pick["spec_contrast"] if pick else 0.0
    weak = pick is None or ("parts" not in pick and _weak(pick, node, config))
    return {
        "id": node.id, "parent": node.parent, "label": name, "key": key,
        "terms": [o["key"] for o in pool[:config.n_terms]],
        "weights": [round(float(o["score"]), 4) for o in pool[:config.n_terms]],
        "size": len(members), "support": round(float(support), 4),
        "contrast": round(float(contrast), 4),
        "weak_name": bool(weak),
        "representatives": [str(ids[i]) for i in behind[order]],
    }
