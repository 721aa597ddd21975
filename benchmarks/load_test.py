"""Many readers: concurrent dashboard sessions against one app process, on loopback.

    .venv/bin/python benchmarks/load_test.py                      # 20 sessions, 120 s
    .venv/bin/python benchmarks/load_test.py --sessions 5 --seconds 30 --browsers 0

Starts ``streamlit run dashboard.py`` on a free 127.0.0.1 port with the map
(default ``maps/cs_venues``, the 9,852-paper venue corpus; build it with
``python -m pipeline build ../shared/data/cs_venues_balanced.csv.gz --embeddings
../shared/data/cs_venues_balanced.all-MiniLM-L6-v2.npy --out maps/cs_venues``),
then runs, for a bounded time:

- ``--sessions`` protocol sessions: each speaks Streamlit's own websocket
  protocol (the messages the browser sends: rerun with a query string, page
  and widget states, and the fragment a widget belongs to) and loops, pausing
  ``--think`` seconds on average between actions as a reader would (0: flat out),
  over filter changes (the words filter and the year range) and semantic searches (the
  browser reruns only the map page's fragment for both) and drill-downs into themes, checking
  that each rerun finishes without an exception and that the map's overlay is told
  exactly the papers the filter lets through (the others are dimmed);
- ``--browsers`` real sessions in one headless Chromium (Playwright), which
  open the map, hover points, change the words filter and drill down.

It reports errors (0 expected), p50/p95 of a filter change (from the widget
change to the finished rerun with the new map), the server's memory (RSS
idle, after the first session, with every session open, and the peak), and
the memory each extra idle session adds (sessions opened one by one before the
load phase; least-squares slope) next to the size of the map in memory:
data and models are cached once per process (``st.cache_resource``), so an
extra session should cost far less than a copy of the map.

Everything runs on loopback; the server is stopped at the end whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dashboard_client import (  # noqa: E402
    SPECIAL_TRACES,
    Results,
    Server,
    Session,
    cpu_seconds,
    papers_shown,
    percentile,
    points_in,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
WORDS = ["learning", "graph", "neural", "language", "robot", "image", "privacy", "network",
         "optimization", "reinforcement", "attention", "quantum", "protein", "security"]
QUERIES = ["robots learning to grasp objects", "privacy of federated learning",
           "graph neural networks for molecules", "translation between languages",
           "adversarial examples for image classifiers", "convex optimization methods"]


async def protocol_session(name: str, port: int, map_name: str, deadline: float,
                           expected: dict, results: Results, rng: random.Random,
                           think: tuple[float, float] = (0.0, 0.0)) -> None:
    session = Session(name, port, map_name, results)
    try:
        await session.connect()
        started = time.monotonic()
        seen = await session.rerun()
        results.add("first page", time.monotonic() - started)
        if not session.check("first page", seen):
            return
        # Widgets keep their last value unless the client sends another, as a browser
        # does: every rerun sends the filters and the search box explicitly.
        full_years = expected["full_years"]

        def widgets(find: str = "", years: tuple = full_years, query: str = "") -> None:
            session.set_widget("view_find", string_value=find)
            session.set_widget("view_years", double_array_value=list(years))
            session.set_widget("view_q", string_value=query)

        step = 0
        while time.monotonic() < deadline:
            step += 1
            await asyncio.sleep(rng.uniform(*think))  # a reader looks before the next change
            if time.monotonic() >= deadline:
                break
            action = ["words", "years", "words", "search", "drill"][step % 5]
            if action in ("words", "years"):
                if action == "words":
                    word = rng.choice([*WORDS, ""])
                    widgets(find=word)
                    want = expected["words"][word]
                else:
                    years = rng.choice(expected["year_ranges"])
                    widgets(years=years)
                    want = expected["years"][years]
                # A filter widget belongs to the map page's fragment: the browser reruns
                # only that (the figure is not sent again; the overlay dims the rest).
                fragment = session.fragments.get("view_find")
                started = time.monotonic()
                seen = await session.rerun(fragment=fragment)
                results.add("filter change", time.monotonic() - started)
                if session.check(action, seen):
                    overlay = seen["components"].get("view_overlay")
                    got = papers_shown(overlay, expected["total"]) if overlay else \
                        points_in(seen["charts"].get("map_chart", "{}"))
                    if got != want:
                        results.error(f"{name} {action}", f"map shows {got} papers, expected {want}")
            elif action == "search":
                widgets(query=rng.choice(QUERIES))
                started = time.monotonic()  # the search box belongs to the fragment too
                seen = await session.rerun(fragment=session.fragments.get("view_q"))
                results.add("search", time.monotonic() - started)
                if session.check("search", seen) and not any(
                        "papers for your search" in m for m in seen["markdown"]):
                    results.error(f"{name} search", "no search results shown")
            else:
                theme = rng.choice(expected["themes"])
                widgets()
                started = time.monotonic()
                seen = await session.rerun(page="/Drill_down", query={"drill": f"theme:{theme}"})
                results.add("drill-down", time.monotonic() - started)
                if session.check("drill-down", seen) and "drill_map" not in seen["charts"]:
                    results.error(f"{name} drill-down", "no map of the theme")
                seen = await session.rerun()  # back to the map page
                session.check("back to the map", seen)
    except Exception as exc:  # noqa: BLE001 - every failure is a counted error
        results.error(name, f"{type(exc).__name__}: {exc}")
    finally:
        await session.close()


# --------------------------------------------------------------------------- browsers


COUNT_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullData) return -1;
  return gd._fullData.filter(t => !SPECIAL.includes(t.name)).reduce((a, t) => a + t._length, 0);
}""".replace("SPECIAL", json.dumps(SPECIAL_TRACES))
# Papers shown (not dimmed by the overlay; every point drawn where there is no overlay).
SHOWN_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullData) return -1;
  const n = gd._fullData.filter(t => !SPECIAL.includes(t.name)).reduce((a, t) => a + t._length, 0);
  return gd.dataset.tmSeq === undefined ? n : n - Number(gd.dataset.tmDimmed || 0);
}""".replace("SPECIAL", json.dumps(SPECIAL_TRACES))
HOVER_ANY_JS = """(k) => {
  const gd = document.querySelector('.js-plotly-plot');
  const t = gd._fullData.find(t => t._length > 0 && !SPECIAL.includes(t.name));
  const i = k % t._length;
  window.Plotly.Fx.hover(gd, {xval: t.x[i], yval: t.y[i]});
  return document.querySelectorAll('.hoverlayer .hovertext').length;
}""".replace("SPECIAL", json.dumps(SPECIAL_TRACES))


async def browser_session(browser, name: str, url: str, map_name: str, deadline: float,
                          expected: dict, results: Results, rng: random.Random) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: results.error(f"{name} page", str(exc)))
    timeout = 240_000
    page.set_default_timeout(timeout)
    page.set_default_navigation_timeout(timeout)
    try:
        started = time.monotonic()
        await page.goto(f"{url}/?map={map_name}")
        await page.wait_for_function(f"() => ({COUNT_JS})() === {expected['total']}",
                                     timeout=timeout)
        results.add("browser first page", time.monotonic() - started)
        while time.monotonic() < deadline:
            for k in range(5):  # hovering is the browser's own work
                await page.evaluate(HOVER_ANY_JS, rng.randrange(10**6) + k)
                await page.wait_for_timeout(100)
            word = rng.choice(WORDS)
            box = page.get_by_label("Words in title or abstract")
            started = time.monotonic()
            await box.fill(word)
            await box.press("Enter")
            await page.wait_for_function(
                f"() => ({SHOWN_JS})() === {expected['words'][word]}", timeout=timeout)
            results.add("browser filter change", time.monotonic() - started)
            await box.fill("")
            await box.press("Enter")
            await page.wait_for_function(f"() => ({SHOWN_JS})() === {expected['total']}",
                                         timeout=timeout)
            if await page.locator("[data-testid='stException']").count():
                results.error(name, "exception shown on the page")
            theme = rng.choice(expected["themes"])
            started = time.monotonic()
            await page.goto(f"{url}/Drill_down?map={map_name}&drill=theme:{theme}")
            await page.get_by_text("Its papers", exact=False).first.wait_for(timeout=timeout)
            results.add("browser drill-down", time.monotonic() - started)
            await page.goto(f"{url}/?map={map_name}")
            await page.wait_for_function(f"() => ({COUNT_JS})() === {expected['total']}",
                                         timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - every failure is a counted error
        results.error(name, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        await context.close()


# --------------------------------------------------------------------------- the run


def expectations(map_path: Path) -> dict:
    """What each filter must leave on the map, computed with the dashboard's own rules."""
    from pipeline import load_map
    from ui.app.loaders import MIN_DRILL_PAPERS
    from ui.core.view import Filters, filter_mask, lowered_text

    topic_map = load_map(map_path)
    docs = topic_map.documents
    text = lowered_text(docs)
    words = {w: int(filter_mask(docs, Filters(text=w), search_text=text).sum())
             for w in [*WORDS, ""]}
    years = docs["year"].dropna()
    low, high = int(years.min()), int(years.max())
    ranges = [(low, high - 1), (low + 1, high), (max(low, high - 3), high),
              (low, max(low, high - 5))]
    ranges = [r for r in ranges if r[0] <= r[1]]
    by_years = {r: int(filter_mask(docs, Filters(years=r), search_text=text).sum())
                for r in ranges}
    themes = topic_map.level("theme")
    themes = themes[themes["size"] >= MIN_DRILL_PAPERS]  # smaller ones have no map to drill into
    memory = docs.memory_usage(deep=True).sum() + topic_map.embeddings.nbytes
    return {"total": len(docs), "words": words, "years": by_years,
            "year_ranges": [(float(a), float(b)) for a, b in ranges],
            "full_years": (float(low), float(high)),
            "themes": themes["id"].astype(int).tolist(), "map_mib": memory / 2**20}


async def run(args: argparse.Namespace, server: Server, expected: dict) -> tuple[Results, dict]:
    results = Results()
    expected = dict(expected)
    expected["years"] = {(float(a), float(b)): n for (a, b), n in expected["years"].items()}
    memory = {"idle_mib": server.rss_mib()}
    rng = random.Random(args.seed)
    map_name = args.map.name

    # One session first: the map and its hover texts load here, once (the first page only).
    warm = Results()
    await protocol_session("warm-up", server.port, map_name, time.monotonic(),
                           expected, warm, random.Random(0))
    memory["first_page_cold_s"] = warm.timings.get("first page", [float("nan")])[0]
    # Drill-downs re-map a theme (UMAP) once per process; do each once here, as a
    # deployment warming its cache would, so the load phase measures steady state.
    session = Session("warm-drill", server.port, map_name, warm)
    await session.connect()
    await session.rerun()
    for theme in expected["themes"] if args.warm_drill else []:
        started = time.monotonic()
        seen = await session.rerun(page="/Drill_down", query={"drill": f"theme:{theme}"})
        warm.add("drill-down cold", time.monotonic() - started)
        session.check(f"warm drill theme {theme}", seen)
    await session.close()
    results.errors += warm.errors
    memory["drill_down_cold_s"] = round(max(warm.timings.get("drill-down cold", [0.0])), 1)
    memory["after_first_session_mib"] = server.rss_mib()

    # Memory per connected session: open them one by one (first page, then idle).
    idle_sessions = []
    ramp = [server.rss_mib()]
    for i in range(args.sessions):
        session = Session(f"idle{i}", server.port, map_name, results)
        await session.connect()
        seen = await session.rerun()
        session.check("idle first page", seen)
        idle_sessions.append(session)
        await asyncio.sleep(0.5)
        ramp.append(server.rss_mib())
    memory["ramp_mib"] = [round(v, 1) for v in ramp]
    memory["idle_sessions_open_mib"] = ramp[-1]
    for session in idle_sessions:
        await session.close()

    cpu_before = cpu_seconds(server.process.pid)
    reruns_before = results.reruns
    deadline = time.monotonic() + args.seconds
    think = (args.think / 2, args.think * 1.5)
    tasks = [protocol_session(f"s{i:02d}", server.port, map_name, deadline, expected, results,
                              random.Random(rng.random()), think)
             for i in range(args.sessions)]
    playwright = browser = None
    if args.browsers:
        if not CHROMIUM.exists():
            results.error("browsers", f"{CHROMIUM} missing; run with --browsers 0")
        else:
            from playwright.async_api import async_playwright

            playwright = await async_playwright().start()
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                       headless=True, args=CHROMIUM_ARGS)
            tasks += [browser_session(browser, f"b{i}", server.url, map_name, deadline,
                                      expected, results, random.Random(rng.random()))
                      for i in range(args.browsers)]

    async def measure_open() -> None:
        await asyncio.sleep(min(30, args.seconds / 2))
        memory["all_sessions_open_mib"] = server.rss_mib()

    try:
        await asyncio.gather(measure_open(), *tasks)
    finally:
        if browser is not None:
            await browser.close()
        if playwright is not None:
            await playwright.stop()
    cpu = cpu_seconds(server.process.pid) - cpu_before
    memory["load_phase_server_cpu_s"] = round(cpu, 1)
    memory["server_cpu_s_per_rerun"] = round(cpu / max(1, results.reruns - reruns_before), 3)
    memory["end_mib"] = server.rss_mib()
    memory["peak_mib"] = server.peak_mib()
    return results, memory


def load_test(args: argparse.Namespace, *, streamlit: tuple[str, ...] = ("-m", "streamlit"),
              ) -> dict:
    """Start the app on ``args.map``, run the sessions, stop it; the numbers as a dict.
    ``streamlit``: how Python starts Streamlit (see ``dashboard_client.Server``)."""
    expected = expectations(args.map)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"load_test_streamlit_{os.getpid()}.log"
    server = Server(args.map, log, streamlit=streamlit)
    try:
        server.wait_healthy()
        results, memory = asyncio.run(run(args, server, expected))
        server_log = server.log_tail(10**7)
    finally:
        server.stop()
    tracebacks = len(re.findall(r"Traceback", server_log))
    if tracebacks:
        results.error("server log", f"{tracebacks} traceback(s); see {log}")

    ramp = memory.pop("ramp_mib")
    # Least-squares slope of RSS over the number of idle sessions open.
    xs = list(range(len(ramp)))
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ramp)
    per_session = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ramp, strict=True)) / \
        max(1e-9, sum((x - mean_x) ** 2 for x in xs))
    return {
        "map": str(args.map), "papers": expected["total"], "sessions": args.sessions,
        "browsers": args.browsers, "seconds": args.seconds, "think_s": args.think,
        "reruns": results.reruns, "load_average": os.getloadavg(),
        "errors": len(results.errors), "error_examples": results.errors[:10],
        "timings": {kind: {"n": len(v), "p50_s": round(percentile(v, 50), 3),
                           "p95_s": round(percentile(v, 95), 3),
                           "max_s": round(max(v), 3), "mean_s": round(statistics.fmean(v), 3)}
                    for kind, v in sorted(results.timings.items()) if v},
        "memory": {k: round(v, 1) for k, v in memory.items()},
        "map_in_memory_mib": round(expected["map_mib"], 1),
        "idle_session_ramp_mib": ramp,
        "added_per_idle_session_mib": round(per_session, 1),
        "server_log": str(log),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", type=Path, default=ROOT / "maps" / "cs_venues")
    parser.add_argument("--sessions", type=int, default=20, help="protocol sessions")
    parser.add_argument("--browsers", type=int, default=2, help="real Chromium sessions too")
    parser.add_argument("--seconds", type=float, default=120, help="how long they run")
    parser.add_argument("--think", type=float, default=3.0,
                        help="mean pause between a session's actions, seconds (0: flat out)")
    parser.add_argument("--no-warm-drill", dest="warm_drill", action="store_false",
                        help="do not drill into every theme once before the load phase")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    args = parser.parse_args(argv)
    args.map = args.map.resolve()
    return args


def main() -> int:
    args = parse_args()
    if not (args.map / "manifest.json").is_file():
        print(f"no map at {args.map}; build it first (see this script's docstring)",
              file=sys.stderr)
        return 2
    report = load_test(args)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if not report["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
