"""Many readers, in small (issue 5): a few concurrent sessions against one app process.

The full measurement (20 sessions on the 9,852-paper map, real browsers too) is
``benchmarks/load_test.py``; this runs the same code briefly on the small test
map: every rerun finishes without an exception and sends exactly the papers
each filter lets through, and idle sessions share the map instead of copying it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import load_test  # noqa: E402


def test_concurrent_sessions_get_their_pages_without_errors(small_map):
    args = load_test.parse_args(["--map", str(small_map), "--sessions", "4", "--browsers", "0",
                                 "--seconds", "15", "--think", "0.5",
                                 "--no-warm-drill"])
    # The app's search uses the fake embedder the test map was built with: it runs with
    # that backend registered.
    report = load_test.load_test(args, streamlit=(str(ROOT / "tests" / "fake_streamlit.py"),))
    assert report["errors"] == 0, report["error_examples"]
    timings = report["timings"]
    assert timings["filter change"]["n"] >= 4 and timings["search"]["n"] >= 1
    assert timings["drill-down"]["n"] >= 1
    # Idle sessions: a few MiB at most in all, not a copy of the map and model each. The
    # first session's work in the background (the search index and its imports, once per
    # process) ends while the second opens, so the ramp is read from the second on.
    ramp = report["idle_session_ramp_mib"]
    assert ramp[-1] - ramp[1] < 30, ramp
