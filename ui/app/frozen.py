"""Figures serialized once for every session that shows them.

``st.plotly_chart`` copies a figure to a dict and encodes it as JSON on every run that
draws it: on the 9,852-paper map that is 6 MB and about 0.08 s of the one server
process's time, for every reader opening the map page, though the figure (made once per
map: ``ui.app.loaders.main_figure``) is the same for all of them. :func:`freeze` does the
copy and the encoding once; Plotly's ``to_json`` is wrapped to hand back that encoding for
such a figure, and to encode any other as before. Read-only, like the figures it holds.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import plotly.graph_objects as go
import plotly.io

_LOCK = threading.Lock()
_ENCODED: dict[int, tuple[dict, str]] = {}  # id(the figure's dict) -> (the dict, its JSON)
_ORIGINAL: list[Callable[..., str]] = []


class FrozenFigure(go.Figure):
    """A figure whose dict and JSON are made once (:func:`freeze`); do not change it."""

    _frozen: dict | None = None

    def to_dict(self) -> dict:
        """The dict made when the figure was frozen (a copy of it, before)."""
        return self._frozen if self._frozen is not None else super().to_dict()


def freeze(fig: go.Figure) -> FrozenFigure:
    """``fig`` as a :class:`FrozenFigure`, its dict and JSON made now, once."""
    _wrap_to_json()
    frozen = FrozenFigure(fig, skip_invalid=True, _validate=False)
    spec = go.Figure.to_dict(frozen)
    encoded = _ORIGINAL[0](spec, validate=False)
    frozen._frozen = spec
    with _LOCK:
        _ENCODED[id(spec)] = (spec, encoded)
    weakref.finalize(frozen, _forget, id(spec))
    return frozen


def _forget(key: int) -> None:
    with _LOCK:
        _ENCODED.pop(key, None)


def _wrap_to_json() -> None:
    """Make ``plotly.io.to_json`` answer a frozen figure's dict with its JSON (once)."""
    with _LOCK:
        if _ORIGINAL:
            return
        _ORIGINAL.append(plotly.io.to_json)

        def to_json(fig: object, *args: object, **kwargs: object) -> str:
            with _LOCK:
                known = _ENCODED.get(id(fig))
            if known is not None and known[0] is fig and not args and \
                    set(kwargs) <= {"validate"}:
                return known[1]
            return _ORIGINAL[0](fig, *args, **kwargs)

        plotly.io.to_json = to_json
