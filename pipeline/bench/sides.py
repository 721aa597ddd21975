"""The two sides of the comparison (ours, BERTopic), each run in a fresh child process, and update."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .measure import ROOT, StepRecorder, peak_rss_mb, run_in_child, write_subset
from .metrics import partition_scores, reassigned_scores


def our_side(csv: str, npy: str, out: str, seed: int) -> dict[str, Any]:
    """Our build in this (child) process: per-step time and memory, labels."""
    started = time.perf_counter()
    from pipeline import BuildConfig, build
    from pipeline.engines.recipe import STEPS, StepTimer

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
    model._extract_topics = recorder.wrap("name", model._extract_topics)
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
            "rebuild_advised": last["rebuild_advised"], "renamed": last["renamed"]}
