"""The map page at first sight, in headless Chromium (issue 20): the corpus's title, the
whole map above the fold and wide, names of several layers at once that never cover each
other nor the hover box, and links that keep the view.

One app on a copy of the 240-paper three-layer map (fake embedder) with a title of its
own. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_browser import Tab, exported_map, loads_nothing_external, opened

from pipeline import load_map
from pipeline.mapdir.store import rewrite_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 180_000  # ms: a shared test machine can be slow
TITLE = "Synthetic <b>papers</b> of five fields"
GD = "document.querySelector('.st-key-map_chart .js-plotly-plot')"
# The plot area (Plotly's drag layer) in page pixels, and the window.
PLOT_JS = f"""() => {{ const r = {GD}.querySelector('.nsewdrag').getBoundingClientRect();
  return {{left: r.left, top: r.top + scrollY, right: r.right, bottom: r.bottom + scrollY,
           width: r.width, height: r.height, winW: innerWidth, winH: innerHeight}}; }}"""
# The names drawn: key, depth, text, box (page pixels).
LABELS_JS = f"""() => Array.from({GD}.querySelectorAll('.tm-label')).filter(e => !e.hidden)
  .map(e => ({{k: e.dataset.key, d: Number(e.dataset.depth), t: e.textContent,
              focus: e.classList.contains('tm-focus'), r: e.getBoundingClientRect().toJSON()}}))"""


@pytest.fixture(scope="module")
def map_path(layers_map, tmp_path_factory) -> Path:
    """The three-layer map under a folder name that is not its title."""
    target = tmp_path_factory.mktemp("map_app") / "maps" / "layers"
    shutil.copytree(layers_map, target)
    topic_map = load_map(target)
    topic_map.manifest["title"] = TITLE
    rewrite_map(topic_map, target)
    return target


@pytest.fixture
def tab(browser, server):
    with opened(browser, server.url, check=loads_nothing_external) as page:
        yield page


def open_map(tab: Tab, path: str = "/", *, size: tuple[int, int] | None = None) -> None:
    if size is not None:
        tab.page.set_viewport_size({"width": size[0], "height": size[1]})
    tab.open(path, min_points=240)
    tab.page.wait_for_function(f"() => {GD}.dataset.tmDraws", timeout=WAIT)
    tab.settle(800)


def labels(tab: Tab) -> list[dict]:
    return tab.page.evaluate(LABELS_JS)


def overlapping(boxes: list[dict]) -> list[tuple[dict, dict]]:
    """Pairs of boxes that overlap by more than a pixel."""
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[:i]
            if a["left"] + 1 < b["right"] and b["left"] + 1 < a["right"]
            and a["top"] + 1 < b["bottom"] and b["top"] + 1 < a["bottom"]]


# --------------------------------------------------------------------------- first sight


def test_the_page_is_titled_with_the_corpus_not_the_folder(tab):
    open_map(tab)
    heading = tab.page.locator("[data-testid='stMainBlockContainer'] h2").first.inner_text()
    assert heading.strip() == TITLE  # shown as the characters it is: no markup
    assert TITLE in tab.page.title() and "layers" not in tab.page.title()
    assert tab.page.locator("h2 b").count() == 0


@pytest.mark.parametrize("size", [(1366, 768), (1400, 900)])
def test_the_whole_map_is_above_the_fold_and_at_least_half_the_window_wide(tab, size):
    open_map(tab, size=size)
    plot = tab.page.evaluate(PLOT_JS)
    tab.shot(f"map-landing-{size[0]}x{size[1]}")
    assert plot["bottom"] <= size[1], plot  # nothing of the map below the fold
    assert plot["width"] >= size[0] / 2, plot
    assert plot["height"] >= 400, plot


def test_the_landing_view_names_several_layers_without_overlap(tab, map_path):
    """Broad names and finer ones at once, larger broad ones, none covering another, none
    cut by the plot's edge; a wheel zoom into the centre always has names."""
    open_map(tab, size=(1366, 768))
    plot = tab.page.evaluate(PLOT_JS)
    shown = labels(tab)
    depths = {item["d"] for item in shown}
    assert {0, 1} <= depths, shown  # the themes and the layer below, from the start
    # A child that is all of its parent and has its name is the same name in the same place.
    topic_map = load_map(map_path)
    n_names = len({name for level in ("theme", "layer_1")
                   for name in topic_map.level(level)["label"]})
    assert len(shown) >= min(n_names, 6), shown
    assert not overlapping([item["r"] for item in shown])
    top = tab.page.evaluate("() => window.scrollY")
    for item in shown:  # inside the plot
        r = item["r"]
        assert plot["left"] <= r["left"] and r["right"] <= plot["right"], item
        assert plot["top"] <= r["top"] + top and r["bottom"] + top <= plot["bottom"], item
    height = {d: max(i["r"]["height"] / max(1, round(i["r"]["height"] / 16)) for i in shown
                     if i["d"] == d) for d in depths}
    assert height[0] > height[1], height  # broad names are written larger
    # Wheel steps into the centre: names at every step, never covering each other.
    tab.page.mouse.move(plot["left"] + plot["width"] / 2, plot["top"] + plot["height"] / 2 - top)
    counts = []
    for _ in range(8):
        for _ in range(3):
            tab.page.mouse.wheel(0, -100)
            tab.page.wait_for_timeout(40)
        tab.page.wait_for_timeout(400)
        now = labels(tab)
        counts.append(len(now))
        assert not overlapping([item["r"] for item in now])
    tab.shot("map-zoomed-centre")
    assert min(counts) >= 3, counts


# --------------------------------------------------------------------------- hover over names

# Hover the point nearest the centre of the name `k`, then, at the middle of each part of
# the hover box that a name overlaps, which is painted on top: the hover box or a name.
HOVER_UNDER_NAME_JS = """([sel, k]) => {
  const gd = document.querySelector(sel);
  const el = Array.from(gd.querySelectorAll('.tm-label')).find(e => e.dataset.key === k);
  const r = el.getBoundingClientRect(), box = gd.querySelector('.nsewdrag').getBoundingClientRect();
  const fl = gd._fullLayout, cx = (r.left + r.right) / 2 - box.left, cy = (r.top + r.bottom) / 2 - box.top;
  let best = null;
  for (const t of gd._fullData) {
    if (!t.customdata || !['scatter', 'scattergl'].includes(t.type)) continue;
    for (let i = 0; i < t._length; i++) {
      const d = Math.hypot(fl.xaxis.d2p(t.x[i]) - cx, fl.yaxis.d2p(t.y[i]) - cy);
      if (!best || d < best.d) best = {d, x: t.x[i], y: t.y[i]};
    }
  }
  window.Plotly.Fx.hover(gd, {xval: best.x, yval: best.y});
  return best.d;
}"""
ON_TOP_JS = """(sel) => {
  const gd = document.querySelector(sel);
  const hover = gd.querySelector('.hoverlayer .hovertext');
  if (!hover) return null;
  const h = hover.getBoundingClientRect(), out = [];
  const style = document.createElement('style');  // hit-testing follows the painting order
  style.textContent = '.tm-overlay, .tm-label, .hoverlayer, .hoverlayer * {pointer-events: auto !important}';
  document.head.appendChild(style);
  for (const el of gd.querySelectorAll('.tm-label')) {
    if (el.hidden) continue;
    const r = el.getBoundingClientRect();
    // (inside the box less its pointer, a small triangle on its left or right side)
    const x0 = Math.max(r.left, h.left + 10), x1 = Math.min(r.right, h.right - 10);
    const y0 = Math.max(r.top, h.top), y1 = Math.min(r.bottom, h.bottom);
    if (x1 - x0 < 4 || y1 - y0 < 4) continue;
    const top = document.elementFromPoint((x0 + x1) / 2, (y0 + y1) / 2);
    out.push({name: el.textContent, hover: !!(top && top.closest('.hoverlayer')),
              top: top ? top.tagName + '.' + (top.getAttribute('class') || '') : null});
  }
  style.remove();
  return out;
}"""


def hover_checks(page, sel: str, keys: list[str]) -> list[dict]:
    """For each name, hover the point under it: is the hover box on top of every name?"""
    found = []
    for key in keys:
        page.evaluate("(sel) => window.Plotly.Fx.unhover(document.querySelector(sel))", sel)
        page.evaluate(HOVER_UNDER_NAME_JS, [sel, key])
        page.wait_for_function(f"() => document.querySelector({sel!r} + ' .hoverlayer .hovertext')",
                               timeout=10_000)
        found += page.evaluate(ON_TOP_JS, sel) or []
    return found


def test_the_hover_box_is_above_every_name(tab, tmp_path):
    """On the page and in the exported HTML map (issue 20, item 1)."""
    open_map(tab)
    sel = ".st-key-map_chart .js-plotly-plot"
    keys = [item["k"] for item in labels(tab)]
    found = hover_checks(tab.page, sel, keys)
    tab.shot("map-hover-over-names")
    assert found, "no hover box met a name"
    assert [item for item in found if not item["hover"]] == []
    tab.page.evaluate("(sel) => window.Plotly.Fx.unhover(document.querySelector(sel))", sel)
    with exported_map(tab, tmp_path, wait=WAIT) as offline:
        keys = offline.page.evaluate("() => Array.from(document.querySelectorAll('.tm-label'))"
                                     ".filter(e => !e.hidden).map(e => e.dataset.key)")
        exported = hover_checks(offline.page, ".js-plotly-plot", keys)
        offline.shot("map-export-hover-over-names")
    assert exported, "no hover box met a name"
    assert [item for item in exported if not item["hover"]] == []


# --------------------------------------------------------------------------- filtered names


def test_a_theme_and_its_cluster_kept_on_the_map_never_cover_each_other(tab, map_path):
    """Filter to a theme, then to its largest cluster (whose name sits where the theme's
    does): both names stay on the map, apart, also after "Fit the map to the filter"."""
    topic_map = load_map(map_path)
    theme = topic_map.level("theme").sort_values("size").iloc[-1]
    clusters = topic_map.level("cluster")
    docs = topic_map.documents
    inside = clusters[clusters["id"].isin(docs.loc[docs["theme"] == theme["id"], "cluster"])]
    cluster = inside.sort_values("size").iloc[-1]
    open_map(tab, f"/?theme={theme['id']}&cluster={cluster['id']}")
    tab.page.wait_for_function(f"() => Number({GD}.dataset.tmDimmed) > 0", timeout=WAIT)
    tab.settle(500)
    wanted = {f"theme:{theme['id']}", f"cluster:{cluster['id']}"}

    def kept() -> list[dict]:
        shown = [item for item in labels(tab) if item["focus"]]
        assert {item["k"] for item in shown} == wanted, shown
        return shown

    assert not overlapping([item["r"] for item in labels(tab)]), labels(tab)
    assert not overlapping([item["r"] for item in kept()])
    tab.page.locator(".tm-fit").click()
    tab.page.wait_for_function(f"() => Number({GD}.dataset.tmZoom) > 1.5", timeout=WAIT)
    tab.settle(500)
    tab.shot("map-theme-and-cluster-fitted")
    assert not overlapping([item["r"] for item in kept()])
    assert not overlapping([item["r"] for item in labels(tab)]), labels(tab)


# --------------------------------------------------------------------------- links


RANGE_JS = f"""() => {{ const fl = {GD}._fullLayout;
  return [...fl.xaxis.range, ...fl.yaxis.range]; }}"""
SHOWN_JS = f"""() => {{ const gd = {GD};
  const n = gd._fullData.filter(t => !['search results', 'open paper', 'reading list']
    .includes(t.name)).reduce((a, t) => a + t._length, 0);
  return n - Number(gd.dataset.tmDimmed || 0); }}"""


def test_a_link_brings_back_the_zoom_the_topic_and_the_years(tab, map_path):
    """``?node=`` zooms to the topic as well as highlighting it; the year range goes into
    the URL, and a reload shows the same papers (issue 20, item 8)."""
    topic_map = load_map(map_path)
    docs = topic_map.documents
    middle = topic_map.level("layer_1").sort_values("size").iloc[0]  # one blob
    key = f"layer_1:{middle['id']}"
    members = docs[docs["layer_1"] == middle["id"]]
    low, high = int(docs["year"].min()) + 1, int(docs["year"].max()) - 2
    open_map(tab, f"/?node={key}&years={low}-{high}")
    tab.page.wait_for_function(f"() => Number({GD}.dataset.tmZoom) > 1.3", timeout=WAIT)
    tab.settle(500)
    x0, x1, y0, y1 = tab.page.evaluate(RANGE_JS)
    assert members["x"].between(min(x0, x1), max(x0, x1)).mean() > 0.9  # zoomed to it
    assert members["y"].between(min(y0, y1), max(y0, y1)).mean() > 0.9
    assert [item["k"] for item in labels(tab) if item["focus"]] == [key]  # highlighted
    expected = int(((docs["layer_1"] == middle["id"])
                    & docs["year"].between(low, high)).sum())
    tab.page.wait_for_function(f"() => ({SHOWN_JS})() === {expected}", timeout=WAIT)
    assert f"years={low}-{high}" in tab.page.url
    tab.shot("map-link-node-years")
    # Narrow the years with the slider: the URL follows, and a reload keeps the papers.
    thumb = tab.page.locator("input[type=range][aria-label^='Years']").first
    thumb.focus()
    thumb.press("ArrowRight")
    tab.page.wait_for_url(f"**years={low + 1}-{high}**", timeout=WAIT)
    tab.settle(500)
    shown = int(tab.page.evaluate(SHOWN_JS))
    tab.page.reload()
    tab.page.wait_for_function(f"() => {GD} && {GD}.dataset.tmDraws", timeout=WAIT)
    tab.page.wait_for_function(f"() => ({SHOWN_JS})() === {shown}", timeout=WAIT)
    assert f"years={low + 1}-{high}" in tab.page.url


# --------------------------------------------------------------------------- scrolled


def inked(png: bytes, box: dict) -> int:
    """How many pixels of ``box`` (window pixels) in a screenshot of the window are not
    white. (A screenshot clipped to the box would be drawn anew for the capture, not
    taken from what the window shows.)"""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L").crop(
        (round(box["x"]), round(box["y"]), round(box["x"] + box["width"]),
         round(box["y"] + box["height"])))
    return sum(image.histogram()[:235])


def test_the_map_stays_drawn_when_scrolled_partly_out_of_view(tab):
    """After a box selection lists papers below the map, scrolling the map partly out of the
    window leaves what is still in it drawn (issue 20, item 10: a WebGL canvas went blank
    there under software compositing, as in headless Chromium)."""
    open_map(tab, size=(1366, 768))
    tab.page.locator(".js-plotly-plot").first.hover()
    tab.page.locator(".js-plotly-plot [data-title='Box Select']").first.click()
    plot = tab.page.evaluate(PLOT_JS)
    tab.page.mouse.move(plot["left"] + 3, plot["top"] + 3)
    tab.page.mouse.down()
    tab.page.mouse.move(plot["right"] - 3, plot["bottom"] - 3, steps=8)
    tab.page.mouse.up()
    tab.page.get_by_text("Selected papers", exact=False).first.wait_for(timeout=WAIT)
    tab.settle(1500)
    # Only the points count: names and the selection's outline are drawn in HTML and SVG.
    tab.page.add_style_tag(content=".tm-overlay, .selectionlayer, .zoomlayer, .modebar "
                                   "{visibility: hidden !important}")
    scroller = "document.querySelector('[data-testid=stMain]')"
    tab.page.evaluate(f"() => {scroller}.scrollTo(0, 0)")
    tab.page.wait_for_timeout(800)
    top = tab.page.evaluate(PLOT_JS)
    band = {"x": top["left"], "width": top["width"], "height": top["height"] * 0.33,
            "y": top["top"] + top["height"] * 0.65}  # the lower third, before the scroll
    before = inked(tab.page.screenshot(), band)
    shift = round(top["height"] * 0.45)
    tab.page.evaluate(f"() => {scroller}.scrollBy(0, {shift})")
    tab.page.wait_for_timeout(1500)
    moved = tab.page.evaluate(PLOT_JS)
    assert moved["top"] < top["top"] - shift / 2, (top, moved)  # it did scroll
    after = inked(tab.page.screenshot(), {**band, "y": band["y"] - (top["top"] - moved["top"])})
    tab.shot("map-scrolled-partly-out")
    assert before > 300
    assert after > 0.8 * before, (after, before)
