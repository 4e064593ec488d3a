"""The checker: which responsible clauses a dossier has, lacks, altered or wrote by hand.

``check_dossier(dossier, clausier)`` returns a :class:`~tasks.dossier.model.CheckReport`. For
each clause of the clausier it decides applicability from tender.yaml and law.yaml
(values in force on ``dateLancement``), then the clause's status:

* ``present``: a ``clause("ID")`` call, or a fenced div whose text is the library's
  rendering (any parameter values);
* ``edited``: a fenced div whose text differs (flagged for the clause's referent);
* ``waived``: a waiver with a reason in tender.yaml (flagged for approval);
* ``hand-written``: recognised by the clause's evidence (acts, lemmas and cues:
  tasks/clausier/recognition.py) in any piece, the best-matching block first;
* ``missing``: error when the clause is mandatory and applicable, warning when it is
  recommended; ``not-applicable`` otherwise.

Then structured rules on the award criteria (tender.yaml and RC text), coherence
between pieces and drafting defects. Rules are identified by stable ids (``rule``)
listed in :data:`RULES`.
"""

from __future__ import annotations

from tasks.check.accessibility import accessibility_findings
from tasks.check.applicability import effective_level, is_applicable, is_private
from tasks.check.criteria_findings import criteria_findings, policy_findings, rc_weight_coherence
from tasks.check.dossier_findings import (
    coherence_findings,
    incomplete_findings,
    piece_findings,
    tender_findings,
)
from tasks.check.drafting_findings import drafting_findings
from tasks.check.families import clause_families
from tasks.check.library_clauses import scan_library_clauses
from tasks.check.reading import reading_findings, usable_or_raise
from tasks.clausier.library import Clausier
from tasks.clausier.rules import rule_clause, rule_titles
from tasks.dossier.model import CheckReport, FamilyResult, FamilyStatus, Finding, Severity
from tasks.dossier.reader import Dossier
from tasks.errors import InputError

__all__ = ["RULES", "check_dossier", "effective_level", "is_applicable", "is_private"]

#: Rule ids and their short French titles (SARIF rule metadata, documentation), read from
#: ``clause_library/rules.yaml`` (section ``controle``, which also holds
#: :data:`ACCESSIBILITY_RULES` and :data:`READING_RULES`).
RULES: dict[str, str] = rule_titles("controle")


def check_dossier(dossier: Dossier, clausier: Clausier) -> CheckReport:
    """Check one dossier against the clausier.

    Args:
        dossier: the dossier as read by :func:`tasks.dossier.reader.read_dossier`.
        clausier: the loaded clause library (with law.yaml).

    Returns:
        The report: one :class:`FamilyResult` per clause of the clausier, findings
        sorted by severity then location.

    Raises:
        InputError: no piece with readable text (only scanned PDFs), an unknown clause id in
            a ``clause()`` call, a fenced div or a waiver, invalid clause parameters.
    """
    usable_or_raise(dossier.pieces)  # exit 2 only when nothing at all can be read
    _known_waivers_or_raise(dossier, clausier)
    library, findings = scan_library_clauses(dossier.pieces, clausier)
    findings.extend(_text_findings(dossier, clausier))
    families, family_findings = clause_families(dossier, clausier, library)
    findings.extend(family_findings)
    findings.extend(piece_findings(dossier.pieces, dossier.tender_file))
    findings.extend(tender_findings(dossier, clausier, library))
    findings.extend(_criteria_rules(dossier, clausier))
    findings.extend(coherence_findings(families, clausier, dossier.tender))
    findings.extend(drafting_findings(dossier.pieces, dossier.tender, clausier.law))
    findings.extend(
        policy_findings(dossier.tender, clausier, dossier.tender_file, dossier.tender_lines)
    )
    findings = _without_doubles(findings, families, clausier)
    if dossier.missing_fields:
        findings = incomplete_findings(dossier, findings)
    return CheckReport(
        tender=dossier.tender.id,
        dossier=dossier.root,
        rev=dossier.rev,
        commit=dossier.commit,
        clausier_version=clausier.version,
        checked_at_rule_date=dossier.tender.dateLancement,
        families=families,
        findings=_sorted(findings),
    )


def _known_waivers_or_raise(dossier: Dossier, clausier: Clausier) -> None:
    """A waiver of a clause the clausier does not know is bad input (exit 2)."""
    for i, w in enumerate(dossier.tender.waivers):
        if clausier.get(w.clause) is None:
            raise InputError(
                f"dérogation à une clause inconnue « {w.clause} » (voir « cahier clauses list »).",
                dossier.tender_file,
                dossier.line_of(f"waivers.{i}"),
            )


def _text_findings(dossier: Dossier, clausier: Clausier) -> list[Finding]:
    """Template errors a final assembly would refuse (syntax, unsafe constructs, unknown
    variables), caught here already in the pre-commit hook; accessibility (images without
    alt, empty headings); reading (scanned, unreliable pages, tracked changes)."""
    from tasks.clausier.templates import lint_templates

    return [
        *lint_templates(dossier.pieces, clausier, dossier.tender),
        *accessibility_findings(dossier.pieces),
        *reading_findings(dossier.pieces),
    ]


def _criteria_rules(dossier: Dossier, clausier: Clausier) -> list[Finding]:
    """Award criteria as declared in tender.yaml, then as written in the RC."""
    rc = next((p for p in dossier.pieces if p.kind == "rc"), None)
    return [
        *criteria_findings(dossier.tender, clausier, rc, dossier.tender_file, dossier.tender_lines),
        *rc_weight_coherence(
            dossier.tender, dossier.pieces, dossier.tender_file, dossier.tender_lines
        ),
    ]


def _without_doubles(
    findings: list[Finding], families: list[FamilyResult], clausier: Clausier
) -> list[Finding]:
    """One finding per fact, each naming the policy layer behind its clause.

    A call whose value breaks a layer's bound is one finding (``clause-parametre-invalide``),
    not also a template error; a criterion-level ``critere-environnemental-absent``
    duplicates ENV-CRIT-01 when the RC text has the clause.
    """
    param_errors = {
        (f.clause, f.location.file, f.location.line)
        for f in findings
        if f.rule == "clause-parametre-invalide" and f.location
    }
    findings = [
        _with_provenance(f, clausier)
        for f in findings
        if not (
            f.rule == "gabarit-invalide"
            and f.location
            and (f.clause, f.location.file, f.location.line) in param_errors
        )
    ]
    env_crit_id = rule_clause("critere-environnemental-absent", "critere")
    env_crit = next((f for f in families if f.clause == env_crit_id), None)
    if env_crit and env_crit.status not in (FamilyStatus.missing, FamilyStatus.not_applicable):
        findings = [f for f in findings if f.rule != "critere-environnemental-absent"]
    return findings


def _sorted(findings: list[Finding]) -> list[Finding]:
    """By severity (errors first), then file, page and line, then rule id."""
    order = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}
    return sorted(
        findings,
        key=lambda f: (
            order[f.severity],
            f.location.file if f.location else "",
            (f.location.page or 0, f.location.line or 0) if f.location else (0, 0),
            f.rule,
        ),
    )


def _with_provenance(finding: Finding, clausier: Clausier) -> Finding:
    """A finding about a clause that a policy layer added or changed says so: the
    layer's article is named in the message and leads its legal basis."""
    provs = clausier.origin(finding.clause) if finding.clause else ()
    if not provs:
        return finding
    labels = "; ".join(f"{p.label()} — {p.detail}" for p in provs)
    refs = [p.reference() for p in provs]
    return finding.model_copy(
        update={
            "message": f"{finding.message} Source : {labels}.",
            "legal_basis": [*refs, *finding.legal_basis],
        }
    )
