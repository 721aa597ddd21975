"""The quality benchmark's report: its section of BENCHMARKS.md, its key in BENCHMARKS.json,
and the issue's bars checked against the results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .measure import fmt as _f

START, END = "<!-- quality:start -->", "<!-- quality:end -->"
NAMES = [("ours", "ours"), ("bertopic", "BERTopic"), ("bertopic_sw", "BERTopic + stop words")]


def bertopic_installed() -> bool:
    try:
        import bertopic  # noqa: F401
    except ImportError:
        return False
    return True


def _layer(results: dict, which: str) -> dict | None:
    layers = results["layers"]
    return (layers[0] if which == "finest" else layers[-1]) if layers else None


def bars(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue #12's measurable bars, each with its value and whether it holds."""
    by = {r["corpus"]: r for r in results}
    out: list[dict[str, Any]] = []

    def add(corpus: str, text: str, value, ok: bool) -> None:
        out.append({"corpus": corpus, "bar": text, "value": value, "ok": bool(ok)})

    if "sample" in by:
        fine, top = _layer(by["sample"], "finest"), _layer(by["sample"], "broadest")
        add("sample", "finest layer >= 6 clusters", fine["nodes"], fine["nodes"] >= 6)
        add("sample", "no finest cluster over 30% of papers", round(fine["largest"], 3),
            fine["largest"] <= 0.30)
        add("sample", "broadest layer NMI vs field >= 0.45", round(top.get("nmi", 0), 3),
            top.get("nmi", 0) >= 0.45)
    if "trending" in by:
        fine = _layer(by["trending"], "finest")
        add("trending", ">= 4 clusters", fine["nodes"], fine["nodes"] >= 4)
        add("trending", "no cluster over 40% of papers", round(fine["largest"], 3),
            fine["largest"] <= 0.40)
        add("trending", "every name's specific term used by >= 20% of its cluster",
            round(fine["ours"]["support_spec_min"], 3), fine["ours"]["support_spec_min"] >= 0.2)
    if "cs_balanced" in by:
        fine, top = _layer(by["cs_balanced"], "finest"), _layer(by["cs_balanced"], "broadest")
        names = fine["ours"]
        add("cs_balanced", "no finest cluster over 10% of papers", round(fine["largest"], 3),
            fine["largest"] <= 0.10)
        add("cs_balanced", "finest names: specific-term support median >= 0.5",
            round(names["support_spec_median"], 3), names["support_spec_median"] >= 0.5)
        add("cs_balanced", "finest names: none under 0.15", round(names["support_spec_min"], 3),
            names["support_spec_min"] >= 0.15)
        add("cs_balanced", "finest names: any-word support median >= 0.7",
            round(names["support_any_median"], 3), names["support_any_median"] >= 0.7)
        add("cs_balanced", "finest names: name-to-cluster retrieval >= 0.9",
            round(names.get("retrieval", 0), 3), names.get("retrieval", 0) >= 0.9)
        add("cs_balanced", "broadest layer NMI >= 0.50", round(top.get("nmi", 0), 3),
            top.get("nmi", 0) >= 0.50)
        add("cs_balanced", "finest homogeneity >= 0.65 with <= 30% noise",
            f"{fine.get('homogeneity', 0):.3f} @ {fine['noise']:.2f}",
            fine.get("homogeneity", 0) >= 0.65 and fine["noise"] <= 0.30)
    for corpus in ("medical", "cs_all_fast"):
        if corpus in by:
            top = _layer(by[corpus], "broadest")
            add(corpus, "broadest layer NMI >= 0.40 (the hidden corpora's bar)",
                round(top.get("nmi", 0), 3), top.get("nmi", 0) >= 0.40)
    return out


def render(results: Sequence[dict[str, Any]], *, command: str, date: str) -> str:
    """The "Topic quality" section of BENCHMARKS.md."""
    out = [START, "## Topic quality, per layer", "",
           f"`{command.strip()}` ({date}). Layer 0 is the finest. Clusters against the "
           "corpus's label column: NMI/ARI with noise as a class of its own; homogeneity of "
           "the clustered papers only; largest = the biggest node's share of all papers. "
           "Names: *specific* = share of a node's papers using the name's most specific "
           "term (its rarest content word in the corpus; for joined terms, the weakest "
           "term's), *any* = using any content word of it, *contrast* = 1 - the share of "
           "its siblings' papers using that term, *retrieval* = the name, embedded with the "
           "map's model, is nearest its own node's centroid (medians over the layer's nodes; "
           "min = the lowest specific support). BERTopic: its default representation of "
           "the same nodes on the same vectors (manual mode; name = its top four words).", ""]
    for result in results:
        out += [f"### {result['corpus']} ({result['papers']:,} papers, model "
                f"{result['model']}, label column {result['label_column'] or '–'}, layers "
                f"from {result['layers_from']}; label step {_f(result['label_seconds'], 1)} s)",
                "", "| layer | nodes | noise | largest | NMI | ARI | homog. | names | specific "
                "med | specific min | < 0.15 | any med | contrast | retrieval | dup. | weak |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for layer in result["layers"]:
            head = (f"| {layer['layer']} ({layer['level']}) | {layer['nodes']} | "
                    f"{_f(layer['noise'])} | {_f(layer['largest'])} | {_f(layer.get('nmi'), 3)} | "
                    f"{_f(layer.get('ari'), 3)} | {_f(layer.get('homogeneity'), 3)} |")
            for key, title in NAMES:
                names = layer.get(key)
                if not names:
                    continue
                out.append(f"{head} {title} | {_f(names['support_spec_median'])} | "
                           f"{_f(names['support_spec_min'])} | {names['support_spec_under_015']}"
                           f" | {_f(names['support_any_median'])} | {_f(names['contrast_median'])}"
                           f" | {_f(names.get('retrieval'))} | {names['layer_duplicates']} | "
                           f"{names.get('weak', '–')} |")
                head = "| | | | | | | |"
        out.append("")
    checked = bars(results)
    if checked:
        out += ["### Bars (issue #12)", "", "| corpus | bar | value | holds |", "|---|---|---|---|"]
        out += [f"| {b['corpus']} | {b['bar']} | {b['value']} | {'yes' if b['ok'] else '**no**'} |"
                for b in checked]
        out.append("")
    out.append(END)
    return "\n".join(out)


def write_quality(results: Sequence[dict[str, Any]], out: Path, *, command: str) -> str:
    """Put the section into ``out`` (replacing an earlier one) and the results into its
    .json twin under ``quality``; returns the section."""
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = render(results, command=command, date=date)
    text = out.read_text(encoding="utf-8") if out.is_file() else "# Benchmarks\n"
    if START in text and END in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    twin = out.with_suffix(".json")
    data = json.loads(twin.read_text()) if twin.is_file() else {}
    data["quality"] = {"date": date, "command": command, "results": list(results),
                       "bars": bars(results)}
    twin.write_text(json.dumps(data, indent=1, default=str))
    return section


def previous_section(out: Path) -> tuple[str, dict | None] | None:
    """The quality section of the report at ``out`` and its results (its .json twin's
    ``quality``), to keep when a run does not measure quality again; None without one."""
    text = out.read_text(encoding="utf-8") if out.is_file() else ""
    if START not in text or END not in text:
        return None
    twin = out.with_suffix(".json")
    try:
        data = json.loads(twin.read_text(encoding="utf-8")).get("quality")
    except (OSError, ValueError):
        data = None
    return text[text.index(START):text.index(END) + len(END)], data
