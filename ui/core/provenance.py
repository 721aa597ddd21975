"""Why a topic has its name, read from its row of the clusters table: what the drill-down's
"Why this name" shows. No streamlit.

:func:`name_evidence` turns a node's row into :class:`NameEvidence`: the candidate phrases
with a real naming score (best first), those the namer listed without scoring them, and
one sentence per provenance column the row has. A new provenance column is one line in
:data:`FACTS` (its columns and the sentence it makes); the page shows every sentence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class NameEvidence:
    """What a topic's name rests on, ready to show (text raw: the page escapes it)."""

    phrases: tuple[str, ...]  # candidates with a naming score, best first
    scores: tuple[float, ...]  # their scores (>= 0)
    unscored: tuple[str, ...]  # candidates listed without a score (not short-listed)
    facts: tuple[str, ...]  # sentences from the provenance columns the row has


def is_score(weight: object) -> bool:
    """Whether a ``weights`` entry is a naming score. The offline namer's scores are never
    negative; a candidate it did not short-list for the model gets a placeholder of about
    -1 (``pipeline.naming.rank``), which ranks it but is no score."""
    try:
        value = float(weight)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isfinite(value) and value >= 0


def _present(row: pd.Series, column: str) -> bool:
    value = row.get(column)
    return value is not None and not (isinstance(value, float) and math.isnan(value)) \
        and str(value).strip() != ""


def _support(row: pd.Series) -> str | None:
    if not (_present(row, "support") and _present(row, "contrast")):
        return None
    return (f"Its name's most specific word is written by {float(row['support']):.0%} of its "
            f"papers and by {1 - float(row['contrast']):.0%} of its siblings' papers"
            + (" — a weak name: read its papers with care." if bool(row.get("weak_name"))
               else "."))


#: Provenance columns and the sentence each makes (None: nothing to say for this row).
FACTS: list[tuple[tuple[str, ...], Callable[[pd.Series], str | None]]] = [
    (("support", "contrast"), _support),
]


def name_evidence(row: pd.Series) -> NameEvidence:
    """What the "Why this name" panel shows for a node (a row of ``node_table``)."""
    terms = list(row.get("terms") if row.get("terms") is not None else [])
    weights = list(row.get("weights") if row.get("weights") is not None else [])
    weights += [None] * (len(terms) - len(weights))
    scored = [(str(t), float(w)) for t, w in zip(terms, weights, strict=False) if is_score(w)]
    scored.sort(key=lambda item: -item[1])
    unscored = tuple(str(t) for t, w in zip(terms, weights, strict=False) if not is_score(w))
    facts = []
    for columns, sentence in FACTS:
        if all(column in row.index for column in columns):
            text = sentence(row)
            if text:
                facts.append(text)
    return NameEvidence(phrases=tuple(t for t, _ in scored), scores=tuple(w for _, w in scored),
                        unscored=unscored, facts=tuple(facts))
