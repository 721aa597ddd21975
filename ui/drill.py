"""Drill-down helpers: the trail in the URL and the groups one can drill into."""

from __future__ import annotations

import re

import pandas as pd

from .escape import escape
from .view import map_levels

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


def group_row(clusters: pd.DataFrame, level: str, group: int) -> pd.Series | None:
    """The clusters-table row of a theme or cluster, or ``None`` if there is none."""
    rows = clusters[(clusters["level"] == level) & (clusters["id"] == group)]
    return None if rows.empty else rows.iloc[0]


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
