"""Command-line verbs for a literature review on a built map.

    python -m pipeline trends MAP [--level theme|layer_1|...|cluster] [--window 5] ...
    python -m pipeline compare OLD_MAP NEW_MAP [--level LEVEL] [--moved 20]
    python -m pipeline similar MAP ID [ID ...] [--reading-list] [-k 20] [--method max|mean]
    python -m pipeline reading-list MAP [--add ID ...] [--remove ID ...] [--export FILE]

``__main__`` registers these with ``add_review_parsers`` and dispatches to
``run_review``; errors are ``PipelineError``s, printed by ``__main__`` (exit 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.mapdir.store import load_map

COMMANDS = ("trends", "compare", "similar", "reading-list")


def add_review_parsers(commands: argparse._SubParsersAction) -> None:
    """Add the ``trends``, ``compare``, ``similar`` and ``reading-list`` sub-commands."""
    from pipeline.review.trends import TrendRule

    defaults = TrendRule()
    trends = _command(
        commands, "trends", "themes over time: shares per year, emerging and declining themes",
        "Each theme's share of the papers per year. A theme is emerging (declining) when the "
        "least-squares slope of its share over the last --window years that have "
        "--min-year-papers papers is at least --min-slope points a year up (down), and it has "
        "--min-papers papers in that window.", map="MAP_DIR")
    trends.add_argument("--level", default="theme", metavar="LEVEL",
                        help="the layer to follow: theme (the broadest, default), cluster (the "
                             "finest) or a layer between (layer_1 ...; `info` lists them)")
    trends.add_argument("--window", type=int, default=defaults.window,
                        help=f"years fitted (default {defaults.window})")
    trends.add_argument("--min-year-papers", type=int, default=defaults.min_year_papers,
                        help="a year counts only with this many dated papers "
                             f"(default {defaults.min_year_papers})")
    trends.add_argument("--min-papers", type=int, default=defaults.min_papers,
                        help=f"papers a theme needs in the window (default {defaults.min_papers})")
    trends.add_argument("--min-slope", type=float, default=defaults.min_slope,
                        help="percentage points of share per year to flag a theme "
                             f"(default {defaults.min_slope:g})")
    trends.add_argument("--from", dest="year_from", type=int, metavar="YEAR",
                        help="count only papers from YEAR on")
    trends.add_argument("--until", dest="year_until", type=int, metavar="YEAR",
                        help="count only papers up to YEAR")
    _add_outputs(trends, csv="also write shares per year (long form)", json="the verdicts")

    compare = _command(
        commands, "compare", "compare two maps of the same corpus",
        "Match the clusters of OLD_MAP and NEW_MAP by shared papers (by id) and say which "
        "persist, split, merge, vanish or are new; list papers that moved.",
        old="OLD_MAP", new="NEW_MAP")
    compare.add_argument("--level", default="cluster", metavar="LEVEL",
                         help="the layer to compare: cluster (the finest, default), theme (the "
                              "broadest) or a layer both maps have between (layer_1 ...)")
    compare.add_argument("--threshold", type=float, default=0.5,
                         help="share of papers that makes a match (default 0.5)")
    compare.add_argument("--moved", type=int, default=20, metavar="N",
                         help="list at most N moved papers (default 20; all in --csv)")
    _add_outputs(compare, csv="write every moved paper to FILE", json="the result")

    similar = _command(
        commands, "similar", "papers like the given ones (nearest neighbours on the map)",
        "Rank the map's papers by cosine similarity to the given papers (or the map's reading "
        "list), leaving out the given ones and the list.", map="MAP_DIR")
    similar.add_argument("ids", nargs="*", metavar="ID", help="paper ids on the map")
    similar.add_argument("--reading-list", action="store_true",
                         help="use the map's reading list as the picked papers")
    similar.add_argument("-k", type=int, default=20, help="how many (default 20)")
    similar.add_argument("--method", choices=["max", "mean"], default="max",
                         help="max: nearest to any picked paper (default); mean: to their centre")

    reading = _command(
        commands, "reading-list", "show, change or export a map's reading list",
        "The reading list is kept beside the map (MAP_DIR.reading-list.sqlite3) and survives "
        "rebuilds. Export format follows the file suffix: .bib .ris .csv.", map="MAP_DIR")
    reading.add_argument("--add", nargs="+", default=[], metavar="ID")
    reading.add_argument("--remove", nargs="+", default=[], metavar="ID")
    reading.add_argument("--export", metavar="FILE", help="write the list to FILE (.bib .ris .csv)")


def _command(commands: argparse._SubParsersAction, name: str, summary: str, description: str,
             **positionals: str) -> argparse.ArgumentParser:
    """A sub-command and its positional arguments (``dest="METAVAR"``)."""
    parser = commands.add_parser(name, help=summary, description=description)
    for dest, metavar in positionals.items():
        parser.add_argument(dest, metavar=metavar)
    return parser


def _add_outputs(parser: argparse.ArgumentParser, *, csv: str, json: str) -> None:
    """``--csv FILE`` and ``--json`` (print ``json`` as JSON)."""
    parser.add_argument("--csv", metavar="FILE", help=csv)
    parser.add_argument("--json", action="store_true", help=f"print {json} as JSON")


def run_review(args: argparse.Namespace) -> int:
    """Run one of ``COMMANDS``; return the exit status."""
    if args.command == "trends":
        return _trends(args)
    if args.command == "compare":
        return _compare(args)
    if args.command == "similar":
        return _similar(args)
    return _reading_list(args)


def _trends(args: argparse.Namespace) -> int:
    from pipeline.review.trends import TrendRule, format_table, theme_trends

    topic_map = load_map(args.map)
    rule = TrendRule(window=args.window, min_year_papers=args.min_year_papers,
                     min_papers=args.min_papers, min_slope=args.min_slope)
    report = theme_trends(topic_map.documents, topic_map.clusters, level=args.level, rule=rule,
                          years=(args.year_from, args.year_until))
    if args.csv:
        report.long().to_csv(args.csv, index=False)
    if args.json:
        print(json.dumps({"window_years": report.window_years, "rule": vars(rule),
                          "undated": report.undated,
                          "table": json.loads(report.table.to_json(orient="records"))}, indent=2))
        return 0
    years = report.counts.index
    print(f"Map {topic_map.path}: {int(report.counts.values.sum())} dated papers, "
          f"{years.min()}-{years.max()}, {report.undated} undated")
    print(format_table(report))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from pipeline.review.compare import compare_maps, format_comparison

    result = compare_maps(load_map(args.old), load_map(args.new), level=args.level,
                          threshold=args.threshold)
    if args.csv:
        result.moved.to_csv(args.csv, index=False)
    if args.json:
        print(json.dumps({"summary": result.summary,
                          "transitions": json.loads(result.transitions.to_json(orient="records")),
                          "moved": json.loads(result.moved.head(args.moved).to_json(
                              orient="records"))}, indent=2))
        return 0
    print(format_comparison(result))
    if len(result.moved) and args.moved > 0:
        print(f"\nPapers that moved ({len(result.moved)}"
              f"{', first ' + str(args.moved) if len(result.moved) > args.moved else ''}):")
        for row in result.moved.head(args.moved).itertuples():
            print(f"  {row.id}: {row.old_label} -> {row.new_label} ({row.kind}) {row.title[:70]}")
    return 0


def _similar(args: argparse.Namespace) -> int:
    from pipeline.review.readinglist import ReadingList
    from pipeline.review.similar import similar_papers

    topic_map = load_map(args.map)
    listed = ReadingList(topic_map.path).ids()
    ids = list(args.ids) + (listed if args.reading_list else [])
    if not ids:
        raise PipelineError("give paper ids, or --reading-list to start from the map's list")
    known = set(topic_map.documents["id"].astype(str))
    unknown = [i for i in args.ids if i not in known]
    if unknown:
        raise PipelineError(f"not on this map: {', '.join(unknown[:5])}; ids are in the map's "
                            "'id' column (see the dashboard or documents.parquet)")
    result = similar_papers(topic_map, ids, k=args.k, method=args.method, exclude=listed)
    for row in result.itertuples():
        print(f"{row.rank:>3}. {row.score:.3f}  {row.id}  {row.title[:80]}  "
              f"[{row.cluster_label}]")
    return 0


def _reading_list(args: argparse.Namespace) -> int:
    from pipeline.review.readinglist import EXPORT_FORMATS, ReadingList, export_reading_list

    topic_map = load_map(args.map)
    reading = ReadingList(topic_map.path)
    if args.add:
        known = set(topic_map.documents["id"].astype(str))
        unknown = [i for i in args.add if i not in known]
        if unknown:
            raise PipelineError(f"not on this map: {', '.join(unknown[:5])}; nothing was added")
        reading.add(args.add)
    if args.remove:
        reading.remove(args.remove)
    ids = reading.ids()
    if args.export:
        suffix = Path(args.export).suffix.lower()
        fmt = next((name for name, (ext, _) in EXPORT_FORMATS.items() if ext == suffix), None)
        if fmt is None:
            raise PipelineError(f"{args.export}: export format is chosen by suffix: .bib, .ris "
                                "or .csv")
        Path(args.export).write_bytes(export_reading_list(topic_map, reading, fmt))
        print(f"Wrote {len(ids)} papers to {args.export}")
    titles = dict(zip(topic_map.documents["id"].astype(str), topic_map.documents["title"],
                      strict=True))
    print(f"Reading list of {topic_map.path} ({len(ids)} papers, kept in {reading.db_path}):")
    for paper_id in ids:
        print(f"  {paper_id}  {titles.get(paper_id, '(no longer on this map)')}")
    return 0
