"""Former home of the bibliographic readers, now in ``pipeline.readers``.

Only re-exports, for code that still imports them from here (tests/test_readinglist.py);
import from ``pipeline.readers.bibtex`` / ``pipeline.readers.ris`` instead.
"""

from __future__ import annotations

from .readers.bibtex import read_bibtex
from .readers.ris import read_ris

__all__ = ["read_bibtex", "read_ris"]
