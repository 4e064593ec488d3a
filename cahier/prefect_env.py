"""Where cahier's commands find Prefect: embedded server settings, configured API, health probe."""

from __future__ import annotations

import os


def embedded_env() -> None:
    # The ephemeral server's telemetry locks SQLite (docs/architecture.md, « Pièges Prefect »).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def server_reachable(api_url: str, timeout: float = 3.0) -> bool:
    """True when ``<api_url>/health`` answers 200."""
    import httpx

    try:
        return httpx.get(api_url.rstrip("/") + "/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def configured_api() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value() or None
