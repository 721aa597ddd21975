"""The drill-down page's pieces: the topic in the URL and session, its breadcrumb, where
its name comes from, why it has it, its sub-topics, and re-mapping it on request.

The page walks the map's saved layers (``?drill=layer_1:5``, or a trail of steps down
them, ``?drill=theme:2,layer_1:5``): a topic's sub-topics are read, not computed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.naming.registry import namer_class, names_record
from ui.core.drill import describe, parse_trail, path_to, remap_seconds, resolve, sub_topics
from ui.core.escape import escape
from ui.core.latex import readable
from ui.core.nodes import node
from ui.core.provenance import name_evidence
from ui.core.wording import level_noun
from ui.figures.map import theme_colours
from ui.figures.topics import terms_figure

from . import state
from .context import MapContext
from .loaders import MIN_DRILL_PAPERS, remapped_if_cached

TOPIC_KEY = "drill_topic"
_URL_KEY = "drill_topic_url"  # the ?drill= this session last wrote or read


def go_to(key: str) -> None:
    """Move to topic ``key`` ("" = the whole map): a callback, the next run shows it."""
    st.session_state[TOPIC_KEY] = st.session_state[_URL_KEY] = key
    st.session_state.pop("drill_paper", None)
    state.set_params(drill=key)


def current_topic(context: MapContext) -> str:
    """The topic from the session, or from the URL when a link brought another one; a step
    that is not a topic inside the one before it ends the trail there, with a warning.
    Written back to the URL."""
    nodes = context.clusters
    url = state.param("drill")
    if TOPIC_KEY not in st.session_state or url != st.session_state.get(_URL_KEY, url):
        key, bad = resolve(nodes, parse_trail(url))
        if bad is not None:
            st.warning(escape(f"The {level_noun(bad[0])} numbered {bad[1]} does not exist "
                              "here (inside the step before it); showing that step instead.",
                              "markdown"))
        st.session_state[TOPIC_KEY] = key
    key = str(st.session_state[TOPIC_KEY])
    if key and node(nodes, key) is None:
        key = st.session_state[TOPIC_KEY] = ""
    state.set_params(drill=key)
    st.session_state[_URL_KEY] = key
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
    if bool(row.get("alt_name")):
        namer = namer_class(str(row["named_by"]))
        by = names_record(context.topic_map.manifest, namer.column).get("model") or namer.title
        st.markdown(f"Named by {escape(by, 'markdown')} · offline name: "
                    f"**{escape(row['offline_label'], 'markdown')}** · key phrases: "
                    f"{escape(terms, 'markdown')}")
        if str(row.get("description") or "").strip():
            st.caption(escape(row["description"], "markdown"))
    else:
        st.caption("Named offline from its key phrases: " + escape(terms, "markdown"))


def why_this_name(row: pd.Series) -> None:
    """The phrases the name was chosen from, as bars of their naming scores (only real
    scores: a candidate the namer did not score is listed, not drawn), and every
    provenance sentence the node's row gives (``ui.core.provenance.name_evidence``)."""
    st.markdown("**Why this name:** the phrases it was chosen from (score: how many more of "
                "its papers than of its siblings' write them, and how close they are in meaning)")
    evidence = name_evidence(row)
    for fact in evidence.facts:
        st.caption(escape(fact, "markdown"))
    unscored = escape(", ".join(evidence.unscored[:12]), "markdown", limit=400)
    if not evidence.phrases:
        st.caption("None of its candidate phrases has a naming score"
                   + (f" (the namer listed them without scoring them: {unscored})."
                      if evidence.unscored else "; no candidates were found for it."))
        return
    colour = next(iter(theme_colours([int(row["theme"])]).values()))
    st.plotly_chart(terms_figure(evidence.phrases, evidence.scores, colour=colour),
                    key="drill_terms", theme=None, config={"displayModeBar": False})
    if evidence.unscored:
        st.caption(f"Also considered, without a score (not short-listed): {unscored}.")


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


def sub_topics_list(context: MapContext, key: str) -> pd.DataFrame:
    """The topic's sub-topics (the next layer's nodes inside it), largest first, each a
    button that drills into it, with its size, share, flags and key phrases. Returns them.

    Plain buttons and captions, not a table: they show at once, even in a new tab."""
    rows = sub_topics(context.clusters, key)
    total = max(1, int(rows["size"].sum()))
    for row in rows.itertuples(index=False):
        notes = [f"{int(row.size):,} papers ({100 * int(row.size) / total:.0f}%)"]
        notes += [f for f, on in (("weak name", row.weak_name), ("fragile", row.fragile)) if on]
        notes.append(escape(", ".join(list(row.terms)[:5]), "markdown", limit=100))
        with st.container(horizontal=True, gap="small", vertical_alignment="center"):
            st.button(escape(row.label, "markdown", limit=80), key=f"drill_sub_{row.key}",
                      on_click=go_to, args=(str(row.key),), type="secondary",
                      icon=":material/subdirectory_arrow_right:")
            st.caption(" · ".join(notes))
    return rows


def remap_offer(context: MapContext, key: str, n_papers: int) -> bool:
    """The explicit action of mapping a topic's papers again on their own, with its cost;
    True when the reader asked for it (or it is already cached for everyone)."""
    if n_papers < MIN_DRILL_PAPERS:
        return False
    if remapped_if_cached(context.ref, key):
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
