"""Levels put into words (issue 20, item 9: the UI said "16 layer 1", "A layer 1 of 1,146
papers")."""

from __future__ import annotations

import pandas as pd
import pytest

from ui.core.drill import describe
from ui.core.wording import a_topic, count_of, level_noun


@pytest.mark.parametrize(("level", "n", "words"), [
    ("theme", 4, "4 themes"), ("theme", 1, "1 theme"), ("cluster", 70, "70 clusters"),
    ("layer_1", 16, "16 topics in layer 1"), ("layer_2", 1, "1 topic in layer 2"),
    ("layer_1", 1146, "1,146 topics in layer 1"),
])
def test_counts_read_naturally(level, n, words):
    assert count_of(n, level) == words


def test_one_topic_reads_naturally():
    assert [a_topic(lv) for lv in ("theme", "layer_1", "cluster")] == [
        "a theme", "a topic in layer 1", "a cluster"]
    assert level_noun("venue", 2) == "venues"


def test_the_drill_down_describes_a_topic_in_words():
    row = pd.Series({"level": "layer_1", "size": 1146})
    text = describe(row, 5, "cluster")
    assert text.startswith("A topic in layer 1 with 1,146 papers"), text
    assert "5 sub-topics" in text and "layer 1 of" not in text.lower()
    theme = describe(pd.Series({"level": "theme", "size": 3359}), 4, "layer_1")
    assert theme.startswith("A theme with 3,359 papers · 4 sub-topics in the next layer "
                            "(topics in layer 1)"), theme


def test_the_trends_table_names_its_level_in_words():
    from pipeline.review.trends import theme_trends
    from ui.app.tables import trends_frame

    docs = pd.DataFrame({"year": [2020.0, 2021.0] * 10, "layer_1": [0, 1] * 10,
                         "cluster": [0, 1] * 10, "theme": [0] * 20,
                         "id": [f"p{i}" for i in range(20)]})
    table = trends_frame(theme_trends(docs, level="layer_1").table, "layer_1")
    assert "topic in layer 1" in table.columns and "layer_1" not in table.columns
