"""``--model fast``, tuned on the corpus: deterministic, cached by its sample, recorded in
the map, used again for the map's queries and updates (a tiny random BERT as teacher)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import make_corpus
from test_static_embed import make_tiny_model

from pipeline import BuildConfig, build, load_map
from pipeline.config import EmbedConfig
from pipeline.embed.base import SentenceTransformerEmbedder, document_texts
from pipeline.embed.fast_tune import TunedStaticEmbedder, TuneSettings, pick_sample
from pipeline.embed.registry import embedder_for_map, embedder_for_update, make_embedder
from pipeline.embed.static import StaticEmbedder
from pipeline.engines.update import update_map
from pipeline.errors import PipelineError


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-bert")


@pytest.fixture(scope="module")
def corpus():
    frame = make_corpus(12, seed=3)
    return frame, document_texts(frame["title"].tolist(), frame["abstract"].tolist())


class CountingTeacher(SentenceTransformerEmbedder):
    encoded = 0

    def encode(self, texts, **kwargs):
        CountingTeacher.encoded += len(texts)
        return super().encode(texts, **kwargs)


def tuned(model, cache, **settings) -> TunedStaticEmbedder:
    return TunedStaticEmbedder(f"fast:{model}", cache_dir=cache,
                               settings=TuneSettings(**settings),
                               teacher=lambda: CountingTeacher(str(model)))


def test_sample_does_not_depend_on_order():
    texts = [f"paper {i}" for i in range(50)] + ["paper 3", "  "]
    sample = pick_sample(texts, 10, seed=1)
    assert len(sample) == len(set(sample)) == 10
    assert pick_sample(texts[::-1], 10, seed=1) == sample
    assert pick_sample(texts, 10, seed=2) != sample
    assert len(pick_sample(texts, 100, seed=1)) == 50  # all distinct non-empty texts


def test_tuning_is_deterministic_and_cached(tiny_model, corpus, tmp_path):
    _, texts = corpus
    one = tuned(tiny_model, tmp_path / "a", sample_size=30)
    key = one.prepare(texts)
    assert one.backend == f"static-tuned:{key}" and one.ready()
    assert one.info["sample"] == 30 and one.info["epochs"] >= 1
    vectors = one.encode(texts)
    assert vectors.shape == (len(texts), 32)  # the teacher's space
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Same corpus (in any order) and seed, elsewhere: the same table, bit for bit.
    two = tuned(tiny_model, tmp_path / "b", sample_size=30)
    assert two.prepare(texts[::-1]) == key
    np.testing.assert_array_equal(two.encode(texts), vectors)
    # Cached: a second prepare does not embed or train again.
    before = CountingTeacher.encoded
    three = tuned(tiny_model, tmp_path / "a", sample_size=30)
    assert three.prepare(texts) == key and three.info.get("cached")
    assert CountingTeacher.encoded == before
    # Another seed or sample: another table.
    assert tuned(tiny_model, tmp_path / "a", sample_size=30, seed=1).prepare(texts) != key
    assert not list((tmp_path / "a" / "static-tuned").glob(".tuned-*"))  # atomic writes


def test_tuning_brings_the_static_model_closer_to_the_teacher(tiny_model, corpus, tmp_path):
    _, texts = corpus
    teacher = SentenceTransformerEmbedder(str(tiny_model)).encode(texts)
    fast = tuned(tiny_model, tmp_path, sample_size=48)
    fast.prepare(texts)
    cosine = (fast.encode(texts) * teacher).sum(axis=1).mean()
    untuned = StaticEmbedder(f"fast:{tiny_model}", cache_dir=tmp_path).encode(texts)
    assert untuned.shape[1] != teacher.shape[1] or cosine > 0.5
    assert cosine > 0.3


def test_unprepared_embedder_says_what_to_do(tiny_model, tmp_path):
    with pytest.raises(PipelineError, match="tuned on the corpus"):
        tuned(tiny_model, tmp_path).encode(["a text"])


def test_map_records_its_table_for_queries_and_updates(tiny_model, corpus, tmp_path, caplog):
    frame, texts = corpus
    source, extra = tmp_path / "papers.csv", tmp_path / "new.csv"
    frame.iloc[:40].to_csv(source, index=False)
    frame.iloc[40:].to_csv(extra, index=False)
    cache = tmp_path / "cache"
    config = BuildConfig()
    config.embed = EmbedConfig(model=f"fast:{tiny_model}", backend="torch")
    build([source], tmp_path / "m", config, cache_dir=cache, show_progress=False)
    topic_map = load_map(tmp_path / "m")
    model = topic_map.manifest["model"]
    assert model["name"] == f"fast:{tiny_model}" and model["backend"].startswith("static-tuned:")
    assert model["dimension"] == 32
    # The cache holds the tuned table and the teacher's vectors of its sample.
    tables = list((cache / "static-tuned").iterdir())
    assert len(tables) == 1
    # Queries: the same table.
    query = embedder_for_map(model, cache_dir=cache)
    assert isinstance(query, TunedStaticEmbedder)
    built = make_embedder(config.embed, cache_dir=cache)
    built.prepare(texts[:40])
    np.testing.assert_allclose(query.encode(texts[:3]), built.encode(texts[:3]), atol=1e-6)
    # Update: new papers go through the map's own table, no table tuned on them.
    result = update_map(tmp_path / "m", [extra], cache_dir=cache)
    assert result.added == len(frame) - 40
    assert len(list((cache / "static-tuned").iterdir())) == 1
    assert isinstance(embedder_for_update(model, cache_dir=cache), TunedStaticEmbedder)
    # The table gone: queries fall back to the transformer it imitates (same space), said
    # in the log; update refuses rather than mix spaces.
    shutil.rmtree(tables[0])
    with caplog.at_level("WARNING", logger="pipeline.embed.registry"):
        fallback = embedder_for_map(model, cache_dir=cache)
    assert not isinstance(fallback, TunedStaticEmbedder) and "not in" in caplog.text
    assert fallback.encode(["robot arm"]).shape == (1, 32)
    with pytest.raises(PipelineError, match="build the map again"):
        embedder_for_update(model, cache_dir=cache)
    # Maps of the untuned static model (before) keep getting it.
    old = embedder_for_map({"name": "fast:all-MiniLM-L6-v2", "backend": "static"})
    assert type(old) is StaticEmbedder
    assert embedder_for_update({"name": "all-MiniLM-L6-v2", "backend": "ov-int8"}) is None
