"""The view in the URL (``st.query_params``) and the map named on the command line.

URL parameters (all optional; reloading or sharing a link restores the view):

=========  ============================================================
``map``    map name under the maps folder (``maps/NAME``)
``theme``  theme ids, comma-separated (filter)
``cluster`` cluster ids, comma-separated (filter)
``paper``  id of the paper whose panel is open
``q``      semantic search query
``find``   text filter over titles and abstracts
``years``  year range, inclusive: ``2015-2020`` (filter)
``drill``  drill-down topic, e.g. ``layer_1:5`` (drill-down page; a trail
           ``theme:2,layer_1:5`` down the map's layers is read too)
``node``   the topic in focus on the map page (clicked in the topic tree); a link
           with it opens the map zoomed to that topic, as the click did
``names``  ``offline``: show the offline names, not a language model's
=========  ============================================================

Values from the URL are untrusted: ids are parsed as integers and unknown
ones dropped by the pages; map names are checked to stay in the maps folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import streamlit as st

from pipeline.errors import MapFormatError
from ui.core import paths
from ui.core.view import OVERVIEW_POINTS

MAP_KEY = "topicmap_map_path"  # session: the map this session looks at
NAMES_KEY = "names_mode"  # session: "llm" or "offline" names (every page, every map)
MAX_PARAM_CHARS = 2000
OVERVIEW_ENV = "TOPICMAP_OVERVIEW_POINTS"


def cli_arg(name: str, argv: Sequence[str] | None = None) -> str | None:
    """The value of ``--NAME`` in the script's arguments (``streamlit run dashboard.py -- --NAME X``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    flag = f"--{name}"
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def cli_map_arg(argv: Sequence[str] | None = None) -> str | None:
    """The value of ``--map`` in the script's arguments (``streamlit run dashboard.py -- --map X``)."""
    return cli_arg("map", argv)


def overview_limit(argv: Sequence[str] | None = None) -> int:
    """How many points a big view draws before it opens on an overview.

    ``--overview-points N`` on the command line, else ``$TOPICMAP_OVERVIEW_POINTS``,
    else :data:`ui.core.view.OVERVIEW_POINTS`; 0 turns the overview off. A value that is
    not a whole number is ignored (the default applies).
    """
    raw = cli_arg("overview-points", argv) or os.environ.get(OVERVIEW_ENV, "")
    raw = raw.strip().replace(",", "").replace("_", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else OVERVIEW_POINTS


def param(name: str) -> str:
    """A URL parameter as text ("" when absent), cut to a sane length."""
    value = st.query_params.get(name, "")
    return str(value)[:MAX_PARAM_CHARS]


def int_list(text: str) -> list[int]:
    """``"1,3,x,5"`` -> ``[1, 3, 5]``: malformed items are ignored."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if item.lstrip("-").isdigit() and len(item) < 10:
            out.append(int(item))
    return out


def set_params(**values: str | Iterable[int] | None) -> None:
    """Write view state to the URL; empty values remove their parameter.

    Only changed parameters are written, so an unchanged view sends nothing.
    """
    for name, value in values.items():
        if value is None or isinstance(value, str):
            text = value or ""
        else:
            text = ",".join(str(int(v)) for v in value)
        if not text:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != text:
            st.query_params[name] = text


def seed(key: str, value: object) -> None:
    """Give widget ``key`` its value from the URL, once (before the widget exists)."""
    if key not in st.session_state:
        st.session_state[key] = value


def current_map_path() -> tuple[Path | None, str | None]:
    """The map this session shows (a resolved path), and a warning to display if the URL
    was refused.

    Chosen in order: the map picked in this session; ``?map=NAME`` from the
    URL (only names inside the maps folder); ``--map`` from the command line;
    ``maps/sample``; the first map found.
    """
    if MAP_KEY in st.session_state:
        return Path(st.session_state[MAP_KEY]), None
    warning = None
    chosen: Path | None = None
    name = param("map")
    if name:
        try:
            candidate = paths.map_by_name(name)
            if (candidate / "manifest.json").is_file():
                chosen = candidate
            else:
                warning = f"No map called {name!r} in the maps folder; showing the default map."
        except MapFormatError as exc:
            warning = f"{exc}; showing the default map."
    if chosen is None:
        arg = cli_map_arg()
        chosen = paths.resolve_cli_map(arg) if arg else paths.default_map()
    if chosen is not None:
        st.session_state[MAP_KEY] = str(chosen)
    return chosen, warning


def choose_map(path: Path | str) -> None:
    """Switch this session to another map (one of :func:`map_choices`, resolved) and forget
    the previous map's view."""
    st.session_state[MAP_KEY] = str(path)
    for key in list(st.session_state.keys()):
        if str(key).startswith("view_"):
            del st.session_state[key]
    for name in ("theme", "cluster", "years", "paper", "q", "find", "drill", "node"):
        if name in st.query_params:
            del st.query_params[name]
    sync_map_param(Path(path))


def sync_map_param(path: Path) -> None:
    """Put the map's name in the URL when it lives in the maps folder."""
    set_params(map=paths.name_in_root(path))


def map_choices(current: Path | None) -> list[Path]:
    """Maps the picker offers (resolved): those in the maps folder, plus the current one."""
    maps = paths.available_maps()
    if current is not None and current not in maps:
        maps.append(current)
    return maps
