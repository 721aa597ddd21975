"""A map's ``manifest.json``: format name, schema version, what built the map, a SHA-256
of every other file, and a checksum of its own content (``manifest_sha256``)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pipeline.errors import MapFormatError

SCHEMA_VERSION = 2
FORMAT_NAME = "topicmap"
MANIFEST = "manifest.json"
#: The manifest's own checksum (of its other entries, see :func:`manifest_digest`).
MANIFEST_HASH = "manifest_sha256"


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
