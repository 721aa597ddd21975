"""A node's chosen name, its provenance, and a weak mark that says why.

:func:`weak_reason` tells a name a reader would likely reject, and why, in words the
dashboard shows:

- "mixed: no one name covers it" (a list of its parts names it);
- "few of its papers use it" (the name is written, or the field confirmed, by too few of
  the node's papers);
- "closer to a neighbouring topic" (it takes more of its siblings' papers than it
  gathers of its own, or with the map's model it is nearer another node of its layer);
- "names only part of it" (it gathers less of the node's papers from its siblings' names
  than the node's own centroid would, by ``weak_gather``, or, at a node with children,
  its evidence sits in some of them only; or few of its papers use every word of the
  name (``pipeline.naming.fields.phrase_support``): under ``weak_written`` of a leaf's,
  under ``weak_written_broad`` of a node's with children below the broadest layer, where
  field names are seldom written and read well). On 206 names read blind on five maps,
  this last test took the mark from 60% to 84% of the names readers rejected, 81% of the
  marked names being rejected ones.

A node whose every candidate another node already has keeps its best, numbered, with
the reason ``TAKEN`` (given when the names are assigned, ``pipeline.naming.rank``).

:func:`node_record` is the node's row: its name and why (``name_source``: a phrase its
papers write, an OpenAlex or arXiv field, its children's names, or its parts;
``name_entry``: the vocabulary entry; ``name_share``: the share of its papers behind
the name; ``name_gather``: the share the name gathers), the candidates behind it
(``terms``/``weights``), ``support``/``contrast`` of its most specific word (of a name
joining parts, the share of its papers writing any part), and representative papers
that use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .candidates import Node
from .judge import Name

MIXED = "mixed: no one name covers it"
FEW = "few of its papers use it"
ELSEWHERE = "closer to a neighbouring topic"
PART = "names only part of it"
TAKEN = "its names are taken by other topics"


def weak_reason(name: Name | None, node: Node, config, *, written: float = 1.0,
                top: bool = False) -> str:
    """Why the name is weak ("" when it is not): see the module's docstring. ``written``:
    the share of the node's papers using every word of the name; ``top``: the node is in
    the broadest layer."""
    if name is None:
        return FEW
    if name.notes.get("mixed"):
        return MIXED
    if not name.eligible or (name.source == "phrase" and not name.parts
                             and not node.broad and name.spec_support < config.weak_support):
        return FEW
    if name.precision < config.min_precision or name.closeness <= 0 \
            or not name.notes.get("retrieved", True):
        return ELSEWHERE
    reach = name.notes.get("reach", 1.0)
    if name.gather < config.weak_gather * reach or (
            node.broad and not name.parts and name.breadth < config.weak_breadth):
        return PART
    if not top and written < (config.weak_written_broad if node.broad else config.weak_written):
        return PART
    return ""


def node_record(node: Node, pool: Sequence[Name], chosen: Name | None, *, ids: Sequence,
                vectors: np.ndarray, centroid: np.ndarray, config, written: float = 1.0,
                top: bool = False) -> dict:
    """The node's row (see the module's docstring); ``pool`` its candidates, best first;
    ``written`` and ``top`` as for :func:`weak_reason`."""
    members = node.members
    users = chosen.users if chosen is not None and chosen.users is not None \
        and len(chosen.users) == len(members) else np.zeros(len(members), dtype=bool)
    behind = members[users] if users.sum() >= 5 else members
    order = np.argsort(-(vectors[behind] @ centroid), kind="stable")
    reason = weak_reason(chosen, node, config, written=written, top=top)
    shown = [n for n in pool if n is not chosen][:config.n_terms - 1]
    listed = ([chosen] if chosen is not None else []) + shown
    return {
        "id": node.id, "parent": node.parent,
        "label": chosen.text if chosen is not None else f"topic {node.id}",
        "key": chosen.key if chosen is not None else "",
        "terms": [n.text for n in listed],
        "weights": [round(float(n.score), 4) for n in listed],
        "size": len(members),
        "support": round(float(0.0 if chosen is None else chosen.support if chosen.parts
                               else chosen.spec_support), 4),
        "contrast": round(float(1.0 - chosen.sibling_support if chosen else 0.0), 4),
        "weak_name": bool(reason),
        "weak_reason": reason,
        "name_source": chosen.source if chosen is not None else "",
        "name_entry": chosen.entry if chosen is not None else "",
        "name_share": round(float(chosen.support if chosen else 0.0), 4),
        "name_gather": round(float(chosen.gather if chosen else 0.0), 4),
        "mixed": bool(chosen is not None and chosen.notes.get("mixed")),
        "representatives": [str(ids[i]) for i in behind[order]],
    }
