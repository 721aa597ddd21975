"""Compare two maps of the same corpus: which clusters persist, split, merge, vanish or are new.

Clusters are matched by the papers they share (papers are matched by ``id``;
only papers on both maps count). With ``overlap(a, b)`` the number of papers
in old cluster ``a`` and new cluster ``b``, and ``t`` the threshold (0.5):

* **split**: at least two new clusters each come mostly (``overlap / |b| >= t``)
  from ``a`` and each hold at least ``min_part`` (0.2) of ``a``'s papers, and
  together they hold at least ``t`` of them;
* **merged** (as a group): the mirror image of a split: at least two old
  clusters each went mostly (``overlap / |a| >= t``) into one new ``b``, each
  making at least ``min_part`` of it, and together at least ``t`` of it;
* **persists**: none of these, and ``a`` and some ``b`` have Jaccard
  ``overlap / |a ∪ b| > t`` (for ``t >= 0.5`` at most one such ``b`` exists);
  a small splinter (under ``min_part``) shows up as a **new** cluster;
* **merged** (absorbed): none of these, and at least ``t`` of ``a``'s papers
  went into one new cluster ``b`` that also holds others (``merged_with``
  names the other old clusters that went into it);
* **vanished**: none of the above (its papers became noise or scattered);
* **new**: a new cluster that is no old cluster's persisting match, split
  part or merge target; ``came_from`` names the old clusters (or noise, -1)
  that supplied at least ``t`` of it, e.g. a splinter off a persisting cluster.

A paper **moved** when its new cluster is not one its old cluster went to
(its match, its split parts or its merge target), noise included: noise to a
cluster, a cluster to noise, or to an unrelated cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError
from pipeline.mapdir.store import TopicMap

NOISE = -1
STATUSES = ("persists", "split", "merged", "vanished", "new")


@dataclass
class Comparison:
    """The outcome of comparing an old and a new labelling of the same papers."""

    transitions: pd.DataFrame  # one row per old cluster, plus one per new cluster that is new
    moved: pd.DataFrame  # papers whose cluster changed (see the module docstring)
    summary: dict = field(default_factory=dict)
    flows: pd.DataFrame = field(default_factory=pd.DataFrame)  # old, new, papers (non-zero)


def compare_labels(ids: list[str] | np.ndarray, old: np.ndarray, new: np.ndarray, *,
                   threshold: float = 0.5, min_part: float = 0.2,
                   old_names: dict[int, str] | None = None,
                   new_names: dict[int, str] | None = None,
                   old_sizes: dict[int, int] | None = None,
                   new_sizes: dict[int, int] | None = None) -> Comparison:
    """Compare two cluster labellings of the same papers (``-1`` = noise).

    ``old_sizes``/``new_sizes``: each cluster's size on its whole map, reported as the
    transitions' ``old_size``/``new_size`` when the maps hold more than these papers
    (the rule and ``jaccard`` always count the papers compared).
    """
    if not 0 < threshold <= 1:
        raise PipelineError(f"threshold must be in (0, 1], got {threshold!r}")
    if not 0 < min_part <= 0.5:
        raise PipelineError(f"min_part must be in (0, 0.5], got {min_part!r}")
    old = np.asarray(old, dtype=int)
    new = np.asarray(new, dtype=int)
    ids = np.asarray(ids, dtype=object)
    old_names = old_names or {}
    new_names = new_names or {}
    old_ids = sorted(int(c) for c in np.unique(old) if c != NOISE)
    new_ids = sorted(int(c) for c in np.unique(new) if c != NOISE)
    overlap = pd.crosstab(pd.Series(old, name="old"), pd.Series(new, name="new"))
    old_size = {c: int((old == c).sum()) for c in old_ids}
    new_size = {c: int((new == c).sum()) for c in new_ids}

    def ov(a: int, b: int) -> int:
        return int(overlap.at[a, b]) if a in overlap.index and b in overlap.columns else 0

    def jaccard(a: int, b: int) -> float:
        shared = ov(a, b)
        return shared / (old_size[a] + new_size[b] - shared) if shared else 0.0

    # A merge group: a new cluster made mostly of two or more big old clusters
    # (the mirror image of a split), whichever of them keeps a Jaccard near 0.5.
    merge_into: dict[int, int] = {}
    for b in new_ids:
        members = [a for a in old_ids if ov(a, b) >= threshold * old_size[a]
                   and ov(a, b) >= min_part * new_size[b]]
        if len(members) >= 2 and sum(ov(a, b) for a in members) >= threshold * new_size[b]:
            merge_into.update({a: b for a in members})

    goes_to: dict[int, list[int]] = {}
    status: dict[int, str] = {}
    for a in old_ids:
        parts = [b for b in new_ids if ov(a, b) >= threshold * new_size[b]
                 and ov(a, b) >= min_part * old_size[a]]
        if len(parts) >= 2 and sum(ov(a, b) for b in parts) >= threshold * old_size[a]:
            status[a], goes_to[a] = "split", parts
            continue
        if a in merge_into:
            status[a], goes_to[a] = "merged", [merge_into[a]]
            continue
        best = max(new_ids, key=lambda b: (jaccard(a, b), -b), default=None)
        if best is not None and jaccard(a, best) > threshold:
            status[a], goes_to[a] = "persists", [best]
            continue
        target = max(new_ids, key=lambda b: (ov(a, b), -b), default=None)
        if target is not None and ov(a, target) >= threshold * old_size[a]:
            status[a], goes_to[a] = "merged", [target]
            continue
        status[a], goes_to[a] = "vanished", []

    sources: dict[int, list[int]] = {b: [] for b in new_ids}
    for a, targets in goes_to.items():
        for b in targets:
            sources[b].append(a)

    old_total = {c: int((old_sizes or {}).get(c, old_size[c])) for c in old_ids}
    new_total = {c: int((new_sizes or {}).get(c, new_size[c])) for c in new_ids}
    rows = []
    for a in old_ids:
        targets = goes_to[a]
        shared = sum(ov(a, b) for b in targets)
        # Jaccard of the old cluster and the new one(s) it went to, taken together (0 when
        # it went nowhere).
        union = old_size[a] + sum(new_size[b] for b in targets) - shared
        rows.append({
            "status": status[a],
            "old": [a], "old_labels": [old_names.get(a, f"cluster {a}")],
            "new": targets, "new_labels": [new_names.get(b, f"cluster {b}") for b in targets],
            "old_size": old_total[a], "new_size": sum(new_total[b] for b in targets),
            "shared": shared,
            "jaccard": round(shared / union, 3) if shared else 0.0,
            "to_noise": ov(a, NOISE),
        })
    supplied_by = {b: [a for a in [*old_ids, NOISE] if ov(a, b) >= threshold * new_size[b]]
                   for b in new_ids}
    for b in new_ids:
        if sources[b]:
            continue
        rows.append({
            "status": "new", "old": [], "old_labels": [],
            "new": [b], "new_labels": [new_names.get(b, f"cluster {b}")],
            "old_size": 0, "new_size": new_total[b], "shared": 0, "jaccard": 0.0,
            "to_noise": 0, "came_from": supplied_by[b],
        })
    transitions = pd.DataFrame(rows, columns=["status", "old", "old_labels", "new", "new_labels",
                                              "old_size", "new_size", "shared", "jaccard",
                                              "to_noise", "came_from"])
    transitions["came_from"] = [c if isinstance(c, list) else [] for c in transitions["came_from"]]
    transitions["merged_with"] = [
        sorted({a for b in r.new for a in sources[b]} - set(r.old))
        if r.status == "merged" else [] for r in transitions.itertuples()]
    order = {s: i for i, s in enumerate(STATUSES)}
    transitions = transitions.sort_values(
        by=["status", "old_size", "new_size"], key=lambda c: c.map(order) if c.name == "status"
        else -c, kind="stable").reset_index(drop=True)

    moved = _moved(ids, old, new, goes_to, old_names, new_names)
    counts = transitions["status"].value_counts()
    summary = {
        "papers_compared": len(ids),
        "old_clusters": len(old_ids), "new_clusters": len(new_ids),
        **{status_name: int(counts.get(status_name, 0)) for status_name in STATUSES},
        "papers_moved": len(moved),
        "share_unmoved": round(1 - len(moved) / len(ids), 4) if len(ids) else 1.0,
        "adjusted_rand": round(_ari(old, new), 4),
    }
    flows = overlap.stack().rename("papers").reset_index()
    flows = flows[flows["papers"] > 0].astype(int).reset_index(drop=True)
    return Comparison(transitions, moved, summary, flows)


def shared_papers(old_map: TopicMap, new_map: TopicMap) -> dict[str, float]:
    """How many papers (by id) two maps have in common, and what share of each that is."""
    old_ids = set(old_map.documents["id"].astype(str))
    new_ids = set(new_map.documents["id"].astype(str))
    shared = len(old_ids & new_ids)
    return {"shared": shared, "old": len(old_ids), "new": len(new_ids),
            "share_of_old": shared / len(old_ids) if old_ids else 0.0,
            "share_of_new": shared / len(new_ids) if new_ids else 0.0}


def compare_maps(old_map: TopicMap, new_map: TopicMap, *, level: str = "cluster",
                 threshold: float = 0.5, min_part: float = 0.2,
                 min_shared: float = 0.0) -> Comparison:
    """Compare two maps of the same corpus at ``level`` by shared ids.

    ``level`` is a level both maps have: "cluster" (the finest layer), "theme" (the
    broadest) or a layer between ("layer_1", ...). Only papers on both maps are
    compared. ``min_shared``: refuse maps that have fewer papers in common than this
    share of the smaller map's papers (unrelated maps).
    """
    common = [name for name in old_map.levels if name in new_map.levels]
    if level not in common:
        raise PipelineError(f"level must be one both maps have ({', '.join(common)}), "
                            f"got {level!r}")
    old_docs = old_map.documents.drop_duplicates("id").set_index(
        old_map.documents.drop_duplicates("id")["id"].astype(str))
    new_docs = new_map.documents.drop_duplicates("id").set_index(
        new_map.documents.drop_duplicates("id")["id"].astype(str))
    shared = old_docs.index.intersection(new_docs.index, sort=False)
    if len(shared) == 0:
        raise PipelineError("the two maps share no paper ids, so their clusters cannot be "
                            "matched; compare maps built from the same input")
    if len(shared) < min_shared * min(len(old_docs), len(new_docs)):
        raise PipelineError(
            f"the two maps share only {len(shared):,} papers ({len(shared) / len(old_docs):.0%} "
            f"of the old map, {len(shared) / len(new_docs):.0%} of the new), fewer than "
            f"{min_shared:.0%} of the smaller one: they are maps of different papers; "
            "compare maps built from the same input")
    result = compare_labels(
        list(shared), old_docs.loc[shared, level].to_numpy(), new_docs.loc[shared, level].to_numpy(),
        threshold=threshold, min_part=min_part, old_names=_names(old_map.clusters, level),
        new_names=_names(new_map.clusters, level),
        old_sizes=_sizes(old_docs[level]), new_sizes=_sizes(new_docs[level]))
    titles = old_docs.loc[result.moved["id"], "title"].astype(str).to_numpy(dtype=object) \
        if len(result.moved) else np.array([], dtype=object)
    result.moved.insert(1, "title", titles)
    result.summary.update({
        "level": level,
        "only_in_old": int(len(old_docs) - len(shared)),
        "only_in_new": int(len(new_docs) - len(shared)),
    })
    return result


def _moved(ids: np.ndarray, old: np.ndarray, new: np.ndarray, goes_to: dict[int, list[int]],
           old_names: dict[int, str], new_names: dict[int, str]) -> pd.DataFrame:
    expected = [(n in goes_to.get(o, [])) if o != NOISE else n == NOISE
                for o, n in zip(old.tolist(), new.tolist(), strict=True)]
    changed = ~np.asarray(expected, dtype=bool)
    kinds = np.where(old[changed] == NOISE, "from noise",
                     np.where(new[changed] == NOISE, "to noise", "moved"))

    def name(names: dict[int, str], c: int) -> str:
        return "noise" if c == NOISE else names.get(c, f"cluster {c}")

    return pd.DataFrame({
        "id": ids[changed].astype(str),
        "kind": kinds,
        "old_cluster": old[changed], "old_label": [name(old_names, c) for c in old[changed]],
        "new_cluster": new[changed], "new_label": [name(new_names, c) for c in new[changed]],
    })


def _ari(old: np.ndarray, new: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(old, new)) if len(old) else 1.0


def _sizes(groups: pd.Series) -> dict[int, int]:
    counts = groups.value_counts()
    return {int(c): int(n) for c, n in counts.items()}


def _names(clusters: pd.DataFrame, level: str) -> dict[int, str]:
    rows = clusters[clusters["level"] == level]
    return dict(zip(rows["id"].astype(int), rows["label"].astype(str), strict=True))


def format_comparison(result: Comparison) -> str:
    """The transitions and summary as text, for the command line."""
    s = result.summary
    lines = [f"{s['papers_compared']} shared papers ({s.get('only_in_old', 0)} only in the old "
             f"map, {s.get('only_in_new', 0)} only in the new); {s['old_clusters']} -> "
             f"{s['new_clusters']} {s.get('level', 'cluster')}s",
             ", ".join(f"{s[k]} {k}" for k in STATUSES)
             + f"; {s['papers_moved']} papers moved; adjusted Rand {s['adjusted_rand']:.3f}", ""]
    for row in result.transitions.itertuples():
        old = " + ".join(f"{c} {label!r}" for c, label in zip(row.old, row.old_labels, strict=True))
        new = " + ".join(f"{c} {label!r}" for c, label in zip(row.new, row.new_labels, strict=True))
        if row.status == "new":
            origin = ", ".join("noise" if c < 0 else f"old {c}" for c in row.came_from)
            lines.append(f"{row.status:<9} {new} ({row.new_size}), mostly from "
                         f"{origin or 'several clusters'}")
        elif row.status == "vanished":
            lines.append(f"{row.status:<9} {old} ({row.old_size}): {row.to_noise} to noise, "
                         "the rest scattered")
        else:
            jac = "" if pd.isna(row.jaccard) else f" J={row.jaccard:.2f}"
            lines.append(f"{row.status:<9} {old} ({row.old_size}) -> {new} ({row.new_size}); "
                         f"{row.shared} shared{jac}")
    return "\n".join(lines)
