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
from test_browser import Tab, loads_nothing_external, opened, serve

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


@pytest.fixture(scope="module")
def server(map_path, tmp_path_factory, browser):
    yield from serve(map_path, tmp_path_factory.mktemp("cwd"), fake_search=True)


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
    n_nodes = sum(len(load_map(map_path).level(level)) for level in ("theme", "layer_1"))
    assert len(shown) >= min(n_nodes, 6), shown
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
