"""Quality at matched granularity (``pipeline.bench.matched``): what is paired with what."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.bench.matched import holds, matched_round, nearest_layer, summarize


def test_nearest_layer_is_nearest_on_a_log_scale():
    assert nearest_layer([28, 7, 4], 9) == 1  # 7 is nearer 9 than 28 or 4
    assert nearest_layer([28, 7, 4], 14) == 1  # as far from 7 as from 28: the coarser
    assert nearest_layer([28, 7, 4], 20) == 0
    assert nearest_layer([28, 7, 4], 2) == 2
    with pytest.raises(ValueError):
        nearest_layer([], 3)


def _round(seed: int):
    rng = np.random.default_rng(seed)
    reference = np.repeat(np.arange(4), 30)
    space = reference[:, None] + 0.1 * rng.normal(size=(120, 2))
    fine = reference * 2 + (np.arange(120) % 2)  # 8 nodes, each inside one class
    ours = {"cluster": fine, "theme": reference.copy()}
    theirs = rng.integers(0, 12, 120)  # 12 random topics
    theirs[:10] = -1
    reduced = {4: rng.integers(0, 4, 120)}  # BERTopic reduced to our theme's 4 nodes
    return matched_round(reference, ours, space, their_reference=reference, theirs=theirs,
                         their_space=space, reduced=reduced)


def test_each_layer_meets_bertopic_reduced_to_its_count_and_bertopic_its_nearest_layer():
    rows = _round(0)
    by_match = {row["match"]: row for row in rows}
    assert set(by_match) == {"cluster", "theme", "bertopic"}
    assert by_match["cluster"]["bertopic"] is None  # no BERTopic reduction to 8 topics
    assert by_match["theme"]["ours"]["nodes"] == by_match["theme"]["bertopic"]["nodes"] == 4
    assert by_match["theme"]["ours"]["nmi"] == pytest.approx(1.0)
    assert by_match["theme"]["bertopic"]["nmi"] < 0.2  # random topics
    own = by_match["bertopic"]
    assert own["level"] == "cluster" and own["bertopic"]["nodes"] == 12  # 8 is nearer 12
    assert own["bertopic"]["noise"] == pytest.approx(10 / 120)
    assert own["bertopic"]["nmi_reassigned"] != own["bertopic"]["nmi"]


def test_rounds_are_averaged_and_the_bar_compares_paired_rows_only():
    rows = summarize([_round(0), _round(1)])
    theme = next(r for r in rows if r["match"] == "theme")
    assert theme["rounds"] == 2 and theme["ours"]["nodes"] == [4, 4]
    assert theme["ours"]["nmi_sd"] == pytest.approx(0.0)
    assert theme["bertopic"]["nmi_sd"] > 0
    assert holds(rows) is True  # ours wins every paired row; the unpaired one is left out
    worse = [dict(r, ours=dict(r["ours"], nmi=0.0)) if r["match"] == "theme" else r
             for r in rows]
    assert holds(worse) is False
    assert holds([r for r in rows if r["bertopic"] is None]) is None


def test_our_layers_alone_without_bertopic():
    reference = np.repeat(np.arange(3), 10)
    rows = matched_round(reference, {"theme": reference}, np.zeros((30, 2)))
    assert [r["match"] for r in rows] == ["theme"] and rows[0]["bertopic"] is None
