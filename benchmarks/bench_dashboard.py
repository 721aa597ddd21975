"""How fast the dashboard draws a map in a real browser (headless Chromium).

    nice .venv/bin/python benchmarks/bench_dashboard.py --map maps/cs_venues [--runs 5]

Build the 9,852-paper map first, without re-embedding::

    .venv/bin/python -m pipeline build ../shared/data/cs_venues_balanced.csv.gz \\
        --embeddings ../shared/data/cs_venues_balanced.all-MiniLM-L6-v2.npy \\
        --out maps/cs_venues -q

What is measured (Streamlit started here on a free loopback port, driven by
Playwright with Debian's /usr/bin/chromium, 1500x1000 viewport):

- **first plot, cold**: the first navigation after the server started (map
  loaded from disk, hover texts built, every import done);
- **first plot, warm**: a fresh browser profile (a new session, empty HTTP
  cache) navigating to the app, from ``navigationStart`` to the animation
  frame in which the Plotly graph holds every paper (``performance.now()`` in
  the page, polled each frame);
- **first plot, same tab**: the same, navigating again in one tab (the
  browser's HTTP and code caches warm, as for a reader reloading or following
  a shared link);
- **filter change**: from the click on a theme in the sidebar's multiselect to
  the frame in which the graph holds exactly that theme's papers (a different
  theme each run, so a view the browser has not seen), and from the click on
  its remove button to the frame with every paper again (a view seen before:
  Streamlit sends only a reference to a figure the browser already has);
- **bytes**: WebSocket bytes the browser received for the first page and per
  filter change (Streamlit sends the figure as JSON with binary-encoded
  coordinates).

Views of more than ``--overview-points`` papers (the dashboard's default) open on an
overview that draws a sample of that many points: "every paper" and "that theme's
papers" then mean the points the overview draws. ``--overview-points 0`` measures the
map with every point drawn.

Medians of ``--runs`` repetitions; the machine (CPU, cores, load) is printed
with the numbers. Not part of ``make test``: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ui.view import OVERVIEW_POINTS  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
COUNT_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullData) return -1;
  return gd._fullData.filter(t => !['search results', 'open paper', 'reading list'].includes(t.name))
    .reduce((a, t) => a + t._length, 0);
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(map_path: Path, port: int, log: Path, overview_points: int,
                 ) -> subprocess.Popen:
    env = dict(os.environ, TOPICMAP_MAPS_DIR=str(map_path.parent))
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false", "--", "--map", str(map_path),
         "--overview-points", str(overview_points)],
        cwd=tempfile.gettempdir(), env=env, stdout=open(log, "w"),
        stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"streamlit exited; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("streamlit did not become healthy in 180 s")


class Page:
    """A browser page that counts WebSocket bytes received."""

    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1500, "height": 1000})
        self.received = 0
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        self.url = url

    def _frame(self, payload) -> None:
        self.received += len(payload) if payload is not None else 0

    def first_plot(self, n_points: int) -> float:
        """Milliseconds from navigationStart to the frame with every point drawn."""
        self.page.goto(self.url)
        self.page.wait_for_function(f"() => ({COUNT_JS})() === {n_points}", polling="raf",
                                    timeout=300_000)
        return float(self.page.evaluate("() => performance.now()"))

    def wait_count(self, n_points: int) -> None:
        self.page.wait_for_function(f"() => ({COUNT_JS})() === {n_points}", polling="raf",
                                    timeout=120_000)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    return {"cpu": cpu, "cores": os.cpu_count(), "load_avg": os.getloadavg(),
            "python": platform.python_version(), "chromium": version.strip()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", required=True, type=Path, help="map directory")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--overview-points", type=int, default=OVERVIEW_POINTS,
                        help="the dashboard's overview threshold (default %(default)s; "
                             "0 draws every paper)")
    args = parser.parse_args()
    map_path = args.map.resolve()
    documents = pd.read_parquet(map_path / "documents.parquet", columns=["theme"])
    clusters = pd.read_parquet(map_path / "clusters.parquet")
    themes = clusters[clusters["level"] == "theme"].sort_values(["size", "id"],
                                                                ascending=[False, True])
    n_all = len(documents)
    limit = args.overview_points

    def drawn(n: int) -> int:
        """Points the map holds for a view of n papers (the overview draws a sample)."""
        return min(n, limit) if limit > 0 else n

    # One theme per run, never the same twice in a row: each selection is a view the
    # browser has not seen (Streamlit re-sends only figures the browser lacks).
    picks = [themes.iloc[i % len(themes)] for i in range(args.runs)]
    targets = [(f"{t['label']} ({int(t['size']):,})",
                drawn(int((documents["theme"] == t["id"]).sum()))) for t in picks]

    from playwright.sync_api import sync_playwright

    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-dashboard-{port}.log"
    server = start_server(map_path, port, log, limit)
    results: dict = {"map": str(map_path), "papers": n_all, "points_drawn": drawn(n_all),
                     "overview_points": limit, "machine": machine(),
                     "themes_selected": [label for label, _ in targets]}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            cold = Page(browser, f"http://127.0.0.1:{port}/")
            results["first_plot_cold_ms"] = round(cold.first_plot(drawn(n_all)))
            cold.page.close()
            warm, first_bytes = [], []
            for _ in range(args.runs):
                page = Page(browser, f"http://127.0.0.1:{port}/")
                warm.append(page.first_plot(drawn(n_all)))
                page.page.wait_for_timeout(500)
                first_bytes.append(page.received)
                page.page.close()
            # Navigations in one browser tab (its HTTP and code caches warm): a reload.
            page = Page(browser, f"http://127.0.0.1:{port}/")
            page.first_plot(drawn(n_all))
            reload_ms = []
            for _ in range(args.runs):
                page.page.wait_for_timeout(500)
                reload_ms.append(page.first_plot(drawn(n_all)))
            page.page.wait_for_timeout(1500)
            select_ms, select_bytes, back_ms, back_bytes = [], [], [], []
            for label, n_theme in targets:
                # Select one theme: a new view.
                before = page.received
                page.page.locator("[data-testid='stMultiSelect']").first.click()
                option = page.page.locator("[role='option']").filter(
                    has_text=re.compile(re.escape(label) + "$"))
                start = time.perf_counter()
                option.first.click()
                page.wait_count(n_theme)
                select_ms.append((time.perf_counter() - start) * 1000)
                page.page.wait_for_timeout(700)
                select_bytes.append(page.received - before)
                # Remove it again: back to the whole map, a view seen before.
                page.page.keyboard.press("Escape")
                before = page.received
                remove = page.page.locator(
                    "[data-testid='stMultiSelect'] button[aria-label^='Remove']").first
                start = time.perf_counter()
                remove.click()
                page.wait_count(drawn(n_all))
                back_ms.append((time.perf_counter() - start) * 1000)
                page.page.wait_for_timeout(700)
                back_bytes.append(page.received - before)
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    results.update({
        "first_plot_warm_ms": [round(v) for v in warm],
        "first_plot_warm_median_ms": round(statistics.median(warm)),
        "first_page_bytes_median": int(statistics.median(first_bytes)),
        "first_plot_same_tab_ms": [round(v) for v in reload_ms],
        "first_plot_same_tab_median_ms": round(statistics.median(reload_ms)),
        "select_theme_ms": [round(v) for v in select_ms],
        "select_theme_median_ms": round(statistics.median(select_ms)),
        "select_theme_bytes_median": int(statistics.median(select_bytes)),
        "back_to_all_ms": [round(v) for v in back_ms],
        "back_to_all_median_ms": round(statistics.median(back_ms)),
        "back_to_all_bytes_median": int(statistics.median(back_bytes)),
        "filter_change_median_ms": round(statistics.median(select_ms + back_ms)),
    })
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
