"""The dashboard's pages by file, for pages that send the reader to another one.

The page list itself (titles, icons, order) is the registry in ``dashboard.py``;
these are the files it names, so a page can link to another without importing
the entry. Links keep the open map in the URL (``?map=NAME``).
"""

from __future__ import annotations

import streamlit as st

from . import state

MAP = "pages/1_Map.py"
DRILL_DOWN = "pages/2_Drill_down.py"
TOPICS = "pages/3_Topics.py"
READING_LIST = "pages/4_Reading_list.py"
THEMES_OVER_TIME = "pages/5_Themes_over_time.py"
COMPARE_MAPS = "pages/6_Compare_maps.py"


def with_map(**params: str) -> dict[str, str]:
    """``params`` plus the open map's name (when the URL has one)."""
    name = state.param("map")
    return {**params, "map": name} if name else dict(params)


def switch_to(page: str, **params: str) -> None:
    """Go to ``page`` now, with ``params`` (and the map) in its URL."""
    st.switch_page(page, query_params=with_map(**params))


def page_link(where: object, page: str, label: str, **params: str) -> None:
    """A link to ``page`` in ``where`` (a column or container), keeping the map."""
    where.page_link(page, label=label, query_params=with_map(**params))
