"""Flow ``followup-check``: remind and check the execution follow-up of every contract.

For each dossier under ``root`` with a follow-up plan (``suivi/plan.yaml``): checks the
execution reports at today's date (:func:`tasks.award.followup.check_followup`), logs a
reminder in French for every report falling due within ``reminder_days`` days and not yet
handed in, and publishes two table artifacts — promised vs delivered
(``suivi-engagements-<id>``) and the findings (``suivi-constats-<id>``). A contract whose
reports are unusable is reported with its French message and the run goes on. Scheduled
every morning in prefect.yaml (deployment ``followup``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import publish_artifact
from tasks.award.followup import FollowupResult, check_followup, iter_followups
from tasks.errors import InputError
from tasks.review.sources import register_item_source

__all__ = ["followup_check"]

# Review plans built in this process (a referent's approval from the worker) include the
# follow-up shortfalls, as with the CLI.
register_item_source("tasks.award.followup:review_items")


def due_soon(result: FollowupResult, on: dt.date, days: int) -> list[dict[str, str]]:
    """Reports due within ``days`` days of ``on`` (inclusive) and not handed in yet."""
    out = []
    for c in result.plan.engagements:
        for due in c.echeances:
            if on <= due.echeance <= on + dt.timedelta(days=days):
                out.append(
                    {
                        "engagement": c.id,
                        "libellé": c.libelle,
                        "période": f"{due.debut:%d/%m/%Y} – {due.fin:%d/%m/%Y}",
                        "échéance": f"{due.echeance:%d/%m/%Y}",
                    }
                )
    return out


@task(name="contrôler le suivi d'un marché", cache_policy=NO_CACHE)
def check_task(dossier: str, on: str) -> FollowupResult:
    return check_followup(dossier, dt.date.fromisoformat(on))


@task(name="publier le suivi", cache_policy=NO_CACHE)
def publish_task(result: FollowupResult) -> None:
    progress = [
        {
            "engagement": p.engagement,
            "promis": "" if p.promis is None else p.promis,
            "réalisé": "" if p.realise is None else p.realise,
            "unité": p.unite,
            "atteint": {True: "oui", False: "non", None: "—"}[p.atteint],
        }
        for p in result.progress
    ]
    findings = [
        {"règle": f.rule, "clause": f.clause or "", "message": f.message} for f in result.findings
    ]
    tender = result.tender
    publish_artifact(
        "suivi-engagements", tender, progress or [{"engagement": "aucun"}], date=result.date
    )
    publish_artifact("suivi-constats", tender, findings or [{"règle": "aucun constat"}])


@flow(name="followup-check", log_prints=False)
def followup_check(
    root: str = "tenders", on: str | None = None, reminder_days: int = 10
) -> dict[str, Any]:
    """Check and remind every contract under ``root`` (date ``on``, AAAA-MM-JJ, default today).

    Returns:
        ``{"contracts": n, "errors": n, "reminders": [...], "unusable": [messages]}``.
    """
    logger = get_run_logger()
    day = dt.date.fromisoformat(on) if on else dt.date.today()
    reminders: list[dict[str, str]] = []
    unusable: list[str] = []
    errors = 0
    dossiers = list(iter_followups(root))
    for dossier in dossiers:
        try:
            result = check_task(str(dossier), day.isoformat())
        except InputError as exc:
            logger.error("Suivi de %s inutilisable : %s", dossier, exc.render())
            unusable.append(exc.render())
            continue
        publish_task(result)
        errors += result.errors
        for f in result.findings:
            logger.warning("%s : %s", result.tender, f.message)
        for r in due_soon(result, day, reminder_days):
            r["marché"] = result.tender
            reminders.append(r)
            logger.info(
                "Rappel — %s : %s, période %s, à remettre avant le %s (titulaire %s).",
                result.tender,
                r["libellé"],
                r["période"],
                r["échéance"],
                result.plan.titulaire.nom,
            )
    logger.info(
        "%d marché(s) suivi(s) au %s : %d erreur(s), %d rappel(s).",
        len(dossiers),
        f"{day:%d/%m/%Y}",
        errors,
        len(reminders),
    )
    return {
        "contracts": len(dossiers),
        "errors": errors,
        "reminders": reminders,
        "unusable": unusable,
    }
