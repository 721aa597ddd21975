"""The corpus-tuned fast model against the size of its tuning sample (docs/scale.md).

    nice .venv/bin/python benchmarks/fast_tune_sample.py [SIZE ...]   # default 1000 2000 4000 8000

On cs_venues_balanced: kNN@10 agreement with the shipped torch float32 vectors on the bench's
1,000 papers (draw seed 42), for tables tuned on samples (``pick_sample``, seed 0) of the other
8,852 papers, embedded by the default backend (``auto``, as ``--model fast`` does) through an
embedding cache; training time (wall and CPU) and epochs per size.
Results: benchmarks/results/fast_tune_sample.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.bench.measure import draw  # noqa: E402
from pipeline.bench.metrics import knn_agreement  # noqa: E402
from pipeline.config import EmbedConfig  # noqa: E402
from pipeline.embed.base import document_texts  # noqa: E402
from pipeline.embed.fast_tune import TunedStaticEmbedder, TuneSettings, pick_sample, tune  # noqa: E402
from pipeline.embed.registry import _teacher_vectors, make_embedder  # noqa: E402
from pipeline.embed.static import StaticEmbedder  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CACHE = Path(os.environ.get("TOPICMAP_CACHE", "/tmp/topicmap-fast-tune"))


def main() -> None:
    sizes = [int(x) for x in sys.argv[1:]] or [1000, 2000, 4000, 8000]
    frame = pd.read_csv(DATA / "cs_venues_balanced.csv.gz")
    texts = document_texts(frame["title"].fillna("").tolist(),
                           frame["abstract"].fillna("").tolist())
    reference = np.load(DATA / "cs_venues_balanced.all-MiniLM-L6-v2.npy")
    rows = draw(len(frame), 1000, 42)
    measured = [texts[i] for i in rows]
    rest = [texts[i] for i in np.setdiff1d(np.arange(len(frame)), rows)]
    teacher = make_embedder(EmbedConfig(backend="auto"), cache_dir=CACHE)
    base = StaticEmbedder("fast", cache_dir=CACHE)
    base._load()
    out: dict = {"teacher": teacher.backend,
                 "untuned_knn10": knn_agreement(base.encode(measured), reference[rows])}
    for size in sizes:
        sample = pick_sample(rest, size, 0)
        targets = _teacher_vectors(teacher, sample, cache_dir=CACHE)
        started, cpu = time.perf_counter(), time.process_time()
        vectors, info = tune(sample, targets, base, TuneSettings(sample_size=size))
        tuned = TunedStaticEmbedder("fast", cache_dir=CACHE, key="measured")
        tuned._vectors, tuned._tokenizer, tuned._unk_id = vectors, base._tokenizer, base._unk_id
        out[str(size)] = {"knn10": knn_agreement(tuned.encode(measured), reference[rows]),
                          "train_wall_s": time.perf_counter() - started,
                          "train_cpu_s": time.process_time() - cpu,
                          "epochs": info["epochs"], "best_epoch": info["best_epoch"],
                          "load": os.getloadavg()}
        print(size, out[str(size)], flush=True)
    (ROOT / "benchmarks" / "results" / "fast_tune_sample.json").write_text(
        json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
