"""``cahier assemble``: DOCX, ODT, HTML, PDF/UA-1 and PDF/A-2b of the DCE."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail, fail_os, find_dossier
from tasks.errors import CahierError, InputError

commands = CommandSet()

_FORMATS_HELP = "Formats séparés par des virgules."
_OUT_HELP = (
    "Dossier de sortie (défaut : out/<consultation>/), où vous voulez sur le disque, hors du "
    "dossier de la consultation ; un dossier existant doit être vide ou contenir un "
    "assemblage précédent (manifest.json), dont les fichiers sont remplacés."
)
_DRAFT_HELP = (
    "Projet : filigrane « PROJET », sans contrôle bloquant ; archive "
    "<consultation>-dce-PROJET.zip (à ne pas publier)."
)


@commands.add()
def assemble(
    tender_dir: Annotated[Path, typer.Argument(help="Dossier de consultation (tender.yaml).")],
    formats: Annotated[str, typer.Option("--formats", help=_FORMATS_HELP)] = "docx,odt,html,pdf",
    out: Annotated[Path | None, typer.Option("--out", "-o", help=_OUT_HELP)] = None,
    draft: Annotated[bool, typer.Option("--draft", help=_DRAFT_HELP)] = False,
    rev: Annotated[
        str | None, typer.Option("--rev", help="Révision Git (commit, tag, branche) à assembler.")
    ] = None,
    flow: Annotated[
        bool, typer.Option("--flow", help="Exécuter comme flow Prefect (conversions en parallèle).")
    ] = False,
) -> None:
    """Assembler le DCE : DOCX, ODT, HTML, PDF accessible (PDF/UA-1) et copie PDF/A-2b."""
    from tasks.publish.assemble import AssemblyRefused

    fmts = [f.strip().lower() for f in formats.split(",") if f.strip()]
    try:
        result = _assembled(_target(tender_dir, rev), rev, fmts, out, draft, flow)
    except AssemblyRefused as exc:
        typer.echo(f"cahier : {exc.render()}", err=True)
        for reason in exc.reasons:
            typer.echo(f"  - {reason}", err=True)
        raise typer.Exit(1) from None
    except CahierError as exc:
        fail(exc)
        return
    except OSError as exc:
        fail_os(exc, "écriture")
    _print_result(result)


def _target(tender_dir: Path, rev: str | None) -> Path:
    """The dossier to assemble: as given with ``--rev``, else the dossier holding it.

    Raises:
        InputError: the path does not exist or is in no dossier.
    """
    if rev is not None:
        return tender_dir
    if not tender_dir.exists():
        raise InputError("chemin introuvable.", str(tender_dir))
    return tender_dir if (tender_dir / "tender.yaml").is_file() else find_dossier(tender_dir)


def _assembled(target: Path, rev: str | None, fmts: list[str], out, draft: bool, flow: bool):
    """The assembly result, computed in-process or as a Prefect flow."""
    if flow:
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from flows.assemble import assemble_tender

        return assemble_tender(
            str(target), rev=rev, formats=fmts, out=str(out) if out else None, draft=draft
        )
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier
    from tasks.publish.assemble import assemble as run_assembly

    dossier = read_dossier(target, rev=rev)
    return run_assembly(
        dossier,
        load_clausier(),
        out or Path("out") / dossier.tender.id,
        fmts,
        draft=draft,
        workers=min(4, os.cpu_count() or 1),
    )


def _print_result(result) -> None:
    """The files written, the archive, reproducibility and the findings (on stderr)."""
    typer.echo(f"{len(result.outputs)} fichier(s) écrit(s) dans {result.out_dir}")
    for o in result.outputs:
        typer.echo(f"  {o.path}  sha256:{o.sha256[:16]}…")
    if result.manifest.get("draft"):
        typer.echo(f"  {result.zip_path.name}  (PROJET : à ne pas publier)")
    else:
        typer.echo(f"  {result.zip_path.name}  (pièces publiables)")
    typer.echo("  manifest.json")
    repro = result.manifest.get("reproducibility", {})
    if repro.get("previous_manifest") and "all_identical" in repro:
        typer.echo(
            "Reproductible : fichiers identiques à l'assemblage précédent."
            if repro["all_identical"]
            else f"Différences avec l'assemblage précédent : {', '.join(repro['different'])}"
        )
    for f in result.findings:
        loc = f.location.label() + " : " if f.location else ""
        typer.echo(f"  [{f.rule}] {loc}{f.message}", err=True)
