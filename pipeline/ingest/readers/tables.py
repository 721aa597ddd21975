"""Plain tables: CSV, TSV, JSON, JSON Lines and Parquet.

Each returns the file's table as it is (every cell text); ``pipeline.ingest.clean``
finds the title, abstract and other columns by their usual names.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError

from .base import (
    first_line,
    json_lines,
    load_json,
    open_bytes,
    open_text_stream,
    read_text,
    records_frame,
    scalar_text,
)


def read_csv(path: Path, config: IngestConfig) -> pd.DataFrame:
    """A comma-separated table with a header line."""
    return _read_delimited(path, ",")


def read_tsv(path: Path, config: IngestConfig) -> pd.DataFrame:
    """A tab-separated table with a header line."""
    return _read_delimited(path, "\t")


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    text = read_text(path)
    if not text.strip():
        return pd.DataFrame()
    try:
        return pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
            on_bad_lines="error", engine="python" if sep != "," else "c",
        )
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        kind = "TSV" if sep == "\t" else "CSV"
        raise InputError(f"{path}: is not valid {kind} ({first_line(exc)}); fix the file "
                         "or export it again") from None


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file, read as ``read_csv`` reads them; [] when it cannot tell.

    Only the start of the file is read, so content sniffers can afford it.
    """
    try:
        with open_text_stream(path, newline="") as stream:
            header = pd.read_csv(stream, sep=",", dtype=str, keep_default_na=False, nrows=0)
        return [str(c) for c in header.columns]
    except Exception:  # noqa: BLE001 - unreadable or not CSV: read_csv will say why
        return []


def read_json(path: Path, config: IngestConfig) -> pd.DataFrame:
    """A JSON array of records, or an object holding one (e.g. ``{"papers": [...]}``).

    A file of one record per line is read as JSON Lines whatever its name says.
    """
    data = load_json(path, read_text(path), holds="a list of papers", fix="export it again")
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


def read_jsonl(path: Path, config: IngestConfig) -> pd.DataFrame:
    """One JSON object per line; blank lines ignored."""
    return records_frame(path, json_lines(path, read_text(path)))


def read_parquet(path: Path, config: IngestConfig) -> pd.DataFrame:
    """A Parquet file; every column as text."""
    data = open_bytes(path)
    try:
        frame = pd.read_parquet(io.BytesIO(data))
        # Converting can fail too (e.g. a string column holding invalid UTF-8).
        for column in frame.columns:
            frame[column] = frame[column].map(scalar_text)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for bad files
        raise InputError(f"{path}: is not a readable Parquet file ({first_line(exc)})") from None
    return frame
