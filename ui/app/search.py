"""Search on the map page: the query box, hybrid search, its marks on the map and the side
list of hits.

The box is a widget of the map page's fragment (``ui.app.explore``): a search reruns only
the fragment. Papers are found by their words and their meaning together
(``ui.core.retrieval.hybrid_ranking``); each hit's closeness in meaning is put on a
0-100 scale against this map's own titles (``MatchScale``), and a best match that is weak
is said to be. The hits are marked on the map by the browser (``ui/static/searchmarks.js``:
rank badges that never pile up) and a new search moves the map to them; the figure is not
sent again.

What search needs per map (the keyword index; the scale, from 200 titles embedded with
the map's model) is made once per server process, in the background from the moment the
map page first shows its search box, and shared by every session.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from pipeline.errors import PipelineError
from ui.core.escape import escape
from ui.core.latex import readable
from ui.core.querymodel import query_model, ready
from ui.core.retrieval import (
    KeywordIndex,
    MatchScale,
    hybrid_ranking,
    paper_texts,
    reference_matches,
    words,
)
from ui.figures.overlay import static_js
from ui.figures.searchmarks import map_extent, marks_payload, result_view

from . import state
from .context import MapContext
from .loaders import embed_query
from .paper import open_paper

_ZOOM_KEY = "view_search_zoom"  # {"seq": n, "box": [...], "for": what it was made for}
_MOUNT = "\nexport default (component) => window.TopicMapSearchMarks.mount(component);\n"


def search_box(where: object) -> tuple[str, int]:
    """The query box and how many hits to show, drawn in ``where``; the query goes in the
    URL (``?q=``)."""
    state.seed("view_q", state.param("q")[:500])
    state.seed("view_k", 10)
    search_col, k_col = where.columns([5, 1])
    query = search_col.text_input(
        "Search papers", key="view_q", max_chars=500,
        placeholder="Describe what you are looking for, e.g. 'robots learning to grasp objects'",
        help="Finds papers by their words (title and abstract) and by their meaning, together.")
    k = k_col.selectbox("Top", [5, 10, 20, 50], key="view_k")
    state.set_params(q=query.strip())
    return query, int(k)


# --------------------------------------------------------------------------- per map and process


@dataclass
class SearchAssets:
    """A map's keyword index and match scale (None until made)."""

    index: KeywordIndex | None = None
    scale: MatchScale | None = None
    done: threading.Event = field(default_factory=threading.Event)  # the index is there


_assets: dict[tuple, SearchAssets] = {}
_lock = threading.Lock()


def _model_key(context: MapContext) -> tuple[str, int, str]:
    topic_map = context.topic_map
    backend = str((topic_map.manifest.get("model") or {}).get("backend") or "")
    return topic_map.model_name, int(topic_map.embeddings.shape[1]), backend


def search_assets(context: MapContext) -> SearchAssets:
    """The map's search assets, made once per process in a background thread started by
    the first call (the keyword index first, then the scale, once the model is loaded)."""
    manifest = context.topic_map.manifest  # its digest changes whenever the map is rebuilt
    key = (str(Path(context.path).resolve()),
           str(manifest.get("manifest_sha256") or manifest.get("created") or ""))
    with _lock:
        assets = _assets.get(key)
        if assets is None:
            assets = _assets[key] = SearchAssets()
            threading.Thread(target=_prepare, args=(assets, context.documents,
                                                    context.topic_map.embeddings,
                                                    _model_key(context)),
                             daemon=True, name="topicmap-search-assets").start()
    return assets


def _prepare(assets: SearchAssets, documents: pd.DataFrame, embeddings: np.ndarray,
             model_key: tuple[str, int, str]) -> None:
    try:
        assets.index = KeywordIndex.build(paper_texts(documents))
    finally:
        assets.done.set()
    model = query_model(*model_key)
    if model.embedder is None:
        return

    def embed(texts: list[str]) -> np.ndarray:
        with model.lock:
            return model.embedder.encode(texts)

    assets.scale = MatchScale(reference_matches(documents["title"].tolist(), embeddings, embed))


# --------------------------------------------------------------------------- a search


@dataclass(frozen=True)
class SearchOutcome:
    """A search's hits (best first) and what to say about them."""

    query: str = ""
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    similarity: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))
    strength: np.ndarray | None = None  # 0-100 per hit, once the map's scale is made
    keyword: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    error: str | None = None
    weak: bool = False


def run_search(context: MapContext, query: str, *, k: int, rows: np.ndarray) -> SearchOutcome:
    """The top ``k`` papers of ``rows`` for ``query`` by words and meaning, or why not."""
    query = query.strip()[:500]
    if not query:
        return SearchOutcome()
    name, dimension, backend = _model_key(context)
    if ready(name, dimension, backend):
        model = query_model(name, dimension, backend)
    else:  # still loading in the background (it started when the map opened)
        with st.spinner("Loading the search model (once)…"):
            model = query_model(name, dimension, backend)
    if not model.available:
        return SearchOutcome(query, error=f"Search is unavailable for this map: {model.error}")
    try:
        vector = embed_query(name, dimension, query, backend)
    except PipelineError as exc:
        return SearchOutcome(query, error=f"Search failed: {exc}")
    assets = search_assets(context)
    if not assets.done.is_set():
        with st.spinner("Indexing the papers' words for search (once)…"):
            assets.done.wait()
    if assets.index is None:
        return SearchOutcome(query, error="Search failed: the papers' words could not be indexed")
    hits = hybrid_ranking(assets.index, context.topic_map.embeddings, query, vector, rows, k=k)
    strength = assets.scale.strength(hits.similarity) if assets.scale is not None else None
    weak = bool(assets.scale is not None and len(hits.rows)
                and assets.scale.weak(float(hits.similarity.max()))
                and not _all_words(assets.index, query, hits.rows))
    return SearchOutcome(query, hits.rows, hits.similarity, strength, hits.keyword, None, weak)


def _all_words(index: KeywordIndex, query: str, rows: np.ndarray) -> bool:
    """Whether some hit holds every word of the query."""
    wanted = set(words(query))
    return bool(wanted) and any(wanted <= set(index.matched(query, int(r))) for r in rows[:5])


def search_pending(context: MapContext, query: str) -> bool:
    """Whether ``query`` waits for the search model, still loading in the background: the
    page then draws the map first and reruns itself once the model is there
    (:func:`wait_for_model`)."""
    search_assets(context)  # the index is made meanwhile
    return bool(query.strip()) and not ready(*_model_key(context))


def wait_for_model(context: MapContext) -> None:
    """Wait (with a spinner) for the search model loading in the background."""
    with st.spinner("Loading the search model (once per server)…"):
        query_model(*_model_key(context))


def search_note(where: object, outcome: SearchOutcome) -> None:
    """Why search failed, or that its best match is weak, in ``where`` (a placeholder)."""
    if outcome.error:
        where.warning(escape(outcome.error, "markdown"))
    elif outcome.weak:
        where.warning(
            "**No close match.** The papers found are further in meaning from your words than "
            "9 in 10 of this map's titles are from their nearest paper, and none holds all "
            "your words: the map may hold little on this. Try other words.")


# --------------------------------------------------------------------------- on the map


_COMPONENT: dict[str, object] = {}


def _component() -> object:
    """The marks' component, registered once per process (``ui/static/searchmarks.js``)."""
    if "component" not in _COMPONENT:
        _COMPONENT["component"] = st.components.v2.component(
            "topicmap_search_marks", js=static_js("searchmarks.js") + _MOUNT)
    return _COMPONENT["component"]


def search_marks(chart: str, documents: pd.DataFrame, outcome: SearchOutcome, *,
                 key: str) -> None:
    """The hits' rank badges on the chart whose key is ``chart``; a new search (another
    query, or other hits) moves the map to its results, and clearing it goes back to the
    whole map."""
    made_for = [outcome.query, outcome.rows.tolist()]
    zoom = dict(st.session_state.get(_ZOOM_KEY) or {})
    if zoom.get("for") != made_for and (len(outcome.rows) or zoom):
        rows = outcome.rows
        box = (result_view(documents["x"].to_numpy(float)[rows],
                           documents["y"].to_numpy(float)[rows], map_extent(documents))
               if len(rows) else map_extent(documents))
        zoom = {"seq": int(zoom.get("seq", 0)) + 1, "box": box, "for": made_for}
        st.session_state[_ZOOM_KEY] = zoom
    payload = marks_payload(documents, outcome.rows,
                            zoom={"seq": zoom["seq"], "box": zoom["box"]} if zoom else None)
    _component()(key=key, data={"chart": chart, **payload})


# --------------------------------------------------------------------------- beside the map


def search_hits(documents: pd.DataFrame, outcome: SearchOutcome) -> None:
    """The hits, best first, one button each (click to open the paper): how close in
    meaning (0-100 against this map's titles, or the cosine until that scale is made) and
    whether it holds the query's words."""
    scale = outcome.strength is not None
    st.markdown(f"**{len(outcome.rows)} papers for your search**, by words and meaning "
                f"together · {'match' if scale else 'similarity'} · title")
    st.caption(("Match: how close in meaning, 0-100: 50 is as close as a typical title here "
                "is to its nearest paper. " if scale else "")
               + "★ the paper holds words of your search.")
    scores = outcome.strength if scale else outcome.similarity
    for rank, (row, score, hit) in enumerate(zip(outcome.rows, scores, outcome.keyword,
                                                 strict=True), start=1):
        title = escape(readable(documents["title"].iat[row]), "markdown", limit=120)
        number = f"{score:.0f}" if scale else f"{score:.2f}"
        st.button(f"{rank}. {number}{' ★' if hit else ''} · {title}", key=f"view_hit_{rank}",
                  type="tertiary", width="stretch", on_click=open_paper,
                  args=(str(documents["id"].iat[row]),))
