"""Review status of each item of the plan (approved, lapsed, pending, changes requested)
and the gate that assembly and archive obey."""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path

from pydantic import Field

from tasks.dossier.model import Person, _Model
from tasks.errors import InputError

from .four_eyes import _four_eyes_refusal, _previous_approvals
from .gitpaths import _repo
from .history import Change, item_changes
from .identity import DEMO_LABEL, _same, _who, is_demo_repository
from .model import ROLE_LABELS, ItemStatus, ReviewItem, ReviewPlan
from .plan import plan_for
from .records import RejectedRecord, StoredRecord, inspect_records
from .referents import Declaration, referent_declaration


class StatusEntry(_Model):
    """The review state of one item, with the decision that gives it."""

    item: ReviewItem
    status: ItemStatus
    reviewer: Person | None = None
    time: dt.datetime | None = None
    comment: str | None = None
    record: str | None = Field(default=None, description="fichier de l'enregistrement")
    reviewed_commit: str | None = None
    diff: str | None = Field(default=None, description="diff unifié du texte depuis la revue")
    recorded_by: Person | None = Field(
        default=None, description="qui a enregistré la décision pour le compte du référent"
    )
    signer: str | None = Field(default=None, description="signataire vérifié du commit")
    declaration: Declaration | None = Field(
        default=None, description="commit qui a déclaré le référent pour ce rôle"
    )
    refusal: str | None = Field(
        default=None, description="pourquoi l'approbation n'est pas retenue (état pending)"
    )
    demonstration: bool = Field(
        default=False, description="décision de « cahier demo » (non probante)"
    )
    declarative: list[str] = Field(
        default_factory=list,
        description="pourquoi l'identité du référent est déclarée et non prouvée",
    )
    rejected: list[str] = Field(
        default_factory=list,
        description="enregistrements couvrant l'élément qui ne comptent pas, et pourquoi",
    )

    def provenance(self) -> str:
        """« démonstration (non probante) ; enregistrée par X pour le compte de Y ; commit
        signé par S ; déclaré(e) … »."""
        parts = [DEMO_LABEL] if self.demonstration else []
        if self.recorded_by is not None and self.reviewer is not None:
            parts.append(
                f"enregistrée par {_who(self.recorded_by)} pour le compte de {_who(self.reviewer)}"
            )
        if self.signer:
            parts.append(f"commit signé par {self.signer}")
        if self.declaration is not None:
            parts.append(self.declaration.label())
        if self.declarative:
            parts.append("identité déclarative : " + " ; ".join(self.declarative))
        return " ; ".join(parts)

    def message(self) -> str:
        """French one-line summary (gate reasons, CLI)."""
        who = f"{self.reviewer.nom} <{self.reviewer.email}>" if self.reviewer else ""
        when = f"{self.time:%d/%m/%Y %H:%M} UTC" if self.time else ""
        label = self.item.label()
        role = ROLE_LABELS[self.item.role]
        extra = self.provenance()
        extra = f" ({extra})" if extra else ""
        forged = "".join(f" [{r}]" for r in self.rejected)
        if self.refusal:
            return (
                f"{label} : approbation de {who} du {when} non retenue — {self.refusal} ; "
                f"en attente de revue du {role}.{forged}"
            )
        if self.status == "approved":
            return f"{label} : approuvé par {who} le {when}{extra}.{forged}"
        if self.status == "lapsed":
            return (
                f"{label} : approbation caduque ({who}, {when}) — le texte a changé depuis la "
                f"revue ; nouvelle revue du {role} nécessaire.{forged}"
            )
        if self.status == "changes-requested":
            return (
                f"{label} : modifications demandées par {who} le {when} : « {self.comment} »."
                f"{forged}"
            )
        return f"{label} : en attente de revue du {role}.{forged}"


def _old_texts(dossier_path, commit: str, clausier_path, cache: dict) -> dict[str, str]:
    if commit not in cache:
        try:
            plan = plan_for(dossier_path, rev=commit, clausier_path=clausier_path)
            cache[commit] = {i.id: i.text for i in plan.items}
        except InputError:
            cache[commit] = {}
    return cache[commit]


def review_status(
    dossier_path: str | os.PathLike[str],
    rev: str | None = None,
    *,
    clausier_path=None,
    plan: ReviewPlan | None = None,
) -> list[StatusEntry]:
    """Each item of the plan with its state: approved, lapsed, pending, changes-requested.

    The plan is computed on the working tree (``rev`` None) or on ``rev``; records are
    the committed ones that count (HEAD, or ``rev``; :func:`inspect_records`: a record
    edited, renamed, merge-introduced or added by someone else does not count and is
    listed in the entries it covers, ``rejected``). For each item the latest record of
    its role that covers it decides: an approval whose digest still matches →
    ``approved``; an approval of another text → ``lapsed`` (with a unified diff between
    the text at the reviewed commit and now); a request for changes on the same text →
    ``changes-requested``; on a text changed since → ``pending``; no record →
    ``pending``.

    An approval with a matching digest is **not retained** (``pending``, with the reason
    in ``refusal``) when, at the parent of the commit that added the record, the reviewer
    was not a declared referent of the role, or had ever been declared by a commit they
    authored or committed themselves (renames and reverts followed); or when the
    reviewer authored or committed *any* commit that changed the item since the previous
    approval of the item (four-eyes rule, docs/reviews.md). Approved entries carry who
    recorded them for the reviewer, the verified signer of the commit, the commit that
    declared the referent and, when the identity is not proven, why (``declarative``).

    ``plan``: the plan of this dossier at ``rev`` (:func:`tasks.review.plan.plan_for`)
    already made by the caller, not made again.

    Raises:
        InputError: unusable dossier or record; shallow clone (« git fetch --unshallow »).
    """
    if plan is None:
        plan = plan_for(dossier_path, rev=rev, clausier_path=clausier_path)
    records, rejected = inspect_records(dossier_path, rev)
    latest = _latest_decisions(records, plan.tender)
    rejected_for = _rejections_by_item(rejected, plan.tender)
    judge = _StatusJudge(dossier_path, clausier_path, records)
    out: list[StatusEntry] = []
    for item in plan.items:
        bad = rejected_for.get((item.role, item.id), [])
        found = latest.get((item.role, item.id))
        if found is None:
            out.append(StatusEntry(item=item, status="pending", rejected=bad))
            continue
        stored, digest = found
        out.append(judge.entry(item, stored, digest, bad))
    return out


def _latest_decisions(
    records: list[StoredRecord], tender: str
) -> dict[tuple[str, str], tuple[StoredRecord, str]]:
    """(role, item id) → the latest counted record of ``tender`` covering the item, with
    the digest it recorded (``records`` oldest first: later records win)."""
    latest: dict[tuple[str, str], tuple[StoredRecord, str]] = {}
    for stored in records:  # oldest first: later records win
        rec = stored.record
        if rec.tender != tender:
            continue
        for it in rec.items:
            latest[(rec.role, it.id)] = (stored, it.digest)
    return latest


def _rejections_by_item(
    rejected: list[RejectedRecord], tender: str
) -> dict[tuple[str, str], list[str]]:
    """(role, item id) → why the records of ``tender`` covering the item do not count."""
    rejected_for: dict[tuple[str, str], list[str]] = {}
    for bad in rejected:
        if bad.record is None or bad.record.tender != tender:
            continue
        for it in bad.record.items:
            rejected_for.setdefault((bad.record.role, it.id), []).append(bad.reason)
    return rejected_for


def _recorder(stored: StoredRecord) -> Person | None:
    """Who recorded the decision for the reviewer: ``recorded_by``, else the Git committer
    when it is someone else (not for a Prefect form answer); None for the reviewer."""
    rec = stored.record
    recorder = rec.recorded_by
    if recorder is None and stored.committer_email and rec.flow_run is None:
        if not _same(stored.committer_email, rec.reviewer):
            recorder = Person.model_construct(
                nom=stored.committer_name or stored.committer_email,
                email=stored.committer_email,
            )
    return recorder if not _same(recorder, rec.reviewer) else None


def _entry_fields(item: ReviewItem, stored: StoredRecord, bad: list[str]) -> dict:
    """The fields of a :class:`StatusEntry` that the deciding record gives, whatever the state."""
    rec = stored.record
    return {
        "item": item,
        "reviewer": rec.reviewer,
        "time": rec.time,
        "comment": rec.comment or None,
        "record": stored.path,
        "reviewed_commit": rec.commit,
        "recorded_by": _recorder(stored),
        "signer": stored.signer,
        "demonstration": rec.provenance == "demonstration",
        "declarative": list(stored.declarative),
        "rejected": bad,
    }


class _StatusJudge:
    """The state of an item given the latest record covering it, with the caches shared by
    the items of one :func:`review_status` call (plans and texts per commit, declarations)."""

    def __init__(self, dossier_path, clausier_path, records: list[StoredRecord]) -> None:
        self.dossier_path = dossier_path
        self.clausier_path = clausier_path
        self.records = records
        self.texts: dict[str, dict[str, str]] = {}
        self.plans: dict[str, dict[str, str]] = {}
        self.declarations: dict[tuple[str, str, str], tuple[bool, Declaration | None]] = {}
        self.repo = _repo(Path(dossier_path))
        self.demo = is_demo_repository(self.repo.top if self.repo is not None else None)

    def entry(
        self, item: ReviewItem, stored: StoredRecord, digest: str, bad: list[str]
    ) -> StatusEntry:
        """approved / lapsed / changes-requested / pending, per the module's rules."""
        rec = stored.record
        same = digest == item.digest
        base = _entry_fields(item, stored, bad)
        if (
            rec.decision == "approve"
            and same
            and rec.provenance == "demonstration"
            and not self.demo
        ):
            return StatusEntry(
                status="pending",
                refusal=(
                    f"approbation de {DEMO_LABEL} : elle ne compte que dans le dépôt "
                    "jetable de « cahier demo » qui l'a produite"
                ),
                **base,
            )
        if rec.decision == "approve" and same:
            return self._approval(item, stored, base)
        if rec.decision == "approve":
            return StatusEntry(status="lapsed", diff=self._diff(item, rec.commit), **base)
        if same:
            return StatusEntry(status="changes-requested", **base)
        return StatusEntry(status="pending", **base)

    def _approval(self, item: ReviewItem, stored: StoredRecord, base: dict) -> StatusEntry:
        """An approval of the current text: retained unless the reviewer was not declared
        then, or the four-eyes rule refuses it (``pending`` with the reason)."""
        rec = stored.record
        ok, decl = self._declared(stored) if self.repo is not None else (True, None)
        refusal = None
        if not ok:
            refusal = (
                f"{_who(rec.reviewer)} n'était pas déclaré(e) {ROLE_LABELS[rec.role]} "
                "au moment de l'enregistrement de la revue"
            )
        elif self.repo is not None:
            refusal = _four_eyes_refusal(
                rec.role,
                rec.reviewer,
                decl,
                {item.id: self._changes(stored, item.id)},
                {item.id: item.id},
            )
        status = "pending" if refusal else "approved"
        return StatusEntry(status=status, declaration=decl, refusal=refusal, **base)

    def _diff(self, item: ReviewItem, commit: str) -> str:
        """Unified diff of the item's text from the reviewed ``commit`` to now."""
        old = _old_texts(self.dossier_path, commit, self.clausier_path, self.texts).get(item.id)
        if old is None:
            return f"(texte examiné introuvable : commit {commit[:10]} absent du dépôt)"
        return "".join(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                item.text.splitlines(keepends=True),
                fromfile=f"{item.id} (revu, commit {commit[:10]})",
                tofile=f"{item.id} (actuel)",
            )
        )

    def _declared(self, stored: StoredRecord) -> tuple[bool, Declaration | None]:
        """Whether the reviewer was a declared referent of the role at the parent of the
        commit that added the record, and that declaration."""
        rec = stored.record
        commit = self.repo.commit(stored.commit) if stored.commit else None
        base = commit.parents[0] if commit is not None and commit.parents else None
        key = (base or "", rec.role, rec.reviewer.email.lower())
        if key not in self.declarations:
            if base is None:  # the record came with the repository's first commit
                self.declarations[key] = (False, None)
            else:
                decl = referent_declaration(self.dossier_path, rec.role, rec.reviewer.email, base)
                self.declarations[key] = (decl is not None, decl)
        return self.declarations[key]

    def _changes(self, stored: StoredRecord, item_id: str) -> list[Change]:
        """Every commit that changed the item since the approval preceding ``stored``."""
        at = stored.commit or stored.record.commit
        since = _previous_approvals(self.records, stored.record.role, before=stored)
        found = item_changes(
            self.dossier_path,
            at,
            {item_id},
            since={item_id: since[item_id]} if item_id in since else None,
            clausier_path=self.clausier_path,
            _plans=self.plans,
        )
        return found.get(item_id, [])


def review_gate(
    dossier_path: str | os.PathLike[str],
    rev: str | None = None,
    *,
    plan: ReviewPlan | None = None,
) -> list[str]:
    """Reasons (French) why the dossier cannot be assembled or archived; empty when open.

    One reason per item that is pending, lapsed or has changes requested. Assembly
    and archive call this and refuse unless run as a draft. ``plan``: the caller's plan
    of this dossier at ``rev`` with the shipped clausier (:func:`review_status`).
    """
    entries = review_status(dossier_path, rev, plan=plan)
    return [e.message() for e in entries if e.status != "approved"]
