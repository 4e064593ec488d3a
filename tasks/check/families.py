"""Each clause of the clausier in one dossier: its status (a
:class:`~tasks.dossier.model.FamilyResult`) and the findings that status calls for.

The status is the first that holds of: found as a library clause (``present`` or
``edited``, :mod:`tasks.check.library_clauses`); ``waived`` in tender.yaml; recognised in
the text (``hand-written``, :mod:`tasks.clausier.recognition`); ``unverifiable`` when
applicable and some text is not read reliably; ``missing`` when applicable;
``not-applicable`` otherwise (:mod:`tasks.check.applicability`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tasks.check.applicability import effective_level, is_applicable
from tasks.check.drafting_findings import piece_location
from tasks.check.library_clauses import Found, clause_finding
from tasks.clausier.library import Clausier
from tasks.clausier.recognition import Hit, Recognizer
from tasks.clausier.rules import rule_severity
from tasks.dossier.document import PieceText
from tasks.dossier.model import (
    Clause,
    FamilyResult,
    FamilyStatus,
    Finding,
    Location,
    Waiver,
)
from tasks.dossier.normalize import fold
from tasks.dossier.reader import Dossier
from tasks.errors import InputError

__all__ = ["clause_families"]

#: Section titles (folded) where a clause of each category naturally goes.
_CATEGORY_SECTION = {
    "environment": r"environnement|developpement durable|ecolog",
    "social": r"insertion|social|clause sociale",
    "accessibility": r"accessibilit",
    "data": r"donnees|rgpd|reversibilit|hebergement|securite",
    "durability": r"durabilit|reparabilit|garantie|reemploi|reconditionn",
}

_RECOGNIZERS: dict[int, Recognizer] = {}


def _recognizer(clausier: Clausier) -> Recognizer:
    """One recognizer per loaded clausier (its word keys are cached for the process)."""
    rec = _RECOGNIZERS.get(id(clausier.vocabulary))
    if rec is None:
        if clausier.vocabulary is None:
            raise InputError(
                "clausier sans recognition.yaml : reconnaissance impossible.", str(clausier.root)
            )
        _RECOGNIZERS.clear()
        rec = _RECOGNIZERS[id(clausier.vocabulary)] = Recognizer(clausier.vocabulary)
        rec.prepare(c.evidence for c in clausier.clauses.values())
    rec.forget()
    return rec


def _first_unreadable(pieces: list[PieceText]) -> Location | None:
    """Where the first text the reader flags as unreliable is (file and page), if any."""
    for p in pieces:
        if not p.has_text_layer:
            return Location(file=p.path)
        model = getattr(p, "model", None)
        pages = model.unreliable_pages() if model is not None else []
        if pages:
            return Location(file=p.path, page=pages[0])
        if model is not None and not model.is_reliable():
            return Location(file=p.path)
        for i, line in enumerate(p.lines):
            if not getattr(line, "reliable", True):
                return Location(
                    file=p.path, page=line.page, line=line.src_line, heading=p.heading_of(i)
                )
    return None


def _expected_location(clause: Clause, pieces: list[PieceText], tender_file: str) -> Location:
    """Where the missing clause should go: the section of its piece whose title fits its
    category (« Article 7 — Clauses environnementales »), else the piece itself."""
    rx = re.compile(_CATEGORY_SECTION.get(clause.category, r"$^"))
    for p in pieces:
        if p.kind != clause.piece:
            continue
        for sec in p.sections:
            if rx.search(fold(sec.title)):
                line = p.lines[sec.line_index]
                return Location(
                    file=p.path, line=line.src_line, page=line.page, heading=sec.label()
                )
        return Location(file=p.path)
    return Location(file=tender_file)


@dataclass
class _Dossier:
    """What every clause's decision needs to know about the dossier."""

    dossier: Dossier
    library: dict[str, Found]
    recognizer: Recognizer
    unreadable: Location | None
    waivers: dict[str, Waiver] = field(init=False)
    kinds: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.waivers = {w.clause: w for w in self.dossier.tender.waivers}
        self.kinds = {p.kind for p in self.dossier.pieces}

    def waiver_location(self, cid: str) -> Location:
        wi = next(i for i, w in enumerate(self.dossier.tender.waivers) if w.clause == cid)
        return Location(
            file=self.dossier.tender_file,
            line=self.dossier.line_of(f"waivers.{wi}"),
            heading="waivers",
        )


def clause_families(
    dossier: Dossier, clausier: Clausier, library: dict[str, Found]
) -> tuple[list[FamilyResult], list[Finding]]:
    """One :class:`FamilyResult` per clause of the clausier (in its order), and the
    findings of the statuses that call for one (hand-written, unverifiable, waived,
    missing).

    Raises:
        InputError: the clausier has no recognition vocabulary (recognition.yaml).
    """
    ctx = _Dossier(dossier, library, _recognizer(clausier), _first_unreadable(dossier.pieces))
    families: list[FamilyResult] = []
    findings: list[Finding] = []
    for cid, clause in clausier.clauses.items():
        applicable, why = is_applicable(clause, dossier.tender, clausier)
        level = effective_level(clause, dossier.tender, clausier)
        found = library.get(cid)
        status, evidence, hits = _status(ctx, clause, applicable)
        families.append(
            FamilyResult(
                clause=cid,
                title=clause.title,
                level=level,
                applicable=applicable,
                status=status,
                version=found.version if found else None,
                reason=why or None,
                evidence=evidence,
            )
        )
        findings.extend(_status_findings(ctx, clause, families[-1], hits))
    return families, findings


def _status(
    ctx: _Dossier, clause: Clause, applicable: bool
) -> tuple[FamilyStatus, list[Location], list[Hit]]:
    """The clause's status, where it stands (or where its absence is), and the text blocks
    that recognise it when hand-written."""
    found = ctx.library.get(clause.id)
    if found is not None:
        return found.status, found.locations, []
    if clause.id in ctx.waivers:
        return FamilyStatus.waived, [ctx.waiver_location(clause.id)], []
    hits = ctx.recognizer.find(ctx.dossier.pieces, clause.evidence)
    if hits:
        evidence: list[Location] = []
        for h in hits:
            loc = piece_location(h.piece, h.index)
            if loc not in evidence:
                evidence.append(loc)
        return FamilyStatus.hand_written, evidence, hits
    if applicable and ctx.unreadable is not None:
        # Not found, but some text could not be read: absence is not proven.
        return FamilyStatus.unverifiable, [ctx.unreadable], []
    if applicable:
        return FamilyStatus.missing, [], []
    return FamilyStatus.not_applicable, [], []


def _status_findings(
    ctx: _Dossier, clause: Clause, family: FamilyResult, hits: list[Hit]
) -> list[Finding]:
    """The findings a status calls for (none for present, edited, not applicable: the
    library scan reports the edits)."""
    if family.status == FamilyStatus.hand_written:
        return _hand_written(clause, family, hits)
    if family.status == FamilyStatus.unverifiable:
        return [_unverifiable(clause, family, ctx.unreadable)]
    if family.status == FamilyStatus.waived:
        return [_waived(clause, family, ctx.waivers[clause.id])]
    if family.status == FamilyStatus.missing:
        return [_missing(ctx, clause, family)]
    return []


def _hand_written(clause: Clause, family: FamilyResult, hits: list[Hit]) -> list[Finding]:
    """A hand-written stand-in for a legal obligation is visible in every check
    (pre-commit, CI): its equivalence is the referent's call, not the pattern's."""
    mandatory = family.applicable and family.level == "mandatory"
    severity = rule_severity("clause-redigee-main", None if mandatory else "recommandee")
    message = (
        f"Clause « {clause.title} » rédigée à la main (équivalent reconnu) : "
        f"à faire valider par le référent {clause.review_role}, ou à remplacer "
        "par la clause du clausier."
    )
    at = family.evidence[0]
    out = [clause_finding("clause-redigee-main", clause, severity, family.status, at, message)]
    if hits and not hits[0].expected:
        expected = ", ".join(k.upper() for k in clause.evidence.pieces) or clause.piece.upper()
        message = (
            f"Clause « {clause.title} » reconnue dans une pièce où elle n'est pas "
            f"attendue ({hits[0].piece.kind.upper()}) : sa place est dans le "
            f"{expected}. Déplacez-la ou reprenez-la dans cette pièce pour qu'elle "
            "ait la portée voulue."
        )
        out.append(
            clause_finding(
                "hors-piece-attendue",
                clause,
                rule_severity("hors-piece-attendue"),
                family.status,
                at,
                message,
                with_fix=False,
            )
        )
    return out


def _unverifiable(clause: Clause, family: FamilyResult, unreadable: Location) -> Finding:
    """Not found, but some text is not read reliably: the absence is not established."""
    mandatory = family.level == "mandatory"
    message = (
        f"Clause {'obligatoire' if mandatory else 'recommandée'} « {clause.title} » "
        f"non vérifiable : elle n'a pas été trouvée, mais le texte de "
        f"{unreadable.label()} n'est pas lu de façon fiable ; son absence n'est "
        "pas établie. Joignez la pièce dans un format lisible (DOCX, ODT ou PDF "
        "exporté avec ses polices) et relancez le contrôle ; l'assemblage reste "
        "refusé d'ici là."
    )
    severity = rule_severity("clause-non-verifiable", None if mandatory else "recommandee")
    return clause_finding(
        "clause-non-verifiable", clause, severity, family.status, unreadable, message
    )


def _waived(clause: Clause, family: FamilyResult, waiver: Waiver) -> Finding:
    """A waiver is the referent's call; of a legal obligation, the legal referent's."""
    mandatory = family.applicable and family.level == "mandatory"
    message = f"Clause « {clause.title} » écartée : « {waiver.reason} ». " + (
        "Il s'agit d'une obligation légale : la dérogation doit être justifiée "
        "et validée par le référent juridique."
        if mandatory
        else f"Dérogation à valider par le référent {clause.review_role}."
    )
    severity = rule_severity("derogation", None if mandatory else "recommandee")
    return clause_finding(
        "derogation",
        clause,
        severity,
        family.status,
        family.evidence[0],
        message,
        with_fix=False,
    )


def _missing(ctx: _Dossier, clause: Clause, family: FamilyResult) -> Finding:
    """A missing clause is located where it should go; when its piece itself is absent,
    the finding asks for the piece (one level lower: the check is incomplete)."""
    mandatory = family.level == "mandatory"
    level = "obligatoire" if mandatory else "recommandée"
    tender_file = ctx.dossier.tender_file
    rule = "clause-manquante" if mandatory else "clause-recommandee-absente"
    if clause.piece not in ctx.kinds:
        severity = rule_severity(rule, "piece-absente")
        where = Location(file=tender_file)
        msg = (
            f"Clause « {clause.title} » ({level}) "
            f"non trouvée, et la pièce où elle est attendue ({clause.piece.upper()}) est "
            "absente du dossier : ajoutez la pièce pour que le contrôle soit complet."
        )
    else:
        severity = rule_severity(rule)
        where = _expected_location(clause, ctx.dossier.pieces, tender_file)
        msg = (
            f"Clause {level} absente : "
            f"« {clause.title} ». Insérez-la dans le {clause.piece.upper()}."
        )
    return clause_finding(rule, clause, severity, family.status, where, msg)
