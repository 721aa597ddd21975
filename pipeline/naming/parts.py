"""Honest names for two-strand and mixed nodes: "A and B", or a list of parts marked mixed.

A node that no single name covers is named for its parts rather than for one of them:

- **two strands** ("Digital libraries and Semantic Web"): a node with children is named
  for its largest children when two of them each hold a large share (``part_share``)
  and together most of it (``two_part_share``); a leaf for two of its own candidates
  whose papers barely overlap, each written by a large share of it. The joined name
  competes with the single names under the same judgement (``pipeline.naming.judge``),
  its gather counted less ``two_part_gain``: it must gather clearly more of the node than
  the best single name, not merely as much.
- **mixed** (:func:`mixed_name`): when even the best name gathers under ``mixed_gather``
  of the node's papers, the node is named by a list of its largest parts ("A, B and C")
  and marked mixed: the dashboard says so rather than show one part's name for the whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .candidates import Node
from .judge import Name


def join(texts: Sequence[str]) -> str:
    """"A", "A and B", "A, B and C" (later parts keep their own casing)."""
    texts = [texts[0]] + [t if t[:2].isupper() or _proper(t) else t[:1].lower() + t[1:]
                          for t in texts[1:]]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


def _proper(text: str) -> bool:
    """Whether a name's first word is written capitalised as a name ("Bayesian ...")."""
    first = text.split()[0] if text.split() else ""
    return len(first) > 1 and first[1:].lower() != first[1:]


def joined(parts: Sequence[Name], *, source: str, node_size: int) -> Name:
    """One name made of ``parts``: vectors stacked, evidence pooled (a paper writing any)."""
    users = np.logical_or.reduce([p.users for p in parts]) if all(
        p.users is not None for p in parts) else None
    vectors = [p.vector for p in parts if p.vector is not None]
    return Name(text=join([p.text for p in parts]), key=" | ".join(p.key for p in parts),
                source=source, vector=np.concatenate(vectors) if vectors else None,
                eligible=all(p.eligible for p in parts),
                support=float(users.mean()) if users is not None and node_size else 0.0,
                sibling_support=max(p.sibling_support for p in parts),
                spec_support=min(p.spec_support for p in parts),
                breadth=max(p.breadth for p in parts), users=users, parts=tuple(parts))


def children_parts(node: Node, children: Sequence[Node], child_best: Sequence[Name | None], *,
                   part_share: float, two_part_share: float, max_parts: int) -> list[Name]:
    """Best names of the node's largest children, as few as hold ``two_part_share`` of its
    papers (at most ``max_parts``), each child holding ``part_share`` (empty: no strands)."""
    size = max(len(node.members), 1)
    ranked = sorted(node.children, key=lambda c: -len(children[c].members))
    chosen: list[int] = []
    held = 0
    for c in ranked[:max_parts]:
        if len(children[c].members) < part_share * size:
            break
        chosen.append(c)
        held += len(children[c].members)
        if len(chosen) >= 2 and held >= two_part_share * size:
            break
    names = [child_best[c] for c in chosen]
    if len(chosen) < 2 or held < two_part_share * size or any(
            n is None or not n.eligible for n in names):
        return []
    return [part_of(n, node, children[c]) for n, c in zip(names, chosen, strict=True)]


def part_of(name: Name, node: Node, child: Node) -> Name:
    """A child's name as a part of its parent: which of the parent's papers it covers."""
    users = np.isin(node.members, child.members)
    return Name(text=name.text, key=name.key, source=name.source, vector=name.vector,
                eligible=name.eligible, support=float(users.mean()) if len(users) else 0.0,
                sibling_support=name.sibling_support, spec_support=name.spec_support,
                breadth=1.0, users=users, entry=name.entry, term=name.term)


def own_parts(pool: Sequence[Name], *, part_share: float, max_overlap: float) -> list[Name]:
    """Two of a leaf's own eligible names written by different papers: the best, and the
    one adding most papers it does not cover, each written by ``part_share`` of the node
    and sharing at most ``max_overlap`` of the smaller's papers."""
    usable = [n for n in pool if n.eligible and n.users is not None and len(n.users)
              and not n.parts and n.users.mean() >= part_share]
    if len(usable) < 2:
        return []
    first = usable[0]
    best, gain = None, 0.0
    for other in usable[1:]:
        both = float((first.users & other.users).sum())
        smaller = min(first.users.sum(), other.users.sum())
        added = float((other.users & ~first.users).mean())
        if smaller and both / smaller <= max_overlap and added >= part_share and added > gain:
            best, gain = other, added
    return [first, best] if best is not None else []


def mixed_name(parts: Sequence[Name], node_size: int) -> Name:
    """A list of a node's parts marked mixed (source "parts")."""
    name = joined(list(parts), source="parts", node_size=node_size)
    name.eligible = True
    name.notes["mixed"] = True
    return name
