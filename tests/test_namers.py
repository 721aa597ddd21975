"""Naming methods: the ``Namer`` protocol and its registry (pipeline/naming/registry.py).

CONTRIBUTING.md, "Adding a naming method": one class and one line in ``NAMERS``; the
command line, the manifest and the dashboard's names switch follow from the registry.
"""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder
from streamlit.testing.v1 import AppTest

from pipeline import load_map
from pipeline.cli.main import main
from pipeline.naming.offline import OfflineNamer
from pipeline.naming.registry import (
    NAMERS,
    NodeSet,
    apply_names,
    layers_of,
    namer_class,
    rename_map,
)
from ui.core.nodes import names_modes, node_table


class TitleNamer:
    """A trivial namer: each node is named by the title of its first paper."""

    key = "titles"
    title = "First titles"
    column = "titles_label"
    description_column = None

    def name(self, nodes: NodeSet, *, levels=None) -> pd.DataFrame:
        rows = []
        for layer in nodes.layers:
            if levels is not None and layer.level not in levels:
                continue
            for node in range(layer.n_nodes):
                members = np.flatnonzero(layer.nodes == node)
                if len(members):
                    title = str(nodes.documents["title"].iloc[members[0]])
                    rows.append({"level": layer.level, "id": node, "titles_label": title})
        return pd.DataFrame(rows)

    def describe(self) -> dict:
        return {"version": 1}


def first_titles(topic_map, level: str) -> dict[int, str]:
    docs = topic_map.documents
    return {int(node): str(docs.loc[docs[level] == node, "title"].iloc[0])
            for node in topic_map.level(level)["id"]}


def test_adding_a_namer_is_one_class_and_one_registry_line(small_map, tmp_path, monkeypatch,
                                                           capsys):
    path = tmp_path / "small"
    shutil.copytree(small_map, path)
    monkeypatch.setitem(NAMERS, "titles", TitleNamer)  # the one registry line

    assert main(["rename", str(path), "--namer", "titles", "-q"]) == 0
    named = load_map(path)  # written, and it verifies against its manifest
    assert named.manifest["names"]["titles_label"]["namer"] == "titles"
    assert named.manifest["names"]["titles_label"]["version"] == 1
    assert named.manifest["names"]["label"]["namer"] == "offline"
    for level in ("cluster", "theme"):
        table = named.level(level)
        assert dict(zip(table["id"], table["titles_label"], strict=True)) == \
            first_titles(named, level)
    assert named.clusters["label"].equals(load_map(small_map).clusters["label"])
    assert "Named the topics" in capsys.readouterr().out

    # The dashboard offers it, first, and shows its names where it is chosen.
    assert names_modes(named.clusters) == ["titles", "offline"]
    nodes = node_table(named.clusters, "titles")
    assert (nodes["label"] == nodes["titles_label"]).all() and nodes["alt_name"].all()
    assert (node_table(named.clusters, "offline")["label"]
            == node_table(named.clusters, "offline")["offline_label"]).all()

    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(tmp_path))
    at = AppTest.from_file("../dashboard.py", default_timeout=180)
    at.run()
    assert not at.exception
    radio = [r for r in at.sidebar.radio if r.label == "Topic names"]
    assert radio and radio[0].options == ["First titles", "Offline"]


def test_unknown_namer_is_a_clear_error(small_map, tmp_path, capsys):
    path = tmp_path / "small"
    shutil.copytree(small_map, path)
    with pytest.raises(SystemExit) as exit_info:
        main(["rename", str(path), "--namer", "nonesuch"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nonesuch'" in capsys.readouterr().err


def test_llm_namer_without_an_endpoint_is_a_clear_error(small_map, tmp_path, capsys):
    path = tmp_path / "small"
    shutil.copytree(small_map, path)
    assert main(["rename", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--llm-url" in err


def test_offline_namer_renames_a_saved_map_as_its_build_named_it(small_map):
    """``rename --namer offline`` on a saved map: the papers counted again and the phrases
    judged with the map's model (here the fake one the build used), the same names."""
    topic_map = load_map(small_map)
    nodes = NodeSet.of_map(topic_map)
    nodes.extras["embed_phrases"] = FakeEmbedder().encode
    namer = OfflineNamer()
    renamed = apply_names(topic_map, namer.name(nodes), namer)
    assert renamed.clusters["label"].tolist() == topic_map.clusters["label"].tolist()
    assert renamed.manifest["names"]["label"]["namer"] == "offline"
    # Without the map's model (a fake one is never installed) names are judged by the
    # papers' vectors: still a name for every node.
    alone = rename_map(topic_map, namer)
    assert (alone.clusters["label"].str.strip() != "").all()


def test_layers_of_a_saved_map_nest(layers_map):
    topic_map = load_map(layers_map)
    layers = layers_of(topic_map.documents, topic_map.clusters)
    assert [layer.level for layer in layers] == ["cluster", "layer_1", "theme"]
    for finer, broader in itertools.pairwise(layers):
        grouped = finer.nodes >= 0
        assert (finer.parents[finer.nodes[grouped]] == broader.nodes[grouped]).all()
    assert layers[-1].parents is None


def test_every_registered_namer_has_the_protocol():
    for key in NAMERS:
        cls = namer_class(key)
        assert cls.key == key and cls.title and cls.column
        assert callable(cls.name) and callable(cls.describe)
