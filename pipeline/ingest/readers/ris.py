"""RIS (``.ris``): Zotero, Mendeley, EndNote, Scopus and Web of Science exports, via rispy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError

from .base import first_line, read_text
from .fields import BIB_COLUMNS, bare_doi, display_name, doi_url

_RIS_TAG = re.compile(r"^\s*([A-Z][A-Z0-9])  -( |$)")


def read_ris(path: Path, config: IngestConfig) -> pd.DataFrame:
    """RIS records (``TY  -`` ... ``ER  -``), as Zotero, Mendeley, EndNote, Scopus and WoS export.

    The record structure is checked first, because the parser silently drops a
    record whose ``ER`` line is missing.
    """
    import rispy

    text = read_text(path)
    if not text.strip():
        return pd.DataFrame(columns=BIB_COLUMNS)
    _check_ris_structure(path, text)
    try:
        records = rispy.loads(text, skip_unknown_tags=True)
    except Exception as exc:  # noqa: BLE001 - the parser raises several types on bad input
        raise InputError(f"{path}: is not valid RIS ({first_line(exc)}); export it again") from None
    return pd.DataFrame([_ris_row(r) for r in records], columns=BIB_COLUMNS)


def _check_ris_structure(path: Path, text: str) -> None:
    open_line = 0
    records = 0
    for number, line in enumerate(text.splitlines(), start=1):
        match = _RIS_TAG.match(line)
        if not match:
            continue
        tag = match.group(1)
        if tag == "TY":
            if open_line:
                raise InputError(f"{path}: RIS record starting on line {open_line} has no end "
                                 f"(`ER  -`) before the next record on line {number}; add it "
                                 "or export the file again")
            open_line = number
        elif tag == "ER":
            if not open_line:
                raise InputError(f"{path}: line {number} ends a RIS record (`ER  -`) that never "
                                 "started (`TY  -`); fix the file or export it again")
            open_line = 0
            records += 1
        elif not open_line:
            raise InputError(f"{path}: line {number} has a RIS tag outside a record; every "
                             "record starts with `TY  - TYPE` and ends with `ER  -`")
    if open_line:
        raise InputError(f"{path}: the RIS record starting on line {open_line} has no end "
                         "(`ER  -`); the file may be cut short: export it again")
    if records == 0:
        raise InputError(f"{path}: holds no RIS records (lines like `TY  - JOUR` ... "
                         "`ER  -`); check that this is a .ris export")


def _ris_row(record: dict[str, Any]) -> dict[str, str]:
    def get(*names: str) -> str:
        for name in names:
            value = record.get(name)
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value if str(v).strip())
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
        return ""

    authors = []
    for key in ("authors", "first_authors"):
        authors.extend(display_name(str(a)) for a in record.get(key) or [] if str(a).strip())
    doi = bare_doi(get("doi"))
    urls = record.get("urls") or []
    url = next((u.strip() for u in urls if isinstance(u, str) and u.strip()), "")
    return {
        "id": get("id") or doi,
        "title": get("title", "primary_title", "translated_title", "short_title"),
        "abstract": get("abstract", "notes_abstract"),
        "authors": "; ".join(dict.fromkeys(authors)),
        "year": get("year", "publication_year", "date"),
        "url": url or doi_url(doi),
        "doi": doi,
        "venue": get("secondary_title", "journal_name", "alternate_title3", "alternate_title1",
                     "alternate_title2", "tertiary_title", "publisher"),
        "keywords": get("keywords"),
        "entry_type": get("type_of_reference").lower(),
    }
