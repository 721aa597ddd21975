"""Regenerate the shipped field vocabulary from its source files.

    python -m pipeline.naming.vocabulary.regenerate SOURCES_DIR [--no-vectors]

``SOURCES_DIR`` holds ``openalex_topics_2024.xlsx`` (OpenAlex's topic table as published
in angelosalatino/kos-rf, ``OpenAlex Topics/OpenAlex_topic_mapping_table.xlsx``) and
``arxiv_taxonomy_definitions.py.txt`` (arXiv/arxiv-base, ``arxiv/taxonomy/definitions.py``);
README.md in this folder says which versions. Writes ``fields.json.gz`` and, unless
``--no-vectors``, the default model's vectors of the names (``fields.all-MiniLM-L6-v2.npy``,
float16, with a ``.json`` note of the names' digest). Bump :data:`RELEASE` when the
derivation changes: maps record the vocabulary's version.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from . import ENTRIES, VECTORS, load_vocabulary, write_vocabulary
from .sources import entries

OPENALEX = "openalex_topics_2024.xlsx"
ARXIV = "arxiv_taxonomy_definitions.py.txt"
#: The derivation's own version (trimming, parts, terms); part of the vocabulary's version.
RELEASE = 1
VERSION = f"openalex-2024@kos-rf-693f2a9+arxiv@arxiv-base-0f94fa0/v{RELEASE}"
SOURCES = [
    {"name": "OpenAlex topic taxonomy (2024 names)", "licence": "CC0 (OpenAlex data)",
     "from": "github.com/angelosalatino/kos-rf @693f2a9, "
             "OpenAlex Topics/OpenAlex_topic_mapping_table.xlsx (repository MIT)"},
    {"name": "arXiv category taxonomy", "licence": "MIT, Cornell University",
     "from": "github.com/arXiv/arxiv-base @0f94fa0, arxiv/taxonomy/definitions.py"},
]
LICENCE = ("OpenAlex data: CC0 1.0 (public domain dedication). arXiv taxonomy definitions: "
           "MIT License, Copyright (c) Cornell University. Derived file: names trimmed, "
           "sentence-cased and split; terms folded (pipeline/naming/vocabulary/sources.py).")


def regenerate(sources: Path, *, out: Path = ENTRIES, vectors: Path | None = VECTORS) -> dict:
    """Write the vocabulary (and the default model's vectors); return a summary."""
    found = entries(sources / OPENALEX, sources / ARXIV)
    write_vocabulary(found, out, version=VERSION, sources=SOURCES, licence=LICENCE)
    load_vocabulary.cache_clear()
    vocabulary = load_vocabulary(out)
    summary = {"entries": len(found), "kinds": dict(Counter(e["kind"] for e in found)),
               "version": VERSION, "bytes": out.stat().st_size}
    if vectors is not None:
        from pipeline.embed.base import default_model_path

        from ..minilm import NumpyBert

        model = NumpyBert(default_model_path())
        array = model.encode(list(vocabulary.names)).astype(np.float16)
        np.save(vectors, array, allow_pickle=False)
        vectors.with_suffix(".json").write_text(json.dumps(
            {"model": "all-MiniLM-L6-v2", "dtype": "float16", "digest": vocabulary.digest,
             "vocabulary": VERSION}, indent=1) + "\n", encoding="utf-8")
        summary["vector_bytes"] = vectors.stat().st_size
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.naming.vocabulary.regenerate",
                                     description="Rebuild the field vocabulary from its sources.")
    parser.add_argument("sources", type=Path, help=f"folder with {OPENALEX} and {ARXIV}")
    parser.add_argument("--no-vectors", action="store_true",
                        help="do not embed the names with the default model")
    args = parser.parse_args(argv)
    for name in (OPENALEX, ARXIV):
        if not (args.sources / name).is_file():
            print(f"{args.sources / name} not found", file=sys.stderr)
            return 2
    print(json.dumps(regenerate(args.sources, vectors=None if args.no_vectors else VECTORS)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
