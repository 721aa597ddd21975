"""``python -m pipeline rename``: name a saved map's nodes with any naming method::

    python -m pipeline rename MAP [--namer llm] --llm-url URL --llm-model MODEL
                              [--api-key-env VAR] [--layer LEVEL ...] [--max-calls N]
                              [--timeout S] [--retries N] [--cache-dir DIR | --no-cache] [-q]
    python -m pipeline rename MAP --namer offline
    python -m pipeline build ... --llm-url URL --llm-model MODEL [the same options]

``--namer`` takes any key of ``pipeline.naming.registry.NAMERS``; each namer adds its
own options. ``relabel`` is the command's old name, kept as an alias. Errors are
``PipelineError``s, printed by ``pipeline.cli.main`` as one ``error:`` line (exit 2),
and the map is then left as it was.
"""

from __future__ import annotations

import argparse

from pipeline.naming.registry import (
    Namer,
    add_namer_arguments,
    namer_from_args,
    names_record,
    rename_path,
)

COMMANDS = ("rename", "relabel")


def add_rename_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``rename`` sub-command (alias ``relabel``)."""
    rename = commands.add_parser(
        "rename", aliases=["relabel"],
        help="name the map's topics with a naming method (a language model: --namer llm)",
        description="Name every topic of a saved map with a naming method and store the "
                    "names in that method's columns, beside the offline label, which stays the "
                    "default and the fallback. --namer llm asks an OpenAI-compatible Chat "
                    "Completions endpoint (Ollama, llama.cpp server, vLLM, LM Studio, a hosted "
                    "API) for a short name and a one-sentence description of every topic, "
                    "finest layer first: one call per topic (one more for a name a sibling "
                    "already has); answers are cached, so a rerun costs nothing. --namer "
                    "offline names the map again with this version's offline namer. The map "
                    "is written atomically, and left as it was on any error.")
    rename.add_argument("map", metavar="MAP_DIR", help="map directory to name")
    add_namer_arguments(rename)
    rename.add_argument("--cache-dir", metavar="DIR",
                        help="where answers are cached, under DIR/llm (default: "
                             "$TOPICMAP_CACHE or ~/.cache/topicmap)")
    rename.add_argument("--no-cache", action="store_true",
                        help="neither read nor write cached answers")
    rename.add_argument("-q", "--quiet", action="store_true", help="log only warnings")


def run_rename(args: argparse.Namespace) -> int:
    """Run ``rename``; return the exit status."""
    namer = namer_from_args(args)
    topic_map, written = rename_path(args.map, namer)
    show_names(topic_map, namer, written)
    return 0


def show_names(topic_map, namer: Namer, written: bool) -> None:
    """Print what a naming did and the names it wrote."""
    record = names_record(topic_map.manifest, namer.column)
    levels = record.get("levels") or sorted(set(topic_map.clusters["level"]))
    report = getattr(namer, "report", None)
    line = f"Named the topics of {topic_map.path} ({', '.join(levels)}) with {namer.key}"
    if record.get("model"):
        line += f" ({record['model']} at {record.get('host', '')})"
    if report is not None:
        line += (f": {report.calls} calls ({report.requests} requests), {report.cached} answers "
                 f"from the cache, {report.reasked} asked again for a name a sibling had, "
                 f"{report.fallbacks} kept their offline name"
                 + (f", {report.skipped} not asked (--max-calls)" if report.skipped else ""))
    print(line + ".")
    if not written:
        print("The map already held these names; it was not rewritten.")
    clusters = topic_map.clusters
    for level in levels:
        for row in clusters[clusters["level"] == level].sort_values("id").to_dict("records"):
            name = row.get(namer.column) or "(none)"
            extra = f"  [offline: {row['label']}]" if namer.column != "label" else ""
            print(f"  {level} {row['id']:>3}: {name}{extra}")
