"""Commands around the clausier: ``cahier new``, ``cahier import``, ``cahier clauses diff``.

Heavy imports (Jinja2 rendering, Pandoc, GitPython, the checker) stay inside the
command functions: loading this module costs nothing to ``cahier check``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cahier.cli import _fail, app, clauses_app
from tasks.errors import InputError

__all__ = ["clauses_diff", "import_", "new"]


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"date de lancement « {value} » invalide : une date AAAA-MM-JJ est attendue."
        ) from None


@app.command()
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
            help="Type d'acheteur : etat, collectivite, groupement, etablissement_public, hopital, autre.",
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
    clausier: Annotated[
        Path | None,
        typer.Option("--clausier", help="Clausier à utiliser (défaut : celui de cahier)."),
    ] = None,
) -> None:
    """Créer un dossier de consultation à partir des gabarits d'un type d'achat."""
    from tasks.clausier.library import load_clausier
    from tasks.drafting.scaffold import ScaffoldRequest, parse_montant, scaffold

    try:
        req = ScaffoldRequest(
            tender_id=tender_id,
            type=type_,
            acheteur=acheteur,
            siret=siret,
            buyer_type=buyer_type,
            montant=parse_montant(montant),
            date_lancement=_date(date_lancement),
            equipement=equipement,
            objet=objet,
        )
        result = scaffold(req, dest, load_clausier(clausier))
    except InputError as exc:
        _fail(exc)
        return
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


@app.command("import")
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="Pièces existantes : .docx, .odt, .pdf, .md.")
    ],
    tender: Annotated[
        str, typer.Option("--tender", help="Identifiant de la consultation à créer.")
    ],
    dest: Annotated[Path, typer.Option("--dest", help="Dossier où créer la consultation.")] = Path(
        "tenders"
    ),
) -> None:
    """Importer un DCE existant : pièces en Markdown et tender.yaml pré-rempli."""
    from tasks.drafting.importer import KIND_LABELS, import_dce

    try:
        result = import_dce(files, tender, dest)
    except InputError as exc:
        _fail(exc)
        return
    typer.echo(f"Dossier importé : {result.path}")
    typer.echo("Pièces importées (nature reconnue) :")
    for src, out in result.pieces.items():
        kind = result.kinds.get(src, "autre")
        typer.echo(f"  {src} → {out} : {KIND_LABELS.get(kind, kind)}")
    for warning in result.warnings:
        typer.echo(f"Attention : {warning}")
    if result.found:
        typer.echo("Lu dans les pièces : " + ", ".join(result.found) + ".")
    if result.missing:
        typer.echo("À compléter dans tender.yaml (marqué « # À COMPLÉTER ») :")
        for item in result.missing:
            typer.echo(f"  - {item}")
        typer.echo(
            "tender.yaml est un brouillon : « cahier check » le refusera (code 2) tant que "
            "ces champs ne sont pas complétés."
        )
    else:
        typer.echo("tender.yaml est complet : lancez « cahier check " + str(result.path) + " ».")


@clauses_app.command("diff")
def clauses_diff(
    old: Annotated[
        str, typer.Argument(help="Ancienne version : révision Git ou dossier de clausier.")
    ],
    new: Annotated[
        str,
        typer.Argument(
            help="Nouvelle version : révision Git, dossier, ou « . » (copie de travail)."
        ),
    ] = ".",
    repo: Annotated[
        Path | None,
        typer.Option("--repo", help="Dépôt Git du clausier (défaut : celui de cahier)."),
    ] = None,
) -> None:
    """Comparer deux versions du clausier : clauses ajoutées, retirées, modifiées."""
    from rich.console import Console

    from tasks.clausier.diff import diff_clausiers, load_side, to_text

    try:
        a = load_side(old, repo)
        b = load_side(new, repo)
        result = diff_clausiers(a, b)
    except InputError as exc:
        _fail(exc)
        return
    to_text(result, Console())
    raise typer.Exit(1 if result.errors else 0)


@clauses_app.command("check")
def clauses_check(
    clausier: Annotated[
        Path | None,
        typer.Option("--clausier", help="Clausier à vérifier (défaut : celui de cahier)."),
    ] = None,
) -> None:
    """Vérifier le clausier : schéma, variables des modèles, paramètres, motifs de reconnaissance."""
    from tasks.clausier.library import check_clausier

    problems = check_clausier(clausier)
    for p in problems:
        typer.echo(f"cahier : {p.render()}", err=True)
    if problems:
        raise typer.Exit(2)
    typer.echo("Clausier valide.")
