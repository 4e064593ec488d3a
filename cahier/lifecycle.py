"""``cahier lifecycle``: check → reviews → assembly → archive for one commit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail
from cahier.prefect_env import configured_api, embedded_env, server_reachable
from tasks.errors import CahierError, InputError

commands = CommandSet()


@commands.add()
def lifecycle(
    tender_dir: Annotated[Path, typer.Argument(help="Dossier de consultation (dépôt Git).")],
    commit: Annotated[
        str, typer.Option("--commit", help="Commit à traiter (défaut : HEAD).")
    ] = "HEAD",
    submit: Annotated[
        bool,
        typer.Option(
            "--submit",
            help="Lancer le déploiement « lifecycle/lifecycle » sur le serveur Prefect "
            "(une seule fois par dossier et commit) au lieu d'exécuter ici.",
        ),
    ] = False,
    draft: Annotated[bool, typer.Option("--draft", help="Sans les contrôles bloquants.")] = False,
    wait_reviews: Annotated[
        bool,
        typer.Option("--wait-reviews", help="Attendre ici les décisions des référents."),
    ] = False,
) -> None:
    """Cycle de vie d'un dossier à un commit : contrôle, revues, assemblage, archivage."""
    from flows.lifecycle import repo_lock_name, repo_of, resolve_commit

    try:
        top, rel = repo_of(tender_dir)
        sha = resolve_commit(top, commit)
    except CahierError as exc:
        fail(exc)
        return
    api = configured_api()
    if submit:
        if not api or not server_reachable(api):
            fail(
                InputError(
                    f"serveur Prefect injoignable ({api or 'PREFECT_API_URL non défini'}) : "
                    "démarrez-le (cahier server, ou scripts/server-up.sh) ; le flow « watch » "
                    f"traitera le commit {sha[:10]} à son prochain passage."
                )
            )
            return
        from flows.lifecycle import submit_lifecycle

        try:
            run_id = submit_lifecycle(rel, sha, repo_key=repo_lock_name(top))
        except Exception as exc:  # deployment missing, server error
            fail(InputError(f"lancement impossible : {exc}"))
            return
        typer.echo(f"Cycle de vie de {rel} au commit {sha[:10]} : run Prefect {run_id}.")
        return
    from contextlib import nullcontext

    from prefect.settings import PREFECT_API_URL, temporary_settings

    scope = nullcontext()
    if api and not server_reachable(api):
        typer.echo(
            f"cahier : serveur Prefect injoignable ({api}) : exécution sur le serveur "
            "embarqué (SQLite temporaire).",
            err=True,
        )
        os.environ.pop("PREFECT_API_URL", None)
        scope = temporary_settings(restore_defaults={PREFECT_API_URL})
    embedded_env()
    from flows.lifecycle import lifecycle as run

    try:
        with scope:
            result = run(os.fspath(top / rel), sha, draft=draft, wait_reviews=wait_reviews)
    except CahierError as exc:
        fail(exc)
        return
    labels = {
        "termine": "terminé",
        "corrections-requises": "corrections requises (cahier check)",
        "revues-en-attente": "revues des référents en attente",
        "assemblage-refuse": "assemblage refusé",
        "evaluation-en-attente": "assemblé ; évaluation des offres en attente",
        "remplace": "remplacé par un commit plus récent",
    }
    typer.echo(
        f"{result['tender']} @ {sha[:10]} : {labels.get(result['status'], result['status'])}"
    )
    reviews = result.get("reviews")
    for r in reviews if isinstance(reviews, list) else []:
        typer.echo(f"  - {r}")
    raise typer.Exit(0 if result["status"] in ("termine", "evaluation-en-attente") else 1)
