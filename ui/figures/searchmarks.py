"""Search results on the map: what the browser needs to mark them (``ui/static/searchmarks.js``)
and the view the map goes to. No streamlit.

The browser rings each hit's paper and writes its rank in a badge beside it, each badge
in the nearest place no other badge takes (rank 1 first), with a line to its paper when it
had to move: ranks stay readable when hits lie close together. A new search moves the map
to its results (:func:`result_view`); the figure itself is not sent again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ui.core.drill import fit_box

#: A view of the results spans at least this share of the map's extent on each axis, so
#: hits close together are shown with what surrounds them.
MIN_SHARE = 0.25
#: Space around the results, as a share of the view.
PAD = 0.12


def map_extent(documents: pd.DataFrame) -> list[float]:
    """``[x0, x1, y0, y1]`` of the map's papers but its strays (``ui.core.drill.fit_box``):
    a few papers far out do not make every view of results a view of the whole map."""
    return fit_box(documents["x"].to_numpy(float), documents["y"].to_numpy(float), pad=0.0)[0]


def result_view(xs: Sequence[float], ys: Sequence[float], extent: Sequence[float], *,
                min_share: float = MIN_SHARE, pad: float = PAD) -> list[float]:
    """The view ``[x0, x1, y0, y1]`` that shows every hit at ``xs``, ``ys`` with room
    around it: their box, widened to ``min_share`` of the map's ``extent`` on each axis
    (about its middle), padded by ``pad`` on each side, and kept inside the map's extent
    where it is smaller."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if not len(xs):
        return [float(v) for v in extent]
    box = []
    for values, (low, high) in ((xs, extent[:2]), (ys, extent[2:])):
        low, high = float(low), float(high)
        lo, hi = float(values.min()), float(values.max())
        span = max(hi - lo, min_share * (high - low), 1e-9)
        half = span * (0.5 + pad)
        middle = (lo + hi) / 2
        # moved back inside the map where the view is smaller than the map (hits near
        # its edge are then off centre, not beside empty space)
        if 2 * half < high - low:
            middle = min(max(middle, low + half), high - half)
        box += [middle - half, middle + half]
    return box


def marks_payload(documents: pd.DataFrame, rows: Sequence[int], *,
                  zoom: dict | None = None) -> dict:
    """The browser's data for the marks of a search's hits (``rows``, best first): where
    each is and its rank (``{"x", "y", "n", "r"}``), and a one-off zoom
    (``{"seq": n, "box": [x0, x1, y0, y1]}``) the map applies once per ``seq``."""
    rows = np.asarray(rows, dtype=np.int64)
    xs = documents["x"].to_numpy(float)[rows] if len(rows) else []
    ys = documents["y"].to_numpy(float)[rows] if len(rows) else []
    hits = [{"x": round(float(x), 5), "y": round(float(y), 5), "n": i + 1, "r": int(r)}
            for i, (x, y, r) in enumerate(zip(xs, ys, rows, strict=True))]
    return {"hits": hits, "zoom": dict(zoom) if zoom else None}
