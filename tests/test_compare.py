"""Comparing two maps: persist/split/merge/vanish/new by shared papers, and the papers that moved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder, make_corpus
from streamlit.testing.v1 import AppTest

from pipeline import BuildConfig, build, load_map
from pipeline.errors import PipelineError
from pipeline.mapdir.store import write_map
from pipeline.review.compare import (
    STATUSES,
    compare_labels,
    compare_maps,
    format_comparison,
    shared_papers,
)
from ui.figures.compare import transitions_sankey, transitions_table


def labelled(groups: list[tuple[int, int, int]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Papers from (count, old label, new label) groups."""
    old, new = [], []
    for count, a, b in groups:
        old += [a] * count
        new += [b] * count
    ids = [f"p{i}" for i in range(len(old))]
    return ids, np.array(old), np.array(new)


# Old 0 persists as new 0 (2 papers drift to noise); old 1 splits into new 1 and 2; old 2 and
# old 3 merge into new 3; old 4 dissolves into noise; new 4 forms from old noise.
KNOWN = [(38, 0, 0), (2, 0, -1), (20, 1, 1), (20, 1, 2), (20, 2, 3), (20, 3, 3),
         (15, 4, -1), (12, -1, 4), (5, -1, -1)]


def test_known_transitions():
    ids, old, new = labelled(KNOWN)
    result = compare_labels(ids, old, new)
    by_old = {tuple(r.old): r for r in result.transitions.itertuples() if r.old}
    assert by_old[(0,)].status == "persists" and by_old[(0,)].new == [0]
    assert by_old[(0,)].jaccard == pytest.approx(38 / 40)
    assert by_old[(0,)].to_noise == 2
    assert by_old[(1,)].status == "split" and sorted(by_old[(1,)].new) == [1, 2]
    assert by_old[(2,)].status == "merged" and by_old[(2,)].new == [3]
    assert by_old[(2,)].merged_with == [3]
    assert by_old[(3,)].status == "merged" and by_old[(3,)].merged_with == [2]
    assert by_old[(4,)].status == "vanished" and by_old[(4,)].new == []
    new_rows = result.transitions[result.transitions["status"] == "new"]
    assert new_rows["new"].tolist() == [[4]]
    assert new_rows["came_from"].tolist() == [[-1]]
    assert result.summary["persists"] == 1 and result.summary["split"] == 1
    assert result.summary["merged"] == 2 and result.summary["vanished"] == 1
    assert result.summary["new"] == 1
    # Moved: the 2 papers of old 0 that became noise, the 15 of old 4, the 12 noise -> new 4.
    assert result.summary["papers_moved"] == 2 + 15 + 12
    kinds = result.moved["kind"].value_counts().to_dict()
    assert kinds == {"to noise": 17, "from noise": 12}
    flows = {(r.old, r.new): r.papers for r in result.flows.itertuples()}
    assert flows[(1, 2)] == 20 and flows[(4, -1)] == 15 and flows[(-1, 4)] == 12
    assert result.flows["papers"].sum() == len(ids)


def test_identical_labelling_all_persist():
    ids, old, _ = labelled(KNOWN)
    result = compare_labels(ids, old, old.copy())
    assert set(result.transitions["status"]) == {"persists"}
    assert result.moved.empty and result.summary["adjusted_rand"] == 1.0


def test_relabelled_clusters_still_persist():
    ids, old, _ = labelled(KNOWN)
    permuted = np.where(old >= 0, (old + 3) % 5, -1)
    result = compare_labels(ids, old, permuted)
    assert set(result.transitions["status"]) == {"persists"}
    assert result.moved.empty


def test_a_paper_moving_between_persisting_clusters_is_listed():
    ids, old, new = labelled([(30, 0, 0), (1, 0, 1), (30, 1, 1)])
    result = compare_labels(ids, old, new)
    assert result.moved["id"].tolist() == ["p30"]
    assert result.moved["kind"].tolist() == ["moved"]


def test_a_splinter_is_new_and_says_where_it_came_from():
    ids, old, new = labelled([(45, 0, 0), (8, 0, 1), (30, 1, 2)])
    result = compare_labels(ids, old, new)
    rows = {(r.status, tuple(r.old)): r for r in result.transitions.itertuples()}
    assert rows[("persists", (0,))].jaccard == pytest.approx(45 / 53, abs=1e-3)
    assert rows[("new", ())].new == [1] and rows[("new", ())].came_from == [0]
    assert result.summary["papers_moved"] == 8


def test_a_cluster_halved_with_a_big_new_part_is_a_split_not_persisting():
    # Old 0 (470 papers): 237 go to new 0 (238 papers, Jaccard 0.504) and 140 to new 1.
    ids, old, new = labelled([(237, 0, 0), (1, 1, 0), (140, 0, 1), (93, 0, -1), (50, 1, 2)])
    result = compare_labels(ids, old, new)
    row = result.transitions[result.transitions["old"].map(lambda o: o == [0])].iloc[0]
    assert row["status"] == "split" and sorted(row["new"]) == [0, 1]
    assert compare_labels(ids, old, new, min_part=0.35).transitions.loc[
        lambda t: t["old"].map(lambda o: o == [0]), "status"].iloc[0] == "persists"


def test_two_big_clusters_joined_are_a_merge_even_if_one_keeps_jaccard_half():
    # New 0 (470 papers) = old 0 (238, Jaccard 0.504 with new 0) + old 1 (140) + 92 from noise.
    ids, old, new = labelled([(237, 0, 0), (1, 0, 1), (140, 1, 0), (93, -1, 0), (50, 2, 2)])
    table = compare_labels(ids, old, new).transitions
    status = {tuple(r.old): r.status for r in table.itertuples() if r.old}
    assert status[(0,)] == "merged" and status[(1,)] == "merged" and status[(2,)] == "persists"
    merged = table[table["status"] == "merged"]
    assert sorted(map(tuple, merged["merged_with"])) == [(0,), (1,)]


def test_bad_threshold():
    ids, old, new = labelled(KNOWN)
    with pytest.raises(PipelineError, match="threshold"):
        compare_labels(ids, old, new, threshold=0)


@pytest.fixture(scope="module")
def two_maps(tmp_path_factory):
    """One synthetic corpus (4 topics of 30) mapped with min_cluster_size 5 and 45, with
    HDBSCAN's excess-of-mass selection (the default leaf selection splits topics at random).

    With 45 no single topic is big enough to be a cluster, so the coarse map has
    fewer clusters than the fine one and the fine clusters must merge.
    """
    root = tmp_path_factory.mktemp("compare")
    source = root / "papers.csv"
    make_corpus(n_per_topic=30).to_csv(source, index=False)
    maps = []
    for name, size in (("fine", 5), ("coarse", 45)):
        config = BuildConfig()
        config.cluster.min_cluster_size = size
        config.cluster.selection_method = "eom"
        build([source], root / name, config, embedder=FakeEmbedder(), cache_dir=root / "cache",
              show_progress=False)
        maps.append(load_map(root / name))
    return maps


def check_consistent(result, old_map, new_map, level="cluster"):
    """Every old cluster classified once, every new one accounted for, moved papers exact."""
    table = result.transitions
    n_old = int((old_map.clusters["level"] == level).sum())
    n_new = int((new_map.clusters["level"] == level).sum())
    assert sorted(c for cs in table["old"] for c in cs) == list(range(n_old))
    assert {c for cs in table["new"] for c in cs} == set(range(n_new))
    assert set(table["status"]) <= set(STATUSES)
    assert (table.loc[table["status"] == "persists", "jaccard"] > 0.5).all()
    went = {a: set(r.new) for r in table.itertuples() for a in r.old}
    old = old_map.documents.set_index("id")[level]
    new = new_map.documents.set_index("id")[level]
    expected = {i for i in old.index
                if ((new[i] not in went.get(old[i], set())) if old[i] >= 0 else new[i] != -1)}
    assert set(result.moved["id"]) == expected


def test_coarser_build_merges_the_fine_clusters(two_maps):
    fine, coarse = two_maps
    result = compare_maps(fine, coarse)
    n_fine = int((fine.clusters["level"] == "cluster").sum())
    n_coarse = int((coarse.clusters["level"] == "cluster").sum())
    assert n_fine == 4 and n_coarse < n_fine
    assert result.summary["papers_compared"] == len(fine.documents) == len(coarse.documents)
    assert result.summary["merged"] + result.summary["vanished"] >= n_fine - n_coarse
    assert result.summary["persists"] < n_fine
    check_consistent(result, fine, coarse)
    text = format_comparison(result)
    assert "merged" in text and "adjusted Rand" in text


def test_finer_build_splits_the_coarse_clusters(two_maps):
    fine, coarse = two_maps
    result = compare_maps(coarse, fine)
    assert result.summary["split"] >= 1
    check_consistent(result, coarse, fine)


def test_moved_papers_are_listed_with_titles(two_maps):
    fine, _ = two_maps
    documents = fine.documents.copy()
    first, other = documents["cluster"].iloc[0], (documents["cluster"].iloc[0] + 1) % 4
    documents.loc[0, "cluster"] = other
    documents.loc[1, "cluster"] = -1
    changed = type(fine)(documents, fine.clusters, fine.embeddings, fine.manifest, fine.path)
    result = compare_maps(fine, changed)
    moved = result.moved.set_index("id")
    assert set(moved.index) == {documents["id"].iloc[0], documents["id"].iloc[1]}
    row = moved.loc[documents["id"].iloc[0]]
    assert row["kind"] == "moved" and row["old_cluster"] == first and row["new_cluster"] == other
    assert row["title"] == documents["title"].iloc[0]
    assert moved.loc[documents["id"].iloc[1], "kind"] == "to noise"
    assert result.summary["persists"] == 4
    check_consistent(result, fine, changed)


def test_map_against_itself(two_maps):
    fine, _ = two_maps
    result = compare_maps(fine, fine, level="theme")
    assert set(result.transitions["status"]) == {"persists"}
    assert result.moved.empty


def test_maps_of_different_corpora_are_refused(two_maps):
    fine, _ = two_maps
    other = fine.documents.copy()
    other["id"] = "x-" + other["id"]
    stranger = type(fine)(other, fine.clusters, fine.embeddings, fine.manifest, fine.path)
    with pytest.raises(PipelineError, match="share no paper ids"):
        compare_maps(fine, stranger)


def test_partially_overlapping_maps_count_only_shared(two_maps):
    fine, coarse = two_maps
    half = type(coarse)(coarse.documents.iloc[: len(coarse.documents) // 2].reset_index(drop=True),
                        coarse.clusters, coarse.embeddings[: len(coarse.documents) // 2],
                        coarse.manifest, coarse.path)
    result = compare_maps(fine, half)
    assert result.summary["papers_compared"] == len(half.documents)
    assert result.summary["only_in_old"] == len(fine.documents) - len(half.documents)
    assert isinstance(result.moved, pd.DataFrame)


def test_cli_compare(two_maps, capsys, tmp_path):
    from pipeline.cli.main import main

    fine, coarse = two_maps
    moved_csv = tmp_path / "moved.csv"
    assert main(["compare", str(fine.path), str(coarse.path), "--csv", str(moved_csv)]) == 0
    printed = capsys.readouterr().out
    assert "merged" in printed and "adjusted Rand" in printed
    assert moved_csv.is_file()
    assert main(["compare", str(fine.path), str(tmp_path / "nowhere")]) == 2
    assert "no map at" in capsys.readouterr().err


# --------------------------------------------------------------------------- figures and page


def test_sankey_and_table_escape_labels():
    ids, old, new = labelled(KNOWN)
    hostile = {0: "<script>alert(1)</script>", 1: "a & b"}
    result = compare_labels(ids, old, new, old_names=hostile)
    fig = transitions_sankey(result, hostile, {3: "merged <b>x</b>"}).to_dict()
    sankey = fig["data"][0]
    labels = sankey["node"]["label"]
    assert all("<script>" not in label and "<b>" not in label for label in labels)
    assert any("&lt;script&gt;" in label for label in labels)
    assert sum(sankey["link"]["value"]) == len(ids)
    table = transitions_table(result)
    assert list(table["status"]).count("merged") == 2
    assert table.loc[table["status"] == "new", "note"].iloc[0] == "mostly from unclustered papers"
    assert "<script>alert(1)</script>" in table["old cluster(s)"].iloc[0]  # plain text cell


def test_compare_page(two_maps, monkeypatch):
    fine, coarse = two_maps
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(Path(fine.path).parent))
    app = Path(__file__).resolve().parents[1] / "dashboard.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.query_params["map"] = "coarse"
    at.switch_page("pages/6_Compare_maps.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="cmp_other").value == str(Path(fine.path))
    table = at.dataframe[0].value
    expected = compare_maps(fine, coarse)
    assert table["status"].tolist() == expected.transitions["status"].tolist()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["merged"] == str(expected.summary["merged"])
    sankey = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert sankey["type"] == "sankey"
    at.radio(key="cmp_role").set_value("old").run()  # now the current map is the old one
    assert not at.exception
    assert "split" in at.dataframe[0].value["status"].tolist()


# --------------------------------------------------------------------------- issue 13, item 6


def renamed(topic_map, n_foreign: int):
    """``topic_map`` with the ids of its first ``n_foreign`` papers changed: a map that
    shares only the rest of its papers with the original."""
    documents = topic_map.documents.copy()
    documents.loc[: n_foreign - 1, "id"] = "other-" + documents.loc[: n_foreign - 1, "id"]
    return type(topic_map)(documents, topic_map.clusters, topic_map.embeddings,
                           topic_map.manifest, topic_map.path)


def test_how_many_papers_two_maps_share_and_refusing_unrelated_ones(two_maps):
    fine, coarse = two_maps
    n = len(fine.documents)
    assert shared_papers(fine, coarse) == {"shared": n, "old": n, "new": n,
                                           "share_of_old": 1.0, "share_of_new": 1.0}
    stranger = renamed(coarse, n - 10)  # 10 papers in common
    counts = shared_papers(fine, stranger)
    assert counts["shared"] == 10 and counts["share_of_old"] == pytest.approx(10 / n)
    with pytest.raises(PipelineError, match=r"share only 10 papers"):
        compare_maps(fine, stranger, min_shared=0.5)
    assert compare_maps(fine, stranger).summary["papers_compared"] == 10  # on request


def test_transition_sizes_are_the_clusters_sizes_and_jaccard_is_always_a_number(two_maps):
    fine, coarse = two_maps
    half = renamed(coarse, len(coarse.documents) // 2)
    result = compare_maps(fine, half)
    table = transitions_table(result)
    sizes = fine.documents["cluster"].value_counts()
    for row in result.transitions.itertuples():
        if row.old:  # the old cluster's size on its map, not the papers it shares
            assert row.old_size == sum(int(sizes[c]) for c in row.old)
    assert (table["old size"] >= table["shared"]).all()
    assert table["Jaccard"].notna().all() and table["Jaccard"].between(0, 1).all()
    split = compare_maps(coarse, fine)
    assert transitions_table(split)["Jaccard"].notna().all()


def test_compare_page_says_how_many_papers_the_maps_share(two_maps, tmp_path, monkeypatch):
    fine, coarse = two_maps
    root = tmp_path / "maps"
    for name, topic_map in (("fine", fine), ("stranger", renamed(coarse, 110))):
        write_map(topic_map, root / name)
    monkeypatch.setenv("TOPICMAP_MAPS_DIR", str(root))
    app = Path(__file__).resolve().parents[1] / "dashboard.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.query_params["map"] = "fine"
    at.run()
    at.switch_page("pages/6_Compare_maps.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = " ".join([e.value for e in at.error] + [w.value for w in at.warning]
                    + [c.value for c in at.caption])
    assert "10 papers" in said and "8%" in said  # 10 of 120
    assert not at.dataframe  # refused: nothing compared yet
    at.checkbox(key="cmp_anyway").check().run()
    assert not at.exception
    assert at.dataframe[0].value["shared"].sum() <= 10


def test_any_level_both_maps_have_can_be_compared_and_others_are_refused(two_maps):
    fine, coarse = two_maps
    for level in [name for name in fine.levels if name in coarse.levels]:
        check_consistent(compare_maps(fine, coarse, level=level), fine, coarse, level=level)
    with pytest.raises(PipelineError, match="level must be one both maps have"):
        compare_maps(fine, coarse, level="layer_9")
