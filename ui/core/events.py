"""What a reader did to a chart or a table, read from Streamlit's selection events.

Plotly points carry an id in their ``customdata`` (a row position on maps, a
group id on the trends chart); tables report selected row positions. Events
come as objects or dicts depending on where they are read, and are untrusted:
anything malformed reads as "nothing selected". No streamlit import: these are
plain functions of the event.
"""

from __future__ import annotations

import numpy as np


def _selection(event: object) -> dict | None:
    """The ``selection`` part of a chart or table event (an object or a dict), if any."""
    selection = getattr(event, "selection", None)
    if selection is None and isinstance(event, dict):
        selection = event.get("selection")
    return selection or None


def point_id(point: object) -> int | None:
    """The id a Plotly point carries: its ``customdata``, or the first item of it.

    A point with several values of customdata reaches Python as a list, or (from the
    browser) as an object keyed by position, ``{"0": id, "1": ...}``.
    """
    data = point.get("customdata") if isinstance(point, dict) else None
    if isinstance(data, dict):
        data = data.get("0", data.get(0))
    if isinstance(data, list):
        data = data[0] if data else None
    if isinstance(data, (int, float, np.integer, np.floating)) and not isinstance(data, bool):
        return int(data) if np.isfinite(data) else None
    return None


def point_ids(event: object) -> list[int]:
    """The ids of every point in a chart's selection event, once each, in order."""
    selection = _selection(event)
    if not selection:
        return []
    ids = (point_id(p) for p in list(selection.get("points", []) or []))
    return list(dict.fromkeys(i for i in ids if i is not None))


def selected_rows_from_event(event: object) -> tuple[str, list[int]]:
    """Interpret a Plotly selection event: ("click", [row]), ("area", rows) or ("none", [])."""
    selection = _selection(event)
    if not selection:
        return "none", []
    rows = point_ids(event)
    if selection.get("box") or selection.get("lasso"):
        return "area", rows
    if len(rows) == 1:
        return "click", rows
    return ("area", rows) if rows else ("none", [])


def first_point(event: object) -> dict | None:
    """The first point of a chart's selection event, if any (a dict)."""
    selection = _selection(event)
    points = list(selection.get("points", []) or []) if selection else []
    return points[0] if points and isinstance(points[0], dict) else None


def clicked_id(event: object) -> int | None:
    """The id of the first point clicked or selected in a chart, if any."""
    ids = point_ids(event)
    return ids[0] if ids else None


def table_rows(event: object) -> list[int]:
    """Row positions selected in an ``st.dataframe`` (``on_select``) event."""
    selection = _selection(event)
    rows = getattr(selection, "rows", None)
    if rows is None and isinstance(selection, dict):
        rows = selection.get("rows")
    return [int(r) for r in (rows or []) if isinstance(r, int)]


def selection_region(event: object) -> dict[str, tuple]:
    """The box (``{"box": (x0, x1, y0, y1)}``) or lasso (``{"polygon": (xs, ys)}``) of a
    Plotly selection event, or ``{}`` when it has neither."""
    selection = _selection(event)
    if not selection:
        return {}
    try:
        for box in selection.get("box") or []:
            x, y = box.get("x") or [], box.get("y") or []
            if len(x) >= 2 and len(y) >= 2:
                return {"box": (float(x[0]), float(x[-1]), float(y[0]), float(y[-1]))}
        for lasso in selection.get("lasso") or []:
            x, y = lasso.get("x") or [], lasso.get("y") or []
            if len(x) >= 3 and len(x) == len(y):
                return {"polygon": (np.asarray(x, dtype=float), np.asarray(y, dtype=float))}
    except (TypeError, ValueError, AttributeError):
        return {}
    return {}
