"""The offline namer: every node of every layer named by what its papers write, or by the
field they belong to, judged by the whole node.

:class:`OfflineNamer` (``NAMERS["offline"]``) runs in every build and names the
clusters table's ``label`` column; :func:`offline_names` does the work for any number
of nested layers, finest first, one row per node:

- ``label``: a phrase its papers write or a field of the vocabulary (OpenAlex, arXiv)
  that its words confirm, "A and B" for a node of two strands, a list of its parts for
  a mixed node (``pipeline.naming.rank``);
- provenance: ``name_source`` ("phrase", "openalex", "arxiv", "children": its children's
  names, "parts": a mixed node's parts), ``name_entry`` (the vocabulary entry: id and
  original name), ``name_share`` (share of its papers behind the name: writing it, or the
  terms confirming the field), ``name_gather`` (share of its papers the name gathers
  against its siblings' names), ``mixed``; ``terms``/``weights`` (the candidates, best
  first) and ``representative_ids`` (papers using the name, nearest the node's centre);
- sureness: ``support`` (share of the node's papers using the name's most specific
  word), ``contrast`` (1 - that share among its siblings' papers), ``weak_name`` and
  ``weak_reason`` (why the name is not well borne out; the dashboard says so);
- ``size`` and ``x``/``y`` (median position of its papers).

:func:`refresh_nodes` renames only the nodes an update changed, the same way,
from their papers and a sample of their siblings'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pipeline.config import BuildConfig, LabelConfig
from pipeline.mapdir.store import LLM_COLUMNS

from .counts import PhraseCounts, SavedPhrases, count_phrases, count_with_vocabulary, paper_texts
from .phrase_model import phrase_embedder
from .phrases import surface_form
from .rank import NamingConfig, PhraseEmbedder, name_layers
from .registry import Layer, NodeSet
from .verdict import TAKEN
from .vocabulary import load_vocabulary, vocabulary_vectors

#: Provenance columns of the offline names, and their values for maps made before them.
PROVENANCE = {"weak_reason": "", "name_source": "", "name_entry": "", "name_share": np.nan,
              "name_gather": np.nan, "mixed": False}
#: The columns of the rows :func:`offline_names` returns.
NODE_COLUMNS = ["layer", "level", "id", "parent", "label", "terms", "weights", "size", "x", "y",
                "representative_ids", "support", "contrast", "weak_name", *PROVENANCE]
#: Papers of a node's siblings read when one node is renamed (:func:`refresh_nodes`).
SIBLING_SAMPLE = 3000


class OfflineNamer:
    """Names from the phrases a node's papers write, judged by the map's own model.

    In a build, ``nodes.extras`` brings the build's phrase counts (``"counts"``) and a
    function embedding phrases with its embedder (``"embed_phrases"``); for a saved map
    both are made here (the papers counted again; the map's model loaded when installed).
    """

    key: ClassVar[str] = "offline"
    title: ClassVar[str] = "Offline"
    column: ClassVar[str] = "label"
    description_column: ClassVar[str | None] = None

    def __init__(self, config: LabelConfig | None = None) -> None:
        self.config = config

    def name(self, nodes: NodeSet, *, levels: Sequence[str] | None = None) -> pd.DataFrame:
        """Every node named (a node's name depends on the whole tree); the rows of
        ``levels`` returned (None: all)."""
        config = self.config or _saved_label_config(nodes.manifest)
        counts = nodes.extras.get("counts")
        if counts is None:
            counts = count_phrases(paper_texts(nodes.documents), max_ngram=config.max_ngram)
        embed_phrases = nodes.extras.get("embed_phrases")
        if embed_phrases is None and nodes.manifest.get("model"):
            embed_phrases = phrase_embedder(nodes.manifest["model"],
                                            dimension=int(nodes.embeddings.shape[1]))
        rows = offline_names(nodes.documents, nodes.embeddings, counts, nodes.layers, config,
                             embed_phrases=embed_phrases)
        return rows if levels is None else rows[rows["level"].isin(list(levels))]

    def describe(self) -> dict[str, Any]:
        return {"vocabulary": load_vocabulary().version}


def field_vocabulary(embed_phrases: PhraseEmbedder | None):
    """The field vocabulary and its vectors in the map's model (None without a model)."""
    if embed_phrases is None:
        return None
    vocabulary = load_vocabulary()
    vectors = vocabulary_vectors(vocabulary, embed_phrases)
    return None if vectors is None else (vocabulary, vectors)


def _saved_label_config(manifest: Mapping) -> LabelConfig:
    """The naming settings a saved map was built with (the defaults when it has none)."""
    saved = (manifest.get("config") or {}) if manifest else {}
    return BuildConfig.from_dict(saved).label if saved else LabelConfig()


def naming_config(config: LabelConfig) -> NamingConfig:
    """The naming's settings: its defaults, and any of them the label config sets."""
    names = {f.name for f in dataclasses.fields(NamingConfig)}
    return NamingConfig(**{k: v for k, v in dataclasses.asdict(config).items() if k in names})


def representatives(embeddings: np.ndarray, members: np.ndarray, ids: np.ndarray,
                    *, top_n: int) -> tuple[list[str], np.ndarray]:
    """Ids of the ``top_n`` members nearest the (normalised) centroid, and the centroid."""
    vectors = embeddings[members]
    centroid = vectors.mean(axis=0)
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    order = np.argsort(-(vectors @ centroid), kind="stable")[:top_n]
    return [str(ids[members[i]]) for i in order], centroid


def node_summary(members: np.ndarray, *, coords: np.ndarray, embeddings: np.ndarray,
                  ids: np.ndarray, config: LabelConfig) -> dict:
    """``size``, label position ``x``/``y`` (median of its papers) and ``representative_ids``."""
    reps, _ = representatives(embeddings, members, ids, top_n=config.n_representatives)
    return {
        "size": len(members),
        "x": float(np.median(coords[members, 0])) if len(members) else 0.0,
        "y": float(np.median(coords[members, 1])) if len(members) else 0.0,
        "representative_ids": reps,
    }


def _row(record: dict, *, layer: int, level: str, members: np.ndarray, coords: np.ndarray,
         config: LabelConfig) -> dict:
    return {
        "layer": layer, "level": level, "id": record["id"], "parent": record["parent"],
        "label": record["label"], "terms": record["terms"], "weights": record["weights"],
        "size": record["size"],
        "x": float(np.median(coords[members, 0])) if len(members) else 0.0,
        "y": float(np.median(coords[members, 1])) if len(members) else 0.0,
        "representative_ids": record["representatives"][:config.n_representatives],
        "support": record["support"], "contrast": record["contrast"],
        "weak_name": record["weak_name"], **{key: record[key] for key in PROVENANCE},
    }


def offline_names(documents: pd.DataFrame, embeddings: np.ndarray, counts: PhraseCounts,
                 layers: Sequence[Layer], config: LabelConfig, *,
                 embed_phrases: PhraseEmbedder | None = None,
                 model: Mapping | str | None = None) -> pd.DataFrame:
    """The clusters table: every node of every layer, broadest layer first, with its parent
    (-1 at the top layer).

    ``counts`` are the papers' phrase counts (``pipeline.naming.counts``); ``embed_phrases``
    embeds a list of short strings with the map's own model (the build's embedder when
    it has one). Without it, ``model`` (the map's model: a manifest ``model`` entry or
    a name) is loaded for the names only if it is installed here
    (:func:`phrase_embedder`); otherwise names are judged by the vectors of the papers
    that use them.
    """
    if embed_phrases is None and model is not None:
        embed_phrases = phrase_embedder(model)
    records = name_layers(counts, embeddings, [layer.nodes for layer in layers],
                          [layer.parents for layer in layers], texts=paper_texts(documents),
                          ids=documents["id"].to_numpy(), embed_phrases=embed_phrases,
                          config=naming_config(config),
                          n_nodes=[layer.n_nodes for layer in layers],
                          vocabulary=field_vocabulary(embed_phrases))
    coords = documents[["x", "y"]].to_numpy()
    rows = []
    for k in reversed(range(len(layers))):
        nodes = np.asarray(layers[k].nodes)
        for record in records[k]:
            rows.append(_row(record, layer=k, level=layers[k].level,
                             members=np.flatnonzero(nodes == record["id"]), coords=coords,
                             config=config))
    clusters = pd.DataFrame(rows, columns=NODE_COLUMNS)
    return clusters.astype({"layer": int, "id": int, "parent": int, "size": int,
                            "weak_name": bool, "mixed": bool})


# --------------------------------------------------------------------------- rename what changed


def _finer_level(clusters: pd.DataFrame, level: str) -> str | None:
    """The documents column of the layer just below ``level`` (None at the finest)."""
    if "layer" in clusters.columns:
        layer_of = clusters.drop_duplicates("level").set_index("level")["layer"]
        below = layer_of[layer_of == layer_of.get(level, 0) - 1]
        return str(below.index[0]) if len(below) else None
    return "cluster" if level == "theme" else None


def _rename_one(c: int, *, clusters: pd.DataFrame, documents: pd.DataFrame, level: str,
                finer: str | None, embeddings: np.ndarray, terms: SavedPhrases,
                config: LabelConfig, embed_phrases: PhraseEmbedder | None,
                fields=None) -> dict | None:
    """Name node ``c`` of ``level`` as a build would: from its papers, its children, and a
    seeded sample of its siblings' papers (counted over the saved vocabulary)."""
    rows = clusters[clusters["level"] == level]
    parent_of = dict(zip(rows["id"].astype(int), rows["parent"].astype(int), strict=True))
    nodes = documents[level].to_numpy()
    siblings = [s for s, p in parent_of.items() if p == parent_of.get(c, -1) and s != c]
    if not siblings:
        siblings = [s for s in parent_of if s != c]
    members = np.flatnonzero(nodes == c)
    others = np.flatnonzero(np.isin(nodes, siblings))
    if len(others) > SIBLING_SAMPLE:
        others = np.sort(np.random.default_rng(c).choice(others, SIBLING_SAMPLE, replace=False))
    rows_used = np.concatenate([members, others])
    top = _renumbered(nodes[rows_used])
    layers, parents = [top], [None]
    if finer is not None and finer in documents.columns:
        children = documents[finer].to_numpy()[rows_used]
        children = np.where(np.arange(len(rows_used)) < len(members), children, -1)
        fine = _renumbered(children)
        parent_of_child = np.zeros(int(fine.max()) + 1 if (fine >= 0).any() else 0, dtype=int)
        layers, parents = [fine, top], [parent_of_child, None]
    texts = paper_texts(documents.iloc[rows_used])
    counts = PhraseCounts(count_with_vocabulary(texts, terms.vocabulary, config.max_ngram),
                        terms.vocabulary)
    records = name_layers(counts, embeddings[rows_used], layers, parents, texts=texts,
                          ids=documents["id"].to_numpy()[rows_used], config=naming_config(config),
                          corpus=(terms.document_frequency, terms.n_documents),
                          embed_phrases=embed_phrases, vocabulary=fields)
    return records[-1][0]


def _renumbered(nodes: np.ndarray) -> np.ndarray:
    """Node ids renumbered 0.. in order of first appearance (-1 stays)."""
    out = np.full(len(nodes), -1, dtype=np.int64)
    seen: dict[int, int] = {}
    for i, node in enumerate(nodes):
        if node >= 0:
            out[i] = seen.setdefault(int(node), len(seen))
    return out


def rename_cost(sizes: np.ndarray, renamed: Iterable[int]) -> int:
    """Papers counted to rename ``renamed`` one by one (each node's own and a sample of its
    siblings'), of a layer whose node sizes are ``sizes``: beyond the map's size, naming the
    whole map once (:func:`offline_names`, as a build does) costs less."""
    total = int(sizes.sum())
    return sum(min(total, int(sizes[c]) + SIBLING_SAMPLE) for c in renamed if c < len(sizes))


def refresh_nodes(clusters: pd.DataFrame, documents: pd.DataFrame, embeddings: np.ndarray,
                    *, level: str, touched: Iterable[int], rename: Callable[[int, int], bool],
                    terms: SavedPhrases, config: LabelConfig,
                    embed_phrases: PhraseEmbedder | None = None,
                    named: pd.DataFrame | None = None) -> dict[int, int]:
    """Bring the ``touched`` nodes of ``level`` up to date; the rest stay as they are.

    Every touched node gets its size, centre and representatives again. One for which
    ``rename(node id, new size)`` is true (and when there is a vocabulary) is also
    renamed as a build would name it (candidates judged with ``embed_phrases``, the map's
    model, when given), distinct from the level's other names: its row of ``named`` (the
    whole map named once, :func:`offline_names`) when given, else named on its own from its
    papers and a sample of its siblings'. Edits ``clusters`` in place; returns the renamed
    nodes with their sizes.
    """
    by_id = ({int(r["id"]): r for r in named[named["level"] == level].to_dict("records")}
             if named is not None else {})
    nodes = documents[level].to_numpy()
    ids = documents["id"].to_numpy()
    coords = documents[["x", "y"]].to_numpy()
    at_level = clusters.index[clusters["level"] == level]
    used = {str(v).casefold() for v in clusters.loc[at_level, "label"]}
    finer = _finer_level(clusters, level)
    fields = cache(lambda: field_vocabulary(embed_phrases))  # made for the first renamed node
    renamed: dict[int, int] = {}
    for c in touched:
        row = at_level[clusters.loc[at_level, "id"].to_numpy() == c]
        if not len(row):
            continue
        row = row[0]
        members = np.flatnonzero(nodes == c)
        for key, value in node_summary(members, coords=coords, embeddings=embeddings, ids=ids,
                                        config=config).items():
            clusters.at[row, key] = value
        if not rename(c, len(members)) or not len(terms.vocabulary):
            continue
        record = by_id.get(int(c)) or _rename_one(
            c, clusters=clusters, documents=documents, level=level, finer=finer,
            embeddings=embeddings, terms=terms, config=config, embed_phrases=embed_phrases,
            fields=fields())
        old = str(clusters.at[row, "label"])
        used.discard(old.casefold())
        label, weak = record["label"], record["weak_name"]
        if label.casefold() in used:  # taken: the next candidate, as the build would
            sample = paper_texts(documents.iloc[members[:400]])
            label = next((form for form in (surface_form(t, sample) for t in record["terms"])
                          if form.casefold() not in used), old)
            weak = True
        used.add(label.casefold())
        if label != old:  # a language model's name was for the node it renamed
            for key in LLM_COLUMNS:
                if key in clusters.columns:
                    clusters.at[row, key] = ""
        clusters.at[row, "label"] = label
        clusters.at[row, "terms"] = record["terms"]
        clusters.at[row, "weights"] = record["weights"]
        values = {"support": record["support"], "contrast": record["contrast"],
                  "weak_name": weak, **{key: record[key] for key in PROVENANCE}}
        if weak and not values["weak_reason"]:
            values["weak_reason"] = TAKEN
        for key, value in values.items():
            if key in clusters.columns:
                clusters.at[row, key] = value
        renamed[c] = len(members)
    return renamed
