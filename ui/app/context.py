"""The map a session looks at: opened once per run by the entry, read by every page.

``dashboard.py`` calls :func:`open_map_context` before it runs the chosen page;
pages call :func:`map_context` to get the same :class:`MapContext` (the map, its
path and its cached assets) without opening anything again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from pipeline import TopicMap
from pipeline.errors import PipelineError
from pipeline.mapdir.manifest import map_title
from ui.core import querymodel
from ui.core.escape import escape
from ui.core.nodes import names_modes, names_title
from ui.core.paths import MapRef

from . import state
from .loaders import MapAssets, load_topic_map, map_assets

CONTEXT_KEY = "topicmap_context"

# Pages start just below Streamlit's top bar (3.75rem high: it is drawn over the page and
# takes the clicks there, so a breadcrumb under it could not be clicked), and no lower,
# so the map is visible without scrolling. Static CSS, no data.
# Lists of papers as buttons (search hits, nearest papers) wrap long titles instead of
# cutting them with an ellipsis (which hid the scores).
_STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 4rem; padding-left: 1.5rem;
  padding-right: 1.5rem; }
.st-key-view_head h2 { font-size: 1.75rem; padding: 0 0 0.25rem 0; }
.st-key-view_head [data-testid="stCaptionContainer"] { margin-bottom: 0; }
.st-key-map_chart, [class*="st-key-view_panel_"] {
  height: max(420px, calc(100vh - var(--tm-map-top, 11rem) - 12px)) !important; }
[class*="st-key-view_hit_"] button, [class*="st-key-view_nb_"] button {
  justify-content: flex-start; text-align: left; }
[class*="st-key-view_hit_"] [data-testid="stMarkdownContainer"],
[class*="st-key-view_nb_"] [data-testid="stMarkdownContainer"],
[class*="st-key-view_hit_"] [data-testid="stMarkdownContainer"] p,
[class*="st-key-view_nb_"] [data-testid="stMarkdownContainer"] p {
  white-space: normal; text-overflow: clip; overflow: visible; }
</style>"""


@dataclass(frozen=True)
class MapContext:
    """The open map: what every page starts from. Treat it as read-only."""

    topic_map: TopicMap
    ref: MapRef  # the map's folder, resolved, and its stamp: what caches key on
    assets: MapAssets

    @property
    def path(self) -> Path:
        """The map's folder (resolved)."""
        return self.ref.path

    @property
    def documents(self) -> pd.DataFrame:
        return self.topic_map.documents

    @property
    def clusters(self) -> pd.DataFrame:
        """Every node of every layer (``ui.core.nodes.node_table``): ``label`` is the name
        shown (the language model's where chosen and present), ``offline_label`` the
        offline one."""
        return self.assets.nodes

    @property
    def name(self) -> str:
        """The map's folder name (file names of downloads)."""
        return self.path.name

    @property
    def title(self) -> str:
        """The map's title: the corpus's (``build --title``, or made from its input file),
        never the folder's unless the map records nothing else. Raw text: escape it."""
        return map_title(self.topic_map.manifest, self.path)


def open_map_context() -> MapContext:
    """Open the map this session shows (URL, picker, ``--map``), once per run.

    Stops the run with a message when there is no map or it cannot be read.
    """
    st.html(_STYLE)
    path, warning = state.current_map_path()
    if warning:
        st.warning(escape(warning, "markdown"))
    if path is None:
        st.info(
            "No map found yet. Build the bundled sample with `make run`, or your own with "
            "`python -m pipeline build papers.csv --out maps/NAME` and open it with "
            "`streamlit run dashboard.py -- --map maps/NAME`."
        )
        st.stop()
    ref = MapRef.of(path)  # resolved and stat'ed once per run
    try:
        topic_map = load_topic_map(ref)
    except PipelineError as exc:
        st.error(escape(str(exc), "markdown"))
        map_picker(ref.path)
        st.stop()
    state.sync_map_param(ref.path)
    map_picker(ref.path)
    names = names_switch(topic_map.clusters)
    context = MapContext(topic_map, ref, map_assets(ref, names))
    st.session_state[CONTEXT_KEY] = context
    return context


def warm_query_model(topic_map: TopicMap) -> None:
    """Start loading the map's search model in the background (once per process), so the
    first search does not wait for it and no page waits on it."""
    backend = str((topic_map.manifest.get("model") or {}).get("backend") or "")
    querymodel.warm(topic_map.model_name, int(topic_map.embeddings.shape[1]), backend)


def map_context() -> MapContext:
    """The context the entry opened for this run (pages call this first)."""
    context = st.session_state.get(CONTEXT_KEY)
    if context is None:
        _run_through_the_entry()
        context = open_map_context()
    return context


def _run_through_the_entry() -> None:
    """Rerun through ``dashboard.py`` when a page was run without it.

    That happens once per server (and per AppTest): until ``st.navigation`` has run,
    Streamlit treats a ``pages/`` folder the old way and runs the page a URL names
    (``/Topics``) on its own. The flag it keeps for that is switched off and the
    run restarted, so the entry's navigation and page list show from the first
    view. Should Streamlit's internals differ, the page opens the map itself.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - another Streamlit
        return
    if getattr(PagesManager, "uses_pages_directory", None):
        PagesManager.uses_pages_directory = False
        st.rerun()


def map_picker(current: Path | None) -> None:
    """Sidebar select box listing the maps under ``maps/`` (and the open one, ``current``,
    resolved)."""
    choices = state.map_choices(current)
    if len(choices) <= 1:
        return
    names = [str(p) for p in choices]
    current_name = str(current) if current else names[0]
    index = names.index(current_name) if current_name in names else 0

    def _switch() -> None:
        state.choose_map(st.session_state["map_picker"])

    st.sidebar.selectbox("Map", names, index=index, key="map_picker", on_change=_switch,
                         format_func=lambda p: escape(Path(p).name, "plain"))


def names_switch(clusters: pd.DataFrame) -> str:
    """The names shown on every page: those of the first naming method that named the map
    (a language model's, say: the default), or the offline names; a sidebar switch when the
    map has names from more than one method."""
    modes = names_modes(clusters)
    state.seed(state.NAMES_KEY, state.param("names") or modes[0])
    if st.session_state[state.NAMES_KEY] not in modes:
        st.session_state[state.NAMES_KEY] = modes[0]
    if len(modes) == 1:
        return modes[0]
    mode = st.sidebar.radio(
        "Topic names", modes, key=state.NAMES_KEY, horizontal=True, format_func=names_title,
        help="Names from each naming method that named this map (python -m pipeline rename), "
             "or the offline names made from each topic's key phrases. Hover a topic in the "
             "tree to see both and its key phrases.")
    state.set_params(names="" if mode == modes[0] else mode)
    return mode


@contextmanager
def stop_on_error(kind: str = "error") -> Iterator[None]:
    """Show a pipeline error (as ``st.error`` or ``st.warning``) and end the page there."""
    try:
        yield
    except PipelineError as exc:
        (st.warning if kind == "warning" else st.error)(escape(str(exc), "markdown"))
        st.stop()
