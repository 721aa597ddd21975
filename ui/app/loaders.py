"""Cached loaders shared by every session of the app process.

Maps, the query model and re-mapped topics are held with
``st.cache_resource``: one copy per process, shared by all sessions, never
copied per rerun. Callers must treat what they get as read-only.

Public entry points (other pages use these); a map is given as a
:class:`ui.core.paths.MapRef` (its resolved folder and its manifest's stamp, taken once
per run by the map context), so a rebuilt map is picked up without restarting the app:

- :func:`load_topic_map` ``(ref) -> pipeline.TopicMap``
- :func:`map_assets` ``(ref) -> MapAssets``: hover texts, names, search text
- :func:`embed_query`: semantic search with the map's own model, loaded once per
  process in the background when a map opens (``ui.core.querymodel``)
- :func:`remapped` ``(ref, key) -> SubMap``: a topic's papers mapped again on their own
  (an explicit action of the drill-down page: the saved layers need no re-mapping)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pipeline import BuildConfig, TopicMap, load_map, map_papers
from pipeline.errors import PipelineError
from ui.core.drill import child_colours, fit_box, sub_topics, subtree_payload
from ui.core.escape import escape
from ui.core.latex import readable
from ui.core.nodes import NAMES_OFFLINE, member_mask, names_by_level, names_modes, node_table
from ui.core.paths import MapRef
from ui.core.querymodel import query_model
from ui.core.view import (
    BROADEST,
    FINEST,
    WordMasks,
    colour_columns,
    lowered_text,
    map_levels,
    sample_priority,
    year_bounds,
)
from ui.figures.map import hover_abstract_chars, hover_texts, map_figure, shade, theme_colours
from ui.figures.overlay import label_payload, tree_colours, tree_rows
from ui.figures.readinglist import add_reading_list

from .frozen import freeze

#: Fewer papers than this are listed, not re-mapped, by the drill-down.
MIN_DRILL_PAPERS = 12
#: What tables show of a paper's text: characters of its title, authors and abstract.
TABLE_CHARS = {"title": 300, "authors": 200, "abstract": 600}


def load_topic_map(ref: MapRef) -> TopicMap:
    """The map ``ref`` points to, loaded (and hash-checked) once per process and build.

    Raises ``pipeline.MapFormatError`` with a message for the user when the
    map is missing, corrupt or of another schema version.
    """
    return _load_topic_map(*ref.key)


@st.cache_resource(max_entries=6, show_spinner="Loading the map…")
def _load_topic_map(path: str, stamp: tuple[int, int]) -> TopicMap:
    del stamp  # part of the cache key only
    return load_map(path)


# --------------------------------------------------------------------------- per-map assets


@dataclass
class MapAssets:
    """What every rerun needs about a map, computed once per map and names (LLM or
    offline names: ``names``)."""

    hover: np.ndarray  # escaped hover label per paper (row position)
    search_text: pd.Series  # lower-cased title + abstract per paper
    cluster_names: dict[int, str]
    theme_names: dict[int, str]
    cluster_parent: dict[int, int]  # each finest cluster's theme (broadest ancestor)
    cluster_sizes: dict[int, int]
    theme_sizes: dict[int, int]
    row_of_id: dict[str, int]
    priority: np.ndarray  # fixed random rank per paper: which ones an overview draws
    nodes: pd.DataFrame = field(default_factory=pd.DataFrame)  # ui.core.nodes.node_table
    level_names: dict[str, dict[int, str]] = field(default_factory=dict)
    level_themes: dict[str, dict[int, int]] = field(default_factory=dict)
    names: str = NAMES_OFFLINE
    overlay: dict = field(default_factory=dict)  # ui.figures.overlay.label_payload
    word_masks: WordMasks | None = None  # the text filter's papers per word
    years: tuple[int, int] | None = None  # ui.core.view.year_bounds
    colour_columns: list[str] = field(default_factory=list)  # ui.core.view.colour_columns
    levels: list[str] = field(default_factory=list)  # broadest first (map_levels)
    ids: np.ndarray | None = None  # each paper's id as text, by row position
    tree: list[dict] = field(default_factory=list)  # ui.figures.overlay.tree_rows
    tree_colours: dict[str, str] = field(default_factory=dict)
    documents: pd.DataFrame | None = field(default=None, repr=False)
    _table_text: dict[str, np.ndarray] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def table_text(self, column: str) -> np.ndarray:
        """``title``, ``authors`` or ``abstract`` of every paper as tables show them (LaTeX
        as readable text, escaped as plain text, cut), made once per map on first use."""
        with self._lock:
            if self._table_text is None:
                docs = self.documents
                self._table_text = {
                    name: np.array([escape(v if name == "authors" else readable(v), "plain",
                                           limit=limit) for v in docs[name]], dtype=object)
                    for name, limit in TABLE_CHARS.items()}
        return self._table_text[column]


def names_mode(clusters: pd.DataFrame, wanted: str | None) -> str:
    """The names a map is shown with: the method asked for when it named some node of the
    map, else the offline names (so a map without them is prepared once); None asks for
    the default (the first of ``names_modes``)."""
    modes = names_modes(clusters)
    return wanted if wanted in modes else modes[0] if wanted is None else NAMES_OFFLINE


def map_assets(ref: MapRef, names: str | None = None) -> MapAssets:
    """Hover texts, names and lookups for the map ``ref`` points to (cached per names)."""
    mode = names_mode(_load_topic_map(*ref.key).clusters, names)
    return _map_assets(*ref.key, mode)


@st.cache_resource(max_entries=12, show_spinner="Preparing the map…")
def _map_assets(path: str, stamp: tuple[int, int], names: str = NAMES_OFFLINE) -> MapAssets:
    topic_map = _load_topic_map(path, stamp)
    base = _base_assets(path, stamp)
    return build_assets(topic_map.documents, topic_map.clusters, names=names, base=base)


@st.cache_resource(max_entries=6, show_spinner=False)
def _base_assets(path: str, stamp: tuple[int, int]) -> dict:
    documents = _load_topic_map(path, stamp).documents
    return _shared_parts(documents)


def _shared_parts(documents: pd.DataFrame) -> dict:
    """What does not depend on the names shown."""
    text = lowered_text(documents)
    ids = documents["id"].astype(str).to_numpy(dtype=object)
    return {"search_text": text, "word_masks": WordMasks(text),
            "row_of_id": {v: i for i, v in enumerate(ids)}, "ids": ids,
            "years": year_bounds(documents), "colour_columns": colour_columns(documents),
            "priority": sample_priority(len(documents)), "documents": documents}


def build_assets(documents: pd.DataFrame, clusters: pd.DataFrame, *,
                 names: str = NAMES_OFFLINE, base: dict | None = None) -> MapAssets:
    """:class:`MapAssets` for any documents/clusters pair (a map or a sub-map)."""
    nodes = node_table(clusters, names)
    by_level = names_by_level(nodes)
    fine = nodes[nodes["level"] == FINEST]
    themes = nodes[nodes["level"] == BROADEST]
    level_themes = {str(level): dict(zip(rows["id"].astype(int), rows["theme"].astype(int),
                                         strict=True))
                    for level, rows in nodes.groupby("level", sort=False)}
    cluster_names, theme_names = by_level.get(FINEST, {}), by_level.get(BROADEST, {})
    return MapAssets(
        hover=hover_texts(documents, cluster_names, theme_names,
                          abstract_chars=hover_abstract_chars(len(documents))),
        cluster_names=cluster_names,
        theme_names=theme_names,
        cluster_parent=level_themes.get(FINEST, {}),
        cluster_sizes=dict(zip(fine["id"].astype(int), fine["size"].astype(int), strict=True)),
        theme_sizes=dict(zip(themes["id"].astype(int), themes["size"].astype(int), strict=True)),
        nodes=nodes, level_names=by_level, level_themes=level_themes, names=names,
        overlay=label_payload(documents, nodes) if {"x", "y"} <= set(documents.columns)
        else {},
        tree=tree_rows(nodes), tree_colours=tree_colours(nodes), levels=map_levels(clusters),
        **(base or _shared_parts(documents)),
    )


def main_figure(ref: MapRef, names: str, *, colour_by: str, selected: int | None,
                reading: Sequence[int]) -> go.Figure:
    """The map page's figure of every paper (no overview sample): made and serialized once
    per map, names, colouring, open paper and reading list, for every session
    (``ui.app.frozen``). Read-only."""
    return _main_figure(*ref.key, names, colour_by, selected, tuple(int(r) for r in reading))


@st.cache_resource(max_entries=32, show_spinner=False)
def _main_figure(path: str, stamp: tuple[int, int], names: str, colour_by: str,
                 selected: int | None, reading: tuple[int, ...]) -> go.Figure:
    docs = _load_topic_map(path, stamp).documents
    assets = _map_assets(path, stamp, names)
    fig = map_figure(docs, hover=assets.hover, colour_by=colour_by,
                     cluster_parent=assets.cluster_parent, level_themes=assets.level_themes,
                     selected=selected, uirevision=path, clickable=True)
    return freeze(add_reading_list(fig, docs, assets.hover, list(reading)))


@dataclass(frozen=True)
class TopicView:
    """What the drill-down shows of one topic that is the same for every reader (read-only):
    its papers (``inside``, a mask, and ``papers``), its sub-topics, the view fitted to its
    papers (``ui.core.drill.fit_box``) with the stray papers outside it, and the overlay's
    names of the topics inside it, each sub-topic's in its own hue."""

    inside: np.ndarray
    papers: pd.DataFrame
    children: pd.DataFrame
    box: list[float]
    strays: int
    names: dict


def topic_view(ref: MapRef, names: str, key: str) -> TopicView:
    """Topic ``key``'s :class:`TopicView`, made once per map and topic for every session."""
    return _topic_view(*ref.key, names, str(key))


@st.cache_resource(max_entries=256, show_spinner=False)
def _topic_view(path: str, stamp: tuple[int, int], names: str, key: str) -> TopicView:
    docs = _load_topic_map(path, stamp).documents
    assets = _map_assets(path, stamp, names)
    inside = member_mask(docs, key)
    inside.flags.writeable = False
    part = docs[inside]
    box, strays = fit_box(part["x"].to_numpy(), part["y"].to_numpy())
    children = sub_topics(assets.nodes, key)
    hues = child_colours(children)
    text = {i: shade(c, -0.2) for i, c in theme_colours(list(hues.values())).items()}
    colours = {c: text[i] for c, i in hues.items()} if hues else None
    return TopicView(inside, part, children, box, strays,
                     subtree_payload(assets.overlay, assets.nodes, docs, key, colours,
                                     extent=box))


# --------------------------------------------------------------------------- query model


@st.cache_data(max_entries=512, show_spinner=False)
def embed_query(model_name: str, dimension: int, query: str, backend: str = "") -> np.ndarray:
    """The unit vector of ``query`` under the map's model (cached per query)."""
    model = query_model(model_name, dimension, backend)
    if model.embedder is None:
        raise PipelineError(model.error or "search model unavailable")
    with model.lock:
        vector = model.embedder.encode([query])[0]
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


# --------------------------------------------------------------------------- drill-down


@dataclass
class SubMap:
    """The papers of one topic, re-reduced, re-clustered and re-labelled on their own."""

    documents: pd.DataFrame  # indexed 0..n-1; column "_row" is the row in the root map
    clusters: pd.DataFrame
    assets: MapAssets
    key: str  # the topic re-mapped ("layer_1:3")

    @property
    def rows(self) -> np.ndarray:
        """Row positions of these papers in the root map."""
        return self.documents["_row"].to_numpy()


def drill_config(manifest: dict, n_papers: int) -> BuildConfig:
    """The map's own build settings, adapted to a subset of ``n_papers``.

    Cluster size and the number of themes go back to automatic (they scale
    with the number of papers); neighbours shrink for small subsets so UMAP
    sees local structure.
    """
    try:
        config = BuildConfig.from_dict(dict(manifest.get("config") or {}))
    except (PipelineError, TypeError):
        config = BuildConfig()
    config.embed.embeddings_path = None
    config.cluster.min_cluster_size = None
    config.cluster.min_samples = None
    config.cluster.selection_method = "eom"
    config.label.n_themes = None
    neighbours = config.reduce.neighbors_for(n_papers)
    config.reduce.n_neighbors = int(max(5, min(neighbours, n_papers // 6)))
    return config.validate()


def remapped(ref: MapRef, key: str) -> SubMap | None:
    """The papers of topic ``key`` (``"level:id"``) mapped again on their own, as an
    explicit, costly action (UMAP, clustering, names; cached per map and topic for every
    session). ``None`` when the topic has fewer than :data:`MIN_DRILL_PAPERS` papers."""
    return _remapped(*ref.key, str(key))


def remapped_if_cached(ref: MapRef, key: str) -> bool:
    """Whether ``key`` of the map as it is now (a rebuilt map is another) was already
    re-mapped in this process (shown without asking)."""
    return (*ref.key, str(key)) in _REMAPPED


_REMAPPED: set[tuple[str, tuple[int, int], str]] = set()


@st.cache_resource(max_entries=48, show_spinner="Re-mapping these papers (once)…")
def _remapped(path: str, stamp: tuple[int, int], key: str) -> SubMap | None:
    topic_map = _load_topic_map(path, stamp)
    level, _, number = key.partition(":")
    if level not in topic_map.documents.columns or not number.isdigit():
        raise PipelineError(f"this map has no topic {key!r}")
    rows = np.flatnonzero(topic_map.documents[level].to_numpy() == int(number))
    if len(rows) < MIN_DRILL_PAPERS:
        return None
    base = topic_map.documents.iloc[rows].reset_index(drop=True)
    base["_row"] = rows
    embeddings = np.asarray(topic_map.embeddings[rows], dtype=np.float32)
    config = drill_config(topic_map.manifest, len(base))
    documents, clusters = map_papers(base, embeddings, config)
    _REMAPPED.add((path, stamp, key))
    return SubMap(documents, clusters, build_assets(documents, clusters), key)
