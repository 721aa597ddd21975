"""Field helpers the bibliographic readers share: names, DOIs and their column set."""

from __future__ import annotations

import re

#: Columns every bibliographic reader returns, in order.
BIB_COLUMNS = ["id", "title", "abstract", "authors", "year", "url",
               "doi", "venue", "keywords", "entry_type"]


def doi_url(doi: str) -> str:
    """``10.1/x`` -> ``https://doi.org/10.1/x``; a URL is kept; blank stays blank."""
    doi = doi.strip()
    if not doi:
        return ""
    if doi.lower().startswith(("http://", "https://")):
        return doi
    return f"https://doi.org/{doi}"


def bare_doi(doi: str) -> str:
    """A DOI without its ``https://doi.org/`` prefix."""
    return re.sub(r"^https?://(dx\.)?doi\.org/", "", doi.strip(), flags=re.IGNORECASE)


def display_name(name: str) -> str:
    """``"Müller, Jörg"`` -> ``"Jörg Müller"``; names without a comma are kept as they are."""
    name = " ".join(name.split())
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 2 and parts[0] and parts[1]:
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3 and parts[0] and parts[2]:  # "von Last, Jr, First"
        return f"{parts[2]} {parts[0]} {parts[1]}".strip()
    return name
