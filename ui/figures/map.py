"""Plotly figure builders for the dashboard. No streamlit import: every builder
returns a ``plotly.graph_objects.Figure`` that tests can inspect with ``to_dict()``.

Data text reaching a figure (titles, abstracts, labels, category names) is
escaped here with :func:`ui.core.escape.escape` / :func:`ui.core.escape.wrap_html`;
callers pass raw text.

The map is built for size: ``scattergl`` traces (WebGL) for big views, SVG ``scatter``
up to :data:`SVG_POINTS` points, float32 coordinates (sent as binary by Plotly), one
short pre-escaped hover text per paper, and the row position of each paper as int32
``customdata`` so selections map back to papers.
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui.core.escape import escape, wrap_html
from ui.core.latex import readable

from .nametags import FONT, label_annotations

NOISE = -1
NOISE_COLOUR = "#b4b9c2"
#: Base colours of themes: distinct hues, readable on white.
THEME_PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#17becf", "#e377c2",
    "#8c564b", "#bcbd22", "#0f766e", "#f59e0b", "#7c3aed", "#be123c", "#3182bd",
]
CATEGORY_PALETTE = [
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6",
    "#9d755d", "#eeca3b", "#0f766e", "#7c3aed", "#be123c",
]
MAX_LEGEND_CATEGORIES = len(CATEGORY_PALETTE)
HOVER_CHARS = 300
#: Views of up to this many points are drawn in SVG, bigger ones with WebGL. A WebGL canvas
#: scrolled partly out of the window goes blank where the browser composites the page in
#: software (a browser without GPU acceleration, headless Chromium); SVG never does, and up
#: to this size it draws and zooms about as fast (measured in Chromium: 0.2 s first draw,
#: 0.14 s a zoom at 3,000 points).
SVG_POINTS = 3000


def point_trace_type(n_points: int) -> str:
    """The Plotly trace type of a map of ``n_points``: ``scatter`` (SVG) or ``scattergl``."""
    return "scatter" if n_points <= SVG_POINTS else "scattergl"


# --------------------------------------------------------------------------- colours


def shade(hex_colour: str, amount: float) -> str:
    """``hex_colour`` made lighter (amount > 0) or darker (< 0) in HLS space."""
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    lightness = min(0.85, max(0.18, lightness + amount))
    r, g, b = colorsys.hls_to_rgb(h, lightness, s)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def theme_colours(theme_ids: Sequence[int]) -> dict[int, str]:
    """A colour per theme id (stable: depends on the id only)."""
    return {int(t): THEME_PALETTE[int(t) % len(THEME_PALETTE)] for t in theme_ids}


def cluster_colours(cluster_parent: Mapping[int, int]) -> dict[int, str]:
    """A colour per cluster: its theme's hue, in shades that tell siblings apart."""
    siblings: dict[int, list[int]] = {}
    for cluster_id, theme_id in sorted(cluster_parent.items()):
        siblings.setdefault(int(theme_id), []).append(int(cluster_id))
    base = theme_colours(list(siblings))
    out: dict[int, str] = {}
    for theme_id, members in siblings.items():
        for i, cluster_id in enumerate(members):
            # Golden-ratio steps spread siblings' lightness: consecutive ids differ most.
            offset = 0.0 if len(members) == 1 else ((i * 0.618034) % 1.0 - 0.5) * 0.42
            out[cluster_id] = shade(base[theme_id], offset)
    return out


# --------------------------------------------------------------------------- hover text


def hover_abstract_chars(n_papers: int) -> int:
    """How much of each abstract the hover label carries, by map size.

    Every hover label travels to the browser with the figure, so big maps get
    shorter excerpts (the paper panel always shows the full abstract).
    """
    if n_papers <= 20_000:
        return HOVER_CHARS
    if n_papers <= 50_000:
        return 150
    return 0


def hover_texts(documents: pd.DataFrame, cluster_names: Mapping[int, str],
                theme_names: Mapping[int, str], *, abstract_chars: int = HOVER_CHARS,
                width: int = 76) -> np.ndarray:
    """One escaped hover label per paper: title, topic · year · authors, abstract start
    (LaTeX in titles and abstracts written as readable text, ``ui.core.latex``).

    Computed once per map by the loaders and sliced per view, so a filter
    change never rebuilds strings. Kept short: every label is sent to the browser.
    """
    titles = documents["title"].to_numpy()
    abstracts = documents["abstract"].to_numpy()
    clusters = documents["cluster"].to_numpy()
    themes = documents["theme"].to_numpy()
    years = pd.to_numeric(documents["year"], errors="coerce").to_numpy()
    authors = documents["authors"].to_numpy() if "authors" in documents else [None] * len(titles)
    out = np.empty(len(titles), dtype=object)
    for i in range(len(titles)):
        cluster = int(clusters[i])
        topic = cluster_names.get(cluster, "") if cluster != NOISE else \
            f"unclustered, near {theme_names.get(int(themes[i]), '')}"
        meta = [escape(topic, "html", limit=50)]
        if np.isfinite(years[i]):
            meta.append(str(int(years[i])))
        if authors[i] is not None and str(authors[i]).strip() and str(authors[i]) != "nan":
            meta.append("<i>" + escape(authors[i], "html", limit=40) + "</i>")
        parts = ["<b>" + wrap_html(readable(titles[i]), width=width - 6, max_lines=2) + "</b>",
                 " · ".join(meta)]
        if abstract_chars > 0:
            parts.append(wrap_html(readable(abstracts[i]), width=width, limit=abstract_chars))
        out[i] = "<br>".join(parts)
    return out


# --------------------------------------------------------------------------- the map


def map_figure(view: pd.DataFrame, *, hover: np.ndarray, colour_by: str = "cluster",
               cluster_parent: Mapping[int, int] | None = None,
               level_themes: Mapping[str, Mapping[int, int]] | None = None,
               labels: pd.DataFrame | None = None, label_size: int = 14,
               highlight: Sequence[int] = (), highlight_scores: Sequence[float] = (),
               selected: int | None = None, uirevision: str = "map", height: int = 640,
               clickable: bool = False) -> go.Figure:
    """The topic map of ``view`` (a filtered documents table indexed by row position).

    - ``hover``: escaped hover text of every paper in the map, by row position.
    - ``colour_by``: ``"cluster"``, ``"theme"``, another level of the map (``layer_1``:
      each node in a shade of its theme's hue, from ``level_themes``) or a column of
      ``view`` (numbers get a colour scale, text a legend of its most common values).
    - ``cluster_parent``: each cluster's theme (the hue its shade is taken from).
    - ``labels``: ``id, label, x, y`` rows written on the map over the points.
    - ``highlight``: row positions drawn on top (search results), with scores.
    - ``selected``: one row position drawn with a ring (the open paper).
    - ``clickable``: a click selects the point under it (``clickmode="event+select"``), what
      the dashboard's ``on_select`` reads. Said in the figure: Streamlit adds it only when it
      first draws a chart, and a chart that replaced the loading figure kept clicks unheard.

    Noise is always drawn first, small and grey, so topics sit on top of it.
    """
    # Only the columns the traces need: slicing text columns per trace is costly.
    keep = ["x", "y", "cluster", "theme"]
    view = view[keep + ([colour_by] if colour_by in view.columns and colour_by not in keep
                        else [])]
    groups = dict(level_themes or {})
    groups.setdefault("cluster", cluster_parent or {})
    traces: list[dict] = []
    is_noise = view["cluster"].to_numpy() == NOISE
    n = len(view)
    size = _marker_size(n)
    if colour_by == "theme" or colour_by in groups:
        _add_noise(traces, view[is_noise], hover, size)
        _add_groups(traces, view[~is_noise], hover, colour_by, groups.get(colour_by, {}), size)
    elif colour_by in view.columns and pd.api.types.is_numeric_dtype(view[colour_by]):
        _add_numeric(traces, view, hover, colour_by, size)
    elif colour_by in view.columns:
        _add_categories(traces, view, hover, colour_by, size)
    else:
        raise ValueError(f"cannot colour by {colour_by!r}: not a column of the map")
    if len(highlight):
        _add_highlight(traces, view, hover, highlight, highlight_scores)
    if selected is not None and selected in view.index:
        traces.append(_trace(view.loc[[selected]], hover, name="open paper", marker={
            "size": 20, "symbol": "circle-open", "color": "#111827",
            "line": {"width": 3, "color": "#111827"}}))
    kind = point_trace_type(n)
    for trace in traces:
        trace["type"] = kind
    annotations = (label_annotations(labels, label_size, view=view, height=height)
                   if labels is not None else [])
    if n == 0:
        annotations.append({"text": "No paper matches these filters", "showarrow": False,
                            "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                            "font": {"size": 16, "color": "#5b6270"}})
    layout = _layout(annotations=annotations, uirevision=uirevision, height=height,
                     showlegend=colour_by != "theme" and colour_by not in groups)
    if clickable:
        layout["clickmode"] = "event+select"
    # Built from plain dicts without Plotly's per-property validation (a third of the
    # time of a rerun on a 10,000-paper map); the unit tests check the spec instead.
    return go.Figure(data=traces, layout=layout, _validate=False)


def _marker_size(n: int) -> float:
    """Points shrink as the map fills up, so dense maps stay legible."""
    if n <= 300:
        return 8.0
    if n <= 3000:
        return 6.0
    if n <= 20000:
        return 4.5
    return 3.0


def _trace(part: pd.DataFrame, hover: np.ndarray, *, name: str, marker: dict,
           legend: bool = False, node: str | None = None) -> dict:
    """A trace of ``part`` (WebGL until :func:`map_figure` says otherwise): float32
    coordinates, int32 row ids, hover labels;
    ``node``: the topic (``"level:id"``) all its papers belong to, in ``meta`` (the names
    that follow the zoom find a topic's papers in view by it)."""
    rows = part.index.to_numpy()
    extra = {"meta": node} if node is not None else {}
    return {**extra,
        "type": "scattergl", "mode": "markers", "name": name,
        "x": part["x"].to_numpy(dtype=np.float32), "y": part["y"].to_numpy(dtype=np.float32),
        "customdata": rows.astype(np.int32), "hovertext": hover[rows],
        "hovertemplate": "%{hovertext}<extra></extra>", "marker": marker,
        "showlegend": legend,
    }


def _add_noise(traces: list[dict], part: pd.DataFrame, hover: np.ndarray, size: float) -> None:
    if part.empty:
        return
    traces.append(_trace(part, hover, name="unclustered", marker={
        "size": max(2.5, size - 1.5), "color": NOISE_COLOUR, "opacity": 0.55}))


def _add_groups(traces: list[dict], part: pd.DataFrame, hover: np.ndarray, colour_by: str,
                group_theme: Mapping[int, int], size: float) -> None:
    ids = part[colour_by].to_numpy()
    if colour_by != "theme":
        colours = cluster_colours(group_theme or {int(c): 0 for c in np.unique(ids)})
    else:
        colours = theme_colours(np.unique(ids).tolist())
    for group_id in np.unique(ids):
        members = part[ids == group_id]
        traces.append(_trace(members, hover, name=f"{colour_by} {int(group_id)}", marker={
            "size": size, "color": colours.get(int(group_id), THEME_PALETTE[0]),
            "opacity": 0.85, "line": {"width": 0}}, node=f"{colour_by}:{int(group_id)}"))


def _add_numeric(traces: list[dict], view: pd.DataFrame, hover: np.ndarray, column: str,
                 size: float) -> None:
    values = pd.to_numeric(view[column], errors="coerce")
    missing = values.isna().to_numpy()
    if missing.any():
        traces.append(_trace(view[missing], hover, name=f"no {escape(column)}", legend=True,
                             marker={"size": max(2.5, size - 1.5), "color": NOISE_COLOUR,
                                     "opacity": 0.55}))
    known = view[~missing]
    if not known.empty:
        trace = _trace(known, hover, name=escape(column), marker={
            "size": size, "color": values[~missing].to_numpy(dtype=np.float32),
            "colorscale": "Viridis", "opacity": 0.85, "showscale": True,
            "colorbar": {"title": {"text": escape(column)}, "thickness": 12, "len": 0.6}})
        traces.append(trace)


def _add_categories(traces: list[dict], view: pd.DataFrame, hover: np.ndarray, column: str,
                    size: float) -> None:
    values = view[column].astype("string").fillna("")
    counts = values[values != ""].value_counts()
    top = list(counts.index[:MAX_LEGEND_CATEGORIES])
    rest = ~values.isin(top)
    if rest.any():
        traces.append(_trace(view[rest.to_numpy()], hover, name="other / unknown", legend=True,
                             marker={"size": max(2.5, size - 1.5), "color": NOISE_COLOUR,
                                     "opacity": 0.55}))
    for i, value in enumerate(top):
        members = view[(values == value).to_numpy()]
        traces.append(_trace(members, hover, name=escape(value, limit=40), legend=True,
                             marker={"size": size, "color": CATEGORY_PALETTE[i], "opacity": 0.85}))


def _add_highlight(traces: list[dict], view: pd.DataFrame, hover: np.ndarray,
                   highlight: Sequence[int], scores: Sequence[float]) -> None:
    rows = np.array([r for r in highlight if r in view.index], dtype=np.int64)
    if not len(rows):
        return
    score_of = dict(zip(highlight, scores, strict=False)) if len(scores) else {}
    part = view.loc[rows]
    texts = np.array([f"{hover[r]}<br><i>similarity {score_of[r]:.2f}</i>"
                      if r in score_of else hover[r] for r in rows], dtype=object)
    traces.append({
        "type": "scattergl", "mode": "markers+text", "name": "search results",
        "x": part["x"].to_numpy(dtype=np.float32), "y": part["y"].to_numpy(dtype=np.float32),
        "customdata": rows.astype(np.int32), "text": [str(i + 1) for i in range(len(rows))],
        "textposition": "top center",
        "textfont": {"size": 11, "color": "#111827", "family": FONT},
        "hovertext": texts, "hovertemplate": "%{hovertext}<extra></extra>",
        "marker": {"size": 13, "color": "#fde047", "line": {"width": 2, "color": "#111827"}},
        "showlegend": False,
    })



def _layout(*, annotations: list[dict], uirevision: str, height: int, showlegend: bool,
            ) -> dict:
    """The map's layout: no axes, white, pan by default, hover labels legible."""
    axis = {"visible": False, "showgrid": False, "zeroline": False}
    return {
        "template": {}, "height": height, "margin": {"l": 4, "r": 4, "t": 4, "b": 4},
        "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
        "font": {"family": FONT, "size": 13}, "xaxis": axis, "yaxis": dict(axis),
        "hovermode": "closest", "dragmode": "pan", "uirevision": uirevision,
        "hoverlabel": {"bgcolor": "rgba(255,255,255,0.97)", "bordercolor": "#9ca3af",
                       "font": {"family": FONT, "size": 12, "color": "#111827"},
                       "align": "left", "namelength": -1},
        "annotations": annotations, "showlegend": showlegend,
        # Right of the plot, never over it: a legend inside covered points and names.
        "legend": {"bgcolor": "rgba(255,255,255,0.85)", "x": 1.01, "xanchor": "left",
                   "y": 1.0, "yanchor": "top", "itemsizing": "constant",
                   "font": {"size": 12}},
    }


def loading_figure(height: int = 640) -> go.Figure:
    """An empty map with a "Loading" note: shown while the real figure is prepared."""
    layout = _layout(annotations=[{"text": "Loading the map…", "showarrow": False,
                                   "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                                   "font": {"size": 16, "color": "#5b6270"}}],
                     uirevision="loading", height=height, showlegend=False)
    # No trace at all: a WebGL context would be created only to be thrown away.
    return go.Figure(data=[], layout=layout, _validate=False)



def standalone_html(fig: go.Figure, *, title: str, post_script: str | None = None) -> str:
    """The figure as one self-contained HTML page: Plotly embedded, no network needed.

    ``post_script`` runs once the plot is drawn (the names that follow the zoom,
    ``ui.figures.overlay.export_script``); it must be code of the app, never text from data."""
    body = fig.to_html(include_plotlyjs=True, full_html=True, post_script=post_script,
                       config={"displaylogo": False, "scrollZoom": True})
    safe_title = escape(title, limit=200)
    return body.replace("<head>", f"<head><title>{safe_title}</title>", 1)
