"""The one escaping path: every piece of text that comes from the data goes
through :func:`escape` before it reaches the screen.

Text from a corpus is never trusted. Where it ends up decides what must be
neutralised, so :func:`escape` takes the destination:

``"html"``
    HTML text or attribute values, and Plotly text (hover labels, annotations,
    treemap labels): ``& < > " '`` become numeric character references, which
    browsers and Plotly's own tag parser both decode back to the characters,
    so ``<script>`` shows as ``<script>`` and never becomes a tag.
``"markdown"``
    Streamlit markdown (headers, captions, button labels, panels): on top of
    the HTML rules every ASCII punctuation character becomes a numeric
    reference, so Markdown links and images, ``$`` maths, ``:red[...]``
    directives, emphasis and lists cannot be formed from data.
``"plain"``
    Widgets and tables that render text as text (select options, dataframe
    cells): only the cleaning below.

Whatever the destination, control characters (NUL included), Unicode
bidirectional overrides and lone surrogates are removed first, and text can
be cut to ``limit`` characters (before escaping, so no reference is split).
"""

from __future__ import annotations

import math
import re
import string
from typing import Literal
from urllib.parse import urlsplit

Target = Literal["html", "markdown", "plain"]

# C0 controls except tab and newline, DEL, C1 controls, and the bidi override and
# isolate controls (which can make text display in an order other than stored).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_HTML = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&#34;",
         ord("'"): "&#39;"}
_MARKDOWN = {ord(c): f"&#{ord(c)};" for c in string.punctuation} | _HTML
_SPACES = re.compile(r"[ \t\r\f\v]+")
_PARAGRAPHS = re.compile(r"\n\s*\n")
ELLIPSIS = "…"


def clean(value: object, *, limit: int | None = None) -> str:
    """Text of ``value`` with control characters removed, cut to ``limit`` chars.

    ``None`` and NaN become the empty string; newlines are normalised to ``\\n``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if not text.isascii():
        # Lone surrogates cannot be encoded for the browser; replace them.
        text = text.encode("utf-8", "replace").decode("utf-8")
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + ELLIPSIS
    return text


def escape(value: object, to: Target = "html", *, limit: int | None = None) -> str:
    """``value`` made safe to show as text in destination ``to`` (see module doc)."""
    text = clean(value, limit=limit)
    if to == "plain":
        return text
    if to == "html":
        return text.translate(_HTML)
    if to == "markdown":
        # Collapse runs of spaces (indentation would make a code block) and keep
        # paragraph breaks; everything else is one line of text.
        paragraphs = [_SPACES.sub(" ", p.replace("\n", " ")).strip()
                      for p in _PARAGRAPHS.split(text)]
        return "\n\n".join(p.translate(_MARKDOWN) for p in paragraphs if p)
    raise ValueError(f"unknown escape target {to!r}; use 'html', 'markdown' or 'plain'")


def wrap_html(value: object, *, width: int = 72, limit: int | None = None,
              max_lines: int | None = None) -> str:
    """Escaped HTML text broken into lines of about ``width`` characters with ``<br>``.

    Wrapping happens on the raw text and each line is escaped on its own, so
    a line break never lands inside a character reference.
    """
    import textwrap

    text = " ".join(clean(value, limit=limit).split())
    lines = textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip() + ELLIPSIS
    return "<br>".join(escape(line, "html") for line in lines)


def safe_url(value: object) -> str | None:
    """``value`` if it is an http(s) URL with a host, else ``None``.

    Used for every link built from data, so ``javascript:`` and ``data:`` URLs
    never become clickable.
    """
    text = clean(value).strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return text
