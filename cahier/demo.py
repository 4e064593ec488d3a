"""``cahier demo``: the whole life of the bundled example, in a throwaway Git repository.

See :mod:`flows.demo` for the steps. Exit code 0 when every step went through; 2 with a
French message (never a traceback) when one could not.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail
from tasks.errors import CahierError

commands = CommandSet()

NEXT_STEPS = """\
Pour continuer avec votre propre DCE :
  cahier new 2026-MON-001 --type prestations --acheteur "Ma collectivité" --siret 21330063500017 --buyer-type collectivite --montant 300000
  cahier import RC.pdf CCAP.pdf AE.docx --tender 2026-MON-001   # ou reprendre un DCE existant
  cahier check tenders/2026-MON-001                            # constats localisés, en français
  cahier review plan tenders/2026-MON-001                      # ce que chaque référent doit examiner
  cahier lifecycle tenders/2026-MON-001                        # contrôle → revues → assemblage → archive
  cahier server                                                # serveur Prefect d'équipe (interface, formulaires de revue)"""


@commands.add()
def demo(
    dossier: Annotated[
        Path | None,
        typer.Option(
            "--dossier",
            help="Garder le dépôt de démonstration et ses sorties dans ce dossier (absent ou "
            "vide) ; défaut : un dossier temporaire.",
        ),
    ] = None,
) -> None:
    """Démonstration complète sur le dossier d'exemple : contrôle, revues, assemblage, \
évaluation, archive, DECP et audit, dans un dépôt Git jetable."""
    from flows.demo import check_demo_folder
    from tasks.config.settings import load_settings

    try:  # before the banner and the Prefect server: a refusal costs nothing
        if dossier:
            check_demo_folder(dossier.resolve())
    except CahierError as exc:
        fail(exc)
    t0 = time.monotonic()
    typer.echo(
        "Démonstration de cahier sur le dossier d'exemple 2026-CD33-PC-001 (Département de la "
        "Gironde, ordinateurs portables) : toute la vie d'un DCE, dans un dépôt Git jetable."
    )
    try:
        from cahier.prefect_env import prefect_session

        with prefect_session(load_settings(), fallback=True) as session:
            typer.echo(f"  Prefect : {session.label()} prêt en {session.startup_s:.1f} s")
            from flows.demo import run_demo

            def show(step) -> None:
                n = show.count = getattr(show, "count", 0) + 1
                typer.echo(f"{n}. {step.title} — {step.seconds:.1f} s")
                for line in step.details:
                    typer.echo(f"     {line}")

            from flows.server import prefect_errors

            with prefect_errors("démonstration"):
                result = run_demo(dossier.resolve() if dossier else None, on_step=show)
    except CahierError as exc:
        fail(exc)
        return
    out = result.outputs
    typer.echo("")
    typer.echo(f"Démonstration terminée en {time.monotonic() - t0:.1f} s. Où regarder :")
    typer.echo(f"  PDF accessible (PDF/UA-1)      : {out['pdf']}")
    typer.echo(f"  guide de réponse des candidats : {out['guide']}")
    typer.echo(f"  archive de l'évaluation        : {out['archive']}")
    typer.echo(f"  données essentielles (DECP)    : {out['decp']}")
    typer.echo(f"  dépôt Git de démonstration     : {result.dossier.parents[1]}")
    typer.echo(
        f"  (revues de démonstration, non probantes : cahier review status {result.dossier} ; "
        f"cahier audit {result.dossier} --verify)"
    )
    typer.echo("")
    typer.echo(NEXT_STEPS)
