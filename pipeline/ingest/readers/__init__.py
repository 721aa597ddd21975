"""Input formats: one table from file suffix, and one list of content sniffers, to reader.

A reader is a function ``(path, config) -> DataFrame`` returning a file's raw
table (or an iterator of DataFrames, for an input streamed in chunks): the
standard columns (``base.CORE_COLUMNS``) where the format knows them, and any
other column as metadata. ``pipeline.ingest.clean`` then finds, cleans and merges.

Adding a format is one reader function (in a module of this package) and one
line below: in ``READERS`` for a new suffix, or in ``SNIFFERS`` for a format
told by content among files of a known suffix. See CONTRIBUTING.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest.readers import arxiv, bibtex, openalex, page, ris, tables, zotero

from .base import Reader, format_suffix

__all__ = ["READERS", "SNIFFERS", "Reader", "Sniffer", "find_reader"]

#: File suffix (lower case; a trailing ``.gz`` is ignored) -> reader.
READERS: dict[str, Reader] = {
    ".csv": tables.read_csv,
    ".tsv": tables.read_tsv,
    ".tab": tables.read_tsv,
    ".json": tables.read_json,
    ".jsonl": tables.read_jsonl,
    ".ndjson": tables.read_jsonl,
    ".parquet": tables.read_parquet,
    ".pq": tables.read_parquet,
    ".txt": page.read_page_text,  # the saved text of a trending-papers page
    ".text": page.read_page_text,
    ".bib": bibtex.read_bibtex,
    ".bibtex": bibtex.read_bibtex,
    ".ris": ris.read_ris,
    ".xml": arxiv.read_atom,  # an arXiv API response
    ".atom": arxiv.read_atom,
}

_JSON = (".json", ".jsonl", ".ndjson")


@dataclass(frozen=True)
class Sniffer:
    """A format told by content: for files of ``suffixes`` that ``claims``, ``read`` reads."""

    suffixes: tuple[str, ...]
    claims: Callable[[Path, IngestConfig], bool]
    read: Reader


#: Formats told by content, tried in this order before the suffix's own reader. A sniffer
#: reads only the start of a file and says no when it cannot tell (the reader reports why).
SNIFFERS: list[Sniffer] = [
    Sniffer(_JSON, arxiv.is_snapshot, arxiv.read_snapshot),  # streamed in chunks
    Sniffer(_JSON, openalex.is_openalex, openalex.read_openalex),
    Sniffer((".csv",), zotero.is_zotero, zotero.read_zotero),
]


def find_reader(path: Path, config: IngestConfig) -> Reader:
    """The reader for ``path``: a sniffer's that claims it, else its suffix's."""
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    suffix = format_suffix(path)
    if suffix not in READERS:
        raise InputError(
            f"{path}: unknown format {suffix or '(no extension)'!r}; supported: "
            f"{', '.join(sorted(READERS))} (each may also be gzip-compressed, .gz)"
        )
    for sniffer in SNIFFERS:
        if suffix in sniffer.suffixes and sniffer.claims(path, config):
            return sniffer.read
    return READERS[suffix]
