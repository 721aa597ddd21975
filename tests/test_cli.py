"""The command line: exit codes, messages, info output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_info_lists_clusters_and_labels(small_map, capsys):
    assert main(["info", str(small_map)]) == 0
    out = capsys.readouterr().out
    assert "100 kept" in out.replace("kept 100", "100 kept")
    assert "theme 0:" in out and "cluster" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "nope.csv", "--out", "{tmp}/m"], "no such file"),
        (["build", "{tmp}/bad.xyz", "--out", "{tmp}/m"], "unknown format"),
        (["build", "{tmp}/few.csv", "--out", "{tmp}/m"], "at least 3"),
        (["build", "{tmp}/few.csv", "--out", "{tmp}/m", "--min-cluster-size", "1"],
         "min_cluster_size must be"),
        (["info", "{tmp}/nothing"], "no map at"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path, args, message):
    (tmp_path / "bad.xyz").write_text("x")
    (tmp_path / "few.csv").write_text("title,abstract\na,a long enough abstract text here\n")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = subprocess.run([sys.executable, "-m", "pipeline", *argv], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "m").exists()


def test_help_describes_the_commands():
    result = subprocess.run([sys.executable, "-m", "pipeline", "build", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--out", "--model", "--seed", "--min-cluster-size", "--embeddings"):
        assert option in result.stdout


def test_build_records_a_readable_title(tmp_path):
    """``--title`` goes in the manifest; without it the title comes from the input's file
    name, never from the output folder's (issue 20)."""
    import numpy as np
    from conftest import FakeEmbedder, make_corpus

    from pipeline import load_map
    from pipeline.mapdir.manifest import map_title

    corpus = make_corpus(10)
    source = tmp_path / "cs_venues_balanced.csv.gz"
    corpus.to_csv(source, index=False)
    vectors = FakeEmbedder().encode((corpus["title"] + ". " + corpus["abstract"]).tolist())
    np.save(tmp_path / "v.npy", vectors)
    common = ["build", str(source), "--embeddings", str(tmp_path / "v.npy"), "-q"]
    assert main([*common, "--out", str(tmp_path / "cs10k")]) == 0
    default = load_map(tmp_path / "cs10k")
    assert default.manifest["title"] == "Cs venues balanced"
    assert main([*common, "--out", str(tmp_path / "m2"), "--title", " Venues\tof CS "]) == 0
    titled = load_map(tmp_path / "m2")
    assert map_title(titled.manifest, titled.path) == "Venues of CS"
    # A map built before titles: made from its input files, else its folder's name.
    assert map_title({"inputs": [{"path": "/data/arxiv-2024_ml.jsonl.gz"}]}) == "Arxiv 2024 ml"
    assert map_title({}, tmp_path / "old") == "old"
