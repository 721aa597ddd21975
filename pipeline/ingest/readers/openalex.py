"""OpenAlex works (``.json``/``.jsonl``, told by content): the abstract rebuilt from its index.

A file is OpenAlex when its first 64 KiB mention ``abstract_inverted_index`` or
an ``https://openalex.org/W`` id. It may be a JSON array, the API's page
``{"results": [...]}``, or JSON Lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError

from .base import load_json, peek, read_text
from .fields import BIB_COLUMNS, bare_doi, doi_url

OPENALEX_COLUMNS = [*BIB_COLUMNS, "topic", "cited_by_count"]


def is_openalex(path: Path, config: IngestConfig) -> bool:
    """True when the start of the file mentions OpenAlex's abstract index or work ids."""
    head = peek(path)
    return b"abstract_inverted_index" in head or b"https://openalex.org/W" in head


def read_openalex(path: Path, config: IngestConfig) -> pd.DataFrame:
    """OpenAlex works: a JSON array, an API page ``{"results": [...]}``, or JSON Lines."""
    works: Any = load_json(path, read_text(path), holds="OpenAlex works",
                           fix="download it again")
    if isinstance(works, dict) and "results" in works:
        works = works.get("results")
    if isinstance(works, dict):
        works = [works]
    if not isinstance(works, list) or not all(isinstance(w, dict) for w in works):
        raise InputError(f"{path}: expected OpenAlex works (a list of JSON objects, or "
                         '{"results": [...]}); found something else')
    return pd.DataFrame([_openalex_row(w) for w in works], columns=OPENALEX_COLUMNS)


def rebuild_abstract(inverted: object) -> str:
    """The abstract text from OpenAlex's ``abstract_inverted_index`` ({word: [positions]})."""
    if not isinstance(inverted, dict):
        return ""
    placed: dict[int, str] = {}
    for word, positions in inverted.items():
        if not isinstance(positions, list):
            continue
        for position in positions:
            if isinstance(position, int) and 0 <= position < 100_000:
                placed[position] = str(word)
    return " ".join(placed[i] for i in sorted(placed))


def _openalex_row(work: dict[str, Any]) -> dict[str, str]:
    def nested(*keys: str) -> str:
        value: Any = work
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value.strip() if isinstance(value, str) else ""

    authors = []
    for authorship in work.get("authorships") or []:
        if isinstance(authorship, dict):
            author = authorship.get("author") or {}
            name = (author.get("display_name") if isinstance(author, dict) else None) \
                or authorship.get("raw_author_name")
            if isinstance(name, str) and name.strip():
                authors.append(name.strip())
    keywords = [k.get("display_name", "") for k in work.get("keywords") or []
                if isinstance(k, dict)]
    doi = bare_doi(nested("doi"))
    year = work.get("publication_year")
    cited = work.get("cited_by_count")
    return {
        "id": nested("id"),
        "title": nested("title") or nested("display_name"),
        "abstract": rebuild_abstract(work.get("abstract_inverted_index")),
        "authors": "; ".join(authors),
        "year": str(year) if isinstance(year, int) else nested("publication_date"),
        "url": doi_url(doi) or nested("primary_location", "landing_page_url") or nested("id"),
        "doi": doi,
        "venue": nested("primary_location", "source", "display_name")
        or nested("host_venue", "display_name"),
        "keywords": "; ".join(k for k in keywords if isinstance(k, str) and k),
        "entry_type": nested("type"),
        "topic": nested("primary_topic", "display_name"),
        "cited_by_count": str(cited) if isinstance(cited, int) else "",
    }
