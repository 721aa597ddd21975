"""Run the fuzzed-input tests with the ``thorough`` profile and print the cases by format.

    .venv/bin/python benchmarks/fuzz_report.py            # ~3,000 ingest + ~330 CLI cases
    .venv/bin/python benchmarks/fuzz_report.py --quick    # the make-test profile

A case is "ok" (papers read / map built) or "clear error" (a PipelineError naming
the file; through the CLI: exit 2, ``--out`` unchanged). A traceback or a partial
map fails the test run, so both are 0 exactly when pytest passes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smaller make-test profile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fuzz.json"
        env = dict(os.environ, FUZZ_PROFILE="quick" if args.quick else "thorough",
                   FUZZ_REPORT=str(report))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/test_fuzz_ingest.py"], cwd=ROOT, env=env, check=False)
        if not report.exists():
            print("no report written (the tests did not run to the end)", file=sys.stderr)
            return 1
        data = json.loads(report.read_text())
    failed = result.returncode != 0
    print(f"\nprofile {data['profile']}")
    print(f"{'kind:format':<16}{'cases':>7}{'ok':>7}{'clear error':>13}")
    total = 0
    for key, outcomes in sorted(data["cases"].items()):
        n = sum(outcomes.values())
        total += n
        print(f"{key:<16}{n:>7}{outcomes.get('ok', 0):>7}{outcomes.get('error', 0):>13}")
    print(f"{'total':<16}{total:>7}")
    verdict = "FAILED (see pytest output)" if failed else "0"
    print(f"tracebacks: {verdict}; partial maps: {verdict}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
