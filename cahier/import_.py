"""``cahier import``: import an existing DCE (pieces in Markdown, drafted tender.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail
from tasks.errors import CahierError

commands = CommandSet()


@commands.add("import")
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
    except CahierError as exc:
        fail(exc)
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
            "tender.yaml est un brouillon : « cahier check » donne déjà les constats qui ne "
            "dépendent pas de ces champs, plus une erreur qui les liste (code 1) ; "
            "l'assemblage est refusé tant qu'ils ne sont pas complétés."
        )
    else:
        typer.echo("tender.yaml est complet : lancez « cahier check " + str(result.path) + " ».")
