"""Files in, one clean DataFrame of papers out.

``read_papers(paths, config)`` reads every input with the reader
``pipeline.ingest.readers`` picks for it (by suffix, or by content), finds the
title/abstract/id/year/authors/url columns, normalises the text, drops rows
without a usable abstract and merges duplicates, counting both.

A reader returns one table, or yields tables in chunks (the arXiv snapshot
does): each chunk is standardised and cleaned on its own as it arrives, so a
big input's text is turned into Python strings a chunk at a time, never a
whole column at once (that costs several times the text's size in memory).

Text is cleaned (HTML entities decoded, control characters and runs of
whitespace removed; in titles and abstracts, extraction debris such as doubled
quotes and ``(cid:N)`` glyphs undone; an author list written twice, once) but never
interpreted: markup stays literal characters, and the dashboard escapes it when it
shows it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest.readers.base import CORE_COLUMNS, scalar_text

from .readers import find_reader

MIN_PAPERS = 3

#: Usual names of each core column, most specific first (matched case-insensitively).
COLUMN_ALIASES: dict[str, list[str]] = {
    "title": ["title", "paper_title", "name", "ti", "primary title"],
    "abstract": ["abstract", "summary", "text", "abstract note", "abstractnote", "ab",
                 "description", "content"],
    "id": ["id", "arxiv_id", "paper_id", "doi", "key", "citation key", "uid", "eid"],
    "year": ["year", "date", "published", "publication year", "publication_year",
             "update_date", "pubdate", "py", "publication date"],
    "authors": ["authors", "author", "creators", "au"],
    "url": ["url", "link", "pdf_url", "href", "doi_url"],
}


@dataclass
class IngestReport:
    """What happened to the rows on the way in."""

    inputs: list[dict] = field(default_factory=list)
    read: int = 0
    skipped_no_abstract: int = 0
    duplicates_merged: int = 0
    kept: int = 0

    def counts(self) -> dict[str, int]:
        """The four counts by name (read, skipped_no_abstract, duplicates_merged, kept)."""
        return {
            "read": self.read,
            "skipped_no_abstract": self.skipped_no_abstract,
            "duplicates_merged": self.duplicates_merged,
            "kept": self.kept,
        }


# --------------------------------------------------------------------------- columns


def find_column(frame: pd.DataFrame, role: str, override: str | None, path: Path) -> str | None:
    """The column that holds ``role``: the override if given, else a usual name."""
    lower = {str(c).strip().lower(): c for c in frame.columns}
    if override is not None:
        if override in frame.columns:
            return override
        if override.strip().lower() in lower:
            return lower[override.strip().lower()]
        raise InputError(
            f"{path}: has no column {override!r} (given for the {role}); columns are: "
            f"{', '.join(map(str, frame.columns))}"
        )
    for alias in COLUMN_ALIASES[role]:
        if alias in lower:
            return lower[alias]
    return None


def standardise(frame: pd.DataFrame, path: Path, config: IngestConfig) -> pd.DataFrame:
    """Rename the core columns to their standard names; keep the rest as metadata."""
    if frame.empty and len(frame.columns) == 0:
        return pd.DataFrame(columns=CORE_COLUMNS)
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    chosen: dict[str, str] = {}
    for role in ["abstract", "title", "id", "year", "authors", "url"]:
        column = find_column(frame, role, getattr(config, f"{role}_column"), path)
        if column is not None and column not in chosen.values():
            chosen[role] = column
    if "abstract" not in chosen:
        raise InputError(
            f"{path}: no abstract column found (looked for {', '.join(COLUMN_ALIASES['abstract'])});"
            f" columns are: {', '.join(frame.columns) or '(none)'}. "
            "Name it with --abstract-column"
        )
    if "title" not in chosen:
        raise InputError(
            f"{path}: no title column found (looked for {', '.join(COLUMN_ALIASES['title'])}); "
            f"columns are: {', '.join(frame.columns)}. Name it with --title-column"
        )
    out = pd.DataFrame(index=frame.index)
    for role in CORE_COLUMNS:
        out[role] = frame[chosen[role]].astype(str) if role in chosen else ""
    used = set(chosen.values())
    for column in frame.columns:
        if column in used:
            continue
        name = column if column not in CORE_COLUMNS and column not in out.columns else f"meta_{column}"
        out[name] = frame[column].map(scalar_text)
    return out


# --------------------------------------------------------------------------- text

#: Core columns whose text goes through ``clean_text``.
TEXT_COLUMNS = ("title", "abstract", "authors", "url", "id")
#: ... and those that also lose extraction debris (``clean_prose``).
PROSE_COLUMNS = ("title", "abstract")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_SPACE = re.compile(r"\s+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)(?!\d)")


def clean_text(value: object) -> str:
    """Decode HTML entities, drop control characters, collapse whitespace."""
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    text = html.unescape(value)
    text = _CONTROL.sub(" ", text)
    text = unicodedata.normalize("NFC", text)
    return _SPACE.sub(" ", text).strip()


#: PDF-extraction debris: ``(cid:N)`` is a glyph the extractor could not map to a character.
_CID = re.compile(r"\(cid:(\d{1,3})\)")
#: 173 is the soft hyphen (a word broken at a line end: "piri(cid:173) form"); 11-14 are the
#: ligatures of TeX's text fonts (OT1) when a letter touches them ("di(cid:11)erent",
#: "(cid:12)ndings"); 147/148 Windows' curly quotes. Any other glyph is font-specific.
_CID_LIGATURES = {11: "ff", 12: "fi", 13: "fl", 14: "ffi"}
_CID_QUOTES = {147: "\u201c", 148: "\u201d"}
_QUOTE_RUN = re.compile(r'"{2,}')


def clean_prose(value: object) -> str:
    """A title or abstract: :func:`clean_text`, then extraction debris undone.

    - a value wrapped in quotes whose inner quotes are all doubled (a CSV field quoted
      twice: ``"We propose ""ViCo"", a dataset."``) is unwrapped and undoubled;
    - a run of quotes left elsewhere (``""BERLIN""``) is one quote;
    - ``(cid:173)`` (a soft hyphen) joins the word it broke, the OT1 ligatures and curly
      quotes read as their letters, and any other ``(cid:N)`` becomes U+FFFD, the mark of
      a character that could not be read.
    """
    text = clean_text(value)
    if len(text) > 1 and text[0] == '"' and text[-1] == '"' \
            and '"' not in text[1:-1].replace('""', ""):
        text = text[1:-1].replace('""', '"').strip()
    if '""' in text:
        text = _QUOTE_RUN.sub('"', text)
    if "(cid:" in text:
        text = _CID.sub(_cid_glyph, text)
        text = re.sub(r"\u00ad\s*", "", text)
    return text


def _cid_glyph(match: re.Match) -> str:
    code = int(match.group(1))
    if code == 173:
        return "\u00ad"  # removed with the space after it, by the caller
    at, text = match.start(), match.string
    end = match.end()
    touches = (at > 0 and text[at - 1].isalpha()) or (end < len(text) and text[end].isalpha())
    if code in _CID_LIGATURES and touches:
        return _CID_LIGATURES[code]
    return _CID_QUOTES.get(code, "\ufffd")


def dedupe_authors(value: str) -> str:
    """An author list written twice over ("Berns; Hirth; Berns; Hirth") written once;
    separated by ``;`` or, without one, by `` and ``. A name that repeats otherwise (two
    people of the same name) is kept."""
    separator = ";" if ";" in value else " and " if " and " in value else ""
    if not separator:
        return value
    names = [n.strip() for n in value.split(separator)]
    half = len(names) // 2
    if len(names) % 2 or not half or names[:half] != names[half:]:
        return value
    return (f"{separator} " if separator == ";" else separator).join(names[:half])


def parse_year(value: str) -> float:
    """The first plausible year in a value such as ``2021``, ``2021-05-03`` or ``May 2021``."""
    match = _YEAR.search(value or "")
    return float(match.group(1)) if match else np.nan


def clean_papers(frame: pd.DataFrame) -> pd.DataFrame:
    """A standardised table (or chunk of one) with missing values blank, text cleaned, year parsed."""
    frame = frame.fillna("")
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].map(clean_prose if column in PROSE_COLUMNS else clean_text)
    frame["authors"] = frame["authors"].map(dedupe_authors)
    frame["year"] = frame["year"].map(parse_year)
    return frame


def normalise_title(title: str) -> str:
    """Lower-case letters and digits only: the key for duplicate titles."""
    return re.sub(r"[\W_]+", "", title.casefold())


# --------------------------------------------------------------------------- main


def read_chunks(path: Path, config: IngestConfig) -> Iterator[pd.DataFrame]:
    """Read one input file into the standard columns (no cleaning yet), chunk by chunk.

    Most readers give the whole file as one chunk; streaming readers give many.
    """
    result = find_reader(path, config)(path, config)
    empty = True
    for chunk in [result] if isinstance(result, pd.DataFrame) else result:
        empty = False
        yield standardise(chunk, path, config)
    if empty:  # a streaming reader that kept nothing
        yield standardise(pd.DataFrame(), path, config)


def read_papers(paths: Sequence[Path | str], config: IngestConfig | None = None,
                ) -> tuple[pd.DataFrame, IngestReport]:
    """Read, clean and merge every input; return the papers and what happened."""
    config = config or IngestConfig()
    if not paths:
        raise InputError("no input files given; pass one or more files of papers")
    report = IngestReport()
    pieces = []
    for raw in paths:
        path = Path(raw)
        rows = 0
        for chunk in read_chunks(path, config):
            chunk = clean_papers(chunk)
            chunk["_source"] = path.name
            # Position in the inputs (for --embeddings), counted before any row is dropped.
            chunk["_row"] = np.arange(report.read, report.read + len(chunk))
            report.read += len(chunk)
            rows += len(chunk)
            usable = chunk["abstract"].str.len() >= config.min_abstract_chars
            report.skipped_no_abstract += int((~usable).sum())
            # Filtering copies every column: only when a row goes, and a chunk at a time.
            pieces.append(chunk if usable.all() else chunk[usable])
        report.inputs.append({"path": str(path.resolve()), "rows": rows})
    papers = _merge_duplicates(pieces, report)
    # Blanks the metadata columns some inputs lack (core columns are clean already).
    papers = papers.fillna(dict.fromkeys(papers.columns.difference(CORE_COLUMNS), ""))
    papers["_row"] = papers.pop("_row")  # last, after every input's metadata columns
    papers = papers.drop(columns="_source" if len(paths) == 1 else [])
    papers = papers.rename(columns={"_source": "source_file"})
    papers["id"] = _unique_ids(papers)
    papers = papers.reset_index(drop=True)
    report.kept = len(papers)
    where = ", ".join(str(p) for p in paths)
    if report.kept == 0:
        raise InputError(
            f"{where}: no papers with an abstract found ({report.read} rows read, "
            f"{report.skipped_no_abstract} without a usable abstract); check the abstract column"
        )
    if report.kept < MIN_PAPERS:
        raise InputError(
            f"{where}: only {report.kept} usable paper(s); a map needs at least {MIN_PAPERS}"
        )
    return papers, report


def _merge_duplicates(pieces: list[pd.DataFrame], report: IngestReport) -> pd.DataFrame:
    """The pieces stacked, keeping the first of papers sharing an id or a normalised title.

    Duplicates are found over all pieces, but each piece is filtered on its own
    and replaced in ``pieces`` (filtering the stacked table would copy every
    column of it at once).
    """
    title_key = pd.concat([p["title"].map(normalise_title) for p in pieces], ignore_index=True)
    id_key = pd.concat([p["id"].str.casefold() for p in pieces], ignore_index=True)
    duplicate = title_key.duplicated() & (title_key != "")
    duplicate |= id_key.duplicated() & (id_key != "")
    report.duplicates_merged = int(duplicate.sum())
    keep = ~duplicate.to_numpy()
    start = 0
    for i, piece in enumerate(pieces):
        mask = keep[start:start + len(piece)]
        start += len(piece)
        if not mask.all():
            pieces[i] = piece[mask]
    return _concat(pieces)


def _unique_ids(papers: pd.DataFrame) -> pd.Series:
    """Given ids where present, else ``paper-N``; never empty, never repeated."""
    ids = papers["id"].tolist()
    seen: set[str] = set()
    out = []
    for n, value in enumerate(ids):
        candidate = value or f"paper-{n + 1}"
        while candidate in seen:
            candidate = f"{candidate}-{n + 1}"
        seen.add(candidate)
        out.append(candidate)
    return pd.Series(out, index=papers.index, dtype=str)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames stacked with a fresh index (string columns are joined without copying their text)."""
    return frames[0].reset_index(drop=True) if len(frames) == 1 else pd.concat(
        frames, ignore_index=True, sort=False)
