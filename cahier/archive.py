"""``cahier archive``: freeze the validated evaluation (commit + annotated tag, hash chain)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, dossier_of, fail
from cahier.options import ClausierOpt, GitDossier
from tasks.errors import CahierError

commands = CommandSet()

_ASSEMBLY_HELP = "Manifeste d'assemblage (défaut : out/<id>/manifest.json)."
_DRAFT_HELP = (
    "Archive brouillon : acceptée même si des revues de référents manquent ou si "
    "l'assemblage est un projet (--draft) ; le manifeste l'indique (draft: true)."
)


@commands.add()
def archive(
    tender_dir: GitDossier,
    assembly: Annotated[Path | None, typer.Option("--assemblage", help=_ASSEMBLY_HELP)] = None,
    draft: Annotated[bool, typer.Option("--brouillon", help=_DRAFT_HELP)] = False,
    clausier: ClausierOpt = None,
) -> None:
    """Figer l'évaluation validée dans archive/<n>/ : commit + étiquette annotée, chaîne de hachage."""
    from tasks.award.archive import create_archive

    try:
        info = create_archive(
            dossier_of(tender_dir), assembly_manifest=assembly, clausier_path=clausier, draft=draft
        )
    except CahierError as exc:
        fail(exc)
        return
    if info.recovered:
        typer.echo(
            f"Archive n° {info.numero} interrompue, terminée (aucune nouvelle archive) : "
            f"{info.path}"
        )
    elif info.draft:
        typer.echo(f"Archive n° {info.numero} BROUILLON (non définitive) créée : {info.path}")
    else:
        typer.echo(f"Archive n° {info.numero} créée : {info.path}")
    typer.echo(
        f"  commit {info.commit}\n  étiquette {info.tag}\n"
        f"  manifeste SHA-256 {info.manifest_sha256}"
    )
