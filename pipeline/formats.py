"""Bibliographic input formats, registered with ``pipeline.ingest``'s readers.

Importing this module registers them; ``ingest.read_file`` does so on first use.
"""

from __future__ import annotations
