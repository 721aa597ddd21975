"""The two sides of the comparison (ours, BERTopic), each run in a fresh child process,
side by side in rounds; and ``update`` against a full build, in rounds too.

A round runs our build, then BERTopic, on the same papers and vectors with the same
seed (``seed + round``); the ratio of their times is taken pair by pair, so a machine
whose speed drifts (other work on shared cores) changes both sides of a pair alike,
and the median pair is quoted (as ``hyperfine``-style tools do). Each round also
scores both partitions at matched granularity (``pipeline.bench.matched``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .matched import matched_round, summarize
from .measure import ROOT, StepRecorder, peak_rss_mb, run_in_child, write_subset

#: The step of our build that names the topics (reported apart: it is rewritten separately).
NAME_STEP = "name"


def our_side(csv: str, npy: str, out: str, seed: int) -> dict[str, Any]:
    """Our build in this (child) process: per-step time and memory, and every layer."""
    started = time.perf_counter()
    import logging

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
    topic_map = build([csv], out, config, show_progress=False,
                      timer=Timer(STEPS, logging.getLogger("pipeline.bench.quiet")))
    documents = topic_map.documents
    return {
        "steps": recorder.steps, "imports": imports, "total": time.perf_counter() - started,
        "peak_mb": peak_rss_mb(),
        "layers": {level: documents[level].tolist() for level in topic_map.levels},
        "reference": documents["label"].tolist() if "label" in documents else None,
        "space": np.asarray(topic_map.fitted["cluster_space"]).tolist(),
    }


def bertopic_side(csv: str, npy: str, seed: int, reduce_to: Sequence[int] = ()) -> dict[str, Any]:
    """BERTopic's fit and its 2-D document map in this (child) process; then, untimed, its
    topics reduced to each count of ``reduce_to`` with its own ``reduce_topics``."""
    started = time.perf_counter()
    import copy
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
    timed_steps = {"_reduce_dimensionality": "reduce", "_cluster_embeddings": "cluster",
                   "_extract_topics": "name"}
    for method, step in timed_steps.items():
        setattr(model, method, recorder.wrap(step, getattr(model, method)))
    fit_start = time.perf_counter()
    topics, _ = model.fit_transform(docs, embeddings=vectors)
    fit = time.perf_counter() - fit_start
    inner = sum(s["seconds"] for s in recorder.steps.values())
    recorder.steps["other fit"] = {"seconds": max(fit - inner, 0.0), "peak_mb": 0.0}
    with recorder.step("2-D map"):
        reduced_2d = UMAP(n_neighbors=10, n_components=2, min_dist=0.0, metric="cosine",
                          random_state=seed).fit(vectors).embedding_
    with recorder.step("figure"):
        model.visualize_documents(docs, reduced_embeddings=reduced_2d)
    result = {
        "steps": recorder.steps, "imports": imports, "total": time.perf_counter() - started,
        "fit": fit, "peak_mb": peak_rss_mb(), "labels": [int(t) for t in topics],
        "reference": frame["label"].tolist() if "label" in frame else None,
        "space": np.asarray(model.umap_model.embedding_).tolist(),
    }
    for method in timed_steps:  # the wrappers call this model's methods, not a copy's
        delattr(model, method)
    n_topics = len(set(result["labels"]) - {-1})
    outliers = int(-1 in result["labels"])
    reduced = {}
    for count in sorted(set(reduce_to)):
        if 1 < count < n_topics:
            smaller = copy.deepcopy(model)
            smaller.reduce_topics(docs, nr_topics=count + outliers)
            reduced[count] = [int(t) for t in smaller.topics_]
    result["reduced"] = reduced
    return result


def _child(func, *args: Any) -> dict[str, Any]:
    """``func(*args)`` in a fresh process; its ``total`` is the child's whole life (start-up
    and imports included) and ``imports`` what the steps leave of it."""
    start = time.perf_counter()
    out = run_in_child(func, *args)
    out["total"] = time.perf_counter() - start
    out["steps"].pop("embed", None)  # reading the precomputed vectors; embedding is apart
    out["imports"] = out["total"] - sum(v["seconds"] for v in out["steps"].values())
    return out


def _timing(side: dict[str, Any]) -> dict[str, Any]:
    keep = ("steps", "imports", "total", "peak_mb", "fit")
    return {k: side[k] for k in keep if k in side}


def compare_size(frame: pd.DataFrame, vectors: np.ndarray, rows: np.ndarray, work: Path, *,
                 seed: int, rounds: int, embedding: dict[str, float] | None,
                 bertopic: bool) -> dict[str, Any]:
    """Both sides on the papers ``rows`` in ``rounds`` rounds (seed + round); each round's
    times, memory and matched-granularity quality, and the ratios pair by pair.
    ``embedding``: each side's measured embedding seconds for these papers (``ours``,
    ``theirs``), or None when not measured at this size."""
    n = len(rows)
    csv, npy = write_subset(frame, vectors, rows, work / f"n{n}", "papers")
    done = []
    for index in range(rounds):
        round_seed = seed + index
        ours = _child(our_side, str(csv), str(npy), str(work / f"n{n}" / f"map{index}"),
                      round_seed)
        entry: dict[str, Any] = {"seed": round_seed, "ours": _timing(ours)}
        entry["ours"]["without_name"] = ours["total"] - ours["steps"].get(
            NAME_STEP, {}).get("seconds", 0.0)
        theirs = None
        if bertopic:
            counts = [len(set(labels) - {-1}) for labels in ours["layers"].values()]
            theirs = _child(bertopic_side, str(csv), str(npy), round_seed, counts)
            entry["bertopic"] = _timing(theirs)
            entry["ratio_without_embedding"] = theirs["total"] / ours["total"]
            entry["ratio_without_name"] = theirs["total"] / entry["ours"]["without_name"]
            if embedding:
                entry["ratio"] = ((embedding["theirs"] + theirs["total"])
                                  / (embedding["ours"] + ours["total"]))
        if ours["reference"] is not None:
            against = {} if theirs is None or theirs["reference"] is None else {
                "their_reference": theirs["reference"], "theirs": theirs["labels"],
                "their_space": np.array(theirs["space"]),
                "reduced": {int(k): v for k, v in theirs["reduced"].items()}}
            entry["matched"] = matched_round(ours["reference"], ours["layers"],
                                             np.array(ours["space"]), **against)
        done.append(entry)
    return summarize_size(n, done, embedding)


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": float(np.median(values)), "min": float(np.min(values)),
            "max": float(np.max(values))}


def summarize_size(n: int, rounds: list[dict[str, Any]],
                   embedding: dict[str, float] | None) -> dict[str, Any]:
    """The rounds of one size: medians (and ranges) of times, memory and ratios; the
    matched quality's means."""
    out: dict[str, Any] = {"n": n, "rounds": rounds, "embedding": embedding}
    for side in ("ours", "bertopic"):
        sides = [r[side] for r in rounds if side in r]
        if not sides:
            continue
        steps = list(dict.fromkeys(s for r in sides for s in r["steps"]))
        out[side] = {
            "total": _spread([r["total"] for r in sides]),
            "imports": float(np.median([r["imports"] for r in sides])),
            "peak_mb": _spread([r["peak_mb"] for r in sides]),
            "steps": {s: {k: float(np.median([r["steps"][s][k] for r in sides
                                               if s in r["steps"]]))
                          for k in ("seconds", "peak_mb")} for s in steps},
        }
        if side == "ours":
            out[side]["without_name"] = _spread([r["without_name"] for r in sides])
    for key in ("ratio", "ratio_without_embedding", "ratio_without_name"):
        values = [r[key] for r in rounds if key in r]
        if values:
            out[key] = _spread(values)
    matched = [r["matched"] for r in rounds if "matched" in r]
    if matched:
        out["matched"] = summarize(matched)
    return out


def warm_up(frame: pd.DataFrame, vectors: np.ndarray, work: Path, *, seed: int,
            bertopic: bool, n: int = 300) -> None:
    """Each side once on ``n`` papers, not counted: numba's on-disk caches (umap-learn's,
    pynndescent's, ours) are then filled for both, as on any machine after its first run."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), size=min(n, len(frame)), replace=False))
    csv, npy = write_subset(frame, vectors, rows, work / "warm-up", "papers")
    run_in_child(our_side, str(csv), str(npy), str(work / "warm-up" / "map"), seed)
    if bertopic:
        run_in_child(bertopic_side, str(csv), str(npy), seed, ())


def update_bench(frame: pd.DataFrame, vectors: np.ndarray, rows: np.ndarray, work: Path, *,
                 n_new: int, seed: int, rounds: int) -> dict[str, Any]:
    """``update`` with ``n_new`` papers against a full build of all of them, both as
    command lines, in ``rounds`` rounds (each update into a fresh copy of the same map)."""
    rng = np.random.default_rng(seed + 1)
    new = np.sort(rng.choice(rows, size=n_new, replace=False))
    old = np.setdiff1d(rows, new)
    folder = work / f"update{len(rows)}"
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
    timed(["build", str(old_csv), "--out", str(folder / "base"), "--embeddings", str(old_npy),
           *seed_args])
    pairs = []
    for _ in range(rounds):
        shutil.rmtree(folder / "map", ignore_errors=True)
        shutil.copytree(folder / "base", folder / "map")
        update_s = timed(["update", str(folder / "map"), str(new_csv), "--embeddings",
                          str(new_npy)])
        rebuild_s = timed(["build", str(all_csv), "--out", str(folder / "full"),
                           "--embeddings", str(all_npy), *seed_args])
        pairs.append((update_s, rebuild_s))
    manifest = json.loads((folder / "map" / "manifest.json").read_text())
    last = manifest["updates"][-1]
    return {"n_map": len(old), "n_new": len(new), "rounds": len(pairs),
            "update_s": _spread([u for u, _ in pairs]),
            "rebuild_s": _spread([b for _, b in pairs]),
            "ratio": _spread([u / b for u, b in pairs]),
            "new_noise": last["new_noise"], "added": last["added"],
            "rebuild_advised": last["rebuild_advised"], "renamed": last["renamed"]}
