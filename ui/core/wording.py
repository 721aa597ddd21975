"""Levels of a map put into words, so sentences read naturally: "4 themes", "16 topics in
layer 1", "a topic in layer 1 with 1,146 papers" (never "16 layer 1"). No streamlit.

Level names are the clusters table's (``theme``, ``layer_1`` ..., ``cluster``); a name
that is not a layer reads as itself ("venue" -> "venues")."""

from __future__ import annotations

import re

_NOUNS = {"theme": "theme", "cluster": "cluster"}
_LAYER = re.compile(r"layer_(\d{1,2})")


def level_noun(level: str, n: int = 1) -> str:
    """One (``n == 1``) or more of ``level``'s topics: "theme" / "themes",
    "topic in layer 1" / "topics in layer 1"."""
    plural = "" if n == 1 else "s"
    level = str(level)
    if level in _NOUNS:
        return _NOUNS[level] + plural
    match = _LAYER.fullmatch(level)
    if match:
        return f"topic{plural} in layer {int(match.group(1))}"
    return level.replace("_", " ") + plural


def count_of(n: int, level: str) -> str:
    """"4 themes", "16 topics in layer 1", "1 cluster"."""
    return f"{n:,} {level_noun(level, n)}"


def a_topic(level: str) -> str:
    """"a theme", "a cluster", "a topic in layer 1"."""
    return f"a {level_noun(level)}"
