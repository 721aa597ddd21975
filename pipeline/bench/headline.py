"""The README's headline against BERTopic, written from the same results as BENCHMARKS.md.

``python -m pipeline.bench`` (writing the repository's BENCHMARKS.md) replaces the block
between :data:`START` and :data:`END` in README.md with :func:`headline`, so the two
cannot disagree; a test checks the README's block against BENCHMARKS.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _x(spread: dict[str, float] | None) -> str:
    return f"{spread['median']:.1f}×" if spread else "–"


def _nodes(side: dict[str, Any]) -> str:
    low, high = side["nodes"]
    return str(low) if low == high else f"{low}–{high}"


def _matched(size: dict[str, Any]) -> str:
    """Our NMI / BERTopic's at each matched granularity, coarsest first."""
    parts = []
    for row in reversed(size.get("matched", [])):
        ours, theirs = row["ours"], row["bertopic"]
        if not ours or not theirs:
            continue
        where = (f"BERTopic's own {_nodes(theirs)} topics" if row["match"] == "bertopic"
                 else f"{_nodes(ours)} topics")
        parts.append(f"{ours['nmi']:.3f} / {theirs['nmi']:.3f} at {where}")
    return "; ".join(parts)


def headline(results: dict[str, Any]) -> str:
    """The README's block (Markdown) from a benchmark run's results."""
    lines = [START, "", f"**Against BERTopic** ([BENCHMARKS.md](BENCHMARKS.md), "
             f"{results['date']}: both sides on the same vectors of `{results['data']}`, each "
             "in a fresh process, in rounds side by side on a shared 2-core machine; BERTopic "
             "with its defaults and the 2-D map of its `visualize_documents`):", ""]
    for size in results.get("sizes", []):
        theirs = size.get("bertopic")
        if not theirs:
            continue
        ours = size["ours"]
        ratios = []
        if size.get("ratio"):
            emb = size["embedding"]
            ratios.append(f"**{_x(size['ratio'])}** faster with embedding (measured: "
                          f"{emb['ours_backend']} against torch float32)")
        ratios.append(f"**{_x(size['ratio_without_embedding'])}** without embedding "
                      f"({_x(size['ratio_without_name'])} without our naming step)")
        lines.append(
            f"- {size['n']:,} papers: {', '.join(ratios)}; peak memory "
            f"{ours['peak_mb']['median']:.0f} MiB against {theirs['peak_mb']['median']:.0f}. "
            f"NMI against the venue labels at matched granularity, ours / BERTopic's "
            f"(its topics reduced with its own `reduce_topics`): {_matched(size)}.")
    updates = [f"{u['ratio']['median']:.2f}× a full build at {u['n_map'] + u['n_new']:,} papers"
               for u in results.get("updates", [])]
    if updates:
        lines.append(f"- Adding {results['updates'][0]['n_new']} papers with `update` costs "
                     + ", ".join(updates) + ".")
    return "\n".join([*lines, "", END])


def write_readme(readme: Path, results: dict[str, Any]) -> bool:
    """Replace the block in ``readme``; False when it has none."""
    if not readme.is_file():
        return False
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return False
    block = headline(results)
    readme.write_text(text[:text.index(START)] + block + text[text.index(END) + len(END):],
                      encoding="utf-8")
    return True


def readme_block(readme: Path) -> str | None:
    """The block now in ``readme`` (None without one)."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return None
    return text[text.index(START):text.index(END) + len(END)]
