"""Naming the nodes of a hierarchy: names their papers bear out, umbrellas for broad nodes,
provenance and sureness, and renaming one node after an update."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder

from pipeline.bench.metrics import WordUsage, name_scores
from pipeline.config import LabelConfig
from pipeline.naming.counts import SavedPhrases, count_phrases
from pipeline.naming.offline import (
    NODE_COLUMNS,
    offline_names,
    refresh_nodes,
)
from pipeline.naming.phrase_model import phrase_embedder
from pipeline.naming.rank import assign_unique
from pipeline.naming.registry import Layer

#: Two fields, each with two subtopics: (field phrase, [(subtopic phrases), ...]).
FIELDS = {
    "computer vision": [["semantic segmentation", "pixel masks", "instance masks"],
                        ["depth estimation", "stereo matching", "disparity maps"]],
    "natural language processing": [["machine translation", "source sentences", "bleu scores"],
                                    ["dependency parsing", "syntax trees", "treebanks"]],
}
FILLER = "we train our networks on benchmarks and report strong accuracy over baselines".split()


def hierarchy_corpus(n: int = 30, seed: int = 0, field_rate: float = 0.35):
    """Papers, leaves (4 subtopics) and top nodes (2 fields); a field's name is written in
    about a third of its papers ("in <field>", "for <field> tasks")."""
    rng = np.random.default_rng(seed)
    rows, leaf, top = [], [], []
    for f, (field, subtopics) in enumerate(FIELDS.items()):
        for s, phrases in enumerate(subtopics):
            for i in range(n):
                used = [p for p in phrases if rng.random() < 0.8] or phrases[:1]
                words = list(rng.choice(FILLER, size=8))
                abstract = f"We study {', '.join(used)}. " + " ".join(words) + "."
                if rng.random() < field_rate:
                    abstract += f" This matters {rng.choice(['in', 'for'])} {field}" + \
                        (" tasks." if rng.random() < 0.5 else ".")
                rows.append({"id": f"{f}{s}-{i}", "title": f"On {used[0]} number {i}",
                             "abstract": abstract, "x": float(f * 10 + s), "y": float(i)})
                leaf.append(2 * f + s)
                top.append(f)
    documents = pd.DataFrame(rows)
    return documents, np.array(leaf), np.array(top)


def meaning_of(texts: list[str], embeddings: np.ndarray):
    """A stand-in for a semantic model: a phrase means what the papers writing it are about
    (the mean of their vectors; a phrase no paper writes means nothing in particular)."""
    lower = [t.lower() for t in texts]

    def embed(phrases):
        out = []
        for phrase in phrases:
            hit = [i for i, t in enumerate(lower) if phrase.lower() in t]
            out.append(embeddings[hit].mean(axis=0) if hit else np.ones(embeddings.shape[1]))
        return np.asarray(out)

    return embed


@pytest.fixture(scope="module")
def named():
    documents, leaf, top = hierarchy_corpus()
    texts = (documents["title"] + ". " + documents["abstract"]).tolist()
    embeddings = FakeEmbedder().encode(texts)
    embeddings[:, :2] += 2.0 * np.eye(2)[top]  # a field's subtopics lie near each other
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    counts = count_phrases(texts)
    layers = [Layer("cluster", leaf, 4, np.array([0, 0, 1, 1])), Layer("theme", top, 2)]
    table = offline_names(documents, embeddings, counts, layers, LabelConfig(),
                         embed_phrases=meaning_of(texts, embeddings))
    return documents, embeddings, counts, layers, table


def test_every_node_of_every_layer_gets_a_row_with_the_v2_columns(named):
    _, _, _, _, table = named
    assert list(table.columns) == NODE_COLUMNS
    assert list(table["level"]) == ["theme"] * 2 + ["cluster"] * 4  # broadest first
    assert list(table["layer"]) == [1, 1, 0, 0, 0, 0]
    assert table.loc[table["level"] == "theme", "parent"].tolist() == [-1, -1]
    assert table.loc[table["level"] == "cluster", "parent"].tolist() == [0, 0, 1, 1]
    assert table["support"].between(0, 1).all() and table["contrast"].between(0, 1).all()
    assert table["weak_name"].dtype == bool


def test_broad_nodes_are_named_for_the_umbrella_their_children_share(named):
    _, _, _, _, table = named
    themes = table[table["level"] == "theme"].sort_values("id")["label"].str.lower().tolist()
    assert themes == ["computer vision", "natural language processing"]
    assert not table.loc[table["level"] == "theme", "weak_name"].any()


def test_leaves_are_named_for_their_own_papers_distinct_from_parent_and_siblings(named):
    documents, _, _, layers, table = named
    leaves = table[table["level"] == "cluster"].sort_values("id")
    labels = leaves["label"].str.lower().tolist()
    assert len(set(labels)) == 4
    for label, phrases in zip(labels, [p for subs in FIELDS.values() for p in subs],
                              strict=True):
        assert any(word in label for phrase in phrases for word in phrase.split()), label
    usage = WordUsage((documents["title"] + ". " + documents["abstract"]).tolist())
    _, summary = name_scores(usage, layers[0].nodes, layers[0].parents, labels)
    assert summary["support_spec_min"] >= 0.5
    assert summary["sibling_duplicates"] == 0


def test_provenance_terms_and_papers_behind_each_name(named):
    documents, _, _, layers, table = named
    for row in table.itertuples():
        assert row.terms and len(row.terms) == len(row.weights)
        level = layers[row.layer]
        members = set(documents["id"].to_numpy()[level.nodes == row.id])
        assert row.representative_ids and set(row.representative_ids) <= members


def test_a_grab_bag_node_is_marked_weak():
    rng = np.random.default_rng(3)
    vocabulary = [f"topic{k}word" for k in range(200)]
    rows = [{"id": str(i), "title": f"Paper {i}",
             "abstract": " ".join(rng.choice(vocabulary, size=12)) + ".", "x": 0.0, "y": 0.0}
            for i in range(60)]
    documents = pd.DataFrame(rows)
    texts = (documents["title"] + ". " + documents["abstract"]).tolist()
    nodes = np.repeat([0, 1, 2], 20)
    table = offline_names(documents, FakeEmbedder().encode(texts), count_phrases(texts),
                         [Layer("cluster", nodes, 3, np.zeros(3, dtype=int)),
                          Layer("theme", np.zeros(60, dtype=int), 1)], LabelConfig())
    assert table.loc[table["level"] == "cluster", "weak_name"].all()


def test_names_without_a_model_and_with_one_missing():
    assert phrase_embedder("/nonexistent/model/folder") is None
    documents, leaf, top = hierarchy_corpus(n=12, seed=1)
    texts = (documents["title"] + ". " + documents["abstract"]).tolist()
    table = offline_names(documents, FakeEmbedder().encode(texts), count_phrases(texts),
                         [Layer("cluster", leaf, 4, np.array([0, 0, 1, 1])),
                          Layer("theme", top, 2)], LabelConfig(), embed_phrases=None)
    assert table["label"].str.len().gt(2).all()
    assert table.groupby("level")["label"].nunique().tolist() == [4, 2]


def test_assign_unique_gives_a_contested_phrase_to_the_node_it_fits_best():
    names = assign_unique([["robots", "arms"], ["robots", "legs"], ["robots"]],
                          [[0.5, 0.4], [0.9, 0.2], [0.1]])
    assert names[1] == "robots" and names[0] == "arms"
    assert names[2] == "robots (2)"  # nothing left: a numbered copy, never a shared name


def test_refresh_renames_only_what_changed(named):
    documents, embeddings, counts, layers, table = named
    documents = documents.assign(cluster=layers[0].nodes, theme=layers[1].nodes)
    clusters = table.copy()
    before = clusters.copy()
    terms = SavedPhrases(counts.vocabulary, np.asarray(counts.matrix.sum(axis=0)).ravel(),
                       counts.doc_freq, len(documents))
    clusters.loc[clusters["level"] == "cluster", "label"] = ["stale"] * 4
    done = refresh_nodes(clusters, documents, embeddings, level="cluster", touched=[2],
                           rename=lambda c, size: True, terms=terms, config=LabelConfig())
    assert done == {2: 30}
    rows = clusters[clusters["level"] == "cluster"].set_index("id")
    assert "translation" in rows.loc[2, "label"].lower() or "bleu" in rows.loc[2, "label"].lower()
    assert rows.loc[[0, 1, 3], "label"].tolist() == ["stale"] * 3
    assert rows.loc[2, "terms"] and 0 <= rows.loc[2, "support"] <= 1
    themes = clusters[clusters["level"] == "theme"]
    assert themes["label"].tolist() == before[before["level"] == "theme"]["label"].tolist()


def test_refresh_renames_a_broad_node_from_its_children(named):
    documents, embeddings, counts, layers, table = named
    documents = documents.assign(cluster=layers[0].nodes, theme=layers[1].nodes)
    clusters = table.copy()
    terms = SavedPhrases(counts.vocabulary, np.asarray(counts.matrix.sum(axis=0)).ravel(),
                       counts.doc_freq, len(documents))
    clusters.loc[clusters["level"] == "theme", "label"] = ["old a", "old b"]
    refresh_nodes(clusters, documents, embeddings, level="theme", touched=[1],
                    rename=lambda c, size: True, terms=terms, config=LabelConfig())
    renamed = clusters[(clusters["level"] == "theme") & (clusters["id"] == 1)]["label"].item()
    assert renamed.lower() == "natural language processing"


def test_a_broad_node_whose_umbrella_is_weak_is_named_for_its_children():
    """A field written by a few of its papers only: its name would be a minority's phrase,
    so the node is named for its largest children ("A and B"), which its papers bear out."""
    documents, leaf, top = hierarchy_corpus(n=30, seed=2, field_rate=0.06)
    texts = (documents["title"] + ". " + documents["abstract"]).tolist()
    embeddings = FakeEmbedder().encode(texts)
    embeddings[:, :2] += 2.0 * np.eye(2)[top]  # a field's subtopics lie near each other
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)

    meaning = meaning_of(texts, embeddings)
    layers = [Layer("cluster", leaf, 4, np.array([0, 0, 1, 1])), Layer("theme", top, 2)]
    table = offline_names(documents, embeddings, count_phrases(texts), layers, LabelConfig(),
                         embed_phrases=meaning)
    themes = table[table["level"] == "theme"].sort_values("id")
    leaves = table[table["level"] == "cluster"].sort_values("id")["label"].str.lower().tolist()
    composite = 0
    for row, (a, b) in zip(themes.itertuples(), [leaves[:2], leaves[2:]], strict=True):
        name = row.label.lower()
        if name in (f"{a} and {b}", f"{b} and {a}"):
            composite += 1  # support: the share of its papers writing either part
            assert not row.weak_name and row.support >= 0.8, row
        else:  # its umbrella is written as a field's name often enough this time
            assert name in FIELDS and not row.weak_name, row
    assert composite >= 1


def test_precomputed_vectors_are_named_with_the_model_they_name(tmp_path, monkeypatch):
    """A build from precomputed vectors has no embedder of its own: its names are judged
    with the model the vectors name when it is installed and gives vectors of their size."""
    from conftest import make_corpus

    import pipeline.naming.phrase_model as phrase_model
    from pipeline import BuildConfig, build

    asked: list[list[str]] = []

    class Recording(FakeEmbedder):
        def encode(self, texts, **kwargs):
            asked.append(list(texts))
            return super().encode(texts, **kwargs)

    monkeypatch.setattr(phrase_model, "model_installed", lambda name: True)
    monkeypatch.setattr(phrase_model, "_cheapest", lambda entry, cache_dir: Recording())
    corpus = make_corpus(15)
    corpus.to_csv(tmp_path / "p.csv", index=False)
    texts = (corpus["title"] + ". " + corpus["abstract"]).tolist()
    vectors = FakeEmbedder().encode(texts)  # 64-d, as the stand-in model gives
    np.save(tmp_path / "v.npy", vectors)
    config = BuildConfig()
    config.embed.embeddings_path = str(tmp_path / "v.npy")
    build([tmp_path / "p.csv"], tmp_path / "m", config, show_progress=False)
    assert asked and not set(texts) & {phrase for batch in asked for phrase in batch}

    asked.clear()  # vectors of another size: the model did not make them, names go without
    np.save(tmp_path / "v.npy", np.hstack([vectors, vectors]))
    build([tmp_path / "p.csv"], tmp_path / "m2", config, show_progress=False)
    assert len(asked) == 1  # tried once, then not used


def test_names_carry_their_provenance_and_old_maps_load_without_it(tmp_path):
    """Every name says where it came from and, when weak, why; a map made before these
    columns loads, and is named again with them."""
    from conftest import make_corpus

    from pipeline import build, load_map
    from pipeline.mapdir.store import write_map
    from pipeline.naming.offline import PROVENANCE, OfflineNamer
    from pipeline.naming.registry import rename_map
    from pipeline.naming.vocabulary import load_vocabulary

    corpus = make_corpus(12)
    corpus.to_csv(tmp_path / "p.csv", index=False)
    topic_map = build([tmp_path / "p.csv"], tmp_path / "m", embedder=FakeEmbedder(),
                      cache_dir=tmp_path / "c", show_progress=False)
    clusters = topic_map.clusters
    assert set(PROVENANCE) <= set(clusters.columns)
    assert set(clusters["name_source"]) <= {"phrase", "openalex", "arxiv", "children", "parts"}
    assert (clusters["weak_reason"] != "").eq(clusters["weak_name"]).all()
    assert clusters["name_share"].between(0, 1).all()
    assert clusters.loc[clusters["name_source"].isin(["openalex", "arxiv"]),
                        "name_entry"].str.contains(":").all()
    assert topic_map.manifest["names"]["label"]["vocabulary"] == load_vocabulary().version

    old = load_map(tmp_path / "m")
    old.clusters = old.clusters.drop(columns=list(PROVENANCE))
    write_map(old, tmp_path / "old")
    reloaded = load_map(tmp_path / "old")
    assert not set(PROVENANCE) & set(reloaded.clusters.columns)
    renamed = rename_map(reloaded, OfflineNamer())  # (the stand-in model is not installed)
    assert set(PROVENANCE) <= set(renamed.clusters.columns)
    assert renamed.clusters["label"].str.len().gt(2).all()
    assert renamed.clusters["name_source"].ne("").all()


def test_stop_words_are_scikit_learns_and_counts_match_its_vectorizer():
    """The stop words kept as data are scikit-learn's, and counting over a fixed vocabulary
    without it gives CountVectorizer's binary matrix."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as SKLEARN
    from sklearn.feature_extraction.text import CountVectorizer

    from pipeline.naming.counts import count_phrases, count_with_vocabulary
    from pipeline.naming.phrases import ENGLISH_STOP_WORDS, phrase_keys

    assert ENGLISH_STOP_WORDS == SKLEARN
    texts = ["Graph neural networks for molecule property prediction.",
             "Neural networks on graphs; the graph neural network learns.", "", "the of and"]
    vocabulary = count_phrases(texts * 3, max_ngram=3).vocabulary
    ours = count_with_vocabulary(texts, vocabulary, 3)
    theirs = CountVectorizer(analyzer=lambda t: phrase_keys(t, max_ngram=3), binary=True,
                             vocabulary={str(t): i for i, t in enumerate(vocabulary)},
                             dtype=np.float32).transform(texts)
    assert ours.shape == theirs.shape and ours.nnz > 0
    assert (ours != theirs).nnz == 0
