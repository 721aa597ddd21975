"""The command line: options, and one run from the embedder table to the written report."""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.bench import quality, quality_report

from .embedders import (
    ALL_BACKENDS,
    REFERENCE_BACKEND,
    embedder_table,
    load_seconds,
    measured_embedding,
    merged_report,
    texts_outside,
    verdict,
)
from .headline import write_readme
from .measure import ROOT, draw, machine, run_in_child
from .quality import CORPORA
from .report import plot, render
from .sides import compare_size, update_bench, warm_up

DATA = ROOT.parent / "shared" / "data"
CORPUS = DATA / "cs_venues_balanced.csv.gz"
VECTORS = DATA / "cs_venues_balanced.all-MiniLM-L6-v2.npy"
#: The first paragraph of the package's docstring (``--help``).
DESCRIPTION = "Speed and quality, measured: ``python -m pipeline.bench`` (``make bench``)."


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The benchmark's options (``--help``)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench",
                                     description=DESCRIPTION)
    parser.add_argument("--sizes", type=int, nargs="+", help="corpus sizes (default 1000 10000)")
    parser.add_argument("--quick", action="store_true",
                        help="a few minutes: 300 papers, 64 for the embedders, 20 for update")
    parser.add_argument("--embed-sample", type=int, help="papers for the embedder table (1000)")
    parser.add_argument("--backends", nargs="*", choices=[*ALL_BACKENDS, "none"],
                        help=f"backends to measure (default: all; {REFERENCE_BACKEND} is the "
                             "reference, and BERTopic's embedder); none (or nothing): skip the "
                             "table, and with it every figure that includes embedding")
    parser.add_argument("--rounds", type=int,
                        help="rounds of ours-then-BERTopic (and of update-then-build) per size, "
                             "seeds seed, seed+1, ... (default 5 up to 2,000 papers, 3 above; "
                             "--quick: 1)")
    parser.add_argument("--embedders-only", action="store_true",
                        help="only the embedder table, merged into the existing report")
    parser.add_argument("--update-papers", type=int, help="papers added by update (100)")
    parser.add_argument("--no-bertopic", action="store_true", help="our side only")
    parser.add_argument("--data", type=Path, default=CORPUS, help="CSV with a label column")
    parser.add_argument("--vectors", type=Path, default=VECTORS,
                        help="precomputed vectors, row-aligned with --data")
    parser.add_argument("--out", type=Path, help="report (default BENCHMARKS.md; --quick: a "
                                                 "temporary folder)")
    parser.add_argument("--plot", type=Path, help="plot (default docs/bench_steps.png beside "
                                                  "the report)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quality-corpora", nargs="*", choices=[*CORPORA, "none"],
                        help="corpora of the topic-quality part (default: all five; --quick: "
                             "none); none (or nothing): skip it, and keep the report's last "
                             "topic-quality section as dated. Alone: python -m pipeline.bench "
                             "quality")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write BENCHMARKS.md (and .json, and the plot); the exit status.

    ``python -m pipeline.bench quality ...`` runs the topic-quality part alone.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["quality"]:
        return quality.main(arguments[1:])
    args = parse_args(argv)
    command = "python -m pipeline.bench" + (" " + shlex.join(argv if argv is not None
                                                              else sys.argv[1:])).rstrip()
    sizes = args.sizes or ([300] if args.quick else [1000, 10000])
    embed_sample = args.embed_sample or (64 if args.quick else 1000)
    n_update = args.update_papers or (20 if args.quick else 100)
    backends = ALL_BACKENDS if args.backends is None else [b for b in args.backends
                                                            if b != "none"]

    def rounds_for(n: int) -> int:
        return args.rounds or (1 if args.quick else 5 if n <= 2000 else 3)

    bertopic = not args.no_bertopic and not args.embedders_only
    if args.embedders_only:
        sizes, n_update = [], 0
    if bertopic:
        try:
            import bertopic as _
        except ImportError:
            print("error: BERTopic is not installed; `pip install -r requirements-bench.txt` "
                  "or pass --no-bertopic", file=sys.stderr)
            return 2
    for path in (args.data, args.vectors):
        if not path.is_file():
            print(f"error: {path} not found; pass --data/--vectors", file=sys.stderr)
            return 2
    scratch = tempfile.TemporaryDirectory(prefix="topicmap-bench-")
    work = Path(scratch.name)
    out = args.out or (work / "BENCHMARKS.md" if args.quick else ROOT / "BENCHMARKS.md")
    plot_path = args.plot or (out.parent / "bench_steps.png" if args.quick
                              else out.parent / "docs" / "bench_steps.png")
    frame = pd.read_csv(args.data)
    vectors = np.load(args.vectors, mmap_mode="r")
    if len(vectors) != len(frame):
        print(f"error: {args.vectors} has {len(vectors)} rows, {args.data} {len(frame)}",
              file=sys.stderr)
        return 2
    vectors = np.asarray(vectors, dtype=np.float32)
    from pipeline.embed.registry import resolve_backend

    default_backend = resolve_backend("auto")
    results: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "command": command,
        "machine": machine(), "load_start": " ".join(f"{v:.1f}" for v in os.getloadavg()),
        "data": str(args.data.name), "vectors": str(args.vectors.name),
        "corpus_rows": len(frame), "seed": args.seed, "embed_sample": embed_sample,
        "rounds": 4, "default_backend": default_backend,
    }
    log = lambda text: print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)  # noqa: E731
    try:
        sample_rows = draw(len(frame), embed_sample, args.seed)
        sample = frame.iloc[sample_rows]
        texts = (sample["title"].fillna("") + ". " + sample["abstract"].fillna("")).tolist()
        embedding = None
        if backends:
            log(f"embedders {backends} on {len(texts)} papers")
            table, _ = embedder_table(texts, sample["label"].tolist(), backends, rounds=4,
                                      cache_dir=work / "cache", seed=args.seed,
                                      tune_texts=texts_outside(frame, sample_rows, quick=args.quick))
            results["embedders"] = table
            results["embed_verdict"] = verdict(table)
            if {default_backend, REFERENCE_BACKEND} <= set(backends):
                loads = {side: run_in_child(functools.partial(
                    load_seconds, backend, cache_dir=work / "cache", count_imports=side == "ours"))
                    for side, backend in (("ours", default_backend),
                                          ("theirs", REFERENCE_BACKEND))}
                embedding = measured_embedding(table, default_backend, REFERENCE_BACKEND,
                                               loads=loads)
        if embedding is None:
            log(f"embedding not measured (needs --backends with {default_backend} and "
                f"{REFERENCE_BACKEND}): times are reported without it")
        results["embedding"] = embedding
        results["sizes"] = []
        if sizes:
            log("warm-up: each side once on 300 papers (not counted)")
            warm_up(frame, vectors, work, seed=args.seed, bertopic=bertopic)
        for size in sizes:
            rows = sample_rows if size == embed_sample else draw(len(frame), size, args.seed)
            log(f"{len(rows)} papers: ours" + (" and BERTopic" if bertopic else "")
                + f", {rounds_for(len(rows))} round(s)")
            entry = compare_size(frame, vectors, rows, work, seed=args.seed,
                                 rounds=rounds_for(len(rows)),
                                 embedding=embedding if len(rows) == len(texts) else None,
                                 bertopic=bertopic)
            if size > len(frame):
                entry["note"] = (f"Asked for {size:,}; the corpus has {len(frame):,} papers, "
                                 "all of which are used.")
            results["sizes"].append(entry)
        results["updates"] = []
        for size in sizes if n_update else []:
            rows = draw(len(frame), size, args.seed)
            log(f"update: {n_update} papers into {len(rows) - n_update}, "
                f"{rounds_for(len(rows))} round(s)")
            results["updates"].append(update_bench(frame, vectors, rows, work, n_new=n_update,
                                                   seed=args.seed, rounds=rounds_for(len(rows))))
        results["load_end"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
        if plot(results, plot_path):
            results["plot"] = os.path.relpath(plot_path, out.parent)
        if args.embedders_only:
            results = merged_report(out.with_suffix(".json"), results)
        corpora = [c for c in args.quality_corpora if c != "none"] \
            if args.quality_corpora is not None else ([] if args.quick else list(CORPORA))
        kept = None if corpora else quality_report.previous_section(out)
        text = render(results)
        if kept:  # quality not measured this time: the last measurement stays, as dated
            text = text.rstrip("\n") + "\n\n" + kept[0] + "\n"
            results["quality"] = kept[1]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        (out.with_suffix(".json")).write_text(json.dumps(results, indent=1, default=str))
        if out.resolve() == (ROOT / "BENCHMARKS.md").resolve() and results["sizes"]:
            write_readme(ROOT / "README.md", results)  # the headline, from the same run
        if corpora:
            log(f"topic quality: {' '.join(corpora)}")
            measured = quality.run(corpora, maps=None, work=work / "quality", layers=None,
                                   bertopic=bertopic, seed=args.seed, log=log)
            quality_report.write_quality(measured, out, command=command)
        log(f"wrote {out}")
        print(out.read_text(encoding="utf-8"))
    finally:
        if args.out is not None or not args.quick:
            scratch.cleanup()
    return 0
