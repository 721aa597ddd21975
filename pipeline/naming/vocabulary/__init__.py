"""The field vocabulary: names researchers give fields, as candidates for topic names.

``fields.json.gz`` holds OpenAlex's topic taxonomy (26 fields, 245 subfields, 4,516 topics
with trimmed names; CC0) and arXiv's active categories (MIT), with the short names a
researcher writes for them ("Computer vision" for "Computer Vision and Pattern
Recognition") and each entry's characteristic terms (what papers of the field write).
``fields.all-MiniLM-L6-v2.npy`` holds the names' vectors for the default model (float16).
Both are made by ``python -m pipeline.naming.vocabulary.regenerate`` from the source
files; README.md in this folder records the sources, versions and licences. Nothing is
downloaded: the vocabulary loads offline, in well under a second (:func:`load_vocabulary`).

The namer (``pipeline.naming.fields``) lets an entry compete with the phrases a node's
papers write only when the node's own words confirm it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ENTRIES = HERE / "fields.json.gz"
VECTORS = HERE / "fields.all-MiniLM-L6-v2.npy"
FORMAT = "topicmap-field-vocabulary"
#: Kinds of entries: OpenAlex's levels, arXiv's categories, and the short names of joined
#: names ("part") or of what a category's description says it covers ("alias").
KINDS = ("field", "subfield", "topic", "category", "part", "alias")
#: Entries embedded with the map's model to check that shipped vectors are its own.
PROBES = 8


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """The vocabulary's entries, row-aligned: ``names`` (sentence case), ``kinds``, ``ids``
    ("openalex:S2730", "arxiv:cs.CV"), ``originals`` (the source's own name), ``parents``
    (row of the entry a topic, subfield or part belongs to; -1 none) and ``terms`` (folded
    phrases its papers write; a part or alias has its entry's too)."""

    version: str
    names: tuple[str, ...]
    kinds: np.ndarray
    ids: tuple[str, ...]
    originals: tuple[str, ...]
    parents: np.ndarray
    terms: tuple[tuple[str, ...], ...]
    licence: str = ""

    def __len__(self) -> int:
        return len(self.names)

    @property
    def digest(self) -> str:
        """A hash of the names, in order: what shipped vectors are checked against."""
        return names_digest(self.names)

    def source(self, row: int) -> str:
        """Where an entry comes from: "openalex" or "arxiv"."""
        return self.ids[row].split(":", 1)[0]


def names_digest(names: Sequence[str]) -> str:
    """SHA-256 (first 16 hex digits) of names joined by newlines."""
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:16]


def write_vocabulary(entries: list[dict], path: Path, *, version: str, sources: list[dict],
                     licence: str) -> None:
    """Write entries (``pipeline.naming.vocabulary.sources.entries``) compactly, gzipped."""
    rows = [[e["name"], e["kind"], e["id"], e["of"], e["parent"], "|".join(e["terms"])]
            for e in entries]
    payload = {"format": FORMAT, "version": version, "sources": sources, "licence": licence,
               "digest": names_digest([e["name"] for e in entries]),
               "columns": ["name", "kind", "id", "of", "parent", "terms"], "entries": rows}
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as handle:
        json.dump(payload, handle, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=4)
def load_vocabulary(path: Path = ENTRIES) -> Vocabulary:
    """The vocabulary at ``path`` (default: the shipped one), read once per process."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        payload = json.load(handle)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file")
    rows = payload["entries"]
    parents = np.array([r[4] for r in rows], dtype=np.int64)
    own = [tuple(t for t in r[5].split("|") if t) for r in rows]
    kinds = np.array([r[1] for r in rows])
    terms = tuple(tuple(dict.fromkeys(own[i] + (own[parents[i]] if kinds[i] == "part" else ())))
                  for i in range(len(rows)))
    return Vocabulary(str(payload["version"]), tuple(r[0] for r in rows), kinds,
                      tuple(r[2] for r in rows), tuple(r[3] for r in rows), parents, terms,
                      str(payload.get("licence", "")))


def shipped_vectors(vocabulary: Vocabulary, path: Path = VECTORS) -> np.ndarray | None:
    """The default model's vectors of the names (float32, unit rows), or None when the file
    is missing or was made for other names."""
    if not path.is_file():
        return None
    vectors = np.load(path, allow_pickle=False)
    meta = path.with_suffix(".json")
    digest = json.loads(meta.read_text(encoding="utf-8")).get("digest") if meta.is_file() else None
    if len(vectors) != len(vocabulary) or digest != vocabulary.digest:
        return None
    return vectors.astype(np.float32)


def vocabulary_vectors(vocabulary: Vocabulary,
                       embed: Callable[[list[str]], np.ndarray | None] | None,
                       ) -> np.ndarray | None:
    """The names' vectors in the map's model: the shipped ones when ``embed`` (the map's
    model) gives the same vectors for a few probe names, else the names embedded with it;
    None without a model (names are then judged without the vocabulary)."""
    if embed is None or not len(vocabulary):
        return None
    shipped = shipped_vectors(vocabulary)
    if shipped is not None:
        probes = np.linspace(0, len(vocabulary) - 1, PROBES).astype(int)
        found = embed([vocabulary.names[i] for i in probes])
        if found is None:
            return None
        found = np.asarray(found, dtype=np.float32)
        if found.shape[1] == shipped.shape[1]:
            found /= np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-12)
            if float((found * shipped[probes]).sum(axis=1).min()) >= 0.95:
                return shipped
    found = embed(list(vocabulary.names))
    if found is None:
        return None
    found = np.asarray(found, dtype=np.float32)
    return found / np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-12)
