"""The whole pipeline with a fake embedder: map contents, cache, atomicity, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder, PaperCounter, assert_layers_nest, make_corpus
from sklearn.metrics import normalized_mutual_info_score

from pipeline import BuildConfig, build, load_map
from pipeline.errors import MapFormatError
from pipeline.mapdir.store import CLUSTER_COLUMNS, DOCUMENT_COLUMNS, MANIFEST, SCHEMA_VERSION
from pipeline.naming.offline import PROVENANCE


def test_small_map_has_the_documented_format(small_map):
    topic_map = load_map(small_map)
    docs, clusters = topic_map.documents, topic_map.clusters
    assert list(docs.columns[: len(DOCUMENT_COLUMNS)]) == DOCUMENT_COLUMNS
    assert "venue" in topic_map.metadata_columns
    assert list(clusters.columns) == CLUSTER_COLUMNS + list(PROVENANCE)  # + the namer's own
    assert topic_map.embeddings.shape == (100, 64)
    manifest = topic_map.manifest
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["counts"]["kept"] == 100
    assert set(manifest["timings"]) >= {"ingest", "embed", "reduce", "cluster", "name"}
    assert manifest["config"]["seed"] == 42
    assert len(manifest["inputs"][0]["sha256"]) == 64
    # Four well-separated topics: clusters agree with them.
    nmi = normalized_mutual_info_score(docs["venue"], docs["cluster"])
    assert nmi > 0.8
    fine = topic_map.level("cluster")
    assert fine["label"].is_unique and fine["label"].str.len().gt(2).all()
    assert set(fine["parent"]) <= set(topic_map.level("theme")["id"])
    assert all(len(r) >= 1 for r in fine["representative_ids"])
    assert set(docs["theme"]) <= set(topic_map.level("theme")["id"])
    assert_layers_nest(topic_map)
    assert clusters["llm_label"].eq("").all() and clusters["weak_name"].dtype == bool


def test_labels_name_the_topic(small_map):
    topic_map = load_map(small_map)
    docs = topic_map.documents
    for _, row in topic_map.level("cluster").iterrows():
        venue = docs.loc[docs["cluster"] == row["id"], "venue"].mode()[0].lower()
        from conftest import TOPICS

        vocabulary = set(TOPICS[venue]) | {venue}
        words = {w.lower() for w in row["label"].replace("&", " ").split()}
        assert words & vocabulary, (row["label"], venue)


def test_second_build_embeds_nothing_and_grown_corpus_only_new(tmp_path):
    corpus = make_corpus(15)
    source = tmp_path / "p.csv"
    corpus.to_csv(source, index=False)
    embedder = PaperCounter()
    build([source], tmp_path / "m", embedder=embedder, cache_dir=tmp_path / "c",
          show_progress=False)
    assert embedder.texts_seen == 60
    again = build([source], tmp_path / "m", embedder=embedder, cache_dir=tmp_path / "c",
                  show_progress=False)
    assert embedder.texts_seen == 60
    assert again.manifest["counts"]["embedded"] == 0
    grown = pd.concat([corpus, make_corpus(3, seed=9).assign(id=lambda d: d["id"] + "-new",
                                                            title=lambda d: d["title"] + " new")])
    grown.to_csv(source, index=False)
    build([source], tmp_path / "m", embedder=embedder, cache_dir=tmp_path / "c",
          show_progress=False)
    assert embedder.texts_seen == 60 + 12


def test_same_seed_same_map_other_seed_other_layout(tmp_path, corpus_csv):
    maps = [build([corpus_csv], tmp_path / f"m{i}", BuildConfig(seed=seed),
                  embedder=FakeEmbedder(), cache_dir=tmp_path / "c", show_progress=False)
            for i, seed in enumerate([7, 7, 8])]
    a, b, c = (m.documents for m in maps)
    np.testing.assert_array_equal(a[["x", "y"]].to_numpy(), b[["x", "y"]].to_numpy())
    np.testing.assert_array_equal(a["cluster"], b["cluster"])
    assert maps[0].clusters["label"].tolist() == maps[1].clusters["label"].tolist()
    assert not np.allclose(a[["x", "y"]].to_numpy(), c[["x", "y"]].to_numpy())


@pytest.mark.parametrize("n", [3, 4, 9, 12])
def test_tiny_corpora_build(tmp_path, n):
    corpus = make_corpus(n, topics=["vision"]).head(n)
    source = tmp_path / "tiny.csv"
    corpus.to_csv(source, index=False)
    topic_map = build([source], tmp_path / "m", embedder=FakeEmbedder(),
                      cache_dir=tmp_path / "c", show_progress=False)
    docs = topic_map.documents
    assert len(docs) == n
    assert np.isfinite(docs[["x", "y"]].to_numpy()).all()
    clusters = topic_map.level("cluster")
    # Every paper is in a finest cluster of the table or in none (-1), and the table's
    # clusters are exactly those that hold papers, with their true sizes.
    assert docs["cluster"].isin([-1, *clusters["id"]]).all() and len(clusters) >= 1
    sizes = docs.loc[docs["cluster"] >= 0, "cluster"].value_counts()
    assert dict(zip(clusters["id"], clusters["size"], strict=True)) == sizes.to_dict()
    assert_layers_nest(topic_map)
    assert (topic_map.clusters["label"].str.strip() != "").all()


def test_interrupted_build_leaves_previous_map_intact(tmp_path, corpus_csv, monkeypatch):
    out = tmp_path / "m"
    build([corpus_csv], out, embedder=FakeEmbedder(), cache_dir=tmp_path / "c",
          show_progress=False)
    before = (out / MANIFEST).read_text()

    import pipeline.mapdir.store as artifacts

    def explode(*args, **kwargs):
        raise KeyboardInterrupt  # as if Ctrl-C arrived while the new map was being written

    monkeypatch.setattr(artifacts.np, "save", explode)
    with pytest.raises(KeyboardInterrupt):
        build([corpus_csv], out, BuildConfig(seed=3), embedder=FakeEmbedder(),
              cache_dir=tmp_path / "c", show_progress=False)
    monkeypatch.undo()
    assert (out / MANIFEST).read_text() == before
    assert load_map(out).manifest["config"]["seed"] == 42
    leftovers = [p.name for p in tmp_path.iterdir()
                 if p.name.startswith((".m.tmp-", ".m.old-"))]
    assert leftovers == []


def test_other_schema_version_is_refused(tmp_path, small_map):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(small_map, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["schema_version"] = SCHEMA_VERSION + 1
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(MapFormatError, match="schema version"):
        load_map(copy)


def test_changed_file_is_refused(tmp_path, small_map):
    import shutil

    copy = tmp_path / "changed"
    shutil.copytree(small_map, copy)
    with open(copy / "embeddings.npy", "r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(MapFormatError, match="does not match the hash"):
        load_map(copy)


def test_precomputed_embeddings_are_row_aligned(tmp_path):
    corpus = make_corpus(10)
    corpus.loc[5, "abstract"] = ""  # skipped row: its vector must be skipped too
    source = tmp_path / "p.csv"
    corpus.to_csv(source, index=False)
    vectors = FakeEmbedder().encode((corpus["title"] + ". " + corpus["abstract"]).tolist())
    np.save(tmp_path / "v.npy", vectors)
    config = BuildConfig()
    config.embed.embeddings_path = str(tmp_path / "v.npy")
    topic_map = build([source], tmp_path / "m", config, show_progress=False)
    kept = corpus.drop(index=5).reset_index(drop=True)
    np.testing.assert_allclose(topic_map.embeddings, np.delete(vectors, 5, axis=0), atol=1e-6)
    assert topic_map.documents["id"].tolist() == kept["id"].tolist()
    np.save(tmp_path / "bad.npy", vectors[:-1])
    config.embed.embeddings_path = str(tmp_path / "bad.npy")
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="one row per input row"):
        build([source], tmp_path / "m2", config, show_progress=False)


def test_edited_manifest_is_refused(tmp_path, small_map):
    """The manifest carries its own checksum: an edited count is damage, not data."""
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(small_map, copy)
    text = (copy / MANIFEST).read_text()
    manifest = json.loads(text)
    manifest["counts"] = {**manifest.get("counts", {}), "documents": 1}
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(MapFormatError, match="damaged"):
        load_map(copy)
