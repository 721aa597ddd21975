"""Themes over time: shares per year and the emerging/declining rule, on data with known answers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline import load_map
from pipeline.errors import PipelineError
from pipeline.review.trends import TrendRule, slope_per_year, theme_trends, year_counts
from ui.figures.trends import (
    clicked_group,
    clicked_point,
    describe_years,
    shares_figure,
    shown_groups,
    thin_years,
)

APP = Path(__file__).resolve().parents[1] / "dashboard.py"


def synthetic(counts_by_year: dict[int, list[int]], undated: int = 0) -> pd.DataFrame:
    """Documents whose theme counts per year are exactly ``counts_by_year[year]``."""
    rows = []
    for year, counts in counts_by_year.items():
        for theme, n in enumerate(counts):
            rows += [{"year": float(year), "theme": theme, "cluster": theme}] * n
    rows += [{"year": np.nan, "theme": 0, "cluster": 0}] * undated
    frame = pd.DataFrame(rows)
    frame["id"] = [f"p{i}" for i in range(len(frame))]
    return frame


def clusters_table(n: int) -> pd.DataFrame:
    return pd.DataFrame({"level": ["theme"] * n, "id": range(n),
                         "label": [f"label {i}" for i in range(n)]})


# 100 papers a year, 2010-2019: theme 0 rises 4 points a year (10% -> 46%), theme 1 falls
# 4 points a year (50% -> 14%), theme 2 is flat at 36%, theme 3 rises 1 point a year but
# has only 0+1+2+3+4 = 10 papers in the 2015-2019 window. 2020 is a thin year (5 papers).
KNOWN = {2010 + i: [10 + 4 * i, 50 - 4 * i, 36 + 4 - max(0, i - 5), max(0, i - 5)]
         for i in range(10)}
KNOWN[2020] = [0, 5, 0, 0]


def test_known_trends_are_flagged_with_their_slopes():
    report = theme_trends(synthetic(KNOWN, undated=7), clusters_table(4))
    assert report.window_years == [2015, 2016, 2017, 2018, 2019]
    table = report.table.set_index("group")
    assert table.loc[0, "status"] == "emerging"
    assert table.loc[0, "slope_pp_per_year"] == pytest.approx(4.0)
    assert table.loc[0, "share_start"] == pytest.approx(0.30)
    assert table.loc[0, "share_end"] == pytest.approx(0.46)
    assert table.loc[1, "status"] == "declining"
    assert table.loc[1, "slope_pp_per_year"] == pytest.approx(-4.0)
    assert table.loc[2, "status"] == "declining"  # gives up exactly what theme 3 gains
    assert table.loc[2, "slope_pp_per_year"] == pytest.approx(-1.0)
    assert table.loc[3, "status"] == "too small"
    assert table.loc[3, "papers_in_window"] == 10
    assert report.undated == 7
    assert list(report.emerging["group"]) == [0]
    assert set(report.declining["group"]) == {1, 2}
    assert table.loc[0, "label"] == "label 0"


def test_min_slope_and_min_papers_decide():
    docs = synthetic(KNOWN)
    loose = theme_trends(docs, rule=TrendRule(min_papers=5)).table.set_index("group")
    assert loose.loc[3, "status"] == "emerging"  # +1 point a year, now big enough
    strict = theme_trends(docs, rule=TrendRule(min_slope=5.0)).table.set_index("group")
    assert set(strict["status"]) <= {"stable", "too small"}


def test_window_length_changes_the_years_fitted():
    report = theme_trends(synthetic(KNOWN), rule=TrendRule(window=3))
    assert report.window_years == [2017, 2018, 2019]


def test_year_range_restricts_the_papers():
    report = theme_trends(synthetic(KNOWN), years=(2010, 2014))
    assert report.counts.index.min() == 2010 and report.counts.index.max() == 2014
    assert report.window_years == [2010, 2011, 2012, 2013, 2014]
    table = report.table.set_index("group")
    assert table.loc[0, "slope_pp_per_year"] == pytest.approx(4.0)
    assert table.loc[2, "status"] == "stable"  # flat at 40% before 2015


def test_shares_add_up_to_one_per_year():
    report = theme_trends(synthetic(KNOWN))
    assert np.allclose(report.shares.sum(axis=1), 1.0)
    long = report.long()
    assert set(long.columns) == {"year", "group", "label", "papers", "share"}
    assert long["papers"].sum() == sum(sum(v) for v in KNOWN.values())


def test_too_few_years_flags_nothing():
    docs = synthetic({2020: [30, 30], 2021: [10, 50]})
    report = theme_trends(docs)
    assert report.window_years == []
    assert set(report.table["status"]) == {"too few years"}


def test_gap_years_are_zero_not_missing():
    counts = year_counts(synthetic({2010: [5, 5], 2013: [2, 8]}))
    assert counts.index.tolist() == [2010, 2011, 2012, 2013]
    assert counts.loc[2011].sum() == 0


def test_no_dates_is_a_clear_error():
    docs = synthetic({2010: [5]})
    docs["year"] = np.nan
    with pytest.raises(PipelineError, match="needs dated papers"):
        theme_trends(docs)


def test_bad_rule_is_refused():
    with pytest.raises(PipelineError, match="window"):
        theme_trends(synthetic(KNOWN), rule=TrendRule(window=2))


def test_slope_per_year():
    assert slope_per_year(np.array([1, 2, 3]), np.array([2.0, 4.0, 6.0])) == pytest.approx(2.0)
    assert slope_per_year(np.array([5, 5]), np.array([1.0, 3.0])) == 0.0


def test_runs_on_a_built_map(small_map):
    topic_map = load_map(small_map)
    report = theme_trends(topic_map.documents, topic_map.clusters,
                          rule=TrendRule(min_year_papers=5, min_papers=5))
    assert report.table["papers"].sum() == len(topic_map.documents)
    assert set(report.table["group"]) == set(topic_map.documents["theme"])
    assert report.table["label"].str.len().gt(0).all()
    cluster_report = theme_trends(topic_map.documents, topic_map.clusters, level="cluster")
    assert set(cluster_report.table["group"]) == set(topic_map.documents["cluster"])


def test_noise_group_is_never_flagged():
    docs = synthetic(KNOWN)
    docs["cluster"] = docs["theme"].replace({0: -1})  # the rising group is noise
    table = theme_trends(docs, level="cluster").table.set_index("group")
    assert table.loc[-1, "status"] == "noise" and table.loc[-1, "label"] == "noise"
    assert table.loc[1, "status"] == "declining"


def test_cli_trends(small_map, capsys, tmp_path):
    from pipeline.cli.main import main

    out_csv = tmp_path / "shares.csv"
    assert main(["trends", str(small_map), "--min-year-papers", "5", "--min-papers", "5",
                 "--csv", str(out_csv)]) == 0
    printed = capsys.readouterr().out
    assert "window" in printed and "slope" in printed
    shares = pd.read_csv(out_csv)
    assert set(shares.columns) == {"year", "group", "label", "papers", "share"}
    assert main(["trends", str(small_map), "--window", "2"]) == 2
    assert "window must be" in capsys.readouterr().err


# --------------------------------------------------------------------------- figures and page


def test_shares_figure_marks_flags_and_escapes_labels():
    clusters = clusters_table(4)
    clusters.loc[0, "label"] = "<img src=x onerror=alert(1)>"
    report = theme_trends(synthetic(KNOWN), clusters)
    groups = shown_groups(report, top=2)
    assert set(groups) == {0, 1, 2}  # every flagged group, even past ``top``
    fig = shares_figure(report, groups=groups, selected=1).to_dict()
    names = [t["name"] for t in fig["data"]]
    assert names[0].startswith("▲ ") and "<img" not in names[0] and "&lt;img" in names[0]
    assert any(n.startswith("▼ ") for n in names)
    assert all("<img" not in t["hovertemplate"] for t in fig["data"])
    thick = [t["line"]["width"] for t in fig["data"]]
    assert thick[groups.index(1)] == 4 and max(thick[:1]) == 2
    shapes = fig["layout"]["shapes"]
    assert shapes and shapes[0]["x0"] == 2014.5 and shapes[0]["x1"] == 2019.5
    assert clicked_group({"selection": {"points": [{"customdata": [2, 36]}]}}) == 2
    assert clicked_group({"selection": {"points": []}}) is None


def test_thin_years_are_gaps_and_a_point_says_its_year():
    """Issue 20, item 7: 2020 (5 papers, all of theme 1) plotted as a 100% share, and a
    click filtered the theme over every year."""
    report = theme_trends(synthetic(KNOWN), clusters_table(4))
    assert thin_years(report) == [2020]
    assert thin_years(theme_trends(synthetic({2010: [30], 2012: [25], 2013: [2]}))) == [2011, 2013]
    fig = shares_figure(report, groups=[0, 1])
    for group, trace in zip([0, 1], fig.data, strict=True):
        years = [int(y) for y in trace.x]
        assert np.isnan(trace.y[years.index(2020)])  # a gap, not 100%
        assert not np.isnan(trace.y[years.index(2019)])
        assert [int(v) for v in trace.customdata[years.index(2016)]][::2] == [group, 2016]
    assert list(fig.layout.xaxis.range) == [2009.5, 2019.5]
    assert clicked_point({"selection": {"points": [{"customdata": [1, 36, 2016]}]}}) == (1, 2016)
    assert clicked_point({"selection": {"points": [{"customdata": {"0": 1, "1": 3,
                                                                   "2": 2012}}]}}) == (1, 2012)
    assert clicked_point({"selection": {"points": []}}) is None
    assert describe_years([2001, 2003, 2004, 2005, 2008]) == "2001, 2003–2005 and 2008"


def n_points(trace: dict) -> int:
    """Points in a Plotly trace of the page's spec (customdata may be base64-packed)."""
    data = trace["customdata"]
    if isinstance(data, dict):
        return len(np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]))
    return len(data)


def test_themes_over_time_page(small_map, monkeypatch):
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(small_map.parent))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page("pages/5_Themes_over_time.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.number_input(key="tr_min_year").set_value(5).run()
    at.number_input(key="tr_min_papers").set_value(5).run()
    assert not at.exception
    table = at.dataframe[0].value
    topic_map = load_map(small_map)
    assert len(table) == len(topic_map.level("theme"))
    assert table["papers"].sum() == len(topic_map.documents)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert specs[0]["data"][0]["type"] == "scatter"
    # The charts: the shares, the map beside them, the papers per year.
    assert sum(n_points(t) for t in specs[1]["data"]) == len(topic_map.documents)
    # A click on a theme's line (kept by the page in session state) filters the map to it.
    theme = int(topic_map.level("theme")["id"].iloc[0])
    at.session_state["tr_selected"] = (theme, None)
    at.run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert sum(n_points(t) for t in spec["data"]) == int((topic_map.documents["theme"] == theme).sum())
    assert any(b.label == "Show all themes" for b in at.button)
    # The year slider filters the map too.
    at.slider(key="tr_years").set_value((2015, 2017)).run()
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    docs = topic_map.documents
    assert sum(n_points(t) for t in spec["data"]) == int(
        ((docs["theme"] == theme) & docs["year"].between(2015, 2017)).sum())
    # A point of a line is that theme in that year (issue 20, item 7), with a way back to
    # all its years.
    at.session_state["tr_selected"] = (theme, 2016)
    at.run()
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert sum(n_points(t) for t in spec["data"]) == int(
        ((docs["theme"] == theme) & (docs["year"] == 2016)).sum())
    at.button(key="tr_all_years").click().run()
    assert at.session_state["tr_selected"] == (theme, None)
