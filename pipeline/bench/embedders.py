"""The embedding-backend table: speed and fidelity of each backend on one sample, and its report.

Each backend of ``pipeline.backends`` embeds the same papers in interleaved
rounds; papers per second, the ratio to torch float32, mean cosine and kNN@10
agreement with torch float32, and the NMI of the map built from each backend's
vectors (the mean over ``MAP_SEEDS`` seeds).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..metrics import knn_agreement, mean_cosine, partition_scores
from .measure import fmt as _f

REFERENCE_BACKEND = "torch"
ALL_BACKENDS = ["torch", "torch-bf16", "onnx", "onnx-int8"]
BAR_SPEEDUP, BAR_KNN, BAR_NMI = 2.0, 0.95, 0.02
MAP_SEEDS = 3


def embedder_table(texts: list[str], labels: Sequence, backends: Sequence[str], *,
                   rounds: int, cache_dir: Path, seed: int,
                   ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Speed and fidelity of each backend on ``texts``, interleaved in ``rounds``."""
    from pipeline import BuildConfig, map_papers
    from pipeline.backends import make_embedder
    from pipeline.config import EmbedConfig

    embedders, setup = {}, {}
    for backend in backends:
        start = time.perf_counter()
        embedder = make_embedder(EmbedConfig(backend=backend), cache_dir=cache_dir)
        embedder.encode(texts[:2])  # load (and export, the first time) outside the timing
        embedders[backend], setup[backend] = embedder, time.perf_counter() - start
    seconds = dict.fromkeys(backends, 0.0)
    parts: dict[str, list[np.ndarray]] = {b: [] for b in backends}
    for chunk in np.array_split(np.arange(len(texts)), rounds):
        batch = [texts[i] for i in chunk]
        for backend in backends:
            start = time.perf_counter()
            parts[backend].append(embedders[backend].encode(batch, batch_size=32))
            seconds[backend] += time.perf_counter() - start
    vectors = {b: np.vstack(parts[b]).astype(np.float32) for b in backends}
    reference = vectors.get(REFERENCE_BACKEND)
    documents = pd.DataFrame({
        "id": [f"p{i}" for i in range(len(texts))], "title": [t.split(". ")[0] for t in texts],
        "abstract": texts, "year": np.nan, "authors": "", "url": "",
    })
    rows = []
    for backend in backends:
        # One map's NMI swings with tiny changes of the vectors (HDBSCAN picks other
        # clusters), so each backend's map NMI is the mean over MAP_SEEDS seeds.
        runs = []
        for offset in range(MAP_SEEDS):
            docs, _ = map_papers(documents, vectors[backend], BuildConfig(seed=seed + offset))
            runs.append(partition_scores(labels, docs["cluster"].to_numpy()))
        scores = runs[0]
        rows.append({
            "backend": backend, "papers_per_s": len(texts) / seconds[backend],
            "seconds": seconds[backend], "setup_s": setup[backend],
            "cosine": mean_cosine(vectors[backend], reference) if reference is not None else None,
            "knn10": knn_agreement(vectors[backend], reference) if reference is not None else None,
            "nmi": float(np.mean([r.nmi for r in runs])),
            "nmi_sd": float(np.std([r.nmi for r in runs])),
            "ari": float(np.mean([r.ari for r in runs])), "clusters": scores.n_clusters,
            "noise": scores.noise_share,
        })
    base = next((r for r in rows if r["backend"] == REFERENCE_BACKEND), None)
    for row in rows:
        if base is not None:
            row["speedup"] = base["seconds"] / row["seconds"]
            row["nmi_delta"] = row["nmi"] - base["nmi"]
            row["meets_bar"] = bool(row["speedup"] >= BAR_SPEEDUP and row["knn10"] >= BAR_KNN
                                    and abs(row["nmi_delta"]) <= BAR_NMI)
            row["meets_quality"] = bool(row["knn10"] >= BAR_KNN
                                        and abs(row["nmi_delta"]) <= BAR_NMI)
    return rows, vectors


def verdict(table: list[dict[str, Any]]) -> str:
    """One sentence on which backends meet the bar (or keep its quality)."""
    passing = [r for r in table if r.get("meets_bar")]
    quality = [r for r in table if r.get("meets_quality") and r["backend"] != "torch"]
    if passing:
        return f"Meeting the whole bar: {', '.join(r['backend'] for r in passing)}."
    if quality:
        best = max(quality, key=lambda r: r["speedup"])
        return (f"No backend reaches {BAR_SPEEDUP:.0f}× with the quality bar; the "
                f"fastest that keeps the quality is {best['backend']} "
                f"({best['speedup']:.2f}×).")
    return "No backend keeps the quality bar."


def render_table(results: dict[str, Any]) -> list[str]:
    """The report's embedding-backend section (Markdown lines); none without a table."""
    out: list[str] = []
    table = results.get("embedders")
    if table:
        n = results["embed_sample"]
        out += [f"## Embedding backends ({n} papers, the same for every backend)", "",
                f"Interleaved in {results['rounds']} rounds. Quality is against torch float32 "
                "on the same papers; map NMI is the NMI against `label` of the map built from "
                f"each backend's vectors (noise as its own class), the mean ± sd over "
                f"{MAP_SEEDS} seeds of the map (one map's NMI moves by a few hundredths "
                "with any change of the vectors, even float rounding). Setup = loading the model "
                "(and, for ONNX, exporting and quantizing it once; later runs read the cached "
                "graph).", "",
                "| backend | papers/s | speed vs torch | mean cosine | kNN@10 agreement | "
                "map NMI | Δ NMI | clusters | setup s | bar |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for r in table:
            bar = "yes" if r.get("meets_bar") else ("quality only" if r.get("meets_quality")
                                                    else "no")
            out.append(f"| {r['backend']} | {_f(r['papers_per_s'], 1)} | "
                       f"{_f(r.get('speedup'))}× | {_f(r['cosine'], 4)} | {_f(r['knn10'], 3)} | "
                       f"{_f(r['nmi'], 3)} ± {_f(r.get('nmi_sd'), 3)} | "
                       f"{_f(r.get('nmi_delta'), 3)} | {r['clusters']} | "
                       f"{_f(r['setup_s'], 1)} | {bar} |")
        out += ["", f"Bar: ≥ {BAR_SPEEDUP:.0f}× torch float32, kNN@10 ≥ {BAR_KNN}, map NMI "
                f"within {BAR_NMI} of float32. Default backend (`auto`) here: "
                f"**{results['default_backend']}**. {results.get('embed_verdict', '')}", ""]
    return out
