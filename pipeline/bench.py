"""Speed and quality, measured: ``python -m pipeline.bench`` (``make bench``).

One run does, on papers drawn with a fixed seed from the venue corpus
(``../shared/data/cs_venues_balanced.csv.gz`` and its precomputed
all-MiniLM-L6-v2 vectors, row-aligned):

1. **Embedding backends** on the same sample (1,000 papers): each backend of
   ``pipeline.backends`` embeds it, in interleaved rounds (every backend does a
   quarter, then the next quarter...) so that load from other processes on a
   shared machine hits all alike; papers per second, the ratio to torch
   float32, mean cosine and kNN@10 agreement with torch float32, and the NMI
   of the map built from each backend's vectors.
2. **Our build against BERTopic** for each size (``--sizes``, default 1,000 and
   10,000; a size beyond the corpus takes all of it): both cluster the same
   precomputed vectors, each side in a fresh child process (imports and
   numba's compiled-code cache loads counted, as a user pays them). Ours:
   ``pipeline.build`` (reduce, cluster, themes, labels, save). BERTopic: its
   defaults (UMAP to 5-D, HDBSCAN with ``min_cluster_size=10``, c-TF-IDF) plus
   the 2-D reduction of ``visualize_documents`` (UMAP, 10 neighbours) and the
   figure. Both UMAPs get ``random_state`` for reproducibility. Per step: wall
   time and peak resident memory (Linux ``VmHWM``, reset before each step).
   Embedding time per side is its embedder's measured rate (ours: the default
   backend; BERTopic's: sentence-transformers float32) times the number of
   papers: measured directly at 1,000, extrapolated beyond (embedding 10,000
   papers with torch float32 takes ~20 minutes here).
3. **Quality against the ``label`` column**: ARI and NMI with noise as its own
   class, the same after noise is reassigned to its nearest clusters, the
   noise share and the number of clusters (``pipeline.metrics``).
4. **Incremental update** at the largest size: a map of all but 100 papers, then
   ``python -m pipeline update`` with those 100, against a full build of all of
   them (both command lines in child processes, precomputed vectors).

It writes BENCHMARKS.md (tables, machine, date, exact command) and a plot of
time per step. BERTopic, matplotlib and the ONNX packages are benchmark-only
dependencies (requirements-bench.txt).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .metrics import knn_agreement, mean_cosine, partition_scores, reassigned_scores

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CORPUS = DATA / "cs_venues_balanced.csv.gz"
VECTORS = DATA / "cs_venues_balanced.all-MiniLM-L6-v2.npy"
REFERENCE_BACKEND = "torch"
ALL_BACKENDS = ["torch", "torch-bf16", "onnx", "onnx-int8"]
BAR_SPEEDUP, BAR_KNN, BAR_NMI = 2.0, 0.95, 0.02
MAP_SEEDS = 3


# --------------------------------------------------------------------------- measuring


def peak_rss_mb() -> float:
    """Peak resident memory of this process since the last reset, in MiB."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Reset the peak-memory mark (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class StepRecorder:
    """Wall time and peak memory of named steps, in the order they ran."""

    def __init__(self) -> None:
        self.steps: dict[str, dict[str, float]] = {}

    @contextlib.contextmanager
    def step(self, name: str, detail: str = "") -> Iterator[None]:
        reset_peak_rss()
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        entry = self.steps.setdefault(name, {"seconds": 0.0, "peak_mb": 0.0})
        entry["seconds"] += seconds
        entry["peak_mb"] = max(entry["peak_mb"], peak_rss_mb())

    def wrap(self, name: str, func: Callable) -> Callable:
        def timed(*args, **kwargs):
            with self.step(name):
                return func(*args, **kwargs)
        return timed


def run_in_child(func: Callable, *args: Any) -> Any:
    """``func(*args)`` in a fresh spawned process; its return value comes back."""
    context = mp.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(func, args)


# --------------------------------------------------------------------------- data


def draw(n_total: int, size: int, seed: int) -> np.ndarray:
    """Row indices of a seeded draw without replacement (all rows when size >= total)."""
    rng = np.random.default_rng(seed)
    if size >= n_total:
        return np.arange(n_total)
    return np.sort(rng.choice(n_total, size=size, replace=False))


def write_subset(frame: pd.DataFrame, vectors: np.ndarray, rows: np.ndarray, folder: Path,
                 name: str) -> tuple[Path, Path]:
    """A CSV and a row-aligned .npy of ``rows``."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, npy = folder / f"{name}.csv", folder / f"{name}.npy"
    frame.iloc[rows].to_csv(csv, index=False)
    np.save(npy, vectors[rows])
    return csv, npy


# --------------------------------------------------------------------------- sides


def our_side(csv: str, npy: str, out: str, seed: int) -> dict[str, Any]:
    """Our build in this (child) process: per-step time and memory, labels."""
    started = time.perf_counter()
    from pipeline import BuildConfig, build
    from pipeline.run import STEPS, StepTimer

    recorder = StepRecorder()

    class Timer(StepTimer):
        @contextlib.contextmanager
        def step(self, name, detail=""):
            with recorder.step(name), super().step(name, detail):
                yield

    imports = time.perf_counter() - started
    config = BuildConfig(seed=seed)
    config.embed.embeddings_path = npy
    import logging

    topic_map = build([csv], out, config, show_progress=False,
                      timer=Timer(STEPS, logging.getLogger("pipeline.bench.quiet")))
    return {
        "steps": recorder.steps, "imports": imports, "total": time.perf_counter() - started,
        "labels": topic_map.documents["cluster"].tolist(),
        "is_noise": topic_map.documents["is_noise"].tolist(),
        "space": np.asarray(topic_map.fitted["cluster_space"]).tolist(),
        "titles": topic_map.documents["title"].tolist(),
        "peak_mb": peak_rss_mb(),
    }


def bertopic_side(csv: str, npy: str, seed: int) -> dict[str, Any]:
    """BERTopic's fit and its 2-D document map in this (child) process."""
    started = time.perf_counter()
    import warnings

    warnings.simplefilter("ignore")
    from bertopic import BERTopic
    from umap import UMAP

    imports = time.perf_counter() - started
    recorder = StepRecorder()
    frame = pd.read_csv(csv)
    docs = (frame["title"].fillna("") + ". " + frame["abstract"].fillna("")).tolist()
    vectors = np.load(npy)
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                      low_memory=False, random_state=seed)
    model = BERTopic(umap_model=umap_model, calculate_probabilities=False)
    model._reduce_dimensionality = recorder.wrap("reduce", model._reduce_dimensionality)
    model._cluster_embeddings = recorder.wrap("cluster", model._cluster_embeddings)
    model._extract_topics = recorder.wrap("label", model._extract_topics)
    fit_start = time.perf_counter()
    topics, _ = model.fit_transform(docs, embeddings=vectors)
    fit = time.perf_counter() - fit_start
    inner = sum(s["seconds"] for s in recorder.steps.values())
    recorder.steps["other fit"] = {"seconds": max(fit - inner, 0.0), "peak_mb": 0.0}
    with recorder.step("2-D map"):
        reduced = UMAP(n_neighbors=10, n_components=2, min_dist=0.0, metric="cosine",
                       random_state=seed).fit(vectors).embedding_
    with recorder.step("figure"):
        model.visualize_documents(docs, reduced_embeddings=reduced)
    return {
        "steps": recorder.steps, "imports": imports, "total": time.perf_counter() - started,
        "fit": fit, "labels": [int(t) for t in topics],
        "space": np.asarray(model.umap_model.embedding_).tolist(), "peak_mb": peak_rss_mb(),
    }


# --------------------------------------------------------------------------- embedders


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


# --------------------------------------------------------------------------- comparison


def compare_size(frame: pd.DataFrame, vectors: np.ndarray, rows: np.ndarray, work: Path, *,
                 seed: int, our_rate: float, their_rate: float, bertopic: bool,
                 ) -> dict[str, Any]:
    """Both sides on the papers ``rows``; times, memory and quality."""
    n = len(rows)
    csv, npy = write_subset(frame, vectors, rows, work / f"n{n}", "papers")
    labels = frame["label"].to_numpy()[rows]
    result: dict[str, Any] = {"n": n, "embed_ours": n / our_rate, "embed_theirs": n / their_rate}
    start = time.perf_counter()
    ours = run_in_child(our_side, str(csv), str(npy), str(work / f"n{n}" / "map"), seed)
    ours["total"] = time.perf_counter() - start  # the child's whole life: start-up included
    ours["steps"].pop("embed", None)  # reading the precomputed vectors; embedding is above
    ours["imports"] = ours["total"] - sum(v["seconds"] for v in ours["steps"].values())
    ours["labels"] = np.array(ours["labels"])
    result["ours"] = {
        "steps": ours["steps"], "imports": ours["imports"], "total": ours["total"],
        "peak_mb": ours["peak_mb"],
        "quality": partition_scores(labels, ours["labels"]).to_dict(),
        "quality_reassigned": reassigned_scores(labels, ours["labels"],
                                                np.array(ours["space"])).to_dict(),
    }
    if bertopic:
        start = time.perf_counter()
        theirs = run_in_child(bertopic_side, str(csv), str(npy), seed)
        theirs["total"] = time.perf_counter() - start
        theirs["imports"] = theirs["total"] - sum(v["seconds"] for v in theirs["steps"].values())
        result["bertopic"] = {
            "steps": theirs["steps"], "imports": theirs["imports"], "total": theirs["total"],
            "fit": theirs["fit"], "peak_mb": theirs["peak_mb"],
            "quality": partition_scores(labels, theirs["labels"]).to_dict(),
            "quality_reassigned": reassigned_scores(labels, theirs["labels"],
                                                    np.array(theirs["space"])).to_dict(),
        }
        ours_total = result["embed_ours"] + result["ours"]["total"]
        theirs_total = result["embed_theirs"] + result["bertopic"]["total"]
        result["ratio"] = theirs_total / ours_total
        result["ratio_without_embedding"] = result["bertopic"]["total"] / result["ours"]["total"]
    return result


def update_bench(frame: pd.DataFrame, vectors: np.ndarray, rows: np.ndarray, work: Path, *,
                 n_new: int, seed: int) -> dict[str, Any]:
    """``update`` with ``n_new`` papers against a full build of all of them."""
    rng = np.random.default_rng(seed + 1)
    new = np.sort(rng.choice(rows, size=n_new, replace=False))
    old = np.setdiff1d(rows, new)
    folder = work / "update"
    old_csv, old_npy = write_subset(frame, vectors, old, folder, "old")
    new_csv, new_npy = write_subset(frame, vectors, new, folder, "new")
    all_csv, all_npy = write_subset(frame, vectors, np.concatenate([old, new]), folder, "all")
    python = sys.executable
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def timed(args: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run([python, "-m", "pipeline", *args, "-q"], check=True, cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    seed_args = ["--seed", str(seed)]
    timed(["build", str(old_csv), "--out", str(folder / "map"), "--embeddings", str(old_npy),
           *seed_args])
    update_s = timed(["update", str(folder / "map"), str(new_csv), "--embeddings", str(new_npy)])
    rebuild_s = timed(["build", str(all_csv), "--out", str(folder / "full"), "--embeddings",
                       str(all_npy), *seed_args])
    manifest = json.loads((folder / "map" / "manifest.json").read_text())
    last = manifest["updates"][-1]
    return {"n_map": len(old), "n_new": len(new), "update_s": update_s,
            "rebuild_s": rebuild_s, "ratio": update_s / rebuild_s,
            "new_noise": last["new_noise"], "added": last["added"],
            "rebuild_advised": last["rebuild_advised"], "relabelled": last["relabelled"]}


# --------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    """CPU model, cores, memory, load and package versions."""
    info = {"python": platform.python_version(), "platform": platform.platform()}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core"):
                info[key.strip()] = value.strip()
        flags = [f for f in ("avx512_bf16", "amx_bf16", "avx512_vnni", "avx2")
                 if f in lscpu]
        info["flags"] = " ".join(flags)
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory"] = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    with contextlib.suppress(OSError):
        info["load"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
    for name in ("torch", "sentence-transformers", "onnxruntime", "umap-learn", "hdbscan",
                 "bertopic", "scikit-learn", "numpy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info[name] = metadata.version(name)
    return info


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render(results: dict[str, Any]) -> str:
    """BENCHMARKS.md from the results."""
    out = ["# Benchmarks", "",
           "Generated by `python -m pipeline.bench` (`make bench`); do not edit by hand.", "",
           f"- Date: {results['date']}",
           f"- Command: `{results['command']}`"]
    m = results["machine"]
    out.append(f"- Machine: {m.get('Model name', '?')}, {m.get('CPU(s)', '?')} CPUs, "
               f"{m.get('memory', '?')} RAM, flags: {m.get('flags', '')}; load average at start "
               f"{results['load_start']}, at end {results['load_end']} (the machine is shared: "
               "other processes ran alongside)")
    versions = ", ".join(f"{k} {m[k]}" for k in ("python", "torch", "sentence-transformers",
                                                  "onnxruntime", "umap-learn", "hdbscan",
                                                  "bertopic") if k in m)
    out += [f"- Versions: {versions}",
            f"- Data: `{results['data']}` ({results['corpus_rows']} papers), seed "
            f"{results['seed']}; vectors `{results['vectors']}` (torch float32)", ""]

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

    for size in results.get("sizes", []):
        n = size["n"]
        out += [f"## {n:,} papers", ""]
        if size.get("note"):
            out += [size["note"], ""]
        ours, theirs = size["ours"], size.get("bertopic")
        embed_how = "measured" if n <= results["embed_sample"] else \
            f"extrapolated from the rate on {results['embed_sample']} papers"
        out += ["| | ours | BERTopic |", "|---|---|---|",
                f"| embedding ({embed_how}) | {_f(size['embed_ours'], 1)} s "
                f"({results['default_backend']}) | {_f(size['embed_theirs'], 1)} s (torch float32) |",
                f"| process start-up and imports | {_f(ours['imports'], 1)} s | "
                f"{_f(theirs['imports'], 1) + ' s' if theirs else '–'} |",
                f"| build / fit + 2-D map, wall | {_f(ours['total'], 1)} s | "
                f"{_f(theirs['total'], 1) + ' s' if theirs else '–'} |",
                f"| **total with embedding** | **{_f(size['embed_ours'] + ours['total'], 1)} s** | "
                + (f"**{_f(size['embed_theirs'] + theirs['total'], 1)} s** |" if theirs else "– |"),
                f"| peak memory | {_f(ours['peak_mb'], 0)} MiB | "
                f"{_f(theirs['peak_mb'], 0) + ' MiB' if theirs else '–'} |"]
        if theirs:
            out += [f"| **BERTopic time / our time** | **{_f(size['ratio'])}×** "
                    f"(without embedding: {_f(size['ratio_without_embedding'])}×) | |"]
        for key, title in (("quality", "noise as a class"),
                           ("quality_reassigned", "noise reassigned")):
            q, t = ours[key], theirs[key] if theirs else None
            out += [f"| ARI ({title}) | {_f(q['ari'], 3)} | {_f(t['ari'], 3) if t else '–'} |",
                    f"| NMI ({title}) | {_f(q['nmi'], 3)} | {_f(t['nmi'], 3) if t else '–'} |"]
        q, t = ours["quality"], theirs["quality"] if theirs else None
        out += [f"| noise share | {_f(q['noise_share'], 3)} | "
                f"{_f(t['noise_share'], 3) if t else '–'} |",
                f"| clusters | {q['n_clusters']} | {t['n_clusters'] if t else '–'} |", ""]
        out += ["Steps (wall s / peak resident MiB, each in its side's process):", "",
                "| side | " + " | ".join(["step", "s", "MiB"]) + " |", "|---|---|---|---|"]
        for side, data in (("ours", ours), ("BERTopic", theirs)):
            if data:
                for step, v in data["steps"].items():
                    out.append(f"| {side} | {step} | {_f(v['seconds'], 1)} | "
                               f"{_f(v['peak_mb'], 0) if v['peak_mb'] else '–'} |")
        out.append("")

    upd = results.get("update")
    if upd:
        out += [f"## Incremental update ({upd['n_new']} papers into a {upd['n_map']:,}-paper map)",
                "", "Both as command lines in fresh processes, with precomputed vectors "
                "(`--embeddings`), interpreter start-up included.", "",
                "| | wall s |", "|---|---|",
                f"| `python -m pipeline update MAP new.csv` | {_f(upd['update_s'], 1)} |",
                f"| full build of all {upd['n_map'] + upd['n_new']:,} papers | "
                f"{_f(upd['rebuild_s'], 1)} |",
                f"| **update / full build** | **{_f(upd['ratio'], 3)}** |", "",
                f"{upd['added']} papers added, {upd['new_noise']} of them as noise; relabelled: "
                f"{len(upd['relabelled'].get('cluster', []))} clusters, "
                f"{len(upd['relabelled'].get('theme', []))} themes; rebuild advised: "
                f"{'yes' if upd['rebuild_advised'] else 'no'}.", ""]
    if results.get("plot"):
        out += [f"![time per step]({results['plot']})", ""]
    return "\n".join(out)


def plot(results: dict[str, Any], path: Path) -> bool:
    """Stacked bars of time per step for each side and size (matplotlib, PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    bars = []
    for size in results.get("sizes", []):
        for side, key, embed in (("ours", "ours", "embed_ours"),
                                 ("BERTopic", "bertopic", "embed_theirs")):
            data = size.get(key)
            if data:
                steps = {"embed": size[embed], "imports": data["imports"]}
                steps.update({k: v["seconds"] for k, v in data["steps"].items()
                              if k != "embed"})
                bars.append((f"{side}\n{size['n']:,}", steps))
    if not bars:
        return False
    names = list(dict.fromkeys(k for _, steps in bars for k in steps))
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.6 * len(bars) + 1.8), sharey=True)
    colours = plt.get_cmap("tab20").colors
    for ax, skip in zip(axes, ((), ("embed",)), strict=True):
        for i, (_, steps) in enumerate(bars):
            left = 0.0
            for j, name in enumerate(names):
                if name in skip:
                    continue
                width = steps.get(name, 0.0)
                ax.barh(i, width, left=left, color=colours[j % len(colours)], label=name)
                left += width
        ax.set_yticks(range(len(bars)), [b[0] for b in bars])
        ax.set_xlabel("seconds")
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    axes[1].legend(unique.values(), unique.keys(), loc="lower right", fontsize=8)
    axes[0].invert_yaxis()
    axes[0].set_title("with embedding (measured at 1,000, extrapolated beyond)", fontsize=10)
    axes[1].set_title("without embedding", fontsize=10)
    fig.suptitle("Time per step: our build vs BERTopic (fit + 2-D map)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help="corpus sizes (default 1000 10000)")
    parser.add_argument("--quick", action="store_true",
                        help="a few minutes: 300 papers, 64 for the embedders, 20 for update")
    parser.add_argument("--embed-sample", type=int, help="papers for the embedder table (1000)")
    parser.add_argument("--backends", nargs="*", choices=ALL_BACKENDS,
                        help=f"backends to measure (default: all; {REFERENCE_BACKEND} is the "
                             "reference); none: skip the table")
    parser.add_argument("--update-papers", type=int, help="papers added by update (100)")
    parser.add_argument("--no-bertopic", action="store_true", help="our side only")
    parser.add_argument("--data", type=Path, default=CORPUS, help="CSV with a label column")
    parser.add_argument("--vectors", type=Path, default=VECTORS,
                        help="precomputed vectors, row-aligned with --data")
    parser.add_argument("--out", type=Path, help="report (default BENCHMARKS.md; --quick: a "
                                                 "temporary folder)")
    parser.add_argument("--plot", type=Path, help="plot (default docs/bench_steps.png)")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m pipeline.bench" + (" " + shlex.join(argv if argv is not None
                                                              else sys.argv[1:])).rstrip()
    sizes = args.sizes or ([300] if args.quick else [1000, 10000])
    embed_sample = args.embed_sample or (64 if args.quick else 1000)
    n_update = args.update_papers or (20 if args.quick else 100)
    backends = ALL_BACKENDS if args.backends is None else list(args.backends)
    bertopic = not args.no_bertopic
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
                              else ROOT / "docs" / "bench_steps.png")
    frame = pd.read_csv(args.data)
    vectors = np.load(args.vectors, mmap_mode="r")
    if len(vectors) != len(frame):
        print(f"error: {args.vectors} has {len(vectors)} rows, {args.data} {len(frame)}",
              file=sys.stderr)
        return 2
    vectors = np.asarray(vectors, dtype=np.float32)
    from pipeline.backends import resolve_backend

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
        rates = {}
        if backends:
            log(f"embedders {backends} on {len(texts)} papers")
            table, _ = embedder_table(texts, sample["label"].tolist(), backends, rounds=4,
                                      cache_dir=work / "cache", seed=args.seed)
            results["embedders"] = table
            rates = {r["backend"]: r["papers_per_s"] for r in table}
            passing = [r for r in table if r.get("meets_bar")]
            quality = [r for r in table if r.get("meets_quality") and r["backend"] != "torch"]
            if passing:
                verdict = (f"Meeting the whole bar: {', '.join(r['backend'] for r in passing)}.")
            elif quality:
                best = max(quality, key=lambda r: r["speedup"])
                verdict = (f"No backend reaches {BAR_SPEEDUP:.0f}× with the quality bar; the "
                           f"fastest that keeps the quality is {best['backend']} "
                           f"({best['speedup']:.2f}×).")
            else:
                verdict = "No backend keeps the quality bar."
            results["embed_verdict"] = verdict
        our_rate = rates.get(default_backend) or rates.get("torch")
        their_rate = rates.get("torch")
        if not our_rate or not their_rate:
            log("embedding rates not measured: using 9 papers/s for both")
            our_rate = our_rate or 9.0
            their_rate = their_rate or 9.0
        results["sizes"] = []
        for size in sizes:
            rows = sample_rows if size == embed_sample else draw(len(frame), size, args.seed)
            log(f"{len(rows)} papers: ours" + (" and BERTopic" if bertopic else ""))
            entry = compare_size(frame, vectors, rows, work, seed=args.seed, our_rate=our_rate,
                                 their_rate=their_rate, bertopic=bertopic)
            if size > len(frame):
                entry["note"] = (f"Asked for {size:,}; the corpus has {len(frame):,} papers, "
                                 "all of which are used.")
            results["sizes"].append(entry)
        if n_update:
            rows = draw(len(frame), max(sizes), args.seed)
            log(f"update: {n_update} papers into {len(rows) - n_update}")
            results["update"] = update_bench(frame, vectors, rows, work, n_new=n_update,
                                             seed=args.seed)
        results["load_end"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
        if plot(results, plot_path):
            results["plot"] = os.path.relpath(plot_path, out.parent)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(results), encoding="utf-8")
        (out.with_suffix(".json")).write_text(json.dumps(results, indent=1, default=str))
        log(f"wrote {out}")
        print(render(results))
    finally:
        if args.out is not None or not args.quick:
            scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
