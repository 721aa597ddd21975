"""Short-listing the phrases a node's papers write as its candidate names (counts only).

The pools of ``pipeline.naming.candidates`` (a leaf) and ``pipeline.naming.umbrella`` (a node
with children) are ranked by :func:`count_score`; the best few become :class:`Name`
candidates, written as the papers write them (``surface_form``), without artefact words
("dataset", "benchmark") unless the node is about them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .candidates import LayerCounts, Node, PhraseIndex, candidate_pool
from .judge import Name, key_of
from .phrases import surface_form
from .umbrella import Fieldness, umbrella_pool

#: Words naming an artefact of research rather than its subject: a name may hold one only
#: where the node is about it (most of its papers write it, twice as often as its siblings).
ARTEFACTS = frozenset("dataset benchmark corpus task toolkit tool suite leaderboard".split())


def count_score(o: dict, config) -> float:
    """How strongly the counts alone back a phrase: its share minus its siblings', weighted
    by breadth and fieldness at a broad node, by length, less for a modifier word."""
    support = o["R"] if o["n_words"] == 1 else float(np.sqrt(o["R"] * min(o["R_phrase"], o["R"])))
    lead = max(support - o["C"], 0.0)
    value = np.sqrt(lead) * o["breadth"] ** 2 * (1.0 + config.field_weight * o["field"]) \
        if o["broad"] else lead
    value *= 1.0 + config.phrase_bonus * (o["n_words"] - 1)
    if o["modifier"] > config.modifier_max:
        value *= config.modifier_discount
    return float(value)



def phrase_names(tree: list[list[Node]], layers, index: PhraseIndex, texts: Sequence[str],
                  config) -> list[list[list[Name]]]:
    """Every node's short-listed phrases as candidate names (counts only)."""
    counts_of = [LayerCounts.of(index, nodes, len(tree[k])) for k, nodes in enumerate(layers)]
    field = Fieldness(index)
    artefacts = {w: j for w in ARTEFACTS if (j := index.index.get(w)) is not None}
    out = []
    for k, row in enumerate(tree):
        layer = []
        for node in row:
            pool = umbrella_pool(node, counts_of[k], counts_of[0], index, field, config) \
                if node.broad else candidate_pool(node, counts_of[k], index, config)
            ranked = sorted(pool, key=lambda o: (not o["eligible"], -count_score(o, config)))
            keep = config.broad_shortlist if node.broad else config.shortlist
            names = []
            for o in ranked[:keep]:
                users = index.uses(node.members, o["term"])
                text = surface_form(o["key"], [texts[i] for i in node.members[users][:60]])
                about = about_artefacts(o["key"], node, row, index, artefacts)
                names.append(Name(
                    text=text, key=key_of(text), source="phrase", vector=None,
                    eligible=bool(o["eligible"] and about), support=float(o["R"]),
                    sibling_support=1.0 - o["spec_contrast"], spec_support=o["spec_support"],
                    breadth=o["breadth"] if node.broad else 1.0,
                    users=users, term=o["term"],
                    count_score=count_score(o, config)))
            layer.append(names)
        out.append(layer)
    return out


def about_artefacts(key: str, node: Node, row: list[Node], index: PhraseIndex,
                     artefacts: dict[str, int]) -> bool:
    """Whether a phrase's artefact words ("dataset") are what the node is about: written by
    most of its papers and twice as often as by its siblings' (True when it has none)."""
    for word in key.split():
        j = artefacts.get(word)
        if j is None:
            continue
        share = float(index.uses(node.members, j).mean()) if len(node.members) else 0.0
        around = np.concatenate([row[s].members for s in node.siblings]) if node.siblings \
            else np.zeros(0, dtype=np.int64)
        other = float(index.uses(np.sort(around), j).mean()) if len(around) else 0.0
        if share < 0.5 or share < 2 * other:
            return False
    return True
