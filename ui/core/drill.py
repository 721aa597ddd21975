"""Drill-down over the map's saved layers: the trail in the URL, the topic it leads to, its
sub-topics, and what re-mapping a topic would cost. No streamlit.

A topic's sub-topics are its children in the next finer layer, saved with the map: seeing
them needs no re-mapping, and the sub-map is the same coordinates, zoomed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .beside import beside
from .escape import escape
from .nodes import ancestors, children, member_mask, node, parse_key
from .view import map_levels
from .wording import a_topic, level_noun

#: Level names a trail may hold: the two every map has, and the layers between them
#: (``layer_1`` ...) of a map with a deeper hierarchy.
LEVEL = re.compile(r"theme|cluster|layer_\d{1,2}")
MAX_DEPTH = 6
#: A drill-down trail: ``(level, id)`` steps from the whole map down.
Trail = tuple[tuple[str, int], ...]


def parse_trail(text: str) -> Trail:
    """``"theme:2,cluster:5"`` -> ``(("theme", 2), ("cluster", 5))``; bad steps end the trail."""
    out: list[tuple[str, int]] = []
    for item in (text or "").split(",")[:MAX_DEPTH]:
        level, _, number = item.strip().partition(":")
        if not LEVEL.fullmatch(level) or not number.isdigit() or len(number) > 6:
            break
        out.append((level, int(number)))
    return tuple(out)


def trail_param(trail: Trail) -> str:
    """The URL form of a trail (inverse of :func:`parse_trail`)."""
    return ",".join(f"{level}:{group}" for level, group in trail)


def resolve(nodes: pd.DataFrame, trail: Trail) -> tuple[str, tuple[str, int] | None]:
    """The topic a trail leads to (its key; "" = the whole map), and the first step that
    is not a topic of the map inside the one before it (``None`` when all are)."""
    key = ""
    for level, group in trail:
        step = f"{level}:{group}"
        if node(nodes, step) is None or (key and key not in ancestors(nodes, step)[:-1]):
            return key, (level, group)
        key = step
    return key, None


def path_to(nodes: pd.DataFrame, key: str) -> Trail:
    """The steps from the broadest layer down to ``key`` (its ancestors, then itself)."""
    return tuple(parse_key(k) for k in ancestors(nodes, key)) if key else ()


def sub_topics(nodes: pd.DataFrame, key: str) -> pd.DataFrame:
    """The topics one layer down from ``key`` (the broadest layer for the whole map)."""
    if not key:
        return nodes[nodes["depth"] == 0].sort_values(["size", "id"], ascending=[False, True])
    return children(nodes, key)


def child_colours(children_of_topic: pd.DataFrame) -> dict[int, int]:
    """A colour index per sub-topic (largest first), so siblings get distinct hues."""
    return {int(c): i for i, c in enumerate(children_of_topic["id"])}


#: A paper is a stray of its topic when its distance to its ``STRAY_K``-th nearest paper of
#: the topic is over ``STRAY_FACTOR`` times the topic's median such distance.
STRAY_K, STRAY_FACTOR = 8, 5.0


def fit_box(x: np.ndarray, y: np.ndarray, *, pad: float = 0.04) -> tuple[list[float], int]:
    """The view that fits a topic's papers: the extent of all but its strays (papers far
    from any group of its others, by their nearest neighbours on the map), widened by
    ``pad`` of its span on each side, so a few stray papers do not shrink the topic into
    a corner. A group of strays together is a group, and stays in view. Returns
    ``[x0, x1, y0, y1]`` and how many papers lie outside it."""
    points = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    if not len(points):
        return [0.0, 1.0, 0.0, 1.0], 0
    keep = np.ones(len(points), dtype=bool)
    if len(points) > 2 * STRAY_K:
        from scipy.spatial import cKDTree

        far = cKDTree(points).query(points, k=STRAY_K + 1)[0][:, -1]
        keep = far <= STRAY_FACTOR * max(float(np.median(far)), 1e-12)
    low, high = points[keep].min(axis=0), points[keep].max(axis=0)
    span = np.maximum(high - low, 1e-6)
    low, high = low - pad * span, high + pad * span
    box = [float(low[0]), float(high[0]), float(low[1]), float(high[1])]
    outside = ((points < low) | (points > high)).any(axis=1)
    return box, int(outside.sum())


def subtree_payload(payload: dict, nodes: pd.DataFrame, documents: pd.DataFrame,
                    key: str, colours: dict[int, str] | None = None,
                    extent: list[float] | None = None) -> dict:
    """The overlay payload (``ui.figures.overlay.label_payload``) for the map of topic ``key``:
    the names of the topics inside it, each in ``colours`` of the sub-topic that holds it
    (by sub-topic id) when given. Its sub-topics are the second layer of names (the size
    of a layer's names under the themes, not the themes' large type, which covered the
    topic's points), written beside their papers (:func:`ui.core.beside.beside`): give
    their keys to the overlay's ``reveal`` to show them at once.
    ``extent`` is the view the map opens on (:func:`fit_box`; default: all its papers)."""
    if not key or not payload:
        return payload
    top = node(nodes, key)
    inside = documents[member_mask(documents, key)]
    levels = map_levels(nodes)[int(top["depth"]) + 1:]
    keep: dict[str, str | None] = {}
    for level in levels:
        ids = inside[level].to_numpy()
        holder = inside[ids >= 0].groupby(level)[levels[0]].agg(lambda v: v.mode().iat[0])
        for i, child in holder.items():
            keep[f"{level}:{int(i)}"] = (colours or {}).get(int(child))
    shift = int(top["depth"])
    labels = [{**item, "d": item["d"] - shift, "c": keep[item["k"]] or item["c"]}
              for item in payload["labels"] if item["k"] in keep]
    points = inside[["x", "y"]].to_numpy(float)
    if extent is None:
        extent = [float(points[:, 0].min()), float(points[:, 0].max()),
                  float(points[:, 1].min()), float(points[:, 1].max())] if len(points) \
            else payload["extent"]
    # Its sub-topics' names beside their papers, not over them (ui.core.beside).
    owner = [f"{levels[0]}:{int(c)}" if c >= 0 else "" for c in inside[levels[0]]] \
        if levels else [""] * len(points)
    subs = [item for item in labels if item["d"] == 1]
    placed = {item["k"]: item for item in beside(subs, points, owner, extent)}
    labels = [placed.get(item["k"], item) for item in labels]
    return {**payload, "id": f"{payload['id']}-{key}", "extent": list(extent), "labels": labels}


def describe(row: pd.Series, n_children: int, child_level: str | None) -> str:
    """"A topic in layer 1 with 1,234 papers · 5 sub-topics in the next layer (clusters)"
    (markdown-safe)."""
    kind = escape(a_topic(str(row["level"])), "markdown")
    text = f"{kind[:1].upper()}{kind[1:]} with {int(row['size']):,} papers"
    if child_level:
        text += (f" · {n_children} sub-topic{'s' if n_children != 1 else ''} in the next "
                 f"layer ({escape(level_noun(child_level, 2), 'markdown')})")
    return text


def remap_seconds(manifest: dict, n_papers: int) -> float:
    """Roughly how long re-mapping ``n_papers`` takes here: the map's own UMAP time scaled
    to that many papers (UMAP grows a little faster than the number of papers), plus
    clustering and naming."""
    timings = manifest.get("timings") or {}
    total = int((manifest.get("counts") or {}).get("kept") or 0)
    reduce = float(timings.get("reduce") or 0.0)
    if total <= 0 or reduce <= 0:
        return 5.0 + n_papers / 250.0
    share = min(1.0, n_papers / total)
    other = float(timings.get("label") or 0.0) + float(timings.get("cluster") or 0.0)
    return 2.0 + reduce * share ** 1.1 + other * share


def group_choices(clusters: pd.DataFrame) -> dict[str, str]:
    """``{"theme:0": "Theme · label (size)", ...}``: every group of every level of the
    clusters table, broadest level first, largest group first.

    Keys are trail steps (see :func:`parse_trail`), so a choice is a plain string.
    """
    out: dict[str, str] = {}
    for level in map_levels(clusters):
        rows = clusters[clusters["level"] == level].sort_values(["size", "id"],
                                                                ascending=[False, True])
        for row in rows.itertuples(index=False):
            out[f"{level}:{int(row.id)}"] = (
                f"{level.replace('_', ' ').capitalize()} · "
                f"{escape(row.label, 'plain', limit=60)} "
                f"({int(row.size):,})")
    return out
