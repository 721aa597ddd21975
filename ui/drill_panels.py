"""The drill-down page's pieces: the topic in the URL and session, its breadcrumb, where
its name comes from, why it has it, its sub-topics, and re-mapping it on request.

The page walks the map's saved layers (``?drill=layer_1:5``, or a trail of steps down
them, ``?drill=theme:2,layer_1:5``): a topic's sub-topics are read, not computed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from . import state
from .context import MapContext
from .drill import describe, parse_trail, path_to, remap_seconds, resolve, sub_topics
from .escape import escape
from .figures import theme_colours
from .hierarchy import node
from .latex import readable
from .loaders import MIN_DRILL_PAPERS, remapped_if_cached
from .tables import show_table
from .topic_figures import terms_figure
from .view import level_title

TOPIC_KEY = "drill_topic"


def go_to(key: str) -> None:
    """Move to topic ``key`` ("" = the whole map): a callback, the next run shows it."""
    st.session_state[TOPIC_KEY] = key
    st.session_state.pop("drill_paper", None)
    state.set_params(drill=key)


def current_topic(context: MapContext) -> str:
    """The topic from the session or the URL; a step that is not a topic inside the one
    before it ends the trail there, with a warning. Written back to the URL."""
    nodes = context.clusters
    if TOPIC_KEY not in st.session_state:
        key, bad = resolve(nodes, parse_trail(state.param("drill")))
        if bad is not None:
            st.warning(escape(f"{level_title(bad[0]).rstrip('s')} {bad[1]} does not exist "
                              "here; showing its parent instead.", "markdown"))
        st.session_state[TOPIC_KEY] = key
    key = str(st.session_state[TOPIC_KEY])
    if key and node(nodes, key) is None:
        key = st.session_state[TOPIC_KEY] = ""
    state.set_params(drill=key)
    return key


def breadcrumb(context: MapContext, key: str) -> None:
    """"Whole map › theme › sub-topic": each step a button back to it."""
    nodes = context.clusters
    with st.container(horizontal=True, gap="small"):
        st.button("Whole map", key="drill_crumb_0", on_click=go_to, args=("",),
                  disabled=not key, type="tertiary")
        steps = path_to(nodes, key)
        for depth, (level, group) in enumerate(steps, start=1):
            step = f"{level}:{group}"
            st.button(f"› {escape(node(nodes, step)['label'], 'markdown', limit=40)}",
                      key=f"drill_crumb_{depth}", on_click=go_to, args=(step,),
                      disabled=depth == len(steps), type="tertiary")


def name_and_provenance(context: MapContext, row: pd.Series, n_children: int,
                        child_level: str | None) -> None:
    """The topic's name, size, flags, and where the name comes from: a language model's
    name shows the offline name and key phrases beside it."""
    st.markdown(f"## {escape(row['label'], 'markdown')}")
    notes = [describe(row, n_children, child_level)]
    if bool(row.get("weak_name")):
        notes.append("weak name: few of its papers use the name's most specific term")
    if bool(row.get("fragile")):
        notes.append("fragile: it does not hold together when the map is refitted on "
                     "resampled papers")
    st.caption(" · ".join(notes))
    terms = ", ".join(list(row["terms"])[:8])
    if bool(row.get("named_by_llm")):
        model = (context.topic_map.manifest.get("llm") or {}).get("model") or "a language model"
        st.markdown(f"Named by {escape(model, 'markdown')} · offline name: "
                    f"**{escape(row['offline_label'], 'markdown')}** · key phrases: "
                    f"{escape(terms, 'markdown')}")
        if str(row.get("llm_description") or "").strip():
            st.caption(escape(row["llm_description"], "markdown"))
    else:
        st.caption("Named offline from its key phrases: " + escape(terms, "markdown"))


def why_this_name(row: pd.Series) -> None:
    """The topic's most distinctive terms as bars (c-TF-IDF weights)."""
    st.markdown("**Why this name:** its most distinctive terms (c-TF-IDF weight)")
    terms, weights = list(row["terms"]), list(row["weights"])
    if not terms:
        st.caption("No terms were found for this group.")
        return
    colour = next(iter(theme_colours([int(row["theme"])]).values()))
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


def sub_topics_table(context: MapContext, key: str) -> pd.DataFrame:
    """The topic's sub-topics (the next layer's nodes inside it) as a table; selecting a
    row drills into it. Returns them."""
    rows = sub_topics(context.clusters, key)
    if rows.empty:
        return rows
    total = max(1, int(rows["size"].sum()))
    table = pd.DataFrame({
        "sub-topic": [escape(v, "plain", limit=80) for v in rows["label"]],
        "papers": rows["size"].astype(int).to_numpy(),
        "share %": (100 * rows["size"].astype(float) / total).round(1).to_numpy(),
        "flags": [", ".join(f for f, on in (("weak name", w), ("fragile", f_)) if on)
                  for w, f_ in zip(rows["weak_name"], rows["fragile"], strict=True)],
        "key phrases": [escape(", ".join(list(t)[:5]), "plain", limit=100)
                        for t in rows["terms"]],
    })
    if not bool((rows["weak_name"] | rows["fragile"]).any()):
        table = table.drop(columns="flags")
    picked = show_table(table, key=f"drill_subtopics_{key or 'root'}", select="single-row",
                        height=min(38 + 35 * len(table), 420))
    if picked:
        go_to(str(rows["key"].iat[picked[0]]))
        st.rerun()
    return rows


def remap_offer(context: MapContext, key: str, n_papers: int) -> bool:
    """The explicit action of mapping a topic's papers again on their own, with its cost;
    True when the reader asked for it (or it is already cached for everyone)."""
    if n_papers < MIN_DRILL_PAPERS:
        return False
    if remapped_if_cached(context.path, key):
        return True
    seconds = remap_seconds(context.topic_map.manifest, n_papers)
    asked = st.session_state.setdefault("drill_remap", set())
    cols = st.columns([3, 1], vertical_alignment="center")
    cols[0].caption(
        f"The sub-topics above come from the map's own layers. To lay these {n_papers:,} "
        "papers out afresh and cluster them on their own, re-map them: UMAP, clustering "
        f"and naming take roughly {_duration(seconds)} on this machine (scaled from this "
        "map's build), once; the result is kept for everyone.")
    if cols[1].button("Re-map these papers", key=f"drill_remap_{key}",
                      help=f"About {_duration(seconds)}"):
        asked.add(key)
    return key in asked


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
