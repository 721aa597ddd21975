"""Our layers against BERTopic's topics at the same number of topics.

NMI and ARI against a label column fall as a partition gets finer, so a map's
30-cluster layer and BERTopic's 10 topics cannot be compared. Here every
comparison is between partitions with the same number of groups:

- each of our layers with ``k`` nodes against BERTopic's topics reduced to ``k``
  with its own ``reduce_topics`` (average linkage of its topic embeddings; its
  outliers stay outliers); a layer finer than BERTopic's own topics has no match
  (BERTopic cannot split a topic without refitting);
- BERTopic's own topics against our layer nearest their count (the smallest
  ``|log(k / topics)|``).

Each is scored twice (``pipeline.bench.metrics``): with noise as a class of its
own (each tool as it comes), and after every noise paper joins the cluster of its
nearest clustered papers (the same rule for both, in each tool's own space).
Several rounds (seeds) are summarised by their mean and standard deviation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .metrics import partition_scores, reassigned_scores


def nearest_layer(counts: Sequence[int], target: int) -> int:
    """Index of the count nearest ``target`` on a log scale (the coarser on a tie)."""
    if not counts:
        raise ValueError("no layers")
    return min(range(len(counts)),
               key=lambda i: (abs(math.log(max(counts[i], 1) / max(target, 1))), counts[i]))


def _scores(reference: np.ndarray, labels: Sequence[int], space: np.ndarray) -> dict[str, Any]:
    plain = partition_scores(reference, labels)
    moved = reassigned_scores(reference, labels, space)
    return {"nodes": plain.n_clusters, "nmi": plain.nmi, "ari": plain.ari,
            "noise": plain.noise_share, "nmi_reassigned": moved.nmi,
            "ari_reassigned": moved.ari}


def matched_round(reference: Sequence, ours: Mapping[str, Sequence[int]], our_space: np.ndarray,
                  *, their_reference: Sequence | None = None, theirs: Sequence[int] | None = None,
                  their_space: np.ndarray | None = None,
                  reduced: Mapping[int, Sequence[int]] | None = None) -> list[dict[str, Any]]:
    """One round's rows: each of our layers (``ours``: level -> each paper's node, finest
    first; ``reference``: each paper's label, in our order) against BERTopic reduced to its
    node count (``reduced``: count -> each paper's topic, in BERTopic's order, whose labels
    are ``their_reference``), then BERTopic's own topics (``theirs``) against our nearest
    layer. Without ``theirs``: our layers alone."""
    reference = np.asarray(reference)
    their_reference = reference if their_reference is None else np.asarray(their_reference)
    our_space = np.asarray(our_space)
    reduced = reduced or {}
    rows = []
    counts = []
    for level, labels in ours.items():
        mine = _scores(reference, labels, our_space)
        counts.append(mine["nodes"])
        match = reduced.get(mine["nodes"])
        rows.append({"match": level, "level": level, "ours": mine,
                     "bertopic": _scores(their_reference, match, their_space) if match is not None
                     else None})
    if theirs is not None:
        own = _scores(their_reference, theirs, np.asarray(their_space))
        level = list(ours)[nearest_layer(counts, own["nodes"])]
        rows.append({"match": "bertopic", "level": level,
                     "ours": _scores(reference, ours[level], our_space), "bertopic": own})
    return rows


def summarize(rounds: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows of several rounds merged by what they match: the mean and sd of every score
    over the rounds where both sides paired up (all rounds where BERTopic never did), node
    counts as their range."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for rows in rounds:
        for row in rows:
            merged.setdefault(row["match"], []).append(row)
    out = []
    for match, rows in merged.items():
        paired = [r for r in rows if r["bertopic"] is not None]
        used = paired or rows
        entry: dict[str, Any] = {"match": match, "rounds": len(used), "of": len(rows),
                                 "levels": sorted({r["level"] for r in used})}
        for side in ("ours", "bertopic"):
            scored = [r[side] for r in used if r[side] is not None]
            entry[side] = _mean(scored) if scored else None
        out.append(entry)
    return out


def _mean(scored: Sequence[dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"nodes": [min(s["nodes"] for s in scored),
                                       max(s["nodes"] for s in scored)]}
    for key in ("nmi", "ari", "noise", "nmi_reassigned", "ari_reassigned"):
        values = [s[key] for s in scored]
        entry[key], entry[key + "_sd"] = float(np.mean(values)), float(np.std(values))
    return entry


def holds(rows: Sequence[dict[str, Any]]) -> bool | None:
    """Whether our mean NMI is at least BERTopic's in every row where they paired up
    (None: nothing paired)."""
    paired = [r for r in rows if r["ours"] and r["bertopic"]]
    if not paired:
        return None
    return all(r["ours"]["nmi"] >= r["bertopic"]["nmi"] for r in paired)
