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
from .model import ROLE_LABELS, ItemStatus, ReviewItem
from .plan import plan_for
from .records import StoredRecord, inspect_records
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
    dossier_path: str | os.PathLike[str], rev: str | None = None, *, clausier_path=None
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

    Raises:
        InputError: unusable dossier or record; shallow clone (« git fetch --unshallow »).
    """
    plan = plan_for(dossier_path, rev=rev, clausier_path=clausier_path)
    records, rejected = inspect_records(dossier_path, rev)
    latest: dict[tuple[str, str], tuple[StoredRecord, str]] = {}
    for stored in records:  # oldest first: later records win
        rec = stored.record
        if rec.tender != plan.tender:
            continue
        for it in rec.items:
            latest[(rec.role, it.id)] = (stored, it.digest)
    rejected_for: dict[tuple[str, str], list[str]] = {}
    for bad in rejected:
        if bad.record is None or bad.record.tender != plan.tender:
            continue
        for it in bad.record.items:
            rejected_for.setdefault((bad.record.role, it.id), []).append(bad.reason)
    cache: dict[str, dict[str, str]] = {}
    plans: dict[str, dict[str, str]] = {}
    declarations: dict[tuple[str, str, str], tuple[bool, Declaration | None]] = {}
    repo = _repo(Path(dossier_path))
    top = repo.top if repo is not None else None
    demo = is_demo_repository(top)

    def declared(stored: StoredRecord) -> tuple[bool, Declaration | None]:
        rec = stored.record
        commit = repo.commit(stored.commit) if stored.commit else None
        base = commit.parents[0] if commit is not None and commit.parents else None
        key = (base or "", rec.role, rec.reviewer.email.lower())
        if key not in declarations:
            if base is None:  # the record came with the repository's first commit
                declarations[key] = (False, None)
            else:
                decl = referent_declaration(dossier_path, rec.role, rec.reviewer.email, base)
                declarations[key] = (decl is not None, decl)
        return declarations[key]

    def changes_of(stored: StoredRecord, item_id: str) -> list[Change]:
        at = stored.commit or stored.record.commit
        since = _previous_approvals(records, stored.record.role, before=stored)
        found = item_changes(
            dossier_path,
            at,
            {item_id},
            since={item_id: since[item_id]} if item_id in since else None,
            clausier_path=clausier_path,
            _plans=plans,
        )
        return found.get(item_id, [])

    out: list[StatusEntry] = []
    for item in plan.items:
        bad = rejected_for.get((item.role, item.id), [])
        found = latest.get((item.role, item.id))
        if found is None:
            out.append(StatusEntry(item=item, status="pending", rejected=bad))
            continue
        stored, digest = found
        rec = stored.record
        same = digest == item.digest
        recorder = rec.recorded_by
        if recorder is None and stored.committer_email and rec.flow_run is None:
            if not _same(stored.committer_email, rec.reviewer):
                recorder = Person.model_construct(
                    nom=stored.committer_name or stored.committer_email,
                    email=stored.committer_email,
                )
        base = {
            "item": item,
            "reviewer": rec.reviewer,
            "time": rec.time,
            "comment": rec.comment or None,
            "record": stored.path,
            "reviewed_commit": rec.commit,
            "recorded_by": recorder if not _same(recorder, rec.reviewer) else None,
            "signer": stored.signer,
            "demonstration": rec.provenance == "demonstration",
            "declarative": list(stored.declarative),
            "rejected": bad,
        }
        if rec.decision == "approve" and same and rec.provenance == "demonstration" and not demo:
            out.append(
                StatusEntry(
                    status="pending",
                    refusal=(
                        f"approbation de {DEMO_LABEL} : elle ne compte que dans le dépôt "
                        "jetable de « cahier demo » qui l'a produite"
                    ),
                    **base,
                )
            )
        elif rec.decision == "approve" and same:
            ok, decl = declared(stored) if repo is not None else (True, None)
            refusal = None
            if not ok:
                refusal = (
                    f"{_who(rec.reviewer)} n'était pas déclaré(e) {ROLE_LABELS[rec.role]} "
                    "au moment de l'enregistrement de la revue"
                )
            elif repo is not None:
                refusal = _four_eyes_refusal(
                    rec.role,
                    rec.reviewer,
                    decl,
                    {item.id: changes_of(stored, item.id)},
                    {item.id: item.id},
                )
            status = "pending" if refusal else "approved"
            out.append(StatusEntry(status=status, declaration=decl, refusal=refusal, **base))
        elif rec.decision == "approve":
            old = _old_texts(dossier_path, rec.commit, clausier_path, cache).get(item.id)
            if old is None:
                diff = f"(texte examiné introuvable : commit {rec.commit[:10]} absent du dépôt)"
            else:
                diff = "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        item.text.splitlines(keepends=True),
                        fromfile=f"{item.id} (revu, commit {rec.commit[:10]})",
                        tofile=f"{item.id} (actuel)",
                    )
                )
            out.append(StatusEntry(status="lapsed", diff=diff, **base))
        elif same:
            out.append(StatusEntry(status="changes-requested", **base))
        else:
            out.append(StatusEntry(status="pending", **base))
    return out


def review_gate(dossier_path: str | os.PathLike[str], rev: str | None = None) -> list[str]:
    """Reasons (French) why the dossier cannot be assembled or archived; empty when open.

    One reason per item that is pending, lapsed or has changes requested. Assembly
    and archive call this and refuse unless run as a draft.
    """
    return [e.message() for e in review_status(dossier_path, rev) if e.status != "approved"]
