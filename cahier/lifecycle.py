"""``cahier lifecycle``: check → reviews → assembly → archive for one commit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail
from tasks.errors import CahierError, InputError

commands = CommandSet()


@commands.add()
def lifecycle(
    tender_dir: Annotated[Path, typer.Argument(help="Dossier de consultation (dépôt Git).")],
    commit: Annotated[str, typer.Option("--commit", help="Commit à traiter.")] = "HEAD",
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
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Pour la CI : code 1 tant que le cycle de vie n'est pas terminé (revues en "
            "attente comprises) ; sans --strict, des revues en attente donnent le code 0.",
        ),
    ] = False,
) -> None:
    """Cycle de vie d'un dossier à un commit : contrôle, revues, assemblage, archivage."""
    from flows.lifecycle import content_id, repo_of, resolve_commit

    try:
        top, rel = repo_of(tender_dir)
        sha = resolve_commit(top, commit)
        if set(content_id(top, sha, rel)) == {"-"}:  # not in the commit: say why now,
            from tasks.dossier.reader import read_dossier  # before Prefect starts

            read_dossier(top / rel, rev=sha)
    except CahierError as exc:
        fail(exc)
        return
    if submit:
        _submit(top, rel, sha)
        return
    result, seconds = _run_here(top, rel, sha, draft, wait_reviews)
    print_report(result, rel, sha, seconds)
    done = ("termine", "evaluation-en-attente")
    normal = (*done, "revues-en-attente", "remplace")
    ok = result["status"] in (done if strict else normal)
    if not ok and strict and result["status"] in normal:
        typer.echo("--strict : le cycle de vie n'est pas terminé (code 1).", err=True)
    raise typer.Exit(0 if ok else 1)


def _submit(top: Path, rel: str, sha: str) -> None:
    """``--submit``: start the deployed lifecycle on the configured server (once per
    dossier and commit) and print its run id; exit 2 with a French message when the
    server is unreachable or the deployment missing."""
    from cahier.prefect_env import prefect_session, server_reachable
    from flows.lifecycle import repo_lock_name, submit_lifecycle
    from tasks.config.settings import load_settings

    try:
        api = load_settings().prefect.server()[1]
    except CahierError as exc:
        fail(exc)
        return
    if not api or not server_reachable(api):
        fail(
            InputError(
                f"serveur Prefect injoignable ({api or 'PREFECT_API_URL non défini'}) : "
                "démarrez-le (cahier server, ou scripts/server-up.sh) ; le flow « watch » "
                f"traitera le commit {sha[:10]} à son prochain passage."
            )
        )
        return
    try:
        with prefect_session(load_settings()):
            run_id = submit_lifecycle(rel, sha, repo_key=repo_lock_name(top))
    except CahierError as exc:
        fail(exc)
        return
    except Exception as exc:  # deployment missing, server error
        name = type(exc).__name__
        fail(
            InputError(
                f"lancement impossible sur {api} ({name}) : le déploiement « lifecycle/"
                "lifecycle » existe-t-il ? Démarrez « cahier server » (il déploie "
                "prefect.yaml) ou lancez « prefect deploy --all »."
            )
        )
        return
    typer.echo(f"Cycle de vie de {rel} au commit {sha[:10]} : run Prefect {run_id}.")


def _run_here(top: Path, rel: str, sha: str, draft: bool, wait_reviews: bool) -> tuple[dict, float]:
    """Run the ``lifecycle`` flow in this process on the selected Prefect server (the
    embedded one by default); returns the flow's result and the wall time (s). Exit 2
    with a French message when Prefect cannot start or the flow fails."""
    import time

    from cahier.prefect_env import prefect_session
    from tasks.config.settings import load_settings

    t0 = time.monotonic()
    try:
        with prefect_session(load_settings(), fallback=True) as session:
            typer.echo(f"Prefect : {session.label()} ({session.startup_s:.1f} s).")
            from flows.lifecycle import lifecycle as run
            from flows.server import prefect_errors

            with prefect_errors("cycle de vie"):
                result = run(os.fspath(top / rel), sha, draft=draft, wait_reviews=wait_reviews)
    except CahierError as exc:
        fail(exc)
    return result, time.monotonic() - t0


LABELS = {
    "termine": "terminé",
    "corrections-requises": "corrections requises (cahier check)",
    "revues-en-attente": "revues des référents en attente (état normal : le cycle de vie "
    "reprendra au commit de la revue)",
    "assemblage-refuse": "assemblage refusé",
    "evaluation-en-attente": "assemblé ; évaluation des offres en attente",
    "remplace": "remplacé par un commit plus récent",
}


def print_report(result: dict, rel: str, sha: str, seconds: float) -> None:
    """The lifecycle's outcome in French: each step's state and what to do next."""
    status = result["status"]
    typer.echo(f"{result['tender']} @ {sha[:10]} : {LABELS.get(status, status)} ({seconds:.1f} s)")
    check = result.get("check") or {}
    if check:
        typer.echo(
            f"  contrôle : {check.get('errors', 0)} erreur(s), "
            f"{check.get('warnings', 0)} avertissement(s)"
        )
    reviews = result.get("reviews")
    if isinstance(reviews, list) and reviews:
        typer.echo(f"  revues : {len(reviews)} élément(s) en attente")
        for r in reviews:
            typer.echo(f"    - {r}")
        typer.echo(
            f"  pour décider : cahier review plan {rel} ; cahier review approve {rel} "
            "--role ROLE --comment « … » (ou le formulaire du run dans l'interface Prefect)"
        )
    elif reviews == "approuvees":
        typer.echo("  revues : toutes approuvées")
    assembly = result.get("assembly")
    if isinstance(assembly, dict):
        typer.echo(f"  assemblage : {assembly.get('out')}")
    elif isinstance(assembly, str):
        typer.echo(f"  assemblage : {assembly}")
    archive = result.get("archive")
    if isinstance(archive, dict) and archive.get("tag"):
        typer.echo(f"  archive : {archive['tag']}")
    if status == "corrections-requises":
        typer.echo(f"  à faire : cahier check {rel}")
