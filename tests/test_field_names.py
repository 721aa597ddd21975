"""Field names and the whole-node judgement: the shipped vocabulary, how a name is judged by
the papers it gathers, how a node's own words confirm a field, and honest names for nodes
of two strands or of none."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.naming.candidates import PhraseIndex, build_tree
from pipeline.naming.counts import count_phrases
from pipeline.naming.fields import TermIndex, confirmation, phrase_support, word_support
from pipeline.naming.judge import Name, contest, key_of
from pipeline.naming.parts import join, own_parts
from pipeline.naming.rank import (
    NamingConfig,
    _mark_mixed,
    _prefer_own_strands,
    _single,
    name_layers,
)
from pipeline.naming.verdict import MIXED, PART, weak_reason
from pipeline.naming.vocabulary import (
    load_vocabulary,
    shipped_vectors,
    vocabulary_vectors,
    write_vocabulary,
)
from pipeline.naming.vocabulary.sources import (
    Casing,
    parts_of,
    read_arxiv_categories,
    terms_of,
    trim,
)

SOURCES = Path(__file__).resolve().parents[2] / "shared" / "data" / "vocabularies"


# --------------------------------------------------------------------------- the vocabulary


def test_the_shipped_vocabulary_loads_offline_in_well_under_a_second():
    load_vocabulary.cache_clear()
    started = time.perf_counter()
    vocabulary = load_vocabulary()
    vectors = shipped_vectors(vocabulary)
    assert time.perf_counter() - started < 1.0
    assert "openalex" in vocabulary.version and "arxiv" in vocabulary.version
    assert "CC0" in vocabulary.licence and "MIT" in vocabulary.licence
    kinds = {str(k) for k in vocabulary.kinds}
    assert {"field", "subfield", "topic", "category", "part"} <= kinds
    assert vectors is not None and vectors.shape == (len(vocabulary), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)
    names = set(vocabulary.names)
    assert {"Oncology", "Computer vision", "Natural language processing", "Robotics",
            "Condensed matter physics", "Gastroenterology"} <= names
    assert not any(". " in name for name in names)  # a name holds no sentence break


def test_topic_names_are_trimmed_to_what_they_name():
    assert trim("Advances in Transfer Learning and Domain Adaptation") == \
        "Transfer Learning and Domain Adaptation"
    assert trim("Diagnosis and Management of Kawasaki Disease") == "Kawasaki Disease"
    assert trim("Natural Language Processing Techniques") == "Natural Language Processing"
    assert trim("Synthesis and Characterization of Metal-Organic Frameworks").startswith(
        "Synthesis")  # synthesis is the topic there, not a frame
    assert parts_of("Computer Vision and Pattern Recognition") == \
        ["Computer Vision", "Pattern Recognition"]
    assert parts_of("Nuclear and High Energy Physics") == ["Nuclear Physics", "High Energy Physics"]
    assert parts_of("Oncology") == []


def test_names_are_written_in_sentence_case_as_running_text_writes_them():
    casing = Casing(["We study the Alzheimer's disease cohort. The disease progresses.",
                     "Models of Alzheimer's risk and HIV care. HIV infection rates fall."])
    assert casing.sentence("Alzheimer's Disease and HIV Care") == "Alzheimer's disease and HIV care"
    assert casing.sentence("Computer Vision") == "Computer vision"


def test_arxiv_categories_are_read_as_data_never_run(tmp_path):
    source = tmp_path / "definitions.py.txt"
    source.write_text('raise SystemExit("never run")\nCATEGORIES = {\n'
                      '  "cs.CL": Category(id="cs.CL", full_name="Computation and Language",\n'
                      '      is_active=True, description="Covers natural language processing."),\n'
                      '}\n', encoding="utf-8")
    found = read_arxiv_categories(source)
    assert found["cs.CL"]["full_name"] == "Computation and Language"
    assert terms_of("Covers natural language processing") == ["cover natural language",
                                                               "natural language processing"]


def test_a_vocabulary_round_trips_and_embeds_with_another_model(tmp_path):
    entries = [{"name": "Robotics", "kind": "category", "id": "arxiv:cs.RO", "of": "Robotics",
                "parent": -1, "terms": ["robotics", "robot arm"]},
               {"name": "Oncology", "kind": "subfield", "id": "openalex:S2730",
                "of": "Oncology", "parent": -1, "terms": ["cancer"]}]
    path = tmp_path / "v.json.gz"
    write_vocabulary(entries, path, version="test/v1", sources=[], licence="CC0")
    vocabulary = load_vocabulary(path)
    assert vocabulary.names == ("Robotics", "Oncology") and vocabulary.version == "test/v1"
    assert vocabulary.source(0) == "arxiv" and vocabulary.terms[1] == ("cancer",)
    assert shipped_vectors(vocabulary) is None  # the shipped vectors are of other names
    seen = []

    def embed(names):
        seen.append(list(names))
        return np.eye(2, 8)[: len(names)] * 3.0

    vectors = vocabulary_vectors(vocabulary, embed)
    assert seen == [["Robotics", "Oncology"]]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vocabulary_vectors(vocabulary, None) is None  # no model: no field names


@pytest.mark.skipif(not (SOURCES / "openalex_topics_2024.xlsx").is_file(),
                    reason="the vocabulary's source files are not here")
def test_regenerating_from_the_sources_gives_the_shipped_file(tmp_path):
    from pipeline.naming.vocabulary.regenerate import regenerate

    summary = regenerate(SOURCES, out=tmp_path / "fields.json.gz", vectors=None)
    assert load_vocabulary(tmp_path / "fields.json.gz").digest == load_vocabulary().digest
    assert summary["kinds"]["topic"] == 4516 and summary["kinds"]["field"] == 26


# --------------------------------------------------------------------------- the judgement


def test_a_name_of_the_whole_node_gathers_more_than_a_name_of_one_part():
    rng = np.random.default_rng(0)
    field, part, other = np.eye(3, 16)

    def around(direction, n):
        v = direction + 0.05 * rng.normal(size=(n, 16))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    # the node: half its papers about `part`, half about the rest of `field`
    mine = np.vstack([around(field + part, 50), around(field - 0.3 * part, 50)])
    theirs = around(other, 100)
    papers = np.vstack([mine, theirs])
    own = np.arange(200) < 100
    unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
    gather, precision = contest(papers, own, papers.mean(axis=0),
                                [unit(field)[None], unit(field + 2 * part)[None]],
                                unit(other)[None])
    assert gather[0] > 0.9 and precision[0] > 0.9  # the field's name gathers the node
    assert gather[1] < gather[0]  # one part's name leaves the rest to its neighbour
    same, _ = contest(papers, own, papers.mean(axis=0), [unit(other)[None]], unit(other)[None])
    assert 0.3 < same[0] < 0.7  # two names as near: the papers are shared, not all taken


def test_a_field_is_confirmed_only_by_words_the_node_writes_more_than_its_siblings():
    texts = (["robot arm grasping with tactile sensing"] * 10
             + ["robot arm trajectories and legged locomotion"] * 10
             + ["image segmentation with deep networks"] * 10)
    index = PhraseIndex(count_phrases(texts))
    terms = TermIndex(index)
    nodes = np.array([0] * 10 + [1] * 10 + [2] * 10)
    tree = build_tree([nodes, np.where(nodes < 2, 0, 1)], [np.array([0, 0, 1]), None])
    robots, vision = tree[1]
    leaves = [tree[0][leaf] for leaf in robots.leaves]
    share, around, breadth, users = confirmation(terms, "Robotics", ["robot arm"], robots,
                                                 vision.members, leaves)
    assert share == 1.0 and around == 0.0 and breadth == 1.0 and users.all()
    share, _, breadth, _ = confirmation(terms, "Haptics", ["tactile sensing"], robots,
                                        vision.members, leaves)
    assert share == 0.5 and breadth == pytest.approx(0.5)  # one child writes it: narrow
    share, *_ = confirmation(terms, "Deep learning", ["deep network"], robots, vision.members,
                             leaves)
    assert share == 0.0  # what the siblings write confirms nothing here
    assert word_support(index, "Segmentation and grasping", robots.members) == 0.0
    assert word_support(index, "Tactile sensing", robots.members) == 0.5


def test_two_strands_are_named_together_and_a_node_of_none_says_it_is_mixed():
    def name(text, users):
        return Name(text=text, key=key_of(text), source="phrase", vector=None, eligible=True,
                    support=float(np.mean(users)), sibling_support=0.0, spec_support=0.5,
                    users=np.array(users, dtype=bool))

    half = [True] * 5 + [False] * 5
    pool = [name("Skin tumors", half), name("Melanoma", half),
            name("Chemotherapy trials", half[::-1])]
    first, second = own_parts(pool, part_share=0.25, max_overlap=0.3)
    assert (first.text, second.text) == ("Skin tumors", "Chemotherapy trials")
    assert join(["Skin tumors", "Chemotherapy trials", "HIV care"]) == \
        "Skin tumors, chemotherapy trials and HIV care"
    node = build_tree([np.zeros(10, dtype=int)], [None])[0][0]
    mixed = Name(text="A, B and C", key="a | b | c", source="parts", vector=None,
                 eligible=True, support=1.0, sibling_support=0.0, spec_support=0.3,
                 notes={"mixed": True})
    assert weak_reason(mixed, node, NamingConfig()) == MIXED


def test_a_name_few_of_its_papers_write_is_marked_as_naming_part_of_it():
    # Readers rejected leaf names most papers of the node do not write ("Thyroid cancer"
    # for thyroid, parathyroid and endocrine tumours): the mark says so, except at the
    # top, where a field's name is seldom written and reads well.
    texts = ["thyroid cancer surgery outcomes"] * 2 + ["parathyroid adenoma imaging"] * 8
    index = PhraseIndex(count_phrases(texts))
    node = build_tree([np.zeros(10, dtype=int)], [None])[0][0]
    assert phrase_support(index, "Thyroid cancer", node.members) == 0.2
    assert phrase_support(index, "Thyroid cancer and parathyroid adenoma",
                          node.members) == 0.2  # its least written term
    assert phrase_support(index, "Endocrine surgery", node.members) == 0.0  # never written
    name = Name(text="Thyroid cancer", key="thyroid cancer", source="phrase", vector=None,
                eligible=True, support=0.2, sibling_support=0.0, spec_support=0.2,
                gather=1.0, precision=1.0, closeness=0.5)
    config = NamingConfig()
    assert weak_reason(name, node, config, written=0.2) == PART
    assert weak_reason(name, node, config, written=0.8) == ""
    assert weak_reason(name, node, config, written=0.2, top=True) == ""


def test_a_node_of_two_unrelated_fields_is_not_named_for_one_of_them():
    """Two children of unrelated topics under one parent: the parent's name covers both
    (a joint name or a list of parts), never one child's topic alone."""
    rng = np.random.default_rng(1)
    vocab = {"a": "protein folding molecular dynamics simulation".split(),
             "b": "stock market volatility forecasting returns".split(),
             "c": "galaxy cluster redshift survey lensing".split()}
    texts, leaf = [], []
    for k, words in enumerate(vocab.values()):
        for _ in range(30):
            texts.append(" ".join(rng.choice(words, size=8)) + ". " + " ".join(words[:2]))
            leaf.append(k)
    leaf = np.array(leaf)
    vectors = np.eye(3, 8)[leaf] + 0.05 * rng.normal(size=(90, 8))
    lower = [t.lower() for t in texts]

    def meaning(phrases):
        out = []
        for p in phrases:
            hit = [i for i, t in enumerate(lower) if p.lower() in t]
            out.append(vectors[hit].mean(axis=0) if hit else np.ones(8))
        return np.asarray(out)

    records = name_layers(count_phrases(texts), vectors, [leaf, np.where(leaf < 2, 0, 1)],
                          [np.array([0, 0, 1]), None], texts=texts, ids=np.arange(90),
                          embed_phrases=meaning)
    mixed = records[1][0]
    leaves = [r["label"].lower() for r in records[0][:2]]
    assert mixed["label"].lower() not in leaves
    assert all(any(w in mixed["label"].lower() for w in leaf_name.split())
               for leaf_name in leaves), mixed["label"]
    assert mixed["name_source"] in ("children", "parts")


@pytest.mark.slow
def test_the_numpy_encoder_gives_the_models_own_vectors():
    """Names judged without loading PyTorch are judged with the same vectors."""
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import SentenceTransformer

    from pipeline.embed.base import default_model_path
    from pipeline.naming.minilm import NumpyBert, numpy_bert_folder

    folder = default_model_path()
    assert numpy_bert_folder(folder)
    phrases = ["Computer vision", "Graph neural networks", "x",
               "a much longer phrase about optimisation of deep networks with many words"]
    ours = NumpyBert(folder).encode(phrases)
    theirs = SentenceTransformer(str(folder), device="cpu").encode(phrases,
                                                                   normalize_embeddings=True)
    assert (ours * theirs).sum(axis=1).min() > 0.9999
    vocabulary = load_vocabulary()
    shipped = shipped_vectors(vocabulary)
    probes = [0, len(vocabulary) // 2, len(vocabulary) - 1]
    again = NumpyBert(folder).encode([vocabulary.names[i] for i in probes])
    assert (again * shipped[probes]).sum(axis=1).min() > 0.999  # float16, same model


def _named(text: str, users, **kw) -> Name:
    users = np.asarray(users, dtype=bool)
    return Name(text=text, key=key_of(text), source="phrase", vector=np.ones((1, 4)),
                eligible=True, support=float(users.mean()), sibling_support=0.0,
                spec_support=0.5, users=users, gather=0.9, precision=1.0, closeness=0.5,
                **kw)


def test_a_middle_node_whose_name_its_papers_do_not_write_is_named_by_its_parts():
    """Read blind, a single name written by few of a middle node's papers was the most
    often misleading ("Reward function" for bandits and online learning); its parts are
    listed instead, marked mixed, and its parent can still list it by its best name."""
    leaf = np.repeat(np.arange(4), 10)
    mid = np.array([0, 0, 1, 1])
    tree = build_tree([leaf, mid[leaf], np.zeros(40, dtype=int)],
                      [mid, np.array([0, 0]), None])
    pools = [[[_named(f"Leaf topic {c}", [True] * 10)] for c in range(4)],
             [[_named("Reward function", [True] * 20)], [_named("Other field", [True] * 20)]],
             [[_named("Everything", [True] * 40)]]]
    config = NamingConfig()
    node = tree[1][0]
    _mark_mixed(node, pools[1][0], tree, pools, config, reach=1.0, unwritten=False)
    assert pools[1][0][0].text == "Reward function"  # written: it stays
    _mark_mixed(node, pools[1][0], tree, pools, config, reach=1.0, unwritten=True)
    first = pools[1][0][0]
    assert first.notes.get("mixed") and first.text == "Leaf topic 0 and leaf topic 1"
    assert _single(pools[1][0]).text == "Reward function"  # past its list


def test_a_leaf_whose_best_name_few_papers_write_takes_its_two_strands():
    half = [True] * 5 + [False] * 5
    single = _named("Visual saliency detection", half)
    strands = _named("Video object segmentation and visual saliency detection",
                     [True] * 10, parts=(single, single))
    pool = [single, strands]
    _prefer_own_strands(pool, NamingConfig(), written=0.5)
    assert pool[0] is single  # written by half its papers: kept
    _prefer_own_strands(pool, NamingConfig(), written=0.1)
    assert pool[0] is strands
