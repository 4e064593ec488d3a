"""Flows of the referent reviews: request, wait for a typed form, record in Git, remind.

Size: just over 600 lines — the three review flows (request, await, remind) share their artifacts and form models.

* ``request_reviews(tender, rev)`` — plans the reviews, publishes a Markdown artifact
  listing the pending items per referent, and starts one child run ``await-review`` per
  role that still has an item to review. With ``deployment`` (the name of a deployment
  of ``await-review``, e.g. from prefect.yaml) the children are separate deployed runs
  that **suspend** (the process exits; the run is rescheduled on resume and its body
  re-runs). Without a deployment the children are concurrent subflows that **pause**
  (the process keeps waiting, for ``timeout_days``).
* ``await_review(dossier, role)`` — waits for a :class:`ReviewInput` (decision,
  comment, reviewer name and e-mail), rendered by the Prefect UI as a form on the
  « Resume » button, then writes the same Git record as the CLI
  (:func:`tasks.review.reviews.record_review`). A refused input (reviewer not declared for the
  role…) is logged in French and the run waits again under a new key. A record that
  already names this run (written by ``cahier review approve`` before it resumed the
  run) is not written twice. The record names the referent from the form as reviewer
  (Git author) and the form's submitter **as given** (``saisi_par_*``, default: the
  referent named in the form) as ``recorded_by``; the Git committer is the identity of
  the process that runs the flow (the worker). The open-source Prefect server has no
  authentication: anyone who reaches the UI can fill the form under any name, so these
  identities are declarations, shown as such by ``cahier review status``; the
  four-eyes rules of :func:`tasks.review.reviews.record_review` (no self-declared referent, no
  approval of one's own change) apply to form answers too.
* ``remind_reviews(tender, reminder_days)`` — to schedule (e.g. daily): re-publishes the
  artifact and logs a French reminder for every review run waiting for more than
  ``reminder_days`` days. :func:`reminder_automation` builds the equivalent Prefect
  automation (proactive trigger on runs staying Paused/Suspended, action: a
  notification block such as e-mail or a webhook) for a server that has such a block.

Prefect 3.9.1 pitfalls (docs/architecture.md, « Pièges Prefect »): pause/suspend keys hold lowercase letters,
digits and dashes only (slugified here, or the run can never be resumed); suspend needs
a deployment and persisted results.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from pydantic import Field
from slugify import slugify

from tasks.dossier.model import Person
from tasks.dossier.yamlio import load_yaml
from tasks.errors import InputError
from tasks.review.reviews import (
    ROLE_LABELS,
    StatusEntry,
    read_records,
    record_review,
    review_status,
)
from tasks.review.sources import register_item_source

# Execution shortfalls (tasks/award/followup.py) are reviewed like flagged clauses, in the
# worker as in the CLI (cahier/followup.py registers the same source).
register_item_source("tasks.award.followup:review_items")

__all__ = [
    "ReviewInput",
    "await_review",
    "find_waiting_runs",
    "pending_markdown",
    "remind_reviews",
    "reminder_automation",
    "request_reviews",
    "resume_waiting_run",
    "review_key",
    "run_name",
    "submitter",
]

AWAIT_FLOW = "await-review"

_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_ON_BEHALF = "si vous saisissez la décision pour le compte du référent ; sinon vide"


class ReviewInput(RunInput):
    """The form a referent fills in the Prefect UI to decide on the items of a role."""

    decision: Literal["approve", "request-changes"] = Field(
        title="Décision",
        description="approve : approuver ; request-changes : demander des modifications",
    )
    comment: str = Field(
        default="",
        title="Commentaire",
        description="obligatoire pour une demande de modifications",
    )
    nom: str = Field(min_length=1, title="Nom du référent")
    email: str = Field(
        pattern=rf"^{_EMAIL}$",
        title="Adresse électronique du référent",
        description="doit être déclarée pour ce rôle (tender.yaml : referents)",
    )
    saisi_par_nom: str = Field(default="", title="Saisi par (nom)", description=_ON_BEHALF)
    saisi_par_email: str = Field(
        default="",
        pattern=rf"^$|^{_EMAIL}$",
        title="Saisi par (adresse électronique)",
        description=_ON_BEHALF,
    )


def submitter(review: dict[str, Any]) -> Person:
    """Who filled the form, as given: ``saisi_par_*`` when filled, else the referent named."""
    email = (review.get("saisi_par_email") or "").strip()
    if email:
        return Person(nom=(review.get("saisi_par_nom") or "").strip() or email, email=email)
    return Person(nom=review["nom"], email=review["email"])


def review_key(tender_id: str, role: str, attempt: int = 1) -> str:
    """``revue-2026-dsi-014-accessibilite-1``: a valid pause/suspend key (slugified)."""
    return slugify(f"revue-{tender_id}-{role}-{attempt}")


def run_name(tender_id: str, role: str) -> str:
    """Name of the ``await-review`` run of a tender and role (how the CLI finds it)."""
    return slugify(f"revue-{tender_id}-{role}")


def _tender_id(dossier: str) -> str:
    try:
        data, _ = load_yaml((Path(dossier) / "tender.yaml").read_bytes(), "tender.yaml")
        return str(data.get("id")) if isinstance(data, dict) else Path(dossier).name
    except (OSError, InputError):
        return Path(dossier).name


def _await_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters
    return run_name(_tender_id(params["dossier"]), params["role"])


# --------------------------------------------------------------------------- markdown


def pending_markdown(tender_id: str, entries: list[StatusEntry], referents: dict) -> str:
    """French Markdown: the items not yet approved, grouped by referent."""
    open_ = [e for e in entries if e.status != "approved"]
    lines = [f"# Revues en attente — consultation {tender_id}", ""]
    if not open_:
        lines.append("Toutes les revues sont approuvées.")
        return "\n".join(lines) + "\n"
    state = {
        "pending": "en attente",
        "lapsed": "approbation caduque (texte modifié)",
        "changes-requested": "modifications demandées",
    }
    roles = sorted({e.item.role for e in open_}, key=lambda r: list(ROLE_LABELS).index(r))
    for role in roles:
        people = referents.get(role) or []
        who = ", ".join(f"{p.nom} <{p.email}>" for p in people) or "aucun référent déclaré"
        label = ROLE_LABELS[role]
        lines += [f"## {label[:1].upper() + label[1:]} — {who}", ""]
        lines += ["| Élément | Emplacement | État |", "|---|---|---|"]
        for e in open_:
            if e.item.role == role:
                st = "approbation non retenue (règle des quatre yeux)" if e.refusal else None
                lines.append(
                    f"| {e.item.clause} — {e.item.title} | {e.item.location.label()} | "
                    f"{st or state[e.status]} |"
                )
        lines.append("")
    lines.append(
        "Pour décider : bouton « Resume » du run d'attente dans l'interface Prefect, ou "
        "`cahier review approve|request-changes DOSSIER --role ROLE --comment …`."
    )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- tasks


@task(name="état des revues", cache_policy=NO_CACHE)
def status_task(dossier: str, rev: str | None) -> list[StatusEntry]:
    return review_status(dossier, rev)


@task(name="référents", cache_policy=NO_CACHE)
def referents_task(dossier: str) -> dict:
    from tasks.review.reviews import plan_for

    return plan_for(dossier, rev="HEAD").referents


@task(name="publier les revues en attente", cache_policy=NO_CACHE)
def publish_task(tender_id: str, entries: list[StatusEntry], referents: dict) -> str:
    md = pending_markdown(tender_id, entries, referents)
    create_markdown_artifact(
        markdown=md,
        key=slugify(f"revues-en-attente-{tender_id}"),
        description=f"Revues en attente, consultation {tender_id}",
    )
    return md


@task(name="enregistrer la revue", cache_policy=NO_CACHE)
def record_task(
    dossier: str, role: str, review: dict[str, Any], flow_run_id: str
) -> dict[str, Any]:
    result = record_review(
        dossier,
        role,
        review["decision"],
        review["email"],
        review.get("comment", ""),
        reviewer_name=review["nom"],
        flow_run=flow_run_id,
        recorded_by=submitter(review),
    )
    return {"path": result.path, "commit": result.commit, "decision": result.record.decision}


def _recorded_for_run(dossier: str, run_id: str) -> dict[str, Any] | None:
    for stored in reversed(read_records(dossier)):
        if stored.record.flow_run == run_id:
            return {
                "path": stored.path,
                "commit": stored.commit,
                "decision": stored.record.decision,
            }
    return None


# --------------------------------------------------------------------------- flows


def _duration(days: float) -> str:
    """« 30 jour(s) », « 6 heure(s) », « 10 seconde(s) »."""
    if days >= 1:
        return f"{days:g} jour(s)"
    if days * 24 >= 1:
        return f"{days * 24:g} heure(s)"
    return f"{round(days * 86400):d} seconde(s)"


async def _back_to_running(run_id: str) -> None:
    """After a pause timeout the run is still Paused on the server, which then refuses
    its completion (« completed and never resumed »): set it Running again so that an
    expired review ends as a Completed run whose result says « expirée »."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.states import Running

    async with get_client() as client:
        await client.set_flow_run_state(UUID(run_id), Running(), force=True)


@flow(name=AWAIT_FLOW, flow_run_name=_await_run_name, persist_result=True)
async def await_review(
    dossier: str,
    role: str,
    timeout_days: float = 30,
    poll_seconds: int = 10,
    max_attempts: int = 5,
) -> dict[str, Any]:
    """Wait for one referent's decision on the items of ``role``, then record it in Git.

    Suspends when the run comes from a deployment, pauses (in-process) otherwise.

    Returns:
        ``{"path", "commit", "decision"}`` of the record, ``{"decision": "none"}``
        when nothing of the role needed review, or ``{"decision": "expiree", "message"}``
        when nobody answered within ``timeout_days`` (the run completes — an unanswered
        review is a normal outcome, not a failure; the request can be renewed).

    ``max_attempts`` refused inputs end the run with ``{"decision": "abandonnee",
    "message"}`` (French).
    """
    from prefect.runtime import deployment, flow_run

    logger = get_run_logger()
    run_id = str(flow_run.id)
    entries = [e for e in status_task(dossier, None) if e.item.role == role]
    tender_id = _tender_id(dossier)
    open_ = [e for e in entries if e.status != "approved"]
    label = ROLE_LABELS.get(role, role)
    if not open_:
        logger.info("Rien à revoir pour le %s : revue terminée.", label)
        return {"decision": "none"}
    description = pending_markdown(tender_id, open_, referents_task(dossier)) + FORM_NOTE
    deployed = deployment.id is not None
    for attempt in range(1, max_attempts + 1):
        done = _recorded_for_run(dossier, run_id)
        if done is not None:
            logger.info("Revue déjà enregistrée (%s) : %s.", done["decision"], done["path"])
            return done
        key = review_key(tender_id, role, attempt)
        logger.info("Revue du %s attendue (clé %s).", label, key)
        try:
            answer = await _wait_answer(description, key, deployed, timeout_days, poll_seconds)
        except FlowPauseTimeout:
            await _back_to_running(run_id)
            message = (
                f"Revue expirée : aucune décision du {label} en {_duration(timeout_days)}. "
                "Renouvelez la demande (cahier lifecycle DOSSIER, ou le flow « request-reviews ») "
                "ou enregistrez la décision par « cahier review approve|request-changes »."
            )
            logger.warning(message)
            return {"decision": "expiree", "message": message}
        result = _record_answer(dossier, role, answer, run_id, logger)
        if result is not None:
            return result
    message = (
        f"{max_attempts} réponses refusées : revue du {label} abandonnée. Renouvelez la "
        "demande avec un référent déclaré pour ce rôle (tender.yaml : referents)."
    )
    logger.error(message)
    return {"decision": "abandonnee", "message": message}


#: Appended to the review form's description (the pending items in Markdown).
FORM_NOTE = (
    "\nRemplissez le formulaire : décision, commentaire, nom et adresse du référent "
    "(déclaré pour ce rôle). Si vous saisissez la décision pour son compte, indiquez vos "
    "nom et adresse dans « Saisi par » : ils sont enregistrés avec la revue. "
    "L'interface Prefect n'authentifie pas les personnes : ces identités sont déclaratives."
)


async def _wait_answer(
    description: str, key: str, deployed: bool, timeout_days: float, poll_seconds: int
) -> ReviewInput:
    """The referent's answer (suspend when deployed, pause otherwise); FlowPauseTimeout."""
    timeout = int(timeout_days * 86400)
    # No initial decision: with_initial_data would drop the field's French title.
    form = ReviewInput.with_initial_data(description=description)
    if deployed:
        return await suspend_flow_run(wait_for_input=form, key=key, timeout=timeout)
    return await pause_flow_run(
        wait_for_input=form, key=key, timeout=timeout, poll_interval=poll_seconds
    )


def _record_answer(
    dossier: str, role: str, answer: ReviewInput, run_id: str, logger: Any
) -> dict[str, Any] | None:
    """The record of ``answer`` (or of a CLI decision); None when refused: ask again."""
    done = _recorded_for_run(dossier, run_id)
    if done is not None:
        logger.info("Revue enregistrée depuis la ligne de commande : %s.", done["path"])
        return done
    try:
        result = record_task(dossier, role, answer.model_dump(), run_id)
    except InputError as exc:
        logger.error("Revue refusée : %s", exc.render())
        return None
    logger.info("Revue enregistrée : %s (commit %s).", result["path"], result["commit"][:10])
    return result


@flow(name="request-reviews")
async def request_reviews(
    tender: str,
    rev: str | None = None,
    deployment: str | None = None,
    timeout_days: float = 30,
    poll_seconds: int = 10,
) -> dict[str, Any]:
    """Start one review run per role with items to review; wait for them without deployment.

    Args:
        tender: the dossier folder (holding tender.yaml) in a Git repository.
        rev: revision whose plan is published (default: the working tree).
        deployment: name of an ``await-review`` deployment; its runs suspend.
        timeout_days: how long a review may wait before the run fails.

    Returns:
        ``{"roles": [...], "runs": {role: result or flow run id}}``.
    """
    logger = get_run_logger()
    from tasks.git import Repo

    if Repo.discover(tender).deepen():  # a worker's shallow clone (prefect.yaml git_clone)
        logger.info("Clone superficiel : historique complet récupéré (git fetch --unshallow).")
    entries = status_task(tender, rev)
    referents = referents_task(tender)
    tender_id = _tender_id(tender)
    publish_task(tender_id, entries, referents)
    roles = sorted({e.item.role for e in entries if e.status != "approved"})
    for role in roles:
        people = referents.get(role) or []
        logger.info(
            "Revue demandée au %s : %s.",
            ROLE_LABELS[role],
            ", ".join(f"{p.nom} <{p.email}>" for p in people) or "aucun référent déclaré",
        )
    if deployment:
        from prefect.deployments import run_deployment

        runs = {}
        for role in roles:
            fr = await run_deployment(
                name=f"{AWAIT_FLOW}/{deployment}",
                parameters={"dossier": tender, "role": role, "timeout_days": timeout_days},
                timeout=0,
                # A repeated request (re-run, resume) returns the existing review run.
                idempotency_key=slugify(f"revue-{tender_id}-{role}-{rev or 'copie-de-travail'}"),
                # Each review lives on its own, independently of the requesting run.
                as_subflow=False,
            )
            runs[role] = str(fr.id)
        return {"roles": roles, "runs": runs}
    results = await asyncio.gather(
        *(
            await_review(tender, role, timeout_days=timeout_days, poll_seconds=poll_seconds)
            for role in roles
        )
    )
    return {"roles": roles, "runs": dict(zip(roles, results, strict=True))}


@flow(name="remind-reviews")
async def remind_reviews(tender: str, reminder_days: float = 3) -> list[str]:
    """Re-publish the pending reviews and log a reminder for runs waiting > ``reminder_days``.

    Meant to be scheduled (prefect.yaml, e.g. every morning). Returns the French
    reminder lines.
    """
    logger = get_run_logger()
    entries = status_task(tender, None)
    referents = referents_task(tender)
    tender_id = _tender_id(tender)
    publish_task(tender_id, entries, referents)
    now = dt.datetime.now(dt.UTC)
    reminders: list[str] = []
    for run in await find_waiting_runs(tender_id):
        since = run.state.timestamp if run.state else None
        if since is None or (now - since).total_seconds() < reminder_days * 86400:
            continue
        role = run.parameters.get("role", "?")
        people = referents.get(role) or []
        msg = (
            f"Rappel : la revue du {ROLE_LABELS.get(role, role)} de la consultation {tender_id} "
            f"attend depuis le {since:%d/%m/%Y} ("
            + (", ".join(p.email for p in people) or "aucun référent déclaré")
            + ")."
        )
        logger.warning(msg)
        reminders.append(msg)
    return reminders


# --------------------------------------------------------------------------- API helpers


async def find_waiting_runs(tender_id: str, role: str | None = None) -> list:
    """Paused or suspended ``await-review`` runs of a tender (and role), newest first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    roles = [role] if role else list(ROLE_LABELS)
    async with get_client() as client:
        return await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[AWAIT_FLOW])),
            flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[run_name(tender_id, r) for r in roles]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
            ),
            sort=FlowRunSort.START_TIME_DESC,
        )


def resume_waiting_run(run_id: str, review: dict[str, Any]) -> None:
    """Resume a waiting review run with the referent's answer (``ReviewInput`` fields).

    Raises:
        InputError: the run is not waiting any more, has expired, or the server refused
            the answer (French message naming the expected fields).
    """
    from uuid import UUID

    from prefect.exceptions import NotPausedError
    from prefect.flow_runs import resume_flow_run

    try:
        resume_flow_run(UUID(run_id), run_input=review)
    except NotPausedError:
        raise InputError(
            f"le run Prefect {run_id} n'attend plus de revue (déjà repris ou terminé)."
        ) from None
    except FlowPauseTimeout:
        raise InputError(
            f"le run Prefect {run_id} a expiré (revue expirée) : renouvelez la demande de "
            "revue (cahier lifecycle DOSSIER) ; la décision enregistrée dans Git reste valable."
        ) from None
    except (RuntimeError, ValueError) as exc:
        raise InputError(answer_refused_message(review, exc)) from None


def answer_refused_message(review: dict[str, Any], exc: BaseException) -> str:
    """French message for an answer that the waiting run's form refused."""
    fields = ReviewInput.model_fields
    problems = []
    for name, info in fields.items():
        if name.startswith("_") or name not in (
            "decision",
            "comment",
            "nom",
            "email",
            "saisi_par_nom",
            "saisi_par_email",
        ):
            continue
        value = review.get(name)
        if info.is_required() and not value:
            problems.append(f"« {info.title} » ({name}) manquant")
    decision = review.get("decision")
    if decision is not None and decision not in ("approve", "request-changes"):
        problems.append(
            f"décision « {decision} » inconnue : « approve » ou « request-changes » attendu"
        )
    email = str(review.get("email") or "")
    if email and ("@" not in email or "." not in email.split("@")[-1]):
        problems.append(f"adresse « {email} » invalide (nom@domaine.fr attendu)")
    detail = " ; ".join(problems) or "réponse non conforme au formulaire de revue"
    return (
        f"réponse refusée par le run de revue : {detail}. Corrigez la réponse et "
        "renvoyez-la (le run attend toujours)."
    )


def reminder_automation(reminder_days: float, block_document_id: str, tender_id: str | None = None):
    """A Prefect automation: notify when a review run stays waiting ``reminder_days`` days.

    Proactive trigger: after a run of ``await-review`` enters Paused/Suspended, expect it
    to resume (Running) or end within ``reminder_days``; otherwise send a notification
    through the notification block ``block_document_id`` (e-mail, Slack, webhook…).
    Create it with ``reminder_automation(...).create()`` on a server that has the block.
    """
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import EventTrigger, Posture

    name = "rappel-revues" + (f"-{slugify(tender_id)}" if tender_id else "")
    match: dict[str, Any] = {"prefect.resource.id": "prefect.flow-run.*"}
    if tender_id:
        match["prefect.resource.name"] = [run_name(tender_id, r) for r in ROLE_LABELS]
    return Automation(
        name=name,
        description=f"Rappel aux référents après {reminder_days:g} jour(s) d'attente d'une revue.",
        trigger=EventTrigger(
            match=match,
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": AWAIT_FLOW},
            after={"prefect.flow-run.Paused", "prefect.flow-run.Suspended"},
            expect={
                "prefect.flow-run.Running",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(days=reminder_days),
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id,
                subject="Rappel : revue en attente ({{ flow_run.name }})",
                body=(
                    "La revue {{ flow_run.name }} attend votre décision depuis plus de "
                    f"{reminder_days:g} jour(s). Ouvrez le run dans l'interface Prefect "
                    "(bouton « Resume ») ou utilisez « cahier review approve »."
                ),
            )
        ],
    )


def api_configured() -> bool:
    """True when a Prefect server is configured (``PREFECT_API_URL``); no ephemeral start."""
    from tasks.config import load_settings

    return bool(load_settings().prefect.api_url)
