"""Themes over time: each theme's share of the papers per year, emerging and declining themes.

Click a point of a line to show that theme in that year on the map beside the chart;
the year slider filters both. Years too thin for a share are gaps in the lines. The rule is
``pipeline.review.trends``' (stated on the page).
"""

from __future__ import annotations

import streamlit as st

from ui.app import nav
from ui.app.analysis import TrendRule, trend_report
from ui.app.context import map_context
from ui.app.sidebar import overview
from ui.app.tables import trends_frame
from ui.core.escape import escape
from ui.core.view import level_title, map_levels, year_bounds
from ui.core.wording import a_topic
from ui.figures.map import cluster_colours, map_figure, theme_colours
from ui.figures.trends import (
    clicked_point,
    describe_years,
    papers_per_year_figure,
    shares_figure,
    shown_groups,
    thin_years,
)

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
# What the map shows: a group in one year (a point clicked), a group in every year, or all.
chosen = st.session_state.get("tr_selected")
if not (isinstance(chosen, tuple) and chosen[0] in report.table["group"].tolist()):
    chosen = None
selected, year = chosen if chosen is not None else (None, None)

# ---- the chart and, beside it, the map it filters: a click shows its result in view
chart_col, map_col = st.columns([1.15, 1], gap="medium")
with chart_col:
    event = st.plotly_chart(shares_figure(report, groups=groups, selected=selected,
                                          colours=colours),
                            key="tr_chart", on_select="rerun", selection_mode="points",
                            theme=None, config={"displaylogo": False})
clicked = clicked_point(event)
if clicked is not None and clicked != st.session_state.get("tr_last_click"):
    st.session_state["tr_last_click"] = clicked  # a new click, not the same event again
    st.session_state["tr_selected"] = clicked
    st.rerun()
thin = thin_years(report)
if thin:
    every = len(thin) == len(report.counts)
    chart_col.caption(
        f"Years with fewer than {rule.min_year_papers} papers are gaps in the lines (a share "
        f"of so few papers says little): "
        + ("every year here, so there are no lines" if every else describe_years(thin))
        + ". The bars below count them; lower *A year counts with at least … papers* (the "
        "rule, in the sidebar) to draw thinner years.")


def _choose(value: tuple[int, int | None] | None) -> None:
    st.session_state["tr_selected"] = value


in_years = docs["year"].between(years[0], years[1])
mask = in_years & (docs[level] == selected) if selected is not None else in_years
if year is not None:
    mask &= docs["year"] == year
view = docs[mask]
with map_col:
    if selected is not None:
        when = f"in {year}" if year is not None else f"{years[0]}–{years[1]}"
        st.markdown(f"**Map: {escape(names.get(selected, 'unclustered'), 'markdown')}, "
                    f"{when}** ({len(view):,} papers)")
        with st.container(horizontal=True, gap="small"):
            if year is not None:
                st.button("All its years", key="tr_all_years", on_click=_choose,
                          args=((selected, None),))
            st.button("Show all themes", key="tr_clear", on_click=_choose, args=(None,))
            if selected >= 0:
                nav.page_link(st, nav.MAP, "Open on the main map", node=f"{level}:{selected}")
    else:
        st.markdown(f"**Map, {years[0]}–{years[1]}** ({len(view):,} papers) — click a point "
                    "of the chart to map that theme in that year")
    drawn = overview(view, assets.priority, where=st)
    st.plotly_chart(map_figure(drawn, hover=assets.hover, colour_by=level,
                               cluster_parent=assets.cluster_parent,
                               level_themes=assets.level_themes,
                               uirevision=f"tr-{context.path}", height=460),
                    key="tr_map", theme=None, config={"displaylogo": False, "scrollZoom": True})

st.plotly_chart(papers_per_year_figure(report), key="tr_per_year", theme=None,
                config={"displaylogo": False})
st.dataframe(trends_frame(report.table, level), hide_index=True, width="stretch",
             key="tr_table")
