"""Measuring: wall time and peak memory per step, child processes, seeded draws, the machine."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


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
        """Time the block and record its peak memory under ``name`` (added up if repeated)."""
        reset_peak_rss()
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        entry = self.steps.setdefault(name, {"seconds": 0.0, "peak_mb": 0.0})
        entry["seconds"] += seconds
        entry["peak_mb"] = max(entry["peak_mb"], peak_rss_mb())

    def wrap(self, name: str, func: Callable) -> Callable:
        """``func`` recorded as step ``name`` at every call."""
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


def fmt(value: Any, digits: int = 2) -> str:
    """A number for the report: floats to ``digits`` places, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
