"""The fast (static) embedder against the transformer, on the venue corpus.

    nice .venv/bin/python benchmarks/scale_embedders.py [--transformer-sample 300] [--out FILE.json]

In one run, on ``../shared/data/cs_venues_balanced.csv.gz`` (9,852 papers):

- papers per second of the static embedder (``--model fast``) over the whole
  corpus, and of the transformer (all-MiniLM-L6-v2, torch float32, and the
  project's default ONNX int8 backend when ``--onnx`` is given) over a seeded
  sample of ``--transformer-sample`` papers (the transformer needs ~20 minutes
  for all of them), and the ratio;
- kNN@10 agreement of the static vectors with the transformer's precomputed
  vectors (``cs_venues_balanced.all-MiniLM-L6-v2.npy``, torch float32);
- the NMI (and ARI, noise as a class; and after noise reassignment) against
  the ``label`` column of the map each embedding gives (``fit_map`` with the
  default config: the same steps a build runs after embedding).

Prints a Markdown table and writes the numbers as JSON. Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import BuildConfig  # noqa: E402
from pipeline.bench.metrics import knn_agreement, partition_scores, reassigned_scores  # noqa: E402
from pipeline.embed.base import SentenceTransformerEmbedder, document_texts  # noqa: E402
from pipeline.embed.static import StaticEmbedder  # noqa: E402
from pipeline.engines.recipe import fit_map  # noqa: E402
from pipeline.ingest.clean import read_papers  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CSV = DATA / "cs_venues_balanced.csv.gz"
NPY = DATA / "cs_venues_balanced.all-MiniLM-L6-v2.npy"


def rate(embedder, texts: list[str], *, batch_size: int = 32) -> tuple[np.ndarray, float]:
    """Vectors and papers per second (the model loaded before the clock starts)."""
    embedder.encode(texts[:4], batch_size=batch_size)  # load + warm up
    started = time.perf_counter()
    vectors = embedder.encode(texts, batch_size=batch_size)
    return vectors, len(texts) / (time.perf_counter() - started)


def map_scores(papers: pd.DataFrame, embeddings: np.ndarray, seed: int) -> dict:
    started = time.perf_counter()
    fitted = fit_map(papers, embeddings, BuildConfig(seed=seed))
    documents = fitted.documents
    seconds = time.perf_counter() - started
    labels = papers["label"].to_numpy()
    scores = partition_scores(labels, documents["cluster"].to_numpy()).to_dict()
    reassigned = reassigned_scores(labels, documents["cluster"].to_numpy(),
                                   np.asarray(fitted.fit.cluster_space))
    themes = partition_scores(labels, documents["theme"].to_numpy())
    return {**scores, "nmi_reassigned": reassigned.nmi, "ari_reassigned": reassigned.ari,
            "theme_nmi": themes.nmi, "n_themes": themes.n_clusters,
            "map_seconds": round(seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transformer-sample", type=int, default=300)
    parser.add_argument("--onnx", action="store_true", help="also time the ONNX int8 backend")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-maps", action="store_true", help="skip the two map builds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results"
                        / "scale_embedders.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not CSV.is_file() or not NPY.is_file():
        print(f"skipped: {CSV} or {NPY} not found")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    frame = pd.read_csv(CSV).fillna("")
    texts = document_texts(frame["title"].astype(str).tolist(), frame["abstract"].astype(str).tolist())
    reference = np.load(NPY)
    result: dict = {"corpus": CSV.name, "papers": len(texts), "machine": machine()}

    static = StaticEmbedder("fast")
    started = time.perf_counter()
    assert static.dimension  # distils on first use (cached afterwards)
    result["static_load_seconds"] = round(time.perf_counter() - started, 1)
    static_vectors, static_rate = rate(static, texts)
    result["static"] = {"name": static.name, "dimension": static.dimension,
                        "papers_per_s": round(static_rate, 1)}

    rng = np.random.default_rng(args.seed)
    sample = np.sort(rng.choice(len(texts), size=min(args.transformer_sample, len(texts)),
                                replace=False))
    sample_texts = [texts[i] for i in sample]
    torch_vectors, torch_rate = rate(SentenceTransformerEmbedder("default"), sample_texts)
    result["torch_fp32"] = {"papers_per_s": round(torch_rate, 2), "sample": len(sample),
                            "mean_cosine_to_npy": float(np.mean(np.sum(
                                torch_vectors * reference[sample], axis=1)))}
    static_sample_rate = rate(static, sample_texts)[1]
    result["static"]["papers_per_s_on_sample"] = round(static_sample_rate, 1)
    result["ratio_static_vs_torch_fp32"] = round(static_sample_rate / torch_rate, 1)
    if args.onnx:
        from pipeline.embed.registry import OnnxEmbedder

        _, onnx_rate = rate(OnnxEmbedder("default", quantized=True), sample_texts)
        result["onnx_int8"] = {"papers_per_s": round(onnx_rate, 2)}
        result["ratio_static_vs_onnx_int8"] = round(static_sample_rate / onnx_rate, 1)

    result["knn10_agreement_static_vs_transformer"] = round(
        knn_agreement(static_vectors, reference, k=10), 4)

    if not args.no_maps:
        papers, _ = read_papers([CSV])
        rows = papers["_row"].to_numpy()
        papers = papers.drop(columns="_row")
        cleaned = document_texts(papers["title"].tolist(), papers["abstract"].tolist())
        result["map_transformer"] = map_scores(papers, reference[rows], args.seed)
        result["map_static"] = map_scores(papers, static.encode(cleaned), args.seed)
        result["map_papers"] = len(papers)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(table(result))
    print(f"\nwritten to {args.out}")
    return 0


def table(r: dict) -> str:
    lines = [f"Embedders on {r['corpus']} ({r['papers']} papers), {r['machine']}", "",
             "| embedder | papers/s | kNN@10 vs transformer | map NMI | NMI (noise reassigned) "
             "| clusters | noise |", "|---|---|---|---|---|---|---|"]
    mt, ms = r.get("map_transformer", {}), r.get("map_static", {})

    def cells(m: dict) -> str:
        if not m:
            return "– | – | – | –"
        return (f"{m['nmi']:.3f} | {m['nmi_reassigned']:.3f} | {m['n_clusters']} | "
                f"{m['noise_share']:.1%}")

    lines.append(f"| transformer, torch fp32 ({r['torch_fp32']['sample']} papers) | "
                 f"{r['torch_fp32']['papers_per_s']} | 1 (reference) | {cells(mt)} |")
    if "onnx_int8" in r:
        lines.append(f"| transformer, ONNX int8 | {r['onnx_int8']['papers_per_s']} | – | – | – | – | – |")
    lines.append(f"| static (`--model fast`) | {r['static']['papers_per_s']} | "
                 f"{r['knn10_agreement_static_vs_transformer']} | {cells(ms)} |")
    lines.append("")
    lines.append(f"Speed ratio static / torch fp32 on the same {r['torch_fp32']['sample']} papers: "
                 f"{r['ratio_static_vs_torch_fp32']}x")
    return "\n".join(lines)


def machine() -> str:
    import platform

    return f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores"


if __name__ == "__main__":
    sys.exit(main())
