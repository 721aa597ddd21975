"""Drill-down helpers: the trail in the URL and the groups one can drill into."""

from __future__ import annotations

import pandas as pd

from .escape import escape

LEVELS = ("theme", "cluster")
MAX_DEPTH = 6
#: A drill-down trail: ``(level, id)`` steps from the whole map down.
Trail = tuple[tuple[str, int], ...]


def parse_trail(text: str) -> Trail:
    """``"theme:2,cluster:5"`` -> ``(("theme", 2), ("cluster", 5))``; bad steps end the trail."""
    out: list[tuple[str, int]] = []
    for item in (text or "").split(",")[:MAX_DEPTH]:
        level, _, number = item.strip().partition(":")
        if level not in LEVELS or not number.isdigit() or len(number) > 6:
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
    """``{"theme:0": "Theme · label (size)", ...}``: every theme then cluster, largest first.

    Keys are trail steps (see :func:`parse_trail`), so a choice is a plain string.
    """
    out: dict[str, str] = {}
    for level in LEVELS:
        rows = clusters[clusters["level"] == level].sort_values(["size", "id"],
                                                                ascending=[False, True])
        for row in rows.itertuples(index=False):
            out[f"{level}:{int(row.id)}"] = (
                f"{level.capitalize()} · {escape(row.label, 'plain', limit=60)} "
                f"({int(row.size):,})")
    return out
