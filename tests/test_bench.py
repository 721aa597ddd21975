"""The benchmark as a smoke run on a tiny synthetic corpus (no real model, no BERTopic)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FakeEmbedder, make_corpus

from pipeline import bench


@pytest.fixture
def tiny_corpus(tmp_path):
    frame = make_corpus(20)
    frame["label"] = frame["venue"]
    csv = tmp_path / "corpus.csv"
    frame.to_csv(csv, index=False)
    vectors = FakeEmbedder().encode((frame["title"] + ". " + frame["abstract"]).tolist())
    npy = tmp_path / "corpus.npy"
    np.save(npy, vectors)
    return csv, npy


def test_draw_is_seeded_and_capped():
    a, b = bench.draw(100, 10, 1), bench.draw(100, 10, 1)
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 10
    assert bench.draw(100, 10, 2).tolist() != a.tolist()
    assert bench.draw(50, 80, 1).tolist() == list(range(50))


def test_step_recorder_measures_time_and_memory():
    recorder = bench.StepRecorder()
    with recorder.step("allocate"):
        block = np.ones((4000, 4000))  # 122 MiB
        block += 1
    assert recorder.steps["allocate"]["seconds"] > 0
    assert recorder.steps["allocate"]["peak_mb"] > 120
    del block
    with recorder.step("small"):
        pass
    if bench.reset_peak_rss():  # Linux: the mark is reset per step
        assert recorder.steps["small"]["peak_mb"] < recorder.steps["allocate"]["peak_mb"]


@pytest.mark.slow
def test_quick_run_writes_the_report(tiny_corpus, tmp_path, capsys):
    csv, npy = tiny_corpus
    out = tmp_path / "report" / "BENCHMARKS.md"
    out.parent.mkdir()
    quality = "<!-- quality:start -->\n## Topic quality, per layer\n<!-- quality:end -->"
    out.write_text(f"# Benchmarks\n\nold speed tables\n\n{quality}\n")
    out.with_suffix(".json").write_text(json.dumps({"quality": {"date": "earlier"}}))
    code = bench.main(["--quick", "--sizes", "200", "--backends", "none", "--no-bertopic",
                       "--rounds", "2", "--update-papers", "6", "--data", str(csv),
                       "--vectors", str(npy), "--out", str(out), "--quality-corpora", "none"])
    assert code == 0
    text = out.read_text()
    # Quality was not measured again: its last section stays, the speed tables are new.
    assert quality in text and "old speed tables" not in text
    assert "## 80 papers" in text  # 200 asked, 80 exist
    assert "the corpus has 80 papers" in text
    assert "Incremental update (6 papers into a 74-paper map)" in text
    assert "Command: `python -m pipeline.bench --quick" in text
    # Nothing embedded was measured: no figure says it was, and no total includes it.
    assert "embedding | not measured" in text and "total with embedding" not in text
    results = json.loads(out.with_suffix(".json").read_text())
    first = results["sizes"][0]
    assert first["n"] == 80 and len(first["rounds"]) == 2
    assert [r["seed"] for r in first["rounds"]] == [42, 43]
    steps = first["ours"]["steps"]
    assert {"reduce", "cluster", "name"} <= set(steps)
    assert all(v["seconds"] >= 0 and v["peak_mb"] > 0 for v in steps.values())
    assert first["ours"]["without_name"]["median"] < first["ours"]["total"]["median"]
    # Four clean synthetic topics: the map's broadest layer finds them.
    broadest = next(row for row in first["matched"] if row["match"] == "theme")
    assert broadest["ours"]["nmi"] > 0.7 and broadest["bertopic"] is None
    assert results["quality"] == {"date": "earlier"}
    update = results["updates"][0]
    assert update["added"] == 6 and update["rounds"] == 2
    assert 0 < update["update_s"]["min"] <= update["update_s"]["median"]


@pytest.mark.slow
def test_embedding_is_measured_for_both_sides_when_the_table_runs(tiny_corpus, tmp_path,
                                                                  monkeypatch):
    """With the default backend and torch float32 in the table, each side's embedding is its
    encoding time there plus its load, timed in a fresh process, and totals include it."""
    pytest.importorskip("sentence_transformers")
    monkeypatch.setattr("pipeline.embed.registry.resolve_backend", lambda *_: "torch")
    csv, npy = tiny_corpus
    out = tmp_path / "BENCHMARKS.md"
    assert bench.main(["--quick", "--sizes", "16", "--embed-sample", "16", "--backends", "torch",
                       "--no-bertopic", "--update-papers", "4", "--data", str(csv),
                       "--vectors", str(npy), "--out", str(out)]) == 0
    results = json.loads(out.with_suffix(".json").read_text())
    embedding, table = results["embedding"], results["embedders"][0]
    assert embedding["ours_encode"] == embedding["theirs_encode"] == table["seconds"]
    assert embedding["ours_load"] > 0 and embedding["theirs_load"] > 0
    assert embedding["ours"] == embedding["ours_encode"] + embedding["ours_load"]
    assert results["sizes"][0]["embedding"] == embedding
    assert "embedding, measured (load + encoding these 16 papers)" in out.read_text()


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    assert bench.main(["--quick", "--no-bertopic", "--data", str(tmp_path / "none.csv")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.slow
def test_bertopic_side_runs_when_installed(tiny_corpus):
    pytest.importorskip("bertopic")
    csv, npy = tiny_corpus
    result = bench.bertopic_side(str(csv), str(npy), 42, [2, 3])
    assert len(result["labels"]) == 80
    assert {"reduce", "cluster", "name", "2-D map", "figure"} <= set(result["steps"])
    # Four clean topics; reduced with its own reduce_topics to each count asked for.
    assert len(set(result["labels"]) - {-1}) == 4
    for count in (2, 3):
        reduced = result["reduced"][count]
        assert len(set(reduced) - {-1}) == count
        assert [t == -1 for t in reduced] == [t == -1 for t in result["labels"]]


def test_module_runs_as_a_command():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "pipeline.bench", "--help"], cwd=root,
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("usage: python -m pipeline.bench")
    assert "--embed-sample" in result.stdout and "--no-bertopic" in result.stdout


# --------------------------------------------------------------------------- topic quality


def test_quality_measures_every_layer_of_a_map(small_map, tmp_path):
    from pipeline import load_map
    from pipeline.bench import quality, quality_report

    corpus = quality.Corpus("small", small_map, "venue")
    result = quality.measure(load_map(small_map), corpus, bertopic=False)
    assert [layer["level"] for layer in result["layers"]] == ["cluster", "theme"]
    fine = result["layers"][0]
    assert fine["nodes"] >= 2 and fine["nmi"] > 0.5 and 0 < fine["largest"] <= 1
    assert {"support_spec_median", "support_any_median", "contrast_median"} <= set(fine["ours"])
    assert "bertopic" not in fine  # skipped cleanly
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nspeed tables\n")
    section = quality_report.write_quality([result], out, command="python -m pipeline.bench "
                                                                  "quality")
    assert "### small" in section and "| 0 (cluster) |" in section
    quality_report.write_quality([result], out, command="again")  # replaces, never duplicates
    text = out.read_text()
    assert text.count(quality_report.START) == 1 and "speed tables" in text and "`again`" in text
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["quality"]["results"][0]["corpus"] == "small"


def test_quality_bars_are_checked():
    from pipeline.bench.quality_report import bars

    names = {"support_spec_median": 0.55, "support_spec_min": 0.2, "support_any_median": 0.72,
             "retrieval": 0.95}
    result = {"corpus": "cs_balanced", "layers": [
        {"nodes": 60, "largest": 0.05, "noise": 0.2, "homogeneity": 0.66, "nmi": 0.3,
         "ours": names},
        {"nodes": 4, "largest": 0.3, "noise": 0.0, "nmi": 0.49, "ours": names}]}
    checked = {b["bar"]: b["ok"] for b in bars([result])}
    assert checked["finest names: specific-term support median >= 0.5"]
    assert checked["finest homogeneity >= 0.65 with <= 30% noise"]
    assert not checked["broadest layer NMI >= 0.50"]


def test_quality_runs_alone_as_a_command():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "pipeline.bench", "quality", "--help"],
                            cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.startswith("usage: python -m pipeline.bench quality")
    assert "--corpora" in result.stdout and "--layers" in result.stdout


def test_readme_headline_agrees_with_benchmarks():
    """README's headline against BERTopic is the one the last benchmark run wrote."""
    from pathlib import Path

    from pipeline.bench.headline import headline, readme_block

    root = Path(__file__).resolve().parents[1]
    results = json.loads((root / "BENCHMARKS.json").read_text())
    block = readme_block(root / "README.md")
    assert block == headline(results)
    assert results["date"] in block and "BERTopic" in block


def test_headline_replaces_its_block_only(tmp_path):
    from pipeline.bench.headline import END, START, headline, write_readme

    side = {"total": {"median": 9.0}, "peak_mb": {"median": 500.0}}
    results = {"date": "2026-12-04 10:00 UTC", "data": "papers.csv", "sizes": [{
        "n": 1000, "ours": side, "bertopic": dict(side, peak_mb={"median": 800.0}),
        "ratio": {"median": 3.21}, "ratio_without_embedding": {"median": 1.74},
        "ratio_without_name": {"median": 2.5},
        "embedding": {"ours_backend": "ov-int8"},
        "matched": [{"match": "theme", "ours": {"nodes": [4, 5], "nmi": 0.56},
                     "bertopic": {"nodes": [4, 5], "nmi": 0.43}}]}],
        "updates": [{"n_map": 900, "n_new": 100, "ratio": {"median": 0.25}}]}
    readme = tmp_path / "README.md"
    assert not write_readme(readme, results)
    readme.write_text(f"# Title\n\nbefore\n{START}\nold\n{END}\nafter\n")
    assert write_readme(readme, results)
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n") and text.endswith("\nafter\n")
    assert "old" not in text and headline(results) in text
    assert "**3.2×** faster with embedding" in text and "**1.7×** without embedding" in text
    assert "0.560 / 0.430 at 4–5 topics" in text and "0.25× a full build at 1,000" in text
