"""Semantic search on the map page: the query box's results and the side list of hits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from pipeline.errors import PipelineError

from .context import MapContext
from .escape import escape
from .latex import readable
from .loaders import embed_query
from .paper import open_paper
from .querymodel import query_model, ready
from .view import semantic_search


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


def largest_topics(labels: pd.DataFrame, *, n: int = 12) -> None:
    """The biggest groups in view with their sizes (when no paper or search is open)."""
    st.markdown("**Largest topics in view**")
    for row in labels.head(n).itertuples():
        st.markdown(f"- {escape(row.label, 'markdown', limit=80)} · {row.size:,}")
