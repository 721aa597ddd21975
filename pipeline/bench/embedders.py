"""The embedding-backend table: speed and fidelity of each backend on one sample, and its report.

Each backend of ``pipeline.embed.registry`` embeds the same papers in interleaved
rounds; papers per second, the ratio to torch float32 (measured side by side in
the same run), mean cosine and kNN@10 agreement with torch float32, the NMI of the
map built from each backend's vectors (the mean over ``MAP_SEEDS`` seeds), and the
one-time cost (quantising, distilling, tuning) that a cold cache pays.

Two rows are the static model of ``--model fast``: ``fast (distilled)`` is the
table distilled from the transformer (what ``--model fast`` was before it was
tuned), ``fast (corpus-tuned)`` is ``--model fast`` now: that table tuned on the
transformer's vectors of a sample of the corpus (``pipeline.embed.fast_tune``), drawn
from the corpus's papers *outside* the measured ones, so its agreement is measured
on papers it never saw. Its one-time cost is the sample's embedding with the
default backend plus the training.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .measure import fmt as _f
from .metrics import knn_agreement, mean_cosine, partition_scores

REFERENCE_BACKEND = "torch"
FAST, TUNED = "fast", "fast-tuned"
ALL_BACKENDS = ["torch", "torch-bf16", "ov-int8", "onnx", "onnx-int8", FAST, TUNED]
LABELS = {FAST: "fast (distilled, before)", TUNED: "fast (corpus-tuned)"}
BAR_SPEEDUP, BAR_KNN, BAR_NMI = 3.0, 0.9, 0.02
FAST_BAR_SPEEDUP, FAST_BAR_KNN = 100.0, 0.5
MAP_SEEDS = 3
QUICK_TUNE = 400  # --quick: the tuned fast model's sample (4,000 otherwise)
STATIC_REPEATS = 5  # a static model takes milliseconds a round: the median of repeats


def texts_outside(frame: pd.DataFrame, rows: np.ndarray, *, quick: bool = False) -> list[str]:
    """``title. abstract`` of the papers of ``frame`` not in ``rows``: the corpus the
    corpus-tuned fast model samples (``quick``: its first ``QUICK_TUNE`` papers)."""
    rest = frame.drop(frame.index[np.asarray(rows)])
    texts = (rest["title"].fillna("") + ". " + rest["abstract"].fillna("")).tolist()
    return texts[:QUICK_TUNE] if quick else texts


def _make(backend: str, cache_dir: Path, tune_texts: Sequence[str]) -> tuple[Any, dict]:
    """The embedder of a table row, ready to encode, and what its one-time work took."""
    from pipeline.config import EmbedConfig
    from pipeline.embed.registry import make_embedder
    from pipeline.embed.static import StaticEmbedder

    if backend == FAST:
        embedder = StaticEmbedder("fast", cache_dir=cache_dir)
    elif backend == TUNED:
        embedder = make_embedder(EmbedConfig(model="fast"), cache_dir=cache_dir)
        embedder.prepare(list(tune_texts))
        info = embedder.info
        return embedder, {"one_time_s": info.get("prepare_seconds"),
                          "teacher_s": info.get("teacher_seconds"),
                          "train_s": info.get("seconds"), "sample": info.get("sample"),
                          "teacher": info.get("teacher"), "epochs": info.get("epochs")}
    else:
        embedder = make_embedder(EmbedConfig(backend=backend), cache_dir=cache_dir)
    start = time.perf_counter()
    embedder.encode(["Warm-up. A first text.", "Another one."])
    return embedder, {"one_time_s": getattr(embedder, "one_time_s", None)
                      or (time.perf_counter() - start if backend == FAST else None)}


def embedder_table(texts: list[str], labels: Sequence, backends: Sequence[str], *,
                   rounds: int, cache_dir: Path, seed: int,
                   tune_texts: Sequence[str] | None = None,
                   ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Speed and fidelity of each backend on ``texts``, interleaved in ``rounds``
    (``tune_texts``: the corpus the corpus-tuned fast model samples; default ``texts``)."""
    from pipeline import BuildConfig, map_papers

    embedders, setup, once = {}, {}, {}
    for backend in backends:
        start = time.perf_counter()
        embedders[backend], once[backend] = _make(backend, cache_dir,
                                                  tune_texts if tune_texts else texts)
        setup[backend] = time.perf_counter() - start
    seconds = dict.fromkeys(backends, 0.0)
    parts: dict[str, list[np.ndarray]] = {b: [] for b in backends}
    for index, chunk in enumerate(np.array_split(np.arange(len(texts)), rounds)):
        batch = [texts[i] for i in chunk]
        for backend in (backends if index % 2 == 0 else list(reversed(backends))):
            repeats = STATIC_REPEATS if backend in (FAST, TUNED) else 1
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                vectors = embedders[backend].encode(batch, batch_size=32)
                times.append(time.perf_counter() - start)
            parts[backend].append(vectors)
            seconds[backend] += float(np.median(times))
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
        same_space = reference is not None and reference.shape == vectors[backend].shape
        rows.append({
            "backend": backend, "label": LABELS.get(backend, backend),
            "papers_per_s": len(texts) / seconds[backend],
            "seconds": seconds[backend], "setup_s": setup[backend], **once[backend],
            "cosine": mean_cosine(vectors[backend], reference) if same_space else None,
            "knn10": knn_agreement(vectors[backend], reference) if reference is not None else None,
            "nmi": float(np.mean([r.nmi for r in runs])),
            "nmi_sd": float(np.std([r.nmi for r in runs])),
            "ari": float(np.mean([r.ari for r in runs])), "clusters": runs[0].n_clusters,
            "noise": runs[0].noise_share,
        })
    base = next((r for r in rows if r["backend"] == REFERENCE_BACKEND), None)
    for row in rows:
        if base is not None:
            row["speedup"] = base["seconds"] / row["seconds"]
            row["nmi_delta"] = row["nmi"] - base["nmi"]
            if row["backend"] in (FAST, TUNED):  # the fast model's own bar (issue 15)
                row["meets_quality"] = bool(row["knn10"] >= FAST_BAR_KNN)
                row["meets_bar"] = bool(row["meets_quality"]
                                        and row["speedup"] >= FAST_BAR_SPEEDUP)
            else:
                row["meets_quality"] = bool(row["knn10"] >= BAR_KNN
                                            and abs(row["nmi_delta"]) <= BAR_NMI)
                row["meets_bar"] = bool(row["meets_quality"] and row["speedup"] >= BAR_SPEEDUP)
    return rows, vectors


def load_seconds(backend: str, *, cache_dir: Path, count_imports: bool) -> float:
    """Seconds to load ``backend``'s embedder and embed a first text, in this (fresh) process.

    ``count_imports`` False: ``sentence_transformers`` is imported first, untimed (BERTopic's
    start-up has imported it already when it embeds). Run after the table, whose one-time
    work (quantising) is then cached in ``cache_dir``."""
    from pipeline.config import EmbedConfig
    from pipeline.embed.registry import make_embedder

    if not count_imports:
        import sentence_transformers  # noqa: F401
    start = time.perf_counter()
    make_embedder(EmbedConfig(backend=backend), cache_dir=cache_dir).encode(
        ["Warm-up. A first text."])
    return time.perf_counter() - start


def measured_embedding(table: Sequence[dict[str, Any]], ours: str, theirs: str, *,
                       loads: dict[str, float]) -> dict[str, Any] | None:
    """Each side's embedding of the table's papers: its backend's measured encoding time plus
    its load (``loads["ours"]``, ``loads["theirs"]``); None unless both backends are in the
    table."""
    rows = {r["backend"]: r for r in table}
    if ours not in rows or theirs not in rows:
        return None
    out: dict[str, Any] = {"ours_backend": ours, "theirs_backend": theirs}
    for side, backend in (("ours", ours), ("theirs", theirs)):
        out[f"{side}_encode"], out[f"{side}_load"] = rows[backend]["seconds"], loads[side]
        out[side] = rows[backend]["seconds"] + loads[side]
    return out


def verdict(table: list[dict[str, Any]]) -> str:
    """One sentence on which backends meet the bar (or keep its quality)."""
    transformer = [r for r in table if r["backend"] not in (FAST, TUNED)]
    passing = [r["label"] for r in transformer if r.get("meets_bar")]
    quality = [r for r in transformer if r.get("meets_quality") and r["backend"] != "torch"]
    if passing:
        out = f"Meeting the whole bar: {', '.join(passing)}."
    elif quality:
        best = max(quality, key=lambda r: r["speedup"])
        out = (f"No backend reaches {BAR_SPEEDUP:.0f}× with the quality bar; the fastest that "
               f"keeps the quality is {best['label']} ({best['speedup']:.2f}×).")
    else:
        out = "No backend keeps the quality bar."
    fast = [r["label"] for r in table if r["backend"] in (FAST, TUNED) and r.get("meets_bar")]
    if fast:
        out += (f" Fast-model bar (kNN@10 ≥ {FAST_BAR_KNN}, encoding ≥ "
                f"{FAST_BAR_SPEEDUP:.0f}× torch, one-time cost apart): {', '.join(fast)}.")
    return out


def merged_report(previous_json: Path, results: dict[str, Any]) -> dict[str, Any]:
    """``--embedders-only``: the previous report's results with this run's embedder table
    (and its date, command and load, kept apart from the rest's)."""
    try:
        merged = json.loads(previous_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return results
    keys = ("embedders", "embed_verdict", "embed_sample", "rounds")
    merged.update({k: results[k] for k in keys if k in results})
    merged["embedders_run"] = {k: results.get(k) for k in ("date", "command", "load_start",
                                                            "load_end", "default_backend")}
    merged["embedders_run"]["machine"] = results.get("machine", {}).get("Model name")
    return merged


def render_table(results: dict[str, Any]) -> list[str]:
    """The report's embedding-backend section (Markdown lines); none without a table."""
    out: list[str] = []
    table = results.get("embedders")
    if not table:
        return out
    n = results["embed_sample"]
    out += [f"## Embedding backends ({n} papers, the same for every backend)", ""]
    run = results.get("embedders_run")
    if run:
        out += [f"This table comes from a later run than the rest of this report: "
                f"`{run['command']}` on {run['date']} ({run.get('machine') or '?'}; load "
                f"average at start {run['load_start']}, at end {run['load_end']}).", ""]
    out += [f"Interleaved in {results['rounds']} rounds (order reversed every other round), "
            "so the ratios to torch float32 are measured side by side. Quality is against "
            "torch float32 on the same papers; map NMI is the NMI against `label` of the map "
            "built from each backend's vectors (noise as its own class), the mean ± sd over "
            f"{MAP_SEEDS} seeds of the map. Setup = loading, and on a cold cache the one-time "
            "work: ov-int8 quantises once (NNCF), the fast models distil once and the "
            "corpus-tuned one embeds its tuning sample with the default backend and trains "
            "(one-time column). The static models' rounds are the median of "
            f"{STATIC_REPEATS} repeats.", "",
            "| backend | papers/s | × torch fp32 | mean cosine | kNN@10 agreement | map NMI | "
            "Δ NMI | clusters | setup s | one-time s | bar |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        bar = "yes" if r.get("meets_bar") else ("quality only" if r.get("meets_quality")
                                                else "no")
        once = r.get("one_time_s")
        if r["backend"] == TUNED and r.get("teacher_s") is not None:
            once_text = (f"{_f(once, 0)} ({r.get('sample')} papers embedded "
                         f"{_f(r['teacher_s'], 0)} s + training {_f(r.get('train_s'), 0)} s)")
        else:
            once_text = _f(once, 1) if once else "–"
        out.append(f"| {r.get('label', r['backend'])} | {_f(r['papers_per_s'], 1)} | "
                   f"{_f(r.get('speedup'))}× | {_f(r['cosine'], 4)} | {_f(r['knn10'], 3)} | "
                   f"{_f(r['nmi'], 3)} ± {_f(r.get('nmi_sd'), 3)} | "
                   f"{_f(r.get('nmi_delta'), 3)} | {r['clusters']} | "
                   f"{_f(r['setup_s'], 1)} | {once_text} | {bar} |")
    out += ["", f"Bar (issue 15): a transformer backend at ≥ {BAR_SPEEDUP:.0f}× torch float32 "
            f"with kNN@10 ≥ {BAR_KNN} and map NMI within {BAR_NMI} of float32; the fast model "
            f"at kNN@10 ≥ {FAST_BAR_KNN} and ≥ {FAST_BAR_SPEEDUP:.0f}× (encoding; its one-time "
            "cost is in its column and in docs/scale.md). Default backend (`auto`) here: "
            f"**{(run or results)['default_backend']}**. {results.get('embed_verdict', '')}",
            ""]
    return out
