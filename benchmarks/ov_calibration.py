"""ov-int8 calibration: the shipped sample (sample/papers.csv) against the user's own corpus.

    nice .venv/bin/python benchmarks/ov_calibration.py [--nmi]

kNN@10 and mean cosine against torch float32 on 1,000 papers of cs_venues_balanced and of
medical_abstracts (the bench's draw, seed 42; the medical float32 vectors are computed here);
the own-corpus calibration uses 128 papers outside those 1,000 (seed 7). With --nmi, the map
NMI against `label` over 3 seeds. Results: benchmarks/results/ov_calibration.json (docs/scale.md).
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
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipeline.bench.measure import draw  # noqa: E402
from pipeline.bench.metrics import knn_agreement, mean_cosine  # noqa: E402
from pipeline.embed.base import SentenceTransformerEmbedder, document_texts  # noqa: E402
from pipeline.embed.openvino import OvInt8Embedder  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CACHE = Path(os.environ.get("TOPICMAP_CACHE", "/tmp/topicmap-ov-calibration"))
OUT = ROOT / "benchmarks" / "results" / "ov_calibration.json"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {message}", flush=True)


def map_nmi(vectors: np.ndarray, texts: list[str], labels) -> tuple[float, float]:
    from pipeline import BuildConfig, map_papers
    from pipeline.bench.metrics import partition_scores

    docs = pd.DataFrame({"id": [f"p{i}" for i in range(len(texts))],
                         "title": [t.split(". ")[0] for t in texts], "abstract": texts,
                         "year": np.nan, "authors": "", "url": ""})
    runs = [partition_scores(labels, map_papers(docs, vectors, BuildConfig(seed=s))[0]
                             ["cluster"].to_numpy()).nmi for s in (42, 43, 44)]
    return float(np.mean(runs)), float(np.std(runs))


def main() -> None:
    with_nmi = "--nmi" in sys.argv
    results: dict = {}
    for corpus in ("cs_venues_balanced", "medical_abstracts"):
        frame = pd.read_csv(DATA / f"{corpus}.csv.gz")
        texts = document_texts(frame["title"].fillna("").tolist(),
                               frame["abstract"].fillna("").tolist())
        rows = draw(len(frame), 1000, 42)
        rest = np.setdiff1d(np.arange(len(frame)), rows)
        measured = [texts[i] for i in rows]
        labels = frame["label"].to_numpy()[rows]
        cached = CACHE / f"ref_{corpus}.npy"
        if corpus == "cs_venues_balanced":
            reference = np.load(DATA / "cs_venues_balanced.all-MiniLM-L6-v2.npy")[rows]
        elif cached.is_file():
            reference = np.load(cached)
        else:
            reference = SentenceTransformerEmbedder().encode(measured)
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.save(cached, reference)
        own = [texts[i] for i in np.random.default_rng(7).choice(rest, size=128, replace=False)]
        entry: dict = {}
        if with_nmi:
            entry["fp32 nmi"] = map_nmi(reference, measured, labels)
        for how, calibration in (("shipped", None), ("own corpus", own)):
            embedder = OvInt8Embedder(cache_dir=CACHE, calibration=calibration)
            embedder.encode(measured[:2])
            started = time.perf_counter()
            vectors = embedder.encode(measured)
            entry[how] = {"knn10": knn_agreement(vectors, reference),
                          "cosine": mean_cosine(vectors, reference),
                          "quantise_s": embedder.one_time_s,
                          "encode_s": time.perf_counter() - started,
                          "key": embedder.settings_key()}
            if with_nmi:
                entry[how]["nmi"] = map_nmi(vectors, measured, labels)
            log(f"{corpus}, {how} calibration: {entry[how]}")
        results[corpus] = entry
    results["load"] = os.getloadavg()
    OUT.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
