"""Findings on the dossier as a whole: pieces expected or listed but absent, tender.yaml's
own consistency (procedure against amount, waivers, folder name), coherence between pieces
(an environmental criterion without an execution condition) and an incomplete tender.yaml.
"""

from __future__ import annotations

from pathlib import PurePath

from tasks import fmt
from tasks.check.applicability import climat_gate_applies, is_private
from tasks.check.completeness import missing_listed_pieces
from tasks.check.drafting_findings import piece_location
from tasks.check.library_clauses import Found
from tasks.clausier.library import Clausier
from tasks.clausier.render import clause_block
from tasks.clausier.rules import rule_basis, rule_clause, rule_severity
from tasks.dossier.document import PieceText
from tasks.dossier.model import (
    BuyerType,
    FamilyResult,
    FamilyStatus,
    Finding,
    Location,
    Tender,
)
from tasks.dossier.reader import Dossier

__all__ = [
    "coherence_findings",
    "incomplete_findings",
    "piece_findings",
    "tender_findings",
]


_EXPECTED_PIECES = {
    "rc": "règlement de la consultation",
    "ccap": "cahier des clauses administratives particulières",
    "cctp": "cahier des clauses techniques particulières",
}
_EXPECTED_WHY = {
    "rc": "les critères d'attribution et leurs pondérations ne peuvent pas être contrôlés.",
    "ccap": "les conditions d'exécution (environnementales, sociales) ne peuvent pas être contrôlées.",
    "cctp": "les spécifications techniques ne peuvent pas être contrôlées.",
}

#: Rules whose finding rests on a tender.yaml field (left out while the field is empty).
_RULES_NEEDING = {
    "ccag": {"ccag-incoherent"},
    "procedure": {"procedure-incoherente"},
    "montant": {"procedure-incoherente"},
    "objet": set(),
}


# ----------------------------------------------------------------- pieces


def piece_findings(pieces: list[PieceText], tender_file: str) -> list[Finding]:
    """The RC, CCAP and CCTP the checks need, and the pieces the RC or CCAP lists as part
    of the DCE (CCP R2132-2) that the dossier does not contain."""
    kinds = {p.kind for p in pieces}
    out = [
        Finding(
            rule="piece-attendue-absente",
            severity=rule_severity("piece-attendue-absente"),
            location=Location(file=tender_file),
            message=f"Le dossier ne contient pas de {kind.upper()} ({label}) : {_EXPECTED_WHY[kind]}",
        )
        for kind, label in _EXPECTED_PIECES.items()
        if kind not in kinds
    ]
    for lp in missing_listed_pieces(pieces):
        out.append(
            Finding(
                rule="piece-listee-absente",
                severity=rule_severity("piece-listee-absente"),
                location=piece_location(lp.piece, lp.index),
                message=(
                    f"Le {lp.piece.kind.upper()} liste {lp.label} parmi les pièces du DCE, mais "
                    "le dossier ne la contient pas : les candidats ne pourraient pas répondre "
                    "sur cette pièce."
                ),
                fix=f"Ajoutez {lp.label} dans pieces/ (un tableur XLSX/ODS convient pour un "
                "bordereau de prix), ou retirez-la de la liste.",
                legal_basis=rule_basis("piece-listee-absente"),
            )
        )
    return out


# ----------------------------------------------------------------- tender.yaml


def tender_findings(
    dossier: Dossier, clausier: Clausier, library: dict[str, Found]
) -> list[Finding]:
    """Consistency of tender.yaml itself: procedure vs amount, waivers, folder name."""
    return [
        *_procedure_findings(dossier, clausier),
        *_waiver_findings(dossier, library),
        *_folder_findings(dossier),
    ]


def _procedure_findings(dossier: Dossier, clausier: Clausier) -> list[Finding]:
    """A « procédure adaptée » at or above the EU threshold in force (CCP R2123-1,
    R2124-1; law.yaml thresholds)."""
    tender = dossier.tender
    threshold = clausier.law.supplies_services_threshold(
        tender.dateLancement, tender.acheteur.type == BuyerType.etat
    )
    if threshold is None and tender.dateLancement is not None:
        # no period of law.yaml covers the date: a typing error, or a clausier to update
        return [
            Finding(
                rule="date-hors-periode",
                severity=rule_severity("date-hors-periode"),
                location=Location(
                    file=dossier.tender_file,
                    line=dossier.line_of("dateLancement"),
                    heading="dateLancement",
                ),
                message=(
                    f"Date de lancement {tender.dateLancement.isoformat()} : le clausier "
                    "(law.yaml) ne donne aucune règle en vigueur à cette date ; les seuils et "
                    "obligations datés ne peuvent pas être vérifiés."
                ),
                fix="Corrigez la date (AAAA-MM-JJ) ou complétez les périodes de law.yaml.",
            )
        ]
    if not (
        tender.procedure == "Procédure adaptée"
        and threshold
        and tender.montant >= threshold
        and not is_private(tender)
    ):
        return []
    return [
        Finding(
            rule="procedure-incoherente",
            severity=rule_severity("procedure-incoherente"),
            location=Location(
                file=dossier.tender_file, line=dossier.line_of("procedure"), heading="procedure"
            ),
            message=(
                f"Procédure adaptée pour un montant de {fmt.amount(tender.montant, decimals=0)}, "
                f"au-delà du seuil européen de {fmt.amount(threshold, decimals=0)} en vigueur le "
                f"{fmt.date_short(tender.dateLancement)} : une procédure formalisée est requise "
                "(sauf petits lots, art. R2123-1 2°)."
            ),
            legal_basis=rule_basis("procedure-incoherente"),
        )
    ]


def _waiver_findings(dossier: Dossier, library: dict[str, Found]) -> list[Finding]:
    """A clause waived twice, or waived while it stands in the dossier."""
    out: list[Finding] = []
    seen: set[str] = set()
    for i, w in enumerate(dossier.tender.waivers):
        messages = []
        if w.clause in seen:
            messages.append(
                f"Dérogation en double pour la clause {w.clause} : gardez-en une seule."
            )
        seen.add(w.clause)
        if w.clause in library:
            messages.append(
                f"La clause {w.clause} est écartée par dérogation mais figure dans le "
                f"dossier ({library[w.clause].locations[0].label()}) : retirez l'une ou "
                "l'autre."
            )
        where = Location(
            file=dossier.tender_file, line=dossier.line_of(f"waivers.{i}"), heading="waivers"
        )
        out.extend(
            Finding(
                rule="derogation-incoherente",
                clause=w.clause,
                severity=rule_severity("derogation-incoherente"),
                location=where,
                message=message,
            )
            for message in messages
        )
    return out


def _folder_findings(dossier: Dossier) -> list[Finding]:
    """A working-tree dossier whose folder is not named after its tender id."""
    tender = dossier.tender
    folder = PurePath(str(dossier.root)).name
    if dossier.rev is not None or not folder or folder == tender.id:
        return []
    return [
        Finding(
            rule="identifiant-dossier",
            severity=rule_severity("identifiant-dossier"),
            location=Location(file=dossier.tender_file, line=dossier.line_of("id"), heading="id"),
            message=(
                f"L'identifiant « {tender.id} » diffère du nom du dossier « {folder} » : "
                "les archives, revues et exécutions Prefect sont nommées d'après l'un ou "
                "l'autre ; alignez-les."
            ),
        )
    ]


# ----------------------------------------------------------------- between pieces


def coherence_findings(
    families: list[FamilyResult], clausier: Clausier, tender: Tender
) -> list[Finding]:
    """An environmental award criterion with no environmental execution condition
    (an error once the Climat gate binds the tender: CCP L2112-2)."""
    by_id = {f.clause: f for f in families}
    crit_id = rule_clause("critere-sans-condition", "critere")
    cond_id = rule_clause("critere-sans-condition", "condition")
    crit = by_id.get(crit_id)
    cond = by_id.get(cond_id)
    present = (FamilyStatus.present, FamilyStatus.edited, FamilyStatus.hand_written)
    absent = (FamilyStatus.missing, FamilyStatus.not_applicable)
    if not (crit and cond and crit.status in present and cond.status in absent):
        return []
    clause = clausier.get(cond_id)
    loc = crit.evidence[0] if crit.evidence else None
    where = f" ({loc.label()})" if loc else ""
    return [
        Finding(
            rule="critere-sans-condition",
            clause=cond_id,
            severity=rule_severity(
                "critere-sans-condition",
                "climat" if climat_gate_applies(tender, clausier) else None,
            ),
            status=FamilyStatus.missing,
            location=loc,
            message=(
                f"Le RC note un critère environnemental{where} mais le CCAP ne contient "
                "aucune condition d'exécution environnementale : les engagements notés ne "
                "seront ni contractuels ni suivis."
            ),
            fix=clause_block(clause) if clause else None,
            legal_basis=clause.legal_basis if clause else [],
        )
    ]


# ----------------------------------------------------------------- incomplete tender.yaml


def incomplete_findings(dossier: Dossier, findings: list[Finding]) -> list[Finding]:
    """An incomplete tender.yaml (a draft): one error listing the empty fields with their
    lines, and the findings that rest on them left out."""
    missing = dossier.missing_fields
    drop = set().union(*(_RULES_NEEDING.get(m, set()) for m in missing))
    kept = [f for f in findings if f.rule not in drop]
    where = ", ".join(
        f"{m} (ligne {dossier.line_of(m.split(' ')[0])})" if dossier.line_of(m.split(" ")[0]) else m
        for m in missing
    )
    assumed = []
    if "dateLancement" in missing:
        assumed.append("les règles en vigueur aujourd'hui")
    if "montant" in missing:
        assumed.append("un montant au-delà des seuils européens")
    if "categories" in missing:
        assumed.append("toutes les catégories d'achat")
    if any(m.startswith("acheteur") for m in missing):
        assumed.append("un acheteur de l'État")
    kept.append(
        Finding(
            rule="tender-incomplet",
            severity=rule_severity("tender-incomplet"),
            location=Location(
                file=dossier.tender_file, line=dossier.line_of(missing[0].split(" ")[0])
            ),
            message=(
                f"tender.yaml est incomplet : {where}. Les constats ci-dessous ne dépendent "
                "pas de ces champs"
                + (f" (hypothèses prudentes : {', '.join(assumed)})" if assumed else "")
                + " ; l'assemblage et l'archive restent refusés tant qu'ils sont vides."
            ),
            fix="Complétez les champs marqués « À COMPLÉTER » dans tender.yaml.",
        )
    )
    return kept
