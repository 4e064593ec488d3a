"""Rendering clauses from the clausier (sandboxed Jinja2) and recognising them again.

A clause's ``text`` is a Jinja2 template whose only variables are its own
``parameters``. It is rendered in a :class:`jinja2.sandbox.SandboxedEnvironment` with
:class:`jinja2.StrictUndefined`: a user-supplied template can neither reach Python
internals nor silently print an empty value.

In a piece a clause appears either as ``{{ clause("ENV-COND-01", delai_rapport_mois=6) }}``
or, once rendered, as a Pandoc fenced div::

    ::: {.clause data-id="ENV-COND-01" data-version="1"}
    …rendered text…
    :::

:func:`template_pattern` turns a clause template into a regular expression (its
parameters becoming wildcards) so that a rendered div can be told apart from an
edited one whatever parameter values were chosen.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from tasks import fmt
from tasks.dossier.model import Clause
from tasks.errors import InputError

from .sandbox import BoundedSandbox, RenderLimit, render_bounded

__all__ = [
    "CLAUSE_CALL_RE",
    "FENCE_OPEN_RE",
    "ClauseCall",
    "clause_block",
    "clause_param_errors",
    "match_clause",
    "matches_clause",
    "parse_call_args",
    "render_clause",
    "sandbox",
    "squash",
    "template_pattern",
    "template_patterns",
    "validate_params",
]

CLAUSE_CALL_RE = re.compile(r"\{\{-?\s*clause\(\s*(?P<args>[^{}]*?)\s*\)\s*-?\}\}")
FENCE_OPEN_RE = re.compile(r"^\s*:{3,}\s*\{(?P<attrs>[^}]*\.clause\b[^}]*)\}\s*$")
FENCE_CLOSE_RE = re.compile(r"^\s*:{3,}\s*$")
_ATTR_RE = re.compile(r'data-(?P<k>[\w-]+)\s*=\s*"(?P<v>[^"]*)"')


def sandbox() -> SandboxedEnvironment:
    """A fresh bounded sandbox (:class:`.sandbox.BoundedSandbox`: StrictUndefined, no
    autoescape, loop/time/output bounds)."""
    return BoundedSandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        finalize=format_value,
    )


def squash(text: str) -> str:
    """Whitespace collapsed to single spaces, stripped (comparison form)."""
    return " ".join(text.split())


def validate_params(
    clause: Clause, params: dict[str, Any], where: str | None = None
) -> dict[str, Any]:
    """Parameters merged with defaults and checked against the clause's types and bounds.

    Returns:
        ``{name: value}`` for every parameter of the clause.

    Raises:
        InputError: unknown parameter, wrong type, out of bounds or not in ``choices``
            (French message naming the clause).
    """
    out: dict[str, Any] = {}
    for name in params:
        if name not in clause.parameters:
            known = ", ".join(clause.parameters) or "aucun"
            raise InputError(
                f"paramètre « {name} » inconnu pour la clause {clause.id} (paramètres : {known}).",
                where,
            )
    for name, spec in clause.parameters.items():
        value = params.get(name, spec.default)
        if value is None:
            raise InputError(f"paramètre « {name} » obligatoire pour la clause {clause.id}.", where)
        ok = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "str": lambda v: isinstance(v, str),
            "bool": lambda v: isinstance(v, bool),
            "date": lambda v: isinstance(v, dt.date | str),
        }[spec.type](value)
        if not ok:
            raise InputError(
                f"paramètre « {name} » de la clause {clause.id} : type {spec.type} attendu "
                f"(reçu « {value} »).",
                where,
            )
        if spec.type in ("int", "float"):
            if spec.min is not None and value < spec.min:
                raise InputError(
                    f"paramètre « {name} » de la clause {clause.id} : {value} est inférieur "
                    f"au minimum {spec.min:g}{' ' + spec.unit if spec.unit else ''}.",
                    where,
                )
            if spec.max is not None and value > spec.max:
                raise InputError(
                    f"paramètre « {name} » de la clause {clause.id} : {value} dépasse "
                    f"le maximum {spec.max:g}{' ' + spec.unit if spec.unit else ''}.",
                    where,
                )
        if spec.choices is not None and value not in spec.choices:
            raise InputError(
                f"paramètre « {name} » de la clause {clause.id} : « {value} » n'est pas "
                f"une valeur possible ({', '.join(map(str, spec.choices))}).",
                where,
            )
        out[name] = value
    return out


@lru_cache(maxsize=256)
def _compiled(clause_id: str, version: int, text: str):
    try:
        return _ENV.from_string(text)
    except TemplateError as exc:
        raise InputError(f"modèle Jinja2 invalide dans la clause {clause_id} : {exc}") from None


def render_clause(
    clause: Clause, params: dict[str, Any] | None = None, where: str | None = None
) -> str:
    """The clause text rendered with ``params`` (defaults for the others).

    Raises:
        InputError: invalid parameters or a template error.
    """
    values = validate_params(clause, params or {}, where)
    try:
        template = _compiled(clause.id, clause.version, clause.text)
        return render_bounded(template, values).strip()
    except RenderLimit as exc:
        raise InputError(
            f"rendu de la clause {clause.id} arrêté ({exc}) : simplifiez son texte.", where
        ) from None
    except TemplateError as exc:
        raise InputError(f"rendu impossible de la clause {clause.id} : {exc}", where) from None


def clause_block(clause: Clause, params: dict[str, Any] | None = None) -> str:
    """The rendered clause wrapped in its fenced div (what a piece carries once rendered)."""
    body = render_clause(clause, params)
    return f'::: {{.clause data-id="{clause.id}" data-version="{clause.version}"}}\n{body}\n:::'


_SENTINEL = "zqxparam{}xqz"  # survives normalize_text (letters and digits only)


def _comparable(text: str) -> str:
    """Comparison form of clause text: typographic noise normalised (curly apostrophes,
    NBSP, ligatures… — :func:`tasks.dossier.normalize.normalize_text`), whitespace squashed."""
    from tasks.dossier.normalize import normalize_text

    return squash(normalize_text(text))


@lru_cache(maxsize=256)
def _patterns(
    clause_id: str, version: int, text: str, names: tuple[str, ...], bools: tuple[str, ...]
) -> tuple[tuple[re.Pattern[str], tuple[str, ...], dict[str, bool]], ...]:
    import itertools

    out = []
    # Boolean parameters switch passages on and off: one pattern per combination
    # (clauses have at most a few); other parameters become capturing wildcards.
    for combo in itertools.product((False, True), repeat=len(bools)):
        flags = dict(zip(bools, combo, strict=True))
        values: dict[str, Any] = {n: _SENTINEL.format(i) for i, n in enumerate(names)}
        values.update(flags)
        env = sandbox()
        env.finalize = lambda v: v
        try:
            rendered = env.from_string(text).render(**values)
        except TemplateError:
            # A template that filters or compares its parameters cannot take sentinels:
            # fall back to an exact comparison with the template source.
            return ((re.compile(re.escape(_comparable(text))), (), {}),)
        parts = re.split(r"(zqxparam\d+xqz)", _comparable(rendered))
        rx, groups = [], []
        for part in parts:
            m = re.fullmatch(r"zqxparam(\d+)xqz", part)
            if m:
                rx.append(r"(.+?)")
                groups.append(names[int(m.group(1))])
            else:
                rx.append(re.escape(part))
        out.append((re.compile("".join(rx), re.DOTALL), tuple(groups), flags))
    return tuple(out)


def template_patterns(clause: Clause) -> tuple[re.Pattern[str], ...]:
    """Regexes matching the comparison form of ``clause``'s rendering, one per combination
    of its boolean parameters, other parameters being wildcards."""
    return tuple(p for p, _, _ in _clause_patterns(clause))


def template_pattern(clause: Clause) -> re.Pattern[str]:
    """The first of :func:`template_patterns` (all boolean parameters false)."""
    return template_patterns(clause)[0]


def _clause_patterns(clause: Clause):
    bools = tuple(n for n, p in clause.parameters.items() if p.type == "bool")
    names = tuple(n for n in clause.parameters if n not in bools)
    return _patterns(clause.id, clause.version, clause.text, names, bools)


def _parse_number(text: str) -> float | None:
    """« 1 000 », « 1,5 », « 12 » → float; None when not a number."""
    t = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


def match_clause(clause: Clause, text: str) -> dict[str, Any] | None:
    """The parameter values of ``text`` if it is the library's rendering of ``clause``.

    Returns:
        ``{parameter: value}`` (numbers parsed from their French rendering, booleans
        from the passage rendered) when ``text`` matches the clause for some values,
        else None. The values are not validated: see :func:`clause_param_errors`.
    """
    body = _comparable(text)
    for pattern, groups, flags in _clause_patterns(clause):
        m = pattern.fullmatch(body)
        if not m:
            continue
        values: dict[str, Any] = dict(flags)
        consistent = True
        for name, raw in zip(groups, m.groups(), strict=True):
            spec = clause.parameters[name]
            value: Any = raw
            if spec.type in ("int", "float"):
                num = _parse_number(raw)
                value = (
                    raw
                    if num is None
                    else (int(num) if spec.type == "int" and num.is_integer() else num)
                )
            if name in values and values[name] != value:
                consistent = False  # the same parameter printed with two values
            values[name] = value
        if consistent:
            return values
    return None


def matches_clause(clause: Clause, text: str) -> bool:
    """Whether ``text`` is the library's rendering of ``clause`` (any parameter values)."""
    return match_clause(clause, text) is not None


def clause_param_errors(clause: Clause, values: dict[str, Any]) -> list[str]:
    """French reasons why rendered parameter ``values`` break the clause's types/bounds."""
    errors = []
    for name, value in values.items():
        spec = clause.parameters.get(name)
        if spec is None or spec.type in ("bool", "date"):
            continue
        if spec.type in ("int", "float"):
            if not isinstance(value, int | float):
                errors.append(f"« {name} » vaut « {value} », un nombre est attendu")
                continue
            unit = f" {spec.unit}" if spec.unit else ""
            if spec.min is not None and value < spec.min:
                errors.append(
                    f"« {name} » vaut {format_value(value)}, minimum {format_value(spec.min)}{unit}"
                )
            if spec.max is not None and value > spec.max:
                errors.append(
                    f"« {name} » vaut {format_value(value)}, maximum {format_value(spec.max)}{unit}"
                )
        if spec.choices is not None and value not in [str(c) for c in spec.choices] + list(
            spec.choices
        ):
            errors.append(
                f"« {name} » vaut « {value} », valeurs possibles : {', '.join(map(str, spec.choices))}"
            )
    return errors


class ClauseCall:
    """A ``clause("ID", k=v…)`` call found in a piece's source."""

    __slots__ = ("clause_id", "line", "params")

    def __init__(self, clause_id: str, params: dict[str, Any], line: int):
        self.clause_id = clause_id
        self.params = params
        self.line = line


_BARE = {"true": True, "false": False, "True": True, "False": False, "vrai": True, "faux": False}


def _literal(node: ast.expr) -> Any:
    """A literal value; bare ``true``/``false`` (Jinja2 and YAML spelling) are booleans."""
    if isinstance(node, ast.Name) and node.id in _BARE:
        return _BARE[node.id]
    return ast.literal_eval(node)


def format_value(value: Any) -> Any:
    """French rendering of numbers in clause texts: « 1,5 », « 7 » (not « 7.0 »), « 10 000 »."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        if value.is_integer():
            value = int(value)
        else:
            return fmt.number(value, exact=True)
    if isinstance(value, int):
        # four-digit numbers without separator (« 5000 »), as the clauses are written
        return fmt.number(value, grouping=abs(value) >= 10000)
    return value


_ENV = sandbox()


def parse_call_args(args: str, where: str, line: int) -> tuple[str, dict[str, Any]]:
    """Parse the arguments of a ``clause(...)`` call: a string id then literal keywords.

    Only Python literals are accepted (no names, no calls): ``ast.literal_eval`` on
    each value.

    Raises:
        InputError: not a literal call (e.g. an injection attempt), with file and line.
    """
    try:
        node = ast.parse(f"f({args})", mode="eval").body
        assert isinstance(node, ast.Call) and len(node.args) == 1
        clause_id = ast.literal_eval(node.args[0])
        params = {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}
        if not isinstance(clause_id, str) or len(params) != len(node.keywords):
            raise ValueError
    except (SyntaxError, ValueError, AssertionError, TypeError):
        raise InputError(
            'appel clause(...) invalide : écrivez clause("ID", parametre=valeur, …) '
            "avec des valeurs littérales (texte entre guillemets, nombres, true/false).",
            where,
            line,
        ) from None
    return clause_id, params


def fence_attrs(attrs: str) -> dict[str, str]:
    """``data-*`` attributes of a fenced div header (``data-id`` → ``id``)."""
    return {m["k"]: m["v"] for m in _ATTR_RE.finditer(attrs)}
