"""The bench's embedder table: the report section, issue 15's bars, --embedders-only merging."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline.bench.embedders import merged_report, render_table, texts_outside, verdict


def row(backend, speedup, knn, nmi_delta, **extra):
    fast = backend.startswith("fast")
    bar = knn >= (0.5 if fast else 0.9) and (fast or abs(nmi_delta) <= 0.02)
    return {"backend": backend, "label": backend, "papers_per_s": 10.0 * speedup,
            "speedup": speedup, "cosine": None if fast else 0.99, "knn10": knn, "nmi": 0.5,
            "nmi_sd": 0.01, "nmi_delta": nmi_delta, "clusters": 7, "setup_s": 1.0,
            "meets_quality": bar, "meets_bar": bar and speedup >= (100 if fast else 3),
            **extra}


TABLE = [row("torch", 1.0, 1.0, 0.0), row("ov-int8", 3.4, 0.943, -0.004, one_time_s=40.0),
         row("fast-tuned", 110.0, 0.52, -0.2, one_time_s=250.0, teacher_s=170.0,
             train_s=80.0, sample=4000)]


def test_verdict_and_table_name_both_bars():
    assert "ov-int8" in verdict(TABLE) and "Fast-model bar" in verdict(TABLE)
    lines = render_table({"embedders": TABLE, "embed_sample": 1000, "rounds": 4,
                          "default_backend": "ov-int8", "embed_verdict": verdict(TABLE)})
    text = "\n".join(lines)
    assert "| ov-int8 | 34.0 | 3.40× |" in text
    assert "4000 papers embedded 170 s + training 80 s" in text
    assert "**ov-int8**" in text


def test_embedders_only_keeps_the_rest_of_the_report(tmp_path):
    previous = {"date": "old", "command": "python -m pipeline.bench", "sizes": [{"n": 1000}],
                "default_backend": "torch-bf16", "embedders": [], "rounds": 4}
    path = tmp_path / "BENCHMARKS.json"
    path.write_text(json.dumps(previous))
    new = {"date": "new", "command": "python -m pipeline.bench --embedders-only",
           "load_start": "1.0", "load_end": "1.5", "embedders": TABLE, "embed_sample": 1000,
           "rounds": 4, "default_backend": "ov-int8", "machine": {"Model name": "Xeon"}}
    merged = merged_report(path, new)
    assert merged["sizes"] == [{"n": 1000}] and merged["date"] == "old"
    assert merged["default_backend"] == "torch-bf16"  # the size sections' embedding rates
    assert merged["embedders"] == TABLE
    assert merged["embedders_run"]["default_backend"] == "ov-int8"
    text = "\n".join(render_table(merged))
    assert "later run" in text and "--embedders-only" in text and "**ov-int8**" in text
    assert merged_report(tmp_path / "missing.json", new) is new


def test_tuning_corpus_excludes_the_measured_papers():
    frame = pd.DataFrame({"title": [f"t{i}" for i in range(10)], "abstract": "a"})
    texts = texts_outside(frame, np.array([0, 5]))
    assert len(texts) == 8 and "t0. a" not in texts and "t5. a" not in texts
