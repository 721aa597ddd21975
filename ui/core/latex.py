"""LaTeX in titles and abstracts, shown as readable plain text: ``$\\Theta(n \\log n)$``
reads "Θ(n log n)", ``\\emph{tight}`` reads "tight", ``$x_i^2$`` reads "xᵢ²".

No markup is produced and nothing is rendered: the result is text, which callers
escape like any other (``ui.core.escape``). Only text holding a backslash or a dollar
sign is touched; ``$...$`` counts as maths when it does not start or end with a
space (so "costs $5 and $10" stays as it is). Commands this module does not know
lose their backslash and keep their argument.
"""

from __future__ import annotations

import re
import unicodedata

_GREEK = dict(zip(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu "
    "nu xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta "
    "Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split(),
    "αβγδεεζηθϑικλμνξπϖρϱσςτυφφχψωΓΔΘΛΞΠΣΥΦΨΩ", strict=True))
_SYMBOLS = {
    "leq": "≤", "le": "≤", "leqslant": "≤", "geq": "≥", "ge": "≥", "geqslant": "≥", "neq": "≠",
    "ne": "≠", "approx": "≈", "sim": "~", "simeq": "≃", "equiv": "≡", "propto": "∝",
    "times": "×", "cdot": "·", "pm": "±", "mp": "∓", "div": "÷", "infty": "∞",
    "partial": "∂", "nabla": "∇", "sum": "∑", "prod": "∏", "int": "∫", "oint": "∮",
    "in": "∈", "notin": "∉", "ni": "∋", "subset": "⊂", "subseteq": "⊆", "supset": "⊃",
    "supseteq": "⊇", "cup": "∪", "cap": "∩", "setminus": "∖", "emptyset": "∅",
    "varnothing": "∅", "forall": "∀", "exists": "∃", "neg": "¬", "lnot": "¬", "land": "∧",
    "wedge": "∧", "lor": "∨", "vee": "∨", "to": "→", "rightarrow": "→", "gets": "←",
    "leftarrow": "←", "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔",
    "Leftrightarrow": "⇔", "iff": "⇔", "implies": "⇒", "mapsto": "↦", "ll": "≪", "gg": "≫",
    "ldots": "…", "cdots": "⋯", "dots": "…", "vdots": "⋮", "circ": "∘", "ell": "ℓ",
    "hbar": "ℏ", "star": "⋆", "ast": "∗", "perp": "⊥", "parallel": "∥", "mid": "|",
    "vert": "|", "lvert": "|", "rvert": "|", "Vert": "‖", "langle": "⟨", "rangle": "⟩",
    "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "prime": "′", "deg": "°",
    "|": "‖", "top": "⊤", "bot": "⊥", "oplus": "⊕", "otimes": "⊗", "odot": "⊙", "sqrt": "√",
    "%": "%", "&": "&", "#": "#", "_": "_", "$": "$", "{": "{", "}": "}", " ": " ",
    ",": " ", ";": " ", ":": " ", "!": "", "quad": " ", "qquad": " ", "\\": " ",
    "textbackslash": "\\", "ss": "ß", "S": "§", "P": "¶", "copyright": "©", "dag": "†",
    "LaTeX": "LaTeX", "TeX": "TeX", "textasciitilde": "~", "textasciicircum": "^",
}
#: Operators written as words ("\log n" reads "log n").
_WORDS = set("log ln exp sin cos tan sec csc cot sinh cosh tanh arcsin arccos arctan max min "
             "argmax argmin arg lim limsup liminf sup inf det Pr dim ker deg gcd mod bmod "
             "poly polylog".split())
#: Sizing and spacing commands that only shape the typesetting.
_DROP = set("left right big Big bigg Bigg bigl bigr Bigl Bigr displaystyle textstyle "
            "scriptstyle limits nolimits nonumber noindent centering small large Large "
            "footnotesize normalsize".split())
_BLACKBOARD = dict(zip("RNZQCEPFH", "ℝℕℤℚℂ𝔼ℙ𝔽ℍ", strict=True))
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303", "widetilde": "\u0303",
            "bar": "\u0304", "overline": "\u0305", "vec": "\u20d7", "dot": "\u0307",
            "ddot": "\u0308"}
_SUPERSCRIPT = dict(zip("0123456789+-=()niTtk", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀᵗᵏ", strict=True))
_SUBSCRIPT = dict(zip("0123456789+-=()aeijkmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₘₙₒₚᵣₛₜᵤᵥₓ",
                      strict=True))

_MATH = re.compile(r"\$\$(.+?)\$\$|\$(\S(?:[^$]{0,300}?\S)?)\$", re.DOTALL)
_COMMAND = re.compile(r"\\([A-Za-z]+|[^A-Za-z\n])\*?")
_SPACE = re.compile(r"[ \t]{2,}")
#: A tie after a command or a group, or before a command ("\\eg~progress", "by~\\cite{x}").
_TIE = re.compile(r"(\\[A-Za-z]+|\})~|~(?=\\[A-Za-z])")
_DOLLAR = "\ue000"  # stands for an escaped dollar while maths is found


def readable(value: object) -> str:
    """``value`` with its LaTeX written as plain text (see the module doc)."""
    text = "" if value is None else str(value)
    if "\\" not in text and "$" not in text:
        return text
    text = text.replace("\\$", _DOLLAR)  # an escaped dollar opens no maths
    parts: list[str] = []
    start = 0
    for match in _MATH.finditer(text):
        parts.append(_text(text[start:match.start()]))
        parts.append(_math(match.group(1) or match.group(2)))
        start = match.end()
    parts.append(_text(text[start:]))
    text = _SPACE.sub(" ", "".join(parts)).replace(_DOLLAR, "$")
    return unicodedata.normalize("NFC", text)  # an accent joins its letter: "Õ"


def _text(text: str) -> str:
    """Text mode: commands lose their backslash, keep their argument; a tie (``~``, a
    space that does not break) beside a command is a space ("web~\\cite{x}" reads
    "web […]")."""
    if "\\" not in text:
        return text
    return _commands(_TIE.sub(lambda m: (m.group(1) or "") + " ", text), math=False)


def _math(text: str) -> str:
    """Maths: commands, scripts and fractions as Unicode, grouping braces dropped."""
    out = _commands(text, math=True)
    out = _scripts(out)
    return out.replace("{", "").replace("}", "").strip()


def _argument(text: str, at: int) -> tuple[str, int]:
    """The ``{...}`` group (or the single character) starting at ``at``, and where it ends."""
    while at < len(text) and text[at] == " ":
        at += 1
    if at >= len(text):
        return "", at
    if text[at] != "{":
        return text[at], at + 1
    depth = 0
    for i in range(at, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[at + 1:i], i + 1
    return text[at + 1:], len(text)


def _commands(text: str, *, math: bool) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        match = _COMMAND.search(text, i)
        if match is None:
            out.append(text[i:])
            break
        out.append(text[i:match.start()])
        name, i = match.group(1), match.end()
        if name in ("frac", "dfrac", "tfrac"):
            top, i = _argument(text, i)
            bottom, i = _argument(text, i)
            out.append(f"{_group(_math(top))}/{_group(_math(bottom))}")
        elif name == "sqrt":
            if i < len(text) and text[i] == "[":
                end = text.find("]", i)
                i = end + 1 if end > 0 else i
            body, i = _argument(text, i)
            out.append("√" + _group(_math(body)))
        elif name in ("href",):
            _, i = _argument(text, i)  # the address is not shown, only the link's text
            body, i = _argument(text, i)
            out.append(_commands(body, math=math))
        elif name in ("cite", "citep", "citet", "ref", "eqref", "label"):
            _, i = _argument(text, i)
            out.append("[…]" if name != "label" else "")
        elif name in ("mathbb", "mathbbm"):
            body, i = _argument(text, i)
            out.append("".join(_BLACKBOARD.get(c, c) for c in body))
        elif name in _ACCENTS:
            body, i = _argument(text, i)
            body = _commands(body, math=math)
            out.append(body + _ACCENTS[name] if len(body) == 1 else body)
        elif name in _GREEK:
            out.append(_GREEK[name])
        elif name in _SYMBOLS:
            out.append(_SYMBOLS[name])
        elif name in _WORDS:
            out.append(name + (" " if math else ""))
        elif name in _DROP:
            continue
        elif i < len(text) and text[i] == "{":  # \emph{x}, \textbf{x}, \mathcal{X}, ...
            body, i = _argument(text, i)
            out.append(_commands(body, math=math))
        else:  # unknown: in maths a name (\operatorname-like); in text maybe not LaTeX at all
            out.append(name if math else match.group(0))
    return "".join(out)


def _group(text: str) -> str:
    """``text`` in parentheses when it is more than one token (for a/b and √x)."""
    text = text.strip()
    return text if re.fullmatch(r"[\w.′]+", text) else f"({text})"


def _scripts(text: str) -> str:
    """``x^2`` -> "x²", ``x_{ij}`` -> "xᵢⱼ"; scripts Unicode lacks stay as ^(...) or _(...)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "^_" and i + 1 < len(text):
            body, i = _argument(text, i + 1)
            body = body.replace("{", "").replace("}", "").strip()
            table = _SUPERSCRIPT if ch == "^" else _SUBSCRIPT
            if body and all(c in table for c in body):
                out.append("".join(table[c] for c in body))
            elif body:
                out.append(ch + (body if len(body) == 1 else f"({body})"))
            continue
        out.append(ch)
        i += 1
    return "".join(out)
