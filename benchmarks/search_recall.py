"""Recall@k of the dashboard's search on a map: by meaning only (the map's embeddings),
by words only (BM25 over title and abstract) and hybrid (both, fused by reciprocal rank),
on the queries of ``benchmarks/search_queries.json`` (each with the papers a researcher
would expect).

    .venv/bin/python benchmarks/search_recall.py --map maps/cs_venues_balanced
    .venv/bin/python benchmarks/search_recall.py --map maps/sample --json out.json

A query counts on a map when some of its expected papers are on it, and only those count;
its recall@k is the share of them among the top k, and the table gives the mean over
queries, and how many queries each method finds at least one expected paper for. Queries
are embedded as the dashboard embeds them: with the map's own model and backend
(``pipeline.embed.registry.embedder_for_map``). No timing: the numbers do not depend on
the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import load_map  # noqa: E402
from pipeline.embed.registry import embedder_for_map  # noqa: E402
from ui.core.retrieval import (  # noqa: E402
    KeywordIndex,
    embedding_ranking,
    hybrid_ranking,
    keyword_ranking,
    paper_texts,
)

METHODS = ("embedding", "keyword", "hybrid")


def evaluate(map_dir: Path, queries: list[dict], *, k: int = 10) -> dict:
    """Per-method mean recall@k and hits over the queries that have papers on the map."""
    topic_map = load_map(map_dir)
    documents, embeddings = topic_map.documents, np.asarray(topic_map.embeddings)
    row_of = {str(v): i for i, v in enumerate(documents["id"].astype(str))}
    index = KeywordIndex.build(paper_texts(documents))
    embedder = embedder_for_map(topic_map.manifest.get("model") or topic_map.model_name)
    usable = [(q["query"], [row_of[e] for e in q["expected"] if e in row_of]) for q in queries]
    usable = [(text, rows) for text, rows in usable if rows]
    vectors = np.asarray(embedder.encode([text for text, _ in usable]), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    per_query = []
    for (text, expected), vector in zip(usable, vectors, strict=True):
        found = {
            "embedding": embedding_ranking(embeddings, vector, k=k)[0],
            "keyword": keyword_ranking(index, text, k=k)[0],
            "hybrid": hybrid_ranking(index, embeddings, text, vector, k=k).rows,
        }
        per_query.append({"query": text, "expected": len(expected), **{
            m: float(np.isin(expected, found[m]).mean()) for m in METHODS}})
    summary = {m: {"recall": float(np.mean([q[m] for q in per_query])),
                   "found_any": int(sum(q[m] > 0 for q in per_query))} for m in METHODS}
    return {"map": str(map_dir), "papers": len(documents), "queries": len(per_query),
            "expected": int(sum(q["expected"] for q in per_query)), "k": k,
            "model": embedder.name, "backend": getattr(embedder, "backend", ""),
            "methods": summary, "per_query": per_query}


def table(result: dict) -> str:
    """The result as a Markdown table."""
    k, n = result["k"], result["queries"]
    lines = [f"{result['papers']:,} papers ({Path(result['map']).name}), {n} queries, "
             f"{result['expected']} expected papers, model {result['model']} "
             f"({result['backend']})", "",
             f"| method | recall@{k} | queries with an expected paper in the top {k} |",
             "|---|---|---|"]
    for method in METHODS:
        row = result["methods"][method]
        lines.append(f"| {method} | {row['recall']:.3f} | {row['found_any']} of {n} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", required=True, type=Path, help="a map folder")
    parser.add_argument("--queries", type=Path, default=ROOT / "benchmarks" / "search_queries.json")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the result (with every query) here")
    args = parser.parse_args(argv)
    queries = json.loads(args.queries.read_text(encoding="utf-8"))["queries"]
    result = evaluate(args.map, queries, k=args.k)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
