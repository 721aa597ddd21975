"""Themes over time: each theme's share of the papers per year, emerging and declining themes.

Click a point of a line to show that theme alone on the map below; the year
slider filters both. The rule is ``pipeline.trends``' (stated on the page).
"""

from __future__ import annotations

import streamlit as st

from pipeline.errors import PipelineError
from pipeline.trends import TrendRule, theme_trends
from ui import state
from ui.escape import escape
from ui.figures import cluster_colours, map_figure, theme_colours
from ui.loaders import map_assets
from ui.trends_figures import clicked_group, papers_per_year_figure, shares_figure, shown_groups
from ui.view import year_bounds
from ui.widgets import map_picker, open_current_map, overview

st.set_page_config(page_title="Themes over time · Topic map", page_icon="📈", layout="wide")

topic_map, map_path = open_current_map()
map_picker(map_path)
assets = map_assets(map_path)
docs = topic_map.documents

st.markdown("## Themes over time")
bounds = year_bounds(docs)
if not bounds or bounds[0] == bounds[1]:
    st.info("This map's papers have no years (or a single one), so there is nothing to show "
            "over time. Give the input a year or date column and rebuild the map.")
    st.stop()

sidebar = st.sidebar
sidebar.header("Time")
years = sidebar.slider("Years", bounds[0], bounds[1], value=bounds, key="tr_years")
level = sidebar.radio("Group by", ["theme", "cluster"], horizontal=True, key="tr_level",
                      format_func={"theme": "Themes", "cluster": "Clusters"}.get)
with sidebar.expander("Rule for emerging and declining"):
    window = st.number_input("Years fitted (last N)", 3, 30, 5, key="tr_window")
    min_year = st.number_input("A year counts with at least … papers", 1, 10_000, 20,
                               key="tr_min_year")
    min_papers = st.number_input("A theme needs … papers in those years", 1, 100_000, 20,
                                 key="tr_min_papers")
    min_slope = st.number_input("Flag at a slope of … points a year", 0.1, 50.0, 1.0, step=0.1,
                                key="tr_min_slope")
rule = TrendRule(window=int(window), min_year_papers=int(min_year), min_papers=int(min_papers),
                 min_slope=float(min_slope))
try:
    report = theme_trends(docs, topic_map.clusters, level=level, rule=rule,
                          years=(int(years[0]), int(years[1])))
except PipelineError as exc:
    st.warning(escape(str(exc), "markdown"))
    st.stop()

if report.window_years:
    st.caption(
        f"A {level} is **emerging** (▲) or **declining** (▼) when the least-squares slope of its "
        f"share over {report.window_years[0]}–{report.window_years[-1]} (the last {rule.window} "
        f"years with at least {rule.min_year_papers} papers) is at least {rule.min_slope:g} "
        f"percentage points a year up or down, and it has at least {rule.min_papers} papers in "
        f"those years. {report.undated:,} undated papers are left out.")
else:
    st.caption("Fewer than 3 years have enough papers for the rule; shares are shown, nothing "
               "is flagged.")

names = assets.theme_names if level == "theme" else assets.cluster_names
colours = (theme_colours(list(assets.theme_names)) if level == "theme"
           else cluster_colours(assets.cluster_parent))
groups = shown_groups(report, top=12)
selected = st.session_state.get("tr_selected")
if selected is not None and selected not in report.table["group"].tolist():
    selected = None
event = st.plotly_chart(shares_figure(report, groups=groups, selected=selected, colours=colours),
                        key="tr_chart", on_select="rerun", selection_mode="points", theme=None,
                        config={"displaylogo": False})
clicked = clicked_group(event)
if clicked is not None and clicked != selected:
    st.session_state["tr_selected"] = clicked
    st.rerun()
st.plotly_chart(papers_per_year_figure(report), key="tr_per_year", theme=None,
                config={"displaylogo": False})

table = report.table.assign(
    label=[escape(v, "plain", limit=80) for v in report.table["label"]],
    share_start=(100 * report.table["share_start"]).round(1),
    share_end=(100 * report.table["share_end"]).round(1),
    share_overall=(100 * report.table["share_overall"]).round(1),
).rename(columns={"group": level, "slope_pp_per_year": "slope (points/year)",
                  "share_start": "share at start %", "share_end": "share at end %",
                  "share_overall": "share overall %", "papers_in_window": "papers in window"})
st.dataframe(table, hide_index=True, width="stretch", key="tr_table")

# ---- the map, filtered by years and (after a click) by the chosen group
in_years = docs["year"].between(years[0], years[1])
view = docs[in_years & (docs[level] == selected)] if selected is not None else docs[in_years]
head, clear = st.columns([4, 1])
if selected is not None:
    head.markdown(f"**Map: {escape(names.get(selected, 'noise'), 'markdown')}, "
                  f"{years[0]}–{years[1]}** ({len(view):,} papers)")
    clear.button("Show all themes", key="tr_clear",
                 on_click=lambda: st.session_state.update(tr_selected=None))
    if selected >= 0:
        params = {level: str(selected)}
        if state.param("map"):
            params["map"] = state.param("map")
        clear.page_link("dashboard.py", label="Open on the main map", query_params=params)
else:
    head.markdown(f"**Map, {years[0]}–{years[1]}** ({len(view):,} papers) — click a point of "
                  "the chart to show one theme")
drawn = overview(view, assets.priority, where=st)
st.plotly_chart(map_figure(drawn, hover=assets.hover, colour_by=level,
                           cluster_parent=assets.cluster_parent, uirevision=f"tr-{map_path}",
                           height=520),
                key="tr_map", theme=None, config={"displaylogo": False, "scrollZoom": True})
