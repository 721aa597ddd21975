"""Names from a language model at build time (``build --llm-url``), and what ``update``
does with them when it renames a topic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FakeEmbedder, make_corpus
from fake_llm import FakeLLM

from pipeline.cli.main import main
from pipeline.engines.update import update_map
from pipeline.mapdir.store import load_map


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setattr("pipeline.engines.recipe.make_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr("pipeline.naming.llm.client.time.sleep", lambda seconds: None)


@pytest.fixture
def server():
    with FakeLLM() as fake:
        yield fake


def build(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    out = tmp_path / "maps" / "built"
    return main(["build", str(tmp_path / "papers.csv"), "--out", str(out), "-q", *extra]), out


@pytest.fixture(autouse=True)
def _papers(tmp_path):
    make_corpus().to_csv(tmp_path / "papers.csv", index=False)


def test_build_names_the_map_with_the_model_at_once(tmp_path, server, capsys):
    code, out = build(tmp_path, "--llm-url", server.url, "--llm-model", "fake-model")
    assert code == 0, capsys.readouterr().err
    topic_map = load_map(out)
    nodes = len(topic_map.clusters)
    assert len(server.requests) <= nodes + 2  # one per node (a sibling's name asked again)
    assert (topic_map.clusters["llm_label"] != "").all()
    assert (topic_map.clusters["label"] != topic_map.clusters["llm_label"]).any()
    assert topic_map.manifest["names"]["llm_label"]["model"] == "fake-model"
    assert "Named" in capsys.readouterr().out


def test_build_with_the_server_down_keeps_the_offline_map_and_exits_2(tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.setenv("TOPICMAP_TEST_KEY", "sk-secret")
    with FakeLLM() as fake:
        url = fake.url  # a port nothing listens on once it is stopped
    code, out = build(tmp_path, "--llm-url", url + "?key=sk-in-url", "--llm-model", "m",
                      "--retries", "0", "--timeout", "2", "--api-key-env", "TOPICMAP_TEST_KEY")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "offline names" in err and "rename" in err
    assert "--api-key-env TOPICMAP_TEST_KEY" in err  # the hint is a command that works
    assert "sk-in-url" not in err and "sk-secret" not in err
    topic_map = load_map(out)  # written, whole, with its offline names
    assert (topic_map.clusters["llm_label"] == "").all() and topic_map.clusters["label"].all()


@pytest.mark.parametrize(("args", "message"), [
    (["--llm-url", "http://127.0.0.1:9/v1"], "--llm-model"),
    (["--llm-model", "m"], "--llm-url"),
    (["--llm-url", "http://127.0.0.1:9/v1", "--llm-model", "m", "--max-calls", "-1"],
     "--max-calls"),
    (["--llm-url", "ftp://127.0.0.1/v1", "--llm-model", "m"], "ftp"),
    (["--llm-url", "http://127.0.0.1:9/v1", "--llm-model", "m", "--api-key-env",
      "TOPICMAP_TEST_UNSET_KEY"], "TOPICMAP_TEST_UNSET_KEY"),
])
def test_bad_llm_options_stop_the_build_before_it_starts(tmp_path, capsys, args, message):
    code, out = build(tmp_path, *args)
    assert code == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_update_drops_the_model_name_of_a_topic_it_renames(tmp_path, server, caplog):
    code, out = build(tmp_path, "--llm-url", server.url, "--llm-model", "fake-model")
    assert code == 0
    before = load_map(out).clusters.set_index(["level", "id"])
    new = make_corpus(8, seed=9)
    new["id"] = "new-" + new["id"]
    new["title"] = "Fresh " + new["title"]
    new.to_csv(tmp_path / "new.csv", index=False)
    update_map(out, [tmp_path / "new.csv"], rename_growth=0.0, use_cache=False)
    after = load_map(out).clusters.set_index(["level", "id"])
    renamed = after.index[(after["label"] != before["label"])]
    kept = after.index[(after["label"] == before["label"])]
    assert (after.loc[renamed, "llm_label"] == "").all()
    assert (after.loc[kept, "llm_label"] == before.loc[kept, "llm_label"]).all()
    assert len(renamed) and "rename" in caplog.text


def test_build_without_llm_options_asks_nothing(tmp_path, server):
    code, out = build(tmp_path)
    assert code == 0 and not server.requests
    assert (load_map(out).clusters["llm_label"] == "").all()
    shutil.rmtree(out)


def test_rebuild_drops_stale_model_names_and_engine_and_names_with_the_model(
        tmp_path, server, caplog, monkeypatch):
    import pipeline.naming.phrase_model as phrase_model
    from pipeline.engines.update import rebuild_map
    from pipeline.mapdir.store import write_manifest

    code, out = build(tmp_path, "--llm-url", server.url, "--llm-model", "fake-model")
    assert code == 0
    manifest = load_map(out).manifest
    manifest["engine"] = {"name": "ray", "sample_size": 10}  # as a Ray build records
    write_manifest(out, manifest)
    asked: list[str] = []

    class Recording(FakeEmbedder):
        def encode(self, texts, **kwargs):
            asked.extend(texts)
            return super().encode(texts, **kwargs)

    monkeypatch.setattr(phrase_model, "model_installed", lambda name: True)
    monkeypatch.setattr(phrase_model, "_cheapest", lambda entry, cache_dir: Recording())
    rebuilt = rebuild_map(out)
    assert asked  # names judged with the map's model, as a build's are
    assert "llm" not in rebuilt.manifest and "engine" not in rebuilt.manifest
    assert set(rebuilt.manifest["names"]) == {"label"}
    assert (rebuilt.clusters["llm_label"] == "").all() and "rename" in caplog.text
