"""Words and phrases: what topic names are made of, and how they are written.

A *phrase* is 1 to 3 consecutive words of a title or abstract that holds no
stop word and crosses no punctuation or number, so "learning of
representations" never becomes "learning representations" (as stop-word
removal before n-gramming would make it). Words are folded to a singular key
("networks" -> "network", "studies" -> "study"), so a paper using either form
counts once; the casing and plural a name shows are those its papers use most
(:func:`surface_form`).

Also here: the stop words (English, academic boilerplate, and words that only
grade or point), :data:`GENERIC` (words too vague to be a name on their own:
"data", "model", "disease") and :func:`adjective_like` ("visual", "spinal":
incomplete names on their own). These lists are English and lean towards
computer science and medicine; they are the only hand-made part of the naming.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

#: scikit-learn's English stop words, kept as data (``stopwords.txt`` says why).
ENGLISH_STOP_WORDS = frozenset(
    word for line in (Path(__file__).with_name("stopwords.txt")).read_text("utf-8").splitlines()
    if not line.startswith("#") for word in line.split())

#: Academic boilerplate: words an abstract writes whatever its topic.
ACADEMIC_STOP_WORDS = frozenset("""
paper papers propose proposed proposes approach approaches method methods methodology result
results show shows shown novel new using use used uses based existing state art performance
demonstrate demonstrates experiment experiments experimental work works code available github
https http www com org io html abs present presents introduce introduces problem problems
significantly achieve achieves achieved outperforms outperform study studies effective
effectiveness efficient improve improves improved improvement key main recent recently various
different including provide provides significant extensive demonstrated evaluate evaluated
compared comparison address challenge challenges challenging leverage leverages leveraging enable
enables well also however moreover furthermore abstract superior superiority publicly release
released project page source open et al ie eg respectively able way ways called termed named
simple general specific small better best good strong first second third one two three several
many much wide range variety number set sets given make makes making via towards toward across
within without yet still often usually typically thus therefore hence finally additionally
specifically particular particularly previous prior traditional conventional important
fundamental critical crucial remains remain need needs requires require required empirical
empirically comprehensive consistently substantially effectively efficiently robust achieving
technique techniques cid ii iii iv
""".split())

#: Stop words: English, academic boilerplate, and words that only grade or point ("relevant
#: documents", "diverse tasks"); they never start, end or sit inside a phrase. "patient(s)" is
#: medical boilerplate (nearly every clinical abstract writes it).
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS | ACADEMIC_STOP_WORDS | set("""
study studied article investigate investigated addition due high low large higher lower larger
non vs does did doing done seen known like likely per patient patients relevant diverse multiple
current common major original typical certain possible numerous overall entire whole
corresponding respective similar related potential unique state-of-the-art real-world large-scale
end-to-end well-known high-quality sota learn learns learned learnt obtain obtains obtaining
yield yields allow allows allowing apply applies applying lead leads leading run runs running
encourage encourages maintain maintains maintaining identify identifies identifying enhance
enhances enhancing explore explores exploring consider considers considering develop develops
developing describe describes describing report reports reporting perform performs performing
investigate investigates investigating discuss discusses discussing involve involves involving
prove proves proved proven proving rely relies relied relying occur occurs occurred occurring
cent percent upper
""".split())) - {"system", "systems", "fire", "thin", "thick"}

#: Words too generic to name a topic on their own. They may still sit in a phrase ("Graph
#: neural networks", "Recommender systems").
GENERIC = frozenset("""
data model task system information analysis network algorithm learning training dataset
framework application process structure function feature input output time level quality value
type form case effect factor image user document language approach problem result method
performance state number term word text research work field area group class set sample
object control design environment robot technique tool service resource change rate condition
role evidence outcome test measure measurement evaluation development representation knowledge
simulation experiment deep neural machine computer inference estimation prediction detection
recognition generation scenario understanding parameter capability example setting domain aspect
component element property strategy mechanism scheme solution perspective insight limitation
impact benefit quantity amount degree version variant instance capacity ability behavior
behaviour pattern response activity accuracy efficiency robustness complexity error loss cost
space corpus benchmark disease treatment therapy procedure subject trial bound clinical
disorder syndrome
""".split())

_ADJECTIVE_ENDINGS = ("al", "ive", "ous", "ic", "ful", "able", "ible", "ary", "ory", "ian", "ent",
                      "ant", "less")
#: Nouns with an adjective's ending.
_NOUNS = frozenset("""
signal retrieval survival interval trial tutorial animal journal proposal removal rival arrival
hospital objective incentive perspective narrative alternative initiative logic music topic
traffic clinic epidemic agent student patient client parent content event component element
gradient coefficient treatment assessment environment management movement document experiment
argument statement segment placement alignment deployment payment sentiment improvement
measurement development equipment infant variant tenant constant plant implant participant
assistant mutant dictionary summary boundary library vocabulary salary anomaly graphic fabric
metric mechanic dynamic arithmetic manual individual potential material capital terminal radical
chemical criminal professional principal rational cardinal local vessel model panel label kernel
channel tunnel level novel travel fuel pixel voxel wheel memory theory history category
trajectory inventory laboratory directory territory factory story accessory
""".split())

#: Words ending in "s" that are not plurals.
_SINGULAR = frozenset("""
series species means news lens bias gas atlas chaos diabetes herpes mumps measles rabies analysis
mellitus virus corpus status consensus stimulus focus bus plus thus this its was has his us as is
less across towards aids
""".split())
_TOKEN = re.compile(r"[^\W\d_](?:[\w'-]*[^\W_])?|\d[\w-]*|[.,;:!?()\[\]{}\"/|=+<>]")
#: Words that start with a digit and are terms: "3D", "2D", "6-DoF", "5G" (not "2nd", "10x").
_DIGIT_WORD = re.compile(r"\d{1,2}-?(?:d|dof|g)$")
_LATEX = re.compile(r"\$[^$]{0,200}\$|\\[a-zA-Z]+(\{[^}]*\})?")
_URL = re.compile(r"https?://\S+|www\.\S+")
_TAG = re.compile(r"<[^>]{0,200}>")


def term_text(text: str) -> str:
    """Text with LaTeX, URLs and markup tags removed: what phrases are counted over."""
    return _TAG.sub(" ", _URL.sub(" ", _LATEX.sub(" ", text)))


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """A word's singular key: networks -> network, studies -> study, analysis stays."""
    w = word.lower()
    if len(w) <= 3 or w in _SINGULAR or not w.endswith("s"):
        return w
    if w.endswith("'s"):
        return w[:-2]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ss", "us", "is", "ics", "ous")):
        return w
    if w.endswith(("ches", "shes", "sses", "xes", "zes")):
        return w[:-2]
    return w[:-1]


def _is_break(token: str) -> bool:
    """Whether a token ends a phrase: punctuation, a number, a stop word or a lone letter."""
    if token[0].isdigit():
        return _DIGIT_WORD.match(token) is None
    return len(token) < 2 or not token[0].isalpha() or token in STOP_WORDS


def phrase_keys(text: str, max_ngram: int = 3) -> list[str]:
    """The folded 1..max_ngram-word phrases of a text (stop words and punctuation break)."""
    keys: list[str] = []
    run: list[str] = []
    for token in [*_TOKEN.findall(term_text(text).lower()), "|"]:
        if not _is_break(token):
            run.append(fold(token))
            continue
        for n in range(1, min(max_ngram, len(run)) + 1):
            keys.extend(" ".join(run[i:i + n]) for i in range(len(run) - n + 1))
        run = []
    return keys


def content_words(name: str) -> list[str]:
    """A name's folded words that are not stop words ("Graph neural networks" -> graph,
    neural, network)."""
    return [fold(t) for t in _TOKEN.findall(term_text(name).lower()) if not _is_break(t)]


def adjective_like(word: str) -> bool:
    """Whether a single word reads as an adjective or a participle ("visual",
    "adversarial", "robotic", "developed"): an incomplete name on its own. A suffix rule,
    with a list of common nouns that share the suffixes."""
    w = word.lower()
    return len(w) > 4 and w not in _NOUNS and not w.endswith("ics") and (
        w.endswith(_ADJECTIVE_ENDINGS) or (len(w) > 5 and w.endswith("ed")))


def surface_form(key: str, texts: Sequence[str], *, capitalise: bool = True) -> str:
    """The phrase as ``texts`` write it most often, first letter capitalised (unless not
    ``capitalise``: then as written, for a name's second part).

    Plural or singular, whichever is most used; a word the texts write in capitals
    (an acronym, a name) keeps them; a word capitalised only because it starts a title
    or sentence is lower-cased.
    """
    parts = []
    for word in key.split():
        stem = re.escape(word[:-1]) + "(?:y|ie)" if word.endswith("y") and len(word) > 3 \
            else re.escape(word)
        parts.append(stem + r"(?:s|es|'s)?")
    pattern = re.compile(r"(?<![\w-])" + r"\s+".join(parts) + r"(?![\w-])", re.IGNORECASE)
    written = [re.sub(r"\s+", " ", m.group(0)).split() for text in texts
               for m in pattern.finditer(text)]
    if not written:
        return key[:1].upper() + key[1:] if capitalise else key
    words = []
    for position in range(len(parts)):
        forms = Counter(w[position] for w in written)
        lower = Counter(form.lower() for form in forms.elements()).most_common(1)[0][0]
        upper = sum(c for form, c in forms.items() if form.isupper() and len(form) > 1)
        capital = sum(c for form, c in forms.items() if form[:1].isupper())
        total = sum(forms.values())
        if upper * 2 >= total:  # an acronym: "NLP", "SLAM"
            word = max((c, f) for f, c in forms.items() if f.isupper())[1]
        elif any(c.isupper() for form in forms for c in form[1:]) and upper * 2 < total:
            word = max((c, f) for f, c in forms.items() if f.lower() == lower)[1]  # "BERTopic"
        elif capital >= 0.6 * total:  # a name: "Markov", "Gaussian", "Parkinson's"
            word = lower[:1].upper() + lower[1:]
        else:
            word = lower
        words.append(word)
    form = " ".join(words)
    return form[:1].upper() + form[1:] if capitalise else form
