"""Where the names of topics go on a map: readable tags that do not cover each other.

No streamlit import. :func:`label_annotations` turns label positions
(``ui.core.view.label_positions``) into Plotly annotations, biggest groups first,
nudging or leaving out a tag that would cover one already placed.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ui.core.escape import ELLIPSIS, clean, escape

FONT = "Inter, 'Source Sans Pro', 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

#: Width in pixels assumed for a map when keeping its names apart: about the narrowest it
#: is drawn (the drill-down's map column on a 1280-pixel screen). Its height is known:
#: the figure's, less the margins (:data:`MARGIN`, each side).
PLOT_WIDTH = 600
MARGIN = 4
#: Plotly's autorange pads the data by 5% on each side of each axis.
_AUTORANGE = 1.1
#: Vertical shifts, in label heights, tried in turn when a label would cover another.
_SHIFTS = (0.0, -1.05, 1.05, -2.1, 2.1)
_LINE_CHARS = 20
_BORDER = 3 + 1  # borderpad + borderwidth, each side


def label_lines(label: object) -> list[str]:
    """The lines a name tag is written in (at most two of about 20 characters)."""
    text = " ".join(clean(label).split())
    lines = textwrap.wrap(text, width=_LINE_CHARS, break_long_words=True,
                          break_on_hyphens=False) or [""]
    if len(lines) > 2:
        lines = [lines[0], lines[1].rstrip() + ELLIPSIS]
    return lines


def label_annotations(labels: pd.DataFrame, size: int, *, view: pd.DataFrame | None = None,
                      height: int = 640, width: int = PLOT_WIDTH) -> list[dict]:
    """Readable name tags: biggest groups first; a tag that would cover an earlier one is
    nudged up or down, and left out if no nudge frees it (hover still names every point).

    ``height`` is the figure's height and ``width`` the plot's assumed width, in pixels:
    tags are kept apart at the size they are drawn.
    """
    if labels.empty:
        return []
    xs, ys = labels["x"].to_numpy(float), labels["y"].to_numpy(float)
    ref_x = view["x"].to_numpy(float) if view is not None and len(view) else xs
    ref_y = view["y"].to_numpy(float) if view is not None and len(view) else ys
    x0, x1 = float(np.min(ref_x)), float(np.max(ref_x))
    y0, y1 = float(np.min(ref_y)), float(np.max(ref_y))
    # Pixels per data unit: the data fill the plot less Plotly's padding of the ranges.
    sx = (width - 2 * MARGIN) / _AUTORANGE / (x1 - x0) if x1 > x0 else 1.0
    sy = (height - 2 * MARGIN) / _AUTORANGE / (y1 - y0) if y1 > y0 else 1.0
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for row in labels.itertuples(index=False):
        lines = label_lines(row.label)
        # Bold text in the map's font: about 0.62 of the font size per character.
        w = max(len(line) for line in lines) * size * 0.62 + 2 * _BORDER + 2
        h = len(lines) * size * 1.3 + 2 * _BORDER + 2
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
            "text": "<b>" + "<br>".join(escape(line, "html") for line in lines) + "</b>",
            "showarrow": False, "font": {"size": size, "color": "#111827", "family": FONT},
            "bgcolor": "rgba(255,255,255,0.84)", "bordercolor": "rgba(17,24,39,0.22)",
            "borderwidth": 1, "borderpad": 3, "opacity": 0.96,
        })
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

