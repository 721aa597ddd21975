"""The saved text of a trending-papers web page (``.txt``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import InputError

from .base import read_text

_ABSTRACT_WORDS = 15
_TITLE_WORDS = 30


def read_page_text(path: Path, config: IngestConfig) -> pd.DataFrame:
    """The saved text of a trending-papers web page.

    Such a page is a few header lines (a banner, "Subscribe", a date) and then,
    for each paper, a title line followed by its abstract line. An abstract is a
    long line (at least 15 words); its title is the non-empty line just above
    it, when that line is shorter (under 30 words, and shorter than the
    abstract). Lines that are neither (headers, vote counts) are dropped.
    """
    text = read_text(path)
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
