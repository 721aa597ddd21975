"""The Ray engine against the local engine on a seeded sample of the venue corpus.

    nice .venv/bin/python benchmarks/scale_ray.py [--n 5000] [--workers 2] [--samples 5000 2500]

Draws ``--n`` papers (seeded) from ``../shared/data/cs_venues_balanced.csv.gz``,
builds a map of them with the local engine and with ``--engine ray`` (local Ray,
``--workers`` actors) for each ``--samples`` size (the papers UMAP and HDBSCAN
are fitted on; the rest are placed), all with ``--model fast`` (or, with
``--vectors precomputed``, the shipped all-MiniLM-L6-v2 vectors), and reports the
wall time of each, the time ratio, and the NMI between the Ray map's clusters
and the local engine's (noise as a class), plus each map's NMI against the
venue field. For scale, the NMI between two local builds that differ only in
the seed is reported too. Needs Ray (requirements-scale.txt) and ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import BuildConfig, build  # noqa: E402
from pipeline.bench.metrics import partition_scores  # noqa: E402
from pipeline.engines.ray import build_ray, ray_available  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CSV = DATA / "cs_venues_balanced.csv.gz"
VECTORS = DATA / "cs_venues_balanced.all-MiniLM-L6-v2.npy"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, nargs="+", default=[5000, 2500])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--vectors", choices=["fast", "precomputed"], default="fast",
                        help="embed with --model fast (default), or use the shipped "
                             "all-MiniLM-L6-v2 vectors of the corpus (no embedding step)")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "scale_ray.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not CSV.is_file() or not ray_available():
        print("skipped: needs ../shared/data and Ray (pip install -r requirements-scale.txt)")
        return 0
    frame = pd.read_csv(CSV).sample(n=args.n, random_state=args.seed)
    work = Path(tempfile.mkdtemp(prefix="scale-ray-"))
    source = work / "papers.csv"
    frame.to_csv(source, index=False)
    cache = work / "cache"
    config = BuildConfig(seed=args.seed)
    if args.vectors == "precomputed":
        np.save(work / "vectors.npy", np.load(VECTORS)[frame.index.to_numpy()])
        config.embed.embeddings_path = str(work / "vectors.npy")
    else:
        config.embed.model = "fast"
    config.validate()
    # Warm the embedding cache and numba once, so that both engines are timed on equal terms.
    build([source], work / "warm", config, cache_dir=cache, show_progress=False)

    result: dict = {"papers": args.n, "workers": args.workers, "vectors": args.vectors,
                    "runs": []}
    started = time.perf_counter()
    local = build([source], work / "local", config, cache_dir=cache, show_progress=False)
    result["local_seconds"] = round(time.perf_counter() - started, 1)
    other_seed = BuildConfig.from_dict(config.to_dict())
    other_seed.seed = args.seed + 1
    reseeded = build([source], work / "local-seed", other_seed, cache_dir=cache,
                     show_progress=False)
    base = local.documents[["id", "cluster", "label"]]
    result["local_vs_local_other_seed_nmi"] = round(nmi(base, reseeded.documents), 4)
    result["local_nmi_vs_label"] = round(
        partition_scores(base["label"], base["cluster"]).nmi, 4)
    for sample in args.samples:
        started = time.perf_counter()
        ray_map = build_ray([source], work / f"ray-{sample}", config, cache_dir=cache,
                            workers=args.workers, sample_size=sample)
        seconds = time.perf_counter() - started
        merged = base.merge(ray_map.documents[["id", "cluster"]], on="id",
                            suffixes=("", "_ray"))
        result["runs"].append({
            "sample": min(sample, args.n), "seconds": round(seconds, 1),
            "time_ratio_ray_over_local": round(seconds / result["local_seconds"], 2),
            "nmi_ray_vs_local": round(nmi(base, ray_map.documents), 4),
            "nmi_vs_label": round(partition_scores(merged["label"],
                                                   merged["cluster_ray"]).nmi, 4),
            "clusters": int(ray_map.manifest["counts"]["clusters"]),
            "noise": round(float(ray_map.documents["is_noise"].mean()), 3),
            "timings": ray_map.manifest["timings"],
        })
    result["local_clusters"] = int(local.manifest["counts"]["clusters"])
    result["local_timings"] = local.manifest["timings"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


def nmi(base: pd.DataFrame, other: pd.DataFrame) -> float:
    merged = base[["id", "cluster"]].merge(other[["id", "cluster"]], on="id",
                                           suffixes=("", "_other"))
    return partition_scores(merged["cluster"], merged["cluster_other"].to_numpy(np.int64)).nmi


if __name__ == "__main__":
    sys.exit(main())
