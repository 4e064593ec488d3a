"""``cahier audit``: timeline of the dossier; ``--verify``: integrity of the archives."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, dossier_of, fail
from cahier.options import GitDossier
from tasks.errors import CahierError

commands = CommandSet()


@commands.add()
def audit(
    tender_dir: GitDossier,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Recalculer les empreintes, la chaîne et les étiquettes."),
    ] = False,
    no_checks: Annotated[
        bool, typer.Option("--sans-controles", help="Ne pas rejouer le contrôle à chaque commit.")
    ] = False,
) -> None:
    """Chronologie du dossier (rédaction, contrôles, revues, archives) ; --verify : intégrité."""
    from rich.console import Console

    con = Console()
    try:
        d = dossier_of(tender_dir)
        if verify:
            from tasks.award.audit import method_notes, witness_statements, witnesses_prove
            from tasks.award.audit import verify as run_verify

            numbers, problems = run_verify(d)
            statements = witness_statements(d)
            for line in statements:
                con.print(f"Témoin : {line}", markup=False)
            for line in method_notes(d):
                con.print(f"Note : {line}", markup=False)
            if not problems:
                if not numbers:
                    con.print("Aucune archive pour ce dossier.", markup=False)
                elif witnesses_prove(d):
                    con.print(
                        f"{len(numbers)} archive(s) vérifiée(s) : empreintes, chaîne et "
                        "étiquettes intactes dans le dépôt et conformes aux témoins ci-dessus.",
                        markup=False,
                    )
                else:
                    con.print(
                        f"{len(numbers)} archive(s) vérifiée(s) : empreintes, chaîne et "
                        "étiquettes intactes dans le dépôt ; non prouvé contre une réécriture "
                        "complète (aucun témoin de la configuration du vérificateur : voir "
                        "« witnesses » dans sa configuration, hors du dépôt).",
                        markup=False,
                    )
                return
            first = problems[0]
            typer.echo(f"cahier : altération détectée : {first.render()}", err=True)
            for p in problems[1:]:
                typer.echo(f"  {p.render()}", err=True)
            raise typer.Exit(1)
        from tasks.award.audit import timeline

        for e in timeline(d, run_checks=not no_checks):
            who = f" — {e.author}" if e.author else ""
            sha = f" {e.commit[:10]}" if e.commit else ""
            when = e.when.astimezone()  # one time zone for the whole timeline
            con.print(f"{when:%Y-%m-%d %H:%M} [{e.kind}]{sha}{who} : {e.summary}", markup=False)
            for line in e.details:
                con.print(f"    {line}", markup=False)
        _print_flow_runs(con, d)
    except CahierError as exc:
        fail(exc)


def _print_flow_runs(con, dossier: Path) -> None:
    """The tender's Prefect flow runs, when a server is configured (PREFECT_API_URL)."""
    from tasks.config import load_settings

    if not load_settings().prefect.api_url:
        con.print("Exécutions Prefect : aucun serveur configuré (PREFECT_API_URL).", markup=False)
        return
    from flows.runs import list_runs
    from tasks.dossier.reader import read_dossier

    tender_id = read_dossier(dossier).tender.id
    try:
        runs = list_runs(tender_id, Path(dossier).name)
    except Exception as exc:  # unreachable server: the Git timeline stands on its own
        con.print(f"Exécutions Prefect : serveur injoignable ({type(exc).__name__}).", markup=False)
        return
    con.print(f"Exécutions Prefect ({len(runs)}) :", markup=False)
    for r in runs:
        when = f"{r['start']:%Y-%m-%d %H:%M}" if r["start"] else "—"
        con.print(f"  {when} [{r['flow']}] {r['name']} : {r['state']} ({r['id']})", markup=False)
