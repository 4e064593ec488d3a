"""Where cahier's commands find Prefect: the selection and start-up live in
:mod:`flows.server` (configured URL, the file of ``cahier server`` in PREFECT_HOME, the
embedded server started with its timeout and one retry); this module re-exports them for
the command modules."""

from __future__ import annotations

from flows.server import PrefectSession, PrefectUnavailable, prefect_session, server_reachable

__all__ = ["PrefectSession", "PrefectUnavailable", "prefect_session", "server_reachable"]
