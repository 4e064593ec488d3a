"""``cahier clauses list|show|diff|check``: read and lint the clausier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail
from tasks.errors import CahierError, InputError

commands = CommandSet("clauses", help="Consulter le clausier.")


@commands.add("list")
def clauses_list(
    clausier: Annotated[
        Path | None, typer.Option("--clausier", help="Clausier à utiliser.")
    ] = None,
) -> None:
    """Lister les clauses du clausier."""
    from rich.console import Console
    from rich.table import Table

    from tasks.clausier.library import load_clausier

    try:
        lib = load_clausier(clausier)
    except CahierError as exc:
        fail(exc)
        return
    table = Table(title=f"Clausier {lib.version} — {len(lib.clauses)} clauses")
    for col in ("Clause", "Version", "Intitulé", "Catégorie", "Niveau", "Pièce", "Référent"):
        table.add_column(col)
    for c in lib.clauses.values():
        table.add_row(
            c.id,
            str(c.version),
            c.title,
            c.category,
            "obligatoire" if c.level == "mandatory" else "recommandée",
            c.piece.upper(),
            c.review_role,
        )
    Console().print(table)


@commands.add("show")
def clauses_show(
    clause_id: Annotated[str, typer.Argument(help="Identifiant, ex. ENV-COND-01.")],
    clausier: Annotated[
        Path | None, typer.Option("--clausier", help="Clausier à utiliser.")
    ] = None,
) -> None:
    """Afficher une clause : fondement, applicabilité, paramètres, texte rendu, guide."""
    from rich.console import Console
    from rich.markdown import Markdown

    from tasks.clausier.library import load_clausier
    from tasks.clausier.render import render_clause

    try:
        lib = load_clausier(clausier)
        c = lib.get(clause_id.upper())
        if c is None:
            raise InputError(
                f"clause « {clause_id} » inconnue ; clauses disponibles : {', '.join(lib.clauses)}."
            )
        text = render_clause(c)
    except CahierError as exc:
        fail(exc)
        return
    con = Console()
    con.print(f"[bold]{c.id}[/bold] v{c.version} — {c.title}")
    con.print(
        f"Catégorie : {c.category} ; niveau : {'obligatoire' if c.level == 'mandatory' else 'recommandée'} ; pièce : {c.piece.upper()} ; référent : {c.review_role}"
    )
    con.print(
        "Fondement : "
        + " ; ".join(f"{lb.ref}" + (f" <{lb.url}>" if lb.url else "") for lb in c.legal_basis),
        markup=False,
    )
    a = c.applies
    cond = []
    if a.categories:
        cond.append("catégories " + ", ".join(a.categories))
    if a.buyer_types:
        cond.append("acheteurs " + ", ".join(a.buyer_types))
    if a.min_amount is not None:
        cond.append(
            "montant ≥ "
            + (
                "seuil européen"
                if a.min_amount == "eu_threshold"
                else f"{a.min_amount:,.0f} € HT".replace(",", " ")
            )
        )
    if a.from_date is not None:
        cond.append(
            "consultations lancées à partir du "
            + (
                f"{lib.law.climat_gate.date:%d/%m/%Y}"
                if a.from_date == "climat_gate"
                else f"{a.from_date:%d/%m/%Y}"
            )
        )
    if a.requires:
        cond.append("si " + ", ".join(a.requires))
    con.print("S'applique : " + ("; ".join(cond) if cond else "à tous les marchés"), markup=False)
    if c.parameters:
        con.print("Paramètres :")
        for name, p in c.parameters.items():
            bounds = ""
            if p.min is not None or p.max is not None:
                bounds = f" [{'' if p.min is None else f'{p.min:g}'}–{'' if p.max is None else f'{p.max:g}'}]"
            con.print(
                f"  {name} ({p.type}{', ' + p.unit if p.unit else ''}) = {p.default!r}{bounds} — {p.description}",
                markup=False,
            )
    con.print("\nTexte :", style="bold")
    con.print(Markdown(text))
    con.print("\nGuide pour les candidats :", style="bold")
    con.print(c.bidder_guidance, markup=False)


@commands.add("diff")
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
    except CahierError as exc:
        fail(exc)
        return
    to_text(result, Console())
    raise typer.Exit(1 if result.errors else 0)


@commands.add("check")
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
