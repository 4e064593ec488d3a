"""Rules of findings as data: ``clause_library/rules.yaml``.

Each rule id has its short French title (SARIF ``shortDescription``), its default severity,
the severities that depend on a named context (``contextes``: a recommended clause, a
missing piece, a consultation under the loi Climat…) and the key of its legal basis in
law.yaml ``references`` (``base``). Three sections: ``controle`` (the checker's findings),
``assemblage`` (the assembly's) and ``suivi`` (the follow-up of execution's). Findings take their severity through :func:`rule_severity`
and their legal basis through :func:`rule_basis`; the titles are read by
:data:`tasks.check.checker.RULES` and :data:`tasks.publish.base.RULES`.

The file is validated by pydantic at load (French error naming the file and the line, as
for law.yaml), and every ``base`` must be a key of law.yaml ``references``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field

from tasks.dossier.model import LegalReference, Severity, _Model
from tasks.dossier.yamlio import validate_yaml_with_lines
from tasks.errors import InputError

__all__ = [
    "Rule",
    "RuleBook",
    "load_rules",
    "rule_basis",
    "rule_clause",
    "rule_severity",
    "rule_titles",
]

_Level = Literal["error", "warning", "info"]
Section = Literal["controle", "assemblage", "suivi"]


class Rule(_Model):
    """One rule: ``titre`` (French, short), ``gravite`` (default severity),
    ``contextes`` (context name → severity), ``base`` (law.yaml ``references`` key),
    ``clauses`` (role in the rule → clause id of the clausier, e.g. ``critere`` →
    ``ENV-CRIT-01``: the families a rule reads or points to are data, not code)."""

    titre: str = Field(min_length=3)
    gravite: _Level
    contextes: dict[str, _Level] = Field(default_factory=dict)
    base: str | None = None
    clauses: dict[str, str] = Field(default_factory=dict)


class RuleBook(_Model):
    """rules.yaml: the rules of the checker (``controle``) and of the assembly
    (``assemblage``) and of the follow-up of execution (``suivi``), by id."""

    controle: dict[str, Rule]
    assemblage: dict[str, Rule] = Field(default_factory=dict)
    suivi: dict[str, Rule] = Field(default_factory=dict)


@lru_cache(maxsize=4)
def load_rules(library: Path | None = None) -> RuleBook:
    """rules.yaml of a clausier folder (default: the shipped one), validated once; the
    validated book is kept as a JSON snapshot keyed by rules.yaml, law.yaml and the names
    of the clause files (:mod:`tasks.clausier.snapshot`).

    Raises:
        InputError: the file is missing or malformed, a ``base`` is not a key of
            law.yaml ``references``, or a ``clauses`` id is not a clause of the clausier
            (French message naming the file and the line).
    """
    from tasks.clausier.library import default_library_path
    from tasks.clausier.snapshot import cached_model, file_stamp

    base = library or default_library_path()
    clauses = tuple(sorted(p.name for p in (base / "clauses").glob("*.yaml")))
    key = (str(base), file_stamp([base / "rules.yaml", base / "law.yaml"]), clauses)
    return cached_model(RuleBook, "rules", key, lambda: _validated_rules(base))


def _validated_rules(base: Path) -> RuleBook:
    path = base / "rules.yaml"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("fichier du clausier introuvable.", str(path)) from None
    book, lines = validate_yaml_with_lines(RuleBook, raw, str(path))
    known = _reference_keys(base / "law.yaml")
    for section in ("controle", "assemblage", "suivi"):
        for rid, rule in getattr(book, section).items():
            if rule.base is not None and rule.base not in known:
                raise InputError(
                    f"règle « {rid} » : base légale « {rule.base} » inconnue de law.yaml "
                    "(section « references ») : ajoutez-la à law.yaml ou corrigez la clé.",
                    str(path),
                    lines.get(f"{section}.{rid}.base"),
                )
            for role, cid in rule.clauses.items():
                if not (base / "clauses" / f"{cid}.yaml").is_file():
                    raise InputError(
                        f"règle « {rid} » : clause « {cid} » (rôle « {role} ») absente du "
                        "clausier (clause_library/clauses/) : corrigez l'identifiant.",
                        str(path),
                        lines.get(f"{section}.{rid}.clauses.{role}"),
                    )
    return book


def _reference_keys(law_yaml: Path) -> set[str]:
    """The keys of law.yaml ``references`` (law.yaml itself is validated with the
    clausier; only its keys are needed here, without loading the clausier)."""
    try:
        data = yaml.safe_load(law_yaml.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return set()
    refs = data.get("references") if isinstance(data, dict) else None
    return set(refs) if isinstance(refs, dict) else set()


def _rule(rule: str, section: Section) -> Rule:
    try:
        return getattr(load_rules(), section)[rule]
    except KeyError:
        raise InputError(
            f"règle « {rule} » non déclarée dans la section « {section} » : déclarez-la "
            "(titre, gravite, base).",
            "clause_library/rules.yaml",
        ) from None


def rule_severity(rule: str, context: str | None = None, section: Section = "controle") -> Severity:
    """The severity of ``rule``: the one of ``context`` when rules.yaml names it for this
    rule, else the rule's default.

    Raises:
        InputError: the rule is not declared in rules.yaml.
    """
    r = _rule(rule, section)
    return Severity(r.contextes.get(context, r.gravite) if context else r.gravite)


def rule_basis(rule: str, section: Section = "controle") -> list[LegalReference]:
    """The legal basis of ``rule`` (law.yaml ``references``), ``[]`` when it cites none."""
    from tasks.clausier.library import shipped_law

    key = _rule(rule, section).base
    return [shipped_law().basis(key)] if key else []


def rule_clause(rule: str, role: str, section: Section = "controle") -> str:
    """The clause id that plays ``role`` in ``rule`` (rules.yaml ``clauses``), e.g.
    ``rule_clause("critere-sans-condition", "condition")`` → ``"ENV-COND-01"``.

    Raises:
        InputError: the rule is not declared, or declares no clause for ``role``.
    """
    try:
        return _rule(rule, section).clauses[role]
    except KeyError:
        raise InputError(
            f"règle « {rule} » : aucune clause déclarée pour le rôle « {role} » "
            "(clauses: {" + role + ": ID}).",
            "clause_library/rules.yaml",
        ) from None


def rule_titles(section: Section) -> dict[str, str]:
    """Rule id → French title, in the order of rules.yaml."""
    return {rid: r.titre for rid, r in getattr(load_rules(), section).items()}
