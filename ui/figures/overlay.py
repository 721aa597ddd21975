"""What the browser needs to write topic names that follow the zoom and to dim papers a
filter leaves out (``ui/static/zoomlabels.js``). No streamlit import.

- :func:`label_payload`: every node of every layer with its name, position, depth,
  size, spread and colour; built once per map (and names), the same for every session.
- :func:`view_state`: what changes with the reader's filters: which papers pass (a bit
  per paper), how many of each node's papers, which names must stay on the map.
- :func:`export_script`: the same JavaScript for the offline HTML export (Plotly's
  ``post_script``), with the payload as an inert JSON literal.

Names are cleaned here (control characters, length) but not escaped: the script sets
them with ``textContent``, so markup in a name is shown as the characters it is.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ui.core.escape import clean
from ui.core.nodes import node_geometry, visible_counts
from ui.core.view import label_positions

from .map import THEME_PALETTE, shade, theme_colours
from .nametags import FONT

STATIC = Path(__file__).resolve().parent.parent / "static"
LABEL_CHARS = 60
ZOOM_MODE = "zoom"
NO_LABELS = "none"


@lru_cache(maxsize=4)
def static_js(name: str) -> str:
    """A script of ``ui/static`` (read once per process)."""
    return (STATIC / name).read_text(encoding="utf-8")


def overlay_js() -> str:
    """The overlay's script: where names go (``namelayout.js``) and the rest
    (``zoomlabels.js``: names, dimming, zoom; ``window.TopicMapOverlay``)."""
    return static_js("namelayout.js") + "\n" + static_js("zoomlabels.js")


def label_payload(documents: pd.DataFrame, nodes: pd.DataFrame) -> dict:
    """Every node's name and where to write it (``ui.core.nodes.node_table`` order).

    A node's name sits where :func:`ui.core.view.label_positions` puts it over all its papers
    (the median of its largest finest cluster), else at the map's own position for it.
    """
    geometry = node_geometry(documents, nodes)
    missing = np.full(len(nodes), np.nan)
    x = nodes["x"].astype(float).to_numpy().copy() if "x" in nodes else missing.copy()
    y = nodes["y"].astype(float).to_numpy().copy() if "y" in nodes else missing.copy()
    for level, rows in nodes.groupby("level", sort=False):
        placed = label_positions(documents, nodes[nodes["level"] == level], str(level))
        if placed.empty:
            continue
        where = placed.set_index("id")
        ids = rows["id"].to_numpy()
        known = np.isin(ids, where.index.to_numpy())
        x[rows.index.to_numpy()[known]] = where.loc[ids[known], "x"].to_numpy(float)
        y[rows.index.to_numpy()[known]] = where.loc[ids[known], "y"].to_numpy(float)
    base = theme_colours(sorted(set(nodes["theme"].astype(int))))
    levels = nodes.sort_values("depth")["level"].drop_duplicates().tolist()
    labels = []
    for i, row in enumerate(nodes.itertuples(index=False)):
        g = geometry.iloc[i]
        colour = base.get(int(row.theme), THEME_PALETTE[0])
        labels.append({
            "k": str(row.key), "l": str(row.level), "t": clean(row.label, limit=LABEL_CHARS),
            "pk": f"{levels[row.depth - 1]}:{int(row.parent)}" if row.depth > 0 else "",
            "x": _num(x[i]), "y": _num(y[i]), "d": int(row.depth), "s": int(row.size),
            "c": shade(colour, -0.2 if row.depth == 0 else -0.12),
            "rx": _num(g["rx"], 0.0), "ry": _num(g["ry"], 0.0),
            "b": [_num(g[c]) for c in ("x0", "x1", "y0", "y1")],
            # a weak offline name is drawn in italics (a model's name is not judged)
            "w": bool(row.weak_name) and not bool(getattr(row, "alt_name", False)),
            "f": bool(row.fragile),
        })
    xs, ys = documents["x"].to_numpy(float), documents["y"].to_numpy(float)
    extent = ([float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())]
              if len(xs) else [0.0, 1.0, 0.0, 1.0])
    payload = {"extent": extent, "font": FONT, "labels": labels}
    digest = hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
    return {"id": digest, **payload}


def tree_rows(nodes: pd.DataFrame) -> list[dict]:
    """The topic tree's rows (``nodes``' order, broad to fine), the same for every session:
    key, parent key, name, the offline name and key phrases as its provenance, size and
    flags (``ui/static/topictree.js``; the visible papers, ``v``, are added per view)."""
    levels = nodes.sort_values("depth")["level"].drop_duplicates().tolist()
    rows = []
    for row in nodes.itertuples(index=False):
        depth = int(row.depth)
        parent = f"{levels[depth - 1]}:{int(row.parent)}" if depth > 0 else ""
        phrases = getattr(row, "terms", None)  # a map's nodes have them; a bare table may not
        terms = [clean(t, limit=40) for t in list(phrases)[:6]] if phrases is not None else []
        rows.append({
            "k": str(row.key), "p": parent, "d": depth, "t": clean(row.label, limit=LABEL_CHARS),
            "o": clean(row.offline_label, limit=LABEL_CHARS) if row.alt_name else "",
            "desc": clean(row.description, limit=240) if row.alt_name else "",
            "terms": terms, "s": int(row.size), "v": None,
            "w": bool(row.weak_name), "f": bool(row.fragile)})
    return rows


def tree_colours(nodes: pd.DataFrame) -> dict[str, str]:
    """Each node's swatch in the tree: its theme's hue, lighter the finer it is."""
    base = theme_colours(sorted(set(nodes["theme"].astype(int))))
    return {str(k): shade(base[int(t)], 0.0 if d == 0 else 0.12 * min(d, 3))
            for k, t, d in zip(nodes["key"], nodes["theme"], nodes["depth"], strict=True)}


def _num(value: object, default: float | None = None) -> float | None:
    value = float(value)
    return round(value, 5) if np.isfinite(value) else default


def mask_bits(mask: np.ndarray | None) -> str | None:
    """A boolean per paper as base64 bits (little-endian within each byte); ``None`` when
    every paper passes."""
    if mask is None or bool(np.all(mask)):
        return None
    return base64.b64encode(np.packbits(np.asarray(mask, dtype=bool),
                                        bitorder="little").tobytes()).decode("ascii")


def view_state(documents: pd.DataFrame, nodes: pd.DataFrame, mask: np.ndarray | None, *,
               focus: Sequence[str] = (), reveal: Sequence[str] = (), mode: str = ZOOM_MODE,
               zoom: Mapping | None = None, counts: np.ndarray | None = None) -> dict:
    """The reader's side of the overlay: papers that pass, visible papers per node (in
    ``nodes``' order), names kept on the map (``focus`` keys), names shown whatever the
    zoom where there is room (``reveal``: the sub-topics of the topic in focus), the label
    mode (``"zoom"``, a level, or ``"none"``) and a one-off zoom
    (``{"seq": n, "box": [x0, x1, y0, y1]}``); ``counts``: the visible papers per node,
    when the caller has them already."""
    bits = mask_bits(mask)
    if bits is not None and counts is None:
        counts = visible_counts(documents, nodes, mask)
    return {"mask": bits, "counts": None if bits is None else counts.tolist(), "focus": list(focus), "reveal": list(reveal),
            "mode": mode, "zoom": dict(zoom) if zoom else None}


def _inert_json(value: object) -> str:
    """JSON that can sit inside a ``<script>``: nothing in it can end the script or
    start markup (``<``, ``>``, ``&`` and line separators as ``\\u`` escapes)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def export_script(payload: dict, state: dict) -> str:
    """The overlay for the standalone HTML map: run by Plotly once the plot is drawn."""
    return (overlay_js() + "\nwindow.TopicMapOverlay.attach('export', "
            "document.getElementById('{plot_id}'), " + _inert_json(payload) + ", "
            + _inert_json(state) + ");\n")
