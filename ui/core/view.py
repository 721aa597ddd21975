"""Filtering and searching a map: plain functions over its tables, no streamlit.

A *view* is the documents table cut down to what the filters let through; its
index stays the paper's row position in the map, so embeddings, hover texts
and exports can always be looked up by ``view.index``.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NOISE = -1
#: Columns of the documents table that are the map's own, not colour choices.
_NOT_COLOURS = {"id", "title", "abstract", "authors", "url", "x", "y", "cluster", "theme",
                "probability", "outlier_score", "is_noise"}
MAX_CATEGORIES = 60


@dataclass(frozen=True)
class Filters:
    """What the sidebar lets through. Empty tuples mean "all"."""

    themes: tuple[int, ...] = ()
    clusters: tuple[int, ...] = ()
    years: tuple[int, int] | None = None  # inclusive; None: any year (unknown too)
    text: str = ""
    min_probability: float = 0.0
    show_noise: bool = True
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)


def filter_mask(documents: pd.DataFrame, filters: Filters, *,
                search_text: pd.Series | None = None,
                word_mask: Callable[[str], np.ndarray] | None = None) -> np.ndarray:
    """Boolean mask of the papers that pass ``filters``.

    ``search_text`` is the lower-cased ``title + abstract`` per paper (the
    loaders cache it); computed here when not given. ``word_mask`` gives the papers
    containing a word (a map's :class:`WordMasks`, cached for every session).
    """
    mask = np.ones(len(documents), dtype=bool)
    if filters.themes:
        mask &= documents["theme"].isin(filters.themes).to_numpy()
    if filters.clusters:
        mask &= documents["cluster"].isin(filters.clusters).to_numpy()
    noise = documents["cluster"].to_numpy() == NOISE
    if not filters.show_noise:
        mask &= ~noise
    if filters.min_probability > 0:
        mask &= noise | (documents["probability"].to_numpy() >= filters.min_probability)
    if filters.years is not None:
        years = documents["year"].to_numpy(dtype=float)
        low, high = filters.years
        with np.errstate(invalid="ignore"):
            mask &= (years >= low) & (years <= high)
    words = search_words(filters.text)
    if words and word_mask is None:
        word_mask = WordMasks(lowered_text(documents) if search_text is None else search_text)
    for word in words:
        mask &= word_mask(word)
    return mask


class WordMasks:
    """Which papers' lower-cased title and abstract (``search_text``) contain a word,
    remembered for the last ``size`` words: one per map, shared by every session, so a
    word anyone filtered by before is a lookup, not a scan of every abstract."""

    def __init__(self, search_text: pd.Series, size: int = 512) -> None:
        self._text = search_text
        self._size = size
        self._masks: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, word: str) -> np.ndarray:
        """The papers containing ``word`` (read-only)."""
        with self._lock:
            mask = self._masks.get(word)
            if mask is not None:
                self._masks.move_to_end(word)
                return mask
        mask = self._text.str.contains(word, regex=False).to_numpy(dtype=bool)
        mask.flags.writeable = False
        with self._lock:
            self._masks[word] = mask
            while len(self._masks) > self._size:
                self._masks.popitem(last=False)
        return mask


def search_words(text: str) -> list[str]:
    """The lower-cased words of a text query (a quoted phrase counts as one)."""
    text = (text or "").strip().lower()[:500]
    return [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', text)]


def lowered_text(documents: pd.DataFrame) -> pd.Series:
    """``title + " " + abstract`` in lower case: what the text filter searches."""
    return (documents["title"].fillna("").astype(str) + " "
            + documents["abstract"].fillna("").astype(str)).str.lower()


def year_bounds(documents: pd.DataFrame) -> tuple[int, int] | None:
    """Smallest and largest known year, or ``None`` when no paper has one."""
    years = pd.to_numeric(documents["year"], errors="coerce").dropna()
    if years.empty:
        return None
    return int(years.min()), int(years.max())


def colour_columns(documents: pd.DataFrame) -> list[str]:
    """Metadata columns worth colouring by: numbers, or text with few distinct values."""
    out = []
    if "year" in documents.columns and documents["year"].notna().any():
        out.append("year")
    for column in documents.columns:
        if column in _NOT_COLOURS or column == "year" or column.startswith("_"):
            continue
        series = documents[column]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series):
            if series.notna().any():
                out.append(column)
        elif 1 < series.nunique(dropna=True) <= MAX_CATEGORIES:
            out.append(column)
    return out


def semantic_search(embeddings: np.ndarray, query: np.ndarray, *, k: int = 10,
                    rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the ``k`` papers nearest ``query`` (cosine) and their similarity.

    Only ``rows`` are searched when given (the filtered view). Ties are broken
    by row position so results are stable.
    """
    query = np.asarray(query, dtype=np.float32).reshape(-1)
    candidates = np.arange(len(embeddings)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(candidates) == 0 or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    scores = _scores(embeddings, candidates, query)
    order = np.lexsort((candidates, -scores))[:k]
    return candidates[order], scores[order]


def nearest_neighbours(embeddings: np.ndarray, row: int, *, k: int = 10,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` papers most similar to paper ``row`` (itself excluded)."""
    rows, scores = semantic_search(embeddings, np.asarray(embeddings[row]), k=k + 1)
    keep = rows != row
    return rows[keep][:k], scores[keep][:k]


def _scores(embeddings: np.ndarray, candidates: np.ndarray, query: np.ndarray,
            chunk: int = 65536) -> np.ndarray:
    if len(candidates) == len(embeddings):
        return np.asarray(embeddings @ query, dtype=np.float32)
    out = np.empty(len(candidates), dtype=np.float32)
    for start in range(0, len(candidates), chunk):
        part = candidates[start:start + chunk]
        out[start:start + len(part)] = np.asarray(embeddings[part] @ query)
    return out


#: Names of the two levels every map has; the levels between them (``layer_1`` ...)
#: are read from the clusters table.
FINEST, BROADEST = "cluster", "theme"
_LEVEL_TITLES = {FINEST: "Clusters", BROADEST: "Themes"}


def map_levels(clusters: pd.DataFrame) -> list[str]:
    """The map's label levels, broadest first (``["theme", ..., "cluster"]``): the
    ``level`` values of its clusters table, ordered by ``layer`` when it has one."""
    if clusters.empty:
        return []
    if "layer" in clusters.columns:
        order = clusters.groupby("level")["layer"].min().sort_values(ascending=False)
        return [str(level) for level in order.index]
    present = set(clusters["level"].astype(str))
    return [level for level in (BROADEST, FINEST) if level in present]


def level_title(level: str) -> str:
    """How a level is named on screen: "Themes", "Clusters", "Layer 1"."""
    return _LEVEL_TITLES.get(level) or str(level).replace("_", " ").capitalize()


def label_positions(view: pd.DataFrame, clusters: pd.DataFrame, level: str,
                    ) -> pd.DataFrame:
    """Where to write the name of each node of ``level``, from its visible papers.

    ``level`` is a ``level`` of the clusters table, which is also the documents
    column holding each paper's node at that level. A finest-level cluster's name
    sits at the median of its papers; a broader node's at the median of its largest
    visible cluster: it can span separate regions of the map, and the middle of
    those is often empty space.
    Returns columns ``id, label, size, x, y`` (``size`` = visible papers),
    largest first; groups with no visible paper are left out, and so is noise.
    """
    column = level
    table = clusters[clusters["level"] == level].set_index("id")
    if column not in view.columns:
        return pd.DataFrame(columns=["id", "label", "size", "x", "y"])
    visible = view[view[column] != NOISE]
    if visible.empty or table.empty:
        return pd.DataFrame(columns=["id", "label", "size", "x", "y"])
    sizes = visible.groupby(column).size()
    anchor = visible
    if level != FINEST:
        clustered = visible[visible["cluster"] != NOISE]
        if not clustered.empty:
            counts = clustered.groupby([column, "cluster"]).size().reset_index(name="n")
            counts = counts.sort_values(["n", "cluster"], ascending=[False, True])
            main = counts.drop_duplicates(column).set_index(column)["cluster"]
            keep = clustered["cluster"].to_numpy() == main.reindex(clustered[column]).to_numpy()
            anchor = pd.concat([clustered[keep],
                                visible[~visible[column].isin(main.index)]])
    grouped = anchor.groupby(column)
    out = pd.DataFrame({"x": grouped["x"].median(), "y": grouped["y"].median()})
    out["size"] = sizes.reindex(out.index).to_numpy()
    out = out[out.index.isin(table.index)]
    out["label"] = table.loc[out.index, "label"].astype(str).to_numpy()
    out.index.name = "id"
    return out.reset_index().sort_values(["size", "id"], ascending=[False, True],
                                         ignore_index=True)


def describe_counts(n_shown: int, n_total: int) -> str:
    """"Showing 1,234 of 9,852 papers" (or "all 9,852 papers")."""
    if n_shown == n_total:
        return f"all {n_total:,} papers"
    share = 100 * n_shown / n_total if n_total else 0
    return f"{n_shown:,} of {n_total:,} papers ({share:.0f}%)" if math.isfinite(share) else ""


# --------------------------------------------------------------------------- overview of big maps

#: Past this many papers in view the map opens on an overview: a seeded sample is drawn
#: (every label is still written), and every paper appears once filters narrow the view.
OVERVIEW_POINTS = 20_000


def sample_priority(n_papers: int, *, seed: int = 0) -> np.ndarray:
    """A fixed random rank per paper (row position -> rank), the same on every run.

    The overview draws the papers of lowest rank in view, so the points drawn for a
    narrower view always include those drawn for a wider one: filtering fills the
    map in, it never reshuffles it.
    """
    ranks = np.empty(n_papers, dtype=np.int64)
    ranks[np.random.default_rng(seed).permutation(n_papers)] = np.arange(n_papers)
    return ranks


def overview_rows(rows: np.ndarray, priority: np.ndarray, *, limit: int = OVERVIEW_POINTS,
                  ) -> np.ndarray:
    """The row positions to draw: all of ``rows`` when they fit in ``limit``, else the
    ``limit`` of lowest ``priority``, in map order."""
    rows = np.asarray(rows, dtype=np.int64)
    if limit <= 0 or len(rows) <= limit:
        return rows
    pick = np.argpartition(priority[rows], limit - 1)[:limit]
    return np.sort(rows[pick])


def overview_view(view: pd.DataFrame, priority: np.ndarray, *, limit: int = OVERVIEW_POINTS,
                  keep: Sequence[int | None] = ()) -> pd.DataFrame:
    """The part of ``view`` to draw: all of it when it fits in ``limit``, else the seeded
    overview sample plus the rows of ``keep`` that are in view (search hits, open paper)."""
    rows = view.index.to_numpy()
    drawn = overview_rows(rows, priority, limit=limit)
    if len(drawn) == len(rows):
        return view
    extra = np.asarray([r for r in keep if r is not None and r in view.index], dtype=np.int64)
    return view.loc[np.union1d(drawn, extra)]


def rows_in_region(view: pd.DataFrame, *, box: tuple[float, float, float, float] | None = None,
                   polygon: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Row positions of ``view`` inside a box ``(x0, x1, y0, y1)`` or a lasso polygon.

    Used when the map draws only a sample: a box or lasso then selects every paper in
    the region, drawn or not.
    """
    x = view["x"].to_numpy(dtype=np.float64)
    y = view["y"].to_numpy(dtype=np.float64)
    if box is not None:
        x0, x1, y0, y1 = box
        inside = ((x >= min(x0, x1)) & (x <= max(x0, x1))
                  & (y >= min(y0, y1)) & (y <= max(y0, y1)))
    elif polygon is not None:
        px, py = (np.asarray(a, dtype=np.float64) for a in polygon)
        inside = np.zeros(len(x), dtype=bool)
        for i in range(len(px)):  # even-odd rule, one edge at a time over all points
            xa, ya, xb, yb = px[i - 1], py[i - 1], px[i], py[i]
            crosses = (ya > y) != (yb > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = xa + (y - ya) * (xb - xa) / (yb - ya)
            inside ^= crosses & (x < at)
    else:
        return np.empty(0, dtype=np.int64)
    return view.index.to_numpy()[inside]
