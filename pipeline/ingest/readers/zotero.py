"""Zotero's CSV export (``.csv``, told by its header), reduced to the useful fields.

A CSV whose header has Zotero's ``Key``, ``Item Type`` and ``Abstract Note``
columns is read as a Zotero export (unless the user names columns), keeping a
compact set of fields rather than Zotero's ~80 mostly empty columns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.config import IngestConfig

from .base import CORE_COLUMNS
from .fields import bare_doi, display_name, doi_url
from .tables import csv_header, read_csv

ZOTERO_MARKERS = ("Key", "Item Type", "Abstract Note")


def is_zotero(path: Path, config: IngestConfig) -> bool:
    """True for a CSV with Zotero's marker columns, when the user named no columns."""
    if any(getattr(config, f"{role}_column") for role in CORE_COLUMNS):
        return False
    header = csv_header(path)
    return all(c in header for c in ZOTERO_MARKERS)


def read_zotero(path: Path, config: IngestConfig) -> pd.DataFrame:
    """A Zotero CSV export with its columns mapped to the standard ones."""
    return zotero_table(read_csv(path, config))


def zotero_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Zotero's CSV columns mapped to the standard ones (authors as "First Last; ...")."""

    def column(name: str) -> pd.Series:
        return frame[name].fillna("").astype(str) if name in frame.columns \
            else pd.Series("", index=frame.index)

    doi = column("DOI").map(bare_doi)
    url = column("Url")
    authors = column("Author").map(
        lambda v: "; ".join(display_name(a) for a in v.split(";") if a.strip()))
    tags = (column("Manual Tags") + "; " + column("Automatic Tags")).map(
        lambda v: "; ".join(t.strip() for t in v.split(";") if t.strip()))
    year = column("Publication Year").where(column("Publication Year").str.strip() != "",
                                            column("Date"))
    return pd.DataFrame({
        "id": column("Key"),
        "title": column("Title"),
        "abstract": column("Abstract Note"),
        "authors": authors,
        "year": year,
        "url": url.where(url.str.strip() != "", doi.map(doi_url)),
        "doi": doi,
        "venue": column("Publication Title"),
        "keywords": tags,
        "entry_type": column("Item Type"),
    })
