"""``cahier review``: plan, status, approve and request-changes (referent reviews).

``approve`` / ``request-changes`` write the Git record (tasks/review/reviews.py) and, when a
Prefect server is configured (``PREFECT_API_URL``), resume the run waiting for that
tender and role. Without a server the command works the same and skips the resume
(no ephemeral server is started for it). Exit codes: 0 done (status: every item
approved), 1 status with items not approved, 2 unusable input or refusal.

Identity: the person running the command is the Git committer identity of the
dossier's repository (``GIT_COMMITTER_NAME``/``GIT_COMMITTER_EMAIL``, else ``git config
user.name``/``user.email``); the reviewer defaults to that person. Recording a decision
in another referent's name needs ``--pour-le-compte-de`` (refused otherwise, exit 2),
and the record then names the person who recorded it (``recorded_by``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from cahier.common import CommandSet, fail
from cahier.options import RevOpt, TenderRef
from tasks.errors import CahierError, InputError

commands = CommandSet(
    "review", help="Revues des référents (accessibilité, environnement, données…)."
)

T = TypeVar("T")

_STATE_FR = {
    "approved": "approuvé",
    "lapsed": "caduc",
    "pending": "en attente",
    "changes-requested": "modifications demandées",
}


def resolve_tender(arg: str) -> Path:
    """The dossier of ``arg``: a folder holding tender.yaml, or a tender id under tenders/.

    Raises:
        InputError: no such dossier (French message).
    """
    p = Path(arg)
    if (p / "tender.yaml").is_file():
        return p
    bases = [Path.cwd()]
    from tasks.git import toplevel

    top = toplevel(Path.cwd())
    if top is not None:
        bases.append(top)
    for base in bases:
        candidate = base / "tenders" / arg
        if (candidate / "tender.yaml").is_file():
            return candidate
    raise InputError(
        f"consultation « {arg} » introuvable : indiquez le dossier de la consultation "
        "(qui contient tender.yaml) ou son identifiant sous tenders/.",
        arg,
    )


def _at_revision(read: Callable[..., T], tender: str, rev: str | None) -> T:
    """``read(dossier, rev=rev)`` for the dossier ``tender`` names, exiting with the
    French message (code 2) on unusable input."""
    try:
        return read(resolve_tender(tender), rev=rev)
    except CahierError as exc:
        fail(exc)


@commands.add("plan")
def plan_cmd(tender: TenderRef, rev: RevOpt = None) -> None:
    """Lister les éléments à faire revoir, par référent."""
    from tasks.review.reviews import ROLE_LABELS, plan_for

    plan = _at_revision(plan_for, tender, rev)
    if not plan.items:
        typer.echo(f"Consultation {plan.tender} : aucun élément à faire revoir.")
        return
    typer.echo(f"Consultation {plan.tender} — clausier {plan.clausier_version}")
    for role in plan.roles():
        people = plan.referents.get(role) or []
        who = ", ".join(f"{p.nom} <{p.email}>" for p in people) or "AUCUN RÉFÉRENT DÉCLARÉ"
        typer.echo(f"\n{ROLE_LABELS[role].capitalize()} ({role}) — {who}")
        for item in plan.for_role(role):
            typer.echo(f"  - {item.label()}  [{item.id}, empreinte {item.digest[:12]}]")


@commands.add("status")
def status_cmd(
    tender: TenderRef,
    rev: RevOpt = None,
    diff: Annotated[
        bool, typer.Option("--diff/--no-diff", help="Montrer le diff des approbations caduques.")
    ] = True,
) -> None:
    """État de chaque élément : approuvé, caduc (diff), en attente, modifications demandées."""
    from tasks.review.reviews import review_status

    entries = _at_revision(review_status, tender, rev)
    if not entries:
        typer.echo("Aucun élément à faire revoir.")
        return
    for e in entries:
        typer.echo(f"[{_STATE_FR[e.status]}] {e.message()}")
        if diff and e.status == "lapsed" and e.diff:
            typer.echo("    " + e.diff.replace("\n", "\n    ").rstrip())
    raise typer.Exit(0 if all(e.status == "approved" for e in entries) else 1)


def _decide(
    decision: str,
    tender: str,
    role: str,
    comment: str,
    reviewer_email: str | None,
    items: list[str] | None,
    on_behalf: bool = False,
) -> None:
    from tasks.review.reviews import check_role, committer_identity, record_review

    try:
        check_role(role)
        dossier = resolve_tender(tender)
        me = committer_identity(dossier)
        email = reviewer_email or (me.email if me else None)
        if not email:
            raise InputError(
                "référent inconnu : indiquez --reviewer-email ou configurez git config "
                "user.name et user.email."
            )
        run_id = _waiting_run(dossier, role)
        result = record_review(
            dossier,
            role,
            decision,
            email,
            comment,
            items=items or None,
            flow_run=run_id,
            allow_on_behalf=on_behalf,
        )
    except CahierError as exc:
        fail(exc)
        return
    rec = result.record
    by = rec.recorded_by
    typer.echo(
        f"Revue enregistrée : {result.path} (commit {result.commit[:10]}, auteur "
        f"{rec.reviewer.nom} <{rec.reviewer.email}>"
        + (f", enregistrée par {by.nom} <{by.email}> pour son compte" if by else "")
        + f"), {len(rec.items)} élément(s)."
    )
    if run_id:
        from flows.review import resume_waiting_run

        answer = {
            "decision": rec.decision,
            "comment": rec.comment,
            "nom": rec.reviewer.nom,
            "email": rec.reviewer.email,
        }
        if by is not None:
            answer |= {"saisi_par_nom": by.nom, "saisi_par_email": by.email}
        try:
            resume_waiting_run(run_id, answer)
            typer.echo(f"Run Prefect {run_id} repris.")
        except CahierError as exc:
            typer.echo(f"cahier : {exc.render()}", err=True)
        except Exception as exc:  # server gone between find and resume: record is kept
            typer.echo(f"cahier : reprise du run Prefect {run_id} impossible ({exc}).", err=True)


def _waiting_run(dossier: Path, role: str) -> str | None:
    """Id of the newest Prefect run waiting for this tender and role, when a server is set.

    Quietly None without ``PREFECT_API_URL`` or when the server cannot be reached.
    """
    from tasks.config import load_settings

    if not load_settings().prefect.api_url:
        return None
    try:
        import asyncio

        from flows.review import _tender_id, find_waiting_runs

        runs = asyncio.run(find_waiting_runs(_tender_id(str(dossier)), role))
    except Exception:  # no server reachable: the Git record is enough
        return None
    return str(runs[0].id) if runs else None


_ROLE = typer.Option(
    "--role", help="Rôle : environnement, accessibilite, donnees, juridique, social."
)


_REVIEWER = typer.Option(
    "--reviewer-email",
    help="Référent ; défaut : vous (GIT_COMMITTER_EMAIL ou git config user.email).",
)


_ITEMS = typer.Option("--item", help="Élément(s) revu(s) ; défaut : tous.")


_ON_BEHALF = typer.Option(
    "--pour-le-compte-de",
    help=(
        "Enregistrer la décision d'un autre référent (--reviewer-email) pour son compte : "
        "vous êtes nommé(e) dans l'enregistrement (recorded_by) et comme committer Git."
    ),
)


def _decision_command(decision: str, comment_help: str, doc: str) -> Callable[..., None]:
    """The command that records ``decision`` (``approve``, ``request-changes``): the
    same parameters for both; only the help of ``--comment`` and of the command differ."""

    def command(
        tender: TenderRef,
        role: Annotated[str, _ROLE],
        comment: str = typer.Option("", "--comment", help=comment_help),
        reviewer_email: Annotated[str | None, _REVIEWER] = None,
        item: Annotated[list[str] | None, _ITEMS] = None,
        pour_le_compte_de: Annotated[bool, _ON_BEHALF] = False,
    ) -> None:
        _decide(decision, tender, role, comment, reviewer_email, item, pour_le_compte_de)

    command.__doc__ = doc
    return command


approve_cmd = commands.add("approve")(
    _decision_command(
        "approve",
        "Commentaire.",
        "Approuver les éléments d'un rôle (enregistré dans Git au nom du référent).",
    )
)
request_changes_cmd = commands.add("request-changes")(
    _decision_command(
        "request-changes",
        "Modifications demandées.",
        "Demander des modifications (commentaire obligatoire), enregistré dans Git.",
    )
)
