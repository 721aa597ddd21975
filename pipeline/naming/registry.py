"""Naming methods: the ``Namer`` protocol and the one registry of them, ``NAMERS``.

A namer gives every node of a map a name (and, if it writes them, a description) in
columns of its own of the clusters table:

==========  ====================  ============================================
key         columns               what it is
==========  ====================  ============================================
``offline`` ``label``             phrases the node's papers write and field names
                                  its words confirm, judged by the whole node with the
                                  map's model (``pipeline.naming.offline``); every
                                  build runs it, and it is every other's fallback
``llm``     ``llm_label``,        a language model behind an OpenAI-compatible
            ``llm_description``   endpoint (``pipeline.naming.llm.namer``); runs on
                                  request (``build --llm-url``, ``rename``)
==========  ====================  ============================================

Every namer reads the same :class:`NodeSet` (the papers, their vectors, the nested
layers, the clusters table as it stands) and returns one row per node it named.
``python -m pipeline rename MAP --namer KEY`` runs any of them on a saved map
(:func:`rename_map`); the dashboard's "Topic names" switch offers every namer whose
column the map fills; the manifest's ``names`` entry records which namer wrote which
column. Adding a naming method is one class and one line in :data:`NAMERS`
(CONTRIBUTING.md, "Adding a naming method").

Importing this module imports no model library: namers load what they need when
they name.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from pipeline.errors import ConfigError
from pipeline.mapdir.store import TopicMap, level_order, load_map, rewrite_map


@dataclass
class Layer:
    """One layer of nested topics, as a namer sees it.

    ``level`` names the layer and its documents column ("cluster", "theme");
    ``nodes`` is each paper's node (-1: none, only at the finest);
    ``parents`` each node's node in the next broader layer (None at the top).
    """

    level: str
    nodes: np.ndarray
    n_nodes: int
    parents: np.ndarray | None = None


@dataclass
class NodeSet:
    """What every namer reads: the papers, their vectors, and their nodes.

    ``documents`` has ``id``, ``title``, ``abstract``, ``x``/``y`` and one column per
    level; ``embeddings`` its rows' vectors; ``layers`` finest first. ``clusters`` is the
    clusters table as it stands (None while a build names its nodes for the first time);
    ``manifest`` the map's (its model, its config). ``extras`` carries what the build has at
    hand for a namer that can use it (the phrase counts, a function that embeds phrases
    with the map's model), so that nothing is computed twice.
    """

    documents: pd.DataFrame
    embeddings: np.ndarray
    layers: list[Layer]
    clusters: pd.DataFrame | None = None
    manifest: dict[str, Any] = dataclasses.field(default_factory=dict)
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def of_map(cls, topic_map: TopicMap) -> NodeSet:
        """The nodes of a saved map."""
        return cls(topic_map.documents, topic_map.embeddings,
                   layers_of(topic_map.documents, topic_map.clusters),
                   clusters=topic_map.clusters, manifest=topic_map.manifest)


def layers_of(documents: pd.DataFrame, clusters: pd.DataFrame) -> list[Layer]:
    """The nested layers of a map, finest first, from its tables."""
    levels = level_order(clusters)
    layers = []
    for k, level in enumerate(levels):
        rows = clusters[clusters["level"] == level]
        n_nodes = int(rows["id"].max()) + 1 if len(rows) else 0
        parents = None
        if k + 1 < len(levels):
            parents = np.full(n_nodes, -1, dtype=np.int64)
            parents[rows["id"].to_numpy(dtype=np.int64)] = rows["parent"].to_numpy(dtype=np.int64)
        layers.append(Layer(level, documents[level].to_numpy(dtype=np.int64), n_nodes, parents))
    return layers


class Namer(Protocol):
    """A naming method. ``name`` returns one row per node it named: ``level``, ``id`` and
    its ``column`` (and ``description_column`` when it has one); a namer may add columns of
    its own (provenance), which go into the clusters table with the names."""

    key: ClassVar[str]  # its line in NAMERS, --namer's value, the dashboard's names mode
    title: ClassVar[str]  # how the dashboard's "Topic names" switch shows it
    column: ClassVar[str]  # the clusters-table column of its names
    description_column: ClassVar[str | None]  # ... of its descriptions (None: it writes none)

    def name(self, nodes: NodeSet, *, levels: Sequence[str] | None = None) -> pd.DataFrame:
        """Names for the nodes of ``levels`` (level names; None: every level)."""

    def describe(self) -> dict[str, Any]:
        """What the manifest records of this namer beside its key (its model, its version)."""


#: key -> ``"module:Class"`` of every naming method, loaded when first used.
NAMERS: dict[str, str] = {
    "offline": "pipeline.naming.offline:OfflineNamer",
    "llm": "pipeline.naming.llm.namer:LlmNamer",
}
#: The namer every build runs, and the fallback for every other one.
DEFAULT_NAMER = "offline"


def namer_class(key: str) -> type:
    """The class registered under ``key``; a ``ConfigError`` names the keys there are."""
    entry = NAMERS.get(key)
    if entry is None:
        raise ConfigError(f"no naming method {key!r}; there are: {', '.join(NAMERS)}")
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        return getattr(importlib.import_module(module), name)
    return entry


def add_namer_arguments(parser: argparse.ArgumentParser) -> None:
    """``--namer`` and the options of every namer that has some (``add_arguments``)."""
    parser.add_argument("--namer", choices=list(NAMERS), default="llm",
                        help="the naming method (default: llm); see README, 'Naming methods'")
    for key in NAMERS:
        add = getattr(namer_class(key), "add_arguments", None)
        if add is not None:
            add(parser)


def namer_from_args(args: argparse.Namespace) -> Namer:
    """The namer ``--namer`` chose, made from its options (``from_args``), checked before
    any work."""
    cls = namer_class(args.namer)
    make = getattr(cls, "from_args", None)
    return make(args) if make is not None else cls()


def name_columns(namer: Namer) -> list[str]:
    """The clusters-table columns a namer's names and descriptions live in."""
    return [namer.column] + ([namer.description_column] if namer.description_column else [])


def apply_names(topic_map: TopicMap, names: pd.DataFrame, namer: Namer) -> TopicMap:
    """``topic_map`` with ``names`` (a namer's rows) in its clusters table and the namer
    recorded in its manifest; nodes it did not name keep what they had ("" if nothing)."""
    clusters = topic_map.clusters.reset_index(drop=True).copy()
    keys = pd.MultiIndex.from_frame(clusters[["level", "id"]].astype({"id": int}))
    new = names.astype({"id": int}).set_index(["level", "id"])
    named = new.index.isin(keys)
    have = keys.isin(new.index[named])
    for column in [c for c in names.columns if c not in ("level", "id")]:
        values = new[column].reindex(keys).tolist()
        if column in clusters.columns:
            before = clusters[column].tolist()
        else:  # a new column: "" (text) or NaN (numbers) where the namer said nothing
            text = not pd.api.types.is_numeric_dtype(names[column])
            before = ["" if text else np.nan] * len(clusters)
        clusters[column] = pd.Series([v if h else b for v, b, h in zip(values, before, have,
                                                                         strict=True)],
                                     index=clusters.index)
    manifest = dict(topic_map.manifest)
    record = dict(manifest.get("names") or {})
    record[namer.column] = {"namer": namer.key, **namer.describe(),
                            "levels": sorted(set(names["level"].astype(str)),
                                             key=level_order(clusters).index),
                            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    manifest["names"] = record
    return dataclasses.replace(topic_map, clusters=clusters, manifest=manifest)


def rename_map(topic_map: TopicMap, namer: Namer,
               *, levels: Sequence[str] | None = None) -> TopicMap:
    """``topic_map`` named by ``namer`` (not written anywhere)."""
    return apply_names(topic_map, namer.name(NodeSet.of_map(topic_map), levels=levels), namer)


def rename_path(path: Path | str, namer: Namer, *,
                levels: Sequence[str] | None = None) -> tuple[TopicMap, bool]:
    """Name the saved map at ``path`` with ``namer``; return the map and whether it was
    written. It is written atomically, and only when a name changed (or another namer,
    model or endpoint named it); on any error it is left exactly as it was."""
    topic_map = load_map(path)
    named = rename_map(topic_map, namer, levels=levels)
    if _same_names(topic_map, named, namer):
        return topic_map, False
    named.path = rewrite_map(named, topic_map.path or Path(path))
    return named, True


def _same_names(old: TopicMap, new: TopicMap, namer: Namer) -> bool:
    columns = name_columns(namer)
    if not all(c in old.clusters.columns for c in columns):
        return False
    before = old.clusters[columns].fillna("").astype(str).reset_index(drop=True)
    after = new.clusters[columns].fillna("").astype(str).reset_index(drop=True)

    def record(topic_map: TopicMap) -> dict:
        entry = names_record(topic_map.manifest, namer.column)
        return {k: v for k, v in entry.items() if k != "created"}

    return before.equals(after) and record(old) == record(new)


def names_record(manifest: dict[str, Any], column: str) -> dict[str, Any]:
    """What the manifest says of the namer that wrote ``column`` ({} when nothing; maps
    made before the ``names`` entry kept a language model's under ``llm``)."""
    entry = (manifest.get("names") or {}).get(column)
    if entry is None and column == "llm_label" and manifest.get("llm"):
        entry = {"namer": "llm", **manifest["llm"]}
    return dict(entry or {})
