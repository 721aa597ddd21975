"""A map's levels: each layer's name, their order, and which node holds which.

Layer 0 is the finest (``cluster``), the last the broadest (``theme``), the ones between
``layer_1`` ... in the documents table's columns and the clusters table's ``level``.
"""

from __future__ import annotations

import pandas as pd

#: The finest and the broadest level, which every map has.
FINEST, BROADEST = "cluster", "theme"


def level_names(n_layers: int) -> list[str]:
    """The level (documents column) of each layer, finest first: ``cluster``,
    ``layer_1`` ... ``layer_{L-2}``, ``theme``."""
    if n_layers < 2:
        raise ValueError(f"a map has at least two layers, got {n_layers}")
    return [FINEST, *(f"layer_{k}" for k in range(1, n_layers - 1)), BROADEST]


def level_order(clusters: pd.DataFrame) -> list[str]:
    """The levels of a clusters table, finest first (by its ``layer`` column, else by name)."""
    if "layer" in clusters.columns:
        return list(clusters.groupby("level")["layer"].min().sort_values(kind="stable").index)
    names = dict.fromkeys(clusters["level"].astype(str))
    return sorted(names, key=lambda n: 0 if n == FINEST else float("inf") if n == BROADEST
                  else int(n.removeprefix("layer_")) if n.removeprefix("layer_").isdigit() else 1)


def ancestors(clusters: pd.DataFrame, level: str, broader: str) -> dict[int, int]:
    """Each node of ``level`` mapped to the node of the ``broader`` level that holds it, by
    following the parent links of a clusters table (``{cluster id: theme id}`` for
    ``("cluster", "theme")``, whatever layers lie between). Levels are names of the
    table's ``level`` column; ``broader`` may equal ``level``."""
    levels = level_order(clusters)
    start, stop = levels.index(level), levels.index(broader)
    if stop < start:
        raise ValueError(f"{broader!r} is not broader than {level!r} (levels: {levels})")
    rows = clusters[clusters["level"] == level]
    out = {int(i): int(i) for i in rows["id"]}
    for between in levels[start:stop]:
        rows = clusters[clusters["level"] == between]
        parent = dict(zip(rows["id"].astype(int), rows["parent"].astype(int), strict=True))
        out = {node: parent[up] for node, up in out.items()}
    return out
