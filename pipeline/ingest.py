"""Files in, one clean DataFrame of papers out.

``read_papers(paths, config)`` reads every input (tables in CSV, TSV, JSON,
JSON Lines or Parquet, each optionally gzip-compressed; the saved text of a
trending-papers page; bibliographic formats registered in ``pipeline.formats``),
finds the title/abstract/id/year/authors/url columns, normalises the text,
drops rows without a usable abstract and merges duplicates, counting both.

A reader returns one table, or yields tables in chunks (the arXiv snapshot
does): each chunk is standardised and cleaned on its own as it arrives, so a
big input's text is turned into Python strings a chunk at a time, never a
whole column at once (that costs several times the text's size in memory).

Text is cleaned (HTML entities decoded, control characters and runs of
whitespace removed) but never interpreted: markup stays literal characters,
and the dashboard escapes it when it shows it.
"""

from __future__ import annotations

import gzip
import html
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import IngestConfig
from .errors import InputError

MIN_PAPERS = 3
CORE_COLUMNS = ["id", "title", "abstract", "year", "authors", "url"]

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

Reader = Callable[[Path, IngestConfig], pd.DataFrame | Iterator[pd.DataFrame]]
#: Suffix (without .gz) -> reader returning a raw table, or yielding it in chunks (same
#: columns in each). Extended by ``pipeline.formats``.
READERS: dict[str, Reader] = {}


@dataclass
class IngestReport:
    """What happened to the rows on the way in."""

    inputs: list[dict] = field(default_factory=list)
    read: int = 0
    skipped_no_abstract: int = 0
    duplicates_merged: int = 0
    kept: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "skipped_no_abstract": self.skipped_no_abstract,
            "duplicates_merged": self.duplicates_merged,
            "kept": self.kept,
        }


def reader(*suffixes: str) -> Callable[[Reader], Reader]:
    """Register a reader for file suffixes such as ``".csv"``."""

    def register(func: Reader) -> Reader:
        for suffix in suffixes:
            READERS[suffix] = func
        return func

    return register


# --------------------------------------------------------------------------- reading


def open_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give the data file(s) inside it") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(
                f"{path}: not a valid gzip file ({exc}); re-download it or give it uncompressed"
            ) from None
    return data


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 text (BOM tolerated); undecodable bytes are a clear error."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
            "save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`) and try again"
        ) from None


def format_suffix(path: Path) -> str:
    """The format suffix, ignoring a trailing ``.gz``: ``a.csv.gz`` -> ``.csv``."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return Path(name).suffix


def _table_reader(sep: str) -> Reader:
    def read(path: Path, config: IngestConfig) -> pd.DataFrame:
        text = decode_text(path, open_bytes(path))
        if not text.strip():
            return pd.DataFrame()
        try:
            return pd.read_csv(
                io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                on_bad_lines="error", engine="python" if sep != "," else "c",
            )
        except (pd.errors.ParserError, ValueError, csv_error()) as exc:
            kind = "TSV" if sep == "\t" else "CSV"
            raise InputError(f"{path}: is not valid {kind} ({_first_line(exc)}); fix the file "
                             "or export it again") from None

    return read


def csv_error() -> type[Exception]:
    import csv

    return csv.Error


READERS[".csv"] = _table_reader(",")
READERS[".tsv"] = _table_reader("\t")
READERS[".tab"] = READERS[".tsv"]


@reader(".json")
def read_json(path: Path, config: IngestConfig) -> pd.DataFrame:
    """A JSON array of records, or an object holding one (e.g. ``{"papers": [...]}``)."""
    text = decode_text(path, open_bytes(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # A file of one record per line is JSON Lines whatever its name says.
        if exc.msg == "Extra data":
            return read_jsonl(path, config)
        raise InputError(f"{path}: is not valid JSON ({exc.msg} at line {exc.lineno}); "
                         "fix the file or export it again") from None
    except RecursionError:
        raise InputError(f"{path}: JSON is nested too deeply to be a list of papers") from None
    return records_frame(path, _find_records(path, data))


def _find_records(path: Path, data: object) -> list:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("papers", "results", "records", "items", "data", "works", "entries"):
            if isinstance(data.get(key), list):
                return data[key]
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
        if any(k.lower() in ("title", "abstract") for k in data):
            return [data]
    raise InputError(f"{path}: JSON holds no list of papers; expected an array of objects "
                     "with title and abstract fields")


@reader(".jsonl", ".ndjson")
def read_jsonl(path: Path, config: IngestConfig) -> pd.DataFrame:
    """One JSON object per line; blank lines ignored."""
    text = decode_text(path, open_bytes(path))
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {number} is not valid JSON ({exc.msg}); "
                             "fix or remove that line") from None
        except RecursionError:
            raise InputError(f"{path}: line {number} is nested too deeply") from None
    return records_frame(path, records)


def records_frame(path: Path, records: list) -> pd.DataFrame:
    """A table from a list of JSON objects; nested values are kept as JSON text."""
    if not all(isinstance(r, dict) for r in records):
        raise InputError(f"{path}: expected JSON objects (one per paper), found other values")
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        frame[column] = frame[column].map(_scalar_text)
    return frame


def _scalar_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            return ""
    return str(value)


@reader(".parquet", ".pq")
def read_parquet(path: Path, config: IngestConfig) -> pd.DataFrame:
    data = open_bytes(path)
    try:
        frame = pd.read_parquet(io.BytesIO(data))
        # Converting can fail too (e.g. a string column holding invalid UTF-8).
        for column in frame.columns:
            frame[column] = frame[column].map(_scalar_text)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for bad files
        raise InputError(f"{path}: is not a readable Parquet file ({_first_line(exc)})") from None
    return frame


_ABSTRACT_WORDS = 15
_TITLE_WORDS = 30


@reader(".txt", ".text")
def read_page_text(path: Path, config: IngestConfig) -> pd.DataFrame:
    """The saved text of a trending-papers web page.

    Such a page is a few header lines (a banner, "Subscribe", a date) and then,
    for each paper, a title line followed by its abstract line. An abstract is a
    long line (at least 15 words); its title is the non-empty line just above
    it, when that line is shorter (under 30 words, and shorter than the
    abstract). Lines that are neither (headers, vote counts) are dropped.
    """
    text = decode_text(path, open_bytes(path))
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    def pairs_with_title_above(i: int) -> bool:
        line, title = lines[i], lines[i - 1]
        return (i > 0 and len(line.split()) >= _ABSTRACT_WORDS
                and len(title.split()) < _TITLE_WORDS and len(title) < len(line))

    rows = []
    for i in range(1, len(lines)):
        # A long title is not an abstract when a longer line follows it.
        if pairs_with_title_above(i) and not (i + 1 < len(lines) and pairs_with_title_above(i + 1)):
            rows.append({"title": lines[i - 1], "abstract": lines[i]})
    if not rows and text.strip():
        raise InputError(
            f"{path}: found no papers in this text file; expected a saved trending-papers page "
            "(a title line followed by an abstract line for each paper). For a table, save it "
            "as .csv or .tsv"
        )
    return pd.DataFrame(rows, columns=["title", "abstract"])


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
        out[name] = frame[column].map(_scalar_text)
    return out


# --------------------------------------------------------------------------- text

#: Core columns whose text goes through ``clean_text``.
TEXT_COLUMNS = ("title", "abstract", "authors", "url", "id")
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


def parse_year(value: str) -> float:
    """The first plausible year in a value such as ``2021``, ``2021-05-03`` or ``May 2021``."""
    match = _YEAR.search(value or "")
    return float(match.group(1)) if match else np.nan


def clean_papers(frame: pd.DataFrame) -> pd.DataFrame:
    """A standardised table (or chunk of one) with missing values blank, text cleaned, year parsed."""
    frame = frame.fillna("")
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].map(clean_text)
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
    from . import formats  # noqa: F401 - registers the bibliographic readers

    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    suffix = format_suffix(path)
    read = READERS.get(suffix)
    if read is None:
        known = ", ".join(sorted(READERS))
        raise InputError(
            f"{path}: unknown format {suffix or '(no extension)'!r}; supported: {known} "
            "(each may also be gzip-compressed, .gz)"
        )
    result = read(path, config)
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
