"""Flow ``check-batch``: check every dossier of a repository (thousands), bounded.

One Prefect task runs :func:`tasks.check.batch.check_all` (a process pool of ``workers``,
results streamed to a JSON Lines file, memory independent of the number of
dossiers); progress is logged every ``log_every`` dossiers. A Prefect task per dossier
would cost one API round trip each: for thousands of small dossiers the orchestration
would outweigh the work, so the unit of orchestration is the shard.

With ``shards`` > 1 in a deployed run, the flow starts one run of its own deployment
per shard (``shard=i``), which the work pool's workers pick up — one repository spread
over several machines — and adds their totals. Artifacts: a table of the totals and
of the worst dossiers, keyed ``check-batch-<folder>``.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import publish_artifact
from tasks.check.batch import BatchSummary, DossierResult, check_all

__all__ = ["check_batch", "summary_rows"]


def summary_rows(summary: BatchSummary) -> list[dict[str, Any]]:
    """French table rows: totals first, then the worst dossiers."""
    rows: list[dict[str, Any]] = [
        {"indicateur": "dossiers contrôlés", "valeur": summary.dossiers},
        {"indicateur": "conformes (aucune erreur)", "valeur": summary.clean},
        {"indicateur": "avec erreurs", "valeur": summary.with_errors},
        {"indicateur": "inutilisables", "valeur": summary.unusable},
        {"indicateur": "erreurs (total)", "valeur": summary.errors},
        {"indicateur": "avertissements (total)", "valeur": summary.warnings},
        {"indicateur": "durée (s)", "valeur": summary.seconds},
    ]
    for w in summary.worst:
        rows.append(
            {
                "indicateur": f"à corriger : {w.get('tender') or Path(w['dossier']).name}",
                "valeur": w.get("message") or f"{w['errors']} erreur(s)",
            }
        )
    return rows


@task(name="contrôler les dossiers", cache_policy=NO_CACHE)
def check_shard_task(
    root: str,
    rev: str | None,
    workers: int,
    out: str | None,
    shard: int,
    shards: int,
    log_every: int,
) -> dict[str, Any]:
    logger = get_run_logger()
    seen = 0

    def progress(r: DossierResult) -> None:
        nonlocal seen
        seen += 1
        if seen % log_every == 0:
            logger.info("%d dossier(s) contrôlé(s)…", seen)

    summary = check_all(
        root, rev=rev, workers=workers, on_result=progress, out=out, shard=(shard, shards)
    )
    return asdict(summary)


def _merge(parts: list[dict[str, Any]], root: str, rev: str | None) -> BatchSummary:
    total = BatchSummary(root=root, rev=rev)
    for p in parts:
        for k in ("dossiers", "clean", "with_errors", "unusable", "errors", "warnings"):
            setattr(total, k, getattr(total, k) + p[k])
        total.seconds = max(total.seconds, p["seconds"])
        total.worst += p["worst"]
    total.worst = sorted(total.worst, key=lambda w: (w["exit_code"], w["errors"]), reverse=True)
    total.worst = total.worst[:20]
    return total


@flow(name="check-batch", log_prints=False, persist_result=True)
def check_batch(
    root: str = "tenders",
    rev: str | None = None,
    workers: int = 2,
    out: str | None = None,
    shards: int = 1,
    shard: int | None = None,
    log_every: int = 100,
) -> dict[str, Any]:
    """Check every dossier under ``root``; returns the totals (:class:`BatchSummary` as dict).

    Args:
        root: folder or repository holding the dossiers.
        rev: Git revision to read them from (None: working tree).
        workers: processes per run.
        out: JSON Lines file of the per-dossier results (``.<shard>`` appended per shard).
        shards: number of runs to spread the dossiers over (deployed runs only).
        shard: index of this run's shard (set by the parent run).
    """
    logger = get_run_logger()
    if shard is not None or shards <= 1:
        index = shard or 0
        count = max(shards, 1)
        target = f"{out}.{index}" if out and count > 1 else out
        result = check_shard_task(root, rev, workers, target, index, count, log_every)
        summary = _merge([result], root, rev)
    else:
        from prefect.deployments import run_deployment
        from prefect.runtime import deployment

        if deployment.id is None:
            logger.info("Sans déploiement : les %d parts sont contrôlées ici.", shards)
            parts = [
                check_shard_task(
                    root, rev, workers, f"{out}.{i}" if out else None, i, shards, log_every
                )
                for i in range(shards)
            ]
        else:
            runs = [
                run_deployment(
                    name=f"check-batch/{deployment.name}",
                    parameters={
                        "root": root,
                        "rev": rev,
                        "workers": workers,
                        "out": out,
                        "shards": shards,
                        "shard": i,
                        "log_every": log_every,
                    },
                    timeout=0,
                )
                for i in range(shards)
            ]
            parts = wait_for_parts([str(fr.id) for fr in runs])
        summary = _merge(parts, root, rev)
    folder = Path(os.path.abspath(root)).name
    publish_artifact("check-batch", folder, summary_rows(summary), root=root)
    logger.info(
        "%d dossier(s) : %d conforme(s), %d avec erreurs, %d inutilisable(s) (%.1f s).",
        summary.dossiers,
        summary.clean,
        summary.with_errors,
        summary.unusable,
        summary.seconds,
    )
    return asdict(summary)


def wait_for_parts(flow_run_ids: list[str], timeout: float = 3600) -> list[dict]:
    """Wait for the shard runs to finish (Prefect's ``wait_for_flow_run``, all at once);
    their returned totals, in the order of ``flow_run_ids``.

    Raises:
        RuntimeError: a shard run did not complete, or not within ``timeout`` seconds
            (French message).
    """
    import asyncio
    from uuid import UUID

    from prefect.exceptions import FlowRunWaitTimeout
    from prefect.flow_runs import wait_for_flow_run
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def wait_all():
        return await asyncio.gather(
            *(wait_for_flow_run(UUID(i), timeout=int(timeout)) for i in flow_run_ids)
        )

    try:
        runs = run_coro_as_sync(wait_all())
    except FlowRunWaitTimeout as exc:
        raise RuntimeError(f"parts non terminées après {timeout:.0f} s : {exc}") from exc
    for fr in runs:
        if not fr.state.is_completed():
            raise RuntimeError(f"part {fr.id} terminée en état {fr.state.name}.")
    return [fr.state.result() for fr in runs]
