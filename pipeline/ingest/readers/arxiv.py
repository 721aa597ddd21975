"""arXiv inputs: the API's Atom feed and the bulk metadata snapshot (JSON Lines).

The snapshot (``arxiv-metadata-oai-snapshot.json``, several GB, one JSON
object per line) is *streamed*: lines are read one at a time from the file
(or through ``gzip.open`` for ``.gz``), each is filtered by category and date
at once, and only the few fields a map needs are kept for papers that pass.
Memory therefore grows with the number of papers kept, not with the file.

Filter rules (``IngestConfig.arxiv_categories`` / ``arxiv_from`` / ``arxiv_until``,
``--arxiv-category`` / ``--arxiv-from`` / ``--arxiv-until`` on the command line):

* a category pattern ``cs`` matches every ``cs.*`` category; ``cs.CL`` matches
  only ``cs.CL``; ``math`` does not match ``math-ph`` (another archive). A paper
  passes when any of its categories (cross-lists included) matches any pattern;
* a paper's date is its first version's submission date (``versions[0].created``
  in the snapshot, ``published`` in the feed), falling back to ``update_date``;
  ``arxiv_from``/``arxiv_until`` are inclusive ISO prefixes (``2020``,
  ``2020-05``, ``2020-05-17``): ``until 2020`` keeps all of 2020.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError

from .base import first_line, open_text_stream, read_text

log = logging.getLogger("pipeline")

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
#: Columns the arXiv readers return (ingest maps the first six; the rest are metadata).
COLUMNS = ["id", "title", "abstract", "authors", "year", "url",
           "date", "categories", "primary_category", "doi", "journal_ref"]
#: Keys whose presence on a JSON line marks the arXiv metadata snapshot.
SNAPSHOT_KEYS = ("authors_parsed", "versions", "update_date")
_VERSION = re.compile(r"v\d+$")
_MAX_FIRST_LINE = 1 << 20
_CHUNK_ROWS = 5000


# --------------------------------------------------------------------------- filter


class ArxivFilter:
    """Category and date filter for arXiv papers (rules in the module docstring)."""

    def __init__(self, categories: list[str] | None = None, date_from: str | None = None,
                 date_until: str | None = None) -> None:
        self.categories = [c.strip() for c in categories or [] if c.strip()]
        self.date_from = date_from or None
        self.date_until = date_until or None

    @classmethod
    def from_config(cls, config: IngestConfig) -> ArxivFilter:
        """The filter the ingest options ask for."""
        return cls(list(getattr(config, "arxiv_categories", None) or []),
                   getattr(config, "arxiv_from", None), getattr(config, "arxiv_until", None))

    @property
    def active(self) -> bool:
        """True when the filter can drop a paper."""
        return bool(self.categories or self.date_from or self.date_until)

    def describe(self) -> str:
        """The filter in words, for logs and messages."""
        parts = []
        if self.categories:
            parts.append("categories " + ", ".join(self.categories))
        if self.date_from:
            parts.append(f"from {self.date_from}")
        if self.date_until:
            parts.append(f"until {self.date_until}")
        return "; ".join(parts) or "no filter"

    def category_ok(self, categories: str) -> bool:
        """True when any of the space-separated ``categories`` matches a pattern."""
        if not self.categories:
            return True
        for category in categories.split():
            for pattern in self.categories:
                if (category == pattern or category.startswith(pattern + ".")
                        or (pattern.endswith(".") and category.startswith(pattern))):
                    return True
        return False

    def date_ok(self, date: str) -> bool:
        """True when the ISO ``date`` lies within from/until (inclusive prefixes)."""
        if self.date_from and (not date or date[:len(self.date_from)] < self.date_from):
            return False
        return not (self.date_until and (not date or date[:len(self.date_until)] > self.date_until))


# --------------------------------------------------------------------------- snapshot


def looks_like_snapshot(record: object) -> bool:
    """True for a JSON object shaped like a line of the arXiv metadata snapshot."""
    return (isinstance(record, dict) and "abstract" in record and "id" in record
            and "categories" in record and any(k in record for k in SNAPSHOT_KEYS))


def is_snapshot(path: Path, config: IngestConfig) -> bool:
    """True for a JSON Lines file whose first line looks like the arXiv metadata snapshot's."""
    return looks_like_snapshot(first_record(path))


def first_record(path: Path) -> object:
    """The first non-blank line of a (possibly gzipped) text file, parsed as JSON, or None.

    Reads at most 1 MiB, so it is cheap on a multi-GB file.
    """
    try:
        with open_text_stream(path) as stream:
            for _ in range(1000):
                line = stream.readline(_MAX_FIRST_LINE)
                if not line:
                    return None
                if line.strip():
                    return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        return None
    except (OSError, EOFError, zlib.error):
        return None  # a broken file: the reader it falls through to reports it
    return None


def stream_snapshot(path: Path, keep: ArxivFilter) -> Iterator[tuple[str, ...]]:
    """The papers of a snapshot that pass ``keep``, one tuple (``COLUMNS`` order) at a time."""
    number = 0
    try:
        with open_text_stream(path) as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(
                        f"{path}: line {number} is not valid JSON ({exc.msg}); the arXiv "
                        "snapshot has one JSON object per line: fix or remove that line "
                        "(a truncated download ends mid-line: download it again)") from None
                if not isinstance(record, dict):
                    raise InputError(f"{path}: line {number} is not a JSON object; expected one "
                                     "arXiv record per line")
                if not keep.category_ok(str(record.get("categories") or "")):
                    continue
                date = _snapshot_date(record)
                if not keep.date_ok(date):
                    continue
                yield _snapshot_row(record, date)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: line {number + 1} is not UTF-8 text ({exc.reason}); "
                         "download the snapshot again") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{path}: the gzip stream is broken after line {number} ({exc}); "
                         "download it again") from None
    except OSError as exc:
        raise InputError(f"{path}: read failed after line {number} ({exc})") from None


def read_snapshot(path: Path, config: IngestConfig) -> Iterator[pd.DataFrame]:
    """The arXiv metadata snapshot, streamed and filtered (see the module docstring).

    Yields the kept papers in chunks of ``_CHUNK_ROWS``: ingest cleans each chunk
    as it arrives, so the Python strings of at most one chunk are alive at once
    and the kept text is stored once, in compact string columns.
    """
    keep = ArxivFilter.from_config(config)
    log.info("%s: arXiv metadata snapshot, streamed (%s)", path.name, keep.describe())
    rows: list[tuple[str, ...]] = []
    kept = 0
    for row in stream_snapshot(path, keep):
        rows.append(row)
        if len(rows) >= _CHUNK_ROWS:
            kept += len(rows)
            yield pd.DataFrame(rows, columns=COLUMNS)
            rows = []
    if rows:
        kept += len(rows)
        yield pd.DataFrame(rows, columns=COLUMNS)
    if not kept and keep.active:
        raise InputError(f"{path}: no arXiv paper matches the filter ({keep.describe()}); "
                         "widen --arxiv-category / --arxiv-from / --arxiv-until")


def _snapshot_date(record: dict[str, Any]) -> str:
    versions = record.get("versions")
    if isinstance(versions, list) and versions and isinstance(versions[0], dict):
        created = versions[0].get("created")
        if isinstance(created, str):
            try:
                return parsedate_to_datetime(created).date().isoformat()
            except (TypeError, ValueError, IndexError):
                pass
    update = record.get("update_date")
    return update[:10] if isinstance(update, str) else ""


def _snapshot_row(record: dict[str, Any], date: str) -> tuple[str, ...]:
    paper_id = _text(record.get("id"))
    categories = _text(record.get("categories"))
    return (
        paper_id,
        _text(record.get("title")),
        _text(record.get("abstract")),
        _snapshot_authors(record),
        date,
        f"https://arxiv.org/abs/{paper_id}" if paper_id else "",
        date,
        categories,
        categories.split()[0] if categories.split() else "",
        _text(record.get("doi")),
        _text(record.get("journal-ref")),
    )


def _snapshot_authors(record: dict[str, Any]) -> str:
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            if isinstance(parts, list):
                last, first, suffix = ([str(p or "").strip() for p in parts] + ["", "", ""])[:3]
                names.append(" ".join(p for p in (first, last, suffix) if p))
        return "; ".join(n for n in names if n)
    return _text(record.get("authors"))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


# --------------------------------------------------------------------------- Atom feed


def read_atom(path: Path, config: IngestConfig) -> pd.DataFrame:
    """An arXiv API response (Atom 1.0 XML with arXiv's extension elements)."""
    text = read_text(path)
    if re.search(r"<!(DOCTYPE|ENTITY)", text[:4096], flags=re.IGNORECASE):
        raise InputError(f"{path}: XML with a DOCTYPE/ENTITY declaration is refused (an arXiv "
                         "Atom feed has none); save the feed as the API returns it")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise InputError(f"{path}: is not well-formed XML (line {line}, column {column}: "
                         f"{first_line(exc)}); save the arXiv API response again, completely"
                         ) from None
    if root.tag != f"{ATOM}feed":
        raise InputError(f"{path}: XML root is <{_local(root.tag)}>, not an Atom <feed>; the "
                         ".xml/.atom reader takes arXiv API responses (export:arxiv.org/api/"
                         "query?...)")
    keep = ArxivFilter.from_config(config)
    rows = []
    for entry in root.iter(f"{ATOM}entry"):
        row = _atom_row(entry)
        if row["id"].startswith("http://arxiv.org/api/errors") or row["title"] == "Error":
            raise InputError(f"{path}: the feed is an arXiv API error ({row['abstract']!r}); "
                             "fix the query and fetch it again")
        if keep.category_ok(row["categories"]) and keep.date_ok(row["date"]):
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _atom_row(entry: ElementTree.Element) -> dict[str, str]:
    raw_id = _child_text(entry, f"{ATOM}id")
    paper_id = raw_id
    if "/abs/" in raw_id:
        paper_id = _VERSION.sub("", raw_id.split("/abs/", 1)[1])
    authors = [_child_text(a, f"{ATOM}name") for a in entry.findall(f"{ATOM}author")]
    url = ""
    for link in entry.findall(f"{ATOM}link"):
        if link.get("rel") == "alternate" and link.get("href"):
            url = link.get("href", "")
            break
    categories = [c.get("term", "") for c in entry.findall(f"{ATOM}category")]
    primary = entry.find(f"{ARXIV}primary_category")
    published = _child_text(entry, f"{ATOM}published") or _child_text(entry, f"{ATOM}updated")
    return {
        "id": paper_id,
        "title": _child_text(entry, f"{ATOM}title"),
        "abstract": _child_text(entry, f"{ATOM}summary"),
        "authors": "; ".join(a for a in authors if a),
        "year": published[:10],
        "url": url or raw_id,
        "date": published[:10],
        "categories": " ".join(c for c in categories if c),
        "primary_category": primary.get("term", "") if primary is not None else "",
        "doi": _child_text(entry, f"{ARXIV}doi"),
        "journal_ref": _child_text(entry, f"{ARXIV}journal_ref"),
    }


def _child_text(element: ElementTree.Element, tag: str) -> str:
    child = element.find(tag)
    return "".join(child.itertext()).strip() if child is not None else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
