"""Piece templates: the sandboxed Jinja2 environment of assembly and its linter.

Size: over 700 lines — the sandbox environment and its linter share the same limits,
and the linter's trial render (runtime errors in French, at their line) must use the
very environment assembly uses; the lint cache is in lintcache.py.

A Markdown piece is a Jinja2 template rendered at assembly (:mod:`tasks.publish.assemble`)
with two names only: ``clause("ID", k=v…)`` and ``tender`` (tender.yaml as data).
Jinja2 comments are ``{## … ##}`` (``{#id}`` is a Pandoc heading attribute).

:func:`lint_templates` finds, without rendering and without Pandoc, what would stop
the assembly: syntax errors (French message, line of the construct left open),
unsafe constructs (imports, dunders, ``cycler``…), names assembly does not provide,
unknown filters, unknown clause ids and out-of-bounds clause parameters. It is cheap
enough for ``cahier check``: this module imports neither pypandoc nor typst.

Example::

    >>> from tasks.dossier.document import PieceText
    >>> src = '# CCAP\\n\\n{{ clause("ENV-COND-01"\\n\\n## Article 2\\n'
    >>> [f.location.line for f in lint_templates([PieceText("pieces/ccap.md", "ccap", "md",
    ...     raw_source=src)])]
    [3]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from jinja2 import (
    StrictUndefined,
    TemplateAssertionError,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    nodes,
)
from jinja2.sandbox import SandboxedEnvironment

from tasks.clausier.rules import rule_severity
from tasks.dossier.model import Finding, Location, Severity
from tasks.errors import InputError

from .lintcache import Whole, lint_source
from .sandbox import BoundedSandbox

if TYPE_CHECKING:
    from tasks.dossier.document import PieceText

    from .library import Clausier

__all__ = [
    "ASSEMBLY_NAMES",
    "TemplateEnvironment",
    "environment",
    "lint_templates",
    "scan_tokens",
    "syntax_message",
]

#: Names a piece template may read at assembly (tasks/publish/assemble.py, ``render_piece``).
ASSEMBLY_NAMES: frozenset[str] = frozenset({"clause", "tender"})

_UNSAFE_NAMES = frozenset(
    "cycler joiner namespace lipsum self config request os sys builtins globals getattr "
    "setattr eval exec open compile import __import__ subprocess mro".split()
)
_UNSAFE_BLOCKS = frozenset({"import", "from", "include", "extends"})
#: Block tags that need an ``end…`` tag (``set`` only in its block form).
_PAIRED = frozenset(
    {"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "trans", "set"}
)


class TemplateEnvironment(BoundedSandbox):
    """The bounded sandbox (loops, time, output, ``*``/``**``/``%``, widths; see
    :mod:`.sandbox`) with the piece syntax."""


def environment() -> TemplateEnvironment:
    """The assembly's environment: sandboxed, StrictUndefined, no globals, ``{## ##}``."""
    env = TemplateEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        # « {#id} » is a Pandoc heading attribute: Jinja comments are « {## … ##} ».
        comment_start_string="{##",
        comment_end_string="##}",
    )
    env.globals.clear()
    return env


def _finding(
    rule: str,
    piece: str,
    line: int | None,
    message: str,
    sev: Severity | None = None,
    clause: str | None = None,
) -> Finding:
    return Finding(
        rule=rule,
        clause=clause,
        severity=sev or rule_severity(rule),
        location=Location(file=piece, line=line),
        message=message,
    )


def scan_tokens(env: SandboxedEnvironment, source: str, piece: str) -> list[Finding]:
    """``gabarit-non-sur`` findings: what no piece needs and every known escape needs
    (imports, includes, dunders, ``cycler``/``joiner``/``namespace``…).

    Raises:
        TemplateSyntaxError: the lexer failed (see :func:`syntax_message`).
    """
    out: list[Finding] = []
    prev = ""
    for lineno, tok, value in env.lex(source):
        if tok == "name" and (
            value.startswith("_")
            or value in _UNSAFE_NAMES
            or (prev == "block_begin" and value in _UNSAFE_BLOCKS)
        ):
            out.append(
                _finding(
                    "gabarit-non-sur",
                    piece,
                    lineno,
                    f"instruction de gabarit refusée (« {value} ») : une pièce ne peut appeler "
                    'que clause("ID", …) et lire tender ; retirez cette instruction.',
                )
            )
        elif tok == "string" and "__" in value:
            out.append(
                _finding(
                    "gabarit-non-sur",
                    piece,
                    lineno,
                    "chaîne suspecte dans un gabarit (accès à un attribut interne) : "
                    "retirez cette instruction.",
                )
            )
        if tok != "whitespace":
            prev = tok
    return out


# --------------------------------------------------------------------------- syntax errors

_TOKEN_NAMES = {
    "end of print statement": "}}",
    "end of statement block": "%}",
    "begin of print statement": "{{",
    "begin of statement block": "{%",
    "end of comment": "##}",
    "begin of comment": "{##",
    "end of template": "la fin de la pièce",
    "name": "un nom",
    "string": "une chaîne entre guillemets",
    "integer": "un nombre",
    "float": "un nombre",
}
_CLOSING = {"variable": ("{{", "}}"), "block": ("{%", "%}"), "comment": ("{##", "##}")}


def _tok(desc: str) -> str:
    """A Jinja token description as the buyer sees it in the piece: « }} », « , »…"""
    desc = desc.strip("'\"")
    shown = _TOKEN_NAMES.get(desc, desc)
    return shown if shown.startswith(("un ", "une ", "la ")) else f"« {shown} »"


def _tags(text: str) -> str:
    names = re.findall(r"'(\w+)'", text)
    return " ou ".join(f"« {{% {n} %}} »" for n in names)


_MESSAGES: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"No (?P<k>filter|test) named '(?P<n>[^']+)'"),
        lambda m: (
            f"{'filtre' if m['k'] == 'filter' else 'test'} « {m['n']} » inconnu ou interdit "
            "dans une pièce : retirez-le"
        ),
    ),
    (
        re.compile(r"unexpected char (?P<c>'.*'|\".*\") at \d+"),
        lambda m: f"caractère « {m['c'][1:-1]} » inattendu dans une instruction de gabarit",
    ),
    (
        re.compile(r"unexpected end of template, expected (?P<e>'[^']*'|\"[^\"]*\")\.?", re.I),
        lambda m: f"fin de la pièce atteinte : {_tok(m['e'])} attendu",
    ),
    (
        re.compile(
            r"Encountered unknown tag '(?P<t>\w+)'\. You probably made a nesting mistake\. "
            r"Jinja is expecting this tag, but currently looking for (?P<tags>.*?)\. "
            r"The innermost block that needs to be closed is '(?P<b>\w+)'\.",
            re.S,
        ),
        lambda m: (
            f"« {{% {m['t']} %}} » ne ferme pas le bloc « {{% {m['b']} %}} » en cours "
            f"({_tags(m['tags'])} attendu : blocs mal imbriqués)"
        ),
    ),
    (
        re.compile(
            r"Encountered unknown tag '(?P<t>\w+)'\. Jinja was looking for the following tags: "
            r"(?P<tags>.*?)\. The innermost block that needs to be closed is '(?P<b>\w+)'\.",
            re.S,
        ),
        lambda m: (
            f"instruction « {{% {m['t']} %}} » inattendue dans le bloc "
            f"« {{% {m['b']} %}} » ({_tags(m['tags'])} attendu)"
        ),
    ),
    (
        re.compile(r"Encountered unknown tag '(?P<t>\w+)'\.?"),
        lambda m: f"instruction « {{% {m['t']} %}} » inconnue ou sans bloc ouvert",
    ),
    (
        re.compile(
            r"Unexpected end of template\. Jinja was looking for the following tags: "
            r"(?P<tags>.*?)\. The innermost block that needs to be closed is '(?P<b>\w+)'\.",
            re.S,
        ),
        lambda m: (
            f"fin de la pièce atteinte sans fermer le bloc « {{% {m['b']} %}} » "
            f"({_tags(m['tags'])} attendu)"
        ),
    ),
    (re.compile(r"unexpected end of template", re.I), lambda m: "fin de la pièce inattendue"),
    (
        re.compile(r"expected token (?P<e>'[^']*'|\"[^\"]*\"), got (?P<g>'[^']*'|\"[^\"]*\")"),
        lambda m: f"{_tok(m['e'])} attendu, {_tok(m['g'])} trouvé",
    ),
    (
        re.compile(r"unexpected (?P<g>'[^']*'|\"[^\"]*\"), expected (?P<e>'[^']*'|\"[^\"]*\")"),
        lambda m: f"{_tok(m['g'])} inattendu, {_tok(m['e'])} attendu",
    ),
    (
        re.compile(r"unexpected (?P<g>'[^']*'|\"[^\"]*\")"),
        lambda m: f"{_tok(m['g'])} inattendu",
    ),
    (
        re.compile(r"Expected an expression, got (?P<g>'[^']*'|\"[^\"]*\")"),
        lambda m: f"expression attendue, {_tok(m['g'])} trouvé",
    ),
    (re.compile(r"tag name expected"), lambda m: "nom d'instruction attendu après « {% »"),
    (
        re.compile(r"missing end of comment tag", re.I),
        lambda m: "commentaire « {## » jamais refermé par « ##} »",
    ),
    (
        re.compile(r"missing end of raw directive", re.I),
        lambda m: "« {% raw %} » jamais refermé par « {% endraw %} »",
    ),
    (re.compile(r"expected name or number"), lambda m: "nom ou nombre attendu après « . »"),
    (
        re.compile(r"invalid syntax for function call expression"),
        lambda m: (
            "appel de fonction mal formé (les arguments nommés viennent après les autres, "
            'ex. clause("ENV-COND-01", penalite_jour=50))'
        ),
    ),
    (
        re.compile(r"can't assign to (?P<g>'[^']*')"),
        lambda m: f"affectation impossible à {_tok(m['g'])}",
    ),
]


def _translate(message: str) -> str:
    for rx, fmt in _MESSAGES:
        m = rx.search(message)
        if m:
            return fmt(m)
    return "erreur de syntaxe : instruction de gabarit mal formée (vérifiez « {{ }} » et « {% %} »)"


def _structure(
    env: SandboxedEnvironment, source: str
) -> tuple[list[tuple[str, int, int | None]], list[tuple[int, str, str]]]:
    """Delimited constructs ``(kind, begin line, end line or None)`` and block events
    ``(line, "open"|"close", tag)`` read by the lexer, up to its first error."""
    spans: list[tuple[str, int, int | None]] = []
    events: list[tuple[int, str, str]] = []
    cur: list[Any] | None = None  # [kind, begin, tag, has_assign]
    try:
        for lineno, tok, value in env.lexer.tokeniter(source, None):
            if tok in ("variable_begin", "block_begin", "comment_begin"):
                cur = [tok.split("_")[0], lineno, None, False]
            elif tok in ("variable_end", "block_end", "comment_end") and cur is not None:
                spans.append((cur[0], cur[1], lineno))
                tag = cur[2]
                if cur[0] == "block" and tag:
                    if tag.startswith("end"):
                        events.append((cur[1], "close", tag[3:]))
                    elif tag in _PAIRED and not (tag == "set" and cur[3]):
                        events.append((cur[1], "open", tag))
                cur = None
            elif cur is not None and cur[0] == "block":
                if tok == "name" and cur[2] is None:
                    cur[2] = value
                elif tok == "operator" and value == "=":
                    cur[3] = True
    except TemplateSyntaxError:
        pass
    if cur is not None:
        spans.append((cur[0], cur[1], None))
    return spans, events


def _open_blocks(events: list[tuple[int, str, str]], before: int | None) -> list[tuple[str, int]]:
    stack: list[tuple[str, int]] = []
    for line, action, tag in events:
        if before is not None and line >= before:
            break
        if action == "open":
            stack.append((tag, line))
        elif stack and stack[-1][0] == tag:
            stack.pop()
    return stack


def syntax_message(
    exc: TemplateSyntaxError, source: str, env: SandboxedEnvironment | None = None
) -> tuple[int | None, str]:
    """French message and line of a Jinja2 syntax error in a piece.

    The line is the one to fix: where an unclosed ``{{``/``{%`` was opened, where an
    unclosed block starts (``{% if %}`` without ``{% endif %}``), else Jinja's line.
    Jinja's English messages (« unexpected char '#' at 3229 », « unexpected end of
    template », « expected token ',', got 'b' »…) are translated.

    Returns:
        ``(line, message)`` — message without the file, ending with a full stop.
    """
    env = env or environment()
    err_line = exc.lineno
    detail = _translate(exc.message or "")
    spans, events = _structure(env, source)
    raw = exc.message or ""
    if re.search(r"unexpected end of template\. Jinja was looking", raw, re.I):
        stack = _open_blocks(events, None)
        if stack:
            tag, line = stack[-1]
            return line, (
                f"bloc « {{% {tag} %}} » ouvert ligne {line} jamais fermé : "
                f"ajoutez « {{% end{tag} %}} » avant la fin de la pièce."
            )
    if "nesting mistake" in raw or "Jinja was looking for the following tags" in raw:
        stack = _open_blocks(events, err_line)
        if stack:
            tag, line = stack[-1]
            return err_line, f"{detail} ; le bloc « {{% {tag} %}} » est ouvert ligne {line}."
    for kind, begin, end in reversed(spans):
        if err_line is None or begin > err_line:
            continue
        opening, closing = _CLOSING[kind]
        if end is None and kind == "comment":
            return begin, f"commentaire « {{## » ouvert ligne {begin} jamais refermé par « ##}} »."
        if end is None:
            where = f", ligne {err_line}" if err_line and err_line != begin else ""
            return begin, (
                f"« {opening} » ouvert ligne {begin} n'est jamais refermé par « {closing} » "
                f"({detail}{where}) ; "
                + (
                    'refermez-le, ex. {{ clause("ENV-COND-01", …) }}.'
                    if kind == "variable"
                    else "refermez-le, ex. {% if tender.donneesPersonnelles %}."
                )
            )
        if begin < err_line <= end:
            return begin, (
                f"instruction « {opening} … {closing} » commencée ligne {begin} : {detail} "
                f"(ligne {err_line}) ; vérifiez qu'elle est refermée par « {closing} » "
                "sur sa ligne."
            )
        if end < err_line:
            break
    return err_line, f"{detail}."


def _syntax_finding(
    exc: TemplateSyntaxError, source: str, piece: str, env: SandboxedEnvironment
) -> Finding:
    line, message = syntax_message(exc, source, env)
    return _finding("gabarit-invalide", piece, line, f"gabarit invalide : {message}")


# --------------------------------------------------------------------------- lint


def _first_lines(ast: nodes.Template) -> dict[str, int]:
    lines: dict[str, int] = {}
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load":
            lines.setdefault(node.name, node.lineno)
    return lines


def _const(node: nodes.Node) -> tuple[bool, Any]:
    if isinstance(node, nodes.Const):
        return True, node.value
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const):
        return isinstance(node.node.value, int | float), -node.node.value
    return False, None


def _lint_calls(ast: nodes.Template, piece: str, clausier: Clausier) -> list[Finding]:
    from .render import validate_params

    out: list[Finding] = []
    for call in ast.find_all(nodes.Call):
        if not (isinstance(call.node, nodes.Name) and call.node.name == "clause"):
            continue
        line = call.lineno
        ok, cid = _const(call.args[0]) if call.args else (False, None)
        if not ok or not isinstance(cid, str):
            out.append(
                _finding(
                    "gabarit-invalide",
                    piece,
                    line,
                    "gabarit invalide : clause() attend l'identifiant de la clause en premier, "
                    'entre guillemets (ex. clause("ENV-COND-01", penalite_jour=50)).',
                )
            )
            continue
        clause = clausier.get(cid)
        if clause is None:
            out.append(
                _finding(
                    "gabarit-invalide",
                    piece,
                    line,
                    clausier.unknown(cid),
                    clause=cid,
                )
            )
            continue
        params: dict[str, Any] = {}
        literal = not (call.dyn_args or call.dyn_kwargs) and len(call.args) == 1
        for kw in call.kwargs:
            ok, value = _const(kw.value)
            literal = literal and ok
            params[kw.key] = value
        if literal:
            try:
                validate_params(clause, params)
            except InputError as exc:
                out.append(_finding("gabarit-invalide", piece, line, exc.message, clause=cid))
    return out


def lint_templates(
    pieces: Iterable[PieceText], clausier: Clausier | None = None, tender: Any = None
) -> list[Finding]:
    """Template findings of the Markdown pieces, as assembly would meet them, without
    rendering and without Pandoc.

    For each piece of format ``md`` with a ``raw_source``, in order:

    * ``gabarit-invalide``: Jinja2 syntax error (French message, line of the ``{{``,
      ``{%`` or block left open — :func:`syntax_message`);
    * ``gabarit-non-sur``: construct refused by the sandbox rules (imports, includes,
      dunders, ``cycler``…) — :func:`scan_tokens`;
    * ``gabarit-invalide``: a name other than those assembly provides
      (:data:`ASSEMBLY_NAMES`, via :func:`jinja2.meta.find_undeclared_variables`), an
      unknown filter or test;
    * with ``clausier``: ``gabarit-invalide`` for ``clause("ID", …)`` with an unknown
      id (``Finding.clause`` = the id) or literal parameters outside the clause's
      types/bounds (:func:`tasks.clausier.render.validate_params`);
    * a template that computes (loops, filters, arithmetic, indexing, calls other than
      ``clause()``) is rendered on trial (:func:`_trial_render`): ``gabarit-non-sur``
      past the sandbox's bounds and, with ``tender`` (the
      :class:`~tasks.dossier.model.Tender`), ``gabarit-invalide`` for an error of the
      template itself, in French.

    A piece with a syntax error or an unsafe construct gets only those findings.

    Args:
        pieces: pieces as read by :func:`tasks.dossier.reader.read_dossier` (others skipped).
        clausier: the clause library, to check clause ids and parameters.

    Returns:
        error-level findings located by file (piece path) and 1-based line, in piece
        order then line order.
    """
    env = environment()
    out: list[Finding] = []
    lint = _lint_piece
    if tender is not None:
        fields = _Lazy(lambda: tender.model_dump(mode="json"))
        lint = functools.partial(_lint_piece, tender=fields)
    for piece in pieces:
        src = piece.raw_source
        if piece.format == "md" and src and re.search(r"\{[{%]|\{##", src):
            out.extend(lint_source(env, src, piece.path, clausier, lint))
    return out


class _Lazy:
    """A value computed on first use (the tender's fields, only for a trial render)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make, self.value = make, None

    def get(self) -> Any:
        if self.value is None:
            self.value = self.make()
        return self.value


def _lint_piece(
    env: SandboxedEnvironment,
    src: str,
    path: str,
    clausier: Clausier | None,
    whole: bool = True,
    tender: _Lazy | None = None,
) -> list[Finding]:
    """The findings of one Markdown source, in line order (see :func:`lint_templates`).

    ``whole=False``: ``src`` is a skeleton (:mod:`.lintcache`); raises
    :class:`~.lintcache.Whole` where the prose matters (a syntax error's message, a trial
    render)."""
    try:
        unsafe = scan_tokens(env, src, path)
        ast = env.parse(src) if not unsafe else None
    except TemplateSyntaxError as exc:
        if not whole:
            raise Whole from None
        return [_syntax_finding(exc, src, path, env)]
    if ast is None:
        return unsafe
    found = [
        *_unknown_names(ast, path),
        *_repeated_keywords(ast, path),
        *_unknown_filters(env, ast, path),
    ]
    if clausier is not None:
        found.extend(_lint_calls(ast, path, clausier))
    if not found and _computes(ast):
        if not whole:
            raise Whole
        found.extend(_trial_render(env, src, path, tender.get() if tender else None))
    found.sort(key=lambda f: (f.location.line or 0) if f.location else 0)
    return found


#: Template nodes that compute (a trial render may fail or run long on them).
_COMPUTING = (
    nodes.For,
    nodes.Filter,
    nodes.Mul,
    nodes.Mod,
    nodes.Pow,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Add,
    nodes.Sub,
    nodes.Neg,
    nodes.Getitem,
    nodes.Macro,
    nodes.CallBlock,
)


def _computes(ast: nodes.Template) -> bool:
    """The template does more than print ``tender`` fields and call ``clause()``."""
    if any(True for _ in ast.find_all(_COMPUTING)):
        return True
    return any(
        not (isinstance(c.node, nodes.Name) and c.node.name == "clause")
        for c in ast.find_all(nodes.Call)
    )


def _unknown_names(ast: nodes.Template, path: str) -> list[Finding]:
    """Names other than those assembly provides (:data:`ASSEMBLY_NAMES`)."""
    lines = _first_lines(ast)
    try:
        undeclared = meta.find_undeclared_variables(ast)
    except TemplateAssertionError:  # unknown filter or test: reported apart
        stored = {n.name for n in ast.find_all(nodes.Name) if n.ctx != "load"}
        undeclared = set(lines) - stored
    return [
        _finding(
            "gabarit-invalide",
            path,
            lines.get(name),
            f"variable inconnue « {name} » : une pièce ne peut utiliser que "
            'clause("ID", …) et tender (ex. {{ tender.objet }}).',
        )
        for name in sorted(undeclared - ASSEMBLY_NAMES)
    ]


def _repeated_keywords(ast: nodes.Template, path: str) -> list[Finding]:
    """A keyword given twice in one call."""
    out: list[Finding] = []
    for call in ast.find_all(nodes.Call):
        keys = [kw.key for kw in call.kwargs]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            message = (
                f"gabarit invalide : paramètre « {key} » répété dans le même appel ; "
                "gardez-en un seul."
            )
            out.append(_finding("gabarit-invalide", path, call.lineno, message))
    return out


def _unknown_filters(env: SandboxedEnvironment, ast: nodes.Template, path: str) -> list[Finding]:
    """Filters and tests Jinja2 does not know."""
    out: list[Finding] = []
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        known = env.filters if isinstance(node, nodes.Filter) else env.tests
        if node.name not in known:
            what = "filtre" if isinstance(node, nodes.Filter) else "test"
            message = f"{what} « {node.name} » inconnu de Jinja2 : retirez-le ou corrigez son nom."
            out.append(_finding("gabarit-invalide", path, node.lineno, message))
    return out


def _trial_render(
    env: SandboxedEnvironment, source: str, piece: str, tender: dict | None = None
) -> list[Finding]:
    """Render a piece under the sandbox's bounds with ``clause()`` → "" and ``tender``
    (the tender's fields, as the assembly gives them; None: an empty stand-in): a loop,
    a width or a repetition past the bounds is found by ``cahier check``
    (``gabarit-non-sur``, with its line) and not first by the assembly. With the real
    ``tender``, an error of the template itself (division by zero, text added to a
    number, a list element that does not exist…) is ``gabarit-invalide`` with its line;
    with the stand-in, such errors are left to the assembly."""
    from jinja2 import ChainableUndefined

    from .sandbox import RenderLimit, render_bounded

    trial = environment()
    if tender is None:
        trial.undefined = ChainableUndefined  # stand-in data: any field may be read
    trial.globals.update(
        clause=lambda *a, **k: "",
        tender=ChainableUndefined(name="tender") if tender is None else tender,
    )
    try:
        render_bounded(trial.from_string(source), seconds=2.0)
    except RenderLimit as exc:
        return [
            _finding(
                "gabarit-non-sur",
                piece,
                template_line(exc),
                f"opération refusée par le bac à sable ({exc}) : retirez cette instruction.",
            )
        ]
    except Exception as exc:
        if tender is None:
            return []  # stand-in data: the assembly reports it with the real data
        return [
            _finding(
                "gabarit-invalide",
                piece,
                template_line(exc),
                f"erreur dans le gabarit : {runtime_message(exc)}.",
            )
        ]
    return []


def template_line(exc: BaseException) -> int | None:
    """Line of the piece where a template error was raised (its traceback's frame in
    ``<template>``), else the exception's ``lineno``."""
    import traceback

    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return getattr(exc, "lineno", None)


_UNDEFINED_MESSAGES = [
    (re.compile(r"^'(?P<n>[^']+)' is undefined$"), "variable « {n} » inconnue"),
    (
        re.compile(r"^'(?P<o>[^']+)' (?:object )?has no attribute '(?P<n>[^']+)'$"),
        "champ « {n} » absent",
    ),
    (
        re.compile(r"^(?P<o>\w+) object has no element (?P<n>.+)$"),
        "élément {n} absent (la liste est plus courte)",
    ),
]

#: French words for the errors a template's own code can raise (most specific first).
_RUNTIME_MESSAGES: tuple[tuple[type[BaseException], str], ...] = (
    (ZeroDivisionError, "division par zéro"),
    (RecursionError, "appels sans fin (une macro qui s'appelle elle-même)"),
    (OverflowError, "nombre trop grand"),
    (UnicodeError, "caractère impossible à convertir dans cet encodage"),
    (TypeError, "opération entre des valeurs de types incompatibles (texte, nombre, liste…)"),
    (ValueError, "valeur impossible à convertir pour cette opération"),
    (ArithmeticError, "calcul impossible"),
)


def runtime_message(exc: BaseException) -> str:
    """What went wrong in a template, in French, without Python's English text:
    « variable « x » inconnue », « division par zéro »…"""
    if isinstance(exc, UndefinedError):
        msg = str(exc.message or "")
        for rx, text in _UNDEFINED_MESSAGES:
            m = rx.match(msg)
            if m:
                return text.format(**m.groupdict())
        return "valeur absente"
    for kind, text in _RUNTIME_MESSAGES:
        if isinstance(exc, kind):
            return text
    return "erreur à l'exécution du gabarit"
