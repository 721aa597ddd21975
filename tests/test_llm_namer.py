"""Names written by a language model beside the offline ones: ``python -m pipeline rename``
against a fake OpenAI-compatible server on 127.0.0.1 (issue #14). No network, no model."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_llm import FakeLLM, key_phrases, user_text

from pipeline.cli.main import main
from pipeline.errors import PipelineError
from pipeline.mapdir.store import TopicMap, load_map, sha256_file, write_map
from pipeline.naming.llm.namer import LlmReport, choose_levels, level_order, name_nodes
from pipeline.naming.llm.prompts import NAME_CHARS, NAME_WORDS, name_key

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def a_map(small_map, tmp_path) -> Path:
    """A private copy of the 100-paper session map."""
    return Path(shutil.copytree(small_map, tmp_path / "maps" / "small"))


@pytest.fixture
def server():
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_backoff_waits(monkeypatch):
    monkeypatch.setattr("pipeline.naming.llm.client.time.sleep", lambda seconds: None)


@pytest.fixture
def layered(layers_map, tmp_path) -> Path:
    """A private copy of the session's three-layer map (themes with several sub-topics)."""
    return Path(shutil.copytree(layers_map, tmp_path / "maps" / "layers"))


def asked(clusters: pd.DataFrame) -> int:
    """The nodes a model is asked about: all but those with exactly one narrower topic,
    which take that topic's name."""
    order = level_order(clusters)
    single = 0
    for finer, level in itertools.pairwise(order):
        children = clusters[clusters["level"] == finer].groupby("parent").size()
        ids = clusters.loc[clusters["level"] == level, "id"]
        single += int(ids.map(children).eq(1).sum())
    return len(clusters) - single


def hashes(path: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(path.iterdir())}


def rename(path: Path, server: FakeLLM, *extra: str, model: str = "fake-model") -> int:
    return main(["rename", str(path), "--llm-url", server.url, "--llm-model", model, "-q",
                 *extra])


def test_rename_names_every_node_with_one_request_each(a_map, server, capsys):
    before = load_map(a_map)
    assert rename(a_map, server) == 0
    after = load_map(a_map)  # verifies every hash
    clusters = after.clusters
    assert len(server.requests) == asked(clusters) < len(clusters)  # one call per theme saved
    assert {r["path"] for r in server.requests} == {"/v1/chat/completions"}
    assert (clusters["label"] == before.clusters["label"]).all()  # the offline names stay
    assert (clusters["llm_label"] != "").all() and (clusters["llm_description"] != "").all()
    for _, siblings in clusters.groupby(["level", "parent"]):
        assert siblings["llm_label"].map(name_key).is_unique
    record = after.manifest["names"]["llm_label"]
    assert record["namer"] == "llm" and record["model"] == "fake-model"
    assert record["host"] == f"127.0.0.1:{server.port}"
    assert record["levels"] == ["cluster", "theme"]
    assert "created" in record and after.manifest["names"]["label"]["namer"] == "offline"
    pd.testing.assert_frame_equal(after.documents, before.documents)
    assert after.manifest["files"]["fitted.npz"] == before.manifest["files"]["fitted.npz"]
    out = capsys.readouterr().out
    assert f"{asked(clusters)} calls" in out and "0 answers from the cache" in out
    # Each theme of this one-layer map holds one cluster: it takes its cluster's name.
    themes = clusters[clusters["level"] == "theme"].set_index("id")
    for cluster in clusters[clusters["level"] == "cluster"].itertuples():
        assert themes.loc[cluster.parent, "llm_label"] == cluster.llm_label


def test_prompts_name_bottom_up_with_context(layered, server):
    rename(layered, server)
    clusters = load_map(layered).clusters
    assert len(server.requests) == asked(clusters)
    n_clusters = int((clusters["level"] == "cluster").sum())
    prompts = [user_text(r["body"]) for r in server.requests]
    assert all("broader topic" in p for p in prompts[:n_clusters])  # clusters first
    assert all("narrower topics" in p for p in prompts[n_clusters:])  # then broader ones
    finer = level_order(clusters)[0]
    sizes = clusters[clusters["level"] == finer].groupby("parent").size()
    first = min(i for i, n in sizes.items() if n > 1)  # the first one asked at that level
    children = clusters[(clusters["level"] == finer) & (clusters["parent"] == first)]
    for name in children["llm_label"]:
        assert f'"{name}"' in prompts[n_clusters]  # named from its children's new names
    first = clusters[(clusters["level"] == "cluster") & (clusters["id"] == 0)].iloc[0]
    assert key_phrases(server.requests[0]["body"])[:3] == list(first["terms"][:3])
    assert "Representative papers" in prompts[0]


def test_second_run_sends_nothing_and_leaves_the_map_as_it_is(a_map, server, capsys):
    rename(a_map, server)
    sent, before = len(server.requests), hashes(a_map)
    assert rename(a_map, server) == 0
    assert len(server.requests) == sent
    assert hashes(a_map) == before
    assert "not rewritten" in capsys.readouterr().out
    rename(a_map, server, model="another-model")  # the cache is keyed by model
    assert len(server.requests) == 2 * sent


def test_one_layer_only(a_map, server):
    assert rename(a_map, server, "--layer", "theme") == 0
    clusters = load_map(a_map).clusters
    assert len(server.requests) == int((clusters["level"] == "theme").sum())
    assert (clusters.loc[clusters["level"] == "cluster", "llm_label"] == "").all()
    assert (clusters.loc[clusters["level"] == "theme", "llm_label"] != "").all()


def test_max_calls_refuses_to_start_and_says_how_many(a_map, server, capsys):
    before = hashes(a_map)
    n = asked(load_map(a_map).clusters)
    assert rename(a_map, server, "--max-calls", "2") == 2
    err = capsys.readouterr().err
    assert f"needs {n} calls" in err and f"Raise --max-calls to {n}" in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert server.requests == [] and hashes(a_map) == before
    assert rename(a_map, server, "--max-calls", str(n)) == 0
    assert rename(a_map, server, "--max-calls", "0") == 0  # all cached: nothing needed


def test_stopped_server_exits_2_with_one_line_and_the_map_unchanged(a_map):
    fake = FakeLLM().start()
    fake.stop()
    before = hashes(a_map)
    result = subprocess.run(  # relabel: the old name of rename, still accepted
        [sys.executable, "-m", "pipeline", "relabel", str(a_map), "--llm-url", fake.url,
         "--llm-model", "m", "--retries", "1", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        f"error: LLM endpoint http://127.0.0.1:{fake.port}/v1/chat/completions failed: "
        "connection refused")
    assert "Traceback" not in result.stderr and "map is unchanged" in result.stderr
    assert hashes(a_map) == before
    assert (load_map(a_map).clusters["llm_label"] == "").all()  # keeps its offline names


def test_an_interrupted_run_resumes_from_the_cache(a_map, server, capsys):
    n = asked(load_map(a_map).clusters)
    before = hashes(a_map)
    healthy = server.reply
    answered = []

    def failing_after_three(body: dict) -> str:
        if len(answered) >= 3:
            raise ConnectionAbortedError  # the handler dies: the client sees a dropped line
        answered.append(1)
        return healthy(body)

    server.reply = failing_after_three
    assert rename(a_map, server, "--retries", "0") == 2
    assert "error: LLM endpoint" in capsys.readouterr().err
    assert hashes(a_map) == before
    server.reply, first = healthy, len(server.requests)
    assert rename(a_map, server) == 0
    assert len(server.requests) - first == n - 3


def test_429_then_success(a_map, server):
    server.script = [(429, {"error": {"message": "rate limited"}}, {"Retry-After": "1"})]
    assert rename(a_map, server) == 0
    clusters = load_map(a_map).clusters
    assert len(server.requests) == asked(clusters) + 1
    assert (clusters["llm_label"] != "").all()


def test_hostile_answers_are_sanitised_or_dropped(a_map, server):
    answers = iter([
        '{"name": "<script>alert(1)</script>", "description": "<img src=x onerror=alert(1)>"}',
        '{"name": "Line one\\nline two\\u202e", "description": "A.\\nB"}',
        json.dumps({"name": "word " * 100, "description": "long " * 100}),
        "not json at all, just a very long rambling answer " * 10,
        '{"name": "", "description": ""}',
    ])
    server.reply = lambda body: next(answers, '{"name": "Fine Name", "description": "Ok."}')
    assert rename(a_map, server) == 0
    clusters = load_map(a_map).clusters
    for name in clusters["llm_label"]:
        assert "<" not in name and "\n" not in name and "\u202e" not in name
        assert len(name) <= NAME_CHARS and len(name.split()) <= NAME_WORDS
    for description in clusters["llm_description"]:
        assert "<" not in description and "\n" not in description and len(description) <= 240
    assert (clusters["label"] != "").all()


def test_a_name_a_sibling_has_is_asked_again_once_then_dropped(a_map, server, capsys):
    server.reply = lambda body: '{"name": "Same Name", "description": "Same."}'
    assert rename(a_map, server) == 0
    clusters = load_map(a_map).clusters
    groups = clusters.groupby(["level", "parent"])
    repeats = sum(len(g) - 1 for _, g in groups)
    assert repeats > 0
    assert len(server.requests) == asked(clusters) + repeats  # one retry per repeated name
    for _, siblings in groups:
        names = siblings.sort_values("id")["llm_label"].tolist()
        assert names[0] == "Same Name" and all(n == "" for n in names[1:])  # offline name
    assert f"{repeats} asked again" in capsys.readouterr().out


def test_a_retry_can_find_a_distinct_name(a_map, server):
    def reply(body: dict) -> str:
        again = "already named" in body["messages"][-1]["content"]
        name = "Other " + key_phrases(body)[0] if again else "Same Name"
        return json.dumps({"name": name, "description": "D."})

    server.reply = reply
    rename(a_map, server)
    clusters = load_map(a_map).clusters
    for _, siblings in clusters.groupby(["level", "parent"]):
        assert (siblings["llm_label"] != "").all()
        assert siblings["llm_label"].map(name_key).is_unique


def test_the_key_goes_only_into_the_request_header(a_map, server, tmp_path, monkeypatch,
                                                   capsys):
    secret = "sk-test-DO-NOT-STORE-4711"
    monkeypatch.setenv("TOPICMAP_TEST_KEY", secret)
    cache = tmp_path / "llm-cache"
    assert rename(a_map, server, "--api-key-env", "TOPICMAP_TEST_KEY",
                   "--cache-dir", str(cache)) == 0
    assert all(r["headers"]["Authorization"] == f"Bearer {secret}" for r in server.requests)
    stored = [*a_map.iterdir(), *cache.rglob("*")]
    assert any(p.suffix == ".json" for p in cache.rglob("*"))
    for path in stored:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    out = capsys.readouterr()
    assert secret not in out.out + out.err


@pytest.mark.parametrize(("args", "message"), [
    (["--llm-url", "https://user:pw-SECRET@h.example/v1"], "must not hold credentials"),
    (["--llm-url", "file:///etc/passwd"], "http:// or https://"),
    (["--api-key-env", "TOPICMAP_UNSET_VAR"], "$TOPICMAP_UNSET_VAR, but it is not set"),
    (["--layer", "nope"], "this map's layers are cluster (0), theme (1)"),
    (["--max-calls", "-1"], "--max-calls must be 0 or more"),
])
def test_bad_options_exit_2(a_map, server, capsys, args, message):
    before = hashes(a_map)
    argv = ["rename", str(a_map), "--llm-url", server.url, "--llm-model", "m", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "SECRET" not in err
    assert server.requests == [] and hashes(a_map) == before


# --------------------------------------------------------------------------- the API


def layered_table() -> pd.DataFrame:
    """A v2-style clusters table: three layers (``layer`` column), four / two / one nodes."""
    rows = []
    for layer, level, n, parents in ((0, "cluster", 4, [0, 0, 1, 1]), (1, "layer_1", 2, [0, 0]),
                                     (2, "theme", 1, [-1])):
        for i in range(n):
            rows.append({"layer": layer, "level": level, "id": i, "parent": parents[i],
                         "label": f"{level} offline {i}", "terms": [f"{level}{i}a", "b"],
                         "weights": [0.2, 0.1], "size": 10 * (n - i), "x": 0.0, "y": 0.0,
                         "representative_ids": [f"p{i}"]})
    return pd.DataFrame(rows)


def test_name_nodes_works_over_any_number_of_layers():
    table = layered_table().sample(frac=1, random_state=0)  # row order must not matter
    documents = pd.DataFrame({"id": ["p0", "p1"], "title": ["T0", "T1"], "abstract": ["A", "B"]})
    asked: list[str] = []

    def ask(messages, reask=False):
        text = messages[-1]["content"]
        asked.append(text)
        first = text.split("first: ")[1].split(";")[0]
        return json.dumps({"name": f"N {first}", "description": "D."})

    assert level_order(table) == ["cluster", "layer_1", "theme"]
    assert choose_levels(table, ["2", "cluster"]) == ["cluster", "theme"]
    report = LlmReport()
    named = name_nodes(table, documents, ask, report=report)
    assert len(asked) == 7 and report.nodes == 7 and report.fallbacks == 0
    assert [t.split("first: ")[1][:7] for t in asked] == [
        "cluster", "cluster", "cluster", "cluster", "layer_1", "layer_1", "theme0a"]
    assert 'broader topic "layer_1 offline 0"' in asked[0]  # parents by their offline name
    assert '"cluster offline 1"' in asked[0]  # siblings too
    assert '"N cluster0a" (40 papers); "N cluster1a" (30 papers)' in asked[4]  # children: new
    assert "1. T0 - A" in asked[0]
    assert (named.sort_values(["layer", "id"])["llm_label"].str.startswith("N ")).all()


def test_llm_columns_are_written_and_read_back(tmp_path):
    clusters = layered_table().assign(support=np.nan, contrast=np.nan, stability=0.9,
                                      weak_name=False, fragile=False)
    clusters["llm_label"] = ["A", "", "B", "C", "D", "E", "F"]
    clusters["llm_description"] = "d"
    documents = pd.DataFrame({c: [] for c in ["id", "title", "abstract", "year", "authors",
                                             "url", "x", "y", "cluster", "theme",
                                             "probability", "outlier_score", "is_noise"]})
    write_map(TopicMap(documents, clusters, np.zeros((0, 4), np.float32)), tmp_path / "m")
    loaded = load_map(tmp_path / "m").clusters
    assert loaded["llm_label"].tolist() == clusters["llm_label"].tolist()
    assert loaded["llm_description"].tolist() == ["d"] * 7


def test_a_map_rewritten_meanwhile_is_not_overwritten(a_map, server):
    from pipeline.mapdir.store import rewrite_map
    from pipeline.naming.llm.namer import LlmNamer, LlmSettings
    from pipeline.naming.registry import rename_map

    loaded = load_map(a_map)
    named = rename_map(loaded, LlmNamer(LlmSettings(url=server.url, model="m")))
    changed = load_map(a_map, mmap=False)
    changed.documents.loc[0, "title"] = "changed by an update"
    write_map(changed, a_map)
    before = hashes(a_map)
    with pytest.raises(PipelineError, match="rewritten while it was being renamed"):
        rewrite_map(named, a_map)
    assert hashes(a_map) == before
