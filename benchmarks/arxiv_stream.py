"""Peak memory of reading a large arXiv metadata snapshot (target: under 500 MB for 1 GB).

Generates a synthetic snapshot shaped like ``arxiv-metadata-oai-snapshot.json``
(one JSON object per line, the real keys, a realistic spread of categories and
dates, abstracts of 400-1,600 characters) in a temporary folder, then reads it
with ``pipeline.ingest.clean.read_papers`` in a fresh subprocess per filter and reports
that subprocess's peak resident memory (``ru_maxrss`` of the child, the same
number ``/usr/bin/time -v`` prints as "Maximum resident set size"). The file is
deleted afterwards.

    nice .venv/bin/python benchmarks/arxiv_stream.py            # 1 GB, the bar
    nice .venv/bin/python benchmarks/arxiv_stream.py --size-mb 50

Memory grows with the papers *kept*, not with the file: the interesting numbers
are a typical filter (one category, recent years) against the baseline of the
interpreter with pandas loaded.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Rough shares of arXiv's primary categories.
CATEGORIES = [
    ("cs.CL", 4), ("cs.LG", 9), ("cs.CV", 7), ("cs.RO", 2), ("cs.AI", 3), ("stat.ML", 3),
    ("math.PR", 5), ("math.AP", 5), ("math-ph", 3), ("hep-th", 8), ("hep-ph", 8),
    ("astro-ph.GA", 8), ("cond-mat.str-el", 10), ("quant-ph", 10), ("physics.optics", 5),
    ("q-bio.NC", 2), ("econ.EM", 1), ("eess.SP", 7),
]
WORDS = ("model data method learning network results propose show performance based "
         "approach problem paper new algorithm using time system field quantum energy "
         "theory study analysis structure large state order function dynamics").split()
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

PROBE = """
import json, resource, sys, time
from pathlib import Path
from pipeline.config import IngestConfig
from pipeline.ingest.clean import read_papers
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
config = IngestConfig(**json.loads(sys.argv[2]))
start = time.perf_counter()
papers, report = read_papers([Path(sys.argv[1])], config)
print(json.dumps({"kept": len(papers), "seconds": time.perf_counter() - start,
                  "baseline_kb": baseline}))
"""


def generate(path: Path, size_mb: int, seed: int = 0) -> int:
    """Write a synthetic snapshot of about ``size_mb`` MB; return the number of records."""
    rng = random.Random(seed)
    names = [name for name, _ in CATEGORIES]
    weights = [weight for _, weight in CATEGORIES]
    target = size_mb * 1_000_000
    written = 0
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        while written < target:
            count += 1
            year = rng.randint(1992, 2024)
            category = rng.choices(names, weights)[0]
            cats = category if rng.random() < 0.6 else f"{category} {rng.choices(names, weights)[0]}"
            abstract = " ".join(rng.choices(WORDS, k=rng.randint(60, 240)))
            record = {
                "id": f"{year % 100:02d}{rng.randint(1, 12):02d}.{count:05d}",
                "submitter": "A. Person",
                "authors": "A. Person, B. Someone and C. Else",
                "title": " ".join(rng.choices(WORDS, k=rng.randint(5, 14))).capitalize(),
                "comments": "12 pages, 4 figures",
                "journal-ref": None,
                "doi": None,
                "report-no": None,
                "categories": cats,
                "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
                "abstract": "  " + abstract + ".\n",
                "versions": [{"version": "v1", "created": f"Mon, {rng.randint(1, 28)} "
                              f"{rng.choice(MONTHS)} {year} 10:00:00 GMT"}],
                "update_date": f"{min(year + 1, 2024)}-01-15",
                "authors_parsed": [["Person", "A.", ""], ["Someone", "B.", ""],
                                   ["Else", "C.", ""]],
            }
            line = json.dumps(record) + "\n"
            handle.write(line)
            written += len(line)
    return count


def measure(path: Path, config: dict) -> dict:
    """Read ``path`` with ``config`` in a child process; its peak RSS and timings."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, "-c", PROBE, str(path), json.dumps(config)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["peak_mb"] = round(max(peak_kb, before) / 1024, 1)
    result["baseline_mb"] = round(result.pop("baseline_kb") / 1024, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="snapshot size (default 1024)")
    parser.add_argument("--limit-mb", type=float, default=500.0, help="peak memory bar")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="arxiv-bench-"))
    try:
        path = folder / "arxiv-metadata-oai-snapshot.json"
        start = time.perf_counter()
        records = generate(path, args.size_mb)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {path} ({size_mb:.0f} MB, {records:,} records) in "
              f"{time.perf_counter() - start:.0f}s")
        filters = [
            ("one category, 2018 on", {"arxiv_categories": ["cs.CL"], "arxiv_from": "2018"}),
            ("ML-ish categories, all years", {"arxiv_categories": ["cs.LG", "cs.CL", "stat.ML"]}),
        ]
        failed = False
        for name, config in filters:
            result = measure(path, config)
            ok = result["peak_mb"] < args.limit_mb
            failed |= not ok
            print(f"{name:32s} kept {result['kept']:>7,}  peak RSS {result['peak_mb']:6.1f} MB "
                  f"(interpreter + pandas alone {result['baseline_mb']:.0f} MB)  "
                  f"{result['seconds']:.0f}s ({size_mb / result['seconds']:.0f} MB/s)  "
                  f"{'OK' if ok else 'OVER'} < {args.limit_mb:.0f} MB")
        return 1 if failed else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
