"""The fitted state a map saves beside its tables, so that papers can be added later.

``fitted.npz`` holds plain numeric arrays (written with the map, read with
``allow_pickle=False`` and checked against the manifest's hash; the map format
itself is in ``pipeline.mapdir.store``):

- ``cluster_space``: n x n_components float32, the UMAP clustering space,
  row-aligned with the documents; ``n_fitted``: how many rows (the first ones)
  the models were fitted on;
- ``n_layers`` and ``parents_<k>`` (per node of layer k, its node in layer k+1;
  -1 at the top): the links that place a new paper in the broad layers once its
  finest node is voted (``pipeline.fit.layers.place_layers``; the votes read the papers'
  nodes from the documents table);
- ``fitted_unclustered_share``: the share of fitted papers in no finest cluster;
- the phrase ``vocabulary`` (UTF-8, newline-separated, as uint8), ``n_terms``,
  ``doc_freq``, and per level ``term_freq_<level>`` (phrase counts of the papers
  in a node of that level) and ``labelled_size_<level>`` (each node's size when it
  was last named): what ``pipeline.naming.offline.refresh_nodes`` needs to rename
  one node without recounting the corpus;
- ``phrase_text`` (UTF-8, newline-separated, as uint8) and ``phrase_vectors``
  (float32, one row per phrase): the phrases the namer embedded with the map's model
  and their vectors (:class:`PhraseVectors`), so that an update that renames nodes
  embeds only phrases it has not seen, and loads the model only for those.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.errors import MapFormatError
from pipeline.mapdir.store import FITTED, TopicMap, level_names, sha256_file
from pipeline.naming.counts import PhraseCounts, SavedPhrases, count_with_vocabulary, paper_texts

if TYPE_CHECKING:
    from pipeline.fit.layers import Layers



def fitted_state(documents: pd.DataFrame, clusters: pd.DataFrame, *,
                 cluster_space: np.ndarray, layers: Layers, counts: PhraseCounts,
                 n_fitted: int | None = None,
                 phrases: PhraseVectors | None = None) -> dict[str, np.ndarray]:
    """The arrays an update needs, for a map just built.

    ``layers`` are every paper's layers, fitted on the first ``n_fitted`` rows
    (default: all of them); ``counts`` are the papers' term counts the labels
    were made from; ``phrases`` the phrase vectors the namer used.
    """
    n_fitted = len(documents) if n_fitted is None else int(n_fitted)
    fine = documents["cluster"].to_numpy()[:n_fitted]
    out: dict[str, np.ndarray] = {
        "cluster_space": np.asarray(cluster_space, dtype=np.float32),
        "n_fitted": np.array(n_fitted, dtype=np.int64),
        "fitted_unclustered_share": np.array(float((fine < 0).mean()) if n_fitted else 0.0),
        "n_layers": np.array(len(layers.parents), dtype=np.int64),
    }
    for k, parents in enumerate(layers.parents):
        out[f"parents_{k}"] = np.asarray(parents, dtype=np.int32)
    vocabulary = [str(t) for t in counts.vocabulary]
    out["vocabulary"] = np.frombuffer("\n".join(vocabulary).encode("utf-8"), dtype=np.uint8)
    out["n_terms"] = np.array(len(vocabulary), dtype=np.int64)
    levels = level_names(len(layers.parents))
    for level in levels:
        out[f"term_freq_{level}"] = _phrase_totals(counts.matrix, documents[level].to_numpy())
    out["doc_freq"] = counts.doc_freq
    for level in levels:
        rows = clusters[clusters["level"] == level].sort_values("id")
        out[f"labelled_size_{level}"] = rows["size"].to_numpy(dtype=np.int64)
    if phrases is not None and phrases.vectors:
        out.update(phrases.saved())
    return out


class PhraseVectors:
    """Embeds phrases with ``embed`` (a namer's phrase embedder, loaded lazily), each phrase
    once: what it has embedded, or was given (``known``: phrase -> vector), it answers
    itself; ``embed`` is called for the other phrases only, and not at all when there
    are none. None when ``embed`` is None or returns None (the model is not at hand)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray | None] | None, *,
                 known: dict[str, np.ndarray] | None = None) -> None:
        self.embed = embed
        self.vectors: dict[str, np.ndarray] = dict(known or {})
        self.calls = 0  # calls that reached ``embed``

    def __call__(self, phrases: Sequence[str]) -> np.ndarray | None:
        phrases = list(phrases)
        missing = list(dict.fromkeys(p for p in phrases if p not in self.vectors))
        if missing:
            if self.embed is None:
                return None
            self.calls += 1
            found = self.embed(missing)
            if found is None:
                return None
            self.vectors.update(zip(missing, np.asarray(found, dtype=np.float32), strict=True))
        if not phrases:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.vectors[p] for p in phrases])

    @property
    def dimension(self) -> int:
        return len(next(iter(self.vectors.values()))) if self.vectors else 0

    def saved(self) -> dict[str, np.ndarray]:
        """The arrays ``fitted.npz`` keeps (phrases with a newline are left out)."""
        kept = [p for p in self.vectors if "\n" not in p]
        return {"phrase_text": np.frombuffer("\n".join(kept).encode("utf-8"), dtype=np.uint8),
                "phrase_vectors": np.array([self.vectors[p] for p in kept], dtype=np.float32
                                           ).reshape(len(kept), -1)}

    @classmethod
    def from_fitted(cls, fitted: dict[str, np.ndarray],
                    embed: Callable[[list[str]], np.ndarray | None] | None) -> PhraseVectors:
        """The saved phrases of a map's ``fitted.npz`` (none in maps made before them)."""
        vectors = fitted.get("phrase_vectors")
        if vectors is None or not len(vectors):
            return cls(embed)
        text = bytes(fitted["phrase_text"]).decode("utf-8").split("\n")
        return cls(embed, known=dict(zip(text, np.asarray(vectors, dtype=np.float32),
                                         strict=True)))


def fitted_levels(fitted: dict[str, np.ndarray]) -> list[str]:
    """The levels of the saved fit, finest first."""
    return level_names(int(fitted["n_layers"]))


def fitted_parents(fitted: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The saved parent links, one array per layer, finest first."""
    return [fitted[f"parents_{k}"] for k in range(int(fitted["n_layers"]))]


def add_phrase_counts(fitted: dict[str, np.ndarray], papers: pd.DataFrame, *,
                    max_ngram: int) -> None:
    """Add ``papers``' terms (over the saved vocabulary) to the saved totals, in place.

    ``papers`` are new rows of the documents table, with their nodes at every level.
    """
    counts = count_with_vocabulary(paper_texts(papers), vocabulary_of(fitted), max_ngram)
    for level in fitted_levels(fitted):
        fitted[f"term_freq_{level}"] = fitted[f"term_freq_{level}"] + _phrase_totals(
            counts, papers[level].to_numpy())
    fitted["doc_freq"] = fitted["doc_freq"] + np.asarray((counts > 0).sum(axis=0)).ravel()


def saved_counts(fitted: dict[str, np.ndarray], papers: pd.DataFrame, *,
                 max_ngram: int) -> PhraseCounts:
    """Which of ``papers`` use which phrase of the saved vocabulary: what naming the whole
    map again reads (phrases only the new papers write are not in it, as for one node)."""
    vocabulary = vocabulary_of(fitted)
    return PhraseCounts(count_with_vocabulary(paper_texts(papers), vocabulary, max_ngram),
                        vocabulary)


def saved_phrases(fitted: dict[str, np.ndarray], level: str, n_documents: int) -> SavedPhrases:
    """The saved term totals of ``level``, for ``label.refresh_nodes``."""
    return SavedPhrases(vocabulary_of(fitted), fitted[f"term_freq_{level}"], fitted["doc_freq"],
                      n_documents)


def _phrase_totals(matrix, nodes: np.ndarray) -> np.ndarray:
    """Each term's count over the papers that are in a node (``nodes >= 0``)."""
    return np.asarray(matrix[nodes >= 0].sum(axis=0), dtype=np.float64).ravel()


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
    if "n_layers" not in fitted or fitted_levels(fitted) != topic_map.levels:
        raise MapFormatError(f"{path} does not hold the layers of the map; refit it with "
                             f"`python -m pipeline update {topic_map.path} --rebuild`")
    return fitted


def vocabulary_of(fitted: dict[str, np.ndarray]) -> np.ndarray:
    """The saved phrase vocabulary as an array of strings."""
    if int(fitted["n_terms"]) == 0:
        return np.array([], dtype=str)
    return np.array(bytes(fitted["vocabulary"]).decode("utf-8").split("\n"))

