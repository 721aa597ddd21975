"""What every reader shares: opening (gzip), decoding, JSON records and error wording.

gzip and text decoding live here and nowhere else: ``read_text`` for a whole
file, ``peek`` for its first bytes, ``open_text_stream`` to stream it line by
line. A name ending in ``.gz`` is decompressed; text is UTF-8 (a BOM tolerated).
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError, first_line  # noqa: F401 - readers import it here

#: The standard columns a reader aims at (``pipeline.ingest.clean`` finds them by name).
CORE_COLUMNS = ["id", "title", "abstract", "year", "authors", "url"]

#: A reader: the raw table of one file, or an iterator of chunks of it (same columns in each).
Reader = Callable[[Path, IngestConfig], pd.DataFrame | Iterator[pd.DataFrame]]

_PEEK_BYTES = 1 << 16


def is_gzip(path: Path) -> bool:
    """True when the file name says gzip (``.gz``)."""
    return path.name.lower().endswith(".gz")


def format_suffix(path: Path) -> str:
    """The format suffix, ignoring a trailing ``.gz``: ``a.csv.gz`` -> ``.csv``."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return Path(name).suffix


def open_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give the data file(s) inside it") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if is_gzip(path):
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


def read_text(path: Path) -> str:
    """The whole file as text (gunzipped, decoded); any problem is an ``InputError``."""
    return decode_text(path, open_bytes(path))


def peek(path: Path) -> bytes:
    """The first 64 KiB (decompressed); empty for a broken file, which its reader reports."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as handle:
                return handle.read(_PEEK_BYTES)
        with open(path, "rb") as handle:
            return handle.read(_PEEK_BYTES)
    except (OSError, EOFError, zlib.error):
        return b""


def open_text_stream(path: Path, newline: str | None = None) -> IO[str]:
    """A UTF-8 text stream over the file, decompressing ``.gz`` as it goes."""
    try:
        if is_gzip(path):
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline=newline)
        return open(path, encoding="utf-8-sig", newline=newline)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


# --------------------------------------------------------------------------- JSON


def json_lines(path: Path, text: str) -> list:
    """One JSON value per line; blank lines ignored; a bad line is an error naming it."""
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
    return records


def load_json(path: Path, text: str, *, holds: str, fix: str) -> object:
    """A JSON document, or the list of values of a file of one per line (JSON Lines).

    ``holds`` ends the too-deeply-nested message ("a list of papers"); ``fix`` ends
    the invalid-JSON one ("export it again").
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # A file of one record per line is JSON Lines whatever its name says.
        if exc.msg != "Extra data":
            raise InputError(f"{path}: is not valid JSON ({exc.msg} at line {exc.lineno}); "
                             f"fix the file or {fix}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON is nested too deeply to be {holds}") from None
    return json_lines(path, text)


def records_frame(path: Path, records: list) -> pd.DataFrame:
    """A table from a list of JSON objects; nested values are kept as JSON text."""
    if not all(isinstance(r, dict) for r in records):
        raise InputError(f"{path}: expected JSON objects (one per paper), found other values")
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        frame[column] = frame[column].map(scalar_text)
    return frame


def scalar_text(value: object) -> str:
    """A cell as text: blank for missing, lists of strings joined by "; ", other JSON as JSON."""
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
