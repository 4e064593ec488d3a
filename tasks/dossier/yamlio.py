"""Safe YAML loading that remembers lines, and French validation messages.

YAML is always loaded with PyYAML's safe loader (C implementation when available):
no Python object can be built from a user's file. Pydantic validation errors are
turned into one :class:`~tasks.errors.InputError` naming the file, the line of the
offending field and the field path, in French.

Bounds (checked on the parser's event stream, *before* any node is composed, so that
an alias bomb costs microseconds instead of minutes): at most :data:`MAX_YAML_BYTES`
bytes, :data:`MAX_YAML_ALIASES` aliases and :data:`MAX_YAML_NODES` nodes once every
alias is expanded (what a consumer walking the data would visit).

Booleans follow YAML 1.2 (``true``/``false`` only): ``NO`` (Norway), ``on:`` or ``yes``
stay text, so that a country code or a key named ``on`` is not silently turned into a
boolean; a boolean *field* still accepts ``oui``/``non`` (French buyers write them),
``yes``/``no``, ``true``/``false`` (pydantic's lax parsing plus the French pair).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tasks.errors import InputError

from .fieldpath import data_loc, field_path

__all__ = [
    "MAX_YAML_ALIASES",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "field_lines",
    "french_error",
    "line_of",
    "load_yaml",
    "validate_yaml",
    "validate_yaml_with_lines",
]

try:  # the C loader is ~10x faster; both are safe loaders
    _Base: type = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - depends on the libyaml build
    _Base = yaml.SafeLoader

#: Largest YAML file read (bytes): a tender.yaml is a few KB, an evaluation a few hundred.
MAX_YAML_BYTES = 5_000_000
#: Most aliases (``*ancre``) in one file.
MAX_YAML_ALIASES = 1_000
#: Most nodes once aliases are expanded.
MAX_YAML_NODES = 200_000

_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FRENCH_BOOLS = {"oui": True, "non": False}


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader whose implicit booleans are YAML 1.2's (``true``/``false``)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))

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
    if len(raw) > MAX_YAML_BYTES:
        raise InputError(
            f"fichier YAML trop volumineux ({len(raw) // 1_000_000} Mo ; au plus "
            f"{MAX_YAML_BYTES // 1_000_000} Mo) : un fichier de dossier tient en quelques "
            "dizaines de Ko, retirez les données qui n'y ont pas leur place.",
            file,
        )
    text = _decode(raw, file)
    try:
        _check_bounds(text, file)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            _check_duplicate_keys(node, file)
            _check_decimal_commas(node, file)
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
        problem = _french_problem(exc.problem or "", text, mark)
        raise InputError(f"YAML invalide ({problem}) : corrigez la syntaxe.", file, line) from None
    except yaml.reader.ReaderError as exc:  # a control character (pasted from a word processor)
        raise InputError(
            f"caractère de contrôle interdit (U+{exc.character:04X}) : retirez-le "
            "(souvent collé depuis un traitement de texte).",
            file,
            text[: exc.position].count("\n") + 1,
        ) from None
    except yaml.YAMLError:  # pragma: no cover - other reader errors
        raise InputError("YAML illisible : corrigez la syntaxe.", file) from None
    return data, node


def _check_bounds(text: str, file: str) -> None:
    """Refuse alias bombs and huge documents on the event stream, before composing.

    Counts every node as a consumer would see it once aliases are expanded (an alias
    counts the size of its anchored node).

    Raises:
        InputError: more than :data:`MAX_YAML_ALIASES` aliases or :data:`MAX_YAML_NODES`
            expanded nodes (French message, line of the event that crossed the bound).
    """
    sizes: dict[str, int] = {}
    open_: list[tuple[str | None, int]] = []
    total = aliases = 0
    for ev in yaml.parse(text, Loader=_Loader):
        if isinstance(ev, yaml.AliasEvent):
            aliases += 1
            if any(a == ev.anchor for a, _ in open_):
                raise InputError(
                    f"alias récursif « *{ev.anchor} » (l'ancre se contient elle-même) : "
                    "écrivez la valeur en clair.",
                    file,
                    ev.start_mark.line + 1,
                )
            total += sizes.get(ev.anchor, 1)
            if aliases > MAX_YAML_ALIASES:
                raise InputError(
                    f"trop d'alias YAML (« *{ev.anchor} ») : au plus {MAX_YAML_ALIASES}. "
                    "Écrivez les valeurs en clair au lieu de les répéter par des alias.",
                    file,
                    ev.start_mark.line + 1,
                )
        elif isinstance(ev, yaml.ScalarEvent):
            total += 1
            if ev.anchor:
                sizes[ev.anchor] = 1
        elif isinstance(ev, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            total += 1
            open_.append((ev.anchor, total))
        elif isinstance(ev, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            anchor, start = open_.pop()
            if anchor:
                sizes[anchor] = total - start + 1
        if total > MAX_YAML_NODES:
            raise InputError(
                f"fichier YAML trop grand : plus de {MAX_YAML_NODES} valeurs une fois les "
                "alias (« *ancre ») développés. Écrivez les valeurs en clair et retirez "
                "les répétitions.",
                file,
                ev.start_mark.line + 1,
            )


def _check_decimal_commas(node: yaml.Node, file: str) -> None:
    """``{prixUnitaire: 310,5}``: in a flow mapping the comma splits the number.

    YAML reads ``310`` then a key ``5`` without value; say what was meant instead of
    a message about a key ``5``.
    """
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            prev: yaml.Node | None = None
            for k, v in n.value:
                if (
                    n.flow_style
                    and isinstance(k, yaml.ScalarNode)
                    and k.tag == "tag:yaml.org,2002:int"
                    and isinstance(v, yaml.ScalarNode)
                    and v.tag == "tag:yaml.org,2002:null"
                    and isinstance(prev, yaml.ScalarNode)
                    and prev.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
                    and prev.end_mark.line == k.start_mark.line
                ):
                    raise InputError(
                        f"virgule décimale dans une table entre accolades (« {prev.value},"
                        f"{k.value} ») : la virgule y sépare les champs. Écrivez "
                        f"{prev.value}.{k.value} (point décimal).",
                        file,
                        k.start_mark.line + 1,
                    )
                prev = v
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


#: YAML reader problems (PyYAML's and libyaml's wording, by prefix) → French.
_PROBLEMS = {
    "did not find expected key": "clé attendue introuvable (indentation ?)",
    "did not find expected ',' or ']'": "« , » ou « ] » attendu (liste entre crochets non fermée ?)",
    "did not find expected ',' or '}'": "« , » ou « } » attendu (table entre accolades non fermée ?)",
    "mapping values are not allowed": "« : » inattendu (valeur contenant « : » à mettre entre guillemets ?)",
    "found character '\\t' that cannot start any token": "tabulation interdite : indentez avec des espaces",
    "found a tab character": "tabulation interdite : indentez avec des espaces",
    "could not find expected ':'": "« : » attendu après la clé",
    "found undefined alias": "alias indéfini",
    "expected <block end>, but found '-'": "élément de liste mal indenté",
    "did not find expected '-' indicator": "élément de liste mal indenté (« - » attendu)",
    "block sequence entries are not allowed": "« - » inattendu (élément de liste mal placé ou mal indenté ?)",
    "found unexpected end of stream": "fin de fichier inattendue (guillemet non fermé ?)",
    "did not find expected <document start>": "début de document attendu",
    "but found another document": "un seul document attendu (retirez les « --- » en trop)",
    "found unknown directive name": "directive « % » inconnue (valeur commençant par « % » à mettre entre guillemets ?)",
    "found duplicate %YAML directive": "directive %YAML en double",
    "found unknown escape character": "séquence « \\ » inconnue entre guillemets doubles (guillemets simples ?)",
    "did not find expected alphabetic or numeric character": "ancre ou alias sans nom (« & » ou « * » à mettre entre guillemets ?)",
    "did not find expected node content": "valeur attendue (virgule en trop ?)",
    "did not find the expected '>'": "« > » attendu après « !< »",
}

#: libyaml does not name the character it refuses: read it from the text at the mark.
_CANNOT_START = "found character that cannot start any token"


def _french_problem(problem: str, text: str = "", mark: yaml.Mark | None = None) -> str:
    """The reader's problem in French; never the English wording (``syntaxe invalide``)."""
    if problem.startswith(_CANNOT_START) and mark is not None:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        char = line[mark.column : mark.column + 1]
        if char == "\t":
            return _PROBLEMS["found a tab character"]
        if char:
            return f"caractère « {char} » interdit en début de valeur (mettez la valeur entre guillemets)"
    for en, fr in _PROBLEMS.items():
        if problem.startswith(en):
            return fr
    return "syntaxe invalide"


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


def _key_node(node: yaml.Node | None, parent: tuple[Any, ...], key: Any) -> tuple[str, int | None]:
    """(text as written, line) of the key ``key`` — not a string — in the mapping at
    ``parent`` (pydantic names such a key by its ``repr``, not by its text)."""
    holder = node
    for part in parent:
        nxt = None
        if isinstance(holder, yaml.MappingNode):
            nxt = next((v for k, v in holder.value if k.value == str(part)), None)
        elif isinstance(holder, yaml.SequenceNode) and isinstance(part, int):
            nxt = holder.value[part] if 0 <= part < len(holder.value) else None
        if nxt is None:
            break
        holder = nxt
    if isinstance(holder, yaml.MappingNode):
        wanted = {
            bool: "tag:yaml.org,2002:bool",
            type(None): "tag:yaml.org,2002:null",
        }.get(type(key))
        for k, _v in holder.value:
            if k.tag == "tag:yaml.org,2002:str":
                continue
            if (wanted and k.tag == wanted) or k.value == str(key):
                return k.value or "~", k.start_mark.line + 1
    return str(key), line_of(node, parent)


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


#: French message of a pydantic error type; ``{name}``: the value ``name`` of the error's
#: ``ctx`` (a limit). Types that need the input or the path are handled in the function.
_MESSAGES = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu (vérifiez l'orthographe)",
    "string_type": "du texte est attendu",
    "int_type": "un nombre entier est attendu",
    "int_parsing": "un nombre entier est attendu",
    "int_from_float": "un nombre entier est attendu",
    "float_type": "un nombre est attendu",
    "float_parsing": "un nombre est attendu",
    "bool_type": "oui ou non est attendu (oui/non, true/false)",
    "bool_parsing": "oui ou non est attendu (oui/non, true/false)",
    "int_parsing_size": "nombre entier trop grand",
    "float_finite_number": "un nombre fini est attendu",
    "finite_number": "un nombre fini est attendu",
    "decimal_parsing": "un nombre est attendu (point décimal : 310.5)",
    "decimal_type": "un nombre est attendu (point décimal : 310.5)",
    "datetime_type": "une date et heure AAAA-MM-JJTHH:MM:SS est attendue",
    "datetime_parsing": "une date et heure AAAA-MM-JJTHH:MM:SS est attendue",
    "datetime_from_date_parsing": "une date et heure AAAA-MM-JJTHH:MM:SS est attendue",
    "date_future": "la date doit être dans le futur",
    "date_past": "la date doit être dans le passé",
    "url_parsing": "une adresse web (https://…) est attendue",
    "url_type": "une adresse web (https://…) est attendue",
    "url_scheme": "une adresse web commençant par https:// est attendue",
    "tuple_type": "une liste est attendue",
    "set_type": "une liste est attendue",
    "frozen_set_type": "une liste est attendue",
    "iterable_type": "une liste est attendue",
    "mapping_type": "une table (clé : valeur) est attendue",
    "none_required": "aucune valeur n'est attendue ici",
    "is_instance_of": "valeur d'un type inattendu",
    "union_tag_invalid": "type d'élément inconnu",
    "union_tag_not_found": "champ de type manquant",
    "bytes_type": "du texte est attendu",
    "string_unicode": "texte illisible (UTF-8 attendu)",
    "string_sub_type": "du texte est attendu",
    "multiple_of": "valeur non multiple du pas attendu",
    "json_invalid": "JSON invalide",
    "json_type": "JSON invalide",
    "assertion_error": "valeur refusée",
    "uuid_parsing": "identifiant (UUID) invalide",
    "uuid_type": "identifiant (UUID) invalide",
    "frozen_field": "champ non modifiable",
    "recursion_loop": "structure récursive refusée",
    "date_type": "une date AAAA-MM-JJ est attendue",
    "date_parsing": "une date AAAA-MM-JJ est attendue",
    "date_from_datetime_parsing": "une date AAAA-MM-JJ est attendue",
    "date_from_datetime_inexact": "une date AAAA-MM-JJ est attendue, sans heure",
    "list_type": "une liste est attendue",
    "dict_type": "une table (clé : valeur) est attendue",
    "model_type": "une table (clé : valeur) est attendue",
    "string_pattern_mismatch": "format invalide",
    "string_too_short": "texte trop court ({min_length} caractères au moins)",
    "too_short": "liste trop courte ({min_length} élément(s) au moins)",
    "too_long": "liste trop longue (au plus {max_length} élément(s))",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "greater_than": "doit être strictement supérieur à {gt}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "less_than": "doit être strictement inférieur à {lt}",
}


def french_error(err: dict[str, Any]) -> str:
    """One pydantic error as a French phrase (field path excluded)."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", " ou ")
        return f"valeur « {err.get('input')} » non autorisée ; valeurs possibles : {expected}"
    if kind in ("finite_number",):
        return (
            "un nombre fini est attendu (.inf, .nan, infini ou NaN refusés) : écrivez le "
            "montant, la pondération ou la note en chiffres"
        )
    if kind in ("float_parsing", "int_parsing", "decimal_parsing") and isinstance(
        err.get("input"), str
    ):
        raw = str(err["input"])
        digits = re.sub(r"[\s\u00a0\u202f€]|EUR|HT|TTC", "", raw).replace(",", ".")
        try:
            float(digits)
        except ValueError:
            return f"un nombre est attendu, pas « {raw[:60]} » (exemple : 262000.50)"
        return (
            f"nombre écrit à la française (« {raw[:60]} ») : écrivez {digits} "
            "(sans espace ni symbole, point décimal)"
        )
    if kind == "string_too_long":
        return (
            f"texte trop long ({len(str(err.get('input', '')))} caractères ; au plus "
            f"{ctx.get('max_length')})"
        )
    if kind == "string_type" and "[key]" in tuple(err.get("loc", ())):
        return (
            f"la clé « {err.get('input')} » doit être du texte : mettez-la entre guillemets "
            f'(« "{err.get("input")}": »)'
        )
    if kind == "string_pattern_mismatch":
        return f"format invalide (« {err.get('input')} »)"
    if kind == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
        return msg.removeprefix("Value error, ")
    if kind in _MESSAGES:
        from tasks import fmt

        # limits in French (« 1 000 000 000 000 », « 0,5 »)
        shown = {
            k: fmt.number(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for k, v in ctx.items()
        }
        return _MESSAGES[kind].format_map(defaultdict(lambda: None, shown))
    # Never pydantic's English text: the type, the value, and where to look.
    shown = str(err.get("input", ""))[:60]
    return f"valeur « {shown} » refusée (règle « {kind} » du modèle)"


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


def _french_booleans(data: Any, errors: list[dict[str, Any]]) -> bool:
    """Replace ``oui``/``non`` by True/False where a boolean was expected; True if any."""
    changed = False
    for err in errors:
        if err.get("type") != "bool_parsing":
            continue
        value = err.get("input")
        if not isinstance(value, str) or value.strip().lower() not in _FRENCH_BOOLS:
            continue
        loc = tuple(err.get("loc", ()))
        holder = data
        try:
            for part in loc[:-1]:
                holder = holder[part]
            if holder[loc[-1]] == value:
                holder[loc[-1]] = _FRENCH_BOOLS[value.strip().lower()]
                changed = True
        except (KeyError, IndexError, TypeError):
            continue
    return changed


def _validate(model: type[M], data: Any, node: yaml.Node | None, file: str, context: dict) -> M:
    if not isinstance(data, dict):
        raise InputError("le fichier doit contenir une table YAML (clé : valeur).", file, 1)
    errors: list[Any] = []
    for _ in range(50):  # oui/non in boolean fields, replaced then validated again
        try:
            return model.model_validate(data, context=context or None)
        except ValidationError as exc:
            errors = exc.errors()
            if not _french_booleans(data, errors):
                break

    def describe(err: dict[str, Any]) -> tuple[str, int | None]:
        loc = data_loc(err.get("loc", ()))
        if err.get("type") == "invalid_key":  # a date, a number, a boolean or null as key
            text, line = _key_node(node, loc[:-1], err.get("input"))
            return (
                f"clé « {text} » invalide : une clé doit être un nom de champ (du texte), "
                "pas une date, un nombre, un booléen ni une valeur vide ; écrivez le nom du "
                "champ attendu ou supprimez la ligne",
                line,
            )
        if loc and loc[-1] == "[key]":  # the key itself: locate its mapping
            field = field_path(loc[:-1])
            return f"champ « {field} » : {french_error(err)}", line_of(node, loc[:-1])
        return f"champ « {field_path(loc)} » : {french_error(err)}", line_of(node, loc)

    first, line = describe(errors[0])
    others = [f"ligne {ln} : {text}" if ln else text for text, ln in map(describe, errors[1:4])]
    more = (" ; autres erreurs — " + " ; ".join(others)) if others else ""
    if len(errors) > 4:
        more += f" ; et {len(errors) - 4} de plus"
    raise InputError(f"{first}{more}.", file, line) from None
