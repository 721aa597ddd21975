"""The dashboard in a real browser: headless Chromium driven by Playwright.

Each server is ``streamlit run dashboard.py`` on a free loopback port, started
from a temporary directory (the app must not depend on the working directory)
and always stopped in teardown. Skipped, with the reason, when
/usr/bin/chromium is not installed (``make browser`` installs it).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from conftest import CHROMIUM, HTML_PAYLOADS

from pipeline import load_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
FAKE_STREAMLIT = ROOT / "tests" / "fake_streamlit.py"  # the app, with the fake backend
SPECIAL_TRACES = ("search results", "open paper", "reading list")

# Number of papers drawn, read from Plotly's own trace data in the page.
COUNT_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullData) return -1;
  return gd._fullData.filter(t => !SPECIAL.includes(t.name)).reduce((a, t) => a + t._length, 0);
}""".replace("SPECIAL", json.dumps(SPECIAL_TRACES))
# Papers the map shows: drawn and not dimmed by a filter (ui/static/zoomlabels.js marks the
# graph with how many it dimmed).
SHOWN_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  const n = (COUNT)();
  return gd && gd.dataset.tmSeq !== undefined ? n - Number(gd.dataset.tmDimmed || 0) : n;
}""".replace("COUNT", COUNT_JS)
# Where the point whose customdata (its row in the map) is `row` is: trace, index, pixels.
POINT_JS = """(row) => {
  const gd = document.querySelector('.js-plotly-plot');
  const fl = gd._fullLayout, box = gd.getBoundingClientRect();
  for (const t of gd._fullData) {
    if (SPECIAL.includes(t.name)) continue;
    const cd = t.customdata;
    for (let i = 0; i < t._length; i++) {
      if (Number(cd[i]) === row) {
        return {curve: t.index, point: i,
                x: box.left + fl._size.l + fl.xaxis.d2p(t.x[i]),
                y: box.top + fl._size.t + fl.yaxis.d2p(t.y[i])};
      }
    }
  }
  return null;
}""".replace("SPECIAL", json.dumps(SPECIAL_TRACES))
# Plotly's own hover on one point, by its trace and index (points of a tight cluster
# overlap under a mouse pointer, and SVG markers tie at coordinates inside several).
FX_HOVER_JS = """(p) => {
  const gd = document.querySelector('.js-plotly-plot');
  window.Plotly.Fx.hover(gd, [{curveNumber: p.curve, pointNumber: p.point}]);
}"""
HOVER_JS = """() => Array.from(document.querySelectorAll('.hoverlayer .hovertext'))
  .map(e => e.textContent).join('\\n')"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """``streamlit run dashboard.py -- --map MAP`` on a free loopback port."""

    def __init__(self, map_path: Path, workdir: Path, *, fake_search: bool = False) -> None:
        self.map_path = map_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"streamlit-{self.port}.log"
        env = dict(os.environ, TOPICMAP_MAPS_DIR=str(map_path.parent),
                   STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        self._log = open(self.log_path, "w")  # closed in stop()
        streamlit = [str(FAKE_STREAMLIT)] if fake_search else ["-m", "streamlit"]
        self.process = subprocess.Popen(
            [sys.executable, *streamlit, "run", str(ROOT / "dashboard.py"),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false", "--", "--map", str(map_path)],
            cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited: {self.log()}")
            with suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            time.sleep(0.3)
        raise RuntimeError(f"streamlit not healthy after {timeout}s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self._log.close()


@contextmanager
def exported_map(tab: Tab, folder: Path, *, wait: int = 180_000):
    """The page's *Interactive map (HTML)* download, saved in ``folder`` and opened from disk
    in a new tab once its map is drawn; the tab is closed after."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab.page.get_by_text("Take it away", exact=False).first.click()
    button = tab.page.get_by_role("button", name="Interactive map (HTML)")
    for attempt in range(3):  # the file is made on the click; once, under a full suite, no
        try:                  # download came in 180 s though the page was idle: click again
            with tab.page.expect_download(timeout=wait // 3) as download:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    target = folder / "map.html"
    download.value.save_as(target)
    offline = Tab(tab.page.context.browser, "file://")
    try:
        offline.page.goto(target.as_uri())
        gd = "document.querySelector('.js-plotly-plot')"
        offline.page.wait_for_function(f"() => {gd} && {gd}.dataset.tmDraws", timeout=wait)
        yield offline
    finally:
        offline.close()


def serve(map_path: Path, workdir: Path, *, fake_search: bool = False,
          ) -> Iterator[AppServer]:
    """The app on ``map_path`` until the generator ends; with ``fake_search``, the app runs
    with the tests' fake embedding backend registered (``tests/fake_streamlit.py``), so
    semantic search embeds queries with the fake embedder the map was built with (no
    model), and the server's log must end without a traceback."""
    server = AppServer(map_path, workdir, fake_search=fake_search)
    try:
        server.wait_healthy()
        yield server
        if fake_search:
            assert "Traceback" not in server.log(), server.log()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def small_server(small_map, tmp_path_factory, browser):
    yield from serve(small_map, tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="module")
def hostile_server(hostile_map, tmp_path_factory, browser):
    yield from serve(hostile_map, tmp_path_factory.mktemp("cwd"))


class Tab:
    """A page that records every request and every dialog, for assertions."""

    def __init__(self, browser, base_url: str) -> None:
        self.base_url = base_url
        self.page = browser.new_page(viewport={"width": 1500, "height": 1000},
                                     accept_downloads=True)
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message),
                                                dialog.dismiss()))

    def open(self, path: str = "/", *, min_points: int = 1) -> None:
        self.page.goto(self.base_url + path)
        self.page.wait_for_function(f"() => ({COUNT_JS})() >= {min_points}", timeout=90_000)
        self.settle()

    def settle(self, ms: int = 600) -> None:
        """Wait until Streamlit has finished its rerun, then a little for Plotly."""
        with suppress(Exception):
            self.page.wait_for_selector("[data-testid='stStatusWidget']", state="detached",
                                        timeout=30_000)
        self.page.wait_for_timeout(ms)

    def count(self) -> int:
        return int(self.page.evaluate(COUNT_JS))

    def hover_row(self, row: int) -> str:
        """The hover label of the paper at ``row`` (Plotly's hover on that exact point)."""
        point = self.page.evaluate(POINT_JS, row)
        assert point is not None, f"row {row} is not on the map"
        self.unhover()
        self.page.evaluate(FX_HOVER_JS, point)
        self.page.wait_for_function(f"() => ({HOVER_JS})().length > 0", timeout=30_000)
        return self.page.evaluate(HOVER_JS)

    def mouse_hover_row(self, row: int) -> str:
        """The hover label after moving the mouse onto the paper at ``row``."""
        point = self.page.evaluate(POINT_JS, row)
        assert point is not None, f"row {row} is not on the map"
        self.unhover()
        self.page.mouse.move(point["x"] + 30, point["y"] + 30)
        self.page.mouse.move(point["x"], point["y"], steps=3)
        self.page.wait_for_function(f"() => ({HOVER_JS})().length > 0", timeout=30_000)
        return self.page.evaluate(HOVER_JS)

    def unhover(self) -> None:
        self.page.mouse.move(2, 2)  # away from the plot: any previous label goes
        self.page.evaluate("() => window.Plotly.Fx.unhover(document.querySelector("
                           "'.js-plotly-plot'))")
        self.page.wait_for_function(f"() => ({HOVER_JS})().length === 0", timeout=30_000)

    def pwned(self) -> bool:
        return self.page.evaluate("() => typeof window.__pwned !== 'undefined'")

    def external_requests(self) -> list[str]:
        local = (self.base_url, "data:", "blob:", "about:")
        return [u for u in self.requests if not u.startswith(local)]

    def close(self) -> None:
        self.page.close()

    def shot(self, name: str) -> None:
        """A screenshot of the page as ``test-artifacts/<name>.png``."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def loads_nothing_external(tab: Tab) -> None:
    assert tab.external_requests() == []  # icons, fonts and scripts come from the app


@contextmanager
def opened(browser, url: str, *, check: Callable[[Tab], None] | None = None,
           ) -> Iterator[Tab]:
    """A tab on ``url``; ``check`` runs on it after the test, and the tab is always closed."""
    tab = Tab(browser, url)
    try:
        yield tab
        if check is not None:
            check(tab)
    finally:
        tab.close()


@pytest.fixture
def tab(browser, small_server):
    with opened(browser, small_server.url) as page:
        yield page


@pytest.fixture
def hostile_tab(browser, hostile_server):
    with opened(browser, hostile_server.url) as page:
        yield page


# --------------------------------------------------------------------------- the map


def test_map_renders_every_point_and_loads_nothing_external(tab, small_map):
    tab.open(min_points=100)
    assert tab.count() == len(load_map(small_map).documents) == 100
    ARTIFACTS.mkdir(exist_ok=True)
    tab.page.screenshot(path=str(ARTIFACTS / "landing.png"))
    # Everything the page loaded (scripts, fonts, plotly.js, data) came from the app.
    assert tab.external_requests() == []
    # A small map is drawn in SVG (a WebGL canvas can go blank scrolled out of view).
    assert tab.page.evaluate("() => document.querySelector('.js-plotly-plot')._fullData"
                             ".every(t => t.type === 'scatter')")


def test_hover_shows_title_and_abstract(tab, small_map):
    docs = load_map(small_map).documents
    tab.open(min_points=100)
    for row in (int(docs.index[docs["cluster"] >= 0][0]), 57):
        text = tab.hover_row(row)
        assert " ".join(docs["title"].iat[row].split()[:3]) in text
        assert " ".join(docs["abstract"].iat[row].split()[:6]) in text
        assert str(int(docs["year"].iat[row])) in text
    # A real mouse over a point shows a paper's label too (whichever point is on top).
    text = tab.mouse_hover_row(57)
    assert any(" ".join(t.split()[:3]) in text for t in docs["title"])


def test_choosing_a_cluster_changes_the_map(tab, small_map):
    tab.open(min_points=100)
    box = tab.page.locator("[data-testid='stMultiSelect']").nth(1)  # Themes, then Clusters
    box.click()
    option = tab.page.locator("[role='option']").filter(has_text=re.compile(r"\(\d+\)$")).first
    label = option.inner_text()
    size = int(label.rsplit("(", 1)[1].rstrip(")").replace(",", ""))
    option.click()
    tab.page.wait_for_function(f"() => ({SHOWN_JS})() === {size}", timeout=60_000)
    assert size < 100 and tab.count() == 100  # the others are dimmed, not removed
    assert "cluster=" in tab.page.url


def test_clicking_a_point_opens_its_paper(tab, small_map):
    docs = load_map(small_map).documents
    tab.open(min_points=100)
    row = int(docs.index[docs["cluster"] >= 0][5])
    # A click selects the point (what on_select hears), also on a chart that replaced the
    # loading figure: Streamlit's own default was lost there, and the click with it.
    assert tab.page.evaluate("() => document.querySelector('.js-plotly-plot')"
                             "._fullLayout.clickmode") == "event+select"
    point = tab.page.evaluate(POINT_JS, row)
    tab.page.mouse.click(point["x"], point["y"])
    title = docs["title"].iat[row]
    tab.page.get_by_text(title, exact=False).first.wait_for(timeout=60_000)
    tab.page.wait_for_function("() => location.search.includes('paper=')", timeout=30_000)
    assert str(docs["id"].iat[row]) in tab.page.url


def test_box_selection_lists_the_selected_papers(tab):
    tab.open(min_points=100)
    tab.page.locator(".js-plotly-plot").first.hover()
    tab.page.locator(".js-plotly-plot [data-title='Box Select']").first.click()
    area = tab.page.evaluate("() => { const r = document.querySelector("
                             "'.js-plotly-plot .nsewdrag').getBoundingClientRect();"
                             " return {x: r.left, y: r.top, w: r.width, h: r.height}; }")
    tab.page.mouse.move(area["x"] + 3, area["y"] + 3)
    tab.page.mouse.down()
    tab.page.mouse.move(area["x"] + area["w"] - 3, area["y"] + area["h"] - 3, steps=8)
    tab.page.mouse.up()
    heading = tab.page.get_by_text(re.compile(r"Selected papers \(\d+\)"))
    heading.first.wait_for(timeout=60_000)
    n = int(re.search(r"\((\d+)\)", heading.first.inner_text()).group(1))
    assert 50 <= n <= 100
    # The downloads come after the table: on a loaded machine the heading shows first.
    tab.page.get_by_role("button", name=re.compile(r"BibTeX \(")).first.wait_for(timeout=60_000)


def test_topics_table_row_drills_down(browser, small_server):
    tab = Tab(browser, small_server.url)
    try:
        tab.page.goto(f"{small_server.url}/Topics")
        table = tab.page.locator("[data-testid='stDataFrame']").first
        table.wait_for(timeout=60_000)
        tab.settle(1500)
        box = table.bounding_box()
        # The row-selection column is left of the first cell; row 1 is below the header.
        tab.page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
        tab.page.wait_for_url(re.compile(r"/Drill_down\?.*drill=theme"), timeout=60_000)
        # The theme's name and why it has it come first; its sub-map follows.
        tab.page.get_by_text("Why this name", exact=False).first.wait_for(timeout=120_000)
    finally:
        tab.close()


# --------------------------------------------------------------------------- hostile text


def test_hostile_text_shows_as_text_and_runs_nothing(hostile_tab, hostile_map, tmp_path):
    docs = load_map(hostile_map).documents
    tab = hostile_tab
    tab.open("/?paper=hostile-img", min_points=100)
    body = tab.page.inner_text("body")
    # The paper panel shows the payload's characters.
    assert HTML_PAYLOADS["img"] in body
    for name, payload in HTML_PAYLOADS.items():
        row = int(docs.index[docs["id"] == f"hostile-{name}"][0])
        hover = tab.hover_row(row)
        flat = re.sub(r"\s+", "", hover)  # hover lines are wrapped: compare without spaces
        assert f"title{name}" in flat and re.sub(r"\s+", "", payload)[:12] in flat, (name, hover)
    for name in HTML_PAYLOADS:
        tab.page.goto(f"{tab.base_url}/?paper=hostile-{name}")
        tab.page.get_by_text(f"title {name}", exact=False).first.wait_for(timeout=60_000)
        tab.settle()
        assert HTML_PAYLOADS[name].split(" ")[0] in tab.page.inner_text("body")
    dom = tab.page.evaluate("""() => ({
        img: document.querySelectorAll('img[src="x"], img[src$="/x"]').length,
        svg: document.querySelectorAll('svg[onload]').length,
        js: Array.from(document.querySelectorAll('a')).filter(
              a => (a.getAttribute('href') || '').toLowerCase().startsWith('javascript')).length,
        inlineScripts: Array.from(document.scripts).filter(s => s.text.includes('__pwned')).length,
    })""")
    assert dom == {"img": 0, "svg": 0, "js": 0, "inlineScripts": 0}
    assert not tab.pwned() and tab.dialogs == []
    assert tab.external_requests() == []  # no Markdown image was fetched


def test_hostile_text_on_other_pages_runs_nothing(hostile_tab, hostile_map):
    hostile = load_map(hostile_map)
    theme = int(hostile.documents.loc[hostile.documents["id"] == "hostile-script", "theme"]
                .iloc[0])
    tab = hostile_tab
    tab.open(f"/Drill_down?drill=theme:{theme}", min_points=1)
    tab.page.get_by_text("Its papers", exact=False).first.wait_for(timeout=240_000)
    tab.page.get_by_text("Representative papers", exact=False).first.wait_for()
    tab.page.goto(f"{tab.base_url}/Topics")
    tab.page.get_by_text("All topics", exact=False).first.wait_for(timeout=60_000)
    tab.settle()
    assert not tab.pwned() and tab.dialogs == []
    assert tab.external_requests() == []


def test_exported_html_works_offline_and_runs_nothing(hostile_tab, hostile_map, tmp_path):
    docs = load_map(hostile_map).documents
    tab = hostile_tab
    tab.open(min_points=100)
    tab.page.get_by_text("Take it away", exact=False).first.click()
    button = tab.page.get_by_role("button", name="Interactive map (HTML)")
    with tab.page.expect_download(timeout=60_000) as download:
        button.click()
    target = tmp_path / "map.html"
    download.value.save_as(target)
    html = target.read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    offline = Tab(tab.page.context.browser, "file://")
    try:
        offline.page.goto(target.as_uri())
        offline.page.wait_for_function(f"() => ({COUNT_JS})() === {len(docs)}", timeout=60_000)
        row = int(docs.index[docs["id"] == "hostile-script"][0])
        assert HTML_PAYLOADS["script"] in offline.hover_row(row)
        assert not offline.pwned() and offline.dialogs == []
        assert [u for u in offline.requests if not u.startswith(("file:", "data:", "blob:"))] \
            == []
    finally:
        offline.close()


def test_landing_screenshot_is_kept():
    """The screenshot artifact exists after the map test (CI keeps test-artifacts/)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    shot = ARTIFACTS / "landing.png"
    assert shot.is_file() and shot.stat().st_size > 10_000
