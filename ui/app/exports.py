"""Downloads: papers as CSV, BibTeX or RIS, and the map as a standalone HTML file.

Files are generated only when their button is clicked. Every paper is written
with the names of *its own* map's topics (``assets`` of the map or sub-map the
rows come from), through ``pipeline.review.export``'s hostile-text-safe writers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pipeline.review.export import to_bibtex, to_csv, to_ris
from ui.figures.map import standalone_html
from ui.figures.overlay import export_script

from .loaders import MapAssets


def export_table(documents: pd.DataFrame, assets: MapAssets) -> pd.DataFrame:
    """Papers with the names of the topics that hold them, ready for the export functions:
    ``cluster_label`` (finest; "unclustered" for noise), ``theme_label`` (broadest) and,
    on a map with layers between, ``layer_1_label`` ... (the names shown: a language
    model's where chosen and present)."""
    table = documents.drop(columns=[c for c in documents.columns if c.startswith("_")]
                           + ["x", "y", "outlier_score"], errors="ignore").copy()
    table.insert(2, "cluster_label", [assets.cluster_names.get(int(c), "unclustered")
                                      for c in documents["cluster"]])
    table.insert(3, "theme_label", [assets.theme_names.get(int(t), "")
                                    for t in documents["theme"]])
    between = [lv for lv in assets.level_names if lv not in ("cluster", "theme")
               and lv in documents.columns]
    for position, level in enumerate(sorted(between), start=4):
        names = assets.level_names[level]
        table.insert(position, f"{level}_label", [names.get(int(v), "unclustered")
                                                  for v in documents[level]])
    return table


def file_stem(text: str) -> str:
    """A download file name stem of safe characters only."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")[:80] or "papers"


def download_buttons(documents: pd.DataFrame, assets: MapAssets, *, stem: str, key: str,
                     formats: Sequence[str] = ("csv", "bib", "ris"), where: object = None,
                     ) -> None:
    """Download buttons for ``documents``; files are generated only when clicked."""
    target = where or st
    stem = file_stem(stem)

    def table() -> pd.DataFrame:  # made when a button is clicked, not on every rerun
        return export_table(documents, assets)

    makers = {
        "csv": ("CSV", "text/csv", lambda: to_csv(table())),
        "bib": ("BibTeX", "application/x-bibtex", lambda: to_bibtex(table()).encode("utf-8")),
        "ris": ("RIS", "application/x-research-info-systems",
                lambda: to_ris(table()).encode("utf-8")),
    }
    columns = target.columns(len(formats))
    for column, fmt in zip(columns, formats, strict=True):
        label, mime, make = makers[fmt]
        column.download_button(f"{label} ({len(documents):,})", data=make,
                               file_name=f"{stem}.{fmt}", mime=mime, key=f"{key}_{fmt}",
                               on_click="ignore", disabled=documents.empty)


def csv_download_button(table: pd.DataFrame, *, label: str, file_name: str, key: str,
                        where: object = None) -> None:
    """One button downloading ``table`` as spreadsheet-safe CSV."""
    (where or st).download_button(label, key=key, on_click="ignore",
                                  data=lambda: to_csv(table),
                                  file_name=f"{file_stem(file_name)}.csv", mime="text/csv")


def take_it_away(view: pd.DataFrame, assets: MapAssets, fig: go.Figure | None, *, name: str,
                 title: str, overlay_state: dict | None = None) -> None:
    """The expander under the map: the view's papers and the map as offline HTML (with the
    names that follow the zoom and the papers outside the filter dimmed, as on screen);
    ``name`` makes the files' names, ``title`` (raw text) the HTML page's title."""
    with st.expander(f"Take it away: the current view ({len(view):,} papers)"):
        st.caption("The HTML file is the map as shown, with Plotly embedded: it opens offline, "
                   "without any network access. CSV cells that a spreadsheet would run as "
                   "formulas are neutralised.")
        download_buttons(view, assets, stem=f"{name}-view", key="dl_view")
        if fig is None:
            return

        def html() -> str:
            script = export_script(assets.overlay, overlay_state or {}) if assets.overlay \
                else None
            return standalone_html(fig, title=f"Topic map: {title}", post_script=script)

        st.download_button("Interactive map (HTML)", key="dl_view_html", on_click="ignore",
                           data=html,
                           file_name=f"{file_stem(name)}-map.html", mime="text/html")
