"""Parameters several commands share, as Typer ``Annotated`` types (help in French).

A command writes ``tender_dir: Dossier`` or ``clausier: ClausierOpt = None``; a
parameter whose help says something particular to its command stays in that command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ClausierOpt", "Dossier", "GitDossier", "OutputOpt", "RevOpt", "TenderRef"]

Dossier = Annotated[Path, typer.Argument(help="Dossier de la consultation.")]
GitDossier = Annotated[Path, typer.Argument(help="Dossier de la consultation (dans un dépôt Git).")]
TenderRef = Annotated[str, typer.Argument(help="Dossier de la consultation ou identifiant.")]
ClausierOpt = Annotated[
    Path | None,
    typer.Option("--clausier", help="Clausier à utiliser (défaut : celui de cahier)."),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Écrire le résultat dans ce fichier.")
]
RevOpt = Annotated[str | None, typer.Option("--rev", help="Révision Git.")]
