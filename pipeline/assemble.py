"""What every way of making a map shares: its documents table and its manifest.

A build (any engine), ``update`` and ``update --rebuild`` all end the same way:
the papers get their positions, clusters and themes as the documents table's
columns (:func:`attach_clustering`), and the manifest records what made the
map (:func:`new_manifest` for a build, :func:`grown_manifest` when papers are
added to a map).
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .artifacts import DOCUMENT_COLUMNS, sha256_file

VERSIONED_PACKAGES = ["numpy", "pandas", "umap-learn", "hdbscan", "scikit-learn",
                      "sentence-transformers", "torch", "pyarrow", "onnxruntime"]


def attach_clustering(papers: pd.DataFrame, coords: np.ndarray, *, labels: np.ndarray,
                      probabilities: np.ndarray, outlier_scores: np.ndarray,
                      is_noise: np.ndarray, themes: np.ndarray) -> pd.DataFrame:
    """The documents table: ``papers`` with their map position, cluster, theme,
    membership probability, outlier score and noise flag, in ``DOCUMENT_COLUMNS``
    order, then the input's metadata columns."""
    documents = papers.reset_index(drop=True).copy()
    documents["x"] = coords[:, 0]
    documents["y"] = coords[:, 1]
    documents["cluster"] = labels
    documents["theme"] = themes
    documents["probability"] = probabilities
    documents["outlier_score"] = outlier_scores
    documents["is_noise"] = is_noise
    return documents[DOCUMENT_COLUMNS + metadata_columns(documents)]


def metadata_columns(documents: pd.DataFrame) -> list[str]:
    """The input's extra columns, kept after the standard ones."""
    return [c for c in documents.columns if c not in DOCUMENT_COLUMNS]


def table_counts(documents: pd.DataFrame, clusters: pd.DataFrame) -> dict[str, int]:
    """Papers, clusters, themes and noise papers of a map."""
    return {"kept": len(documents),
            "clusters": int((clusters["level"] == "cluster").sum()),
            "themes": int((clusters["level"] == "theme").sum()),
            "noise": int(documents["is_noise"].sum())}


def hashed_inputs(inputs: Iterable[dict]) -> list[dict]:
    """The ingest report's input entries, each with the SHA-256 of its file."""
    return [dict(item, sha256=sha256_file(Path(item["path"]))) for item in inputs]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_manifest(*, config, model: dict, report, documents: pd.DataFrame,
                 clusters: pd.DataFrame, embedded: int, timings: dict,
                 engine: dict | None = None) -> dict[str, Any]:
    """The manifest of a map just built (``report``: the ingest report)."""
    manifest: dict[str, Any] = {
        "created": now(),
        "config": config.to_dict(),
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
