"""The drill-down page's pieces: the trail (URL and session), its breadcrumb, why a
group has its name and its representative papers.

A trail is a sequence of ``(level, id)`` steps (``?drill=theme:2,cluster:1``);
each step picks a group of the (sub-)map before it (``ui.loaders.submap``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from . import state
from .context import MapContext
from .drill import Trail, group_row, parse_trail, trail_param
from .escape import escape
from .figures import theme_colours
from .latex import readable
from .loaders import submap
from .topic_figures import terms_figure

TRAIL_KEY = "drill_trail"


def go_to(trail: Trail) -> None:
    """Move to ``trail`` (a callback: the next run shows it)."""
    st.session_state[TRAIL_KEY] = trail
    st.session_state.pop("drill_paper", None)
    state.set_params(drill=trail_param(trail))


def current_trail(context: MapContext) -> Trail:
    """The trail from the session or the URL, cut where a step does not exist (with a
    warning), and written back to the URL."""
    state.seed(TRAIL_KEY, parse_trail(state.param("drill")))
    valid: list[tuple[str, int]] = []
    for step in st.session_state[TRAIL_KEY]:
        parent = submap(context.path, tuple(valid))
        if not parent.mapped or group_row(parent.clusters, *step) is None:
            st.warning(escape(f"{step[0]} {step[1]} does not exist here; showing its parent "
                              "instead.", "markdown"))
            break
        valid.append(step)
    trail = tuple(valid)
    st.session_state[TRAIL_KEY] = trail
    state.set_params(drill=trail_param(trail))
    return trail


def breadcrumb(context: MapContext, trail: Trail) -> None:
    """"Whole map › theme › cluster": each step a button back to it."""
    with st.container(horizontal=True, gap="small"):
        st.button("Whole map", key="drill_crumb_0", on_click=go_to, args=((),),
                  disabled=not trail, type="tertiary")
        for depth, (level, group) in enumerate(trail, start=1):
            parent = submap(context.path, trail[:depth - 1])
            name = group_row(parent.clusters, level, group)["label"]
            st.button(f"› {escape(name, 'markdown', limit=40)}", key=f"drill_crumb_{depth}",
                      on_click=go_to, args=(trail[:depth],), disabled=depth == len(trail),
                      type="tertiary")


def why_this_name(row: pd.Series, level: str) -> None:
    """The group's most distinctive terms as bars (c-TF-IDF weights)."""
    st.markdown("**Why this name:** its most distinctive terms (c-TF-IDF weight)")
    terms, weights = list(row["terms"]), list(row["weights"])
    if not terms:
        st.caption("No terms were found for this group.")
        return
    group = int(row["id"]) if level == "theme" else int(row["parent"])
    colour = next(iter(theme_colours([group]).values()))
    st.plotly_chart(terms_figure(terms, weights, colour=colour), key="drill_terms",
                    theme=None, config={"displayModeBar": False})


def representative_papers(row: pd.Series, documents: pd.DataFrame, *, n: int = 5) -> None:
    """The group's papers nearest its centre, each an expander with its abstract."""
    st.markdown("**Representative papers** (nearest its centre)")
    by_id = dict(zip(documents["id"].astype(str), range(len(documents)), strict=True))
    for paper_id in list(row["representative_ids"])[:n]:
        position = by_id.get(str(paper_id))
        if position is None:
            continue
        paper = documents.iloc[position]
        with st.expander(escape(readable(paper["title"]), "markdown", limit=120)):
            st.markdown(escape(readable(paper["abstract"]), "markdown", limit=3000))
