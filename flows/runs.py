"""Prefect flow runs of a tender, for the auditor's timeline (``cahier audit``).

Every flow that works on one dossier names its runs after the dossier folder
(``controle-…``, ``assemblage-…``, ``archive-…``, ``cycle-…``, ``revue-…``): the runs
of a tender are those whose name contains its slug.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slugify import slugify

__all__ = [
    "artifact_key",
    "belongs",
    "cahier_flow",
    "dossier_run_name",
    "list_runs",
    "retry_transient",
    "transient_retries",
]

_JSON_SCALARS = (str, int, float, bool, type(None))


def _is_json(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is plain JSON data: str, int, float, bool, None, and lists and
    str-keyed dicts of them (exact types: an enum or a path is not)."""
    if type(value) in _JSON_SCALARS:
        return True
    if depth > 20:
        return False
    if type(value) is list:
        return all(_is_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_json(v, depth + 1) for k, v in value.items())
    return False


def _json_copy(value: Any) -> Any:
    if type(value) is list:
        return [_json_copy(v) for v in value]
    if type(value) is dict:
        return {k: _json_copy(v) for k, v in value.items()}
    return value


_FLOW_CLASS: list[type] = []


def _flow_class() -> type:
    """``CahierFlow``: Prefect's ``Flow`` whose runs record plain JSON parameters as they
    are (:func:`cahier_flow`); defined at first use, so that importing this module does
    not import Prefect, and reachable as ``flows.runs.CahierFlow`` (pickling by name)."""
    if not _FLOW_CLASS:
        from prefect.flows import Flow

        class CahierFlow(Flow):
            def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
                if all(_is_json(v) for v in parameters.values()):
                    return {k: _json_copy(v) for k, v in parameters.items()}
                return super().serialize_parameters(parameters)

        CahierFlow.__qualname__ = "CahierFlow"
        _FLOW_CLASS.append(CahierFlow)
    return _FLOW_CLASS[0]


def __getattr__(name: str) -> Any:
    if name == "CahierFlow":
        return _flow_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cahier_flow(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``prefect.flow(**options)``, whose runs record plain JSON parameters as they are.

    Prefect records a run's parameters through FastAPI's ``jsonable_encoder``, which
    imports FastAPI (~0.15 s CPU) in a command that serves no API. When every parameter
    is plain JSON (:func:`_is_json`) it is recorded as is — what ``jsonable_encoder``
    returns for such values; otherwise Prefect's own serialisation runs unchanged.
    """

    def deco(fn: Callable[..., Any]) -> Any:
        return _flow_class()(fn=fn, **options)

    return deco


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry a failed task only when it raised a
    :class:`tasks.errors.TransientError` (another write moved the branch, the index was
    locked): the decision is taken on the error's type, never on its text."""
    from tasks.errors import TransientError

    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False


def transient_retries() -> dict[str, Any]:
    """Task options of every Prefect task that may meet a transient failure (a Git write
    racing another one): retried only on :class:`tasks.errors.TransientError`
    (:func:`retry_transient`), with the one policy of :mod:`tasks.retry` expressed in
    Prefect's own terms (``exponential_backoff``, ``retry_jitter_factor``): 4 retries
    after about 2, 4, 8 and 16 s, each ± 50 %."""
    from prefect.tasks import exponential_backoff

    from tasks.retry import ATTEMPTS, FIRST_DELAY_S, JITTER

    return {
        "retries": ATTEMPTS - 1,
        "retry_delay_seconds": exponential_backoff(backoff_factor=FIRST_DELAY_S),
        "retry_jitter_factor": JITTER,
        "retry_condition_fn": retry_transient,
    }


def artifact_key(kind: str, tender_id: str) -> str:
    """``check-report-2026-dsi-014``: a valid Prefect artifact key for a tender (Prefect
    accepts lowercase letters, digits and dashes only)."""
    return slugify(f"{kind}-{tender_id}")


def dossier_run_name(kind: str) -> str:
    """Run name ``<kind>-<dossier folder>`` from the running flow's ``dossier`` parameter."""
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    dossier = params.get("dossier") or params.get("tender_path") or "dossier"
    return slugify(f"{kind}-{Path(str(dossier)).name}")


_PARAMS = ("dossier", "tender_path", "tender", "tender_id")


def belongs(name: str, parameters: dict[str, Any], slugs: list[str]) -> bool:
    """Whether a run is one of the tender's, exactly: a dossier parameter whose folder
    (or id) slug is one of ``slugs``; otherwise the slug as a whole dash-separated part
    of the run name (``revue-2026-dsi-01-juridique`` is 2026-DSI-01's, not
    ``revue-2026-dsi-014-juridique``)."""
    for key in _PARAMS:
        value = parameters.get(key)
        if isinstance(value, str) and value:
            return slugify(Path(value).name) in slugs
    return any(re.search(rf"(^|-){re.escape(slug)}(-|$)", name or "") for slug in slugs)


async def _read(slugs: list[str], limit: int) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    seen: dict[str, dict[str, Any]] = {}
    async with get_client() as client:
        flows: dict[Any, str] = {}
        for slug in slugs:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=slug)),
                sort=FlowRunSort.START_TIME_DESC,
                limit=limit,
            )
            for run in runs:
                if not belongs(run.name, run.parameters or {}, slugs):
                    continue  # « 2026-DSI-014 » is not « 2026-DSI-01 »
                if run.flow_id not in flows:
                    flows[run.flow_id] = (await client.read_flow(run.flow_id)).name
                seen[str(run.id)] = {
                    "id": str(run.id),
                    "name": run.name,
                    "flow": flows[run.flow_id],
                    "state": run.state.name if run.state else "?",
                    "start": run.start_time or run.expected_start_time,
                    "parameters": run.parameters,
                }
    return sorted(seen.values(), key=lambda r: str(r["start"] or ""))


def list_runs(tender_id: str, folder: str, limit: int = 200) -> list[dict[str, Any]]:
    """Flow runs of the tender (by id or folder, matched exactly: :func:`belongs`),
    oldest first.

    Raises:
        Exception: whatever the Prefect client raises when the server is unreachable
            (the caller reports it in French).
    """
    slugs = sorted({slugify(tender_id), slugify(folder)})
    return asyncio.run(_read(slugs, limit))
