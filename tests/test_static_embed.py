"""The static embedder (``--model fast``): distilled offline from a local transformer,
cached once, selectable from the config, and its own cache key.

A tiny random BERT (a 1-layer model over a 60-word vocabulary) stands in for
all-MiniLM-L6-v2 so that distillation takes a second; nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import BuildConfig, build, load_map
from pipeline.config import EmbedConfig
from pipeline.embed.fast_tune import TunedStaticEmbedder
from pipeline.embed.registry import cache_key_of, make_embedder
from pipeline.embed.static import (
    DistillSettings,
    StaticEmbedder,
    is_fast_model,
    source_of,
)

WORDS = ("image segmentation pixel camera video depth language translation token sentence "
         "grammar dialogue robot grasping locomotion gripper drone torque protein gene cell "
         "enzyme tissue mutation we study a method for the results show our approach with "
         "novel and of to in is").split()


def make_tiny_model(folder: Path, *, seed: int = 0) -> Path:
    """A random 1-layer BERT with a WordPiece tokenizer, saved as a local folder."""
    import torch
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]"]
    vocab = {token: i for i, token in enumerate(specials + WORDS + ["##s", "##ing"])}
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]),
                                                 ("[SEP]", vocab["[SEP]"])])
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    BertModel(config).eval().save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-bert")


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def test_aliases_and_sources():
    assert is_fast_model("fast") and is_fast_model(" FAST ") and is_fast_model("fast:/x/y")
    assert is_fast_model("fast:all-MiniLM-L6-v2")
    assert not is_fast_model("all-MiniLM-L6-v2") and not is_fast_model("") and not is_fast_model(None)
    assert source_of("fast") == "default"
    assert source_of("fast:/models/x") == "/models/x"


def test_distils_once_offline_and_caches(tiny_model, cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = DistillSettings(pca_dims=16)
    embedder = StaticEmbedder(f"fast:{tiny_model}", cache_dir=cache, settings=settings)
    assert embedder.dimension == 16
    folder = embedder.model_dir()
    assert (folder / "vectors.npy").is_file() and folder.parent == cache / "static"
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["tokens_kept"] == len(WORDS) + 9 - 2  # the two [unused] tokens are left out
    vectors = np.load(folder / "vectors.npy")
    assert np.all(vectors[5:7] == 0)  # [unused0], [unused1]
    first = embedder.encode(["Image segmentation of video", "Protein gene mutation"])
    assert first.shape == (2, 16) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)

    # A second embedder reuses the cached vectors: distillation must not run again.
    import pipeline.embed.static as static_embed

    def fail(*args, **kwargs):
        raise AssertionError("distilled twice")

    monkeypatch.setattr(static_embed, "distill_vectors", fail)
    again = StaticEmbedder(f"fast:{tiny_model}", cache_dir=cache, settings=settings)
    np.testing.assert_array_equal(again.encode(["Image segmentation of video",
                                                "Protein gene mutation"]), first)


def test_vectors_are_means_of_token_vectors(tiny_model, cache):
    embedder = StaticEmbedder(f"fast:{tiny_model}", cache_dir=cache,
                              settings=DistillSettings(pca_dims=8))
    assert embedder.dimension == 8  # distils
    table = np.load(embedder.model_dir() / "vectors.npy")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_model / "tokenizer.json"))
    text = "robot grasping with a gripper zzzunknownzzz"
    ids = [i for i in tok.encode(text, add_special_tokens=False).ids if i != 1]  # 1 = [UNK]
    expected = table[ids].mean(axis=0)
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(embedder.encode([text])[0], expected, atol=1e-5)
    # Order of words does not matter to a static model; which words does.
    a, b, c = embedder.encode(["robot gripper torque", "torque robot gripper", "protein enzyme"])
    assert float(a @ b) == pytest.approx(1.0, abs=1e-5)
    assert float(a @ c) < 0.99
    # Empty and unknown-only texts give zero vectors, not NaN.
    empty = embedder.encode(["", "qqqq"])
    assert np.isfinite(empty).all() and not empty.any()


def test_deterministic_across_distillations(tiny_model, tmp_path):
    one = StaticEmbedder(f"fast:{tiny_model}", cache_dir=tmp_path / "a",
                         settings=DistillSettings(pca_dims=8))
    two = StaticEmbedder(f"fast:{tiny_model}", cache_dir=tmp_path / "b",
                         settings=DistillSettings(pca_dims=8))
    texts = ["language translation of sentences", "drone locomotion"]
    np.testing.assert_allclose(one.encode(texts), two.encode(texts), atol=1e-5)


def test_cache_keys_differ_from_transformer_and_by_settings(tiny_model, cache):
    static = StaticEmbedder(f"fast:{tiny_model}", cache_dir=cache)
    other = StaticEmbedder(f"fast:{tiny_model}", cache_dir=cache,
                           settings=DistillSettings(pca_dims=8))
    transformer = make_embedder(EmbedConfig(model=str(tiny_model), backend="torch"))
    keys = {cache_key_of(static), cache_key_of(other), cache_key_of(transformer)}
    assert len(keys) == 3
    assert "static" in cache_key_of(static)
    assert static.model_dir() != other.model_dir()


def test_make_embedder_selects_static_for_fast(tiny_model, cache):
    # --model fast is the static model tuned on the corpus (tests/test_fast_tune.py)
    embedder = make_embedder(EmbedConfig(model=f"fast:{tiny_model}"), cache_dir=cache)
    assert isinstance(embedder, TunedStaticEmbedder) and isinstance(embedder, StaticEmbedder)
    assert embedder.name == f"fast:{tiny_model}"
    assert embedder.backend == "static-tuned"  # until prepared on a corpus


def test_build_with_fast_model_records_it_and_reuses_cache(tiny_model, corpus_csv, tmp_path):
    cache = tmp_path / "cache"
    config = BuildConfig()
    config.embed.model = f"fast:{tiny_model}"
    config.validate()
    topic_map = build([corpus_csv], tmp_path / "map", config, cache_dir=cache,
                      show_progress=False)
    manifest = topic_map.manifest
    assert manifest["model"]["name"] == f"fast:{tiny_model}"
    assert manifest["model"]["backend"].startswith("static-tuned:")  # which tuned table
    assert manifest["model"]["dimension"] == 32  # the transformer's (hidden size 32)
    assert manifest["counts"]["embedded"] == 100
    again = build([corpus_csv], tmp_path / "map2", config, cache_dir=cache, show_progress=False)
    assert again.manifest["counts"]["embedded"] == 0
    loaded = load_map(tmp_path / "map")
    np.testing.assert_allclose(loaded.embeddings, again.embeddings, atol=1e-6)


def test_not_a_model_folder_is_a_clear_error(tmp_path):
    from pipeline.errors import PipelineError

    (tmp_path / "empty").mkdir()
    embedder = StaticEmbedder(f"fast:{tmp_path / 'empty'}", cache_dir=tmp_path / "cache")
    with pytest.raises(PipelineError, match="local transformer folder"):
        embedder.encode(["x"])


def test_cli_accepts_model_fast(tiny_model, corpus_csv, tmp_path, capsys):
    from pipeline.cli.main import main

    code = main(["build", str(corpus_csv), "--out", str(tmp_path / "m"), "--model",
                 f"fast:{tiny_model}", "--cache-dir", str(tmp_path / "c"), "-q"])
    assert code == 0
    assert load_map(tmp_path / "m").manifest["model"]["name"].startswith("fast:")
