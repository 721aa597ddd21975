"""Blind readings of a map's names: prepare what a reader sees, then score what they said.

    python benchmarks/blind_reading.py prepare MAP --out DIR [--before OLD_MAP] [--per-layer 15]
    python benchmarks/blind_reading.py score DIR

``prepare`` draws up to ``--per-layer`` nodes of every layer (seeded) and writes, for each,
25 random titles of its papers to ``DIR/titles.md``: the reader writes a name for each node
from the titles alone, and a coherence verdict (coherent / mostly / mixed), into
``DIR/ratings.csv`` (columns ``key, reader_name, coherence``), before opening
``DIR/names.csv``. That file holds, per node, the map's name and, with ``--before``, the name
the old map's best-matching node had (paper overlap >= 0.5), as ``name_a``/``name_b`` in a
seeded random order, so the reader does not know which is new. The reader then adds
``rating_a, rating_b`` (2 = a researcher accepts it: it names the same thing at about the
right breadth; 1 = partly right: a sub-part, too generic, an awkward pairing; 0 =
misleading) to ``ratings.csv``. ``DIR/key.json`` (not for the reader) says which is which,
and holds the weak marks.

``score`` prints, for the map's names (and the old ones): accepted and misleading shares per
layer and overall, on mixed nodes, and how well the weak mark tells the names rated 1 or 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import load_map  # noqa: E402

TITLES = 25


def members(topic_map, level: str) -> dict[int, set[str]]:
    docs = topic_map.documents
    return {int(node): set(ids) for node, ids in docs.groupby(level)["id"]
            if int(node) >= 0}


def best_match(papers: set[str], old: dict) -> tuple[tuple[str, int] | None, float]:
    best, score = None, 0.0
    for node, theirs in old.items():
        jaccard = len(papers & theirs) / len(papers | theirs)
        if jaccard > score:
            best, score = node, jaccard
    return best, score


def prepare(map_dir: Path, out: Path, *, before: Path | None, per_layer: int, seed: int) -> None:
    topic_map = load_map(map_dir)
    old_map = load_map(before) if before else None
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    levels = topic_map.levels  # finest first
    lines, rows, key = [f"# Titles of {map_dir.name}: name each node from its titles\n"], [], {}
    docs = topic_map.documents
    old_nodes: dict[tuple[str, int], set[str]] = {}
    if old_map is not None:  # every node of every layer: the best overlap wins
        old_nodes = {(lv, node): ids for lv in old_map.levels
                     for node, ids in members(old_map, lv).items()}
    for layer, level in enumerate(levels):
        table = topic_map.level(level)
        chosen = table if len(table) <= per_layer else \
            table.iloc[np.sort(rng.choice(len(table), per_layer, replace=False))]
        nodes = members(topic_map, level)
        for row in chosen.itertuples():
            node_key = f"L{layer}-{int(row.id)}"
            papers = docs.loc[docs[level] == row.id, "title"].astype(str).tolist()
            sample = [papers[i] for i in np.sort(rng.choice(len(papers), min(TITLES, len(papers)),
                                                            replace=False))]
            lines.append(f"\n## {node_key} ({int(row.size)} papers, layer {layer} of "
                         f"{len(levels) - 1}: {'finest' if layer == 0 else 'broadest' if layer == len(levels) - 1 else 'middle'})\n")
            lines += [f"- {title}" for title in sample]
            new_name, old_name = str(row.label), ""
            if old_nodes:
                match, overlap = best_match(nodes[int(row.id)], old_nodes)
                if match is not None and overlap >= 0.5:
                    old_table = old_map.level(match[0])
                    old_name = str(old_table.loc[old_table["id"] == match[1], "label"].iloc[0])
            swap = bool(rng.integers(0, 2)) and bool(old_name)
            a, b = (old_name, new_name) if swap else (new_name, old_name)
            rows.append({"key": node_key, "size": int(row.size), "name_a": a, "name_b": b})
            key[node_key] = {"new": "b" if swap else "a", "layer": layer,
                             "n_layers": len(levels), "weak": bool(row.weak_name),
                             "weak_reason": str(getattr(row, "weak_reason", "") or ""),
                             "new_name": new_name, "old_name": old_name}
    (out / "titles.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pd.DataFrame(rows).to_csv(out / "names.csv", index=False)
    (out / "key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")
    print(f"{len(rows)} nodes: {out / 'titles.md'}, {out / 'names.csv'}")


def _shares(frame: pd.DataFrame, column: str) -> str:
    rated = frame[column].dropna()
    if not len(rated):
        return "-"
    return (f"{len(rated):>3} nodes: {100 * (rated == 2).mean():4.0f}% accepted, "
            f"{100 * (rated == 0).mean():3.0f}% misleading")


def score(out: Path) -> None:
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    ratings = pd.read_csv(out / "ratings.csv")
    rows = []
    for r in ratings.itertuples():
        k = key[r.key]
        new, old = ("rating_a", "rating_b") if k["new"] == "a" else ("rating_b", "rating_a")
        layer = k["layer"]
        where = "finest" if layer == 0 else "broadest" if layer == k["n_layers"] - 1 \
            else "middle"
        rows.append({"key": r.key, "where": where, "coherence": r.coherence,
                     "new": getattr(r, new), "old": getattr(r, old) if k["old_name"] else None,
                     "weak": k["weak"]})
    frame = pd.DataFrame(rows)
    for column in ("new", "old"):
        if frame[column].isna().all():
            continue
        print(f"== {column} names")
        print(f"  all        {_shares(frame, column)}")
        for where in ("broadest", "middle", "finest"):
            print(f"  {where:<10} {_shares(frame[frame['where'] == where], column)}")
        print(f"  mixed      {_shares(frame[frame['coherence'] == 'mixed'], column)}")
    bad = frame["new"] < 2
    marked = frame["weak"]
    print(f"weak mark: catches {int((bad & marked).sum())} of {int(bad.sum())} names rated 1 or 0"
          f"; {int((bad & marked).sum())} of {int(marked.sum())} marked names are rated 1 or 0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("map", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--before", type=Path)
    p.add_argument("--per-layer", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    s = commands.add_parser("score")
    s.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.map, args.out, before=args.before, per_layer=args.per_layer, seed=args.seed)
    else:
        score(args.out)


if __name__ == "__main__":
    main()
