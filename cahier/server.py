"""``cahier server``: local Prefect server, ``process`` work pool, deployments, worker(s)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail
from tasks.errors import CahierError, InputError

commands = CommandSet()


POOL = "cahier-process"


@commands.add()
def server(
    port: Annotated[int, typer.Option("--port", help="Port du serveur Prefect.")] = 4200,
    workers: Annotated[int, typer.Option("--workers", help="Nombre de workers.")] = 1,
) -> None:
    """Serveur Prefect local + pool « process » + déploiements de prefect.yaml + worker(s)."""
    from cahier.prefect_env import server_reachable

    prefect = shutil.which("prefect") or str(Path(sys.executable).with_name("prefect"))
    root = Path(__file__).resolve().parents[1]
    if not (root / "prefect.yaml").is_file():
        fail(InputError("prefect.yaml introuvable à la racine de cahier.", os.fspath(root)))
        return
    try:
        _check_start(port)
    except CahierError as exc:
        fail(exc)
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

    # SIGTERM leaves through the same ``finally`` as Ctrl-C (announce withdrawn, then the
    # processes stopped); stopping from the handler itself waited on the server's
    # process while the interrupted ``wait`` held its lock: 15 s lost.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
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
        runner = _start_runner(procs, env, root)
        announced = announce(api, runner)
        typer.echo(
            f"Prefect prêt : interface http://127.0.0.1:{port}, {workers} worker(s) sur le pool "
            f"« {POOL} ». Les autres commandes cahier l'utilisent ({announced}) ; Ctrl-C pour "
            "tout arrêter."
        )
        procs[0].wait()
    except CahierError as exc:
        stop()
        fail(exc)
    except KeyboardInterrupt:
        typer.echo("Arrêt du serveur et des workers…")
    finally:
        withdraw()
        stop()


def _start_runner(procs: list[subprocess.Popen], env: dict[str, str], root: Path) -> Path | None:
    """Start the warm runner (:mod:`flows.warm`) and wait until it listens (≤ 60 s); its
    socket, or None when it did not start (the commands then run as without it)."""
    from flows.warm import socket_path
    from tasks.config.settings import load_settings

    sock = socket_path(load_settings().prefect.effective_home())
    sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.warm", os.fspath(sock)], env=env, cwd=root
    )
    procs.append(proc)
    deadline = time.monotonic() + 60
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            typer.echo(
                "cahier : le runner préchauffé n'a pas démarré ; les commandes importeront "
                "Prefect elles-mêmes.",
                err=True,
            )
            return None
        time.sleep(0.2)
    return sock


def _check_start(port: int) -> None:
    """Refuse, before anything starts: a port outside 1–65535 or already in use, and a
    cahier server already running for this PREFECT_HOME (its announcement and runner
    socket would be overwritten, then removed when the second one stops).

    Raises:
        InputError: French, naming ``--port`` or the running server.
    """
    import socket

    from tasks.config.settings import load_settings

    if not 1 <= port <= 65535:
        raise InputError(f"--port : {port} n'est pas un port (de 1 à 65535).")
    prefect = load_settings().prefect
    running = prefect.local_server()  # announced and alive, as every command reads it
    if running is not None and running["pid"] != os.getpid():
        raise InputError(
            f"un serveur cahier tourne déjà pour ce PREFECT_HOME (processus {running['pid']}, "
            f"{running['api_url']}) : les commandes l'utilisent déjà ; arrêtez-le (Ctrl-C) "
            "avant d'en lancer un autre, ou donnez un autre PREFECT_HOME.",
            os.fspath(prefect.server_file()),
        )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise InputError(
                f"--port : le port {port} est déjà utilisé sur cette machine ; choisissez-en "
                "un autre (--port 4300, par exemple)."
            ) from None


def announce(api: str, runner: Path | None = None) -> Path:
    """Write ``PREFECT_HOME/cahier-server.json`` (API URL, this process's id, start time):
    every other cahier command on this machine reads it (through
    :meth:`tasks.config.settings.PrefectSettings.server`) and uses this server instead of
    starting the embedded one, while this process lives. ``runner``: the socket of the
    warm runner (:mod:`flows.warm`), announced as ``"runner"``."""
    import datetime as dt
    import json

    from tasks.config.settings import load_settings
    from tasks.dossier.files import write_atomic

    path = load_settings().prefect.server_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"api_url": api, "pid": os.getpid(), "started": dt.datetime.now(dt.UTC).isoformat()}
    if runner is not None:
        info["runner"] = os.fspath(runner)
    write_atomic(path, json.dumps(info, indent=2) + "\n")
    return path


def withdraw() -> None:
    """Remove the file written by :func:`announce` if it is still this process's."""
    import json

    from tasks.config.settings import load_settings

    try:
        path = load_settings().prefect.server_file()
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, CahierError):
        pass
