"""What every way of making a map shares: its documents table, its clusters table's
columns and its manifest.

A build (any engine), ``update`` and ``update --rebuild`` all end the same way:
the papers get their positions and their node at every layer as the documents
table's columns (:func:`attach_layers`), the labelled nodes get their layer,
stability and the other columns of the map format (:func:`node_table`), and the
manifest records what made the map (:func:`new_manifest` for a build,
:func:`grown_manifest` when papers are added to a map).
"""

from __future__ import annotations

import contextlib
import platform
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipeline.fit.stability import FRAGILE_BELOW
from pipeline.mapdir.store import (
    CLUSTER_COLUMNS,
    DOCUMENT_COLUMNS,
    LLM_COLUMNS,
    level_names,
    level_order,
    sha256_file,
)
from pipeline.naming.offline import PROVENANCE, OfflineNamer

if TYPE_CHECKING:
    from pipeline.fit.layers import Layers

VERSIONED_PACKAGES = ["numpy", "pandas", "umap-learn", "hdbscan", "scikit-learn",
                      "sentence-transformers", "torch", "pyarrow", "onnxruntime"]
_LAYER_COLUMN = re.compile(r"layer_\d+")
#: Columns of the clusters table the naming step may leave out, and their defaults (the
#: offline namer's provenance columns follow ``CLUSTER_COLUMNS``; maps made before them
#: load without them).
NAME_DEFAULTS = {"support": np.nan, "contrast": np.nan, "weak_name": False, **PROVENANCE}


def attach_layers(papers: pd.DataFrame, coords: np.ndarray, layers: Layers) -> pd.DataFrame:
    """The documents table: ``papers`` with their map position, their node at every layer,
    membership probability, outlier score and noise flag; ``DOCUMENT_COLUMNS`` first, then
    ``layer_1 ...``, then the input's metadata columns. Columns of an earlier map in
    ``papers`` (a drill-down re-maps a map's own rows) are replaced."""
    documents = papers.reset_index(drop=True)
    documents = documents.drop(columns=[c for c in documents.columns
                                        if _LAYER_COLUMN.fullmatch(str(c))])
    levels = level_names(len(layers.labels))
    documents["x"] = coords[:, 0]
    documents["y"] = coords[:, 1]
    for level, labels in zip(levels, layers.labels, strict=True):
        documents[level] = np.asarray(labels, dtype=np.int32)
    documents["probability"] = np.asarray(layers.probabilities, dtype=np.float32)
    documents["outlier_score"] = np.asarray(layers.outlier_scores, dtype=np.float32)
    documents["is_noise"] = np.asarray(layers.is_noise, dtype=bool)
    return documents[DOCUMENT_COLUMNS + levels[1:-1] + metadata_columns(documents)]


def metadata_columns(documents: pd.DataFrame) -> list[str]:
    """The input's extra columns, kept after the standard ones and the layers."""
    return [c for c in documents.columns
            if c not in DOCUMENT_COLUMNS and not _LAYER_COLUMN.fullmatch(str(c))]


def node_table(labelled: pd.DataFrame, layers: Layers) -> pd.DataFrame:
    """The clusters table from the labeller's rows (``label.offline_names``): each node's
    ``layer``, its ``stability`` and ``fragile`` flag from ``layers``, defaults for the
    naming columns it did not fill (NaN support and contrast, no weak name, no LLM
    name), in ``CLUSTER_COLUMNS`` order, finest layer first."""
    table = labelled.reset_index(drop=True).copy()
    layer_of = {level: k for k, level in enumerate(level_names(len(layers.labels)))}
    table["layer"] = table["level"].map(layer_of).astype(int)
    table["stability"] = [float(layers.stability[k][i]) if i < len(layers.stability[k])
                          else np.nan for k, i in zip(table["layer"], table["id"], strict=True)]
    table["fragile"] = table["stability"].lt(FRAGILE_BELOW)
    for column, default in NAME_DEFAULTS.items():
        if column not in table.columns:
            table[column] = default
    for column in LLM_COLUMNS:
        table[column] = table[column].fillna("").astype(str) if column in table else ""
    table = table.sort_values(["layer", "id"], kind="stable").reset_index(drop=True)
    return table[CLUSTER_COLUMNS + list(PROVENANCE)].astype(
        {"layer": int, "id": int, "parent": int, "weak_name": bool, "fragile": bool,
         "mixed": bool})


def table_counts(documents: pd.DataFrame, clusters: pd.DataFrame) -> dict[str, Any]:
    """Papers, nodes per layer (finest first), clusters, themes, noise papers (HDBSCAN's
    verdict) and unclustered ones (in no finest cluster) of a map."""
    sizes = clusters["level"].value_counts()
    layers = [int(sizes.get(level, 0)) for level in level_order(clusters)]
    return {"kept": len(documents), "layers": layers,
            "clusters": layers[0] if layers else 0, "themes": layers[-1] if layers else 0,
            "noise": int(documents["is_noise"].sum()),
            "unclustered": int((documents["cluster"] < 0).sum())}


def hashed_inputs(inputs: Iterable[dict]) -> list[dict]:
    """The ingest report's input entries, each with the SHA-256 of its file."""
    return [dict(item, sha256=sha256_file(Path(item["path"]))) for item in inputs]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_manifest(*, config, model: dict, report, documents: pd.DataFrame,
                 clusters: pd.DataFrame, embedded: int, timings: dict, fit: dict[str, Any],
                 engine: dict | None = None) -> dict[str, Any]:
    """The manifest of a map just built (``report``: the ingest report; ``fit``: what
    :func:`fit_parameters` says of its fit)."""
    manifest: dict[str, Any] = {
        "created": now(),
        "config": config.to_dict(),
        "fit": fit,
        "names": {"label": {"namer": "offline", **OfflineNamer().describe()}},
        "model": model,
        "inputs": hashed_inputs(report.inputs),
        "counts": {**report.counts(), "embedded": embedded, **table_counts(documents, clusters)},
        "metadata_columns": metadata_columns(documents),
    }
    if engine is not None:
        manifest["engine"] = engine
    manifest["timings"] = timings
    manifest["versions"] = package_versions()
    return manifest


def fit_parameters(config, layers: Layers, n_fitted: int, *, dimensions: int) -> dict[str, Any]:
    """The settings the fit used where the config leaves them to the data (``None`` there):
    UMAP's neighbours, the clustering space's ``dimensions``, HDBSCAN's sizes, the layers'
    node counts."""
    return {"papers": int(n_fitted), "n_neighbors": int(config.reduce.neighbors_for(n_fitted)),
            "n_components": int(dimensions),
            "min_cluster_size": int(layers.min_cluster_size),
            "min_samples": int(layers.min_samples),
            "selection_method": config.cluster.selection_method,
            "layers": [int(n) for n in layers.counts]}


def grown_manifest(manifest: dict[str, Any], documents: pd.DataFrame, clusters: pd.DataFrame,
                   *, inputs: Iterable[dict], update: dict) -> dict[str, Any]:
    """``manifest`` of a map that papers were added to: counts, inputs and the update log."""
    manifest = dict(manifest)
    manifest["counts"] = dict(manifest.get("counts", {}), **table_counts(documents, clusters))
    manifest["inputs"] = list(manifest.get("inputs", [])) + hashed_inputs(inputs)
    manifest["updates"] = [*manifest.get("updates", []), update]
    return manifest


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide the result, and Python's."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions
