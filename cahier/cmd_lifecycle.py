"""Commands ``cahier lifecycle``, ``cahier report`` and ``cahier server``.

Prefect is imported inside the commands only (``cahier check`` stays fast).

* ``cahier lifecycle TENDER_DIR [--commit SHA] [--submit]`` — runs the lifecycle here
  (embedded Prefect when no server is configured), or, with ``--submit``, starts the
  deployed ``lifecycle/lifecycle`` on the configured server once per (tender, commit)
  (what the Git hooks call). A configured server that does not answer: without
  ``--submit`` the run falls back to the embedded server (with a French warning); with
  ``--submit`` it fails with exit code 2 and says what to do.
* ``cahier report [--since DATE] [--out DIR]`` — the portfolio report (HTML, CSV) of
  every dossier under ``tenders/``.
* ``cahier server`` — a local Prefect server, a ``process`` work pool, the deployments
  of prefect.yaml and a worker, in one command (Ctrl-C stops them all).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from cahier.cli import _fail, app, write_atomic
from tasks.errors import InputError

POOL = "cahier-process"


def _embedded_env() -> None:
    # The ephemeral server's telemetry locks SQLite (ARCHITECTURE.md, pitfalls).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def server_reachable(api_url: str, timeout: float = 3.0) -> bool:
    """True when ``<api_url>/health`` answers 200."""
    import httpx

    try:
        return httpx.get(api_url.rstrip("/") + "/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _configured_api() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value() or None


@app.command()
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
    except InputError as exc:
        _fail(exc)
        return
    api = _configured_api()
    if submit:
        if not api or not server_reachable(api):
            _fail(
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
            _fail(InputError(f"lancement impossible : {exc}"))
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
    _embedded_env()
    from flows.lifecycle import lifecycle as run

    try:
        with scope:
            result = run(os.fspath(top / rel), sha, draft=draft, wait_reviews=wait_reviews)
    except InputError as exc:
        _fail(exc)
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


@app.command()
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
    except InputError as exc:
        _fail(exc)
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


@app.command()
def server(
    port: Annotated[int, typer.Option("--port", help="Port du serveur Prefect.")] = 4200,
    workers: Annotated[int, typer.Option("--workers", help="Nombre de workers.")] = 1,
) -> None:
    """Serveur Prefect local + pool « process » + déploiements de prefect.yaml + worker(s)."""
    prefect = shutil.which("prefect") or str(Path(sys.executable).with_name("prefect"))
    root = Path(__file__).resolve().parents[1]
    if not (root / "prefect.yaml").is_file():
        _fail(InputError("prefect.yaml introuvable à la racine de cahier.", os.fspath(root)))
        return
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "CAHIER_TENDER_REPO": os.environ.get("CAHIER_TENDER_REPO", os.getcwd()),
    }
    procs: list[subprocess.Popen] = []

    def stop(*_a) -> None:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        procs.append(
            subprocess.Popen(
                [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env
            )
        )
        deadline = time.monotonic() + 120
        while not server_reachable(api):
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise InputError(f"le serveur Prefect n'a pas démarré sur le port {port}.")
            time.sleep(1)
        run = {"env": env, "cwd": root, "check": False}
        subprocess.run([prefect, "work-pool", "create", POOL, "--type", "process"], **run)
        dep = subprocess.run([prefect, "--no-prompt", "deploy", "--all"], **run)
        if dep.returncode != 0:
            raise InputError("échec de « prefect deploy --all » (voir ci-dessus).")
        for i in range(workers):
            procs.append(
                subprocess.Popen(
                    [prefect, "worker", "start", "--pool", POOL, "--name", f"cahier-{i + 1}"],
                    env=env,
                    cwd=root,
                )
            )
        typer.echo(
            f"Prefect prêt : interface http://127.0.0.1:{port}, {workers} worker(s) sur le pool "
            f"« {POOL} ». Dans un autre terminal : export PREFECT_API_URL={api}. Ctrl-C pour "
            "tout arrêter."
        )
        procs[0].wait()
    except InputError as exc:
        stop()
        _fail(exc)
    except KeyboardInterrupt:
        typer.echo("Arrêt du serveur et des workers…")
    finally:
        stop()
