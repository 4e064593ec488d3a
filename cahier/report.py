"""``cahier report``: portfolio report (HTML, CSV) of every dossier."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail, iso_date, write_atomic
from tasks import fmt
from tasks.errors import CahierError, InputError, os_reason

commands = CommandSet()


@commands.add()
def report(
    root: Annotated[
        Path, typer.Argument(help="Dossier des consultations (défaut : tenders).")
    ] = Path("tenders"),
    since: Annotated[
        str | None,
        typer.Option("--since", help="Seulement les consultations lancées depuis (AAAA-MM-JJ)."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Dossier de sortie (rapport.html, rapport.csv).")
    ] = Path("out/rapport"),
    on: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Date du rapport (AAAA-MM-JJ, défaut : aujourd'hui) : cibles en vigueur ce "
            "jour-là et résultats d'exécution mesurés ce jour-là.",
        ),
    ] = None,
    open_dir: Annotated[
        Path | None,
        typer.Option(
            "--donnees-ouvertes",
            help="Écrire aussi les résultats d'exécution en données ouvertes dans ce dossier "
            "(resultats.csv, resultats.json, resultats.schema.json ; sans données personnelles).",
        ),
    ] = None,
) -> None:
    """Rapport de portefeuille : clauses, critères responsables, RGAA, revues, cibles en \
vigueur, engagements d'exécution promis et réalisés.

Codes de sortie : 0 rapport complet ; 1 rapport écrit mais incomplet (dossiers non pris en \
compte ou avec réserve) ; 2 entrée inutilisable (aucune consultation, date invalide)."""
    from tasks.award.portfolio import build_portfolio

    try:
        p = build_portfolio(root, since=_date_of(since), on=_date_of(on))
        if not p.tenders:  # a report of nothing must not pass for one
            raise InputError(
                "aucune consultation (tender.yaml) sous ce dossier"
                + (" lancée depuis cette date" if since else "")
                + " : aucun rapport écrit ; vérifiez le chemin.",
                str(root),
            )
        _write(p, out, open_dir)
    except CahierError as exc:
        fail(exc)
    _print_summary(p)
    typer.echo(f"Rapport écrit : {out / 'rapport.html'}, {out / 'rapport.csv'}")
    if open_dir is not None:
        typer.echo(
            f"Données ouvertes : {open_dir}/resultats.csv, resultats.json, resultats.schema.json"
        )
    gaps = sum(1 for t in p.tenders if t.message or t.notes)
    if gaps:  # written, but incomplete: never exit 0 on what could not be read
        typer.echo(
            f"Rapport incomplet : {gaps} dossier(s) non pris en compte ou avec réserve "
            "(ci-dessus) ; corrigez-les puis relancez (code de sortie 1).",
            err=True,
        )
        raise typer.Exit(1)


def _date_of(value: str | None) -> dt.date | None:
    return iso_date(value, "date « {value} » invalide : format AAAA-MM-JJ attendu.")


def _write(p, out: Path, open_dir: Path | None) -> None:
    """Write rapport.html and rapport.csv in ``out`` and, with ``open_dir``, the open data
    (resultats.csv, resultats.json, resultats.schema.json); everything is rendered before
    anything is written."""
    import json

    from tasks.award.portfolio import open_data, open_data_schema, to_csv
    from tasks.award.portfolio_page import to_html

    pages = {"rapport.html": to_html(p), "rapport.csv": to_csv(p)}
    opened = {}
    if open_dir is not None:
        csv_text, json_text = open_data(p)
        schema = json.dumps(open_data_schema(), ensure_ascii=False, indent=2) + "\n"
        opened = {
            "resultats.csv": csv_text,
            "resultats.json": json_text,
            "resultats.schema.json": schema,
        }
    for folder in (out, open_dir):
        if folder is None:
            continue
        if folder.exists() and not folder.is_dir():
            raise InputError(
                "c'est un fichier : --out et --donnees-ouvertes attendent un dossier (créé s'il "
                "n'existe pas).",
                str(folder),
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"dossier impossible à créer : {os_reason(exc)}.", str(folder)
            ) from None
    for name, text in pages.items():
        write_atomic(out / name, text)
    for name, text in opened.items():
        write_atomic(open_dir / name, text)


def _print_summary(p) -> None:
    """The indicators table, the dossiers left out and the reserves on the data (French),
    and, when there are any, the execution results promised and measured, on the
    terminal."""
    from rich.console import Console
    from rich.table import Table

    from tasks.award.portfolio import result_groups
    from tasks.award.portfolio_page import indicator_rows

    table = Table(title=f"Portefeuille : {len(p.tenders)} consultation(s)")
    for col in ("Indicateur", "Valeur", "Dossiers", "Cible"):
        table.add_column(col)
    for r in indicator_rows(p):
        table.add_row(r["indicateur"], r["valeur"], r["dossiers"], r["cible"])
    Console().print(table)
    for t in p.tenders:  # what the figures leave out, said where they are read
        if t.message:
            typer.echo(f"Non pris en compte : {t.dossier} : {t.message}")
        for note in t.notes:
            typer.echo(f"Réserve : {t.dossier} : {note}")
    if not result_groups(p, "marche"):
        return
    res = Table(title=f"Engagements d'exécution au {p.date} : réalisé / promis")
    for col in ("Marché", "Engagement", "Promis", "Réalisé", "Unité", "Tenu"):
        res.add_column(col)
    for t in p.tenders:
        for r in t.results:
            res.add_row(
                t.tender,
                r["libelle"],
                fmt.number(r["promis"]),
                "—" if r["realise"] is None else fmt.number(r["realise"]),
                r["unite"],
                {True: "oui", False: "NON", None: "—"}[r["atteint"]],
            )
    Console().print(res)
