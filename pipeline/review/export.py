"""Papers out of a map: CSV safe for spreadsheets, BibTeX that parses, RIS.

Every value is treated as hostile text:

- CSV: a cell that a spreadsheet would read as a formula (starting with
  ``= + - @``, a tab or a carriage return, also after leading spaces or as
  the full-width forms) gets a leading apostrophe, the usual neutraliser
  (OWASP "CSV injection"). Numbers stay numbers. UTF-8 with a byte-order mark,
  so spreadsheets detect the encoding.
- BibTeX: braces, backslashes and LaTeX specials are written as LaTeX
  commands (``\\{``, ``\\textbackslash{}``, ``\\&`` ...) so every field
  value has balanced braces and the file parses, while maths (``$\\ell_1$``) is kept
  as it is; keys are made of safe
  characters and unique. URLs are verbatim (percent-encoding what a URL may
  not hold), and the entry type follows the venue: proceedings, journal or misc.
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
from urllib.parse import quote

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


#: Inline maths as the dashboard reads it (``ui.core.latex``): ``$...$`` not starting or ending
#: with a space (so "costs $5 and $10" holds none), or ``$$...$$``; an escaped ``\\$``
#: neither opens nor closes it.
_MATH = re.compile(r"(?<!\\)\$\$[^$]+?(?<!\\)\$\$"
                   r"|(?<!\\)\$(?:[^\s$\\]|[^\s$][^$]{0,300}?[^\s$\\])\$")
#: Characters that keep a span of maths from being written as it is: LaTeX would read ``%``
#: as a comment, and ``# & @ ~`` mean something else to BibTeX tools.
_NOT_VERBATIM = set("%#&@~")


def bibtex_escape(value: object) -> str:
    """``value`` as a BibTeX field body: one line, specials as LaTeX, braces balanced.

    Maths stays maths: a ``$...$`` span whose braces balance and that holds none of
    ``% # & @ ~`` is written as it is (``$\\ell_1$``, not ``\\$\\textbackslash{}ell\\_1\\$``).
    Elsewhere ``{`` and ``}`` become ``\\{`` and ``\\}``; because BibTeX counts those
    too when balancing, any brace left unmatched in the text is dropped into a
    ``\\textbraceleft``/``\\textbraceright`` command instead.
    """
    text = _flat(value)
    out: list[str] = []
    start = 0
    for match in _MATH.finditer(text):
        maths = match.group(0)
        if _NOT_VERBATIM.isdisjoint(maths) and len(_matched_braces(maths)) == (
                maths.count("{") + maths.count("}")):
            out.append(_escape_text(text[start:match.start()]))
            out.append(maths)
            start = match.end()
    out.append(_escape_text(text[start:]))
    return "".join(out)


def _escape_text(text: str) -> str:
    """Text (not maths) with LaTeX specials written as commands and braces balanced."""
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
    """The papers as BibTeX entries: ``@inproceedings`` (``booktitle``) for a conference
    venue, ``@article`` (``journal``) for a journal, ``@misc`` (``howpublished``) for
    any other or none (see :func:`venue_kind`). URLs are written verbatim."""
    used: set[str] = set()
    entries = []
    for row in documents.to_dict("records"):
        fields: list[tuple[str, str]] = [("title", bibtex_escape(row.get("title")))]
        authors = _authors(row.get("authors"))
        if authors:
            fields.append(("author", bibtex_escape(" and ".join(authors))))
        year = _year(row.get("year"))
        if year:
            fields.append(("year", year))
        kind, venue = venue_kind(row)
        if venue:
            fields.append((BIBTEX_VENUE_FIELD[kind], bibtex_escape(venue)))
        if _flat(row.get("url")):
            fields.append(("url", bibtex_url(row["url"])))
        fields.append(("abstract", bibtex_escape(row.get("abstract"))))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
        entries.append(f"@{kind}{{{bibtex_key(row.get('id'), used)},\n{body}\n}}\n")
    return "\n".join(entries)


#: The BibTeX field that names the venue of each kind of entry.
BIBTEX_VENUE_FIELD = {"inproceedings": "booktitle", "article": "journal", "misc": "howpublished"}
#: Acronyms of conferences (a venue written as one, with or without a year, is a
#: conference), and of journals.
CONFERENCES = frozenset(
    "3DV AAAI ACCV ACL ACML AISTATS ALT AUTOML BMVC CHI CIKM COLING COLM COLT CONLL CORL CVPR "
    "EACL ECAI ECCV ECIR ECML EMNLP FAT FACCT HRI ICAPS ICASSP ICCV ICDE ICDM ICLR ICML ICRA "
    "IJCAI IJCNLP INTERSPEECH IROS ISER ISRR KDD LREC MICCAI MLSYS NAACL NEURIPS NIPS RECSYS RSS "
    "SDM SIGGRAPH SIGIR SODA STOC FOCS UAI WACV WSDM WWW".split())
JOURNALS = frozenset("JMLR TMLR TACL TPAMI PAMI IJCV IJRR RAL RA-L TRO T-RO TOG PNAS PLOS "
                     "NATURE SCIENCE CELL ELIFE JAMA BMJ LANCET NEJM".split())
_CONFERENCE_WORDS = re.compile(r"\b(conference|proceedings|workshop|symposium|meeting|"
                               r"congress|colloquium|summit|findings|advances in neural)\b",
                               re.IGNORECASE)
_JOURNAL_WORDS = re.compile(r"\b(journal|transactions|letters|review|magazine|annals|"
                            r"bulletin|quarterly)\b", re.IGNORECASE)
_ACRONYM = re.compile(r"^([A-Za-z0-9-]+?)(?:[\s'’-]*(?:19|20)?\d{2})?$")


def venue_kind(row: dict) -> tuple[str, str]:
    """The BibTeX entry type of a paper and its venue's name: ``("inproceedings", v)``
    for a conference, ``("article", v)`` for a journal, else ``("misc", v)`` (``v``
    may be empty).

    A ``booktitle`` column means proceedings and a ``journal`` column a journal; a
    ``venue`` is read by its words (conference, proceedings, workshop ...; journal,
    transactions, letters ...) or as a known acronym (ICCV, NeurIPS 2021; JMLR).
    Preprint servers and unknown venues are ``misc``: no claim is made.
    """
    booktitle, journal = _flat(row.get("booktitle")), _flat(row.get("journal"))
    if booktitle:
        return "inproceedings", booktitle
    if journal:
        return "article", journal
    venue = _flat(row.get("venue"))
    if not venue:
        return "misc", ""
    if _CONFERENCE_WORDS.search(venue):
        return "inproceedings", venue
    if _JOURNAL_WORDS.search(venue):
        return "article", venue
    match = _ACRONYM.match(venue)
    acronym = match.group(1).upper() if match else ""
    if acronym in CONFERENCES:
        return "inproceedings", venue
    if acronym in JOURNALS:
        return "article", venue
    return "misc", venue


#: Characters a URL keeps as they are in BibTeX (RFC 3986's reserved and unreserved ones,
#: and "%" of its escapes); any other is percent-encoded, so no brace, backslash, space
#: or "@" can end the field or start an entry, and links keep their underscores.
_URL_SAFE = ":/?#[]!$&'()*+,;=%-._~"


def bibtex_url(value: object) -> str:
    """A URL as a BibTeX ``url`` field body: verbatim (BibTeX and biblatex read ``url``
    literally: ``\\_`` would end up in the link), other characters percent-encoded."""
    return quote(_flat(value), safe=_URL_SAFE)


def _authors(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        names: Iterable[object] = value
    else:
        text = _flat(value)
        names = re.split(r"\s*;\s*|\s+and\s+", text) if text else []
    return [_flat(n) for n in names if _flat(n)]


# --------------------------------------------------------------------------- RIS


def to_ris(documents: pd.DataFrame) -> str:
    """The papers as RIS records: ``CONF`` with the conference as ``T2``, ``JOUR`` with the
    journal as ``JO``, else ``GEN`` (venue, if any, as ``T2``); one tag per line."""
    lines: list[str] = []
    for row in documents.to_dict("records"):
        kind, venue = venue_kind(row)
        lines.append(f"TY  - {RIS_TYPE[kind]}")
        if _flat(row.get("id")):
            lines.append(f"ID  - {_flat(row['id'])}")
        lines.append(f"TI  - {_flat(row.get('title'))}")
        lines.extend(f"AU  - {name}" for name in _authors(row.get("authors")))
        year = _year(row.get("year"))
        if year:
            lines.append(f"PY  - {year}")
        if venue:
            lines.append(f"{'JO' if kind == 'article' else 'T2'}  - {venue}")
        if _flat(row.get("url")):
            lines.append(f"UR  - {_flat(row['url'])}")
        if _flat(row.get("abstract")):
            lines.append(f"AB  - {_flat(row['abstract'])}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines)


RIS_TYPE = {"inproceedings": "CONF", "article": "JOUR", "misc": "GEN"}
