"""Topic quality, per layer, on five corpora: ``python -m pipeline.bench quality``.

For each corpus (``--corpora``; default all of :data:`CORPORA`) a map is built
with the project's own :func:`pipeline.build` (or taken from ``--maps DIR/NAME``)
and every layer of it is measured:

- the clustering: nodes, noise share, the largest node's share of all papers,
  and against the corpus's label column NMI and ARI (noise as a class of its
  own) and the homogeneity of the clustered papers (``pipeline.bench.metrics.layer_scores``);
- the names (``pipeline.bench.metrics.name_scores``): support of any word of the name
  and of its most specific term, contrast with the siblings, name-to-cluster
  retrieval with the map's own model, duplicate names, weak names;
- side by side, BERTopic's default representation of the very same nodes on the
  same vectors (its "manual" mode: no reduction, the layer as the clusters, its
  default ``CountVectorizer`` and c-TF-IDF; the name is its ``<id>_w1_w2_w3_w4``),
  literally and with English stop words, when BERTopic is installed.

``--layers DIR`` names the layers in ``DIR/NAME.npz`` (arrays ``layer_K`` and
``parents_K``, row-aligned with the map) with the current labeller instead of
reading the map's own, to measure names on a hierarchy the build does not make
(yet). The results go into BENCHMARKS.md (its "Topic quality" section) and
BENCHMARKS.json (key ``quality``), with the issue's bars checked.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .measure import ROOT

DATA = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Corpus:
    """A reference corpus: its input, label column and how its map is built."""

    name: str
    path: Path
    label: str | None
    vectors: Path | None = None  # precomputed, row-aligned vectors
    model: str | None = None  # --model (None: the default)


CORPORA = {c.name: c for c in (
    Corpus("trending", DATA / "trending-papers-page.txt", None),
    Corpus("sample", ROOT / "sample" / "papers.csv", "field"),
    Corpus("medical", DATA / "medical_abstracts.csv.gz", "label"),
    Corpus("cs_balanced", DATA / "cs_venues_balanced.csv.gz", "label",
           vectors=DATA / "cs_venues_balanced.all-MiniLM-L6-v2.npy"),
    Corpus("cs_all_fast", DATA / "cs_venues_all.jsonl.gz", "label", model="fast"),
)}


def build_map(corpus: Corpus, out: Path, *, seed: int = 42):
    """The corpus's map, built with ``pipeline.build``."""
    from pipeline import BuildConfig, build

    config = BuildConfig(seed=seed)
    if corpus.vectors is not None:
        config.embed.embeddings_path = str(corpus.vectors)
    if corpus.model is not None:
        config.embed.model = corpus.model
    return build([corpus.path], out, config, show_progress=False)


def map_layers(documents: pd.DataFrame, clusters: pd.DataFrame,
               ) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """The map's layers, finest first: (level, each paper's node, each node's parent)."""
    if "layer" in clusters.columns:
        levels = list(clusters.sort_values("layer").drop_duplicates("level")["level"])
    else:
        middle = sorted((c for c in documents.columns if c.startswith("layer_")),
                        key=lambda c: int(c.split("_")[1]))
        levels = [lv for lv in ["cluster", *middle, "theme"] if lv in documents.columns]
    out = []
    for k, level in enumerate(levels):
        rows = clusters[clusters["level"] == level].sort_values("id")
        parents = None
        if k < len(levels) - 1:
            parents = np.full(int(rows["id"].max()) + 1 if len(rows) else 0, -1, dtype=np.int64)
            parents[rows["id"].to_numpy(dtype=np.int64)] = rows["parent"].to_numpy(np.int64)
        out.append((level, documents[level].to_numpy(dtype=np.int64), parents))
    return out


def npz_layers(path: Path, ids: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """Layers saved as ``layer_K``/``parents_K`` arrays (finest first), one row per paper of
    the map (``ids``)."""
    with np.load(path, allow_pickle=False) as data:
        n_layers = int(data["n_layers"]) if "n_layers" in data.files else \
            len([k for k in data.files if k.startswith("layer_")])
        if len(data["layer_0"]) != len(ids):
            raise ValueError(f"{path} is not row-aligned with the map")
        levels = ["cluster", *(f"layer_{k}" for k in range(1, n_layers - 1)), "theme"]
        return [(levels[k], data[f"layer_{k}"].astype(np.int64),
                 data[f"parents_{k}"].astype(np.int64) if k < n_layers - 1 else None)
                for k in range(n_layers)]


def name_layers_now(documents: pd.DataFrame, embeddings: np.ndarray, layers, model,
                    ) -> tuple[list[list[str]], list[list[bool]], float]:
    """Names of ``layers`` by the current offline namer (with the map's model when installed),
    their weak flags, and the seconds it took (phrase counts included)."""
    from pipeline.config import LabelConfig
    from pipeline.naming.counts import count_phrases, paper_texts
    from pipeline.naming.offline import offline_names
    from pipeline.naming.phrase_model import phrase_embedder
    from pipeline.naming.registry import Layer

    started = time.perf_counter()
    counts = count_phrases(paper_texts(documents))
    table = offline_names(documents, embeddings, counts,
                          [Layer(level, nodes, int(nodes.max()) + 1, parents)
                           for level, nodes, parents in layers], LabelConfig(),
                          embed_phrases=phrase_embedder(model))
    seconds = time.perf_counter() - started
    names = [_by_id(table[table["level"] == level]) for level, _, _ in layers]
    weak = [_weak_of(table, level, len(n)) for (level, _, _), n in zip(layers, names,
                                                                          strict=True)]
    return names, weak, seconds


def _by_id(rows: pd.DataFrame) -> list[str]:
    names = [""] * (int(rows["id"].max()) + 1 if len(rows) else 0)
    for node, label in zip(rows["id"], rows["label"], strict=True):
        names[int(node)] = str(label)
    return names


def bertopic_names(texts: list[str], embeddings: np.ndarray, nodes: np.ndarray,
                   stop_words: str | None = None) -> list[str] | None:
    """BERTopic's default representation of given nodes (None: BERTopic not installed)."""
    try:
        from bertopic import BERTopic
        from bertopic.cluster import BaseCluster
        from bertopic.dimensionality import BaseDimensionalityReduction
    except ImportError:
        return None
    from sklearn.feature_extraction.text import CountVectorizer

    model = BERTopic(umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster(),
                     vectorizer_model=CountVectorizer(stop_words=stop_words),
                     calculate_probabilities=False, verbose=False)
    topics, _ = model.fit_transform(texts, embeddings=embeddings, y=nodes)
    topics = np.asarray(topics)
    info = model.get_topic_info().set_index("Topic")["Name"].to_dict()
    names = []
    for c in range(int(nodes.max()) + 1):
        found = topics[nodes == c]
        topic = int(np.bincount(found + 1).argmax() - 1) if len(found) else c
        names.append(str(info.get(topic, f"{c}_")))
    return names


def measure(topic_map, corpus: Corpus, *, layers_npz: Path | None = None,
            bertopic: bool = True) -> dict[str, Any]:
    """Every layer of a map, measured (see the module's docstring)."""
    from pipeline.naming.counts import paper_texts
    from pipeline.naming.offline import phrase_embedder

    from .metrics import WordUsage, layer_scores, name_scores

    documents, clusters = topic_map.documents, topic_map.clusters
    embeddings = np.asarray(topic_map.embeddings, dtype=np.float32)
    model = topic_map.manifest.get("model", {})
    texts = paper_texts(documents)
    reference = documents[corpus.label].to_numpy() if corpus.label in documents.columns \
        else None
    label_seconds = topic_map.manifest.get("timings", {}).get("name")
    if layers_npz is not None:
        layers = npz_layers(layers_npz, documents["id"].to_numpy())
        names, weak, label_seconds = name_layers_now(documents, embeddings, layers, model)
    else:
        layers = map_layers(documents, clusters)
        names = [_by_id(clusters[clusters["level"] == level]) for level, _, _ in layers]
        weak = [_weak_of(clusters, level, len(n)) for (level, _, _), n in zip(layers, names,
                                                                              strict=True)]
    embed = phrase_embedder(model)
    usage = WordUsage(texts)
    out = []
    for k, (level, nodes, parents) in enumerate(layers):
        entry: dict[str, Any] = {"layer": k, "level": level, **layer_scores(reference, nodes)}
        _, entry["ours"] = name_scores(usage, nodes, parents, names[k], embed=embed,
                                       embeddings=embeddings)
        entry["ours"]["weak"] = int(sum(weak[k]))
        if bertopic:
            for key, stop_words in (("bertopic", None), ("bertopic_sw", "english")):
                theirs = bertopic_names(texts, embeddings, nodes, stop_words)
                if theirs is not None:
                    _, entry[key] = name_scores(usage, nodes, parents, theirs, embed=embed,
                                                embeddings=embeddings)
        out.append(entry)
    return {"corpus": corpus.name, "papers": len(documents), "label_column": corpus.label,
            "model": model.get("name"), "layers_from": str(layers_npz) if layers_npz else "map",
            "label_seconds": label_seconds, "layers": out}


def _weak_of(clusters: pd.DataFrame, level: str, n: int) -> list[bool]:
    if "weak_name" not in clusters.columns:
        return [False] * n
    rows = clusters[clusters["level"] == level]
    weak = [False] * n
    for node, flag in zip(rows["id"], rows["weak_name"], strict=True):
        weak[int(node)] = bool(flag)
    return weak


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench quality",
                                     description="Topic quality per layer (clusters and names).")
    parser.add_argument("--corpora", nargs="+", choices=list(CORPORA), default=list(CORPORA))
    parser.add_argument("--maps", type=Path,
                        help="measure the maps DIR/NAME instead of building them")
    parser.add_argument("--work", type=Path, help="where built maps go (default: a temporary "
                                                  "folder)")
    parser.add_argument("--layers", type=Path, help="name and measure DIR/NAME.npz's layers")
    parser.add_argument("--no-bertopic", action="store_true", help="our names only")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def run(corpora: Sequence[str], *, maps: Path | None, work: Path, layers: Path | None,
        bertopic: bool, seed: int, log=print) -> list[dict[str, Any]]:
    """Measure each corpus; the results, one entry per corpus."""
    from pipeline import load_map

    results = []
    for name in corpora:
        corpus = CORPORA[name]
        if maps is not None:
            topic_map = load_map(maps / name)
        else:
            if not corpus.path.is_file():
                log(f"skipped {name}: {corpus.path} not found")
                continue
            started = time.perf_counter()
            topic_map = build_map(corpus, work / name, seed=seed)
            log(f"{name}: built in {time.perf_counter() - started:.0f}s")
        layers_npz = layers / f"{name}.npz" if layers is not None else None
        results.append(measure(topic_map, corpus, layers_npz=layers_npz, bertopic=bertopic))
        log(f"{name}: measured {len(results[-1]['layers'])} layers")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipeline.bench quality``: measure, then update BENCHMARKS.md and .json."""
    import tempfile

    from .quality_report import bertopic_installed, write_quality

    args = parse_args(argv)
    logging.getLogger("pipeline").setLevel(logging.WARNING)
    bertopic = not args.no_bertopic and bertopic_installed()
    if not args.no_bertopic and not bertopic:
        print("BERTopic is not installed (requirements-bench.txt): its columns are skipped")
    with tempfile.TemporaryDirectory(prefix="topicmap-quality-") as scratch:
        results = run(args.corpora, maps=args.maps, work=args.work or Path(scratch),
                      layers=args.layers, bertopic=bertopic, seed=args.seed,
                      log=lambda text: print(f"[quality {time.strftime('%H:%M:%S')}] {text}",
                                             flush=True))
    text = write_quality(results, args.out, command="python -m pipeline.bench quality "
                         + " ".join(argv if argv is not None else []))
    print(text)
    print(json.dumps({"written": str(args.out)}))
    return 0
