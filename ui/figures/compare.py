"""Figures and tables for comparing two maps. No streamlit import.

Labels come from the data and are escaped here (Sankey node labels are
Plotly text, so HTML-escaped; table cells are plain text).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from pipeline.review.compare import Comparison
from ui.core.escape import escape

from .map import FONT, NOISE_COLOUR

STATUS_COLOURS = {"persists": "#54a24b", "split": "#f58518", "merged": "#4c78a8",
                  "vanished": "#e45756", "new": "#b279a2"}


def transitions_sankey(result: Comparison, old_names: Mapping[int, str],
                       new_names: Mapping[int, str], *, min_papers: int = 1,
                       height: int = 520) -> go.Figure:
    """Old clusters (left) flowing into new clusters (right), by shared papers.

    Flows smaller than ``min_papers`` are left out; noise is a grey node on
    each side, named "unclustered" as on every page.
    """
    flows = result.flows[result.flows["papers"] >= min_papers]
    status_of = {c: r.status for r in result.transitions.itertuples() for c in r.old}
    new_status = {c: r.status for r in result.transitions.itertuples()
                  if r.status == "new" for c in r.new}
    old_ids = sorted(set(flows["old"]))
    new_ids = sorted(set(flows["new"]))
    old_index = {c: i for i, c in enumerate(old_ids)}
    new_index = {c: len(old_ids) + i for i, c in enumerate(new_ids)}

    def node(names: Mapping[int, str], c: int) -> str:
        return "unclustered" if c < 0 else escape(f"{c}: {names.get(c, '')}", "html", limit=40)

    labels = [node(old_names, c) for c in old_ids] + [node(new_names, c) for c in new_ids]
    colours = ([NOISE_COLOUR if c < 0 else STATUS_COLOURS.get(status_of.get(c, ""), "#9ca3af")
                for c in old_ids]
               + [NOISE_COLOUR if c < 0 else STATUS_COLOURS.get(new_status.get(c, ""), "#9ca3af")
                  for c in new_ids])
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "color": colours, "pad": 8, "thickness": 14,
              "hovertemplate": "%{label}: %{value} papers<extra></extra>"},
        link={"source": [old_index[c] for c in flows["old"]],
              "target": [new_index[c] for c in flows["new"]],
              "value": flows["papers"].tolist(), "color": "rgba(100,116,139,0.25)",
              "hovertemplate": "%{source.label} → %{target.label}: %{value} papers"
                               "<extra></extra>"},
    ))
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      font={"family": FONT, "size": 11}, paper_bgcolor="white",
                      title={"text": "old map (left) → new map (right)", "font": {"size": 13}})
    return fig


def transitions_table(result: Comparison) -> pd.DataFrame:
    """The transitions as a plain table for display (labels escaped as plain text)."""
    rows = []
    for r in result.transitions.itertuples():
        old = "; ".join(f"{c}: {label}" for c, label in zip(r.old, r.old_labels, strict=True))
        new = "; ".join(f"{c}: {label}" for c, label in zip(r.new, r.new_labels, strict=True))
        note = ""
        if r.status == "merged" and r.merged_with:
            note = "together with old " + ", ".join(map(str, r.merged_with))
        elif r.status == "new" and r.came_from:
            note = "mostly from " + ", ".join("unclustered papers" if c < 0 else f"old {c}"
                                              for c in r.came_from)
        elif r.status == "vanished" and r.to_noise:
            note = f"{r.to_noise} papers became unclustered"
        rows.append({
            "status": r.status,
            "old cluster(s)": escape(old, "plain", limit=160),
            "new cluster(s)": escape(new, "plain", limit=160),
            "old size": int(r.old_size), "new size": int(r.new_size),
            "shared": int(r.shared),
            "Jaccard": None if pd.isna(r.jaccard) else float(r.jaccard),
            "note": note,
        })
    return pd.DataFrame(rows, columns=["status", "old cluster(s)", "new cluster(s)", "old size",
                                       "new size", "shared", "Jaccard", "note"])
