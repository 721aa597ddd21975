"""Papers out of a map: CSV safe for spreadsheets, BibTeX that parses, RIS.

Every value is treated as hostile text:

- CSV: a cell that a spreadsheet would read as a formula (starting with
  ``= + - @``, a tab or a carriage return, also after leading spaces or as
  the full-width forms) gets a leading apostrophe, the usual neutraliser
  (OWASP "CSV injection"). Numbers stay numbers. UTF-8 with a byte-order mark,
  so spreadsheets detect the encoding.
- BibTeX: braces, backslashes and LaTeX specials are written as LaTeX
  commands (``\\{``, ``\\textbackslash{}``, ``\\&`` ...) so every field
  value has balanced braces and the file parses; keys are made of safe
  characters and unique.
- RIS: one line per tag, so newlines and control characters inside values
  are turned into spaces (a value can never start a new tag or end a record).

These functions take a documents table (the map's, or any subset) and never
import the dashboard.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence

import pandas as pd

#: Columns exported first, in this order, when present; other columns follow.
EXPORT_COLUMNS = ["id", "title", "authors", "year", "url", "cluster_label", "theme_label",
                  "abstract"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_WHITESPACE = re.compile(r"\s+")


def neutralise_cell(value: object) -> object:
    """``value``, with a leading apostrophe if a spreadsheet would run it as a formula."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_START) or value.lstrip(" ").startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(documents: pd.DataFrame, columns: Sequence[str] | None = None) -> bytes:
    """The papers as spreadsheet-safe CSV bytes (UTF-8 with BOM)."""
    table = _export_table(documents, columns)
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].map(neutralise_cell)
    # Column names come from the input files too (metadata columns): the header row
    # is neutralised like any other.
    table.columns = [neutralise_cell(_clean_cell(c)) for c in table.columns]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8-sig")


def _export_table(documents: pd.DataFrame, columns: Sequence[str] | None) -> pd.DataFrame:
    if columns is None:
        first = [c for c in EXPORT_COLUMNS if c in documents.columns]
        columns = first + [c for c in documents.columns if c not in first]
    table = documents.loc[:, list(columns)].copy()
    for column in table.columns:
        series = table[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            table[column] = series.map(_clean_cell).astype(object)
        elif column == "year":
            table[column] = series.map(_year).astype(object)
    return table


def _clean_cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    return _CONTROL.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))


def _year(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(number) else str(int(number))


def _flat(value: object) -> str:
    """One line of text: control characters removed, whitespace collapsed."""
    text = _clean_cell(value)
    return _WHITESPACE.sub(" ", str(text)).strip()


# --------------------------------------------------------------------------- BibTeX

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "@": r"{@}",
}


def bibtex_escape(value: object) -> str:
    """``value`` as a BibTeX field body: one line, specials as LaTeX, braces balanced.

    ``{`` and ``}`` become ``\\{`` and ``\\}``; because BibTeX counts those
    too when balancing, any brace left unmatched in the text is dropped into a
    ``\\textbraceleft``/``\\textbraceright`` command instead.
    """
    text = _flat(value)
    out: list[str] = []
    # Which braces are matched decides how each is written, so the value stays balanced.
    matched = _matched_braces(text)
    for i, ch in enumerate(text):
        if ch in "{}" and i not in matched:
            out.append(r"\textbraceleft{}" if ch == "{" else r"\textbraceright{}")
        else:
            out.append(_LATEX_SPECIALS.get(ch, ch))
    return "".join(out)


def _matched_braces(text: str) -> set[int]:
    stack: list[int] = []
    matched: set[int] = set()
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            matched.add(stack.pop())
            matched.add(i)
    return matched


def bibtex_key(value: object, used: set[str]) -> str:
    """A citation key from ``value``: ASCII letters, digits and ``_:-``; unique in ``used``."""
    base = re.sub(r"[^A-Za-z0-9_:-]+", "_", _flat(value)).strip("_")[:60] or "paper"
    if not base[0].isalpha():
        base = "p" + base
    key, n = base, 1
    while key in used:
        n += 1
        key = f"{base}_{n}"
    used.add(key)
    return key


def to_bibtex(documents: pd.DataFrame) -> str:
    """The papers as BibTeX ``@article`` entries (``@misc`` when there is no venue)."""
    used: set[str] = set()
    entries = []
    for row in documents.to_dict("records"):
        fields: list[tuple[str, str]] = [("title", row.get("title"))]
        authors = _authors(row.get("authors"))
        if authors:
            fields.append(("author", " and ".join(authors)))
        year = _year(row.get("year"))
        if year:
            fields.append(("year", year))
        venue = next((row[c] for c in ("venue", "journal", "booktitle") if _flat(row.get(c))),
                     None)
        if venue is not None:
            fields.append(("journal", venue))
        if _flat(row.get("url")):
            fields.append(("url", row["url"]))
        fields.append(("abstract", row.get("abstract")))
        body = ",\n".join(f"  {name} = {{{bibtex_escape(value)}}}" for name, value in fields
                          if _flat(value))
        kind = "article" if venue is not None else "misc"
        entries.append(f"@{kind}{{{bibtex_key(row.get('id'), used)},\n{body}\n}}\n")
    return "\n".join(entries)


def _authors(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        names: Iterable[object] = value
    else:
        text = _flat(value)
        names = re.split(r"\s*;\s*|\s+and\s+", text) if text else []
    return [_flat(n) for n in names if _flat(n)]


# --------------------------------------------------------------------------- RIS


def to_ris(documents: pd.DataFrame) -> str:
    """The papers as RIS records (``TY  - JOUR``), one tag per line."""
    lines: list[str] = []
    for row in documents.to_dict("records"):
        venue = next((row[c] for c in ("venue", "journal", "booktitle") if _flat(row.get(c))),
                     None)
        lines.append(f"TY  - {'JOUR' if venue is not None else 'GEN'}")
        if _flat(row.get("id")):
            lines.append(f"ID  - {_flat(row['id'])}")
        lines.append(f"TI  - {_flat(row.get('title'))}")
        lines.extend(f"AU  - {name}" for name in _authors(row.get("authors")))
        year = _year(row.get("year"))
        if year:
            lines.append(f"PY  - {year}")
        if venue is not None:
            lines.append(f"JO  - {_flat(venue)}")
        if _flat(row.get("url")):
            lines.append(f"UR  - {_flat(row['url'])}")
        if _flat(row.get("abstract")):
            lines.append(f"AB  - {_flat(row['abstract'])}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines)
