"""Referent reviews: what to review, who may approve, records in Git, validity and gate.

The review **plan** lists, from a :class:`~tasks.model.CheckReport`, the items a referent
must look at, each for one role (``Clause.review_role``):

* ``clause-modifiee`` — a library clause whose text was edited (fenced div);
* ``clause-redigee-main`` — a hand-written equivalent recognised by evidence patterns;
* ``derogation`` — a clause waived in tender.yaml with a reason; a waived clause that is
  mandatory and applicable goes to the ``juridique`` referent (it is a legal
  obligation), any other waiver to the clause's own referent;
* ``clause-sensible`` — every occurrence of a clause that is reviewed even when unchanged:
  the web accessibility clause (ACC-RGAA-01, loi n° 2005-102 art. 47), the hosting
  clause (HOST-ENV-01) and every clause of category ``data`` (RGPD art. 28,
  sovereignty, reversibility, open licences) — clauses whose ``review_always`` is true in
  the clausier.

Each item has a stable id (``ENV-COND-01@pieces/ccap.md``, ``#2`` for a second
occurrence in the same file) and a **digest**: SHA-256 of the normalised text
(:func:`tasks.normalize.normalize_text`) of exactly that item and its section — all the
lines of the section that contains the item (heading included, sub-sections excluded);
for a ``clause()`` call, the section plus the rendered clause; for a waiver, the
waiver entry (clause id and reason). Line numbers are not hashed: an edit elsewhere in
the dossier never changes a digest; an edit of the item's section always does.

A **review record** (``tenders/<id>/reviews/<timestamp>-<role>.yaml``) holds role,
reviewer, decision, comment, UTC time, the digests of the items reviewed, the clausier
version and the commit reviewed. It is committed with the reviewer as Git author,
through a temporary index: the user's staged and unstaged work is never touched (only
the record's own entry is added to the user's index, so that the next commit does not
delete it), and concurrent reviews are serialised by a compare-and-swap of the branch
(``git update-ref <ref> <new> <old>``), retried on a race.

Only **committed** records count (read from HEAD or the revision asked), and only when
the commit that added the file has the reviewer as author.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import Field, field_validator, model_validator

from .errors import InputError
from .model import CheckReport, FamilyStatus, Location, Person, Role, _Model
from .normalize import normalize_text
from .reader import Dossier
from .yamlio import validate_yaml

__all__ = [
    "ROLES",
    "Decision",
    "ItemStatus",
    "RecordResult",
    "ReferentsFile",
    "ReviewItem",
    "ReviewItemDigest",
    "ReviewPlan",
    "ReviewRecord",
    "Role",
    "StatusEntry",
    "StoredRecord",
    "build_plan",
    "check_role",
    "load_referents",
    "plan_for",
    "read_records",
    "record_review",
    "review_gate",
    "review_status",
]

ROLES: tuple[str, ...] = get_args(Role)
Decision = Literal["approve", "request-changes"]
ItemStatus = Literal["approved", "lapsed", "pending", "changes-requested"]


ROLE_LABELS = {
    "environnement": "référent environnement",
    "accessibilite": "référent accessibilité",
    "donnees": "référent données (DPO)",
    "juridique": "référent juridique",
    "social": "référent social",
}
DECISION_LABELS = {"approve": "approbation", "request-changes": "demande de modifications"}
REVIEWS_DIR = "reviews"
REFERENTS_FILE = "referents.yaml"
_DIGEST_RE = r"^[0-9a-f]{64}$"


# --------------------------------------------------------------------------- models


class ReviewItem(_Model):
    """One item to review: a flagged clause occurrence or a waiver, for one role."""

    id: str = Field(description="identifiant stable : CLAUSE@fichier[#n]")
    role: Role
    kind: Literal["clause-modifiee", "clause-redigee-main", "derogation", "clause-sensible"]
    clause: str
    title: str
    clause_version: int | None = None
    clausier_version: str
    location: Location
    digest: str = Field(pattern=_DIGEST_RE)
    text: str = Field(description="texte normalisé examiné (ce que couvre l'empreinte)")

    def label(self) -> str:
        """« ENV-COND-01 (clause modifiée) — pieces/ccap.md:12 — Article 9.1… »."""
        kinds = {
            "clause-modifiee": "clause modifiée",
            "clause-redigee-main": "clause rédigée à la main",
            "derogation": "dérogation",
            "clause-sensible": "clause à valider",
        }
        return f"{self.clause} ({kinds[self.kind]}) — {self.location.label()}"


class ReviewPlan(_Model):
    """Items to review for one dossier at one revision, and who may review them."""

    tender: str
    dossier: str
    commit: str | None = None
    clausier_version: str
    items: list[ReviewItem]
    referents: dict[Role, list[Person]] = Field(default_factory=dict)

    def roles(self) -> list[str]:
        """Roles having at least one item, in :data:`ROLES` order."""
        present = {i.role for i in self.items}
        return [r for r in ROLES if r in present]

    def for_role(self, role: str) -> list[ReviewItem]:
        return [i for i in self.items if i.role == role]


class ReferentsFile(_Model):
    """``referents.yaml`` at the root of the repository: role → people allowed to approve.

    Example::

        referents:
          accessibilite:
            - {nom: Amélie Rousseau, email: amelie.rousseau@example.fr}
    """

    referents: dict[Role, list[Person]]


class ReviewItemDigest(_Model):
    """An item as recorded in a review: id, clause and digest of its text."""

    id: str
    clause: str
    digest: str = Field(pattern=_DIGEST_RE)


class ReviewRecord(_Model):
    """``reviews/<timestamp>-<role>.yaml``: one referent's decision on the items of a role."""

    tender: str
    role: Role
    reviewer: Person
    decision: Decision
    comment: str = ""
    time: dt.datetime = Field(description="horodatage UTC (ISO 8601)")
    items: list[ReviewItemDigest] = Field(min_length=1)
    clausier_version: str
    commit: str = Field(pattern=r"^[0-9a-f]{40}$", description="commit examiné")
    flow_run: str | None = Field(default=None, description="run Prefect qui attendait la revue")

    @field_validator("time")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            return v.replace(tzinfo=dt.UTC)
        return v.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _comment_for_changes(self) -> ReviewRecord:
        if self.decision == "request-changes" and not self.comment.strip():
            raise ValueError("une demande de modifications doit être motivée (commentaire)")
        return self


# --------------------------------------------------------------------------- git


class _GitError(Exception):
    def __init__(self, args: list[str], proc: subprocess.CompletedProcess[bytes]):
        self.proc = proc
        super().__init__(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")


def _git(
    args: list[str],
    cwd: str | Path,
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> str:
    full_env = {**os.environ, "LC_ALL": "C", **(env or {})}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, env=full_env, check=False
    )
    if check and proc.returncode != 0:
        raise _GitError(args, proc)
    return proc.stdout.decode("utf-8", errors="replace")


def _toplevel(path: Path) -> Path | None:
    probe = path if path.is_dir() else path.parent
    try:
        out = _git(["rev-parse", "--show-toplevel"], probe).strip()
    except (_GitError, OSError):
        return None
    return Path(out).resolve() if out else None


def _rel(dossier: Path, top: Path) -> str:
    rel = dossier.resolve().relative_to(top).as_posix()
    return "" if rel == "." else rel


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


# --------------------------------------------------------------------------- referents


def load_referents(
    dossier: Dossier, dossier_path: str | os.PathLike[str], rev: str | None = None
) -> dict[str, list[Person]]:
    """Role → people allowed to approve: tender.yaml ``referents`` over ``referents.yaml``.

    ``referents.yaml`` is read at the root of the Git repository (outside Git: in the
    dossier's parent folder), at revision ``rev`` when given. For a role declared in
    tender.yaml, that list replaces the repository-wide one.

    Raises:
        InputError: an unknown role name in tender.yaml or referents.yaml, an invalid
            referents.yaml (French message with file and line).
    """
    path = Path(dossier_path)
    top = _toplevel(path)
    raw: bytes | None = None
    shown = REFERENTS_FILE
    if rev is not None and top is not None:
        proc = subprocess.run(
            ["git", "cat-file", "blob", f"{rev}:{REFERENTS_FILE}"],
            cwd=top,
            capture_output=True,
            check=False,
        )
        raw = proc.stdout if proc.returncode == 0 else None
    else:
        base = top if top is not None else path.resolve().parent
        candidate = base / REFERENTS_FILE
        shown = str(candidate)
        if candidate.is_file():
            raw = candidate.read_bytes()
    merged: dict[str, list[Person]] = {}
    if raw is not None:
        merged.update(validate_yaml(ReferentsFile, raw, shown).referents)
    for role, people in dossier.tender.referents.items():  # roles validated by Tender
        merged[role] = list(people)
    return merged


# --------------------------------------------------------------------------- plan


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _line_index(piece, loc: Location) -> int | None:
    best = None
    for i, line in enumerate(piece.lines):
        if loc.page is not None and line.page is not None and line.page != loc.page:
            if line.page > loc.page:
                break
            continue
        if line.src_line is None or loc.line is None:
            continue
        if line.src_line == loc.line:
            return i
        if line.src_line < loc.line:
            best = i
        elif best is not None:
            break
    return best


def _section_text(piece, index: int | None) -> str:
    if index is None:
        return ""
    sec = piece.lines[index].section
    return "\n".join(normalize_text(ln.text) for ln in piece.lines if ln.section == sec)


def _call_rendering(piece, clausier, cid: str, line: int | None) -> str:
    """Rendered text of the ``clause("cid", …)`` call at ``line`` of the piece source."""
    from .render import CLAUSE_CALL_RE, parse_call_args, render_clause

    src = piece.raw_source or ""
    clause = clausier.get(cid)
    if clause is None or line is None:
        return ""
    for m in CLAUSE_CALL_RE.finditer(src):
        at = src.count("\n", 0, m.start()) + 1
        if at != line:
            continue
        call_id, params = parse_call_args(m["args"], piece.path, at)
        if call_id == cid:
            return normalize_text(render_clause(clause, params, f"{piece.path}:{at}"))
    return ""


def build_plan(
    report: CheckReport,
    dossier: Dossier,
    clausier,
    referents: dict[str, list[Person]] | None = None,
) -> ReviewPlan:
    """The review plan of a checked dossier (selection documented in the module docstring).

    Args:
        report: the check of ``dossier`` (:func:`tasks.checker.check_dossier`).
        dossier: the dossier as read (working tree or revision).
        clausier: the clause library used for the check.
        referents: role → people (:func:`load_referents`), shown in the plan.

    Returns:
        A :class:`ReviewPlan` whose items are sorted by role then id.
    """
    pieces = {p.path: p for p in dossier.pieces}
    waivers = {w.clause: w for w in dossier.tender.waivers}
    families = {f.clause: f for f in report.families}
    items: dict[str, ReviewItem] = {}
    seen_per_file: dict[tuple[str, str], int] = {}

    def item_id(cid: str, file: str) -> str:
        n = seen_per_file.get((cid, file), 0) + 1
        seen_per_file[(cid, file)] = n
        return f"{cid}@{file}" + (f"#{n}" if n > 1 else "")

    def add(kind: str, cid: str, loc: Location, role: str | None = None) -> None:
        clause = clausier.get(cid)
        if clause is None:
            return
        fam = families.get(cid)
        if kind == "derogation":
            w = waivers[cid]
            text = f"Dérogation : {cid}\nMotif : {normalize_text(' '.join(w.reason.split()))}"
        else:
            piece = pieces.get(loc.file)
            if piece is None:
                return
            text = _section_text(piece, _line_index(piece, loc))
            if kind != "clause-redigee-main" and piece.raw_source:
                rendered = _call_rendering(piece, clausier, cid, loc.line)
                if rendered:
                    text += "\n\n" + rendered
        iid = item_id(cid, loc.file)
        items[iid] = ReviewItem(
            id=iid,
            role=role or clause.review_role,
            kind=kind,
            clause=cid,
            title=clause.title,
            clause_version=(fam.version if fam else None) or clause.version,
            clausier_version=report.clausier_version,
            location=loc,
            digest=_digest(text),
            text=text,
        )

    edited_at = {
        (f.clause, f.location.file, f.location.line)
        for f in report.findings
        if f.rule == "clause-modifiee" and f.clause and f.location
    }
    for fam in report.families:
        clause = clausier.get(fam.clause)
        if clause is None:
            continue
        sensitive = clause.review_always
        if fam.status in (FamilyStatus.present, FamilyStatus.edited):
            for loc in fam.evidence:
                if (fam.clause, loc.file, loc.line) in edited_at:
                    add("clause-modifiee", fam.clause, loc)
                elif sensitive:
                    add("clause-sensible", fam.clause, loc)
        elif fam.status == FamilyStatus.hand_written and fam.evidence:
            add("clause-redigee-main", fam.clause, fam.evidence[0])
        elif fam.status == FamilyStatus.waived and fam.clause in waivers:
            mandatory = fam.applicable and clause.level == "mandatory"
            loc = fam.evidence[0] if fam.evidence else Location(file=dossier.tender_file)
            add("derogation", fam.clause, loc, "juridique" if mandatory else None)
    ordered = sorted(items.values(), key=lambda i: (ROLES.index(i.role), i.id))
    return ReviewPlan(
        tender=report.tender,
        dossier=report.dossier,
        commit=report.commit,
        clausier_version=report.clausier_version,
        items=ordered,
        referents={r: p for r, p in (referents or {}).items() if r in ROLES},
    )


def plan_for(
    dossier_path: str | os.PathLike[str], rev: str | None = None, clausier_path=None
) -> ReviewPlan:
    """Read, check and plan the dossier at ``dossier_path`` (working tree or ``rev``).

    Raises:
        InputError: unusable dossier (see :func:`tasks.reader.read_dossier`).
    """
    from .checker import check_dossier
    from .clausier import load_clausier
    from .reader import read_dossier

    _require_dossier(dossier_path)
    dossier = read_dossier(dossier_path, rev=rev)
    lib = load_clausier(clausier_path)
    report = check_dossier(dossier, lib)
    return build_plan(report, dossier, lib, load_referents(dossier, dossier_path, rev))


def _require_dossier(dossier_path: str | os.PathLike[str]) -> None:
    p = Path(dossier_path)
    if not (p / "tender.yaml").is_file():
        raise InputError(
            "consultation introuvable : ce dossier n'existe pas ou ne contient pas de "
            "tender.yaml ; indiquez le dossier de la consultation (ex. tenders/2026-DSI-014).",
            os.fspath(dossier_path),
        )


# --------------------------------------------------------------------------- records


@dataclass
class StoredRecord:
    """A committed review record: its path, content and the commit that added it."""

    path: str  # path in the repository
    record: ReviewRecord
    commit: str | None = None
    author_email: str | None = None
    author_name: str | None = None


def read_records(
    dossier_path: str | os.PathLike[str], rev: str | None = None
) -> list[StoredRecord]:
    """Committed review records of the dossier, oldest first (by recorded time).

    Records are read from ``rev`` (default HEAD) — a file not yet committed does not
    count. A record whose adding commit was not authored by its reviewer is dropped (it
    was not recorded by cahier under the referent's identity).

    Raises:
        InputError: a record file that is not valid YAML or not a review record.
    """
    path = Path(dossier_path)
    top = _toplevel(path)
    if top is None:
        return []
    target = rev or "HEAD"
    try:
        _git(["rev-parse", "--verify", "-q", f"{target}^{{commit}}"], top)
    except _GitError:
        if rev is None:
            return []  # unborn branch: nothing committed yet
        raise InputError(f"révision « {rev} » introuvable.", os.fspath(dossier_path)) from None
    reviews = _join(_rel(path, top), REVIEWS_DIR)
    names = [
        n
        for n in _git(["ls-tree", "-z", "--name-only", target, "--", reviews + "/"], top).split(
            "\0"
        )
        if n.endswith(".yaml")
    ]
    if not names:
        return []
    batch = "".join(f"{target}:{n}\n" for n in names).encode()
    out = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=top, input=batch, capture_output=True, check=True
    ).stdout
    blobs: list[bytes] = []
    pos = 0
    for _ in names:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        blobs.append(out[header_end + 1 : header_end + 1 + size])
        pos = header_end + 1 + size + 1
    adders: dict[str, tuple[str, str, str]] = {}
    log = _git(
        [
            "log",
            "--diff-filter=A",
            "--format=%x1e%H%x1f%an%x1f%ae",
            "--name-only",
            target,
            "--",
            reviews,
        ],
        top,
    )
    for chunk in log.split("\x1e"):
        if not chunk.strip():
            continue
        head, _, files = chunk.partition("\n")
        sha, name, email = head.split("\x1f")
        for f in files.split("\n"):
            if f.strip():
                adders.setdefault(f.strip(), (sha, name, email))
    records: list[StoredRecord] = []
    for name, blob in zip(names, blobs, strict=True):
        rec = validate_yaml(ReviewRecord, blob, name)
        sha, an, ae = adders.get(name, (None, None, None))
        if ae is not None and ae.lower() != rec.reviewer.email.lower():
            continue
        records.append(StoredRecord(name, rec, sha, ae, an))
    records.sort(key=lambda r: (r.record.time, r.path))
    return records


@dataclass
class RecordResult:
    """A recorded review: path in the repository, the new commit, the record."""

    path: str
    commit: str
    record: ReviewRecord
    file: Path
    plan_items: list[ReviewItem] = field(default_factory=list)


def _branch(top: Path) -> tuple[str, str]:
    try:
        ref = _git(["symbolic-ref", "-q", "HEAD"], top).strip()
    except _GitError:
        raise InputError(
            "HEAD détachée : la revue doit être enregistrée sur une branche ; placez-vous sur "
            "la branche du dossier (git switch main) puis recommencez.",
            str(top),
        ) from None
    try:
        head = _git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], top).strip()
    except _GitError:
        raise InputError(
            "dépôt sans commit : enregistrez d'abord le dossier (git commit) avant de le "
            "soumettre aux référents.",
            str(top),
        ) from None
    return ref, head


def _check_referent(
    role: str, email: str, referents: dict[str, list[Person]], tender: str
) -> Person:
    people = referents.get(role, [])
    for p in people:
        if p.email.lower() == email.strip().lower():
            return p
    allowed = ", ".join(f"{p.nom} <{p.email}>" for p in people) or "aucune personne déclarée"
    raise InputError(
        f"revue refusée : {email} n'est pas déclaré(e) {ROLE_LABELS[role]} pour la "
        f"consultation {tender}. Personnes autorisées : {allowed}. Ajoutez le référent dans "
        f"tender.yaml (referents: {role}) ou dans {REFERENTS_FILE}, par un commit.",
        "tender.yaml",
    )


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else a French :class:`InputError`."""
    if role not in ROLES:
        raise InputError(f"rôle « {role} » inconnu ; rôles possibles : {', '.join(ROLES)}.")
    return role


def _record_yaml(rec: ReviewRecord) -> str:
    data = rec.model_dump(mode="json", exclude_none=True)
    head = (
        f"# Revue {ROLE_LABELS[rec.role]} — {DECISION_LABELS[rec.decision]} — consultation "
        f"{rec.tender}\n# Enregistrée par cahier ; ne pas modifier (l'historique Git fait foi).\n"
    )
    return head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _choose_name(top: Path, tree_commit: str, reviews: str, stamp: str, role: str) -> str:
    existing = set(
        _git(["ls-tree", "-z", "--name-only", tree_commit, "--", reviews + "/"], top).split("\0")
    )
    n = 1
    while True:
        name = f"{stamp}-{role}" + (f"-{n}" if n > 1 else "") + ".yaml"
        path = _join(reviews, name)
        if path not in existing and not (top / path).exists():
            return path
        n += 1


def record_review(
    dossier_path: str | os.PathLike[str],
    role: str,
    decision: str,
    reviewer_email: str,
    comment: str = "",
    *,
    reviewer_name: str | None = None,
    items: list[str] | None = None,
    flow_run: str | None = None,
    clausier_path=None,
    now: dt.datetime | None = None,
    max_attempts: int = 50,
) -> RecordResult:
    """Record a referent's decision on the items of ``role``, committed as the reviewer.

    The plan is computed on the branch's HEAD commit (what is committed is what is
    reviewed). The record is committed through a temporary index (``GIT_INDEX_FILE``):
    ``read-tree HEAD``, ``update-index --add --cacheinfo``, ``write-tree``,
    ``commit-tree -p HEAD``, then ``update-ref refs/heads/<branch> <new> <old>`` (retried
    when another review landed meanwhile). Only then is the file written into the
    working tree (never over an existing file) and its entry added to the user's index
    (which otherwise would stage its deletion); nothing else of the user's work is read
    or written.

    Args:
        role: one of :data:`ROLES`.
        decision: ``approve`` or ``request-changes`` (the latter needs a comment).
        reviewer_email: must be a declared referent for ``role``.
        items: ids of the items reviewed (default: every item of the role).
        flow_run: id of the Prefect run that waited for this review (recorded; a run
            finding its own id in a record does not record twice).

    Raises:
        InputError: unknown role, reviewer not declared for the role, no item to
            review, unknown item, nonexistent dossier, not a Git repository, detached
            HEAD, repository without commit, failure of Git.
    """
    check_role(role)
    if decision not in get_args(Decision):
        raise InputError(f"décision « {decision} » inconnue : « approve » ou « request-changes ».")
    if decision == "request-changes" and not comment.strip():
        raise InputError(
            "une demande de modifications doit être motivée : indiquez --comment « … »."
        )
    _require_dossier(dossier_path)
    path = Path(dossier_path)
    top = _toplevel(path)
    if top is None:
        raise InputError(
            "ce dossier n'est pas dans un dépôt Git : les revues sont enregistrées dans "
            "l'historique Git du dossier (git init, git add, git commit).",
            os.fspath(dossier_path),
        )
    ref, head = _branch(top)
    plan = plan_for(dossier_path, rev=head, clausier_path=clausier_path)
    reviewer = _check_referent(role, reviewer_email, plan.referents, plan.tender)
    if reviewer_name:
        reviewer = Person(nom=reviewer_name, email=reviewer.email)
    role_items = plan.for_role(role)
    if not role_items:
        raise InputError(
            f"aucun élément à revoir pour le rôle « {role} » dans la consultation "
            f"{plan.tender} (commit {head[:10]}) ; rôles concernés : "
            f"{', '.join(plan.roles()) or 'aucun'}.",
            os.fspath(dossier_path),
        )
    if items:
        known = {i.id: i for i in role_items}
        unknown = [i for i in items if i not in known]
        if unknown:
            raise InputError(
                f"élément(s) inconnu(s) pour le rôle « {role} » : {', '.join(unknown)} ; "
                f"éléments : {', '.join(known)}."
            )
        role_items = [known[i] for i in items]
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    record = ReviewRecord(
        tender=plan.tender,
        role=role,
        reviewer=reviewer,
        decision=decision,
        comment=comment.strip(),
        time=when,
        items=[ReviewItemDigest(id=i.id, clause=i.clause, digest=i.digest) for i in role_items],
        clausier_version=plan.clausier_version,
        commit=head,
        flow_run=flow_run,
    )
    content = _record_yaml(record).encode("utf-8")
    reviews = _join(_rel(path, top), REVIEWS_DIR)
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    blob = _git(["hash-object", "-w", "--stdin"], top, input=content).strip()
    message = (
        f"Revue {ROLE_LABELS[role]} : {DECISION_LABELS[decision]} — {plan.tender}\n\n"
        + (f"{record.comment}\n\n" if record.comment else "")
        + "".join(f"- {i.label()}\n" for i in role_items)
        + f"\nCommit examiné : {head}\nClausier : {plan.clausier_version}\n"
        + (f"Run Prefect : {flow_run}\n" if flow_run else "")
    )
    env = {
        "GIT_AUTHOR_NAME": reviewer.nom,
        "GIT_AUTHOR_EMAIL": reviewer.email,
        "GIT_AUTHOR_DATE": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }
    if not _git(["config", "user.email"], top, check=False).strip():
        env |= {"GIT_COMMITTER_NAME": reviewer.nom, "GIT_COMMITTER_EMAIL": reviewer.email}
    git_dir = Path(_git(["rev-parse", "--absolute-git-dir"], top).strip())
    new = rel_path = None
    for attempt in range(max_attempts):
        old = _git(["rev-parse", "--verify", "-q", ref], top).strip()
        rel_path = _choose_name(top, old, reviews, stamp, role)
        fd, index_file = tempfile.mkstemp(prefix="cahier-review-index-", dir=git_dir)
        os.close(fd)
        os.unlink(index_file)  # git wants to create it itself
        try:
            ienv = {**env, "GIT_INDEX_FILE": index_file}
            _git(["read-tree", old], top, env=ienv)
            _git(
                ["update-index", "--add", "--cacheinfo", f"100644,{blob},{rel_path}"], top, env=ienv
            )
            tree = _git(["write-tree"], top, env=ienv).strip()
            new = _git(
                ["commit-tree", tree, "-p", old, "-F", "-"], top, env=ienv, input=message.encode()
            ).strip()
        finally:
            Path(index_file).unlink(missing_ok=True)
        try:
            _git(["update-ref", "-m", f"cahier review: {role}", ref, new, old], top)
            break
        except _GitError:
            time.sleep(0.01 * (attempt + 1))  # another review landed: rebase on it
    else:
        raise InputError(
            "revue non enregistrée : la branche a changé trop souvent pendant "
            "l'enregistrement (revues simultanées) ; recommencez.",
            os.fspath(dossier_path),
        )
    assert new is not None and rel_path is not None
    target = top / rel_path
    _write_new_file(target, content)
    _add_to_user_index(top, blob, rel_path)
    return RecordResult(rel_path, new, record, target, role_items)


def _write_new_file(target: Path, content: bytes) -> None:
    """Create ``target`` atomically; leave an existing file alone (never overwrite)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        try:
            os.link(tmp, target)
        except FileExistsError:
            pass
    finally:
        Path(tmp).unlink(missing_ok=True)


def _add_to_user_index(top: Path, blob: str, rel_path: str) -> None:
    """Add the record's entry to the user's index (retried while index.lock is held)."""
    for attempt in range(200):
        try:
            _git(["update-index", "--add", "--cacheinfo", f"100644,{blob},{rel_path}"], top)
            return
        except _GitError as exc:
            if "index.lock" not in str(exc):
                raise InputError(
                    f"revue enregistrée dans Git, mais l'index n'a pu être mis à jour ({exc}) ; "
                    f"exécutez « git reset -q -- {rel_path} ».",
                    rel_path,
                ) from None
            time.sleep(0.005 * min(attempt + 1, 20))
    raise InputError(
        "revue enregistrée dans Git, mais l'index est verrouillé (index.lock) ; exécutez "
        f"« git reset -q -- {rel_path} » une fois l'autre opération Git terminée.",
        rel_path,
    )


# --------------------------------------------------------------------------- status


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

    def message(self) -> str:
        """French one-line summary (gate reasons, CLI)."""
        who = f"{self.reviewer.nom} <{self.reviewer.email}>" if self.reviewer else ""
        when = f"{self.time:%d/%m/%Y %H:%M} UTC" if self.time else ""
        label = self.item.label()
        role = ROLE_LABELS[self.item.role]
        if self.status == "approved":
            return f"{label} : approuvé par {who} le {when}."
        if self.status == "lapsed":
            return (
                f"{label} : approbation caduque ({who}, {when}) — le texte a changé depuis la "
                f"revue ; nouvelle revue du {role} nécessaire."
            )
        if self.status == "changes-requested":
            return f"{label} : modifications demandées par {who} le {when} : « {self.comment} »."
        return f"{label} : en attente de revue du {role}."


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
    the committed ones (HEAD, or ``rev``). For each item the latest record of its role
    that covers it decides: an approval whose digest still matches → ``approved``; an
    approval of another text → ``lapsed`` (with a unified diff between the text at the
    reviewed commit and now); a request for changes on the same text →
    ``changes-requested``; on a text changed since → ``pending``; no record → ``pending``.

    Raises:
        InputError: unusable dossier or record.
    """
    plan = plan_for(dossier_path, rev=rev, clausier_path=clausier_path)
    records = read_records(dossier_path, rev)
    latest: dict[tuple[str, str], tuple[StoredRecord, str]] = {}
    for stored in records:  # oldest first: later records win
        rec = stored.record
        if rec.tender != plan.tender:
            continue
        for it in rec.items:
            latest[(rec.role, it.id)] = (stored, it.digest)
    cache: dict[str, dict[str, str]] = {}
    out: list[StatusEntry] = []
    for item in plan.items:
        found = latest.get((item.role, item.id))
        if found is None:
            out.append(StatusEntry(item=item, status="pending"))
            continue
        stored, digest = found
        rec = stored.record
        same = digest == item.digest
        base = {
            "item": item,
            "reviewer": rec.reviewer,
            "time": rec.time,
            "comment": rec.comment or None,
            "record": stored.path,
            "reviewed_commit": rec.commit,
        }
        if rec.decision == "approve" and same:
            out.append(StatusEntry(status="approved", **base))
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
