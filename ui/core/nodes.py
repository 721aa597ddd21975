"""A map's topic layers as the dashboard reads them: nodes, names, ancestry. No streamlit.

A map keeps nested layers of topics (format v2, SPEC "Map format v2"): layer 0 is the
finest (``level == "cluster"``), layer L-1 the broadest (``"theme"``), ``layer_1`` ...
between; each level is also the documents column holding every paper's node there.
A map of the first format (themes over clusters, no ``layer`` column, no quality flags)
reads as a two-layer hierarchy.

:func:`node_table` normalises a clusters table once per map: every v2 column present,
``depth`` (0 = broadest), a ``key`` (``"layer_1:3"``, the form trails and URLs use), the
theme each node belongs to, and the names: ``label`` is the name shown (the chosen naming
method's where it named the node, else the offline one), ``offline_label`` the offline one,
``named_by`` the method that gave the shown name and ``alt_name`` whether it is not the
offline namer. The naming methods come from ``pipeline.naming.registry.NAMERS``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.naming.registry import DEFAULT_NAMER, NAMERS, namer_class

from .view import NOISE, map_levels

#: The offline names: every map has them, and they stand in wherever another method gave
#: a node no name.
NAMES_OFFLINE = DEFAULT_NAMER
_DEFAULTS = {"weak_name": False, "fragile": False, "llm_label": "", "llm_description": "",
             "stability": np.nan, "support": np.nan, "contrast": np.nan}


def _filled(clusters: pd.DataFrame, column: str) -> pd.Series:
    values = clusters[column] if column in clusters.columns else pd.Series("", clusters.index)
    return values.fillna("").astype(str).str.strip() != ""


def names_modes(clusters: pd.DataFrame) -> list[str]:
    """The naming methods that named some node of the map, in registry order, offline
    last: the choices of the dashboard's "Topic names" switch (the first is the default)."""
    others = [key for key in NAMERS if key != NAMES_OFFLINE
              and _filled(clusters, namer_class(key).column).any()]
    return [*others, NAMES_OFFLINE]


def names_title(key: str) -> str:
    """How the switch shows a naming method."""
    return namer_class(key).title


def node_table(clusters: pd.DataFrame, names: str | None = None) -> pd.DataFrame:
    """The clusters table with every node's ``layer``, ``depth`` (0 = broadest), ``key``,
    ``theme`` (its broadest ancestor), the v2 quality flags (False where a map has none),
    and ``label`` = the name the naming method ``names`` gave it, else the offline one
    (``offline_label`` keeps that, ``named_by`` says which, ``description`` is the shown
    method's description of the node, "" if none); None: the first of :func:`names_modes`."""
    levels = map_levels(clusters)  # broadest first
    out = clusters.reset_index(drop=True).copy()
    depth_of = {level: depth for depth, level in enumerate(levels)}
    out["depth"] = out["level"].map(depth_of).astype(int)
    if "layer" not in out.columns:
        out["layer"] = len(levels) - 1 - out["depth"]
    for column, default in _DEFAULTS.items():
        if column not in out.columns:
            out[column] = default
    for column in ("weak_name", "fragile"):
        out[column] = out[column].fillna(False).astype(bool)
    for column in ("llm_label", "llm_description"):
        out[column] = out[column].fillna("").astype(str)
    out["id"] = out["id"].astype(int)
    out["parent"] = out["parent"].astype(int)
    out["size"] = out["size"].astype(int)
    out["offline_label"] = out["label"].astype(str)
    names = names_modes(clusters)[0] if names is None else names
    namer = namer_class(names if names in NAMERS else NAMES_OFFLINE)
    alt = _filled(out, namer.column) & (namer.key != NAMES_OFFLINE)
    if alt.any():
        out["label"] = out["offline_label"].where(~alt, out[namer.column].astype(str))
    described = namer.description_column if namer.description_column in out.columns else None
    out["description"] = out[described].fillna("").astype(str).where(alt, "") \
        if described else ""
    out["named_by"] = np.where(alt, namer.key, NAMES_OFFLINE)
    out["alt_name"] = alt
    out["key"] = out["level"].astype(str) + ":" + out["id"].astype(str)
    out["theme"] = _themes(out, levels)
    return out.sort_values(["depth", "size", "id"], ascending=[True, False, True],
                           ignore_index=True)


def _themes(nodes: pd.DataFrame, levels: list[str]) -> np.ndarray:
    """The broadest ancestor's id of every node (walking ``parent`` up the layers)."""
    theme_of: dict[tuple[str, int], int] = {}
    for depth, level in enumerate(levels):
        rows = nodes[nodes["level"] == level]
        for node_id, parent in zip(rows["id"], rows["parent"], strict=True):
            if depth == 0:
                theme_of[(level, int(node_id))] = int(node_id)
            else:
                theme_of[(level, int(node_id))] = theme_of.get((levels[depth - 1], int(parent)),
                                                               int(parent))
    return np.array([theme_of[(lv, int(i))] for lv, i in zip(nodes["level"], nodes["id"],
                                                             strict=True)], dtype=np.int64)


def levels_of(nodes: pd.DataFrame) -> list[str]:
    """The levels of a node table, broadest first."""
    return [str(v) for v in nodes.sort_values("depth")["level"].drop_duplicates()]


def parse_key(key: str) -> tuple[str, int] | None:
    """``"layer_1:3"`` -> ``("layer_1", 3)``; ``None`` for anything else."""
    level, _, number = str(key or "").partition(":")
    if not level or not number.isdigit() or len(number) > 7:
        return None
    return level, int(number)


def node(nodes: pd.DataFrame, key: str) -> pd.Series | None:
    """The row of node ``key`` (``"level:id"``), or ``None`` when the map has none."""
    hit = np.flatnonzero(nodes["key"].to_numpy(dtype=object) == key)  # (10x a str Series' ==)
    return nodes.iloc[int(hit[0])] if len(hit) else None


def children(nodes: pd.DataFrame, key: str) -> pd.DataFrame:
    """The nodes one layer finer whose parent is ``key``, largest first."""
    parent = node(nodes, key)
    if parent is None:
        return nodes.iloc[0:0]
    finer = nodes[(nodes["depth"].to_numpy() == parent["depth"] + 1)
                  & (nodes["parent"].to_numpy() == parent["id"])]
    return finer.sort_values(["size", "id"], ascending=[False, True])


def ancestors(nodes: pd.DataFrame, key: str) -> list[str]:
    """Keys from the broadest ancestor down to ``key`` itself (empty if unknown)."""
    levels = levels_of(nodes)
    path: list[str] = []
    current = node(nodes, key)
    while current is not None:
        path.append(str(current["key"]))
        depth = int(current["depth"])
        if depth == 0:
            break
        current = node(nodes, f"{levels[depth - 1]}:{int(current['parent'])}")
    return path[::-1]


def member_mask(documents: pd.DataFrame, key: str) -> np.ndarray:
    """Which papers belong to node ``key`` (all False for an unknown node)."""
    parsed = parse_key(key)
    if parsed is None or parsed[0] not in documents.columns:
        return np.zeros(len(documents), dtype=bool)
    return documents[parsed[0]].to_numpy() == parsed[1]


def names_by_level(nodes: pd.DataFrame) -> dict[str, dict[int, str]]:
    """``{level: {id: name shown}}`` for every level."""
    return {str(level): dict(zip(rows["id"].astype(int), rows["label"].astype(str),
                                 strict=True))
            for level, rows in nodes.groupby("level", sort=False)}


def visible_counts(documents: pd.DataFrame, nodes: pd.DataFrame, mask: np.ndarray | None,
                   ) -> np.ndarray:
    """Papers of each node (in ``nodes``' order) among those ``mask`` lets through."""
    out = np.zeros(len(nodes), dtype=np.int64)
    for level, rows in nodes.groupby("level", sort=False):
        if level not in documents.columns:
            continue
        column = documents[level].to_numpy()
        if mask is not None:
            column = column[mask]
        column = column[column != NOISE]
        counts = np.bincount(column, minlength=int(rows["id"].max()) + 1) if len(column) \
            else np.zeros(int(rows["id"].max()) + 1, dtype=np.int64)
        out[rows.index.to_numpy()] = counts[rows["id"].to_numpy()]
    return out


def node_geometry(documents: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """Per node (``nodes``' order): the box holding the middle 96% of its papers
    (``x0, x1, y0, y1``, to zoom to it) and its spread (``rx, ry``: half the box of the
    middle 80%, to tell how big it is drawn)."""
    out = np.full((len(nodes), 6), np.nan)
    for level, rows in nodes.groupby("level", sort=False):
        if level not in documents.columns:
            continue
        part = documents.loc[documents[level] != NOISE, [level, "x", "y"]]
        grouped = part.groupby(level)
        q = grouped[["x", "y"]].quantile([0.02, 0.1, 0.9, 0.98]).unstack()
        for position, node_id in zip(rows.index, rows["id"], strict=True):
            if node_id not in q.index:
                continue
            r = q.loc[node_id]
            out[position] = [r[("x", 0.02)], r[("x", 0.98)], r[("y", 0.02)], r[("y", 0.98)],
                             (r[("x", 0.9)] - r[("x", 0.1)]) / 2,
                             (r[("y", 0.9)] - r[("y", 0.1)]) / 2]
    return pd.DataFrame(out, columns=["x0", "x1", "y0", "y1", "rx", "ry"], index=nodes.index)
