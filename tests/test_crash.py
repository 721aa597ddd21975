"""Crashes lose nothing: a build killed with SIGKILL at each step, corrupt caches and maps.

A killed build leaves the previous map loadable and unchanged (or, killed after
the swap, the new map complete); no temporary directory is listed as a map;
the next build of that name clears the leftovers and gives the same map as a
build that was never interrupted. A corrupt cache shard is dropped and
recomputed; a corrupt or truncated map file is refused with a clear message.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder, PaperCounter, make_corpus

from pipeline import BuildConfig, build, list_maps, load_map
from pipeline.embed.base import EmbeddingCache, embed_texts, text_key
from pipeline.errors import MapFormatError, PipelineError
from pipeline.mapdir.store import MANIFEST, read_manifest, recover_map

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

RUNNER = Path(__file__).resolve().parent / "crash_runner.py"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RUNNER.parent))
from crash_runner import STEPS, UPDATE_STEPS  # noqa: E402


def tree_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def hidden_leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """The corpus of the previous map, a different one to rebuild with, and both maps."""
    root = tmp_path_factory.mktemp("crash")
    first, second = root / "first.csv", root / "second.csv"
    # Small corpora (under reduce.MIN_UMAP_POINTS) keep each killed subprocess to seconds;
    # the steps, and where the process dies, are the same as for a large one.
    make_corpus(n_per_topic=2, seed=0).to_csv(first, index=False)
    make_corpus(n_per_topic=2, seed=1).to_csv(second, index=False)
    previous = root / "previous"
    build([first], previous, BuildConfig(), embedder=FakeEmbedder(), cache_dir=root / "c1",
          show_progress=False)
    reference = root / "reference"  # the second corpus, built without interruption
    build([second], reference, BuildConfig(), embedder=FakeEmbedder(), cache_dir=root / "c2",
          show_progress=False)
    return {"first": first, "second": second, "previous": previous, "reference": reference}


def run_killed(step: str, out: Path, cache: Path, source: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RUNNER), step, str(out), str(cache), str(source)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def kill_while_changing(step: str, previous: Path, source: Path, tmp_path: Path, *,
                        swapped: bool) -> tuple[Path, Path, Path]:
    """Copy the map ``previous`` to ``tmp_path/maps/papers``; run the runner on it with
    ``source``, killed at ``step``. The map is then there and loadable: unchanged, or (when
    killed after the swap, ``swapped``) the new one. Returns the maps folder, the map and
    the cache folder."""
    maps = tmp_path / "maps"
    maps.mkdir()
    out = maps / "papers"
    shutil.copytree(previous, out)
    before = tree_digest(out)
    cache = tmp_path / "cache"
    result = run_killed(step, out, cache, source)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    load_map(out)
    if not swapped:
        assert tree_digest(out) == before, "the previous map changed"
    assert [p.name for p in list_maps(maps)] == ["papers"]
    return maps, out, cache


@pytest.mark.parametrize("step", STEPS)
def test_build_killed_at_step_loses_no_map(step, inputs, tmp_path):
    maps, out, cache = kill_while_changing(step, inputs["previous"], inputs["second"], tmp_path,
                                           swapped=step == "save-cleanup")
    # Killed after the swap, the new map is complete.
    if step == "save-cleanup":
        assert load_map(out).documents["id"].tolist() == \
            load_map(inputs["reference"]).documents["id"].tolist()

    # The next build of that name clears the leftovers and equals an uninterrupted build.
    embedder = PaperCounter()
    build([inputs["second"]], out, BuildConfig(), embedder=embedder, cache_dir=cache,
          show_progress=False)
    assert hidden_leftovers(maps) == []
    rebuilt, reference = load_map(out), load_map(inputs["reference"])
    pd.testing.assert_frame_equal(rebuilt.documents, reference.documents)
    pd.testing.assert_frame_equal(rebuilt.clusters, reference.clusters)
    if step in ("embed", *STEPS[STEPS.index("reduce"):]):
        # Shards saved before the kill are reused, not recomputed.
        assert embedder.texts_seen < len(reference.documents)


@pytest.fixture(scope="module")
def update_inputs(inputs, tmp_path_factory) -> dict[str, Path]:
    """New papers (new ids and titles) and the map an uninterrupted update makes of them."""
    update = pytest.importorskip("pipeline.engines.update")
    root = tmp_path_factory.mktemp("update")
    new = make_corpus(n_per_topic=2, seed=7)
    new["id"] = "new-" + new["id"]
    new["title"] = "New " + new["title"]
    source = root / "new.csv"
    new.to_csv(source, index=False)
    reference = root / "reference"
    shutil.copytree(inputs["previous"], reference)
    update.update_map(reference, [source], embedder=FakeEmbedder(), cache_dir=root / "cache")
    return {"new": source, "reference": reference}


@pytest.mark.parametrize("step", UPDATE_STEPS)
def test_update_killed_at_step_loses_no_map(step, inputs, update_inputs, tmp_path):
    from pipeline.engines.update import update_map

    maps, out, cache = kill_while_changing(step, inputs["previous"], update_inputs["new"],
                                           tmp_path, swapped=step == "update-save-cleanup")
    if step == "update-save-cleanup":  # killed after the swap: the updated map is complete
        assert len(load_map(out).documents) == len(load_map(update_inputs["reference"]).documents)

    if step == "update-save-cleanup":  # the papers are in already: only clear up
        assert not recover_map(out)  # (nothing to put back)
    else:
        update_map(out, [update_inputs["new"]], embedder=FakeEmbedder(), cache_dir=cache)
    assert hidden_leftovers(maps) == []
    updated, reference = load_map(out), load_map(update_inputs["reference"])
    pd.testing.assert_frame_equal(updated.documents, reference.documents)
    pd.testing.assert_frame_equal(updated.clusters, reference.clusters)


def test_killed_builds_leave_nothing_listed_and_next_build_cleans(inputs, tmp_path):
    """Temporaries of killed builds are never maps; the next build removes them."""
    maps = tmp_path / "maps"
    maps.mkdir()
    out = maps / "papers"
    shutil.copytree(inputs["previous"], out)
    for step in ("save-written", "save-partial"):
        assert run_killed(step, out, tmp_path / "cache", inputs["second"]).returncode < 0
        # One leftover: each build clears what the one killed before it left.
        assert len(hidden_leftovers(maps)) == 1
        assert [p.name for p in list_maps(maps)] == ["papers"]
    build([inputs["first"]], out, BuildConfig(), embedder=FakeEmbedder(),
          cache_dir=tmp_path / "cache", show_progress=False)
    assert hidden_leftovers(maps) == []


def test_map_renamed_aside_is_put_back(inputs, tmp_path):
    """Killed between the two renames of the swap: the previous map is put back when the
    maps are next listed or loaded, but never while a build of that name is running."""
    from pipeline.mapdir.store import _lock

    maps = tmp_path / "maps"
    maps.mkdir()
    out = maps / "papers"
    shutil.copytree(inputs["previous"], out)
    before = tree_digest(out)
    assert run_killed("save-swap", out, tmp_path / "cache", inputs["second"]).returncode < 0
    assert not out.exists()  # the old map renamed aside, the new one not yet in place
    with _lock(out.resolve(), wait=False) as held:  # as a running build would hold it
        assert held
        assert list_maps(maps) == [] and not out.exists()
    assert [p.name for p in list_maps(maps)] == ["papers"]
    assert tree_digest(out) == before
    assert hidden_leftovers(maps) == []


# --------------------------------------------------------------------------- embedding cache


def cache_with_shards(tmp_path: Path, texts: list[str]) -> tuple[Path, np.ndarray]:
    import pipeline.embed.base as embed_module

    root = tmp_path / "cache"
    original = embed_module.SHARD_SIZE
    embed_module.SHARD_SIZE = 4
    try:
        vectors, computed = embed_texts(texts, FakeEmbedder(), cache=EmbeddingCache(root, "m"),
                                        show_progress=False)
    finally:
        embed_module.SHARD_SIZE = original
    assert computed == len(texts)
    return root, vectors


TEXTS = [f"paper {i} about {' '.join(w)}" for i, w in
         enumerate(zip("abcdefghij", "klmnopqrst", "uvwxyzabcd", strict=True))]


def shards(root: Path) -> list[Path]:
    return sorted((root / "embeddings" / "m").glob("*.npz"))


@pytest.mark.parametrize("damage", ["truncate", "flip-vector-byte", "garbage", "empty",
                                    "wrong-shape", "non-finite"])
def test_corrupt_cache_shard_is_dropped_and_recomputed(damage, tmp_path, caplog):
    root, expected = cache_with_shards(tmp_path, TEXTS)
    shard = shards(root)[0]
    data = shard.read_bytes()
    if damage == "truncate":
        shard.write_bytes(data[: len(data) // 2])
    elif damage == "flip-vector-byte":
        # A byte inside the stored vectors: the zip member's CRC-32 no longer matches.
        with np.load(shard) as old:
            raw = old["vectors"].tobytes()
        position = data.find(raw) + len(raw) // 2
        assert position > len(raw) // 2
        shard.write_bytes(data[:position] + bytes([data[position] ^ 0x55]) + data[position + 1:])
    elif damage == "garbage":
        shard.write_bytes(b"\x00garbage" * 50)
    elif damage == "empty":
        shard.write_bytes(b"")
    elif damage == "wrong-shape":
        np.savez(shard, keys=np.zeros((3, 16), np.uint8), vectors=np.zeros((2, 64), np.float32))
    elif damage == "non-finite":
        with np.load(shard) as old:
            keys, vectors = old["keys"], old["vectors"].copy()
        vectors[0, 0] = np.nan
        np.savez(shard, keys=keys, vectors=vectors)

    embedder = FakeEmbedder()
    cache = EmbeddingCache(root, "m")
    with caplog.at_level("WARNING"):
        vectors, computed = embed_texts(TEXTS, embedder, cache=cache, show_progress=False)
    assert 0 < computed < len(TEXTS)  # the bad shard's texts only
    assert "corrupt" in caplog.text
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert np.isfinite(vectors).all()
    # The bad shard is gone; the recomputed vectors are cached again.
    assert shard not in shards(root)
    assert all(v is not None for v in EmbeddingCache(root, "m").get([text_key(t) for t in TEXTS]))


def test_cache_shard_of_another_dimension_is_not_used(tmp_path, caplog):
    """A shard whose vectors have another length (e.g. another model under the same key)."""
    root, expected = cache_with_shards(tmp_path, TEXTS)
    stray = shards(root)[0]
    with np.load(stray) as old:
        keys = old["keys"]
    np.savez(stray, keys=keys, vectors=np.ones((len(keys), 8), np.float32))
    vectors, computed = embed_texts(TEXTS, FakeEmbedder(), cache=EmbeddingCache(root, "m"),
                                    show_progress=False)
    assert vectors.shape == expected.shape and computed > 0
    np.testing.assert_allclose(vectors, expected, atol=1e-6)


def test_cache_of_a_replaced_model_is_a_clear_error(tmp_path):
    """Every cached vector of another size than the model now gives: refuse, say what to do."""
    root, _ = cache_with_shards(tmp_path, TEXTS)
    with pytest.raises(PipelineError, match="--no-cache"):
        embed_texts([*TEXTS, "a new paper"], FakeEmbedder(dimension=32),
                    cache=EmbeddingCache(root, "m"), show_progress=False)


# --------------------------------------------------------------------------- map files


MAP_FILES = ["manifest.json", "documents.parquet", "clusters.parquet", "embeddings.npy"]


def damaged_copy(source: Path, tmp_path: Path, name: str, damage: str) -> Path:
    out = tmp_path / "map"
    shutil.copytree(source, out)
    path = out / name
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "delete":
        path.unlink()
    return out


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "delete"])
@pytest.mark.parametrize("name", [*MAP_FILES, "fitted.npz"])
def test_damaged_map_file_is_refused_clearly(name, damage, small_map, tmp_path):
    hashed = set(read_manifest(small_map).get("files", {}))
    assert set(MAP_FILES) - {MANIFEST} <= hashed  # every data file has a hash
    if name != MANIFEST and name not in hashed:
        pytest.skip(f"this map has no {name}")
    out = damaged_copy(small_map, tmp_path, name, damage)
    load, command = load_map, ["info", str(out)]
    if name == "fitted.npz":  # only updates read it: the map itself still opens
        from pipeline.engines.fitted import load_fitted

        source = tmp_path / "new.csv"
        make_corpus(n_per_topic=2, seed=5).to_csv(source, index=False)
        load, command = (lambda p: load_fitted(load_map(p))), \
            ["update", str(out), str(source), "--no-cache"]
    with pytest.raises(MapFormatError) as error:
        load(out)
    message = str(error.value)
    assert str(out) in message and "build" in message, message
    # The command line says the same in one line, exit status 2, no traceback.
    from pipeline.cli.main import main

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(command)
    assert code == 2, stderr.getvalue()
    assert stderr.getvalue().startswith("error: ") and str(out) in stderr.getvalue()


def test_manifest_without_hashes_is_refused(small_map, tmp_path):
    import json

    out = tmp_path / "map"
    shutil.copytree(small_map, out)
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["files"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(MapFormatError, match="hash"):
        load_map(out)


def test_first_line_of_any_exception_message():
    """Our messages quote an exception's first line; one without a message gives its type
    (an empty message once raised IndexError inside an except block)."""
    from pipeline.errors import first_line

    assert first_line(ValueError("bad shape\nmore detail")) == "bad shape"
    assert first_line(OSError()) == "OSError"
    assert first_line(RuntimeError("x" * 500)) == "x" * 200
