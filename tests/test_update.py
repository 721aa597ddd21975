"""Incremental updates: placement, layers by vote and parent links, the command, atomicity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder, assert_layers_nest, make_corpus

from pipeline import BuildConfig, build, load_map
from pipeline.cli.main import main
from pipeline.engines.fitted import load_fitted
from pipeline.engines.update import advise, rebuild_map, update_map
from pipeline.errors import MapFormatError
from pipeline.fit.placement import KNOWN_AB, ab_params, fit_ab, place, smooth_knn_weights
from pipeline.mapdir.store import FITTED, MANIFEST, sha256_file, write_manifest


@pytest.fixture
def fake_embedder(monkeypatch):
    """Every embedder the pipeline makes is the fast fake one (conftest's ``fake_backend``
    registers a backend instead)."""
    monkeypatch.setattr("pipeline.engines.recipe.make_embedder", lambda *a, **k: FakeEmbedder())


@pytest.fixture
def map_copy(small_map, tmp_path) -> Path:
    target = tmp_path / "map"
    shutil.copytree(small_map, target)
    return target


def new_papers(tmp_path: Path, n_per_topic: int = 5, seed: int = 7) -> Path:
    frame = make_corpus(n_per_topic, seed=seed)
    frame["id"] = "new-" + frame["id"]
    frame["title"] = "Fresh " + frame["title"]
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    return path


def file_hashes(directory: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(directory.iterdir())}


# --------------------------------------------------------------------------- pieces


def test_smooth_knn_weights_match_umap():
    from umap.umap_ import smooth_knn_dist

    rng = np.random.default_rng(0)
    dists = np.sort(rng.uniform(0.05, 0.9, size=(50, 15)), axis=1).astype(np.float32)
    sigmas, rhos = smooth_knn_dist(dists, 15.0, local_connectivity=0.0)
    expected = np.exp(-(dists - rhos[:, None]) / sigmas[:, None])
    np.testing.assert_allclose(smooth_knn_weights(dists, 15.0), expected, rtol=1e-4)


def test_place_is_weighted_mean_of_neighbours_and_exact_for_duplicates():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(60, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    layout = rng.normal(size=(60, 2)).astype(np.float32)
    (positions,), neighbours = place(vectors[:3], vectors, [layout], n_neighbors=5)
    # A paper already on the map lands exactly where it is.
    np.testing.assert_allclose(positions, layout[:3], atol=1e-6)
    assert neighbours[:, 0].tolist() == [0, 1, 2]
    probe = vectors[:1] + 0.3 * vectors[1:2]
    probe /= np.linalg.norm(probe)
    (inside,), idx = place(probe, vectors, [layout], n_neighbors=5)
    lo, hi = layout[idx[0]].min(axis=0), layout[idx[0]].max(axis=0)
    assert np.all(inside[0] >= lo - 1e-6) and np.all(inside[0] <= hi + 1e-6)


def test_advice():
    assert advise(0.1, 0.1, 10, 1000) == []
    assert "noise" in advise(0.6, 0.1, 10, 1000)[0]
    assert "drifted" in advise(0.1, 0.1, 300, 1000)[0]


# --------------------------------------------------------------------------- the command


def test_build_saves_fitted_state(small_map):
    topic_map = load_map(small_map)
    assert FITTED in topic_map.manifest["files"]
    fitted = load_fitted(topic_map)
    assert fitted["cluster_space"].shape[0] == len(topic_map.documents)
    assert int(fitted["n_fitted"]) == len(topic_map.documents)
    assert int(fitted["n_terms"]) > 0


def test_update_adds_papers_and_keeps_old_ones(map_copy, tmp_path, fake_embedder):
    before = load_map(map_copy, mmap=False)
    source = new_papers(tmp_path)
    result = update_map(map_copy, [source], rename_growth=0.0)
    after = load_map(map_copy, mmap=False)
    n_old = len(before.documents)
    assert result.added == 20 and len(after.documents) == n_old + 20
    old_part = after.documents.iloc[:n_old]
    pd.testing.assert_frame_equal(old_part.reset_index(drop=True), before.documents)
    np.testing.assert_array_equal(np.asarray(after.embeddings[:n_old]), before.embeddings)
    new = after.documents.iloc[n_old:]
    assert new["id"].str.startswith("new-").all()
    assert np.isfinite(new[["x", "y"]].to_numpy()).all()
    assert (new["theme"] >= 0).all()
    # New papers join the cluster that holds most old papers of their topic.
    topic = lambda ids: ids.str.replace("new-", "").str.split("-").str[0]  # noqa: E731
    majority = old_part.groupby(topic(old_part["id"]))["cluster"].agg(lambda s: s.mode()[0])
    expected = topic(new["id"]).map(majority)
    clustered = new["cluster"] >= 0
    assert clustered.mean() >= 0.8
    assert (new["cluster"][clustered] == expected[clustered]).mean() >= 0.9
    # Counts and sizes follow; renamed classes have terms.
    sizes = after.level("cluster").set_index("id")["size"]
    counted = after.documents[after.documents["cluster"] >= 0]["cluster"].value_counts()
    assert all(sizes[c] == counted.get(c, 0) for c in sizes.index)
    assert result.renamed["cluster"]
    assert after.manifest["counts"]["kept"] == n_old + 20
    assert_layers_nest(after)  # new papers sit in every layer, nested by the parent links
    assert after.manifest["updates"][-1]["added"] == 20
    fitted = load_fitted(after)
    assert fitted["cluster_space"].shape[0] == n_old + 20
    assert int(fitted["n_fitted"]) == n_old


def test_update_names_the_map_once_when_many_nodes_grew(map_copy, tmp_path, fake_embedder,
                                                        monkeypatch):
    """Renaming every node one by one would count each paper many times (its own node's and
    its siblings'): when that is more than the map, the update names the whole map once, as
    a build does, and gives the grown nodes those names, still distinct."""
    import pipeline.naming.offline as offline

    def one_by_one(*args, **kwargs):
        raise AssertionError("renamed node by node")

    monkeypatch.setattr(offline, "_rename_one", one_by_one)
    result = update_map(map_copy, [new_papers(tmp_path)], rename_growth=0.0)
    after = load_map(map_copy, mmap=False)
    assert sum(len(nodes) for nodes in result.renamed.values()) >= 3
    names = after.clusters["label"].str.casefold()  # the namer's uniqueness is casefolded
    same = after.clusters.assign(name=names).duplicated(["level", "name"])
    assert not same.any(), after.clusters[same]
    assert names.str.len().gt(0).all()


def test_update_judges_new_names_with_the_maps_model(map_copy, tmp_path):
    """A topic an update renames is named as a build names it: its candidate names are
    embedded with the map's model (here the embedder given for the new papers)."""
    seen: list[str] = []

    class Recorder(FakeEmbedder):
        def encode(self, texts, **kwargs):
            seen.extend(texts)
            return super().encode(texts, **kwargs)

    result = update_map(map_copy, [new_papers(tmp_path)], embedder=Recorder(),
                        rename_growth=0.0)
    renamed = load_map(map_copy).level("cluster").set_index("id").loc[
        result.renamed["cluster"], "label"]
    phrases = {text.casefold() for text in seen if ". " not in text}  # not papers
    assert len(renamed) and phrases
    assert any(label.casefold() in phrases for label in renamed)


def test_build_keeps_the_phrases_its_namer_embedded(small_map):
    fitted = load_fitted(load_map(small_map))
    phrases = bytes(fitted["phrase_text"]).decode("utf-8").split("\n")
    assert len(phrases) == len(set(phrases)) == len(fitted["phrase_vectors"]) > 0
    np.testing.assert_allclose(fitted["phrase_vectors"], FakeEmbedder().encode(phrases),
                               atol=1e-6)


def test_update_embeds_only_phrases_it_has_not_seen(small_map, tmp_path, monkeypatch):
    """Saved phrase vectors stand in for the model: an update embeds the phrases it has
    not seen, each once, keeps them for the next, and names exactly as without them."""
    from pipeline.engines.fitted import PhraseVectors

    class Recorder(FakeEmbedder):
        def encode(self, texts, **kwargs):
            if not any(". " in t for t in texts):  # phrases, not papers
                batches.append(list(texts))
            return super().encode(texts, **kwargs)

    saved = bytes(load_fitted(load_map(small_map))["phrase_text"]).decode().split("\n")
    results = {}
    for run in ("saved", "none saved"):
        batches: list[list[str]] = []
        target = tmp_path / run
        shutil.copytree(small_map, target)
        if run == "none saved":
            monkeypatch.setattr(PhraseVectors, "from_fitted",
                                classmethod(lambda cls, fitted, embed: cls(embed)))
        result = update_map(target, [new_papers(tmp_path)], embedder=Recorder(),
                            rename_growth=0.0)
        embedded = [p for batch in batches for p in batch]
        results[run] = (load_map(target).clusters, embedded, result)
    clusters, embedded, result = results["saved"]
    assert sum(map(len, result.renamed.values())) > 0
    assert not set(embedded) & set(saved) and len(embedded) == len(set(embedded))
    assert set(results["none saved"][1]) & set(saved)  # without them: embedded again
    pd.testing.assert_frame_equal(clusters, results["none saved"][0])
    after = bytes(load_fitted(load_map(tmp_path / "saved"))["phrase_text"]).decode().split("\n")
    assert set(after) == set(saved) | set(embedded)


def test_update_skips_papers_already_in_the_map(map_copy, tmp_path, fake_embedder):
    topic_map = load_map(map_copy)
    again = topic_map.documents[["id", "title", "abstract"]].head(5)
    path = tmp_path / "again.csv"
    pd.concat([again, pd.read_csv(new_papers(tmp_path, 1))]).to_csv(path, index=False)
    result = update_map(map_copy, [path])
    assert result.skipped_duplicates == 5
    assert result.added == 4


def test_crash_while_writing_leaves_the_map_intact(map_copy, tmp_path, fake_embedder,
                                                   monkeypatch):
    before = file_hashes(map_copy)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.mapdir.store.np.savez", crash)
    with pytest.raises(KeyboardInterrupt):
        update_map(map_copy, [new_papers(tmp_path)])
    assert file_hashes(map_copy) == before
    assert [p.name for p in map_copy.parent.iterdir() if p.name.startswith(".")] == []
    assert len(load_map(map_copy).documents) == 100


def test_cli_update_then_rebuild(map_copy, tmp_path, fake_embedder, capsys):
    source = new_papers(tmp_path, 10)
    assert main(["update", str(map_copy), str(source), "-q"]) == 0
    out = capsys.readouterr().out
    assert "Added 40 papers" in out
    # 40 new papers on a 100-paper map is more than the drift threshold.
    assert "--rebuild" in out
    assert main(["update", str(map_copy), "--rebuild", "-q"]) == 0
    rebuilt = load_map(map_copy)
    assert len(rebuilt.documents) == 140
    assert int(load_fitted(rebuilt)["n_fitted"]) == 140
    assert_layers_nest(rebuilt)
    assert rebuilt.manifest["updates"][-1]["rebuild"] is True


def test_update_of_a_map_without_saved_state_says_what_to_do(map_copy, tmp_path, fake_embedder,
                                                             capsys):
    manifest = json.loads((map_copy / MANIFEST).read_text())
    del manifest["files"][FITTED]
    (map_copy / FITTED).unlink()
    write_manifest(map_copy, manifest)
    with pytest.raises(MapFormatError, match="--rebuild"):
        update_map(map_copy, [new_papers(tmp_path)])
    assert main(["update", str(map_copy), str(new_papers(tmp_path))]) == 2
    assert "--rebuild" in capsys.readouterr().err
    # --rebuild works on such a map and adds the state.
    rebuild_map(map_copy)
    assert FITTED in load_map(map_copy).manifest["files"]


def test_update_with_precomputed_vectors(tmp_path):
    frame = make_corpus(15)
    source = tmp_path / "all.csv"
    frame.to_csv(source, index=False)
    embedder = FakeEmbedder()
    texts = (frame["title"] + ". " + frame["abstract"]).tolist()
    vectors = embedder.encode(texts)
    old_rows, new_rows = np.arange(0, 60), np.arange(50, 60)
    frame.iloc[:50].to_csv(tmp_path / "old.csv", index=False)
    np.save(tmp_path / "old.npy", vectors[:50])
    frame.iloc[50:].to_csv(tmp_path / "new.csv", index=False)
    np.save(tmp_path / "new.npy", vectors[50:])
    config = BuildConfig()
    config.embed.embeddings_path = str(tmp_path / "old.npy")
    build([tmp_path / "old.csv"], tmp_path / "m", config, show_progress=False)
    result = update_map(tmp_path / "m", [tmp_path / "new.csv"],
                        embeddings_path=tmp_path / "new.npy")
    assert result.added == 10
    topic_map = load_map(tmp_path / "m")
    np.testing.assert_allclose(np.asarray(topic_map.embeddings[50:]), vectors[50:], atol=1e-6)
    assert len(old_rows) == 60 and len(new_rows) == 10


def test_refine_pulls_new_points_into_their_neighbours_cluster():
    from pipeline.fit.placement import refine

    rng = np.random.default_rng(5)
    layout = np.vstack([rng.normal(0, 0.3, size=(50, 2)), rng.normal((8, 0), 0.3, size=(50, 2))])
    # Started half-way, but all neighbours are in the left cluster.
    start = np.full((4, 2), (4.0, 0.0))
    neighbours = np.tile(np.arange(10), (4, 1))
    weights = np.full((4, 10), 0.8)
    out = refine(start, layout.astype(np.float32), neighbours, weights, min_dist=0.0, seed=1)
    assert np.isfinite(out).all()
    assert np.linalg.norm(out - layout[:50].mean(axis=0), axis=1).max() < 2.0
    again = refine(start, layout.astype(np.float32), neighbours, weights, min_dist=0.0, seed=1)
    np.testing.assert_array_equal(out, again)  # seeded: reproducible
    kept = refine(start, layout.astype(np.float32), neighbours, weights, min_dist=0.0, seed=1,
                  keep=np.array([True, False, False, False]))
    np.testing.assert_array_equal(kept[0], start[0])


def test_the_default_curve_parameters_are_what_the_fit_gives():
    # An update reads them from a table (no scipy.optimize import); the fit must agree.
    for (min_dist, spread), known in KNOWN_AB.items():
        assert fit_ab(min_dist, spread) == pytest.approx(known, rel=1e-6)
        assert ab_params(min_dist, spread) == known
    assert ab_params(0.3) == pytest.approx(fit_ab(0.3))  # others are fitted
