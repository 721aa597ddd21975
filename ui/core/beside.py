"""Names written beside a topic's points, not on them: where the drill-down's map writes
its sub-topics' names (issue 20, item 6: names covered the topic). No streamlit.

The browser writes a name centred on its position (``ui/static/zoomlabels.js``); at the
centre of a sub-topic's papers it hides the densest of them. :func:`beside` moves each
name to whichever of a few places around its papers (above, below, right, left, or the
centre) covers the fewest papers and no name placed before it, inside the view; larger
sub-topics choose first. The places are around the name's core: the half of its papers
nearest the middle of its largest cluster (where the name was). Sizes are estimated in pixels of the drill-down's plot, from
the name's length and the font the browser writes a second layer's names in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: The browser's second layer of names: about this many pixels a character, this many a
#: line, wrapped at this width (11em of 13.5 px); a gap between a name and its papers.
CHAR_PX, LINE_PX, WRAP_PX, GAP_PX = 7.6, 16.0, 148.0, 5.0
#: The drill-down map's plot area (its height is fixed; its width is the column's at a
#: common window width).
PLOT_PX = (620.0, 512.0)


def name_size(text: str) -> tuple[float, float]:
    """Estimated width and height (pixels) of a name as the browser wraps it."""
    width = CHAR_PX * len(text)
    lines = max(1, math.ceil(width / WRAP_PX))
    return min(width, WRAP_PX), LINE_PX * lines


def beside(labels: Sequence[dict], points: np.ndarray, owner: Sequence[str],
           view: Sequence[float], *, plot_px: tuple[float, float] = PLOT_PX) -> list[dict]:
    """``labels`` (overlay items with ``k``, ``t``, ``s``, ``x``, ``y``) moved beside the
    papers they name. ``points`` are the topic's papers (x, y), ``owner`` the key of the
    label each paper belongs to ("" for none), ``view`` the box the map opens on
    ``[x0, x1, y0, y1]``. Labels whose key owns no paper keep their place."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    owner = np.asarray(owner, dtype=object)
    x0, x1, y0, y1 = (float(v) for v in view)
    per_px = np.array([(x1 - x0) / plot_px[0], (y1 - y0) / plot_px[1]])
    placed: list[np.ndarray] = []  # [left, right, bottom, top] in data units
    moved = {}
    for item in sorted(labels, key=lambda L: (-int(L.get("s", 0)), str(L["k"]))):
        mine = points[owner == item["k"]]
        if not len(mine):
            continue
        half = np.array(name_size(str(item["t"]))) / 2 * per_px
        gap = GAP_PX * per_px
        # Its core: the half of its papers nearest where its name was (the middle of its
        # largest cluster), so a scattered sub-topic is named beside its main group.
        anchor = np.array([float(item["x"]), float(item["y"])])
        if np.isfinite(anchor).all():
            near = np.hypot(*((mine - anchor) / per_px).T)
            mine = mine[near <= np.quantile(near, 0.5)]
        low, mid, high = np.quantile(mine, [0.05, 0.5, 0.95], axis=0)
        candidates = [
            (mid[0], high[1] + half[1] + gap[1]),  # above
            (mid[0], low[1] - half[1] - gap[1]),  # below
            (high[0] + half[0] + gap[0], mid[1]),  # right
            (low[0] - half[0] - gap[0], mid[1]),  # left
            (float(item["x"]), float(item["y"])),  # where it was: the centre of its papers
        ]
        best, best_cost = None, math.inf
        for cx, cy in candidates:
            # kept inside the view, as the browser keeps it inside the plot
            cx = min(max(cx, x0 + half[0]), x1 - half[0])
            cy = min(max(cy, y0 + half[1]), y1 - half[1])
            box = np.array([cx - half[0], cx + half[0], cy - half[1], cy + half[1]])
            covered = int(((points[:, 0] >= box[0]) & (points[:, 0] <= box[1])
                           & (points[:, 1] >= box[2]) & (points[:, 1] <= box[3])).sum())
            clash = any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3]
                        for b in placed)
            cost = covered + (10 * len(points) if clash else 0)
            if cost < best_cost:
                best, best_cost = (cx, cy, box), cost
        cx, cy, box = best
        placed.append(box)
        moved[item["k"]] = (round(float(cx), 5), round(float(cy), 5))
    return [{**L, "x": moved[L["k"]][0], "y": moved[L["k"]][1]} if L["k"] in moved else dict(L)
            for L in labels]
