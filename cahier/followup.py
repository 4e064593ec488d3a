"""``cahier followup``: execution follow-up of an awarded contract (plan, check).

``plan`` writes ``suivi/plan.yaml`` from the evaluation and the execution clauses;
``check`` checks the execution reports of ``suivi/rapports/`` against it at a date.
Exit codes: 0 nothing wrong, 1 shortfalls or missing reports, 2 unusable input (French
message naming the file and line; nothing written).

Registering this module also adds the follow-up findings to the referents' review plan
(:func:`tasks.review.reviews.register_item_source`): a shortfall is approved (penalty
applied or exonerating cause accepted) with ``cahier review approve`` like the rest.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, dossier_of, fail, iso_date, write_output
from cahier.options import Dossier, OutputOpt
from tasks.errors import CahierError

commands = CommandSet(
    "followup",
    help="Suivi d'exécution : engagements du titulaire, rapports, écarts et pénalités.",
)


class Format(StrEnum):
    text = "text"
    json = "json"


def _date(value: str | None) -> dt.date | None:
    return iso_date(value, "date « {value} » invalide : AAAA-MM-JJ attendu.")


@commands.add("plan")
def plan(
    tender_dir: Annotated[Path, typer.Argument(help="Dossier de la consultation attribuée.")],
    replace: Annotated[
        bool, typer.Option("--remplacer", help="Recalculer un plan existant.")
    ] = False,
) -> None:
    """Établir le plan de suivi (suivi/plan.yaml) : engagements, cibles, échéances, pénalités."""
    from tasks.award.followup import build_plan, write_plan

    try:
        d = dossier_of(tender_dir)
        p = build_plan(d)
        target = write_plan(d, p, force=replace)
    except CahierError as exc:
        fail(exc)
    typer.echo(
        f"Plan de suivi écrit : {target} — titulaire {p.titulaire.nom}, du {p.debut:%d/%m/%Y} "
        f"au {p.fin:%d/%m/%Y}, {len(p.engagements)} engagement(s)."
    )
    for c in p.engagements:
        cible = "" if c.cible is None else f" ; cible {c.cible:g} {c.unite}"
        if c.par_100k:
            cible += " par 100 000 € HT facturés"
        first = c.echeances[0].echeance if c.echeances else None
        typer.echo(
            f"  {c.id} : {c.libelle}{cible} ; {len(c.echeances)} échéance(s)"
            + (f", la première le {first:%d/%m/%Y}" if first else "")
        )


@commands.add("check")
def check(
    tender_dir: Dossier,
    on: Annotated[
        str | None,
        typer.Option("--date", help="Date du contrôle, AAAA-MM-JJ (défaut : aujourd'hui)."),
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Format.")] = Format.text,
    output: OutputOpt = None,
) -> None:
    """Contrôler les rapports d'exécution : écarts, rapports en retard ou manquants."""
    from tasks import fmt
    from tasks.award.followup import check_followup

    try:
        result = check_followup(dossier_of(tender_dir), _date(on))
    except CahierError as exc:
        fail(exc)
    if output_format == Format.json:
        text = result.model_dump_json(indent=2) + "\n"
    else:
        lines = [
            f"Suivi d'exécution de {result.tender} au {result.date:%d/%m/%Y} — titulaire "
            f"{result.plan.titulaire.nom} ; {len(result.reports)} rapport(s).",
            "",
            "Promis / réalisé :",
        ]
        for p in result.progress:
            if p.promis is None and p.realise is None:
                continue
            state = {True: "atteint", False: "NON ATTEINT", None: "—"}[p.atteint]
            promis = "—" if p.promis is None else fmt.number(p.promis)
            realise = "—" if p.realise is None else fmt.number(p.realise)
            lines.append(f"  {p.engagement:<40} {realise:>8} / {promis:<8} {p.unite:<10} {state}")
        lines.append("")
        labels = {"error": "ERREUR", "warning": "AVERTISSEMENT", "info": "INFO"}
        for f in result.findings:
            where = f.location.label() if f.location else ""
            lines.append(f"{labels[str(f.severity)]} [{f.rule}] {f.clause or ''} {where}")
            lines.append(f"  {f.message}")
            if f.fix:
                lines.append(f"  Correction : {f.fix}")
        lines.append(
            f"Bilan : {result.errors} erreur(s), "
            f"{sum(1 for f in result.findings if str(f.severity) == 'warning')} avertissement(s)."
        )
        text = "\n".join(lines) + "\n"
    write_output(text, output)
    raise typer.Exit(result.exit_code)


def _register_review_items() -> None:
    """Follow-up findings become review items of the clause's referent (costs nothing:
    the follow-up module is imported only when a review plan is built)."""
    from tasks.review.sources import register_item_source

    register_item_source("tasks.award.followup:review_items")


_register_review_items()
