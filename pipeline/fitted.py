"""The fitted state a map saves beside its tables, so that papers can be added later.

``fitted.npz`` holds plain numeric arrays (written with the map, read with
``allow_pickle=False`` and checked against the manifest's hash; the map format
itself is in ``pipeline.artifacts``):

- ``cluster_space``: n x n_components float32, the UMAP clustering space,
  row-aligned with the documents; ``n_fitted``: how many rows (the first ones)
  the models were fitted on;
- HDBSCAN's condensed tree (``tree_parent``, ``tree_child``, ``tree_lambda``,
  ``tree_size``), ``core_distances``, the selected clusters (``node_ids``,
  ``node_labels``, ``node_max_lambda``), ``min_samples`` and ``single_cluster``:
  what ``cluster.predict_clusters`` needs to redo ``approximate_predict``;
- ``fitted_noise_share``: the share of noise among the fitted papers;
- the c-TF-IDF ``vocabulary`` (UTF-8, newline-separated, as uint8), ``n_terms``,
  ``doc_freq``, and per level ``term_freq_<level>`` (corpus term frequencies of
  the papers in a class of that level) and ``labelled_size_<level>`` (each
  class's size when it was last labelled): what ``label.refresh_classes`` needs
  to relabel one class without recounting the corpus.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .artifacts import FITTED, LEVELS, TopicMap, sha256_file
from .errors import MapFormatError
from .terms import SavedTerms, TermCounts, count_with_vocabulary

if TYPE_CHECKING:
    from .cluster import Clustering

NOISE = -1


def fitted_state(documents: pd.DataFrame, clusters: pd.DataFrame, *,
                 cluster_space: np.ndarray, clustering: Clustering, counts: TermCounts,
                 n_fitted: int | None = None) -> dict[str, np.ndarray]:
    """The arrays an update needs, for a map just built.

    ``clustering`` holds every paper's cluster and the HDBSCAN model, fitted on
    the first ``n_fitted`` rows (default: all of them); ``counts`` are the
    papers' term counts the labels were made from.
    """
    n_fitted = len(documents) if n_fitted is None else int(n_fitted)
    out: dict[str, np.ndarray] = {
        "cluster_space": np.asarray(cluster_space, dtype=np.float32),
        "n_fitted": np.array(n_fitted, dtype=np.int64),
        "fitted_noise_share": np.array(float(documents["is_noise"].mean()), dtype=np.float64),
        "min_samples": np.array(int(clustering.min_samples), dtype=np.int64),
    }
    out.update(hdbscan_arrays(clustering.model, clustering.labels[:n_fitted]))
    vocabulary = [str(t) for t in counts.vocabulary]
    out["vocabulary"] = np.frombuffer("\n".join(vocabulary).encode("utf-8"), dtype=np.uint8)
    out["n_terms"] = np.array(len(vocabulary), dtype=np.int64)
    for level in LEVELS:
        out[f"term_freq_{level}"] = _term_totals(counts.matrix, documents[level].to_numpy())
    out["doc_freq"] = np.asarray((counts.matrix > 0).sum(axis=0), dtype=np.float64).ravel()
    for level in LEVELS:
        rows = clusters[clusters["level"] == level].sort_values("id")
        out[f"labelled_size_{level}"] = rows["size"].to_numpy(dtype=np.int64)
    return out


def add_term_counts(fitted: dict[str, np.ndarray], papers: pd.DataFrame, *,
                    max_ngram: int) -> None:
    """Add ``papers``' terms (over the saved vocabulary) to the saved totals, in place.

    ``papers`` are new rows of the documents table, with their nodes at every level.
    """
    texts = (papers["title"] + ". " + papers["abstract"]).tolist()
    counts = count_with_vocabulary(texts, vocabulary_of(fitted), max_ngram)
    for level in LEVELS:
        fitted[f"term_freq_{level}"] = fitted[f"term_freq_{level}"] + _term_totals(
            counts, papers[level].to_numpy())
    fitted["doc_freq"] = fitted["doc_freq"] + np.asarray((counts > 0).sum(axis=0)).ravel()


def saved_terms(fitted: dict[str, np.ndarray], level: str, n_documents: int) -> SavedTerms:
    """The saved term totals of ``level``, for ``label.refresh_classes``."""
    return SavedTerms(vocabulary_of(fitted), fitted[f"term_freq_{level}"], fitted["doc_freq"],
                      n_documents)


def _term_totals(matrix, nodes: np.ndarray) -> np.ndarray:
    """Each term's count over the papers that are in a node (``nodes >= 0``)."""
    return np.asarray(matrix[nodes >= 0].sum(axis=0), dtype=np.float64).ravel()


def hdbscan_arrays(model, labels: np.ndarray) -> dict[str, np.ndarray]:
    """What ``approximate_predict`` needs from a fitted ``hdbscan.HDBSCAN``, as arrays.

    ``labels`` are the pipeline's cluster ids of the fitted points (renumbered
    by size); the saved ``node_labels`` use them. A model that found no cluster
    (the build then puts everything in one) is saved as ``single_cluster``.
    """
    usable = model is not None and (np.asarray(model.labels_) >= 0).any()
    out: dict[str, np.ndarray] = {"single_cluster": np.array(not usable)}
    if not usable:
        return out
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.generate_prediction_data()
    prediction = model.prediction_data_
    raw = model.condensed_tree_._raw_tree
    # hdbscan numbers clusters its own way; the pipeline renumbers them by size.
    ours: dict[int, int] = {}
    for theirs, mine in zip(np.asarray(model.labels_), np.asarray(labels), strict=True):
        if theirs >= 0 and mine >= 0:
            ours.setdefault(int(theirs), int(mine))
    nodes = sorted(prediction.cluster_map)
    out.update({
        "tree_parent": np.asarray(raw["parent"], dtype=np.int64),
        "tree_child": np.asarray(raw["child"], dtype=np.int64),
        "tree_lambda": np.asarray(raw["lambda_val"], dtype=np.float64),
        "tree_size": np.asarray(raw["child_size"], dtype=np.int64),
        "core_distances": np.asarray(prediction.core_distances, dtype=np.float64),
        "node_ids": np.array(nodes, dtype=np.int64),
        "node_labels": np.array([ours.get(int(prediction.cluster_map[n]), NOISE)
                                 for n in nodes], dtype=np.int64),
        "node_max_lambda": np.array([prediction.max_lambdas[n] for n in nodes],
                                    dtype=np.float64),
    })
    return out


def load_fitted(topic_map: TopicMap) -> dict[str, np.ndarray]:
    """The map's ``fitted.npz``, checked against the manifest's hash."""
    path = Path(topic_map.path) / FITTED
    expected = topic_map.manifest.get("files", {}).get(FITTED)
    if not path.is_file() or expected is None:
        raise MapFormatError(
            f"map {topic_map.path} has no saved state for updates (it was built before updates "
            f"existed); refit it once with `python -m pipeline update {topic_map.path} --rebuild`"
        )
    if sha256_file(path) != expected:
        raise MapFormatError(f"{path} does not match the hash in its manifest; rebuild the map")
    try:
        with np.load(path, allow_pickle=False) as data:
            fitted = {name: data[name] for name in data.files}
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a corrupt file
        raise MapFormatError(f"{path} could not be read ({exc}); rebuild the map") from None
    if len(fitted.get("cluster_space", [])) != len(topic_map.documents):
        raise MapFormatError(f"{path} is not row-aligned with the documents; rebuild the map")
    return fitted


def vocabulary_of(fitted: dict[str, np.ndarray]) -> np.ndarray:
    """The saved c-TF-IDF vocabulary as an array of strings."""
    if int(fitted["n_terms"]) == 0:
        return np.array([], dtype=str)
    return np.array(bytes(fitted["vocabulary"]).decode("utf-8").split("\n"))

