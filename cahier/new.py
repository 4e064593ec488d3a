"""``cahier new``: create a dossier from the templates of a purchase type."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail, iso_date
from cahier.options import ClausierOpt
from tasks.errors import CahierError

commands = CommandSet()


def _date(value: str | None) -> dt.date | None:
    return iso_date(
        value, "date de lancement « {value} » invalide : une date AAAA-MM-JJ est attendue."
    )


@commands.add()
def new(
    tender_id: Annotated[
        str, typer.Argument(help="Identifiant de la consultation, ex. 2026-CD33-PC-001.")
    ],
    type_: Annotated[
        str,
        typer.Option(
            "--type", help="Type d'achat : materiel, logiciel, prestations, hebergement, telecom."
        ),
    ],
    acheteur: Annotated[str, typer.Option("--acheteur", help="Nom de l'acheteur.")],
    siret: Annotated[str, typer.Option("--siret", help="SIRET de l'acheteur (14 chiffres).")],
    buyer_type: Annotated[
        str,
        typer.Option(
            "--buyer-type",
            help="Type d'acheteur : etat, collectivite, groupement, etablissement_public, hopital, autre, prive (acheteur privé : docs/policy.md).",
        ),
    ],
    montant: Annotated[
        str,
        typer.Option(
            "--montant",
            help="Montant maximum estimé, € HT, toute durée, positif (ex. 150000 ou "
            "« 150 000,50 »).",
        ),
    ] = "100000",
    date_lancement: Annotated[
        str | None,
        typer.Option(
            "--date-lancement", help="Date de lancement AAAA-MM-JJ (défaut : aujourd'hui)."
        ),
    ] = None,
    equipement: Annotated[
        str | None,
        typer.Option(
            "--equipement",
            help="Seulement pour --type materiel : postes (défaut), impression, smartphones, "
            "serveurs.",
        ),
    ] = None,
    objet: Annotated[
        str | None,
        typer.Option("--objet", help="Objet de la consultation (défaut : celui du gabarit)."),
    ] = None,
    dest: Annotated[Path, typer.Option("--dest", help="Dossier où créer la consultation.")] = Path(
        "tenders"
    ),
    clausier: ClausierOpt = None,
) -> None:
    """Créer un dossier de consultation à partir des gabarits d'un type d'achat."""
    from tasks.clausier.library import load_clausier
    from tasks.drafting.scaffold import ScaffoldRequest, parse_montant, scaffold

    try:
        req = ScaffoldRequest(
            tender_id,
            type_,
            acheteur,
            siret,
            buyer_type,
            montant=parse_montant(montant),
            date_lancement=_date(date_lancement),
            equipement=equipement,
            objet=objet,
        )
        result = scaffold(req, dest, load_clausier(clausier))
    except CahierError as exc:
        fail(exc)
        return
    _print_created(result)


def _print_created(result) -> None:
    """What was created (clauses by piece, waivers proposed) and the first check; exits
    with the check's code."""
    report = result.report
    typer.echo(f"Dossier créé : {result.path} ({result.procedure.lower()}).")
    for piece, ids in result.clauses.items():
        typer.echo(f"  pieces/{piece} : {', '.join(ids) if ids else 'aucune clause du clausier'}")
    if result.waivers:
        typer.echo(f"  dérogations proposées (tender.yaml) : {', '.join(result.waivers)}")
    if report is not None:
        typer.echo(
            f"Contrôle : {report.errors} erreur(s), {report.warnings} avertissement(s) "
            f"(clausier {report.clausier_version}). Relisez tender.yaml et les notes "
            "« {## … ##} » des pièces avant publication."
        )
        raise typer.Exit(report.exit_code)
