"""French typography pass on Pandoc inlines, applied at output time only.

Never applied to the source, the review digests or the clause comparison: only
:mod:`tasks.publish.passes` calls it, on the AST of the document being written.
Source: Lexique des règles typographiques en usage à l'Imprimerie nationale (guillemets,
espaces avant la ponctuation haute).
"""

from __future__ import annotations

import re

NNBSP = "\u202f"  # espace fine insécable
NBSP = "\u00a0"  # espace insécable

#: Space before a sign → the no-break space French typography puts there.
_SPACE_BEFORE = {
    ";": NNBSP,
    "!": NNBSP,
    "?": NNBSP,
    "%": NNBSP,
    ":": NBSP,
    "»": NNBSP,
    "€": NBSP,
}
_URLISH = re.compile(r"://|@|/|&|=|^\d")
_LINKISH = re.compile(r"://|@|/|&|=")
#: Words the next word stays glued to: n°/N° (numéro); « takes U+202F (see below).
_GLUE_AFTER = re.compile(r"(?<![^\W\d_])[nN][°º]$")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")


#: Characters any rule below looks at: a word without them is left as it is (fast path).
_TOUCHED = re.compile(r"[';:!?%€«»°º]")
_OPEN_GUILLEMET = re.compile(r"«(?=[^\s\u202f\u00a0])")
_CLOSE_GUILLEMET = re.compile(r"(?<=[^\s\u202f\u00a0])»")
_GLUED_HIGH = re.compile(r"(?<=[^\W\d_])([;!?])")
_GLUED_COLON = re.compile(r"(?:(?<=[^\W\d_])|(?<=[)\]»]))(:)(?!\S)")
_PERCENT = re.compile(r"(?<=\d)%(?!\w)")
_EURO = re.compile(r"(?<=\d)€")
_NUMERO = re.compile(r"(?<![^\W\d_])([nN][°º])(?=\d)")


def _fix_str(s: str) -> str:
    """The rules of :func:`french_typography` inside one word (Pandoc ``Str``)."""
    s = _APOSTROPHE.sub("\u2019", s)
    s = _OPEN_GUILLEMET.sub("«" + NNBSP, s)
    s = _CLOSE_GUILLEMET.sub(NNBSP + "»", s)
    if not _URLISH.search(s):
        s = _GLUED_HIGH.sub(NNBSP + r"\1", s)
        s = _GLUED_COLON.sub(NBSP + r"\1", s)
    if not _LINKISH.search(s):
        s = _PERCENT.sub(NNBSP + "%", s)
        s = _EURO.sub(NBSP + "€", s)
        s = _NUMERO.sub(r"\1" + NBSP, s)
    return s


def french_typography(inlines: list[dict]) -> list[dict]:
    """French spacing in a list of Pandoc inlines (Str/Space nodes); code is untouched.

    An ordinary space before ``;`` ``!`` ``?`` ``%`` and inside « » becomes U+202F
    (espace fine insécable), before ``:`` ``€`` and after ``n°`` U+00A0 (espace
    insécable); a missing space inside « », before ``;!?:`` glued to a word, between a
    number and ``%``/``€`` or after ``n°`` followed by a digit is added; a straight
    apostrophe between letters becomes the typographic one (’), as Pandoc's « smart »
    reader does in the body. Quotations (Pandoc ``Quoted`` nodes, from straight quotes)
    are turned into « » by :func:`french_quotes`. URLs, times (10:30), e-mail addresses
    and code are left alone.

    >>> french_typography([{"t": "Str", "c": "Qui"}, {"t": "Space"}, {"t": "Str", "c": "?"}])
    [{'t': 'Str', 'c': 'Qui\\u202f?'}]
    """
    out: list[dict] = []
    for node in inlines:
        t = node.get("t")
        if t == "Str":
            s = node["c"]
            if _TOUCHED.search(s):
                s = _fix_str(s)
            prev = out[-1] if out else None
            if (
                prev is not None
                and prev.get("t") in ("Space", "SoftBreak")
                and s[:1] in _SPACE_BEFORE
            ):
                out.pop()
                space = _SPACE_BEFORE[s[:1]]
                if out and out[-1].get("t") == "Str":
                    out[-1] = {"t": "Str", "c": out[-1]["c"] + space + s}
                    continue
                s = space + s
            out.append({"t": "Str", "c": s})
        elif t in ("Space", "SoftBreak") and out and out[-1].get("t") == "Str":
            last = out[-1]["c"]
            if last.endswith("«"):
                out[-1] = {"t": "Str", "c": last + NNBSP}
            elif _GLUE_AFTER.search(last):
                out[-1] = {"t": "Str", "c": last + NBSP}
            else:
                out.append(node)
        else:
            out.append(node)
    return out


def french_text(text: str) -> str:
    """:func:`french_typography` on plain text (headers, metadata): « l'acheteur » →
    « l’acheteur », « n° 12 » → « n°\\u00a012 », « 50 € » → « 50\\u00a0€ »."""
    nodes: list[dict] = []
    for i, word in enumerate(" ".join(text.split()).split(" ")):
        if i:
            nodes.append({"t": "Space"})
        nodes.append({"t": "Str", "c": word})
    return "".join(n["c"] if n["t"] == "Str" else " " for n in french_typography(nodes))


_INLINE_LIST_KEYS = (
    "Para",
    "Plain",
    "Header",
    "Emph",
    "Strong",
    "Span",
    "Link",
    "Quoted",
    "Underline",
    "Strikeout",
    "SmallCaps",
)


def french_quotes(node: dict) -> list[dict]:
    """A Pandoc ``Quoted`` node as French guillemets: « » for a quotation (straight
    double quotes), “ ” for a quotation inside it (single quotes), with U+202F inside
    « » (Imprimerie nationale, « Guillemets »)."""
    kind, inner = node["c"]
    if kind.get("t") == "SingleQuote":
        return [{"t": "Str", "c": "\u201c"}, *inner, {"t": "Str", "c": "\u201d"}]
    return [{"t": "Str", "c": "«" + NNBSP}, *inner, {"t": "Str", "c": NNBSP + "»"}]


def _apply_typography(node: dict) -> dict | list[dict]:
    t = node["t"]
    c = node.get("c")
    if t == "Quoted":
        return french_quotes(node)
    if t in ("Para", "Plain"):
        return {"t": t, "c": french_typography(c)}
    if t == "Header":
        return {"t": t, "c": [c[0], c[1], french_typography(c[2])]}
    if t in ("Emph", "Strong", "Underline", "Strikeout", "SmallCaps"):
        return {"t": t, "c": french_typography(c)}
    if t in ("Span", "Link"):
        return {"t": t, "c": [c[0], french_typography(c[1]), *c[2:]]}
    return node
