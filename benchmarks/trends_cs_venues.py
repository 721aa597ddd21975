"""Themes over time on the venue corpus: which themes does the rule flag, with what numbers?

``cs_venues_all.jsonl.gz`` has 81,667 papers; embedding them with the bundled
model would take hours on a laptop CPU, and precomputed vectors exist only for
the 9,852 papers of ``cs_venues_balanced`` (all of which are in the full
corpus). So this script maps a **seeded sample of the full corpus, stratified
by year and field** (each (year, field) cell gets its share of the full corpus,
drawn from the papers that have vectors; a cell short of papers gives what it
has, and the distance to the full corpus's mix is printed), builds a map of it
with the precomputed all-MiniLM-L6-v2 vectors, and runs ``pipeline.review.trends`` on
it with the default rule, over all the corpus's years.

    nice .venv/bin/python benchmarks/trends_cs_venues.py [--n 4000] [--seed 0] [--keep DIR]

Needs ../shared/data (skips with a message otherwise). The venue field is a
proxy, and the corpus's venue coverage changes from year to year; the per-theme
field mix is printed so a flag can be read against it.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import BuildConfig, build  # noqa: E402
from pipeline.review.trends import TrendRule, format_table, theme_trends  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ALL = DATA / "cs_venues_all.jsonl.gz"
BALANCED = DATA / "cs_venues_balanced.csv.gz"
VECTORS = DATA / "cs_venues_balanced.all-MiniLM-L6-v2.npy"


def stratified_sample(full: pd.DataFrame, pool: pd.DataFrame, n: int, seed: int,
                      ) -> tuple[pd.DataFrame, float]:
    """``n`` rows of ``pool`` with the (year, label) mix of ``full``; and the total variation
    distance between the sample's mix and the full corpus's."""
    rng = np.random.default_rng(seed)
    share = full.groupby(["year", "label"]).size() / len(full)
    available = pool.groupby(["year", "label"]).size().reindex(share.index, fill_value=0)
    exact = share * n
    take = np.floor(exact).astype(int)
    # Largest remainders get the leftover papers.
    for cell in (exact - take).sort_values(ascending=False).index[: n - int(take.sum())]:
        take[cell] += 1
    take = np.minimum(take, available)
    parts = []
    for (year, label), count in take.items():
        if count:
            cell = pool[(pool["year"] == year) & (pool["label"] == label)]
            parts.append(cell.iloc[np.sort(rng.choice(len(cell), size=count, replace=False))])
    sample = pd.concat(parts, ignore_index=True)
    got = sample.groupby(["year", "label"]).size().reindex(share.index, fill_value=0) / len(sample)
    return sample, float(0.5 * (got - share).abs().sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4000, help="papers in the sample (default 4000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="keep the map in DIR (default: deleted)")
    args = parser.parse_args()
    if not (ALL.is_file() and BALANCED.is_file() and VECTORS.is_file()):
        print(f"skipped: the venue corpus is not in {DATA}")
        return 0
    logging.basicConfig(level=logging.WARNING)

    full = pd.read_json(ALL, lines=True, dtype={"id": str, "year": str})
    full["year"] = full["year"].astype(int)
    pool = pd.read_csv(BALANCED, dtype=str, keep_default_na=False)
    pool["year"] = pool["year"].astype(int)
    pool["_vector"] = np.arange(len(pool))
    vectors = np.load(VECTORS)
    assert set(pool["id"]) <= set(full["id"]), "balanced ids must be in the full corpus"
    sample, distance = stratified_sample(full, pool, args.n, args.seed)
    print(f"full corpus {len(full):,} papers, {full['year'].min()}-{full['year'].max()}; sample "
          f"{len(sample):,} (seed {args.seed}), total variation distance of its (year, field) "
          f"mix to the full corpus: {distance:.3f}")

    work = Path(tempfile.mkdtemp(prefix="trends-cs-venues-"))
    try:
        source = work / "sample.csv"
        sample.drop(columns="_vector").to_csv(source, index=False)
        np.save(work / "sample.npy", vectors[sample["_vector"].to_numpy()])
        config = BuildConfig()
        config.embed.embeddings_path = str(work / "sample.npy")
        out = Path(args.keep) if args.keep else work / "map"
        start = time.perf_counter()
        topic_map = build([source], out, config, show_progress=False)
        counts = topic_map.manifest["counts"]
        print(f"map: {counts['kept']} papers, {counts['clusters']} clusters, {counts['themes']} "
              f"themes, {counts['noise']} noise ({time.perf_counter() - start:.0f}s)")

        report = theme_trends(topic_map.documents, topic_map.clusters, rule=TrendRule())
        print()
        print(format_table(report))
        print("\nthe same rule on the clusters:")
        print(format_table(theme_trends(topic_map.documents, topic_map.clusters,
                                        level="cluster", rule=TrendRule())))
        docs = topic_map.documents
        window = docs[docs["year"].isin(report.window_years)]
        mix = pd.crosstab(window["theme"], window["label"], normalize="index").round(2)
        print("\nfield mix of each theme's papers in the window (venue field, share):")
        for theme, row in mix.iterrows():
            top = ", ".join(f"{label} {value:.0%}" for label, value in
                            row.sort_values(ascending=False).items() if value >= 0.05)
            print(f"  theme {theme}: {top}")
        by_year = pd.crosstab(docs["year"], docs["label"], normalize="index")
        print("\nfield share of all papers per window year:")
        print(by_year.loc[report.window_years].round(3).to_string())
        flagged = report.emerging, report.declining
        print(f"\n{len(flagged[0])} emerging, {len(flagged[1])} declining")
        return 0 if all(len(f) for f in flagged) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
