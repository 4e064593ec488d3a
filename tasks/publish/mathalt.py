"""French alternative text of a formula, generated from its TeX source.

``math_alt(r"N = 10 \\times \\frac{P_{min}}{P}")`` → « N égale 10 fois P min sur P ».
PDF/UA-1 (ISO 14289-1 §7.7) requires an alternative text on every formula (Typst refuses
an equation without ``alt``); the same text is written as MathML ``alttext`` in HTML and as
the formula's title in ODT. The words are data: ``clause_library/vocabulary/maths-fr.yaml``.

The reader understands the TeX subset Pandoc's Markdown accepts in ``$…$``: numbers,
letters, ``^``/``_`` (powers, indices), groups ``{…}``, ``\\frac``, ``\\sqrt``, ``\\left``/
``\\right``, ``\\text{…}`` and the commands of the vocabulary (an unknown command is read
by its name). Input longer than :data:`MAX_TEX` characters or nested deeper than
:data:`MAX_DEPTH` is read as « formule » followed by its source, never refused.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_TEX", "VOCABULARY", "math_alt"]

#: The vocabulary file (YAML).
VOCABULARY = Path(__file__).resolve().parents[2] / "clause_library" / "vocabulary" / "maths-fr.yaml"
MAX_TEX = 2000
MAX_DEPTH = 40

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\d+(?:[.,]\d+)?|[A-Za-z]|\S")
_TEXT_COMMANDS = {"text", "mathrm", "textrm", "mathit", "mathbf", "textbf", "operatorname", "mbox"}
_SILENT = {"left", "right", "big", "Big", "bigl", "bigr", "displaystyle", "limits", "quad", "qquad"}
_OPERATOR_WORDS = {"plus", "moins", "fois", "sur", "égale", "divisé par"}


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))


class _TooDeep(Exception):
    pass


class _Reader:
    def __init__(self, tex: str) -> None:
        matches = list(_TOKEN.finditer(tex))
        self.tokens = [m[0] for m in matches]
        self.spans = [m.span() for m in matches]
        self.tex = tex
        self.i = 0
        self.v = _vocabulary()

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str | None:
        tok = self.peek()
        self.i += tok is not None
        return tok

    def raw_group(self) -> str:
        """The text of a ``{…}`` group, unread (for ``\\text{…}``)."""
        if self.peek() != "{":
            return self.take() or ""
        self.take()
        start, depth = self.i, 1
        while (tok := self.take()) is not None:
            depth += tok == "{"
            depth -= tok == "}"
            if depth == 0:
                break
        end = self.i - 1 if depth == 0 else self.i
        if end <= start:
            return ""
        return self.tex[self.spans[start][0] : self.spans[end - 1][1]]

    def atom(self, depth: int, word: bool = False) -> list[str]:
        """One argument: a group or a single token (``word``: letters read as one word)."""
        if self.peek() == "{":
            self.take()
            return self.sequence(depth + 1, stop="}", word=word)
        tok = self.take()
        return self.token(tok, depth) if tok is not None else []

    def sequence(self, depth: int, stop: str | None = None, word: bool = False) -> list[str]:
        if depth > MAX_DEPTH:
            raise _TooDeep
        out: list[str] = []
        while (tok := self.peek()) is not None:
            if tok == stop:
                self.take()
                break
            if tok == "}":  # unbalanced: ignore
                self.take()
                continue
            self.take()
            if tok == "^":
                arg = self.atom(depth, word=True)
                text = " ".join(arg)
                out.append(self.v["puissances"].get(text) or self.v["puissance"].format(x=text))
            elif tok == "_":
                out.append(self.v["indice"].format(x=" ".join(self.atom(depth, word=True))))
            elif word and len(tok) == 1 and tok.isalpha() and out and _is_letters(out[-1]):
                out[-1] += tok
            else:
                out.extend(self.token(tok, depth))
        return out

    def token(self, tok: str, depth: int) -> list[str]:
        v = self.v
        if tok == "{":
            return self.sequence(depth + 1, stop="}")
        if tok[0] == "\\":
            name = tok[1:]
            if name == "frac" or name == "dfrac" or name == "tfrac":
                num, den = self.atom(depth), self.atom(depth)
                complex_ = _has_operator(num) or _has_operator(den)
                key = "fraction_complexe" if complex_ else "fraction"
                return [v[key].format(num=" ".join(num), den=" ".join(den))]
            if name == "sqrt":
                n = None
                if self.peek() == "[":
                    self.take()
                    n = " ".join(self.sequence(depth + 1, stop="]"))
                x = " ".join(self.atom(depth))
                return [v["racine_n"].format(n=n, x=x) if n else v["racine"].format(x=x)]
            if name in _TEXT_COMMANDS:
                return [self.raw_group()]
            if name in _SILENT or not name.isalpha():
                if name in ("%", "{", "}", "$", "&", "#", "_"):
                    return [v["operateurs"].get(name, name)]
                return []
            return [v["commandes"].get(name, name)]
        if tok[0].isdigit():
            return [tok.replace(".", ",")]
        return [v["operateurs"].get(tok, tok)]


def _is_letters(s: str) -> bool:
    return s.isalpha() and s.isascii()


def _has_operator(words: list[str]) -> bool:
    return any(w in _OPERATOR_WORDS or " sur " in w or " par " in w for w in words)


def math_alt(tex: str) -> str:
    """French reading of the TeX formula ``tex`` (see the module docstring).

    >>> math_alt(r"N = 10 \\times \\frac{P_{min}}{P}")
    'N égale 10 fois P min sur P'
    >>> math_alt("x^2 + 1")
    'x au carré plus 1'
    """
    source = " ".join(tex.split())
    if len(source) > MAX_TEX:
        return f"formule : {source[:MAX_TEX]}…"
    try:
        words = _Reader(source).sequence(0)
    except (_TooDeep, RecursionError):
        return f"formule : {source}"
    text = " ".join(w for w in words if w)
    return " ".join(text.split()) or f"formule : {source}"
