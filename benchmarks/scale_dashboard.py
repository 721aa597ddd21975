"""The dashboard at two map sizes, side by side, in headless Chromium.

    nice .venv/bin/python benchmarks/scale_dashboard.py MAP_SMALL MAP_LARGE [--runs 5]

For example ``maps/cs_venues`` (9,852 papers) and the 81,667-paper map of
``cs_venues_all.jsonl.gz`` built with ``--model fast`` (docs/scale.md). Each map
is measured by ``benchmarks/bench_dashboard.py`` (the dashboard's own browser
benchmark: time to first plot, filter change, WebSocket bytes; medians of
``--runs``), in a separate process one after the other; this script only runs
it and prints the figures of both maps in one table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = [
    ("papers", "papers"),
    ("points_drawn", "points drawn on the first page"),
    ("first_plot_cold_ms", "first plot, cold server (ms)"),
    ("first_plot_warm_median_ms", "first plot, new session (ms, median)"),
    ("first_page_bytes_median", "bytes to the browser, first page"),
    ("select_theme_median_ms", "filter: select a theme (ms, median)"),
    ("select_theme_bytes_median", "bytes per rerun, select a theme"),
    ("back_to_all_median_ms", "filter: back to all (ms, median)"),
    ("back_to_all_bytes_median", "bytes per rerun, back to all"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maps", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--overview-points", type=int, nargs="+", default=[20_000],
                        help="overview thresholds to measure each map at (0: every point)")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "scale_dashboard.json")
    args = parser.parse_args()
    results = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for map_path in args.maps:
        for limit in args.overview_points:
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
                out = Path(handle.name)
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_dashboard.py"),
                            "--map", str(map_path), "--runs", str(args.runs), "--json", str(out),
                            "--overview-points", str(limit)],
                           check=True, stdout=subprocess.DEVNULL)
            results.append(json.loads(out.read_text()))
            out.unlink()
            # Written after every run, so an interrupted comparison keeps what it measured.
            args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("| | " + " | ".join(f"{Path(r['map']).name} (overview {r.get('overview_points')})"
                              for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for key, title in ROWS:
        print(f"| {title} | " + " | ".join(f"{r.get(key, '–'):,}" if isinstance(r.get(key), int)
                                           else str(r.get(key, "–")) for r in results) + " |")
    print(f"\nmachine: {results[0].get('machine')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
