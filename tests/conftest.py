"""Shared fixtures: a fast fake embedder, seeded synthetic corpora, a built map."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import BuildConfig, build

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

TOPICS = {
    "vision": "image segmentation pixel convolutional detection camera object scene depth "
              "visual recognition pose video optical flow stereo rendering texture".split(),
    "language": "language translation token sentence parsing grammar dialogue corpus lexical "
                "summarization question answering entity syntax multilingual prompt".split(),
    "robotics": "robot manipulation grasping locomotion actuator gripper legged trajectory "
                "planner controller torque arm navigation drone odometry".split(),
    "biology": "protein gene cell genome sequencing enzyme molecular tissue mutation "
               "expression receptor antibody metabolic pathway clinical".split(),
}
COMMON = "we study a method for the results show our approach and with novel".split()


class FakeEmbedder:
    """Hashed bag of words: texts sharing words land close. Fast and deterministic.

    Maps built with it record the backend ``fake``; where that backend is registered
    (:func:`register_fake_backend`) the dashboard embeds search queries with it, as it does
    with any map's own backend."""

    name = "fake-hash-embedder"
    backend = "fake"

    def __init__(self, dimension: int = 64) -> None:
        self._dimension = dimension
        self.calls = 0
        self.texts_seen = 0

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_seen += len(texts)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                out[row, h % self._dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


FAKE_BACKEND = FakeEmbedder.backend


def register_fake_backend() -> None:
    """Put the fake embedder in the embedding backends' registry (one line, as any backend
    is added): the dashboard then searches maps built with it. ``tests/fake_streamlit.py``
    does this in the app's process; in-process tests use the ``fake_backend`` fixture."""
    from pipeline.embed.registry import BACKENDS, Backend

    BACKENDS.setdefault(FAKE_BACKEND, Backend("the tests' hashed bag of words",
                                              lambda model, **_: FakeEmbedder()))


@pytest.fixture
def fake_backend(monkeypatch):
    """The fake embedder registered as a backend for this test only."""
    from pipeline.embed.registry import BACKENDS, Backend

    monkeypatch.setitem(BACKENDS, FAKE_BACKEND, Backend("the tests' hashed bag of words",
                                                        lambda model, **_: FakeEmbedder()))


class PaperCounter(FakeEmbedder):
    """Counts the papers embedded ("title. abstract"), not the short phrases the labeller
    embeds with the same model to judge names."""

    def encode(self, texts, **kwargs):
        vectors = super().encode(texts, **kwargs)
        self.texts_seen -= sum(". " not in text for text in texts)
        return vectors


def make_corpus(n_per_topic: int = 25, *, seed: int = 0, topics: Sequence[str] | None = None,
                ) -> pd.DataFrame:
    """Synthetic papers drawn from distinct topic vocabularies, with metadata."""
    rng = np.random.default_rng(seed)
    rows = []
    for topic in topics or TOPICS:
        vocab = TOPICS[topic]
        for i in range(n_per_topic):
            words = list(rng.choice(vocab, size=30)) + list(rng.choice(COMMON, size=8))
            rng.shuffle(words)
            title_words = rng.choice(vocab, size=4, replace=False)
            rows.append({
                "id": f"{topic}-{i}",
                "title": f"{' '.join(title_words).title()} {topic} study {i}",
                "abstract": " ".join(words).capitalize() + ".",
                "year": int(2015 + rng.integers(0, 10)),
                "authors": f"Author {i}; Coauthor {topic}",
                "venue": topic.upper(),
            })
    return pd.DataFrame(rows)


def assert_layers_nest(topic_map) -> None:
    """The map format's promises about layers (SPEC "Map format v2"): every level is a
    documents column, layers above the finest place every paper, each paper's node one
    layer up is its node's parent, and the clusters table agrees with the documents."""
    docs, levels = topic_map.documents, topic_map.levels
    assert levels[0] == "cluster" and levels[-1] == "theme" and len(levels) >= 2
    assert topic_map.manifest["counts"]["layers"] == [len(topic_map.level(lv)) for lv in levels]
    for k, level in enumerate(levels):
        nodes = topic_map.level(level)
        assert (nodes["layer"] == k).all()
        assert nodes["id"].tolist() == list(range(len(nodes)))
        column = docs[level].to_numpy()
        if k:
            assert (column >= 0).all(), level
        sizes = np.bincount(column[column >= 0], minlength=len(nodes))
        assert sizes.tolist() == nodes["size"].tolist(), level
        assert nodes["stability"].between(0, 1).all() or nodes["stability"].isna().all()
        assert (nodes["fragile"] == nodes["stability"].lt(0.5)).all()
        if k + 1 < len(levels):
            parent = nodes["parent"].to_numpy()
            grouped = column >= 0
            assert (parent[column[grouped]] == docs[levels[k + 1]].to_numpy()[grouped]).all()
        else:
            assert (nodes["parent"] == -1).all()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own embedding cache; nothing touches ~/.cache."""
    monkeypatch.setenv("TOPICMAP_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_csv(tmp_path) -> Path:
    path = tmp_path / "papers.csv"
    make_corpus().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def small_map(tmp_path_factory) -> Path:
    """A 100-paper map with 4 clear topics, built once per test session."""
    root = tmp_path_factory.mktemp("maps")
    source = root / "papers.csv"
    make_corpus().to_csv(source, index=False)
    out = root / "small"
    os.environ.setdefault("TOPICMAP_CACHE", str(root / "cache"))
    build([source], out, BuildConfig(), embedder=FakeEmbedder(), cache_dir=root / "cache",
          show_progress=False)
    return out


@pytest.fixture(scope="session")
def layers_map(tmp_path_factory) -> Path:
    """A 240-paper map with three layers (``--n-themes 2`` over about 14 finest clusters),
    built once per session: what the dashboard's zoom names, tree and drill-down read."""
    root = tmp_path_factory.mktemp("layers_maps")
    make_corpus(60).to_csv(root / "papers.csv", index=False)
    config = BuildConfig()
    config.label.n_themes = 2
    out = root / "layers"
    build([root / "papers.csv"], out, config, embedder=FakeEmbedder(),
          cache_dir=root / "cache", show_progress=False)
    return out


def with_llm_names(map_path: Path, names: dict[str, str] | None = None, *,
                   model: str = "stand-in-llm") -> Path:
    """Give the map at ``map_path`` names from a language model (``llm_label``) and
    descriptions, written straight into clusters.parquet (what ``relabel`` keeps): every
    node gets ``names[key]`` (``"level:id"``) or "LLM <offline name>"."""
    from pipeline import load_map
    from pipeline.mapdir.store import write_map

    topic_map = load_map(map_path)
    clusters = topic_map.clusters.copy()
    keys = clusters["level"].astype(str) + ":" + clusters["id"].astype(str)
    clusters["llm_label"] = [(names or {}).get(k, f"LLM {label}")
                             for k, label in zip(keys, clusters["label"], strict=True)]
    clusters["llm_description"] = [f"About {label}." for label in clusters["label"]]
    topic_map.clusters = clusters
    topic_map.manifest.setdefault("names", {})["llm_label"] = {
        "namer": "llm", "model": model, "host": "127.0.0.1", "created": "now"}
    write_map(topic_map, map_path)
    return map_path


# Payloads that must show as text on every dashboard page and run nothing (issues 3 and 5).
HTML_PAYLOADS = {
    "script": "<script>window.__pwned=1</script>",
    "img": "<img src=x onerror=window.__pwned=1>",
    "link": '<a href="javascript:window.__pwned=1">click me</a>',
    "svg": "<svg onload=window.__pwned=1>",
    "markdown": "[md link](javascript:window.__pwned=1) ![tracker](http://127.0.0.1:9/x.png)",
    "bold": "<b>not bold</b> & $x^2$ :red[not red]",
}


def hostile_corpus() -> pd.DataFrame:
    """``make_corpus()`` with a payload in the title, abstract and authors of six papers,
    whose ids are ``hostile-<name>`` for each name in ``HTML_PAYLOADS``."""
    corpus = make_corpus()
    for i, (name, payload) in enumerate(HTML_PAYLOADS.items()):
        row = corpus.index[i * 7]
        corpus.loc[row, "id"] = f"hostile-{name}"
        corpus.loc[row, "title"] = f"{payload} title {name}"
        corpus.loc[row, "abstract"] = f"{payload} {corpus.loc[row, 'abstract']}"
        corpus.loc[row, "authors"] = f"{payload}; Author"
    return corpus


@pytest.fixture(scope="session")
def hostile_map(tmp_path_factory) -> Path:
    """A 100-paper map (fake embedder) built from ``hostile_corpus()``, once per session."""
    root = tmp_path_factory.mktemp("hostile_maps")
    source = root / "hostile.csv"
    hostile_corpus().to_csv(source, index=False)
    out = root / "hostile"
    build([source], out, BuildConfig(), embedder=FakeEmbedder(), cache_dir=root / "cache",
          show_progress=False)
    return out


# --------------------------------------------------------------------------- the browser

#: Debian's Chromium (Playwright's own browser download does not work here).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(map_path, tmp_path_factory, browser):
    """The app serving the test module's ``map_path`` (each browser module that uses this
    has one), with the tests' search model."""
    from test_browser import serve

    yield from serve(map_path, tmp_path_factory.mktemp("cwd"), fake_search=True)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the browser tests; skips them when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (run `make browser` or "
                    "`apt-get install chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
