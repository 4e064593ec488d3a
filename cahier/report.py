"""``cahier report``: portfolio report (HTML, CSV) of every dossier."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail, write_atomic
from tasks.errors import CahierError, InputError

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
        Path, typer.Option("--out", help="Dossier de sortie (rapport.html, rapport.csv).")
    ] = Path("out/rapport"),
) -> None:
    """Rapport de portefeuille : clauses, critères responsables, RGAA, revues, cibles PNAD."""
    from tasks.award.portfolio import build_portfolio, indicator_rows, to_csv, to_html

    try:
        day = None
        if since:
            try:
                day = dt.date.fromisoformat(since)
            except ValueError:
                raise InputError(
                    f"date « {since} » invalide : format AAAA-MM-JJ attendu."
                ) from None
        p = build_portfolio(root, since=day)
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "rapport.html", to_html(p))
        write_atomic(out / "rapport.csv", to_csv(p))
    except CahierError as exc:
        fail(exc)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Portefeuille : {len(p.tenders)} consultation(s)")
    for col in ("Indicateur", "Valeur", "Dossiers", "Cible"):
        table.add_column(col)
    for r in indicator_rows(p):
        table.add_row(r["indicateur"], r["valeur"], r["dossiers"], r["cible"])
    Console().print(table)
    typer.echo(f"Rapport écrit : {out / 'rapport.html'}, {out / 'rapport.csv'}")
