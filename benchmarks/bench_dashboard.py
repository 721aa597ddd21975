"""How fast the dashboard draws, filters, zooms and drills in a real browser (headless Chromium).

    nice .venv/bin/python benchmarks/bench_dashboard.py --map maps/cs_venues [--runs 5]
    nice .venv/bin/python benchmarks/bench_dashboard.py --map OLD_MAP --app OLD_CHECKOUT

``--app DIR`` serves the ``dashboard.py`` of another checkout (e.g. ``git archive`` of an
older commit unpacked somewhere), with that checkout's own code, so the same script
measures before and after a change; give it a map that checkout can read.

What is measured (Streamlit started here on a free loopback port, driven by Playwright with
Debian's /usr/bin/chromium, 1500x1000 viewport), medians of ``--runs``:

- **first plot** (cold: the first navigation after the server started; warm: a fresh
  browser profile; same tab: navigating again in one tab): from ``navigationStart`` to
  the animation frame in which the Plotly graph holds every paper drawn;
- **filter change**: from the click on a theme in the sidebar's *Themes* filter to the
  frame in which the map shows exactly that theme's papers (a different theme each run),
  then from the click on its remove button to the frame showing every paper. "Shows":
  the points drawn where filters redraw the figure; the papers not dimmed where the
  browser dims them (``data-tm-dimmed`` on the graph, set by ``ui/static/zoomlabels.js``);
- **zoom with labels**: from a zoom into a quarter of the map (``Plotly.relayout``, as a
  wheel does) to the frame with a finer layer's names drawn than at landing (where names
  follow the zoom), or to Plotly's redraw (where they do not: 0 finer names); and back;
- **drill-down, first visit**: a new tab opening the drill-down of the largest broad topic,
  to the frame in which its sub-topics are shown (the sub-topics table where they are
  read from the map's layers; the re-mapped sub-map where they are computed); and, where
  the map has a topic tree, the second largest topic reached from it (click in the tree,
  then its *Its sub-topics* link: from that click);
- for each interaction: WebSocket bytes the browser received, the server's CPU seconds,
  and the reruns the browser asked for (Streamlit ``rerun_script`` messages).

Not part of ``make test``: timings depend on the machine (printed with the numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from dashboard_client import Server, cpu_seconds  # noqa: E402

OVERVIEW_POINTS = 20_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
GRAPH = "(document.querySelector('.st-key-map_chart .js-plotly-plot') || " \
        "document.querySelector('.js-plotly-plot'))"
COUNT_JS = f"""() => {{
  const gd = {GRAPH};
  if (!gd || !gd._fullData) return -1;
  return gd._fullData.filter(t => !['search results', 'open paper', 'reading list'].includes(t.name))
    .reduce((a, t) => a + t._length, 0);
}}"""
# Papers shown: drawn and not dimmed.
SHOWN_JS = f"""() => {{ const gd = {GRAPH}; const n = ({COUNT_JS})();
  return gd && gd.dataset.tmSeq !== undefined ? n - Number(gd.dataset.tmDimmed || 0) : n; }}"""
ZOOM_JS = f"""async ([cx, cy]) => {{
  const gd = {GRAPH}, fl = gd._fullLayout;
  const w = (fl.xaxis.range[1] - fl.xaxis.range[0]) / 4, h = (fl.yaxis.range[1] - fl.yaxis.range[0]) / 4;
  window.__drawn = false; gd.on('plotly_afterplot', () => {{ window.__drawn = true; }});
  window.__t0 = performance.now();
  window.Plotly.relayout(gd, {{'xaxis.range': [cx - w, cx + w], 'yaxis.range': [cy - h, cy + h]}});
}}"""
BACK_JS = f"""() => {{ const gd = {GRAPH}; window.__drawn = false; window.__t0 = performance.now();
  window.Plotly.relayout(gd, {{'xaxis.autorange': true, 'yaxis.autorange': true}}); }}"""
FINER_JS = f"() => Number(({GRAPH}).dataset.tmFiner || 0)"
# The finest layer named in view (apps before layers' names at landing: 1 when any finer
# name is drawn, else 0).
DEEPEST_JS = f"""() => {{ const d = ({GRAPH}).dataset;
  return d.tmDeepest !== undefined ? Number(d.tmDeepest) : Number(d.tmFiner || 0) > 0 ? 1 : 0; }}"""
ANNOTATIONS_JS = "() => document.querySelectorAll('.js-plotly-plot g.annotation').length"


class Page:
    """A browser page that counts WebSocket bytes received and reruns asked for."""

    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1500, "height": 1000})
        self.received = 0
        self.reruns = 0
        self.page.on("websocket", lambda ws: (ws.on("framereceived", self._received),
                                              ws.on("framesent", self._sent)))
        self.url = url

    def _received(self, payload) -> None:
        self.received += len(payload) if payload is not None else 0

    def _sent(self, payload) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if isinstance(payload, bytes | bytearray):
            message = BackMsg()
            try:
                message.ParseFromString(bytes(payload))
            except Exception:  # noqa: BLE001 - not a BackMsg
                return
            self.reruns += message.WhichOneof("type") == "rerun_script"

    def first_plot(self, n_points: int, url: str | None = None) -> float:
        """Milliseconds from navigationStart to the frame with every point drawn."""
        self.page.goto(url or self.url)
        self.page.wait_for_function(f"() => ({COUNT_JS})() === {n_points}", polling="raf",
                                    timeout=300_000)
        return float(self.page.evaluate("() => performance.now()"))

    def wait_shown(self, n_points: int) -> None:
        self.page.wait_for_function(f"() => ({SHOWN_JS})() === {n_points}", polling="raf",
                                    timeout=120_000)

    def overlay(self) -> bool:
        return bool(self.page.evaluate(f"() => ({GRAPH}).dataset.tmDraws !== undefined"))


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    return {"cpu": cpu, "cores": os.cpu_count(), "load_avg": os.getloadavg(),
            "python": platform.python_version(), "chromium": version.strip()}


def measure(page: Page, server: Server, action, *, settle_ms: int = 700) -> dict:
    """Run ``action`` (returns ms); the bytes received, server CPU and reruns it took."""
    before = (page.received, cpu_seconds(server.process.pid), page.reruns)
    ms = action()
    page.page.wait_for_timeout(settle_ms)
    return {"ms": ms, "bytes": page.received - before[0],
            "server_cpu_s": cpu_seconds(server.process.pid) - before[1],
            "reruns": page.reruns - before[2]}


def summary(rows: list[dict]) -> dict:
    return {"median_ms": round(statistics.median(r["ms"] for r in rows)),
            "runs_ms": [round(r["ms"]) for r in rows],
            "bytes_median": int(statistics.median(r["bytes"] for r in rows)),
            "server_cpu_s_median": round(statistics.median(r["server_cpu_s"] for r in rows), 3),
            "reruns_max": max(r["reruns"] for r in rows)}


def filter_changes(page: Page, server: Server, targets, n_all: int) -> tuple[list, list]:
    select, back = [], []
    for label, n_theme in targets:
        page.page.locator("[data-testid='stMultiSelect']").first.click()
        option = page.page.locator("[role='option']").filter(
            has_text=re.compile(re.escape(label) + "$"))

        def pick(option=option, n_theme=n_theme) -> float:
            start = time.perf_counter()
            option.first.click()
            page.wait_shown(n_theme)
            return (time.perf_counter() - start) * 1000

        select.append(measure(page, server, pick))
        page.page.keyboard.press("Escape")
        remove = page.page.locator(
            "[data-testid='stMultiSelect'] button[aria-label^='Remove']").first

        def unpick(remove=remove) -> float:
            start = time.perf_counter()
            remove.click()
            page.wait_shown(n_all)
            return (time.perf_counter() - start) * 1000

        back.append(measure(page, server, unpick))
    return select, back


def zooms(page: Page, server: Server, centre: tuple[float, float], runs: int) -> dict:
    """Zoom into a quarter of the map around ``centre`` and back, ``runs`` times."""
    labels = page.overlay()
    start = int(page.page.evaluate(DEEPEST_JS)) if labels else 0
    done = f"() => ({DEEPEST_JS})() > {start}" if labels else "() => window.__drawn"
    undone = f"() => ({DEEPEST_JS})() === {start}" if labels else "() => window.__drawn"
    ins, outs, finer, broad = [], [], [], []
    for _ in range(runs):
        def zoom_in() -> float:
            page.page.evaluate(ZOOM_JS, list(centre))
            page.page.wait_for_function(done, polling="raf", timeout=30_000)
            return float(page.page.evaluate("() => performance.now() - window.__t0"))

        ins.append(measure(page, server, zoom_in, settle_ms=400))
        finer.append(page.page.evaluate(FINER_JS) if labels else 0)

        def zoom_out() -> float:
            page.page.evaluate(BACK_JS)
            page.page.wait_for_function(undone, polling="raf", timeout=30_000)
            return float(page.page.evaluate("() => performance.now() - window.__t0"))

        outs.append(measure(page, server, zoom_out, settle_ms=400))
        broad.append(page.page.evaluate(FINER_JS) if labels else 0)
    return {"names_follow_zoom": labels, "in": summary(ins), "out": summary(outs),
            "finer_names_zoomed": finer, "finer_names_back": broad,
            "annotations": page.page.evaluate(ANNOTATIONS_JS)}


# A drill-down shows its sub-topics: the table of them (read from the layers), or the
# re-mapped sub-map (where they are computed).
SUBTOPICS_JS = """() => { const t = document.querySelectorAll("[data-testid='stDataFrame']");
  const sub = Array.from(document.querySelectorAll('h3'))
    .some(h => h.textContent.trim() === 'Sub-topics');
  const remap = document.querySelector('.st-key-drill_map .js-plotly-plot');
  return (sub && document.querySelector("[class*=st-key-drill_sub_]")) ||
         (!sub && remap && remap._fullData && remap._fullData.length > 0); }"""


def drill_first_visit(browser, url: str, server: Server, theme: int) -> dict:
    """A new tab opening the largest theme's drill-down (from navigationStart)."""
    page = Page(browser, url)
    try:
        def visit() -> float:
            page.page.goto(f"{url}/Drill_down?drill=theme:{theme}")
            page.page.wait_for_function(SUBTOPICS_JS, polling="raf", timeout=600_000)
            return float(page.page.evaluate("() => performance.now()"))

        return measure(page, server, visit)
    finally:
        page.page.close()


def drill_from_tree(browser, url: str, server: Server, theme: int, n_points: int) -> dict | None:
    """On the map, the theme clicked in the topic tree, then its *Its sub-topics* link: from
    the click on the link to its sub-topics shown (the app's own page switch)."""
    page = Page(browser, url)
    try:
        page.first_plot(n_points)
        tree = page.page.locator(f".st-key-view_tree .row[data-key='theme:{theme}'] .name")
        try:
            tree.first.wait_for(timeout=30_000)
        except Exception:  # noqa: BLE001 - no tree in this version of the app
            return None
        tree.first.click()
        link = page.page.get_by_role("link", name="Its sub-topics")
        link.wait_for(timeout=60_000)
        page.page.wait_for_timeout(1000)

        def visit() -> float:
            start = time.perf_counter()
            link.click()
            page.page.wait_for_function(SUBTOPICS_JS, polling="raf", timeout=600_000)
            return (time.perf_counter() - start) * 1000

        return measure(page, server, visit)
    finally:
        page.page.close()


def flat_keys(results: dict, limit: int) -> dict:
    """The headline numbers under the flat names ``benchmarks/scale_dashboard.py`` reads."""
    get = results.get
    return {"overview_points": limit,
            "first_plot_cold_ms": round(get("first_plot_cold", {}).get("ms", 0)),
            "first_plot_warm_median_ms": get("first_plot_warm", {}).get("median_ms"),
            "first_page_bytes_median": get("first_plot_warm", {}).get("bytes_median"),
            "select_theme_median_ms": get("filter_select_theme", {}).get("median_ms"),
            "select_theme_bytes_median": get("filter_select_theme", {}).get("bytes_median"),
            "back_to_all_median_ms": get("filter_back_to_all", {}).get("median_ms"),
            "back_to_all_bytes_median": get("filter_back_to_all", {}).get("bytes_median")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", required=True, type=Path, help="map directory")
    parser.add_argument("--app", type=Path, default=ROOT,
                        help="checkout whose dashboard.py is served (default: this one)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--overview-points", type=int, default=OVERVIEW_POINTS,
                        help="the dashboard's overview threshold (0 draws every paper)")
    args = parser.parse_args()
    map_path = args.map.resolve()
    documents = pd.read_parquet(map_path / "documents.parquet", columns=["x", "y", "theme"])
    clusters = pd.read_parquet(map_path / "clusters.parquet")
    themes = clusters[clusters["level"] == "theme"].sort_values(["size", "id"],
                                                                ascending=[False, True])
    n_all = len(documents)
    limit = args.overview_points
    drawn = (lambda n: min(n, limit)) if limit > 0 else (lambda n: n)
    picks = [themes.iloc[i % len(themes)] for i in range(args.runs)]
    targets = [(f"{t['label']} ({int(t['size']):,})",
                drawn(int((documents["theme"] == t["id"]).sum()))) for t in picks]
    # Zoom around the largest finest cluster: its names are among those a zoom reveals.
    fine = documents.assign(c=pd.read_parquet(map_path / "documents.parquet",
                                              columns=["cluster"])["cluster"])
    largest = fine[fine["c"] >= 0]["c"].value_counts().index[0]
    centre = (float(fine.loc[fine["c"] == largest, "x"].median()),
              float(fine.loc[fine["c"] == largest, "y"].median()))

    from playwright.sync_api import sync_playwright

    log = Path(tempfile.gettempdir()) / f"bench-dashboard-{os.getpid()}.log"
    server = Server(map_path, log, app=args.app.resolve(),
                    extra=["--overview-points", str(limit)])
    results: dict = {"map": str(map_path), "app": str(args.app.resolve()), "papers": n_all,
                     "points_drawn": drawn(n_all), "machine": machine(),
                     "themes_selected": [label for label, _ in targets]}
    try:
        server.wait_healthy()
        url = server.url
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            cold = Page(browser, f"{url}/")
            results["first_plot_cold"] = measure(cold, server,
                                                 lambda: cold.first_plot(drawn(n_all)))
            cold.page.close()
            warm = []
            for _ in range(args.runs):
                page = Page(browser, f"{url}/")
                warm.append(measure(page, server, lambda p=page: p.first_plot(drawn(n_all))))
                page.page.close()
            results["first_plot_warm"] = summary(warm)
            page = Page(browser, f"{url}/")
            page.first_plot(drawn(n_all))
            page.page.wait_for_timeout(1000)
            results["first_plot_same_tab"] = summary(
                [measure(page, server, lambda: page.first_plot(drawn(n_all)))
                 for _ in range(args.runs)])
            page.page.wait_for_timeout(1500)
            select, back = filter_changes(page, server, targets, drawn(n_all))
            results["filter_select_theme"] = summary(select)
            results["filter_back_to_all"] = summary(back)
            results["zoom_with_labels"] = zooms(page, server, centre, args.runs)
            page.page.close()
            results["drill_down_first_visit_new_tab"] = drill_first_visit(
                browser, url, server, int(themes.iloc[0]["id"]))
            results["drill_down_from_the_tree"] = drill_from_tree(
                browser, url, server, int(themes.iloc[1 % len(themes)]["id"]), drawn(n_all))
            browser.close()
    finally:
        server.stop()
    results.update(flat_keys(results, limit))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
