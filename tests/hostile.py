"""A corpus of hostile text, made by the tests (issue 5).

Every executable payload sets ``window.__pwned`` to its own name if it ever
runs, so a browser test can say which one escaped. The rest is text that is
not dangerous but easy to mangle: Markdown, LaTeX, emoji, right-to-left
scripts, bidirectional overrides, NUL and control characters, and a
100,000-character abstract.

``hostile_corpus()`` puts them in titles, abstracts, authors, venues, urls,
ids and a metadata column name of an otherwise ordinary synthetic corpus
(``conftest.make_corpus``), so the map still has clear topics.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from conftest import TOPICS, make_corpus

FLAG = "__pwned"

#: name -> payload that sets window.__pwned = name if it is ever executed.
PAYLOADS: dict[str, str] = {
    "script": "<script>window.__pwned='script'</script>",
    "img": "<img src=x onerror=\"window.__pwned='img'\">",
    "js_link": "<a href=\"javascript:window.__pwned='js_link'\">click me</a>",
    "iframe": "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    "iframe_js": "<iframe src=\"javascript:parent.__pwned='iframe_js'\"></iframe>",
    "svg": "<svg onload=\"window.__pwned='svg'\"><circle r=9></circle></svg>",
    "svg_script": "<svg><script>window.__pwned='svg_script'</script></svg>",
    "md_link": "[click me](javascript:window.__pwned='md_link')",
    "md_image": "![x](x\" onerror=\"window.__pwned='md_image') ![t](http://127.0.0.1:9/t.png)",
    "details": "<details open ontoggle=\"window.__pwned='details'\">x</details>",
    "attr_break": "\"'><img src=x onerror=\"window.__pwned='attr_break'\">",
    "autofocus": "<input autofocus onfocus=\"window.__pwned='autofocus'\">",
    "mxss": "<math><mtext><table><mglyph><style><img src=x "
            "onerror=\"window.__pwned='mxss'\">",
    "object": "<object data=\"javascript:window.__pwned='object'\"></object>",
    "katex": "$\\href{javascript:window.__pwned='katex'}{click}$",
    "template": "{{constructor.constructor(\"window.__pwned='template'\")()}}",
    "style": "<style>@import 'javascript:window.__pwned=\"style\"';</style>",
    "entity": "&lt;img src=x onerror=\"window.__pwned='entity'\"&gt;",
}

#: name -> awkward but harmless text that must survive as text.
TEXTS: dict[str, str] = {
    "markdown": "**bold** _it_ `code` # Heading\n- item\n> quote :red[not red] :material/home:",
    "latex": "$E=mc^2$ \\textbf{bold} \\cite{key} $$\\int_0^1 x\\,dx$$ 100% {braces}",
    "emoji": "🧪🔥👩‍🔬 🇪🇺 ✓",
    "rtl": "نموذج لغوي كبير — מודל שפה גדול",
    "bidi": "file\u202egnp.exe and \u2066isolated\u2069",
    "control": "NUL\x00here bell\x07 escape\x1b[31m tab\tzero\u200bwidth",
    "csv_formula": "=HYPERLINK(\"http://127.0.0.1:9/x\",\"click\")",
}

LONG_ABSTRACT_CHARS = 100_000


def visible(payload: str) -> str:
    """What of ``payload`` must be readable on screen: its first 18 characters, once
    control characters (removed on the way in) are gone and spaces are collapsed."""
    text = re.sub(r"[\x00-\x1f\x7f\u200b\u202a-\u202e\u2066-\u2069]", " ", payload)
    return " ".join(text.split())[:18]


def hostile_corpus(n_per_topic: int = 25) -> pd.DataFrame:
    """``make_corpus()`` with a payload or awkward text in most papers' fields.

    Paper ids are ``hostile-<name>`` for each name in ``PAYLOADS`` and
    ``TEXTS``; ``hostile-all`` carries all of them in its abstract and authors;
    ``long-abstract`` has a 100,000-character abstract; one paper's id is itself
    a payload. A metadata column's name is a payload too.
    """
    corpus = make_corpus(n_per_topic=n_per_topic)
    items = list(PAYLOADS.items()) + list(TEXTS.items())
    topics = list(TOPICS)
    for i, (name, text) in enumerate(items):
        row = corpus.index[(i * 4) % len(corpus)]  # distinct rows: 25 items x 4 <= 100
        topic_words = " ".join(TOPICS[topics[i % len(topics)]][:3])
        corpus.loc[row, "id"] = f"hostile-{name}"
        corpus.loc[row, "title"] = f"{text} title {name} {topic_words}"
        corpus.loc[row, "abstract"] = f"{text} {corpus.loc[row, 'abstract']} {text}"
        corpus.loc[row, "authors"] = f"{text}; Author {name}"
        corpus.loc[row, "venue"] = text
        corpus.loc[row, "url"] = f"javascript:window.__pwned='url_{name}'"
    every = corpus.index[3]  # one paper carrying every payload and text at once
    corpus.loc[every, "id"] = "hostile-all"
    corpus.loc[every, "title"] = "Every payload at once: " + PAYLOADS["script"]
    corpus.loc[every, "abstract"] = " ".join(text for _, text in items) + " " + \
        corpus.loc[every, "abstract"]
    corpus.loc[every, "authors"] = "; ".join(PAYLOADS.values())
    long_row = corpus.index[1]
    words = corpus.loc[long_row, "abstract"].split()
    long_text = " ".join(words[i % len(words)] for i in range(LONG_ABSTRACT_CHARS // 5))
    corpus.loc[long_row, "id"] = "long-abstract"
    corpus.loc[long_row, "abstract"] = long_text[:LONG_ABSTRACT_CHARS]
    corpus.loc[corpus.index[2], "id"] = PAYLOADS["script"]
    corpus[PAYLOADS["img"]] = corpus["venue"]  # a column whose name is a payload
    return corpus


def write_hostile_csv(path: Path, n_per_topic: int = 25) -> Path:
    """The hostile corpus as a CSV file (UTF-8), the way a user would hand it over."""
    hostile_corpus(n_per_topic).to_csv(path, index=False)
    return path
