"""Themes over time: each theme's share of the papers per year, emerging and declining themes.

Click a point of a line to show that theme alone on the map below; the year
slider filters both. The rule is ``pipeline.review.trends``' (stated on the page).
"""

from __future__ import annotations

import streamlit as st

from ui.app import nav
from ui.app.analysis import TrendRule, trend_report
from ui.app.context import map_context
from ui.app.sidebar import overview
from ui.app.tables import trends_frame
from ui.core.escape import escape
from ui.core.events import clicked_id
from ui.core.view import level_title, map_levels, year_bounds
from ui.core.wording import a_topic
from ui.figures.map import cluster_colours, map_figure, theme_colours
from ui.figures.trends import papers_per_year_figure, shares_figure, shown_groups

context = map_context()
docs, assets = context.documents, context.assets

st.markdown("## Themes over time")
bounds = year_bounds(docs)
if not bounds or bounds[0] == bounds[1]:
    st.info("This map's papers have no years (or a single one), so there is nothing to show "
            "over time. Give the input a year or date column and rebuild the map.")
    st.stop()

sidebar = st.sidebar
sidebar.header("Time")
years = sidebar.slider("Years", bounds[0], bounds[1], value=bounds, key="tr_years")
levels = map_levels(context.clusters)  # broadest first: theme, layer_1 ..., cluster
level = sidebar.radio("Group by", levels, horizontal=True, key="tr_level",
                      format_func=level_title)
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
report = trend_report(context, level=level, rule=rule, years=years)

if report.window_years:
    st.caption(
        f"{a_topic(level).capitalize()} is **emerging** (▲) or **declining** (▼) when the "
        f"least-squares slope of its share over {report.window_years[0]}–"
        f"{report.window_years[-1]} (the last {rule.window} years with at least {rule.min_year_papers} papers) is at least {rule.min_slope:g} "
        f"percentage points a year up or down, and it has at least {rule.min_papers} papers in "
        f"those years. {report.undated:,} undated papers are left out.")
else:
    st.caption("Fewer than 3 years have enough papers for the rule; shares are shown, nothing "
               "is flagged.")

names = assets.level_names.get(level, {})
colours = (theme_colours(list(assets.theme_names)) if level == "theme"
           else cluster_colours(assets.level_themes.get(level, {})))
groups = shown_groups(report, top=12)
selected = st.session_state.get("tr_selected")
if selected is not None and selected not in report.table["group"].tolist():
    selected = None
event = st.plotly_chart(shares_figure(report, groups=groups, selected=selected, colours=colours),
                        key="tr_chart", on_select="rerun", selection_mode="points", theme=None,
                        config={"displaylogo": False})
clicked = clicked_id(event)
if clicked is not None and clicked != selected:
    st.session_state["tr_selected"] = clicked
    st.rerun()
st.plotly_chart(papers_per_year_figure(report), key="tr_per_year", theme=None,
                config={"displaylogo": False})
st.dataframe(trends_frame(report.table, level), hide_index=True, width="stretch",
             key="tr_table")

# ---- the map, filtered by years and (after a click) by the chosen group
in_years = docs["year"].between(years[0], years[1])
view = docs[in_years & (docs[level] == selected)] if selected is not None else docs[in_years]
head, clear = st.columns([4, 1])
if selected is not None:
    head.markdown(f"**Map: {escape(names.get(selected, 'unclustered'), 'markdown')}, "
                  f"{years[0]}–{years[1]}** ({len(view):,} papers)")
    clear.button("Show all themes", key="tr_clear",
                 on_click=lambda: st.session_state.update(tr_selected=None))
    if selected >= 0:
        nav.page_link(clear, nav.MAP, "Open on the main map", node=f"{level}:{selected}")
else:
    head.markdown(f"**Map, {years[0]}–{years[1]}** ({len(view):,} papers) — click a point of "
                  "the chart to show one theme")
drawn = overview(view, assets.priority, where=st)
st.plotly_chart(map_figure(drawn, hover=assets.hover, colour_by=level,
                           cluster_parent=assets.cluster_parent,
                           level_themes=assets.level_themes,
                           uirevision=f"tr-{context.path}", height=520),
                key="tr_map", theme=None, config={"displaylogo": False, "scrollZoom": True})
