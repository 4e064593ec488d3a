"""Which Prefect server a cahier command uses, and starting it without a traceback.

Order (:meth:`tasks.config.settings.PrefectSettings.server`): the configured
``PREFECT_API_URL`` / ``CAHIER_PREFECT__API_URL``; else the local server that
``cahier server`` announced in ``PREFECT_HOME/cahier-server.json`` (read from the file,
never by probing ports); else Prefect's ephemeral server, which cahier starts itself:

* the start-up timeout (``startup_timeout_s``, default 90 s) is really applied — Prefect
  reads ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` once, when ``prefect`` is
  first imported, so setting the variable later (as cahier did) left Prefect's 20 s;
  here it is passed to :meth:`SubprocessASGIServer.start` directly;
* a slow start is retried once (the child process is stopped first);
* a failure is :class:`PrefectUnavailable`: French, with the fix (``cahier server`` in
  another terminal, or ``PREFECT_API_URL``), exit code 2, no traceback.

Telemetry is off (``PREFECT_SERVER_ANALYTICS_ENABLED=false``: the ephemeral server's
analytics service is what logs « database is locked »); flow heartbeats are off for runs
executed in the command's own process unless ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` is
set (each run otherwise waits up to 1 s for its heartbeat thread when it ends); and Prefect's English console
lines are kept off the terminal (:func:`quiet_console`); runs and their logs stay in
the Prefect API and UI.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tasks.errors import ToolError

if TYPE_CHECKING:
    from tasks.config.settings import Settings

__all__ = [
    "PrefectSession",
    "PrefectUnavailable",
    "prefect_errors",
    "prefect_session",
    "quiet_console",
    "server_reachable",
]


class PrefectUnavailable(ToolError):
    """No Prefect server could be reached or started (French message with the fix)."""

    def __init__(self, message: str):
        super().__init__(message, tool="prefect")


@dataclass
class PrefectSession:
    """The server in use. kind: ``configure``, ``local`` or ``ephemere``; api_url: its
    API (None until the ephemeral one is started); startup_s: seconds spent starting or
    reaching it; attempts: start attempts (1 or 2)."""

    kind: str
    api_url: str | None
    startup_s: float = 0.0
    attempts: int = 1

    def label(self) -> str:
        """French description of the server, for the console."""
        if self.kind == "configure":
            return f"serveur Prefect configuré ({self.api_url})"
        if self.kind == "local":
            return f"serveur Prefect local de « cahier server » ({self.api_url})"
        return "serveur Prefect embarqué (éphémère, SQLite)"


def server_reachable(api_url: str, timeout: float = 3.0) -> bool:
    """True when ``<api_url>/health`` answers 200 within ``timeout`` seconds.

    An ``http://`` URL involves no TLS: the client then loads no certificate store
    (~30 ms per call); an ``https://`` one is verified as always."""
    import httpx

    url = api_url.rstrip("/") + "/health"
    plain = url.lower().startswith("http://")
    try:
        return httpx.get(url, timeout=timeout, verify=not plain).status_code == 200
    except httpx.HTTPError:
        return False


def quiet_console() -> None:
    """Keep Prefect's English console lines (« Beginning flow run », « Finished in state
    Completed() », « Starting temporary server ») off the terminal: its console handlers
    only let through errors (``logging.ERROR``); the API log handlers are untouched, so
    every run keeps its logs in the Prefect UI."""
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if not isinstance(logger, logging.Logger):
            continue
        for handler in logger.handlers:
            if type(handler).__name__ == "PrefectConsoleHandler":
                handler.setLevel(logging.CRITICAL)


#: Set by the user: Prefect's flow heartbeats are then left as they say.
_HEARTBEAT_VARS = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY"}


def _environment(settings: Settings, api_url: str | None) -> dict[str, str]:
    env = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(
            int(settings.prefect.startup_timeout_s)
        ),
    }
    if settings.prefect.home:
        env["PREFECT_HOME"] = os.fspath(settings.prefect.effective_home())
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _start_ephemeral(timeout: float) -> tuple[str, int]:
    """Start Prefect's ephemeral server (one retry, :func:`tasks.retry.retry_call`);
    ``(api_url, attempts)``."""
    from prefect.server.api.server import SubprocessASGIServer

    from tasks.retry import retry_call

    def start(attempt: int) -> tuple[str, int]:
        server = SubprocessASGIServer()
        try:
            server.start(timeout=max(1, int(timeout)))
        except Exception:  # Prefect raises RuntimeError (timeout) or httpx errors
            try:
                server.stop()
            except Exception:  # the child may already be gone
                pass
            raise
        return server.api_url, attempt

    try:
        return retry_call(start, retry_on=Exception, attempts=2, first_delay=1.0)
    except Exception as exc:
        last = type(exc).__name__
        raise PrefectUnavailable(
            f"le serveur Prefect embarqué n'a pas démarré en {timeout:g} s (deux essais ; "
            f"{last}) : machine trop chargée ou base Prefect verrouillée par un autre "
            "processus. Démarrez un serveur dans un autre terminal (« cahier server ») : les "
            "commandes suivantes l'utiliseront ; ou indiquez un serveur existant "
            "(export PREFECT_API_URL=http://hôte:4200/api) ; ou augmentez le délai "
            "(CAHIER_PREFECT__STARTUP_TIMEOUT_S=180)."
        ) from exc


# Over ~80 lines by its docstring only (the contract: server selection, start-up, fallback,
# errors); the body is a sequence of named steps.
@contextmanager
def prefect_session(
    settings: Settings | None = None, *, start: bool = True, fallback: bool = False
) -> Iterator[PrefectSession]:
    """Select (and, for the ephemeral one, start) the Prefect server for this command.

    Call it before the first ``import prefect`` when possible (environment variables are
    then read by Prefect itself); when Prefect is already imported the same values are
    applied with :func:`prefect.settings.temporary_settings`.

    ``fallback``: when the configured server does not answer, say so on stderr and use
    the embedded server instead of failing (``cahier lifecycle`` run here).

    Raises:
        PrefectUnavailable: the configured server does not answer (without
            ``fallback``), or the ephemeral server did not start twice in
            ``startup_timeout_s`` (French, with the fix).
    """
    if settings is None:
        from tasks.config.settings import load_settings

        settings = load_settings()
    kind, url = settings.prefect.server()
    t0 = time.monotonic()
    if kind == "local" and not server_reachable(url or ""):
        # The file names a live process that does not answer (still starting, or hung):
        # give it a few seconds, then fall back on the ephemeral server.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not server_reachable(url or "", 1.0):
            time.sleep(0.5)
        if not server_reachable(url or "", 1.0):
            print(
                f"cahier : le serveur de « cahier server » ({url}) ne répond pas : serveur "
                "embarqué utilisé pour cette commande.",
                file=sys.stderr,
            )
            kind, url = "ephemere", None
    if kind == "configure" and fallback and not server_reachable(url or ""):
        print(
            f"cahier : serveur Prefect injoignable ({url}) : exécution sur le serveur "
            "embarqué (SQLite). Démarrez-le (« cahier server ») ou corrigez PREFECT_API_URL.",
            file=sys.stderr,
        )
        kind, url = "ephemere", None
    if kind == "configure" and not server_reachable(url or ""):
        raise PrefectUnavailable(
            f"serveur Prefect injoignable ({url}) : démarrez-le (« cahier server ») ou "
            "corrigez PREFECT_API_URL (ou retirez-la pour utiliser le serveur embarqué)."
        )
    env = _environment(settings, url)
    already = "prefect" in sys.modules
    os.environ.update(env)
    if kind == "ephemere":
        os.environ.pop("PREFECT_API_URL", None)
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    updates: dict = {
        PREFECT_SERVER_ANALYTICS_ENABLED: False,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: int(settings.prefect.startup_timeout_s),
    }
    if url:
        updates[PREFECT_API_URL] = url
    if not _HEARTBEAT_VARS & os.environ.keys():
        # A flow run of this process ends by joining its heartbeat thread, which sleeps in
        # 1 s steps: up to 1 s per flow run. Heartbeats detect crashed runs of workers; a
        # run of this command is watched by its user, its crash is on their console.
        updates[PREFECT_FLOWS_HEARTBEAT_FREQUENCY] = None
    scope = temporary_settings(
        updates=updates,
        restore_defaults={PREFECT_API_URL} if kind == "ephemere" and already else None,
    )
    quiet_console()
    with scope:
        session = PrefectSession(kind, url)
        if kind == "ephemere" and start:
            session.api_url, session.attempts = _start_ephemeral(settings.prefect.startup_timeout_s)
        session.startup_s = time.monotonic() - t0
        yield session


@contextmanager
def prefect_errors(what: str) -> Iterator[None]:
    """The one place where Prefect's and its HTTP client's errors become cahier's.

    cahier's own errors pass through unchanged. An error of the Prefect API (HTTP status,
    connection lost, SQLite « database is locked » under two concurrent embedded
    servers) becomes :class:`PrefectUnavailable` (French: what failed, and the fix —
    run it again, or share one server with ``cahier server``). Anything else is not
    Prefect's and is raised unchanged.
    """
    from tasks.errors import CahierError

    try:
        yield
    except CahierError:
        raise
    except Exception as exc:
        import httpx

        module = type(exc).__module__ or ""
        text = str(exc)
        prefect_side = (
            isinstance(exc, httpx.HTTPError)
            or module.startswith(("prefect", "httpx", "httpcore", "sqlalchemy", "sqlite3"))
            or "database is locked" in text
            or "Prefect" in text
        )
        if not prefect_side:
            raise
        locked = "database is locked" in text or "locked" in text.lower()
        raise PrefectUnavailable(
            f"{what} interrompu par le serveur Prefect ({type(exc).__name__}"
            + (" : base SQLite occupée par une autre commande cahier" if locked else "")
            + ") : relancez la commande ; si plusieurs commandes cahier tournent en même "
            "temps, démarrez un serveur partagé dans un autre terminal (« cahier server ») : "
            "elles l'utiliseront toutes."
        ) from None
