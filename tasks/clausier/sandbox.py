"""The bounded Jinja2 sandbox shared by clause texts and piece templates.

Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment` stops a template from reaching
Python internals, but not from running for hours or filling the memory: a one-line
``{% for a in "x"*99999 %}{% for b in "x"*99999 %}{% endfor %}{% endfor %}`` is a
valid, safe template that never ends. :class:`BoundedSandbox` adds the bounds where the
work happens, with counters rather than signals (so they hold inside a Prefect task
thread as well as on the main thread):

* every ``{% for %}`` iterates through a counter: at most :data:`MAX_ITERATIONS`
  iterations per render, and the render's deadline (:data:`RENDER_SECONDS`) is checked
  at each one;
* the output is produced chunk by chunk (:meth:`jinja2.Template.generate`) and stops at
  :data:`MAX_OUTPUT_CHARS` characters;
* ``*`` and ``**`` are bounded (no gigabyte string, no huge power), ``%`` refuses
  widths beyond :data:`MAX_WIDTH`, any call or filter receiving an integer beyond
  :data:`MAX_WIDTH` (``center(10**9)``, ``"x".ljust(…)``) is refused, and
  ``str.replace`` may not grow a string beyond :data:`MAX_OUTPUT_CHARS`;
* the ``attr`` filter is removed (with Jinja2 3.1.5 it let ``|attr("format")`` escape
  the sandbox; ``jinja2>=3.1.6`` is required too).

A bound reached raises :class:`RenderLimit` (a :class:`jinja2.exceptions.SecurityError`,
French message), which the callers turn into a located finding or an
:class:`~tasks.errors.InputError`.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "MAX_ITERATIONS",
    "MAX_OUTPUT_CHARS",
    "MAX_WIDTH",
    "RENDER_SECONDS",
    "BoundedSandbox",
    "RenderLimit",
    "render_bounded",
]

#: Loop iterations allowed in one render (all loops together).
MAX_ITERATIONS = 200_000
#: Characters a render may produce (a piece is a few hundred KB at most).
MAX_OUTPUT_CHARS = 5_000_000
#: Seconds one render may take (wall clock, checked at each loop iteration and chunk).
RENDER_SECONDS = 10.0
#: Largest repetition count, width or integer argument a template may pass.
MAX_WIDTH = 100_000

_LOOP_FILTER = "cahier_boucle_bornee"
_WIDTH_RE = re.compile(r"%[-+ #0]*(\d+|\*)")
_state = threading.local()


class RenderLimit(SecurityError):
    """A template went past a bound (iterations, time, output size, width): French text."""


class _Budget:
    __slots__ = ("deadline", "iterations", "max_iterations", "seconds")

    def __init__(self, seconds: float, max_iterations: int):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.iterations = 0
        self.max_iterations = max_iterations

    def tick(self) -> None:
        self.iterations += 1
        if self.iterations > self.max_iterations:
            raise RenderLimit(
                f"boucle trop longue : plus de {self.max_iterations} tours dans un même rendu"
            )
        if self.iterations % 64 == 0 and time.monotonic() > self.deadline:
            raise RenderLimit(f"rendu trop long : plus de {self.seconds:g} s")


@contextmanager
def _budget(seconds: float, max_iterations: int) -> Iterator[_Budget]:
    outer = getattr(_state, "budget", None)
    if outer is not None:  # a clause rendered inside a piece shares the piece's budget
        yield outer
        return
    _state.budget = _Budget(seconds, max_iterations)
    try:
        yield _state.budget
    finally:
        _state.budget = None


def _bounded_iter(value: Iterable[Any]) -> Iterator[Any]:
    budget = getattr(_state, "budget", None)
    if budget is None:  # rendered outside render_bounded: still bounded
        budget = _Budget(RENDER_SECONDS, MAX_ITERATIONS)
    for item in value:
        budget.tick()
        yield item


def _check_ints(args: Iterable[Any], what: str) -> None:
    for a in args:
        if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_WIDTH:
            raise RenderLimit(f"valeur {a} trop grande pour {what} (au plus {MAX_WIDTH})")


def _guard_filter(name: str, func: Any) -> Any:
    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_ints(args[1:], f"le filtre « {name} »")
        _check_ints(kwargs.values(), f"le filtre « {name} »")
        return func(*args, **kwargs)

    return guarded


class BoundedSandbox(SandboxedEnvironment):
    """Jinja2 sandbox with loop, time, output and size bounds (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.filters.pop("attr", None)
        self.filters = {n: _guard_filter(n, f) for n, f in self.filters.items()}
        self.filters[_LOOP_FILTER] = _bounded_iter

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(
                loop.iter, _LOOP_FILTER, [], [], None, None, lineno=loop.lineno
            )
        return tree

    def call_binop(self, context, operator, left, right):  # type: ignore[no-untyped-def]
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise RenderLimit("puissance trop grande")
        if operator == "*":
            for a, b in ((left, right), (right, left)):
                if (
                    isinstance(a, str | list | tuple)
                    and isinstance(b, int)
                    and len(a) * b > MAX_WIDTH
                ):
                    raise RenderLimit("répétition trop grande")
        if operator == "%" and isinstance(left, str):
            for m in _WIDTH_RE.finditer(left):
                if m.group(1) == "*" or int(m.group(1)) > MAX_WIDTH:
                    raise RenderLimit("largeur de format trop grande")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # type: ignore[no-untyped-def]
        _check_ints(args, "cet appel")
        _check_ints(kwargs.values(), "cet appel")
        owner = getattr(__obj, "__self__", None)
        if (
            isinstance(owner, str)
            and getattr(__obj, "__name__", "") == "replace"
            and len(args) >= 2
        ):
            old, new = str(args[0]), str(args[1])
            grows = owner.count(old) if old else len(owner) + 1
            if len(owner) + grows * max(0, len(new) - len(old)) > MAX_OUTPUT_CHARS:
                raise RenderLimit("remplacement produisant un texte trop grand")
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in ("format", "format_map"):
            for spec in re.findall(r"\{[^{}]*:[^{}]*?(\d+)[^{}]*\}", owner):
                if int(spec) > MAX_WIDTH:
                    raise RenderLimit("largeur de format trop grande")
        return super().call(__context, __obj, *args, **kwargs)


def render_bounded(
    template: Any,
    context: dict[str, Any] | None = None,
    *,
    seconds: float = RENDER_SECONDS,
    max_iterations: int = MAX_ITERATIONS,
    max_chars: int = MAX_OUTPUT_CHARS,
) -> str:
    """Render ``template`` (a :class:`jinja2.Template`) within the bounds.

    Works in any thread (no signal). A clause rendered from inside a piece's render
    shares the piece's budget.

    Raises:
        RenderLimit: more than ``max_iterations`` loop iterations, ``seconds`` of wall
            time or ``max_chars`` characters of output (French message).
        jinja2.TemplateError: the template's own errors, unchanged.
    """
    with _budget(seconds, max_iterations) as budget:
        out: list[str] = []
        size = 0
        for chunk in template.generate(**(context or {})):
            size += len(chunk)
            if size > max_chars:
                raise RenderLimit(f"texte produit trop grand : plus de {max_chars} caractères")
            if time.monotonic() > budget.deadline:
                raise RenderLimit(f"rendu trop long : plus de {budget.seconds:g} s")
            out.append(chunk)
        return "".join(out)
