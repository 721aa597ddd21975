"""All 81,667 papers of cs_venues_all with the default model, cold cache (issue 15's bar:
under 30 minutes with kNN@10 >= 0.9 against torch float32), for docs/scale.md.

    .venv/bin/python benchmarks/embed_81k.py [--out /tmp/map81k] [--limit N] [--check 600]

Run it on a quiet machine (load average below 2): it is a timing. It

1. builds ``python -m pipeline build cs_venues_all.jsonl.gz --out OUT --cache-dir FRESH``
   (backend ``auto``: ov-int8 on a VNNI CPU; the fresh cache means the one-time
   quantisation and every paper's embedding are inside the ``embed`` step), under
   ``/usr/bin/time -v``, reading its log as it runs to take each step's wall time and
   sampling its resident memory every second for each step's peak;
2. then, outside the timing, embeds ``--check`` papers of the map drawn at random
   (seed 1) with torch float32 and gives kNN@10 agreement and mean cosine of the map's
   vectors with them (the neighbours are found among those papers).

Writes ``benchmarks/results/embed_81k.json`` and prints the step table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "cs_venues_all.jsonl.gz"
STEP = re.compile(r"\[\d+/\d+\] (\w+)\s")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def build(source: Path, out: Path, cache: Path) -> dict:
    """The timed build: wall per step (from its log), peak RSS per step (sampled)."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "pipeline", "build", str(source),
           "--out", str(out), "--cache-dir", str(cache)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    state = {"step": "start-up", "peaks": {}, "log": []}

    def sample() -> None:
        child = None
        while proc.poll() is None:
            if child is None:  # /usr/bin/time's child: the python process
                kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
                ids = kids.read_text().split() if kids.is_file() else []
                child = int(ids[0]) if ids else None
            if child:
                step = state["step"]
                state["peaks"][step] = max(state["peaks"].get(step, 0.0), rss_mb(child))
            time.sleep(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for line in proc.stderr:
        state["log"].append(line.rstrip())
        print(line.rstrip(), flush=True)
        match = STEP.search(line)
        if match and "done in" not in line:
            state["step"] = match.group(1)
    proc.wait()
    sampler.join(timeout=5)
    log = state["log"]
    steps = {m.group(1): float(re.search(r"done in ([\d.]+)s", line).group(1))
             for line in log if "done in" in line and (m := STEP.search(line))}
    maxrss = next((int(line.split()[-1]) / 1024 for line in log
                   if "Maximum resident set size" in line), None)
    return {"command": " ".join(cmd), "returncode": proc.returncode,
            "wall_s": time.perf_counter() - started, "steps_s": steps,
            "peak_rss_mb_per_step": {k: round(v) for k, v in state["peaks"].items()},
            "peak_rss_mb": maxrss, "log_tail": log[-40:]}


def check(out: Path, n: int) -> dict:
    """kNN@10 agreement of the map's vectors with torch float32 on ``n`` random papers."""
    from pipeline import load_map
    from pipeline.bench.metrics import knn_agreement, mean_cosine
    from pipeline.embed.base import SentenceTransformerEmbedder, document_texts

    topic_map = load_map(out)
    docs = topic_map.documents
    rows = np.sort(np.random.default_rng(1).choice(len(docs), size=min(n, len(docs)),
                                                   replace=False))
    texts = document_texts(docs["title"].iloc[rows].tolist(),
                           docs["abstract"].iloc[rows].tolist())
    started = time.perf_counter()
    reference = SentenceTransformerEmbedder("default").encode(texts)
    vectors = np.asarray(topic_map.embeddings, dtype=np.float32)[rows]
    return {"papers": len(rows), "knn10": knn_agreement(vectors, reference),
            "cosine": mean_cosine(vectors, reference),
            "torch_fp32_s": time.perf_counter() - started,
            "backend": topic_map.manifest["model"].get("backend")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/map81k"))
    parser.add_argument("--limit", type=int, help="only the first N papers (a dry run)")
    parser.add_argument("--check", type=int, default=600, help="papers checked against fp32")
    args = parser.parse_args()
    source = DATA
    if args.limit:
        import pandas as pd

        source = Path(tempfile.mkdtemp()) / "papers.jsonl"
        pd.read_json(DATA, lines=True, nrows=args.limit).to_json(source, orient="records",
                                                                 lines=True)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cache81k-") as cache:
        result = build(source, args.out, Path(cache))
    result["load_before"], result["load_after"] = load_before, os.getloadavg()
    if result["returncode"] == 0:
        result["check"] = check(args.out, args.check)
    name = "embed_81k.json" if not args.limit else f"embed_81k_limit{args.limit}.json"
    target = ROOT / "benchmarks" / "results" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=1, default=str))
    print(f"\nwall {result['wall_s']:.0f}s; load {load_before} -> {result['load_after']}")
    print("| step | wall s | peak RSS MiB |\n|---|---|---|")
    for step, seconds in result["steps_s"].items():
        print(f"| {step} | {seconds:.1f} | {result['peak_rss_mb_per_step'].get(step, '–')} |")
    print(f"peak RSS (time -v): {result['peak_rss_mb']} MiB; check: {result.get('check')}")
    return result["returncode"]


if __name__ == "__main__":
    sys.exit(main())
