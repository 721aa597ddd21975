"""BibTeX / BibLaTeX (``.bib``): bibtexparser 2, LaTeX decoded with pylatexenc."""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError

from .base import first_line, read_text
from .fields import BIB_COLUMNS, bare_doi, display_name, doi_url

log = logging.getLogger("pipeline")


def read_bibtex(path: Path, config: IngestConfig) -> pd.DataFrame:
    """BibTeX or BibLaTeX entries; @string macros resolved, LaTeX decoded to plain text.

    Math (``$...$``) is kept literally. Any entry the parser cannot read is an
    error naming its line, so no paper is silently dropped.
    """
    import bibtexparser
    from bibtexparser import middlewares as mw
    from bibtexparser.model import DuplicateBlockKeyBlock

    text = read_text(path)
    if not text.strip():
        return pd.DataFrame(columns=BIB_COLUMNS)
    stack = [mw.SeparateCoAuthors(), mw.SplitNameParts(), _decoding_middleware()]
    splitter_log = logging.getLogger("bibtexparser.splitter")
    level = splitter_log.level
    splitter_log.setLevel(logging.CRITICAL)  # its messages are folded into ours below
    try:
        library = bibtexparser.parse_string(text, append_middleware=stack)
    except Exception as exc:  # noqa: BLE001 - the parser raises many types on bad input
        raise InputError(f"{path}: is not valid BibTeX ({first_line(exc)}); fix the file or "
                         "export it again") from None
    finally:
        splitter_log.setLevel(level)
    failed = [b for b in library.failed_blocks if not isinstance(b, DuplicateBlockKeyBlock)]
    if failed:
        block = failed[0]
        reason = getattr(block.error, "abort_reason", None) or first_line(block.error)
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


# Fields that hold links, not prose: LaTeX decoding would cut them at "%" (a comment).
VERBATIM_FIELDS = frozenset({"url", "doi", "eprint"})
_ESCAPED = re.compile(r"\\([%_&#$~])")
_URL_MACRO = re.compile(r"^\\url\{(.*)\}$", re.DOTALL)


def verbatim(value: str) -> str:
    """A link field as written: ``\\url{...}`` unwrapped, ``\\%`` ``\\_`` ``\\&`` unescaped."""
    value = value.strip()
    match = _URL_MACRO.match(value)
    return _ESCAPED.sub(r"\1", match.group(1) if match else value)


def _decoding_middleware() -> Any:
    """bibtexparser's LaTeX decoding for every field but the links (VERBATIM_FIELDS)."""
    from bibtexparser import middlewares as mw

    class DecodeProse(mw.LatexDecodingMiddleware):
        def transform_entry(self, entry: Any, library: Any) -> Any:
            links = {f.key: f.value for f in entry.fields
                     if f.key.lower() in VERBATIM_FIELDS and isinstance(f.value, str)}
            block = super().transform_entry(entry, library)
            for f in entry.fields:
                if f.key in links:
                    f.value = verbatim(links[f.key])
            return block

    return DecodeProse(decoder=latex_decoder())


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

    doi = bare_doi(get("doi"))
    return {
        "id": entry.key,
        "title": get("title"),
        "abstract": get("abstract"),
        "authors": _bib_names(fields.get("author")),
        "year": get("year", "date"),
        "url": get("url") or doi_url(doi) or _eprint_url(get("eprint"), get("archiveprefix")),
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
