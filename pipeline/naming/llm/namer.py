"""The language-model namer (``NAMERS["llm"]``): names written by a model beside the
offline ones.

:class:`LlmNamer` asks an OpenAI-compatible Chat Completions endpoint
(``pipeline.naming.llm.client``) for a short name and a one-sentence description of
every node of the clusters table, or of the chosen levels, into ``llm_label`` and
``llm_description`` ("" where the model gave nothing usable). The offline ``label``
stays: it is the default and the fallback. ``python -m pipeline rename MAP --namer llm``
and ``build --llm-url`` run it (``pipeline.naming.registry.rename_path``).
Levels come from the table's ``layer`` column when it has one, else from the
level names (``cluster`` finest, ``layer_1`` ..., ``theme`` broadest).

**Bottom-up.** The finest layer is named first, from its papers, its key
phrases and its siblings' offline names; each broader node is then named with
its narrower topics' new names in the prompt, so a broad topic is named as a
summary of its parts rather than after its biggest part (the "too specific for
a big cluster" complaint), and the nodes with the most concrete evidence go
first. A node's parent and siblings appear under their offline names, which
are distinct and stable, so a node's prompt does not depend on the order of
the calls and a rerun builds the same prompts: every answer comes from the cache.

**Cost.** One call per node, plus at most one per node whose name repeats a
sibling's (asked again once, then the offline name is kept). A node with a
single narrower topic (each theme of a one-layer map holds one cluster) takes
that topic's name and description without a call. A dry pass over
the cache first counts the calls needed; ``max_calls`` refuses to start a run
that needs more, and a run never sends more than ``max_calls`` (re-asking stops
first). Answers are cached as they arrive, so an interrupted run resumes free.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from pipeline.embed.base import default_cache_dir
from pipeline.errors import ConfigError, PipelineError
from pipeline.mapdir.store import LLM_COLUMNS, level_order
from pipeline.naming.registry import NodeSet

from .client import AnswerCache, ChatClient, Endpoint, Messages, read_api_key
from .prompts import name_key, node_prompt, parse_answer, reask_prompt

log = logging.getLogger(__name__)

Ask = Callable[..., "str | None"]


@dataclass
class LlmSettings:
    """Where to ask, which model, which levels, and the limits."""

    url: str
    model: str
    api_key_env: str | None = None  # name of the environment variable holding the key
    levels: Sequence[str] | None = None  # level names or layer numbers; None: every level
    max_calls: int | None = None
    timeout: float = 120.0
    retries: int = 3
    backoff: float = 1.0
    cache_dir: Path | str | None = None  # answers go under <cache_dir>/llm
    use_cache: bool = True

    def client(self) -> ChatClient:
        """A client for the endpoint, with the key read from ``api_key_env``."""
        if not self.model.strip():
            raise PipelineError("--llm-model is empty; name the model the endpoint serves")
        return ChatClient(Endpoint.parse(self.url), self.model,
                          api_key=read_api_key(self.api_key_env), key_variable=self.api_key_env,
                          timeout=self.timeout, retries=self.retries, backoff=self.backoff)

    def cache(self) -> AnswerCache | None:
        """The answer cache (None with ``use_cache`` off)."""
        return AnswerCache(self.cache_dir or default_cache_dir()) if self.use_cache else None


@dataclass
class LlmReport:
    """What a run of the language-model namer did."""

    levels: list[str] = field(default_factory=list)
    nodes: int = 0
    needed: int = 0  # calls the dry pass found necessary
    calls: int = 0  # answers fetched from the endpoint
    cached: int = 0  # answers read from the cache
    requests: int = 0  # HTTP requests, retries of failed ones included
    reasked: int = 0  # names asked again because a sibling had them
    fallbacks: int = 0  # nodes left with their offline name
    skipped: int = 0  # asks not sent because of max_calls


class _Asker:
    """Answers from the cache, else from the client; None when planning or past the limit."""

    def __init__(self, model: str, cache: AnswerCache | None, client: ChatClient | None = None,
                 *, limit: int | None = None, needed: int = 0) -> None:
        self.model, self.cache, self.client = model, cache, client
        self.limit, self.needed = limit, needed
        self.cached = self.calls = self.first_calls = self.missing = self.skipped = 0

    def __call__(self, messages: Messages, *, reask: bool = False) -> str | None:
        if self.cache is not None:
            hit = self.cache.get(self.model, messages)
            if hit is not None:
                self.cached += 1
                return hit
        if self.client is None:
            self.missing += not reask
            return None
        reserve = max(0, self.needed - self.first_calls) if reask else 0
        if self.limit is not None and self.calls + reserve >= self.limit:
            self.skipped += 1
            return None
        answer = self.client.complete(messages)
        self.calls += 1
        self.first_calls += not reask
        if self.cache is not None:
            self.cache.put(self.model, messages, answer)
        return answer


# --------------------------------------------------------------------------- levels


def choose_levels(clusters: pd.DataFrame, wanted: Sequence[str] | None) -> list[str]:
    """The levels named by ``wanted`` (names or layer numbers, commas allowed), finest first."""
    order = level_order(clusters)
    if not wanted:
        return order
    chosen = set()
    for part in (p.strip() for item in wanted for p in str(item).split(",")):
        if part.isdigit() and int(part) < len(order):
            chosen.add(order[int(part)])
        elif part in order:
            chosen.add(part)
        elif part:
            have = ", ".join(f"{name} ({i})" for i, name in enumerate(order))
            raise PipelineError(f"--layer {part!r}: this map's layers are {have} (name or "
                                "number, finest 0)")
    return [level for level in order if level in chosen]


# --------------------------------------------------------------------------- naming


def name_nodes(clusters: pd.DataFrame, documents: pd.DataFrame, ask: Ask, *,
               levels: Sequence[str] | None = None, report: LlmReport | None = None,
               log_names: bool = True) -> pd.DataFrame:
    """A copy of ``clusters`` with ``llm_label``/``llm_description`` set for ``levels``.

    ``ask(messages, reask=False)`` returns the model's reply, or None for no
    answer (the node keeps its offline name). Levels are named finest first;
    a name that repeats a sibling's is asked again once, then dropped. With
    ``log_names`` each name is logged as it is settled.
    """
    table = clusters.reset_index(drop=True).copy()
    for column in LLM_COLUMNS:
        table[column] = table[column].fillna("").astype(str) if column in table else ""
    order = level_order(table)
    levels = [level for level in order if level in set(levels or order)]
    papers = _papers(documents, table[table["level"].isin(levels)]["representative_ids"])
    for position, level in enumerate(order):
        if level not in levels:
            continue
        finer = order[position - 1] if position > 0 else None
        broader = order[position + 1] if position + 1 < len(order) else None
        rows = table.index[table["level"] == level]
        rows = list(rows[table.loc[rows, "id"].to_numpy().argsort(kind="stable")])
        answers = {}
        for row in rows:
            messages = _prompt(table, row, papers, finer, broader)
            only = _only_child(table, row, finer, named=finer in levels)
            if only is not None:  # the same topic with its fringe: its child's name, no call
                answers[row] = (messages, table.at[only, "llm_label"],
                                table.at[only, "llm_description"])
                continue
            raw = ask(messages)
            answers[row] = (messages, *(parse_answer(raw) if raw is not None else ("", "")))
        for group in pd.Series(rows).groupby(table.loc[rows, "parent"].to_numpy()):
            _settle_siblings(table, list(group[1]), answers, ask, report, log_names)
        if report is not None:
            report.nodes += len(rows)
    return table


def _only_child(table: pd.DataFrame, row: int, finer: str | None, *,
                named: bool) -> int | None:
    """The row of the node's one narrower topic when it has exactly one, named in this run
    (``named``) or by a model before; else None."""
    if finer is None:
        return None
    inner = table.index[(table["level"] == finer) & (table["parent"] == table.at[row, "id"])]
    if len(inner) != 1 or not (named or table.at[inner[0], "llm_label"]):
        return None
    return int(inner[0])


def _settle_siblings(table: pd.DataFrame, rows: list[int], answers: dict, ask: Ask,
                     report: LlmReport | None, log_names: bool) -> None:
    """Store the siblings' names: a repeated one is asked again once, then dropped."""
    taken: dict[str, str] = {}
    for i, row in enumerate(rows):
        messages, name, description = answers[row]
        if name and name_key(name) in taken:
            later = [answers[r][1] for r in rows[i + 1:] if answers[r][1]]
            avoid = list(dict.fromkeys([*taken.values(), *later]))
            raw = ask(reask_prompt(messages, name, description, avoid), reask=True)
            if report is not None and raw is not None:
                report.reasked += 1
            name, new_description = parse_answer(raw) if raw is not None else ("", "")
            if name_key(name) in taken:
                name = ""
            description = new_description or description
        if name:
            taken[name_key(name)] = name
        elif report is not None:
            report.fallbacks += 1
        table.at[row, "llm_label"] = name
        table.at[row, "llm_description"] = description
        if log_names:
            log.info("    %s %s: %s", table.at[row, "level"], table.at[row, "id"],
                     repr(name) if name else f"(keeps {table.at[row, 'label']!r})")


def _prompt(table: pd.DataFrame, row: int, papers: dict[str, tuple[str, str]],
            finer: str | None, broader: str | None) -> Messages:
    """The prompt for one node: its terms and papers, parent, siblings and children."""
    node = table.loc[row]
    same = table[(table["level"] == node["level"]) & (table["parent"] == node["parent"])]
    siblings = same[same["id"] != node["id"]].sort_values("id")["label"].astype(str).tolist()
    parent = None
    if broader is not None and int(node["parent"]) >= 0:
        match = table[(table["level"] == broader) & (table["id"] == node["parent"])]
        parent = str(match["label"].iloc[0]) if len(match) else None
    children: list[tuple[str, int]] = []
    if finer is not None:
        inner = table[(table["level"] == finer) & (table["parent"] == node["id"])]
        children = [(str(r.llm_label or r.label), int(r.size))
                    for r in inner.sort_values("id").itertuples()]
    ids = [str(i) for i in _as_list(node["representative_ids"])]
    return node_prompt(terms=[str(t) for t in _as_list(node["terms"])], size=int(node["size"]),
                       papers=[papers[i] for i in ids if i in papers], parent=parent,
                       siblings=siblings, children=children)


def _as_list(value: object) -> list:
    """A list from an array cell (None or a missing value: empty)."""
    return [] if value is None or isinstance(value, (float, str)) else list(value)


def _papers(documents: pd.DataFrame, id_lists: pd.Series) -> dict[str, tuple[str, str]]:
    """``id -> (title, abstract)`` of the representative papers."""
    wanted = {str(i) for ids in id_lists for i in _as_list(ids)}
    ids = documents["id"].astype(str)
    rows = documents.loc[ids.isin(wanted), ["title", "abstract"]].fillna("").astype(str)
    return dict(zip(ids[rows.index], zip(rows["title"], rows["abstract"], strict=True),
                    strict=True))


# --------------------------------------------------------------------------- options


def add_llm_options(parser: argparse.ArgumentParser) -> None:
    """The options naming a model and bounding its calls (``rename --namer llm``, and
    ``build``: with ``--llm-url`` the built map is named at once)."""
    group = parser.add_argument_group("names from a language model (--namer llm)")
    group.add_argument("--llm-url", metavar="URL",
                       help="the API's base URL, e.g. http://localhost:11434/v1 (Ollama), "
                            "http://localhost:8080/v1 (llama.cpp server) or "
                            "https://api.openai.com/v1; /chat/completions is added")
    group.add_argument("--llm-model", metavar="MODEL",
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


def llm_settings(args: argparse.Namespace) -> LlmSettings | None:
    """Checked ``LlmSettings`` from the options of :func:`add_llm_options` (None when
    no ``--llm-url`` was given); a ``ConfigError`` names a bad value before any work."""
    from pipeline.errors import ConfigError
    from pipeline.naming.llm.namer import LlmSettings

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
    settings = LlmSettings(
        url=args.llm_url, model=args.llm_model, api_key_env=args.api_key_env,
        levels=args.layer, max_calls=args.max_calls, timeout=args.timeout,
        retries=args.retries, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    settings.client()  # the URL, the model name and the key variable, checked now
    return settings



# --------------------------------------------------------------------------- the namer


class LlmNamer:
    """Names and descriptions from a language model (``settings``: where, which model,
    which levels, the limits). ``report`` says what the last :meth:`name` did."""

    key: ClassVar[str] = "llm"
    title: ClassVar[str] = "Language model"
    column: ClassVar[str] = "llm_label"
    description_column: ClassVar[str | None] = "llm_description"

    def __init__(self, settings: LlmSettings, *, client: ChatClient | None = None) -> None:
        self.settings = settings
        self.client = client
        self.report = LlmReport()

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """The ``--llm-*`` options (``rename`` and ``build``)."""
        add_llm_options(parser)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LlmNamer:
        """The namer the options ask for, checked before any work."""
        settings = llm_settings(args)
        if settings is None:
            raise ConfigError("--namer llm needs --llm-url and --llm-model (the endpoint to ask "
                              "and the model name it knows)")
        return cls(settings)

    def describe(self) -> dict[str, Any]:
        host = self.client.endpoint.host if self.client else Endpoint.parse(self.settings.url).host
        return {"model": self.settings.model, "host": host}

    def name(self, nodes: NodeSet, *, levels: Sequence[str] | None = None) -> pd.DataFrame:
        """Names for the nodes of ``levels`` (default: the settings' levels, else all).

        Raises ``PipelineError`` before any request when the run needs more than
        ``settings.max_calls`` calls, and ``LLMError`` when the endpoint fails."""
        if nodes.clusters is None:
            raise PipelineError("a language model names the nodes of a built map "
                                "(it reads their offline names and papers)")
        settings, report = self.settings, LlmReport()
        self.report = report
        client = self.client = self.client or settings.client()
        cache = settings.cache()
        clusters, documents = nodes.clusters, nodes.documents
        report.levels = choose_levels(clusters, levels or settings.levels)
        planner = _Asker(settings.model, cache)
        name_nodes(clusters, documents, planner, levels=report.levels, log_names=False)
        report.needed = planner.missing
        count = int(clusters["level"].isin(report.levels).sum())
        if settings.max_calls is not None and report.needed > settings.max_calls:
            raise PipelineError(
                f"naming {count} nodes ({', '.join(report.levels)}) needs {report.needed} calls "
                f"to the model ({count - report.needed} answers are cached), but --max-calls is "
                f"{settings.max_calls}: nothing was sent and the map is unchanged. Raise "
                f"--max-calls to {report.needed} or name fewer layers with --layer")
        log.info("naming %d nodes (%s) with %s at %s: %d calls needed, %d answers cached", count,
                 ", ".join(report.levels), settings.model, client.endpoint.host, report.needed,
                 count - report.needed)
        asker = _Asker(settings.model, cache, client, limit=settings.max_calls,
                       needed=report.needed)
        requests_before = client.requests
        table = name_nodes(clusters, documents, asker, levels=report.levels, report=report)
        report.calls, report.cached, report.skipped = asker.calls, asker.cached, asker.skipped
        report.requests = client.requests - requests_before
        named = table[table["level"].isin(report.levels)]
        return named[["level", "id", *LLM_COLUMNS]].reset_index(drop=True)
