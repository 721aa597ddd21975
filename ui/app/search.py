"""Semantic search on the map page: the query box, its results and the side list of hits.

The box is a widget of the map page's fragment (``ui.app.explore``): a search reruns only the
fragment, and its hits are marked on the map by the overlay in the browser (numbered
markers), so the figure is not sent again."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from pipeline.errors import PipelineError
from ui.core.escape import escape
from ui.core.latex import readable
from ui.core.querymodel import query_model, ready
from ui.core.view import semantic_search

from . import state
from .context import MapContext
from .loaders import embed_query
from .paper import open_paper


def search_box(where: object) -> tuple[str, int]:
    """The query box and how many hits to show, drawn in ``where``; the query goes in the
    URL (``?q=``)."""
    state.seed("view_q", state.param("q")[:500])
    state.seed("view_k", 10)
    search_col, k_col = where.columns([5, 1])
    query = search_col.text_input(
        "Semantic search", key="view_q", max_chars=500,
        placeholder="Describe what you are looking for, e.g. 'robots learning to grasp objects'")
    k = k_col.selectbox("Top", [5, 10, 20, 50], key="view_k")
    state.set_params(q=query.strip())
    return query, int(k)


def hit_markers(documents: pd.DataFrame, found: np.ndarray, scores: np.ndarray) -> list[dict]:
    """The search hits for the overlay: row, position, rank and similarity."""
    xs, ys = documents["x"].to_numpy(float), documents["y"].to_numpy(float)
    return [{"r": int(r), "x": float(xs[r]), "y": float(ys[r]), "n": i + 1,
             "s": round(float(s), 3)} for i, (r, s) in enumerate(zip(found, scores, strict=True))]


def semantic_search_results(context: MapContext, query: str, *, k: int, rows: np.ndarray,
                            ) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Top-``k`` rows for ``query`` among ``rows``, their similarity, and any error text."""
    empty = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    query = query.strip()[:500]
    if not query:
        return (*empty, None)
    topic_map = context.topic_map
    name = topic_map.model_name
    dimension = int(topic_map.embeddings.shape[1])
    backend = str(topic_map.manifest.get("model", {}).get("backend") or "")
    if ready(name, dimension, backend):
        model = query_model(name, dimension, backend)
    else:  # still loading in the background (it started when the map opened)
        with st.spinner("Loading the search model (once)…"):
            model = query_model(name, dimension, backend)
    if not model.available:
        return (*empty, f"Semantic search is unavailable for this map: {model.error}")
    try:
        vector = embed_query(name, dimension, query, backend)
    except PipelineError as exc:
        return (*empty, f"Semantic search failed: {exc}")
    found, scores = semantic_search(topic_map.embeddings, vector, k=k, rows=rows)
    return found, scores, None


def search_pending(context: MapContext, query: str) -> bool:
    """Whether ``query`` waits for the search model, still loading in the background: the
    page then draws the map first and reruns itself once the model is there
    (:func:`wait_for_model`)."""
    topic_map = context.topic_map
    backend = str(topic_map.manifest.get("model", {}).get("backend") or "")
    return bool(query.strip()) and not ready(topic_map.model_name,
                                             int(topic_map.embeddings.shape[1]), backend)


def wait_for_model(context: MapContext) -> None:
    """Wait (with a spinner) for the search model loading in the background."""
    topic_map = context.topic_map
    backend = str(topic_map.manifest.get("model", {}).get("backend") or "")
    with st.spinner("Loading the search model (once per server)…"):
        query_model(topic_map.model_name, int(topic_map.embeddings.shape[1]), backend)


def search_hits(documents: pd.DataFrame, found: np.ndarray, scores: np.ndarray) -> None:
    """The nearest papers to a search, one button each (click to open the paper)."""
    st.markdown(f"**{len(found)} nearest papers to your search** (similarity · title)")
    for rank, (row, score) in enumerate(zip(found, scores, strict=True), start=1):
        title = readable(documents["title"].iat[row])
        st.button(f"{score:.2f} · {escape(title, 'markdown', limit=120)}",
                  key=f"view_hit_{rank}", type="tertiary", width="stretch",
                  on_click=open_paper, args=(str(documents["id"].iat[row]),))
