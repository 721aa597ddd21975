"""A topic's map in the drill-down: fitted to its papers (``ui.core.drill.fit_box``) and its
sub-topics named beside their papers (``ui.core.beside``); issue 20, item 6."""

from __future__ import annotations

import numpy as np

from ui.core.beside import beside, name_size
from ui.core.drill import fit_box


def blob(centre, n, spread=1.0, seed=0):
    return np.random.default_rng(seed).normal(centre, spread, size=(n, 2))


def test_a_few_strays_do_not_stretch_the_view_but_a_group_of_them_does():
    core = blob((0, 0), 300)
    strays = np.array([[60.0, 60.0], [61.0, 59.0], [-70.0, 5.0]])
    box, outside = fit_box(*np.vstack([core, strays]).T)
    assert 3 <= outside <= 3 + 0.03 * len(core)  # the strays, and a fringe paper or two
    assert box[1] - box[0] < 12 and box[3] - box[2] < 12  # the core's spread, not 130
    group = blob((40, 0), 30, spread=0.5, seed=1)  # a small group of its own stays in view
    box, outside = fit_box(*np.vstack([core, group]).T)
    assert outside <= 0.03 * len(core) and box[1] > 40
    assert fit_box(np.array([1.0, 2.0]), np.array([3.0, 4.0]))[1] == 0  # tiny: all of it


def test_names_go_beside_their_papers_and_not_on_each_other():
    points = np.vstack([blob((0, 0), 200), blob((8, 0), 200, seed=1)])
    owner = ["layer_1:0"] * 200 + ["layer_1:1"] * 200
    labels = [{"k": "layer_1:0", "t": "Left topic", "s": 200, "x": 0.0, "y": 0.0, "d": 1},
              {"k": "layer_1:1", "t": "Right topic", "s": 200, "x": 8.0, "y": 0.0, "d": 1},
              {"k": "layer_1:9", "t": "No papers", "s": 5, "x": 3.0, "y": 3.0, "d": 1}]
    view = [-4.0, 12.0, -4.0, 4.0]
    placed = {L["k"]: L for L in beside(labels, points, owner, view)}
    per_px = np.array([16.0 / 620, 8.0 / 512])
    boxes = {}
    for key, item in placed.items():
        half = np.array(name_size(item["t"])) / 2 * per_px
        boxes[key] = (item["x"] - half[0], item["x"] + half[0], item["y"] - half[1],
                      item["y"] + half[1])
        x0, x1, y0, y1 = boxes[key]
        assert view[0] <= x0 and x1 <= view[1] and view[2] <= y0 and y1 <= view[3]
    for key in ("layer_1:0", "layer_1:1"):
        x0, x1, y0, y1 = boxes[key]
        covered = ((points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0)
                   & (points[:, 1] <= y1)).sum()
        at_centre = (np.abs(points - [placed[key]["x"], 0]) < [x1 - x0, y1 - y0]).all(axis=1)
        assert covered <= 0.02 * len(points) < at_centre.sum(), key  # beside, not on them
    a, b = boxes["layer_1:0"], boxes["layer_1:1"]
    assert a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2]
    assert placed["layer_1:9"]["x"] == 3.0  # no papers of its own: left where it was
