"""Execution follow-up, the check: promised vs delivered of every commitment at a date,
and the findings (missing report, late report, shortfall) citing the clause, its place
in the dossier, its penalty and its legal basis. Public API: :mod:`tasks.award.followup`.
"""

from __future__ import annotations

import datetime as dt
import os

from tasks import fmt
from tasks.clausier.rules import rule_severity
from tasks.dossier.model import Finding, FindingsOutcome, Location, Severity, _Model

from .followup_plan import (
    PLAN_FILE,
    REPORTS_DIR,
    Commitment,
    DueDate,
    FollowupPlan,
    _suivi_files,
    read_plan,
)
from .followup_reports import ExecutionReport, StoredReport, read_reports


class Progress(_Model):
    """Promised vs delivered for one commitment at the date of the check.

    promis / realise: units (hours) for ``somme``; % for ``ratio`` and ``taux``;
    number of due documents and documents received for ``document``.
    """

    engagement: str
    clause: str
    indicateur: str
    libelle: str
    unite: str
    promis: float | None
    realise: float | None
    atteint: bool | None


class FollowupResult(FindingsOutcome, _Model):
    """The check of one contract's follow-up at one date."""

    tender: str
    date: dt.date
    plan: FollowupPlan
    reports: list[str]
    progress: list[Progress]
    findings: list[Finding]


def _fr(x: float) -> str:
    """``1 234,5`` — at most one decimal, French separators (Babel, :mod:`tasks.fmt`)."""
    return fmt.number(round(x, 1))


def _covering(reports: list[StoredReport], due: DueDate) -> list[StoredReport]:
    return [
        s for s in reports if s.report.periode.debut <= due.fin and s.report.periode.fin >= due.fin
    ]


def check_followup(
    dossier_path: str | os.PathLike[str], on: dt.date | None = None, rev: str | None = None
) -> FollowupResult:
    """Check the execution reports of a dossier against its follow-up plan on ``on``
    (default: today).

    Rules: ``suivi-rapport-manquant`` (error) — a report due on or before ``on`` is
    absent; ``suivi-rapport-en-retard`` (warning) — handed in after its due date, with
    the penalty per day late when the clause has one; ``suivi-ecart`` (error) — the
    delivered quantity or share is below the commitment (cumulated to the latest
    report; insertion hours per 100 000 € HT invoiced), with the penalty per missing
    unit when the clause has one. Each finding cites the clause, its place in the
    dossier and its legal basis.

    Raises:
        InputError: no plan, invalid report (see :func:`read_reports`).
    """
    on = on or dt.date.today()
    files = _suivi_files(dossier_path, rev)
    plan = read_plan(dossier_path, rev, files)
    stored = read_reports(dossier_path, plan, rev, files)
    findings: list[Finding] = []
    progress: list[Progress] = []
    for c in plan.engagements:
        relevant = [s for s in stored if _measures(s.report, c)]
        for due in (d for d in c.echeances if d.echeance <= on):
            finding = _missing_or_late(c, due, _covering(relevant, due))
            if finding is not None:
                findings.append(finding)
        prog, finding = _shortfall(c, relevant, plan, on)
        progress.append(prog)
        if finding is not None:
            findings.append(finding)
    order = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}
    findings.sort(key=lambda f: (order[f.severity], f.clause or "", f.message))
    return FollowupResult(
        tender=plan.tender,
        date=on,
        plan=plan,
        reports=[s.file for s in stored],
        progress=progress,
        findings=findings,
    )


def _missing_or_late(c: Commitment, due: DueDate, cover: list[StoredReport]) -> Finding | None:
    """``suivi-rapport-manquant`` when no report covers the period ``due``,
    ``suivi-rapport-en-retard`` when the first one came after the due date, else None."""
    day = fmt.date_short
    per_day = c.penalite if c.penalite and c.penalite.par == "jour_de_retard" else None
    period = f"période du {day(due.debut)} au {day(due.fin)}"
    if not cover:
        return Finding(
            rule="suivi-rapport-manquant",
            clause=c.clause,
            severity=rule_severity("suivi-rapport-manquant", section="suivi"),
            location=Location(file=PLAN_FILE, heading=c.id),
            message=(
                f"{c.libelle} : aucun rapport pour la {period}, attendu le "
                f"{day(due.echeance)} ({c.clause}, {c.source.label()})."
                + (
                    f" Pénalité prévue : {_fr(per_day.montant)} € HT par jour de retard."
                    if per_day
                    else ""
                )
            ),
            fix=(
                "Demandez le rapport au titulaire (mise en demeure) et déposez-le "
                f"dans {REPORTS_DIR}/."
            ),
            legal_basis=c.legal_basis,
        )
    first = min(cover, key=lambda s: s.report.remis_le)
    late = (first.report.remis_le - due.echeance).days
    if late <= 0:
        return None
    amount = (
        f" Pénalité encourue : {late} jour(s) × {_fr(per_day.montant)} € HT = "
        f"{_fr(late * per_day.montant)} € HT."
        if per_day
        else ""
    )
    return Finding(
        rule="suivi-rapport-en-retard",
        clause=c.clause,
        severity=rule_severity("suivi-rapport-en-retard", section="suivi"),
        location=Location(
            file=first.file, line=first.lines.get("remis_le") or first.lines.get("contrat")
        ),
        message=(
            f"{c.libelle} : rapport de la {period} remis le {day(first.report.remis_le)}, "
            f"{late} jour(s) après l'échéance du {day(due.echeance)} "
            f"({c.clause}, {c.source.label()}).{amount}"
        ),
        legal_basis=c.legal_basis,
    )


def _measures(r: ExecutionReport, c: Commitment) -> bool:
    if c.mesure == "document":
        return any(d.indicateur == c.indicateur for d in r.documents)
    if c.mesure == "ratio":
        return c.denominateur in r.valeurs
    return c.indicateur in r.valeurs


def _shortfall(
    c: Commitment, reports: list[StoredReport], plan: FollowupPlan, on: dt.date
) -> tuple[Progress, Finding | None]:
    base = dict(
        engagement=c.id, clause=c.clause, indicateur=c.indicateur, libelle=c.libelle, unite=c.unite
    )
    if not reports:
        return Progress(**base, promis=c.cible, realise=None, atteint=None), None
    last = max(reports, key=lambda s: s.report.periode.fin)
    key = c.numerateur if c.mesure == "ratio" else c.indicateur
    loc = Location(
        file=last.file, line=last.lines.get(f"valeurs.{key}") or last.lines.get("valeurs")
    )
    promised = delivered = None
    missing_units = 0.0
    if c.mesure == "document":
        due = [d for d in c.echeances if d.echeance <= on]
        promised = float(len(due))
        delivered = float(sum(1 for d in due if _covering(reports, d)))
        met = (delivered >= promised) if due else None  # nothing due yet: not judged
        return Progress(**base, promis=promised, realise=delivered, atteint=met), None
    if c.cible is None:
        return Progress(**base, promis=None, realise=None, atteint=None), None
    if c.mesure == "somme":
        delivered = sum(s.report.valeurs.get(c.indicateur, 0.0) for s in reports)
        if c.par_100k:
            invoiced = sum(s.report.montant_facture or 0.0 for s in reports)
            if not any(s.report.montant_facture is not None for s in reports):
                span = (plan.fin - plan.debut).days or 1
                elapsed = (last.report.periode.fin - plan.debut).days + 1
                invoiced = plan.montant * min(1.0, elapsed / span)
            promised = c.cible * invoiced / 100_000
        else:
            promised = c.cible
        missing_units = max(0.0, promised - delivered)
        ok = delivered + 1e-9 >= promised
        unit = c.unite
        shown = f"{_fr(delivered)} {unit} réalisées sur {_fr(promised)} dues"
    elif c.mesure == "ratio":
        num = sum(s.report.valeurs.get(c.numerateur or "", 0.0) for s in reports)
        den = sum(s.report.valeurs.get(c.denominateur or "", 0.0) for s in reports)
        delivered = round(100 * num / den, 1) if den else 0.0
        promised = c.cible
        ok = delivered + 1e-9 >= promised
        shown = f"{_fr(delivered)} % ({_fr(num)} sur {_fr(den)}) pour un engagement de {_fr(promised)} %"
    else:  # taux
        delivered = last.report.valeurs.get(c.indicateur, 0.0)
        promised = c.cible
        ok = delivered + 1e-9 >= promised
        shown = f"{_fr(delivered)} % pour un engagement de {_fr(promised)} %"
    prog = Progress(**base, promis=round(promised, 2), realise=round(delivered, 2), atteint=ok)
    if ok:
        return prog, None
    pen = ""
    if c.penalite and c.penalite.par == "unite_manquante" and missing_units > 0:
        pen = (
            f" Pénalité prévue : {_fr(missing_units)} {c.unite} × {_fr(c.penalite.montant)} € HT "
            f"= {_fr(missing_units * c.penalite.montant)} € HT, sauf cause exonératoire."
        )
    origin = f" ; cible : {c.origine_cible}" if c.origine_cible else ""
    return prog, Finding(
        rule="suivi-ecart",
        clause=c.clause,
        severity=rule_severity("suivi-ecart", section="suivi"),
        location=loc,
        message=(
            f"{c.libelle} au {fmt.date_short(last.report.periode.fin)} : {shown} ({c.clause}, "
            f"{c.source.label()}{origin}).{pen}"
        ),
        fix=(
            "Demandez au titulaire un plan de rattrapage ; le référent décide de la pénalité "
            "(cahier review) au vu des justificatifs."
        ),
        legal_basis=c.legal_basis,
    )
