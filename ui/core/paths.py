"""Where maps live, resolved from this file's location, never the working directory.

The maps folder is ``<project>/maps`` (``project`` being the folder that holds
``dashboard.py``), or ``$TOPICMAP_MAPS_DIR`` when set (tests and deployments).
Map names that come from a URL are checked to stay inside it. Every path these
functions return is resolved; the open map is a :class:`MapRef`, resolved and stamped
once per run, which the cached loaders key on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import MapFormatError
from pipeline.mapdir.manifest import MANIFEST
from pipeline.mapdir.store import list_maps, resolve_inside

PROJECT_DIR = Path(__file__).resolve().parents[2]
MAPS_ENV = "TOPICMAP_MAPS_DIR"
DEFAULT_MAP_NAME = "sample"


@dataclass(frozen=True)
class MapRef:
    """A map folder (resolved) and its manifest's stamp, ``(mtime_ns, size)``: the stamp
    changes whenever the map is rebuilt, so caches keyed on :attr:`key` read it anew."""

    path: Path
    stamp: tuple[int, int]

    @classmethod
    def of(cls, path: Path | str) -> MapRef:
        """The map at ``path``, resolved, with its manifest stat'ed once."""
        resolved = Path(path).resolve()
        try:
            stat = (resolved / MANIFEST).stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = (0, 0)
        return cls(resolved, stamp)

    @property
    def key(self) -> tuple[str, tuple[int, int]]:
        """``(path, stamp)``: the key of everything cached per map."""
        return str(self.path), self.stamp


def maps_root() -> Path:
    """The folder whose sub-folders the map picker lists."""
    override = os.environ.get(MAPS_ENV)
    return Path(override).expanduser().resolve() if override else PROJECT_DIR / "maps"


def available_maps() -> list[Path]:
    """Every map directly under :func:`maps_root` (resolved), sorted by name."""
    return [path.resolve() for path in list_maps(maps_root())]


def map_by_name(name: str) -> Path:
    """The map called ``name`` under the maps folder; refuses names escaping it."""
    if not name or name.startswith(("/", "\\", "~")) or "\x00" in name:
        raise MapFormatError(f"{name!r} is not a map name; pick one from the list")
    path = resolve_inside(maps_root(), name)
    if path == maps_root():
        raise MapFormatError(f"{name!r} is not a map name; pick one from the list")
    return path


def name_in_root(path: Path) -> str | None:
    """``path``'s (a resolved path) name when it is a map directly under the maps folder,
    else ``None``."""
    return path.name if path.parent == maps_root() else None


def resolve_cli_map(arg: str) -> Path:
    """The map given on the command line (``-- --map X``).

    Tried in order: an absolute path; relative to the project folder (so
    ``maps/sample`` works from anywhere); a map name under the maps folder;
    relative to the current directory, as any command-line path would be.
    """
    path = Path(arg).expanduser()
    if path.is_absolute():
        return path.resolve()
    for base in (PROJECT_DIR, maps_root()):
        candidate = (base / path).resolve()
        if candidate.exists():
            return candidate
    return path.resolve()


def default_map() -> Path | None:
    """``maps/sample`` if built, else the first map found, else ``None``."""
    maps = available_maps()
    for path in maps:
        if path.name == DEFAULT_MAP_NAME:
            return path
    return maps[0] if maps else None
