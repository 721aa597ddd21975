"""Topic map dashboard: the one entry. Opens the map once, then runs the chosen page.

    streamlit run dashboard.py -- --map maps/NAME

Without ``--map`` it opens ``maps/sample`` (``make run`` builds it); the sidebar's
picker lists every map under ``maps/``. Maps of more than 20,000 papers in view
open on an overview (a fixed sample of points, every label);
``--overview-points N`` changes the threshold (0: off).

Pages live in ``pages/`` and lay out widgets over ``ui/`` helpers; ``PAGES`` is
the registry: adding a page is a file in ``pages/`` and one line here
(CONTRIBUTING.md, "Adding a dashboard page"). Pages have no icons: a Material icon
would make the browser fetch the tab's icon from Google, and emoji need a font the
reader may not have.
"""

from __future__ import annotations

import streamlit as st

from ui.app import nav
from ui.app.context import open_map_context, warm_query_model

PAGES = [
    st.Page(nav.MAP, title="Map", default=True),
    st.Page(nav.DRILL_DOWN, title="Drill down"),
    st.Page(nav.TOPICS, title="Topics"),
    st.Page(nav.READING_LIST, title="Reading list"),
    st.Page(nav.THEMES_OVER_TIME, title="Themes over time"),
    st.Page(nav.COMPARE_MAPS, title="Compare maps"),
]

page = st.navigation(PAGES)
st.set_page_config(page_title=f"{page.title} · Topic map", page_icon="🗺️", layout="wide")
context = open_map_context()
st.set_page_config(page_title=f"{page.title} · {context.title}")
try:
    page.run()
finally:
    # The search model loads in the background once the page is out, so neither the first
    # page nor the first search waits for it (it starts once per server process).
    warm_query_model(context.topic_map)
