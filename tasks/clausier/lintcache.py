"""The template skeleton of a Markdown piece, and the process-wide cache of its lint.

A piece's template findings (:func:`tasks.clausier.templates.lint_templates`) depend only
on its Jinja2 tags and their line numbers, not on its prose: Jinja2 makes one
``TemplateData`` node of the text between two tags, and no rule reads it. The
*skeleton* keeps every line holding or continuing a tag (``{{ … }}``, ``{% … %}``,
``{## … ##}``, a tag over several lines, a string or brackets left open inside a tag)
and empties every other line, newline kept: the same tags at the same lines. Dossiers of
one repository share their clause calls while their prose differs, so ``cahier check
--all`` lints each distinct skeleton once per process.

The scan is conservative: a line is emptied only when the scan is in the data state at
its start (outside any tag, string or bracket) and the line holds no ``{``. A piece with
a ``{% raw %}`` block (whose text could open what the scan would take for a tag) has no
skeleton and is linted whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tasks.memo import BoundedMemo

_OPEN_RE = re.compile(r"\{\{|\{%|\{##")
_IN_TAG_RE = re.compile(r"[\"'{}\[\]()]|%\}")
_RAW_RE = re.compile(r"\{%[-+]?\s*raw\b")


def skeleton(source: str) -> tuple[str, tuple[int, ...]] | None:
    """The lines of ``source`` that hold or continue a tag, joined, with the 1-based
    line in ``source`` of each; None when the piece has a ``{% raw %}`` block (see the
    module docstring)."""
    if _RAW_RE.search(source):
        return None
    out: list[str] = []
    lines: list[int] = []
    state = _Scan()
    for n, line in enumerate(source.split("\n"), 1):
        if state.data and "{" not in line:
            continue
        out.append(line)
        lines.append(n)
        state.line(line)
    return "\n".join(out), tuple(lines)


class _Scan:
    """Where a scan of the tags stands: data, comment or tag (with its open string and
    bracket depth), carried from one line to the next."""

    __slots__ = ("depth", "quote", "state")

    def __init__(self) -> None:
        self.state = ""  # "": data, "c": comment, "t": variable or block tag
        self.quote = ""
        self.depth = 0

    @property
    def data(self) -> bool:
        return not self.state

    def line(self, line: str) -> None:
        i, n = 0, len(line)
        while i < n:
            if not self.state:
                m = _OPEN_RE.search(line, i)
                if m is None:
                    return
                self.state = "c" if m.group() == "{##" else "t"
                self.quote, self.depth, i = "", 0, m.end()
            elif self.state == "c":
                j = line.find("##}", i)
                if j < 0:
                    return
                self.state, i = "", j + 3
            elif self.quote:
                while i < n and line[i] != self.quote:
                    i += 2 if line[i] == "\\" else 1
                if i < n:
                    self.quote, i = "", i + 1
            else:
                i = self._tag_char(line, i)

    def _tag_char(self, line: str, i: int) -> int:
        """Advance past the next significant character inside a tag; returns the index
        after it (``len(line)`` when there is none)."""
        m = _IN_TAG_RE.search(line, i)
        if m is None:
            return len(line)
        c = m.group()
        if c in ("'", '"'):
            self.quote = c
        elif c in "([{":
            self.depth += 1
        elif c in ")]":
            self.depth = max(0, self.depth - 1)
        elif c == "}":
            if self.depth:
                self.depth -= 1
            elif line.startswith("}}", m.start()):
                self.state = ""
                return m.start() + 2
        elif not self.depth:  # "%}"
            self.state = ""
        return m.end()


#: (skeleton, piece path, id of the clausier) → (clausier, findings at the skeleton's
#: lines). Cleared past 4 096 entries.
_LINTED: BoundedMemo[tuple[str, str, int], tuple[Any, list]] = BoundedMemo(4096)


class Whole(Exception):
    """The skeleton is not enough: lint the whole source (syntax error, trial render)."""


def lint_source(env: Any, src: str, path: str, clausier: Any, lint: Callable) -> list:
    """``lint(env, source, path, clausier[, whole=False])`` — the linter of
    :mod:`tasks.clausier.templates` — on the piece's skeleton, once per process for
    each distinct skeleton, the findings' lines mapped back to the piece; on the whole
    source when the skeleton does not suffice (``lint`` raises :class:`Whole`) or when
    there is none."""
    got = skeleton(src)
    if got is None:
        return lint(env, src, path, clausier)
    skel, lines = got
    key = (skel, path, id(clausier))
    cached = _LINTED.get(key)
    if cached is None or cached[0] is not clausier:
        try:
            found = lint(env, skel, path, clausier, whole=False)
        except Whole:
            return lint(env, src, path, clausier)
        if any(not _mapped(f, len(lines)) for f in found):
            return lint(env, src, path, clausier)
        cached = _LINTED.put(key, (clausier, found))
    return [_at(f, lines) for f in cached[1]]


def _mapped(finding: Any, count: int) -> bool:
    """The finding has no line, or one of the skeleton's ``count`` lines."""
    loc = finding.location
    return loc is None or loc.line is None or 0 < loc.line <= count


def _at(finding: Any, lines: tuple[int, ...]) -> Any:
    """A copy of ``finding`` located at the piece's line (``lines``: skeleton → piece)."""
    loc = finding.location
    if loc is None or loc.line is None:
        return finding.model_copy(deep=True)
    at = loc.model_copy(update={"line": lines[loc.line - 1]})
    return finding.model_copy(update={"location": at}, deep=True)
