"""Command line: ``python -m pipeline build|info ...``.

Every user-fixable problem ends with one ``error:`` line and exit status 2;
Ctrl-C ends with status 130 and leaves any existing map untouched.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from pipeline.cli import rename as cli_rename
from pipeline.cli import review as cli_review
from pipeline.config import DEFAULT_MODEL, BuildConfig
from pipeline.embed.registry import BACKENDS, DEFAULT_BACKEND
from pipeline.errors import PipelineError
from pipeline.mapdir.manifest import TITLE, TITLE_CHARS, map_title, readable_title
from pipeline.mapdir.store import load_map, rewrite_map
from pipeline.naming.llm.namer import LlmNamer, llm_settings

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Build and inspect topic maps of research abstracts.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build", help="build a map from files of papers",
        description="Embed, reduce, cluster and label the papers in PATH(s); save the map to "
                    "--out. Inputs: .csv .tsv .json .jsonl .parquet (each may be .gz), the "
                    "saved text of a trending-papers page (.txt), and bibliographic formats.",
    )
    build.add_argument("paths", nargs="+", metavar="PATH", help="input file(s) of papers")
    build.add_argument("--out", required=True, metavar="DIR",
                       help="map directory to write (replaced atomically if it exists)")
    build.add_argument("--title", metavar="TEXT",
                       help="the map's title, which the dashboard shows (default: made from "
                            "the first input's file name: cs_venues.csv gives 'Cs venues')")
    build.add_argument("--model", default=DEFAULT_MODEL,
                       help="sentence-transformers model name or local path "
                            f"(default: the bundled {DEFAULT_MODEL})")
    build.add_argument("--embeddings", metavar="FILE.npy",
                       help="precomputed vectors, one row per input row, instead of embedding "
                            "(--model then names the model that made them, used for search)")
    build.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    build.add_argument("--min-cluster-size", type=int, metavar="K",
                       help="smallest cluster of the finest layer (default: 0.35 x the square "
                            "root of the number of papers, at least 3)")
    build.add_argument("--min-samples", type=int, metavar="K",
                       help="HDBSCAN min_samples (default 5): higher marks more papers as noise")
    build.add_argument("--cluster-selection", choices=["leaf", "eom"], default="leaf",
                       help="HDBSCAN selection of the finest layer: leaf (default: fine clusters "
                            "that the broader layers group) or eom (fewer, larger; on some "
                            "corpora two or three giant clusters)")
    build.add_argument("--reassign-noise", action="store_true",
                       help="put every paper left as noise into its nearest cluster (is_noise "
                            "keeps HDBSCAN's verdict; by default only noise whose neighbours are "
                            "mostly one cluster joins it)")
    build.add_argument("--n-neighbors", type=int,
                       help="UMAP neighbours (default: 15, or 30 from 2,000 papers on)")
    build.add_argument("--n-components", type=int, default=5,
                       help="UMAP dimensions of the clustering space (default 5)")
    build.add_argument("--n-themes", type=int, metavar="N",
                       help="topics of the broadest layer (themes; default: automatic, 4 to 10 "
                            "where the topic tree has its largest gap); the layers between "
                            "have about a quarter of the nodes of the one below")
    build.add_argument("--batch-size", type=int, default=32, help="embedding batch size")
    build.add_argument("--backend", choices=list(BACKENDS), default=DEFAULT_BACKEND,
                       help="how the model runs (see BENCHMARKS.md): " + "; ".join(
                           f"{name}: {backend.description}" for name, backend in BACKENDS.items()))
    build.add_argument("--no-cache", action="store_true", help="do not read or write the "
                       "embedding cache")
    build.add_argument("--cache-dir", metavar="DIR",
                       help="embedding cache (default: $TOPICMAP_CACHE or ~/.cache/topicmap)")
    for role in ("title", "abstract", "id", "year", "authors", "url"):
        build.add_argument(f"--{role}-column", metavar="NAME",
                           help=f"input column holding the {role} (default: detected)")
    build.add_argument("--arxiv-category", action="append", default=[], metavar="CAT",
                       help="arXiv inputs only: keep papers in this category (cs.CL) or archive "
                            "(cs); repeat or comma-separate for several")
    for bound, when in (("from", "on or after DATE (2020, 2020-05 or 2020-05-17)"),
                        ("until", "on or before DATE (inclusive: 2020 keeps all of 2020)")):
        build.add_argument(f"--arxiv-{bound}", metavar="DATE",
                           help=f"arXiv inputs only: keep papers first submitted {when}")
    build.add_argument("-q", "--quiet", action="store_true", help="log only warnings")
    add_engine_arguments(build)
    LlmNamer.add_arguments(build)

    add_update_parser(commands)

    info = commands.add_parser("info", help="describe a saved map",
                               description="Counts, clusters with labels, config and timings.")
    info.add_argument("map", metavar="MAP_DIR")
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    cli_review.add_review_parsers(commands)
    cli_rename.add_rename_parser(commands)
    return parser


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    config = BuildConfig(seed=args.seed)
    config.embed.model = args.model
    config.embed.embeddings_path = args.embeddings
    config.embed.batch_size = args.batch_size
    config.embed.backend = args.backend
    config.embed.use_cache = not args.no_cache
    config.cluster.min_cluster_size = args.min_cluster_size
    config.cluster.min_samples = args.min_samples
    config.cluster.selection_method = args.cluster_selection
    config.cluster.reassign_noise = args.reassign_noise
    config.reduce.n_neighbors = args.n_neighbors
    config.reduce.n_components = args.n_components
    config.label.n_themes = args.n_themes
    for role in ("title", "abstract", "id", "year", "authors", "url"):
        setattr(config.ingest, f"{role}_column", getattr(args, f"{role}_column"))
    config.ingest.arxiv_categories = [c.strip() for value in args.arxiv_category
                                      for c in value.split(",") if c.strip()]
    config.ingest.arxiv_from = args.arxiv_from
    config.ingest.arxiv_until = args.arxiv_until
    return config.validate()


def run_build(args: argparse.Namespace) -> int:
    from pipeline.engines.recipe import build

    config = config_from_args(args)
    llm = llm_settings(args)  # checked before the build, used after it
    title = " ".join(str(args.title or "").split())[:TITLE_CHARS] or readable_title(args.paths)
    if getattr(args, "engine", "local") == "ray":
        from pipeline.engines.ray import build_ray

        topic_map = build_ray(args.paths, args.out, config, cache_dir=args.cache_dir,
                              address=args.ray_address, workers=args.ray_workers,
                              sample_size=args.ray_sample)
    else:
        topic_map = build(args.paths, args.out, config, cache_dir=args.cache_dir,
                          show_progress=not args.quiet and sys.stderr.isatty())
    topic_map = record_title(topic_map.path, title)
    print(f"Map {title!r} written to {topic_map.path}: "
          f"{describe_counts(topic_map.manifest['counts'])}.")
    if llm is not None:
        from pipeline.naming.llm.client import Endpoint
        from pipeline.naming.registry import rename_path

        namer = LlmNamer(llm)
        try:
            named, written = rename_path(topic_map.path, namer)
        except PipelineError as exc:
            key = f" --api-key-env {llm.api_key_env}" if llm.api_key_env else ""
            print(f"error: the map is saved with its offline names, but naming it with "
                  f"{llm.model} failed: {exc}. Name it later with `python -m pipeline rename "
                  f"{topic_map.path} --llm-url {Endpoint.parse(llm.url).display} "
                  f"--llm-model {llm.model}{key}`", file=sys.stderr)
            return EXIT_USAGE
        cli_rename.show_names(named, namer, written)
    print(f"Look at it: streamlit run dashboard.py -- --map {topic_map.path}")
    return 0


def record_title(path, title: str):
    """The map at ``path`` with ``title`` in its manifest (written back atomically)."""
    topic_map = load_map(path)
    topic_map.manifest[TITLE] = title
    rewrite_map(topic_map, path)
    return load_map(path)


def describe_counts(counts: dict) -> str:
    """``"600 papers, layers of 19 / 7 topics (finest first), 90 in no cluster"``."""
    layers = " / ".join(str(n) for n in counts.get("layers", []))
    return (f"{counts['kept']} papers, layers of {layers} topics (finest first), "
            f"{counts.get('unclustered', counts['noise'])} in no finest cluster")


def run_info(args: argparse.Namespace) -> int:
    topic_map = load_map(args.map)
    manifest = topic_map.manifest
    if args.json:
        print(json.dumps(manifest, indent=2))
        return 0
    counts = manifest.get("counts", {})
    print(f"Map {map_title(manifest, topic_map.path)!r} at {topic_map.path}")
    print(f"  created {manifest.get('created')}, schema {manifest.get('schema_version')}, "
          f"model {manifest.get('model', {}).get('name')} "
          f"({manifest.get('model', {}).get('dimension')}-d)")
    print("  papers: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for item in manifest.get("inputs", []):
        print(f"  input {item['path']} ({item['rows']} rows, sha256 {item['sha256'][:12]})")
    print("  timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in manifest.get("timings", {}).items()))
    levels = topic_map.levels
    print(f"  layers (broadest first): {', '.join(reversed(levels))}")

    def show(level: str, parent: int | None, depth: int) -> None:
        rows = topic_map.level(level)
        if parent is not None:
            rows = rows[rows["parent"] == parent]
        finer = levels[levels.index(level) - 1] if level != levels[0] else None
        for row in rows.sort_values(["size", "id"], ascending=[False, True]).itertuples():
            flags = "".join([", fragile" if row.fragile else "",
                             ", weak name" if row.weak_name else ""])
            terms = f" - {', '.join(list(row.terms)[:5])}" if finer is None else ""
            print(f"{'  ' * depth}{level} {row.id}: {row.label} ({row.size} papers, stability "
                  f"{row.stability:.2f}{flags}){terms}")
            if finer is not None:
                show(finer, int(row.id), depth + 1)

    print()
    show(levels[-1], None, 1)
    return 0


def add_engine_arguments(build: argparse.ArgumentParser) -> None:
    """``--engine ray`` and its options (pipeline/engines/ray.py; docs/scale.md)."""
    build.add_argument("--engine", choices=["local", "ray"], default="local",
                       help="where the heavy steps run: this process (default) or Ray "
                            "(pip install -r requirements-scale.txt)")
    build.add_argument("--ray-address", metavar="ADDR",
                       help="with --engine ray: an existing Ray cluster (default: local Ray)")
    build.add_argument("--ray-workers", type=int, metavar="N",
                       help="with --engine ray: embedding actors / local CPUs (default: cores)")
    build.add_argument("--ray-sample", type=int, default=20000, metavar="N",
                       help="with --engine ray: papers UMAP and HDBSCAN are fitted on; the "
                            "rest are placed by their nearest sample papers (UMAP's transform "
                            "start; cluster by their vote). A corpus within N gives the local "
                            "engine's map (default 20000)")


def add_update_parser(commands) -> None:
    """The ``update`` command: add papers to a map without refitting."""
    update = commands.add_parser(
        "update", help="add papers to a map without refitting it",
        description="Embed only the new papers in FILE(s), place them on MAP_DIR's map and in "
                    "its clusters with the saved models, refresh the affected labels and write "
                    "the map atomically. --rebuild refits everything with the saved config.",
    )
    update.add_argument("map", metavar="MAP_DIR", help="map directory to update")
    update.add_argument("paths", nargs="*", metavar="FILE", help="file(s) of new papers")
    update.add_argument("--rebuild", action="store_true",
                        help="refit reduce, cluster, layers and labels over the map's papers "
                             "plus the new ones (the saved config; vectors from the map)")
    update.add_argument("--embeddings", metavar="FILE.npy",
                        help="precomputed vectors of the new papers, one row per input row")
    update.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    update.add_argument("--cache-dir", metavar="DIR",
                        help="embedding cache (default: $TOPICMAP_CACHE or ~/.cache/topicmap)")
    update.add_argument("-q", "--quiet", action="store_true", help="log only warnings")


def run_update(args: argparse.Namespace) -> int:
    from pipeline.engines.update import rebuild_map, update_map

    options = dict(embeddings_path=args.embeddings, cache_dir=args.cache_dir,
                   use_cache=not args.no_cache,
                   show_progress=not args.quiet and sys.stderr.isatty())
    if args.rebuild:
        topic_map = rebuild_map(args.map, args.paths, **options)
        print(f"Map rebuilt at {topic_map.path}: "
              f"{describe_counts(topic_map.manifest['counts'])}.")
        return 0
    if not args.paths:
        raise PipelineError("update needs FILE(s) of new papers (or --rebuild to refit the map)")
    result = update_map(args.map, args.paths, **options)
    renamed = ", ".join(f"{len(nodes)} at {level}" for level, nodes
                           in result.renamed.items())
    print(f"Added {result.added} papers to {result.topic_map.path} in {result.seconds:.1f}s "
          f"({result.skipped_duplicates} already in the map, {result.new_noise} landed as "
          f"noise, in no cluster); renamed {renamed or 'none'}.")
    for reason in result.advice:
        print(f"advice: {reason}")
    if result.added and result.advice:
        print(f"advice: a full rebuild is advisable: python -m pipeline update {args.map} "
              "--rebuild")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        if args.command == "build":
            return run_build(args)
        if args.command == "update":
            return run_update(args)
        if args.command in cli_rename.COMMANDS:
            return cli_rename.run_rename(args)
        if args.command in cli_review.COMMANDS:
            return cli_review.run_review(args)
        return run_info(args)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: nothing was written; any existing map is unchanged", file=sys.stderr)
        return 130

