"""Safe YAML loading that remembers lines, and French validation messages.

YAML is always loaded with PyYAML's safe loader (C implementation when available):
no Python object can be built from a user's file. Pydantic validation errors are
turned into one :class:`~tasks.errors.InputError` naming the file, the line of the
offending field and the field path, in French.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tasks.errors import InputError

__all__ = [
    "field_lines",
    "french_error",
    "line_of",
    "load_yaml",
    "validate_yaml",
    "validate_yaml_with_lines",
]

try:  # the C loader is ~10x faster; both are safe loaders
    _Loader: type = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - depends on the libyaml build
    _Loader = yaml.SafeLoader

M = TypeVar("M", bound=BaseModel)


def _decode(raw: bytes | str, file: str) -> str:
    if isinstance(raw, str):
        return raw
    if b"\x00" in raw[:4096]:
        raise InputError("fichier binaire : un fichier YAML texte (UTF-8) est attendu.", file)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            "encodage invalide : le fichier n'est pas en UTF-8 "
            "(enregistrez-le en UTF-8, par exemple depuis votre éditeur).",
            file,
            line,
        ) from None


def load_yaml(raw: bytes | str, file: str) -> tuple[Any, yaml.Node | None]:
    """Parse YAML safely; return ``(data, node)`` where node keeps line marks.

    Raises:
        InputError: malformed YAML (with its line), binary or non-UTF-8 content.
    """
    text = _decode(raw, file)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            _check_duplicate_keys(node, file)
            try:
                data = loader.construct_document(node)
            except ValueError as exc:  # e.g. a date that does not exist (2026-02-30)
                bad = _bad_scalar(node)
                raise InputError(
                    f"valeur invalide « {bad.value if bad else ''} » : {_french_value_error(exc)}.",
                    file,
                    bad.start_mark.line + 1 if bad else None,
                ) from None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = _french_problem(exc.problem or "syntaxe invalide")
        raise InputError(f"YAML invalide ({problem}) : corrigez la syntaxe.", file, line) from None
    except yaml.YAMLError as exc:  # pragma: no cover - other reader errors
        raise InputError(f"YAML illisible : {exc}", file) from None
    return data, node


_PROBLEMS = {
    "did not find expected key": "clé attendue introuvable (indentation ?)",
    "did not find expected ',' or ']'": "« , » ou « ] » attendu (liste entre crochets non fermée ?)",
    "did not find expected ',' or '}'": "« , » ou « } » attendu (table entre accolades non fermée ?)",
    "mapping values are not allowed here": "« : » inattendu (valeur contenant « : » à mettre entre guillemets ?)",
    "found character '\\t' that cannot start any token": "tabulation interdite : indentez avec des espaces",
    "could not find expected ':'": "« : » attendu après la clé",
    "found undefined alias": "alias indéfini",
    "expected <block end>, but found '-'": "élément de liste mal indenté",
    "found unexpected end of stream": "fin de fichier inattendue (guillemet non fermé ?)",
    "did not find expected <document start>": "début de document attendu",
}


def _french_problem(problem: str) -> str:
    for en, fr in _PROBLEMS.items():
        if problem.startswith(en):
            return fr
    return problem


def _french_value_error(exc: ValueError) -> str:
    msg = str(exc)
    if "day is out of range" in msg or "month must be" in msg:
        return "cette date n'existe pas (AAAA-MM-JJ)"
    return msg


def _bad_scalar(node: yaml.Node) -> yaml.ScalarNode | None:
    """The first timestamp scalar that does not make a valid date."""
    import datetime as dt

    stack = [node]
    while stack:
        n = stack.pop(0)
        if isinstance(n, yaml.ScalarNode):
            if n.tag == "tag:yaml.org,2002:timestamp":
                try:
                    dt.date.fromisoformat(str(n.value)[:10])
                except ValueError:
                    return n
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.extend((k, v))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return None


def _check_duplicate_keys(node: yaml.Node, file: str) -> None:
    """A key given twice in one table is refused (YAML loaders silently keep the last)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        raise InputError(
                            f"clé « {k.value} » en double (déjà présente ligne {seen[k.value]}) : "
                            "gardez-en une seule.",
                            file,
                            k.start_mark.line + 1,
                        )
                    seen[k.value] = k.start_mark.line + 1
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the deepest node of ``loc`` found in the YAML tree."""
    if node is None:
        return None
    best = node.start_mark.line + 1
    current = node
    for part in loc:
        nxt = None
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if key.value == str(part):
                    nxt = value
                    best = key.start_mark.line + 1
                    break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(current.value):
                nxt = current.value[part]
                best = nxt.start_mark.line + 1
        if nxt is None:
            break
        current = nxt
    return best


_MESSAGES = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu (vérifiez l'orthographe)",
    "string_type": "du texte est attendu",
    "int_type": "un nombre entier est attendu",
    "int_parsing": "un nombre entier est attendu",
    "int_from_float": "un nombre entier est attendu",
    "float_type": "un nombre est attendu",
    "float_parsing": "un nombre est attendu",
    "bool_type": "oui/non (true/false) est attendu",
    "bool_parsing": "oui/non (true/false) est attendu",
    "date_type": "une date AAAA-MM-JJ est attendue",
    "date_parsing": "une date AAAA-MM-JJ est attendue",
    "date_from_datetime_parsing": "une date AAAA-MM-JJ est attendue",
    "list_type": "une liste est attendue",
    "dict_type": "une table (clé : valeur) est attendue",
    "model_type": "une table (clé : valeur) est attendue",
    "string_pattern_mismatch": "format invalide",
    "string_too_short": "texte trop court",
    "too_short": "liste trop courte",
}


def french_error(err: dict[str, Any]) -> str:
    """One pydantic error as a French phrase (field path excluded)."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", " ou ")
        return f"valeur « {err.get('input')} » non autorisée ; valeurs possibles : {expected}"
    if kind == "greater_than_equal":
        return f"doit être supérieur ou égal à {ctx.get('ge')}"
    if kind == "greater_than":
        return f"doit être strictement supérieur à {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"doit être inférieur ou égal à {ctx.get('le')}"
    if kind == "less_than":
        return f"doit être strictement inférieur à {ctx.get('lt')}"
    if kind == "string_too_short":
        return f"texte trop court ({ctx.get('min_length')} caractères au moins)"
    if kind == "too_short":
        return f"liste trop courte ({ctx.get('min_length')} élément(s) au moins)"
    if kind in ("finite_number",):
        return "un nombre fini est attendu"
    if kind == "string_pattern_mismatch":
        return f"format invalide (« {err.get('input')} »)"
    if kind == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
        return msg.removeprefix("Value error, ")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    return str(err.get("msg", "valeur invalide"))


def field_lines(node: yaml.Node | None) -> dict[str, int]:
    """Line (1-based) of every field path of a YAML tree: ``{"criteres.0.poids": 14, …}``."""
    out: dict[str, int] = {}

    def walk(n: yaml.Node, prefix: str) -> None:
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                path = f"{prefix}.{key.value}" if prefix else str(key.value)
                out[path] = key.start_mark.line + 1
                walk(value, path)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                path = f"{prefix}.{i}"
                out[path] = item.start_mark.line + 1
                walk(item, path)

    if node is not None:
        walk(node, "")
    return out


def validate_yaml_with_lines(
    model: type[M], raw: bytes | str, file: str, **context: Any
) -> tuple[M, dict[str, int]]:
    """:func:`validate_yaml`, plus the line of each field path (see :func:`field_lines`)."""
    data, node = load_yaml(raw, file)
    return _validate(model, data, node, file, context), field_lines(node)


def validate_yaml(model: type[M], raw: bytes | str, file: str, **context: Any) -> M:
    """Load ``raw`` as YAML and validate it as ``model``.

    Raises:
        InputError: bad YAML, or the first validation error with its field path and
            line, e.g. ``tender.yaml:7 : champ « montant » : un nombre est attendu``.
    """
    data, node = load_yaml(raw, file)
    return _validate(model, data, node, file, context)


def _validate(model: type[M], data: Any, node: yaml.Node | None, file: str, context: dict) -> M:
    if not isinstance(data, dict):
        raise InputError("le fichier doit contenir une table YAML (clé : valeur).", file, 1)
    try:
        return model.model_validate(data, context=context or None)
    except ValidationError as exc:
        errors = exc.errors()

        def describe(err: dict[str, Any]) -> tuple[str, int | None]:
            loc = tuple(err.get("loc", ()))
            field = ".".join(str(p) for p in loc if p != "[key]") or "(racine)"
            return f"champ « {field} » : {french_error(err)}", line_of(node, loc)

        first, line = describe(errors[0])
        others = [f"ligne {ln} : {text}" if ln else text for text, ln in map(describe, errors[1:4])]
        more = (" ; autres erreurs — " + " ; ".join(others)) if others else ""
        if len(errors) > 4:
            more += f" ; et {len(errors) - 4} de plus"
        raise InputError(f"{first}{more}.", file, line) from None
