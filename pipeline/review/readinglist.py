"""A reader's list of picked papers, kept per map in a small SQLite file.

The store sits *beside* the map directory, not inside it: a rebuild replaces
the map directory atomically, and the list must outlive that. For the map
``maps/papers`` the list is ``maps/papers.reading-list.sqlite3``. Paper ids
are the map's ``id`` column, which a rebuild of the same input keeps.

Usage::

    from .readinglist import ReadingList
    reading = ReadingList("maps/papers")
    reading.add(["2101.00001", "2101.00002"])
    reading.ids()           # ['2101.00001', '2101.00002'], in the order added
    reading.remove(["2101.00001"])

Each call opens and closes its own connection, so one ``ReadingList`` may be
used from any thread (Streamlit reruns scripts in worker threads), and a list
written by one process is read by the next one (a restart of the app).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from pipeline.errors import PipelineError
from pipeline.mapdir.store import TopicMap

SUFFIX = ".reading-list.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS papers (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    paper_id TEXT NOT NULL UNIQUE,
    added_at TEXT NOT NULL
);
"""


class ReadingListError(PipelineError):
    """The reading-list file cannot be opened, read or written."""


def store_path(map_path: Path | str) -> Path:
    """Where the list of the map at ``map_path`` is kept: a file beside the map directory."""
    map_path = Path(map_path).resolve()
    return map_path.parent / f"{map_path.name}{SUFFIX}"


class ReadingList:
    """The papers a reader picked on one map; persists across restarts."""

    #: Seconds to wait for another writer (another window or process) before giving up.
    timeout: float = 10.0

    def __init__(self, map_path: Path | str, *, db_path: Path | str | None = None) -> None:
        self.map_path = Path(map_path).resolve()
        self.db_path = Path(db_path) if db_path is not None else store_path(self.map_path)

    # ------------------------------------------------------------------ storage

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.db_path, timeout=self.timeout)
        except (OSError, sqlite3.Error) as exc:
            raise ReadingListError(
                f"cannot open the reading list {self.db_path} ({exc}); check that its folder "
                "exists and is writable"
            ) from None
        try:
            self._ensure_schema(connection)
            with connection:  # one transaction: committed on success, rolled back on error
                yield connection
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ReadingListError(
                    f"the reading list {self.db_path} is busy (another window or process is "
                    "writing it); try again in a moment") from None
            raise ReadingListError(
                f"the reading list {self.db_path} cannot be used ({exc}); check that its folder "
                "is writable, or move the file aside") from None
        except sqlite3.DatabaseError as exc:
            raise ReadingListError(
                f"the reading list {self.db_path} is unreadable ({exc}); move it aside and "
                "a new, empty list will be started"
            ) from None
        finally:
            connection.close()

    def _ensure_schema(self, connection: sqlite3.Connection) -> None:
        """Create the tables on first use; refuse a file of another schema version."""
        connection.executescript(_SCHEMA)
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            with connection:
                connection.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                                   (str(SCHEMA_VERSION),))
                connection.execute("INSERT OR IGNORE INTO meta VALUES ('map', ?)",
                                   (self.map_path.name,))
        elif row[0] != str(SCHEMA_VERSION):
            raise ReadingListError(
                f"the reading list {self.db_path} has schema version {row[0]}, this tool reads "
                f"{SCHEMA_VERSION}; open it with the version that wrote it, or move it aside"
            )

    # ------------------------------------------------------------------ API

    def add(self, ids: Iterable[str] | str) -> int:
        """Add papers (ids already in the list are kept where they are); return how many were new."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        new = 0
        with self._connect() as connection:
            for paper_id in _as_ids(ids):
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO papers (paper_id, added_at) VALUES (?, ?)",
                    (paper_id, now),
                )
                new += cursor.rowcount
        return new

    def remove(self, ids: Iterable[str] | str) -> int:
        """Remove papers; ids not in the list are ignored. Return how many were removed."""
        removed = 0
        with self._connect() as connection:
            for paper_id in _as_ids(ids):
                removed += connection.execute(
                    "DELETE FROM papers WHERE paper_id = ?", (paper_id,)).rowcount
        return removed

    def ids(self) -> list[str]:
        """The listed paper ids, in the order they were added."""
        if not self.db_path.exists():
            return []
        with self._connect() as connection:
            return [row[0] for row in
                    connection.execute("SELECT paper_id FROM papers ORDER BY position")]

    def clear(self) -> int:
        """Empty the list; return how many papers were removed."""
        if not self.db_path.exists():
            return 0
        with self._connect() as connection:
            return connection.execute("DELETE FROM papers").rowcount

    def entries(self) -> pd.DataFrame:
        """The list as a table: ``paper_id``, ``added_at`` (UTC, ISO 8601), in order added."""
        if not self.db_path.exists():
            return pd.DataFrame(columns=["paper_id", "added_at"])
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT paper_id, added_at FROM papers ORDER BY position").fetchall()
        return pd.DataFrame(rows, columns=["paper_id", "added_at"])

    def __contains__(self, paper_id: object) -> bool:
        return isinstance(paper_id, str) and paper_id in set(self.ids())

    def __len__(self) -> int:
        return len(self.ids())

    def __repr__(self) -> str:
        return f"ReadingList({str(self.map_path)!r}, db_path={str(self.db_path)!r})"


def papers_in_list(documents: pd.DataFrame, ids: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    """The map's rows for ``ids`` in list order, and the ids the map no longer has.

    A rebuilt map may have dropped a paper (e.g. its input changed); such ids
    stay in the list and are reported, never silently discarded.
    """
    ids = list(dict.fromkeys(str(i) for i in ids))
    row_of = {str(v): i for i, v in enumerate(documents["id"].tolist())}
    present = [i for i in ids if i in row_of]
    missing = [i for i in ids if i not in row_of]
    return documents.iloc[[row_of[i] for i in present]].reset_index(drop=True), missing


def with_labels(papers: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """``papers`` with ``cluster_label`` and ``theme_label`` columns from the map's labels."""
    papers = papers.copy()
    for level, column in (("cluster", "cluster_label"), ("theme", "theme_label")):
        rows = clusters[clusters["level"] == level]
        names = dict(zip(rows["id"].astype(int), rows["label"].astype(str), strict=True))
        if level in papers.columns:
            papers[column] = [names.get(int(v), "unclustered" if int(v) < 0 else "")
                              for v in papers[level]]
    return papers


#: Export formats: name -> (file suffix, MIME type).
EXPORT_FORMATS = {"bibtex": (".bib", "application/x-bibtex"),
                  "ris": (".ris", "application/x-research-info-systems"),
                  "csv": (".csv", "text/csv")}


def export_papers(papers: pd.DataFrame, fmt: str) -> bytes:
    """``papers`` as BibTeX, RIS or CSV bytes (UTF-8), via ``pipeline.review.export``."""
    from pipeline.review import export

    if fmt == "bibtex":
        return export.to_bibtex(papers).encode("utf-8")
    if fmt == "ris":
        return export.to_ris(papers).encode("utf-8")
    if fmt == "csv":
        columns = [c for c in ["id", "title", "authors", "year", "url", "cluster_label",
                               "theme_label", "abstract", "doi", "venue"] if c in papers.columns]
        return export.to_csv(papers, columns)
    raise PipelineError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")


def export_reading_list(topic_map: TopicMap, reading: ReadingList, fmt: str) -> bytes:
    """The reading list of ``topic_map`` (in list order, with labels) as ``fmt`` bytes."""
    papers, _ = papers_in_list(topic_map.documents, reading.ids())
    return export_papers(with_labels(papers, topic_map.clusters), fmt)


def _as_ids(ids: Iterable[str] | str) -> list[str]:
    if isinstance(ids, str):
        ids = [ids]
    out = []
    for value in ids:
        text = str(value).strip()
        if text:
            out.append(text)
    return out

