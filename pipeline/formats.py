"""Bibliographic input formats, registered with ``pipeline.ingest``'s readers.

Importing this module registers them; ``ingest.read_chunks`` does so on first use.
Each reader returns a raw table with the standard columns (id, title, abstract,
authors, year, url) plus metadata such as doi, venue, keywords and categories;
``ingest.standardise`` and the cleaning after it do the rest.

| suffix (each may end in ``.gz``) | format | parser |
|---|---|---|
| ``.bib`` | BibTeX / BibLaTeX; LaTeX accents and braces decoded | bibtexparser 2 |
| ``.ris`` | RIS (Zotero, Mendeley, EndNote, Scopus, Web of Science) | rispy |
| ``.xml``, ``.atom`` | arXiv API response (Atom 1.0) | xml.etree |
| ``.json``, ``.jsonl``, ``.ndjson`` | arXiv metadata snapshot, OpenAlex works, or a plain table | json |
| ``.csv`` | a Zotero CSV export, or a plain table | pandas |

How a JSON file is told apart, by content, never by name alone:

* **arXiv snapshot**: its first non-blank line is a JSON object with ``id``,
  ``abstract``, ``categories`` and one of ``authors_parsed``, ``versions``,
  ``update_date`` (the snapshot's keys). It is then streamed (``pipeline.arxiv``).
* **OpenAlex works**: the first 64 KiB mention ``abstract_inverted_index`` or an
  ``https://openalex.org/W`` id; a JSON array, ``{"results": [...]}`` (the API's
  page) or JSON Lines. The abstract is rebuilt from its inverted index.
* anything else: the plain JSON / JSON Lines table reader of ``pipeline.ingest``.

A CSV whose header has Zotero's ``Key``, ``Item Type`` and ``Abstract Note``
columns is read as a Zotero export (unless the user names columns), keeping a
compact set of fields rather than Zotero's ~80 mostly empty columns.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from . import arxiv, ingest
from .config import IngestConfig
from .errors import InputError
from .ingest import decode_text, open_bytes, reader

log = logging.getLogger("pipeline")

#: Columns every bibliographic reader returns, in order.
BIB_COLUMNS = ["id", "title", "abstract", "authors", "year", "url",
               "doi", "venue", "keywords", "entry_type"]
_PEEK_BYTES = 1 << 16

# The plain readers these formats fall back to (ingest's own, which this module replaces).
_plain_json = ingest.read_json
_plain_jsonl = ingest.read_jsonl
_plain_csv = ingest._table_reader(",")


def _doi_url(doi: str) -> str:
    doi = doi.strip()
    if not doi:
        return ""
    if doi.lower().startswith(("http://", "https://")):
        return doi
    return f"https://doi.org/{doi}"


def _bare_doi(doi: str) -> str:
    return re.sub(r"^https?://(dx\.)?doi\.org/", "", doi.strip(), flags=re.IGNORECASE)


def display_name(name: str) -> str:
    """``"Müller, Jörg"`` -> ``"Jörg Müller"``; names without a comma are kept as they are."""
    name = " ".join(name.split())
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 2 and parts[0] and parts[1]:
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3 and parts[0] and parts[2]:  # "von Last, Jr, First"
        return f"{parts[2]} {parts[0]} {parts[1]}".strip()
    return name


# --------------------------------------------------------------------------- BibTeX


@reader(".bib", ".bibtex")
def read_bibtex(path: Path, config: IngestConfig) -> pd.DataFrame:
    """BibTeX or BibLaTeX entries; @string macros resolved, LaTeX decoded to plain text.

    Math (``$...$``) is kept literally. Any entry the parser cannot read is an
    error naming its line, so no paper is silently dropped.
    """
    import bibtexparser
    from bibtexparser import middlewares as mw
    from bibtexparser.model import DuplicateBlockKeyBlock

    text = decode_text(path, open_bytes(path))
    if not text.strip():
        return pd.DataFrame(columns=BIB_COLUMNS)
    stack = [mw.SeparateCoAuthors(), mw.SplitNameParts(),
             mw.LatexDecodingMiddleware(decoder=latex_decoder())]
    splitter_log = logging.getLogger("bibtexparser.splitter")
    level = splitter_log.level
    splitter_log.setLevel(logging.CRITICAL)  # its messages are folded into ours below
    try:
        library = bibtexparser.parse_string(text, append_middleware=stack)
    except Exception as exc:  # noqa: BLE001 - the parser raises many types on bad input
        raise InputError(f"{path}: is not valid BibTeX ({_first(exc)}); fix the file or "
                         "export it again") from None
    finally:
        splitter_log.setLevel(level)
    failed = [b for b in library.failed_blocks if not isinstance(b, DuplicateBlockKeyBlock)]
    if failed:
        block = failed[0]
        reason = getattr(block.error, "abort_reason", None) or _first(block.error)
        raise InputError(
            f"{path}: BibTeX entry starting on line {block.start_line + 1} cannot be read "
            f"({' '.join(str(reason).split())}; e.g. an unbalanced brace or a missing comma); "
            f"{len(failed)} bad entr{'y' if len(failed) == 1 else 'ies'} in all. Fix or remove "
            "it and try again")
    duplicates = len(library.failed_blocks) - len(failed)
    if duplicates:
        log.warning("%s: %d entries repeat an earlier citation key; the first is kept",
                    path.name, duplicates)
    if not library.entries:
        raise InputError(f"{path}: holds no BibTeX entries (expected @article{{key, title = "
                         "..., abstract = ...}} blocks); check that this is a .bib file")
    return pd.DataFrame([_bib_row(entry) for entry in library.entries], columns=BIB_COLUMNS)


@functools.lru_cache(maxsize=1)
def latex_decoder() -> Any:
    """pylatexenc's LaTeX-to-text decoder; math kept verbatim, text-mode symbols decoded.

    ``\\textasciicircum{}``, ``\\textasciitilde{}`` and ``\\textbraceleft/right{}``
    (what exporters write for ``^ ~ { }``) come back as those characters.
    """
    from pylatexenc.latex2text import (
        LatexNodes2Text,
        MacroTextSpec,
        get_default_latex_context_db,
    )

    context = get_default_latex_context_db()  # a fresh copy: safe to extend
    context.add_context_category("topicmap-text-symbols", prepend=True, macros=[
        MacroTextSpec("textasciicircum", "^"), MacroTextSpec("textasciitilde", "~"),
        MacroTextSpec("textbraceleft", "{"), MacroTextSpec("textbraceright", "}"),
    ])
    return LatexNodes2Text(latex_context=context, math_mode="verbatim")


def _bib_row(entry: Any) -> dict[str, str]:
    fields = {k.lower(): v for k, v in entry.fields_dict.items()}

    def get(*names: str) -> str:
        for name in names:
            if name in fields:
                value = fields[name].value
                if isinstance(value, str) and value.strip():
                    return " ".join(value.split())
        return ""

    doi = _bare_doi(get("doi"))
    return {
        "id": entry.key,
        "title": get("title"),
        "abstract": get("abstract"),
        "authors": _bib_names(fields.get("author")),
        "year": get("year", "date"),
        "url": get("url") or _doi_url(doi) or _eprint_url(get("eprint"), get("archiveprefix")),
        "doi": doi,
        "venue": get("journal", "journaltitle", "booktitle", "publisher", "howpublished"),
        "keywords": get("keywords"),
        "entry_type": entry.entry_type.lower(),
    }


def _bib_names(field: Any) -> str:
    if field is None:
        return ""
    value = field.value
    if isinstance(value, str):
        return "; ".join(display_name(n) for n in re.split(r"\s+and\s+", value) if n.strip())
    decode = latex_decoder().latex_to_text
    names = []
    for parts in value:
        if hasattr(parts, "first"):
            first = " ".join(parts.first + parts.von + parts.last)
            name = f"{first}, {' '.join(parts.jr)}" if parts.jr else first
        else:
            name = display_name(str(parts))
        names.append(" ".join(decode(name).split()))
    return "; ".join(n for n in names if n)


def _eprint_url(eprint: str, archive: str) -> str:
    if eprint and archive.lower() in ("arxiv", ""):
        return f"https://arxiv.org/abs/{eprint}"
    return ""


# --------------------------------------------------------------------------- RIS

_RIS_TAG = re.compile(r"^\s*([A-Z][A-Z0-9])  -( |$)")


@reader(".ris")
def read_ris(path: Path, config: IngestConfig) -> pd.DataFrame:
    """RIS records (``TY  -`` ... ``ER  -``), as Zotero, Mendeley, EndNote, Scopus and WoS export.

    The record structure is checked first, because the parser silently drops a
    record whose ``ER`` line is missing.
    """
    import rispy

    text = decode_text(path, open_bytes(path))
    if not text.strip():
        return pd.DataFrame(columns=BIB_COLUMNS)
    _check_ris_structure(path, text)
    try:
        records = rispy.loads(text, skip_unknown_tags=True)
    except Exception as exc:  # noqa: BLE001 - the parser raises several types on bad input
        raise InputError(f"{path}: is not valid RIS ({_first(exc)}); export it again") from None
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
    doi = _bare_doi(get("doi"))
    urls = record.get("urls") or []
    url = next((u.strip() for u in urls if isinstance(u, str) and u.strip()), "")
    return {
        "id": get("id") or doi,
        "title": get("title", "primary_title", "translated_title", "short_title"),
        "abstract": get("abstract", "notes_abstract"),
        "authors": "; ".join(dict.fromkeys(authors)),
        "year": get("year", "publication_year", "date"),
        "url": url or _doi_url(doi),
        "doi": doi,
        "venue": get("secondary_title", "journal_name", "alternate_title3", "alternate_title1",
                     "alternate_title2", "tertiary_title", "publisher"),
        "keywords": get("keywords"),
        "entry_type": get("type_of_reference").lower(),
    }


# --------------------------------------------------------------------------- arXiv Atom


reader(".xml", ".atom")(arxiv.read_atom)


# --------------------------------------------------------------------------- JSON family

OPENALEX_COLUMNS = [*BIB_COLUMNS, "topic", "cited_by_count"]


@reader(".json", ".jsonl", ".ndjson")
def read_json_family(path: Path, config: IngestConfig) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """arXiv snapshot (yielded in chunks), OpenAlex works or a plain JSON table, told apart by content."""
    if arxiv.looks_like_snapshot(arxiv.first_record(path)):
        log.info("%s: arXiv metadata snapshot, streamed (%s)", path.name,
                 arxiv.ArxivFilter.from_config(config).describe())
        return arxiv.read_snapshot(path, config)
    head = _peek(path)
    if b"abstract_inverted_index" in head or b"https://openalex.org/W" in head:
        return read_openalex(path, config)
    if ingest.format_suffix(path) == ".json":
        return _plain_json(path, config)
    return _plain_jsonl(path, config)


def _peek(path: Path) -> bytes:
    """The first 64 KiB (decompressed); empty for a broken file, which the next reader reports."""
    import gzip
    import zlib

    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read(_PEEK_BYTES)
        with open(path, "rb") as handle:
            return handle.read(_PEEK_BYTES)
    except (OSError, EOFError, zlib.error):
        return b""


def read_openalex(path: Path, config: IngestConfig) -> pd.DataFrame:
    """OpenAlex works: a JSON array, an API page ``{"results": [...]}``, or JSON Lines."""
    text = decode_text(path, open_bytes(path))
    try:
        data: Any = json.loads(text)
        works = data.get("results") if isinstance(data, dict) and "results" in data else data
        if isinstance(works, dict):
            works = [works]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise InputError(f"{path}: is not valid JSON ({exc.msg} at line {exc.lineno}); "
                             "fix the file or download it again") from None
        works = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                works.append(json.loads(line))
            except json.JSONDecodeError as line_exc:
                raise InputError(f"{path}: line {number} is not valid JSON ({line_exc.msg}); "
                                 "fix or remove that line") from None
    except RecursionError:
        raise InputError(f"{path}: JSON is nested too deeply to be OpenAlex works") from None
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
    doi = _bare_doi(nested("doi"))
    year = work.get("publication_year")
    cited = work.get("cited_by_count")
    return {
        "id": nested("id"),
        "title": nested("title") or nested("display_name"),
        "abstract": rebuild_abstract(work.get("abstract_inverted_index")),
        "authors": "; ".join(authors),
        "year": str(year) if isinstance(year, int) else nested("publication_date"),
        "url": _doi_url(doi) or nested("primary_location", "landing_page_url") or nested("id"),
        "doi": doi,
        "venue": nested("primary_location", "source", "display_name")
        or nested("host_venue", "display_name"),
        "keywords": "; ".join(k for k in keywords if isinstance(k, str) and k),
        "entry_type": nested("type"),
        "topic": nested("primary_topic", "display_name"),
        "cited_by_count": str(cited) if isinstance(cited, int) else "",
    }


# --------------------------------------------------------------------------- Zotero CSV

ZOTERO_MARKERS = ("Key", "Item Type", "Abstract Note")


@reader(".csv")
def read_csv_or_zotero(path: Path, config: IngestConfig) -> pd.DataFrame:
    """A CSV table; a Zotero export (by its header) is reduced to the useful fields."""
    frame = _plain_csv(path, config)
    overrides = any(getattr(config, f"{role}_column") for role in ingest.CORE_COLUMNS)
    if overrides or not all(c in frame.columns for c in ZOTERO_MARKERS):
        return frame
    return zotero_table(frame)


def zotero_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Zotero's CSV columns mapped to the standard ones (authors as "First Last; ...")."""

    def column(name: str) -> pd.Series:
        return frame[name].fillna("").astype(str) if name in frame.columns \
            else pd.Series("", index=frame.index)

    doi = column("DOI").map(_bare_doi)
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
        "url": url.where(url.str.strip() != "", doi.map(_doi_url)),
        "doi": doi,
        "venue": column("Publication Title"),
        "keywords": tags,
        "entry_type": column("Item Type"),
    })


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
