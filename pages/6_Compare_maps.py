"""Compare two maps of the same corpus: which clusters persist, split, merge, vanish or are new.

The current map is compared with another map from the maps folder (built
from the same papers with other settings, or an older build). Clusters are
matched by shared papers; the rule is ``pipeline.review.compare``'s.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.app.analysis import check_overlap, compare_with, names_at, open_map
from ui.app.context import map_context
from ui.app.exports import csv_download_button
from ui.app.state import map_choices
from ui.app.tables import moved_frame, show_table
from ui.core.escape import escape
from ui.figures.compare import transitions_sankey, transitions_table

context = map_context()
map_path = context.path
st.markdown("## Compare two maps")

others = [p for p in map_choices(map_path) if Path(p).resolve() != Path(map_path).resolve()]
if not others:
    st.info("Only one map is available. Build another of the same papers with other settings, "
            "e.g. `python -m pipeline build papers.csv --out maps/NAME-coarse "
            "--min-cluster-size 40`, then compare them here (or with `python -m pipeline "
            "compare OLD NEW`).")
    st.stop()

pick, role, level_col, threshold_col = st.columns([3, 2, 1.4, 1.6])
other = pick.selectbox("Compare with", [str(p) for p in others], key="cmp_other",
                       format_func=lambda p: escape(Path(p).name, "plain"))
current_is_new = role.radio("This map is the", ["new", "old"], horizontal=True,
                            key="cmp_role", format_func={"new": "newer one",
                                                         "old": "older one"}.get) == "new"
level = level_col.radio("Level", ["cluster", "theme"], horizontal=True, key="cmp_level")
threshold = threshold_col.slider("Match at", 0.3, 0.9, 0.5, 0.05, key="cmp_threshold",
                                 help="Share of papers that makes a match (see the rule below)")
other_map = open_map(other)
check_overlap(context.topic_map, other_map)
old_map, new_map, result = compare_with(context.topic_map, other_map,
                                         current_is_new=current_is_new, level=level,
                                         threshold=threshold)

s = result.summary
old_name, new_name = Path(old_map.path).name, Path(new_map.path).name
st.caption(f"Old **{escape(old_name, 'markdown')}** → new **{escape(new_name, 'markdown')}**: "
           f"{s['papers_compared']:,} shared papers ({s['only_in_old']:,} only in the old map, "
           f"{s['only_in_new']:,} only in the new), {s['old_clusters']} → {s['new_clusters']} "
           f"{level}s.")
metrics = st.columns(7)
for column, key in zip(metrics, ["persists", "split", "merged", "vanished", "new"], strict=False):
    column.metric(key, s[key])
metrics[5].metric("papers moved", f"{s['papers_moved']:,}")
metrics[6].metric("adjusted Rand", f"{s['adjusted_rand']:.2f}",
                  help="Agreement of the two partitions of the shared papers (1 = identical)")
with st.expander("How clusters are matched"):
    st.markdown(
        f"Papers are matched by id. An old {level} **split** when two or more new {level}s "
        f"each come mostly (at least {threshold:.0%}) from it, each take at least 20% of it, and "
        f"together hold at least {threshold:.0%} of it; two or more old {level}s **merged** "
        f"when, the other way round, they each went mostly into one new {level} and each make "
        f"at least 20% of it. Otherwise it **persists** when one new "
        f"{level} shares more than {threshold:.0%} of their combined papers (Jaccard); it "
        f"**merged** when at least {threshold:.0%} of its papers went into one new {level} that "
        f"also holds others; else it **vanished** (its papers became unclustered or scattered). A new "
        f"{level} that is none of these targets is **new**. A paper **moved** when its new "
        f"{level} is not one its old {level} went to.")

show_table(transitions_table(result), key="cmp_table")
old_names, new_names = names_at(old_map, level), names_at(new_map, level)
min_flow = max(1, s["papers_compared"] // 500)
st.plotly_chart(transitions_sankey(result, old_names, new_names, min_papers=min_flow),
                key="cmp_sankey", theme=None, config={"displaylogo": False})
if min_flow > 1:
    st.caption(f"Flows of fewer than {min_flow} papers are left out of the diagram.")

st.subheader(f"Papers whose {level} changed ({len(result.moved):,})")
if result.moved.empty:
    st.caption("None: every paper is where its old group went.")
else:
    show_table(moved_frame(result.moved), key="cmp_moved", height=360)
    csv_download_button(result.moved, label="Moved papers (CSV)", key="cmp_moved_csv",
                        file_name=f"moved-{old_name}-to-{new_name}")
