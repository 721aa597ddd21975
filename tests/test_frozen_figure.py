"""Figures serialized once for every session (ui.app.frozen)."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io
import plotly.tools

from ui.app.frozen import FrozenFigure, freeze


def figure(n: int = 50) -> go.Figure:
    rng = np.random.default_rng(0)
    return go.Figure(data=[{"type": "scattergl", "x": rng.normal(size=n).astype(np.float32),
                            "y": rng.normal(size=n).astype(np.float32),
                            "hovertext": np.array([f"<b>{i}</b>" for i in range(n)], dtype=object),
                            "customdata": np.arange(n, dtype=np.int32)}],
                     layout={"height": 500}, _validate=False)


def test_a_frozen_figure_serializes_as_before_and_only_once(monkeypatch):
    plain = figure()
    expected = plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(
        plain, validate_figure=True), validate=False)
    frozen = freeze(figure())
    assert isinstance(frozen, FrozenFigure)
    # What st.plotly_chart does with it, run by run: the same dict, the same JSON.
    spec = plotly.tools.return_figure_from_figure_or_data(frozen, validate_figure=True)
    assert spec is plotly.tools.return_figure_from_figure_or_data(frozen, validate_figure=True)
    assert json.loads(plotly.io.to_json(spec, validate=False)) == json.loads(expected)
    calls = []
    monkeypatch.setattr("json.dumps", lambda *a, **k: calls.append(1) or "x")
    assert plotly.io.to_json(spec, validate=False) != "x"  # not encoded again
    assert calls == []
    monkeypatch.undo()
    # Any other figure is encoded as usual.
    other = plain.to_dict()
    assert plotly.io.to_json(other, validate=False) == expected
