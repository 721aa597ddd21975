"""The on-disk map: a directory of Parquet tables, ``.npy`` arrays and a manifest.

Layout of ``maps/NAME/``::

    manifest.json        schema version, config, model, inputs, counts, timings,
                         package versions, and a SHA-256 of every other file
    documents.parquet    one row per paper (see DOCUMENT_COLUMNS), then a column per
                         layer between the finest and the broadest (layer_1 ...), then
                         the input's metadata columns
    clusters.parquet     one row per node of every layer (see CLUSTER_COLUMNS; then the
                         offline names' provenance and the columns of other naming methods)
    embeddings.npy       float32, L2-normalised, row-aligned with documents
    fitted.npz           (optional) what ``python -m pipeline update`` needs to add
                         papers without refitting, as plain numeric arrays (read with
                         allow_pickle=False); its arrays are described in
                         pipeline/engines/fitted.py. Maps without it load as before;
                         ``update --rebuild`` adds it.

A map holds nested layers of topics, layer 0 the finest ("cluster") to layer L-1 the
broadest ("theme"), L >= 2, "layer_1" ... between; schema 1 (one cut) is refused.

A map is written into a temporary sibling directory and renamed into place,
so a crash or Ctrl-C never leaves a half-written map and never destroys the
previous one. No pickle is ever read or written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import MapFormatError

from .levels import BROADEST, FINEST, level_names, level_order  # noqa: F401 - re-exported
from .manifest import (  # noqa: F401 - the map format's names, re-exported
    FORMAT_NAME,
    MANIFEST,
    MANIFEST_HASH,
    SCHEMA_VERSION,
    manifest_digest,
    read_manifest,
    write_manifest,
)

DOCUMENTS = "documents.parquet"
CLUSTERS = "clusters.parquet"
EMBEDDINGS = "embeddings.npy"
FITTED = "fitted.npz"

#: Columns every documents table starts with, in order; ``cluster`` is the finest layer
#: (-1: noise), ``theme`` the broadest (never -1). The layers between follow as
#: ``layer_1 ...`` (:func:`level_names`), then the input's metadata columns.
DOCUMENT_COLUMNS = [
    "id", "title", "abstract", "year", "authors", "url",
    "x", "y", "cluster", "theme", "probability", "outlier_score", "is_noise",
]
#: Names written by a language model beside the offline ``label`` ("" = none;
#: pipeline/naming/llm/namer.py).
LLM_COLUMNS = ["llm_label", "llm_description"]
#: Columns of the clusters table: one row per node of every layer. ``layer`` is 0 for the
#: finest; ``level`` the documents column of that layer; ``id`` is unique within a layer;
#: ``parent`` the node's id in the next broader layer (-1 at the top).
CLUSTER_COLUMNS = [
    "layer", "level", "id", "parent", "label", "terms", "weights", "size", "x", "y",
    "representative_ids", "support", "contrast", "stability", "weak_name", "fragile",
    *LLM_COLUMNS,
]
NOISE = -1
@dataclass
class TopicMap:
    """A loaded map: the tables, the vectors and the manifest."""

    documents: pd.DataFrame
    clusters: pd.DataFrame
    embeddings: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: Arrays saved as ``fitted.npz`` for incremental updates (None: not saved).
    fitted: dict[str, np.ndarray] | None = None

    @property
    def metadata_columns(self) -> list[str]:
        """Extra input columns kept for colouring and filtering."""
        layers = set(self.levels)
        return [c for c in self.documents.columns if c not in DOCUMENT_COLUMNS
                and c not in layers]

    @property
    def levels(self) -> list[str]:
        """The map's levels, finest first: ``["cluster", "layer_1", ..., "theme"]``.
        Each is a documents column and a ``level`` of the clusters table."""
        return level_order(self.clusters)

    def level(self, level: str | int) -> pd.DataFrame:
        """The rows of the clusters table at ``level`` (a level name, or a layer number:
        0 finest, -1 broadest), ordered by id; none for a name the map lacks."""
        name = level if isinstance(level, str) else self.level_name(level)
        rows = self.clusters[self.clusters["level"] == name]
        return rows.sort_values("id", kind="stable").reset_index(drop=True)

    def level_name(self, level: str | int) -> str:
        """The level name of a layer number (0 finest, -1 broadest) or name; a
        ``MapFormatError`` names the map's levels when there is no such one."""
        levels = self.levels
        if isinstance(level, (int, np.integer)) and -len(levels) <= level < len(levels):
            return levels[level]
        if level in levels:
            return str(level)
        raise MapFormatError(f"this map has no level {level!r}; its levels are "
                             f"{', '.join(levels)} (or layer numbers 0-{len(levels) - 1})")

    @property
    def model_name(self) -> str:
        return str(self.manifest.get("model", {}).get("name", ""))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``target`` only on success.

    The temporary directory sits beside ``target`` (same filesystem, so the
    final rename is atomic). On any exception, KeyboardInterrupt included, it
    is removed and ``target`` is left exactly as it was.
    """
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(target):
        _recover(target)  # what a killed earlier build of this name left behind
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            yield tmp
            _fsync_dir(tmp)
            replace_directory(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def replace_directory(new: Path, target: Path) -> None:
    """Swap ``new`` into ``target``'s place, keeping the old one until the swap is done."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    os.replace(new, target)
    _fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- killed builds
# A build killed outright (SIGKILL, power loss) runs no cleanup. It may leave a
# temporary ``.NAME.tmp-*`` directory, an old map ``.NAME.old-*`` already replaced,
# or, killed between the two renames of ``replace_directory``, the previous map
# renamed aside with nothing in its place. Writers hold ``.NAME.lock`` (released by
# the OS when a process dies) and clear this up first; readers put a map that was
# renamed aside back when no build of it is running.


def _leftovers(target: Path, kind: str) -> list[Path]:
    """``.NAME.tmp-*`` or ``.NAME.old-*`` directories beside ``target``."""
    if not target.parent.is_dir():
        return []
    prefix = f".{target.name}.{kind}-"
    return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


@contextlib.contextmanager
def _lock(target: Path, *, wait: bool) -> Iterator[bool]:
    """Hold ``.NAME.lock`` beside ``target``; yields whether it was acquired."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield True
        return
    try:
        fd = os.open(target.with_name(f".{target.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # also releases the lock


@contextlib.contextmanager
def _writer_lock(target: Path) -> Iterator[None]:
    """One writer of ``target`` at a time; a second one waits for the first to finish."""
    with _lock(target, wait=True):
        yield


def _recover(target: Path) -> bool:
    """Put a map renamed aside back if ``target`` is missing; remove other leftovers.

    The caller holds the lock. Returns True when a map was put back.
    """
    restored = False
    if not target.exists():
        for old in _leftovers(target, "old"):
            if (old / MANIFEST).is_file():
                os.replace(old, target)
                _fsync_dir(target.parent)
                restored = True
                break
    for leftover in _leftovers(target, "tmp") + _leftovers(target, "old"):
        shutil.rmtree(leftover, ignore_errors=True)
    return restored


def recover_map(target: Path | str) -> bool:
    """Repair what a killed build left beside ``target`` unless a build of it is running.

    Returns True when the previous map, renamed aside by a build killed
    mid-swap, was put back in place.
    """
    target = Path(target).resolve()
    if not _leftovers(target, "old") and not _leftovers(target, "tmp"):
        return False
    with _lock(target, wait=False) as held:
        return _recover(target) if held else False


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_map(topic_map: TopicMap, out: Path | str) -> Path:
    """Write ``topic_map`` to ``out`` atomically; return the final path."""
    out = Path(out)
    with atomic_directory(out) as tmp:
        write_map_files(topic_map, tmp)
    return out.resolve()


def write_map_files(topic_map: TopicMap, directory: Path) -> None:
    """Write the tables, the vectors and the manifest into ``directory``."""
    documents = topic_map.documents
    missing = [c for c in DOCUMENT_COLUMNS if c not in documents.columns]
    if missing:
        raise ValueError(f"documents table lacks columns {missing}")
    if len(topic_map.embeddings) != len(documents):
        raise ValueError("embeddings are not row-aligned with documents")
    missing = [c for c in CLUSTER_COLUMNS if c not in topic_map.clusters.columns]
    if missing:
        raise ValueError(f"clusters table lacks columns {missing}")
    documents.to_parquet(directory / DOCUMENTS, index=False)
    extra = [c for c in topic_map.clusters.columns if c not in CLUSTER_COLUMNS]  # namers' own
    topic_map.clusters[CLUSTER_COLUMNS + extra].to_parquet(directory / CLUSTERS, index=False)
    np.save(directory / EMBEDDINGS, np.ascontiguousarray(topic_map.embeddings, dtype=np.float32))
    if topic_map.fitted:
        np.savez(directory / FITTED, **{k: np.asarray(v) for k, v in topic_map.fitted.items()})
    manifest = dict(topic_map.manifest)
    manifest["format"] = FORMAT_NAME
    manifest["schema_version"] = SCHEMA_VERSION
    manifest["files"] = {
        p.name: sha256_file(p) for p in sorted(directory.iterdir()) if p.name != MANIFEST
    }
    write_manifest(directory, manifest)


def load_map(path: Path | str, *, verify: bool = True, mmap: bool = True) -> TopicMap:
    """Load a map written by ``write_map``.

    Refuses a map of another schema version, and (with ``verify``) one whose
    files do not match the hashes in its manifest, with a message saying what
    to do. ``mmap`` maps the embeddings instead of reading them into memory.
    """
    path = Path(path)
    if not path.exists():
        recover_map(path)  # a build killed mid-swap leaves the previous map renamed aside
    manifest = read_manifest(path)
    files = manifest.get("files", {})
    for name in (DOCUMENTS, CLUSTERS, EMBEDDINGS):
        file_path = path / name
        if not file_path.is_file():
            raise MapFormatError(f"map {path} is missing {name}; rebuild the map")
        if verify and files.get(name) != sha256_file(file_path):
            raise MapFormatError(
                f"{file_path} does not match the hash in its manifest (corrupt or changed "
                "after the build); rebuild the map"
            )
    try:
        documents = pd.read_parquet(path / DOCUMENTS)
        clusters = pd.read_parquet(path / CLUSTERS)
        embeddings = np.load(
            path / EMBEDDINGS, mmap_mode="r" if mmap else None, allow_pickle=False
        )
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a corrupt map
        raise MapFormatError(f"map {path} could not be read ({exc}); rebuild the map") from None
    if len(embeddings) != len(documents):
        raise MapFormatError(f"map {path}: embeddings and documents differ in length; rebuild it")
    return TopicMap(documents, clusters, embeddings, manifest, path.resolve())


def list_maps(root: Path | str) -> list[Path]:
    """Map directories directly under ``root`` (hidden temporaries skipped), sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    for leftover in root.glob(".*.old-*"):
        name = leftover.name[1:].rsplit(".old-", 1)[0]
        if name and not (root / name).exists():
            recover_map(root / name)
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()
    )


def resolve_inside(root: Path | str, name: str) -> Path:
    """``root/name``, refusing any name that would escape ``root``."""
    root = Path(root).resolve()
    candidate = (root / name).resolve()
    if candidate != root and root not in candidate.parents:
        raise MapFormatError(f"{name!r} is outside the maps folder {root}")
    return candidate


def rewrite_map(topic_map: TopicMap, path: Path | str) -> Path:
    """Write a map loaded from ``path`` back atomically (new names, say), keeping its other
    files.

    Files the map has besides the tables and vectors (``fitted.npz``) are copied
    and checked against the manifest's hashes. A map written by someone else since
    it was loaded (an ``update``) is refused, so nothing of theirs is overwritten.
    """
    target = Path(path).resolve()
    rewritten = {DOCUMENTS, CLUSTERS, EMBEDDINGS} | ({FITTED} if topic_map.fitted else set())
    with atomic_directory(target) as tmp:  # holds the map's writer lock
        if read_manifest(target).get("files") != topic_map.manifest.get("files"):
            raise MapFormatError(f"map {target} was rewritten while it was being renamed; "
                                 "nothing was written: run rename again")
        for name, digest in topic_map.manifest.get("files", {}).items():
            if name in rewritten:
                continue
            if Path(name).name != name or not (target / name).is_file():
                raise MapFormatError(f"map {target} lists a file {name!r} it does not have; "
                                     "rebuild the map")
            shutil.copy2(target / name, tmp / name)
            if sha256_file(tmp / name) != digest:
                raise MapFormatError(f"{target / name} changed while the map was being renamed (or "
                                     "does not match its hash); nothing was written: run rename again")
        write_map_files(topic_map, tmp)
    return target
