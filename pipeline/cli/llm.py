"""Command line for names written by a language model (pipeline/naming/llm/namer.py)::

    python -m pipeline relabel MAP --llm-url URL --llm-model MODEL [--api-key-env VAR]
                               [--layer LEVEL ...] [--max-calls N] [--timeout S] [--retries N]
                               [--cache-dir DIR | --no-cache] [-q]
    python -m pipeline build ... --llm-url URL --llm-model MODEL [the same options]

``__main__`` registers it with ``add_llm_parser`` and dispatches ``COMMANDS`` to
``run_llm``; errors are ``PipelineError``s, printed by ``__main__`` as one
``error:`` line (exit 2), and the map is then left as it was.
"""

from __future__ import annotations

import argparse

COMMANDS = ("relabel",)


def add_llm_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """The options naming a model and bounding its calls (``relabel``, and ``build``,
    where they are optional: with ``--llm-url`` the built map is named at once)."""
    group = parser.add_argument_group(
        "names from a language model" + ("" if required else " (optional; see relabel)"))
    group.add_argument("--llm-url", required=required, metavar="URL",
                       help="the API's base URL, e.g. http://localhost:11434/v1 (Ollama), "
                            "http://localhost:8080/v1 (llama.cpp server) or "
                            "https://api.openai.com/v1; /chat/completions is added")
    group.add_argument("--llm-model", required=required, metavar="MODEL",
                       help="the model name the endpoint knows, e.g. llama3.1:8b")
    group.add_argument("--api-key-env", metavar="VAR",
                       help="environment variable holding the API key (sent as a Bearer "
                            "token; never written to the map, the cache or the log)")
    group.add_argument("--layer", action="append", metavar="LEVEL",
                       help="name only this layer: a level (cluster, theme, layer_1 ...) or a "
                            "layer number (0 finest); repeat or comma-separate (default: all)")
    group.add_argument("--max-calls", type=int, metavar="N",
                       help="refuse to start when more than N calls would be needed, and "
                            "never send more (--max-calls 0 tells how many are needed)")
    group.add_argument("--timeout", type=float, default=120.0, metavar="S",
                       help="seconds to wait for one answer (default 120: a local model "
                            "on a CPU, loading on the first call, can be slow)")
    group.add_argument("--retries", type=int, default=3, metavar="N",
                       help="retries with exponential backoff after a timeout, connection "
                            "error, 429 or 5xx (default 3)")


def llm_settings(args: argparse.Namespace):
    """Checked ``RelabelSettings`` from the options of :func:`add_llm_options` (None when
    no ``--llm-url`` was given); a ``ConfigError`` names a bad value before any work."""
    from pipeline.errors import ConfigError
    from pipeline.naming.llm.namer import RelabelSettings

    if not args.llm_url:
        if args.llm_model:
            raise ConfigError("--llm-model needs --llm-url (the endpoint to ask)")
        return None
    if not args.llm_model:
        raise ConfigError("--llm-url needs --llm-model (the model name the endpoint knows)")
    for option, value in (("--max-calls", args.max_calls), ("--retries", args.retries)):
        if value is not None and value < 0:
            raise ConfigError(f"{option} must be 0 or more (got {value})")
    if not args.timeout > 0:
        raise ConfigError(f"--timeout must be more than 0 seconds (got {args.timeout})")
    settings = RelabelSettings(
        url=args.llm_url, model=args.llm_model, api_key_env=args.api_key_env,
        levels=args.layer, max_calls=args.max_calls, timeout=args.timeout,
        retries=args.retries, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    settings.client()  # the URL, the model name and the key variable, checked now
    return settings


def add_llm_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``relabel`` sub-command."""
    relabel = commands.add_parser(
        "relabel", help="name the map's topics with a language model (beside the offline names)",
        description="Ask an OpenAI-compatible Chat Completions endpoint (Ollama, llama.cpp "
                    "server, vLLM, LM Studio, a hosted API) for a short name and a one-sentence "
                    "description of every topic, finest layer first; store them as llm_label "
                    "and llm_description beside the offline label, which stays the default and "
                    "the fallback. One call per topic (one more for a name a sibling already "
                    "has); answers are cached, so a rerun costs nothing. The map is written "
                    "atomically, and left as it was on any error.")
    relabel.add_argument("map", metavar="MAP_DIR", help="map directory to name")
    add_llm_options(relabel, required=True)
    relabel.add_argument("--cache-dir", metavar="DIR",
                         help="where answers are cached, under DIR/llm (default: "
                              "$TOPICMAP_CACHE or ~/.cache/topicmap)")
    relabel.add_argument("--no-cache", action="store_true",
                         help="neither read nor write cached answers")
    relabel.add_argument("-q", "--quiet", action="store_true", help="log only warnings")


def run_llm(args: argparse.Namespace) -> int:
    """Run ``relabel``; return the exit status."""
    from pipeline.naming.llm.namer import relabel_path

    settings = llm_settings(args)
    topic_map, report, written = relabel_path(args.map, settings)
    show_names(topic_map, report, written, model=args.llm_model)
    return 0


def show_names(topic_map, report, written: bool, *, model: str) -> None:
    """Print what a relabelling did and the names it wrote."""
    host = topic_map.manifest.get("llm", {}).get("host", "")
    print(f"Named {report.nodes} topics of {topic_map.path} ({', '.join(report.levels)}) with "
          f"{model} at {host}: {report.calls} calls ({report.requests} requests), "
          f"{report.cached} answers from the cache, {report.reasked} asked again for a name a "
          f"sibling had, {report.fallbacks} kept their offline name"
          + (f", {report.skipped} not asked (--max-calls)" if report.skipped else "") + ".")
    if not written:
        print("The map already held these names; it was not rewritten.")
    clusters = topic_map.clusters
    for level in report.levels:
        for row in clusters[clusters["level"] == level].sort_values("id").itertuples():
            name = row.llm_label or "(none)"
            print(f"  {level} {row.id:>3}: {name}  [offline: {row.label}]")
