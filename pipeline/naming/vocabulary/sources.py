"""Reading the field vocabulary's sources: OpenAlex's topic table and arXiv's categories.

Both are read as data with the standard library only (no spreadsheet or arXiv package):
the ``.xlsx`` file is a zip of XML (:func:`read_xlsx_rows`), arXiv's ``definitions.py`` a
Python source whose dictionaries of ``Category(...)`` calls are parsed with ``ast`` and
never run (:func:`read_arxiv_categories`).

:func:`entries` turns them into the vocabulary's entries: OpenAlex fields, subfields and
topics, arXiv's active categories, and the short names a researcher writes for them
(:func:`trim`: "Advances in Transfer Learning and Domain Adaptation" -> "Transfer learning
and domain adaptation"; :func:`parts_of`: "Computer Vision and Pattern Recognition" ->
"Computer vision", "Pattern recognition"; an arXiv description "Covers natural language
processing." -> "Natural language processing"), each in sentence case (:class:`Casing`) with
its characteristic terms (folded phrases, ``pipeline.naming.phrases``).
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path

from pipeline.naming.phrases import GENERIC, adjective_like, fold, phrase_keys

_XLSX = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
#: Framing words a topic name starts or ends with, not part of what it names.
_LEAD = re.compile(r"^(?:(?:recent |emerging |global )?(?:advances|advancements|innovations|"
                   r"developments|trends|research|studies|study|challenges(?: and opportunities)?|"
                   r"perspectives) (?:in|on|of) |(?:the )?(?:impact|role|effects?|influence|"
                   r"importance|analysis|applications?|understanding) of |understanding |"
                   r"exploring )", re.I)
_TRAIL = re.compile(r" (?:techniques|methods|methodologies|approaches|research|advances|"
                    r"developments|studies)$", re.I)
_FRAME = ("diagnosis|management|treatment|epidemiology|pathophysiology|pathogenesis|"
          "prevention|classification|mechanisms?|detection|assessment|evaluation|analysis|"
          "impact|role|effects?|development|design|optimization|modell?ing|applications?|"
          "history|evolution|dynamics|regulation|outcomes|complications|characterization|"
          "aspects|features|techniques|methods|advances|advancements|innovations|research|"
          "studies|study|trends|challenges|opportunities|perspectives|interventions|"
          "implications|principles|basis|aberrations|insights|progress|understanding|"
          "exploration|overview|review|surveillance|control|therapy|treatments|theory")
#: "Diagnosis and Management of X", "Genomic Aberrations and Treatment of X" -> X.
_FRAMED = re.compile(rf"^(?:(?:\w+ )?(?:{_FRAME})(?:,? (?:and )?(?:\w+ )?(?:{_FRAME}))*) "
                     r"(?:of|in|on|for|into) (?:the )?(.+)$", re.I)
#: Single words that name an adjective's field only with a head noun ("Nuclear physics").
_MODIFIERS = frozenset("nuclear molecular cellular vascular solar atomic stellar".split())
#: Words of an arXiv description that frame its list rather than name a subject.
_DESCRIPTION_NOISE = re.compile(r"roughly includes.*|this roughly.*|includes material.*|"
                                r"[^.]*is an alias for[^.]*\.|\bcovers\b|all (?:aspects|areas) of",
                                re.I)


def read_xlsx_rows(path: Path) -> list[list[str]]:
    """The cells of the first sheet of an ``.xlsx`` file, as text, row by row."""
    with zipfile.ZipFile(path) as book:
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            for item in ET.fromstring(book.read("xl/sharedStrings.xml")).iter(f"{_XLSX}si"):
                shared.append("".join(t.text or "" for t in item.iter(f"{_XLSX}t")))
        sheet = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{_XLSX}row"):
        cells = {}
        for cell in row.iter(f"{_XLSX}c"):
            value = cell.find(f"{_XLSX}v")
            if value is None:
                text = "".join(t.text or "" for t in cell.iter(f"{_XLSX}t"))
            else:
                text = shared[int(value.text)] if cell.get("t") == "s" else (value.text or "")
            cells[_column(cell.get("r", "A1"))] = text
        if cells:
            rows.append([cells.get(i, "") for i in range(max(cells) + 1)])
    return rows


def _column(reference: str) -> int:
    number = 0
    for letter in re.match(r"[A-Z]+", reference).group(0):
        number = number * 26 + ord(letter) - 64
    return number - 1


def read_openalex_topics(path: Path) -> list[dict[str, str]]:
    """OpenAlex's topic table, one dict per topic (its header's column names)."""
    header, *rows = read_xlsx_rows(path)
    return [dict(zip(header, row + [""] * (len(header) - len(row)), strict=True))
            for row in rows if any(row)]


def read_arxiv_categories(path: Path) -> dict[str, dict]:
    """arXiv's ``CATEGORIES`` table: id -> the literal keyword arguments of its entry."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else \
            node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id == "CATEGORIES" \
                and isinstance(node.value, ast.Dict):
            return {ast.literal_eval(key): {kw.arg: ast.literal_eval(kw.value)
                                            for kw in value.keywords
                                            if isinstance(kw.value, ast.Constant)}
                    for key, value in zip(node.value.keys, node.value.values, strict=True)
                    if isinstance(value, ast.Call)}
    raise ValueError(f"{path} has no CATEGORIES table")


def trim(name: str) -> str:
    """A topic's name without its framing ("Diagnosis and Management of Kawasaki Disease"
    -> "Kawasaki Disease", "Natural Language Processing Techniques" -> "Natural Language
    Processing")."""
    out = name
    for _ in range(2):
        out = _LEAD.sub("", out)
        framed = _FRAMED.match(out)
        if framed and len(framed.group(1)) > 2:
            out = framed.group(1)
    out = _TRAIL.sub("", out)
    return out if len(out) > 2 else name


def parts_of(name: str) -> list[str]:
    """The fields a joined name joins ("Computer Vision and Pattern Recognition" -> both;
    "Pulmonary and Respiratory Medicine" -> "Pulmonary Medicine", "Respiratory Medicine")."""
    pieces = [p.strip() for p in re.split(r",\s*(?:and\s+)?|\s+and\s+|\s*&\s*", name) if p.strip()]
    if len(pieces) < 2:
        return []
    out = []
    for k, piece in enumerate(pieces):
        words = piece.split()
        head = next((p.split()[-1] for p in pieces[k + 1:] if len(p.split()) > 1), None)
        if len(words) == 1 and head and _modifier(words[0]):
            piece = f"{piece} {head}"
        words = piece.lower().split()
        if words[0] in ("the", "general") or (len(words) == 1 and fold(words[0]) in GENERIC | {
                "management", "technology", "strategy", "issue", "development"}):
            continue
        out.append(piece)
    return out if len(out) > 1 else []


def _modifier(word: str) -> bool:
    """Whether a lone word of a joined name modifies the next piece's head noun
    ("Nuclear" of "Nuclear and High Energy Physics")."""
    w = word.lower()
    return adjective_like(w) or w in _MODIFIERS or w.endswith(("ar", "il", "ic"))


class Casing:
    """How running text (the sources' summaries and descriptions) writes each word, to put
    names in sentence case: "Alzheimer's Disease" keeps its capital, "Disease" does not."""

    def __init__(self, texts: list[str]) -> None:
        self.seen: Counter = Counter()
        for text in texts:
            for sentence in re.split(r"(?<=[.!?])\s+", text):
                for word in re.findall(r"[A-Za-z][\w'’-]*", sentence)[1:]:
                    form = "U" if word.isupper() and len(word) > 1 else \
                        "C" if word[0].isupper() else "l"
                    self.seen[(word.lower(), form)] += 1

    def word(self, word: str, *, first: bool) -> str:
        low = word.lower()
        if any(ch.isupper() for ch in word[1:]) and not word.isupper():
            return word  # "mRNA", "BERTopic"
        upper, capital, lower = (self.seen[(low, f)] for f in "UCl")
        if word.isupper() and len(word) > 1 and upper >= lower:
            return word  # an acronym: "EVA", "HIV"
        if upper + capital > lower and upper + capital >= 2:
            return word.upper() if upper > capital else word[:1].upper() + word[1:]
        return low[:1].upper() + low[1:] if first else low

    def sentence(self, name: str) -> str:
        """``name`` in sentence case, its proper nouns and acronyms kept (initials closed
        up, "W.G. Sebald" -> "W.G.Sebald": a name holds no sentence break)."""
        name = re.sub(r"\b([A-Z])\. (?=[A-Z])", r"\1.", name)
        out, first = [], True
        for piece in re.split(r"(\s+|-)", name):
            if not piece or piece.isspace() or piece == "-":
                out.append(piece)
                continue
            out.append(self.word(piece, first=first))
            first = False
        text = "".join(out)
        return text[:1].upper() + text[1:]


def terms_of(text: str) -> list[str]:
    """The folded phrases a text names (its longest stop-word-free runs, up to 3 words),
    without lone generic or adjective-like words."""
    found = phrase_keys(text, 3)
    longest = [k for k in found if not any(k != o and f" {k} " in f" {o} " for o in found)]
    return [k for k in dict.fromkeys(longest)
            if " " in k or (k not in GENERIC and len(k) > 3 and not adjective_like(k))]


def openalex_entries(topics: list[dict[str, str]], casing: Casing) -> list[dict]:
    """Fields, subfields and topics (trimmed), each with its parent and own terms."""
    out: list[dict] = []
    index: dict[str, int] = {}

    def add(key: str, name: str, kind: str, parent: int, terms: list[str]) -> int:
        if key not in index:
            index[key] = len(out)
            out.append({"name": casing.sentence(name), "kind": kind, "id": key, "of": name,
                        "parent": parent, "terms": terms})
        return index[key]

    for row in topics:
        field = add(f"openalex:F{int(float(row['field_id']))}", row["field_name"], "field", -1,
                    terms_of(row["field_name"]))
        subfield = add(f"openalex:S{int(float(row['subfield_id']))}", row["subfield_name"],
                       "subfield", field, terms_of(row["subfield_name"]))
        keywords = [t for k in row["keywords"].split(";") for t in terms_of(k)]
        add(f"openalex:T{int(float(row['topic_id']))}", trim(row["topic_name"]), "topic",
            subfield, list(dict.fromkeys(terms_of(trim(row["topic_name"])) + keywords)))
        out[index[f"openalex:T{int(float(row['topic_id']))}"]]["of"] = row["topic_name"]
    return out


def arxiv_entries(categories: dict[str, dict], casing: Casing) -> list[dict]:
    """arXiv's active categories (not the archive-relative "Applications", "Other ...") and
    the subject a description says it covers when it names one ("Covers natural language
    processing.")."""
    out = []
    for key, category in categories.items():
        if not category.get("is_active") or category.get("is_general"):
            continue
        name = category["full_name"].replace(" - ", " ")
        words = re.findall(r"\w+", name.lower())
        if words[0] in ("other", "general") or (len(words) == 1 and words[0] in (
                "applications", "computation", "methodology")):
            continue
        description = category.get("description", "")
        listed = _DESCRIPTION_NOISE.sub(" ", description)
        terms = list(dict.fromkeys(terms_of(name) + [t for piece in re.split(r"[,;.:()]", listed)
                                                     for t in terms_of(piece)]))
        entry = {"name": casing.sentence(name), "kind": "category", "id": f"arxiv:{key}",
                 "of": category["full_name"], "parent": -1, "terms": terms}
        out.append(entry)
        covers = re.match(r"Covers (?:all (?:aspects|areas) of |the )?([^,.;]+)\.", description)
        if covers and len(covers.group(1).split()) <= 4 and " and " not in covers.group(1):
            out.append(dict(entry, name=casing.sentence(covers.group(1)), kind="alias"))
    return out


def characteristic_terms(entries: list[dict]) -> None:
    """Give subfields the keywords their topics share, and fields those their subfields
    share (in place; shared by two or more): what papers of the field write, not of one
    topic."""
    children: dict[int, list[int]] = {}
    for i, entry in enumerate(entries):
        children.setdefault(entry["parent"], []).append(i)
    for kind in ("subfield", "field"):
        for i, entry in enumerate(entries):
            if entry["kind"] != kind:
                continue
            parts = children.get(i, [])
            shared = Counter(t for j in parts for t in set(entries[j]["terms"]))
            least = 2
            entry["terms"] = list(dict.fromkeys(
                entry["terms"] + sorted(t for t, n in shared.items() if n >= least)))


def entries(openalex_xlsx: Path, arxiv_definitions: Path) -> list[dict]:
    """The vocabulary's entries from its two sources (see the module's docstring)."""
    topics = read_openalex_topics(openalex_xlsx)
    categories = read_arxiv_categories(arxiv_definitions)
    casing = Casing([t.get("summary", "") for t in topics]
                    + [c.get("description", "") for c in categories.values()])
    out = openalex_entries(topics, casing) + arxiv_entries(categories, casing)
    characteristic_terms(out)
    for i, entry in enumerate(list(out)):  # the fields a joined name joins, as its aliases
        if entry["kind"] in ("field", "subfield", "category"):
            for part in parts_of(entry["of"].replace(" - ", " ")):
                out.append({"name": casing.sentence(part), "kind": "part", "id": entry["id"],
                            "of": entry["of"], "parent": i, "terms": terms_of(part)})
    return out
