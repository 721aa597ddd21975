"""A map's ``manifest.json``: format name, schema version, what built the map, a SHA-256
of every other file, and a checksum of its own content (``manifest_sha256``)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import MapFormatError

SCHEMA_VERSION = 2
FORMAT_NAME = "topicmap"
MANIFEST = "manifest.json"
#: The manifest's own checksum (of its other entries, see :func:`manifest_digest`).
MANIFEST_HASH = "manifest_sha256"
#: The map's title (``build --title``; by default made from the input's file name).
TITLE = "title"
TITLE_CHARS = 120
_SUFFIXES = {".gz", ".csv", ".tsv", ".json", ".jsonl", ".parquet", ".txt", ".bib", ".ris",
             ".xml", ".zip", ".bz2", ".xz", ".npy"}


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` into ``directory`` with its own checksum (in place: for a
    directory being written; a finished map is replaced through :func:`write_map`)."""
    manifest = {k: v for k, v in manifest.items() if k != MANIFEST_HASH}
    manifest = json.loads(json.dumps(manifest, default=str))  # as a reader will see it
    manifest[MANIFEST_HASH] = manifest_digest(manifest)
    with open(Path(directory) / MANIFEST, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=False)
        handle.flush()
        os.fsync(handle.fileno())


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of a manifest's content without its own ``manifest_sha256`` entry, so a
    damaged manifest (a flipped byte in a name or a number) is refused like damaged data."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_HASH}
    text = json.dumps(body, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(path: Path | str) -> dict[str, Any]:
    """Read and check a map's manifest; refuse other formats and schema versions."""
    path = Path(path)
    if not path.exists():
        raise MapFormatError(
            f"no map at {path}: build one with `python -m pipeline build FILE --out {path}`"
        )
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise MapFormatError(
            f"{path} is not a map (no {MANIFEST}); point at a directory written by "
            "`python -m pipeline build`"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MapFormatError(f"{manifest_path} is unreadable ({exc}); rebuild the map") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise MapFormatError(f"{manifest_path} is not a topic-map manifest; rebuild the map")
    version = manifest.get("schema_version")
    if version == 1:
        raise MapFormatError(
            f"map {path} was built before topic layers (schema version 1); this version of the "
            f"tool reads version {SCHEMA_VERSION}: rebuild it from its input files with "
            f"`python -m pipeline build FILE... --out {path}`")
    if version != SCHEMA_VERSION:
        raise MapFormatError(
            f"map {path} has schema version {version!r}, but this version of the tool reads "
            f"version {SCHEMA_VERSION}; rebuild it with `python -m pipeline build ... --out {path}`"
            " (or open it with the version of the tool that wrote it)"
        )
    if manifest.get(MANIFEST_HASH) != manifest_digest(manifest):
        raise MapFormatError(
            f"{manifest_path} is damaged (its checksum does not match its content); "
            f"rebuild the map with `python -m pipeline build ... --out {path}`")
    return manifest


def readable_title(paths: Sequence[Path | str]) -> str:
    """A title made from input file names: ``cs_venues_balanced.csv.gz`` gives "Cs venues
    balanced"; several files give the first one's and how many more."""
    if not paths:
        return "Topic map"
    name = Path(str(paths[0])).name
    while Path(name).suffix.lower() in _SUFFIXES:
        name = name[: -len(Path(name).suffix)]
    words = " ".join(re.sub(r"[_\-.]+", " ", name).split()) or "Topic map"
    title = words[0].upper() + words[1:]
    more = len(paths) - 1
    return f"{title} and {more} more file{'s' * (more > 1)}" if more else title


def map_title(manifest: dict[str, Any], path: Path | str | None = None) -> str:
    """The title a map is shown with: its own (``build --title``), else one made from its
    input files (maps built before titles), else its folder's name."""
    title = " ".join(str(manifest.get(TITLE) or "").split())
    if title:
        return title[:TITLE_CHARS]
    inputs = [str(item.get("path")) for item in manifest.get("inputs") or []
              if isinstance(item, dict) and item.get("path")]
    if inputs:
        return readable_title(inputs)
    return Path(path).name if path is not None else "Topic map"
