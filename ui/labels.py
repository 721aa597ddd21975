"""Where the names of topics go on a map: readable tags that do not cover each other.

No streamlit import. :func:`label_annotations` turns label positions
(``ui.view.label_positions``) into Plotly annotations, biggest groups first,
nudging or leaving out a tag that would cover one already placed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .escape import wrap_html

FONT = "Inter, 'Source Sans Pro', 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

#: Plot size in pixels assumed when keeping labels apart (the real one varies a little).
LABEL_CANVAS = (640, 620)
#: Vertical shifts, in label heights, tried in turn when a label would cover another.
_SHIFTS = (0.0, -1.05, 1.05, -2.1, 2.1)


def label_annotations(labels: pd.DataFrame, size: int, *, view: pd.DataFrame | None = None,
                       ) -> list[dict]:
    """Readable name tags: biggest groups first; a tag that would cover an earlier one is
    nudged up or down, and left out if no nudge frees it (hover still names every point)."""
    if labels.empty:
        return []
    xs, ys = labels["x"].to_numpy(float), labels["y"].to_numpy(float)
    ref_x = view["x"].to_numpy(float) if view is not None and len(view) else xs
    ref_y = view["y"].to_numpy(float) if view is not None and len(view) else ys
    x0, x1 = float(np.min(ref_x)), float(np.max(ref_x))
    y0, y1 = float(np.min(ref_y)), float(np.max(ref_y))
    width_px, height_px = LABEL_CANVAS
    sx = width_px / (x1 - x0) if x1 > x0 else 1.0
    sy = height_px / (y1 - y0) if y1 > y0 else 1.0
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for row in labels.itertuples(index=False):
        text = wrap_html(row.label, width=20, max_lines=2)
        lines = text.count("<br>") + 1
        longest = max(len(part) for part in str(row.label)[:40].split()) if str(row.label) \
            else 1
        chars = min(20, max(longest, len(str(row.label)) // lines + 1))
        w = chars * size * 0.6 + 8
        h = lines * size * 1.25 + 6
        cx, cy = (row.x - x0) * sx, (row.y - y0) * sy
        for shift in _SHIFTS:
            box = (cx - w / 2, cy + shift * h - h / 2, cx + w / 2, cy + shift * h + h / 2)
            if not any(_overlap(box, other) for other in placed):
                break
        else:
            continue
        placed.append(box)
        out.append({
            "x": float(row.x), "y": float(row.y), "xref": "x", "yref": "y",
            "yshift": round(shift * h, 1),
            "text": "<b>" + text + "</b>",
            "showarrow": False, "font": {"size": size, "color": "#111827", "family": FONT},
            "bgcolor": "rgba(255,255,255,0.84)", "bordercolor": "rgba(17,24,39,0.22)",
            "borderwidth": 1, "borderpad": 3, "opacity": 0.96,
        })
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

