"""Referent reviews: what to review, who may approve, records in Git, validity and gate.

The review **plan** lists, from a :class:`~tasks.dossier.model.CheckReport`, the items a referent
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
(:func:`tasks.dossier.normalize.normalize_text`) of the whole article that holds the item — its
heading, its text and its sub-sections, down to the next heading of the same or a higher
level (:func:`_span`; in Markdown only « # » headings bound it) — so that a
sub-section contradicting the clause lapses its approval; for a ``clause()`` call, the
article plus the rendered clause; for a waiver, the waiver entry (clause id and reason).
Line numbers are not hashed: an edit in another article or piece never changes a
digest; an edit of the item's article always does.

A **review record** (``tenders/<id>/reviews/<timestamp>-<role>.yaml``) holds role,
reviewer, decision, comment, UTC time, the digests of the items reviewed, the clausier
version and the commit reviewed. It is committed with the reviewer as Git author,
through a temporary index: the user's staged and unstaged work is never touched (only
the record's own entry is added to the user's index, so that the next commit does not
delete it), and concurrent reviews are serialised by a compare-and-swap of the branch
(``git update-ref <ref> <new> <old>``), retried on a race.

Identities: the Git author of a review commit is the reviewer, the committer the
person running the code; when they differ the record names ``recorded_by`` (the CLI
refuses it without ``--pour-le-compte-de``).

Only **committed** records count (read from HEAD or the revision asked), and only when
the commit that added the file has the reviewer as author. Four-eyes rule (refused when
recording, not retained by :func:`review_status`): an approval counts only if its
reviewer was a declared referent of the role at the parent of the commit adding the
record, was not declared by a commit of their own (:func:`referent_declaration`), and
did not author the last change of the item (:func:`last_changes`).
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
from pydantic import Field, ValidationError, field_validator, model_validator

from tasks.dossier.model import CheckReport, FamilyStatus, Location, Person, Role, _Model
from tasks.dossier.normalize import normalize_text
from tasks.dossier.reader import Dossier
from tasks.dossier.yamlio import validate_yaml
from tasks.errors import InputError

__all__ = [
    "DEMO_LABEL",
    "DEMO_MARKER",
    "ROLES",
    "Change",
    "Decision",
    "Declaration",
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
    "committer_identity",
    "is_demo_repository",
    "last_changes",
    "load_referents",
    "plan_for",
    "read_records",
    "record_review",
    "referent_declaration",
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
    kind: Literal[
        "clause-modifiee", "clause-redigee-main", "derogation", "clause-sensible", "suivi-ecart"
    ]
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
            "suivi-ecart": "écart d'exécution",
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
    recorded_by: Person | None = Field(
        default=None,
        description=(
            "personne qui a enregistré la décision pour le compte du référent (committer Git "
            "de la ligne de commande, ou auteur déclaré d'une réponse au formulaire Prefect)"
        ),
    )
    provenance: Literal["demonstration"] | None = Field(
        default=None,
        description=(
            "« demonstration » : décision de « cahier demo », non probante, qui ne compte que "
            "dans le dépôt de démonstration qui l'a produite"
        ),
    )

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


# --------------------------------------------------------------------------- identity


def committer_identity(path: str | os.PathLike[str]) -> Person | None:
    """The person running the command, as Git will name the committer.

    ``GIT_COMMITTER_NAME`` / ``GIT_COMMITTER_EMAIL`` when set, else ``git config
    user.name`` / ``user.email`` as seen from ``path`` (repository, global, system
    configuration). None when no e-mail is configured or it is not an address.
    """
    probe = Path(path)
    probe = probe if probe.is_dir() else probe.parent
    if not probe.is_dir():
        probe = Path.cwd()
    email = (
        os.environ.get("GIT_COMMITTER_EMAIL")
        or _git(["config", "user.email"], probe, check=False).strip()
    )
    name = (
        os.environ.get("GIT_COMMITTER_NAME")
        or _git(["config", "user.name"], probe, check=False).strip()
    )
    if not email:
        return None
    try:
        return Person(nom=name or email, email=email)
    except ValidationError:
        return None


def _same(a: Person | str | None, b: Person | str | None) -> bool:
    """Same person, compared on the e-mail address (case-insensitive)."""
    ea = a.email if isinstance(a, Person) else a
    eb = b.email if isinstance(b, Person) else b
    return bool(ea and eb and ea.strip().lower() == eb.strip().lower())


def _who(p: Person) -> str:
    return f"{p.nom} <{p.email}>"


class Declaration(_Model):
    """Where a referent's declaration for a role comes from: the commit that introduced it."""

    role: Role
    email: str
    commit: str
    author: Person
    time: dt.datetime
    file: str = Field(description="tender.yaml du dossier ou referents.yaml (chemin du dépôt)")

    def label(self) -> str:
        """« déclaré(e) par X <x@…> (commit abc1234567 du 04/05/2026, tender.yaml) »."""
        return (
            f"déclaré(e) {ROLE_LABELS[self.role]} par {_who(self.author)} (commit "
            f"{self.commit[:10]} du {self.time:%d/%m/%Y}, {self.file})"
        )


class Change(_Model):
    """The last commit that changed an item's reviewed text (its digest)."""

    commit: str
    author: Person
    time: dt.datetime


def _commit_info(line: str) -> tuple[str, list[str], Person, dt.datetime]:
    sha, parents, an, ae, date = line.split("\x1f")
    try:
        author = Person(nom=an or ae, email=ae)
    except ValidationError:
        author = Person.model_construct(nom=an or ae or "?", email=ae or "?")
    return sha, parents.split(), author, dt.datetime.fromisoformat(date)


_LOG_FORMAT = "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%aI"


def _blob(top: Path, commit: str, path: str) -> bytes | None:
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{commit}:{path}"], cwd=top, capture_output=True, check=False
    )
    return proc.stdout if proc.returncode == 0 else None


def _declared_at(top: Path, commit: str, tender_file: str) -> dict[str, dict[str, str]]:
    """Role → {e-mail (lower case) → declaring file} at ``commit`` (tender.yaml roles
    replace the repository-wide ones, as in :func:`load_referents`). A file that cannot
    be read at that commit declares nobody."""
    from tasks.dossier.yamlio import load_yaml

    def people(raw: bytes | None, name: str) -> dict[str, dict[str, str]]:
        if raw is None:
            return {}
        try:
            data, _ = load_yaml(raw, name)
        except InputError:
            return {}
        refs = data.get("referents") if isinstance(data, dict) else None
        out: dict[str, dict[str, str]] = {}
        if isinstance(refs, dict):
            for role, lst in refs.items():
                if isinstance(lst, list):
                    out[str(role)] = {
                        str(p["email"]).strip().lower(): name
                        for p in lst
                        if isinstance(p, dict) and p.get("email")
                    }
        return out

    merged = people(_blob(top, commit, REFERENTS_FILE), REFERENTS_FILE)
    merged.update(people(_blob(top, commit, tender_file), tender_file))
    return merged


def referent_declaration(
    dossier_path: str | os.PathLike[str], role: str, email: str, rev: str = "HEAD"
) -> Declaration | None:
    """The commit that introduced ``email`` as referent for ``role``, as in force at ``rev``.

    Walks the commits that changed the dossier's tender.yaml or the repository's
    referents.yaml (newest first) and returns the newest one where the person is declared
    while none of its parents declared them. None when the person is not declared at
    ``rev`` or the dossier is not in Git.
    """
    top = _toplevel(Path(dossier_path))
    if top is None:
        return None
    tender_file = _join(_rel(Path(dossier_path), top), "tender.yaml")
    key = email.strip().lower()
    cache: dict[str, str | None] = {}

    def where(commit: str) -> str | None:
        if commit not in cache:
            cache[commit] = _declared_at(top, commit, tender_file).get(role, {}).get(key)
        return cache[commit]

    try:
        if where(rev) is None:
            return None
        log = _git(["log", _LOG_FORMAT, rev, "--", tender_file, REFERENTS_FILE], top)
    except _GitError:
        return None
    for line in log.splitlines():
        sha, parents, author, when = _commit_info(line)
        file = where(sha)
        if file is not None and all(where(p) is None for p in parents):
            return Declaration(
                role=role, email=email, commit=sha, author=author, time=when, file=file
            )
    return None


def _dossier_pathspec(rel: str) -> list[str]:
    """The dossier's files that make its content: all but reviews, evaluation, archive."""
    return [rel or "."] + [
        f":(exclude){_join(rel, sub)}" for sub in (REVIEWS_DIR, "evaluation", "archive")
    ]


def last_changes(
    dossier_path: str | os.PathLike[str],
    rev: str,
    item_ids: set[str] | None = None,
    *,
    clausier_path=None,
    _plans: dict[str, dict[str, str]] | None = None,
) -> dict[str, Change]:
    """Item id → the last commit (at or before ``rev``) that changed its digest.

    Walks the commits that changed the dossier (reviews, evaluation and archive
    excluded), newest first, and compares each item's digest before the commit (first
    parent) with its digest at ``rev``; the first commit where it differs (or where the
    item did not exist, or the root commit) is its last change. The rendered clause
    text comes from the current clausier, so only changes of the dossier count.
    Items not found at ``rev`` are left out.
    """
    top = _toplevel(Path(dossier_path))
    if top is None:
        return {}
    plans = {} if _plans is None else _plans

    def digests(commit: str) -> dict[str, str]:
        if commit not in plans:
            try:
                plan = plan_for(dossier_path, rev=commit, clausier_path=clausier_path)
                plans[commit] = {i.id: i.digest for i in plan.items}
            except (InputError, ValueError):
                plans[commit] = {}
        return plans[commit]

    spec = _dossier_pathspec(_rel(Path(dossier_path), top))
    try:
        log = _git(["log", _LOG_FORMAT, rev, "--", *spec], top)
    except _GitError:
        return {}
    lines = log.splitlines()
    if not lines:
        return {}
    # Digests at rev are those of the newest commit that changed the dossier.
    target = {
        k: v for k, v in digests(lines[0].split("\x1f")[0]).items() if not item_ids or k in item_ids
    }
    out: dict[str, Change] = {}
    for line in lines:
        sha, parents, author, when = _commit_info(line)
        before = digests(parents[0]) if parents else {}
        for iid in [i for i in target if before.get(i) != target[i]]:
            out[iid] = Change(commit=sha, author=author, time=when)
            del target[iid]
        if not target:
            break
    return out


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


def _markup_sections(piece) -> list[int]:
    """Indexes of the sections that are Markdown headings (« ## … ») of the piece source."""
    if not piece.raw_source:
        return []
    src = piece.raw_source.splitlines()
    out = []
    for k, sec in enumerate(piece.sections):
        n = piece.lines[sec.line_index].src_line
        if n is not None and 0 < n <= len(src) and src[n - 1].lstrip().startswith("#"):
            out.append(k)
    return out


def _span(piece, index: int) -> tuple[int, int]:
    """``(start, end)`` line indexes of the section holding line ``index``, sub-sections
    included: from its heading down to the next heading of the same or a higher level.

    In a Markdown piece only Markdown headings (« # ») bound the span: a numbered
    paragraph that looks like a heading (« 10. Aucune réversibilité n'est due ») stays
    inside its article. In other formats (DOCX, ODT, PDF: headings detected from their
    numbers) a following heading belongs to the span when its level is deeper or its
    number extends the section's (« 8.1 » under « 8 »). Lines before the first heading
    form their own span.
    """
    sections = piece.sections
    markup = _markup_sections(piece)
    candidates = markup if markup else list(range(len(sections)))
    sec = piece.lines[index].section
    enclosing = [k for k in candidates if k <= sec]
    if not enclosing:  # before the first heading (of the kind that bounds spans)
        end = sections[candidates[0]].line_index if candidates else len(piece.lines)
        return 0, end
    start = enclosing[-1]
    head = sections[start]
    end = len(piece.lines)
    for k in candidates:
        if k <= start:
            continue
        s = sections[k]
        nested = s.level > head.level or (
            not markup and bool(head.number and s.number and s.number.startswith(head.number + "."))
        )
        if not nested:
            end = s.line_index
            break
    return head.line_index, end


def _section_text(piece, index: int | None) -> str:
    if index is None:
        return ""
    start, end = _span(piece, index)
    return "\n".join(normalize_text(ln.text) for ln in piece.lines[start:end])


def _call_rendering(piece, clausier, cid: str, line: int | None) -> str:
    """Rendered text of the ``clause("cid", …)`` call at ``line`` of the piece source."""
    from tasks.clausier.render import CLAUSE_CALL_RE, parse_call_args, render_clause

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
        report: the check of ``dossier`` (:func:`tasks.check.checker.check_dossier`).
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
    from importlib import import_module

    from .sources import ITEM_SOURCES

    for spec in ITEM_SOURCES:  # items of the rooms above (execution follow-up…)
        module, _, name = spec.partition(":")
        for extra in getattr(import_module(module), name)(dossier, clausier):
            items.setdefault(extra.id, extra)
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
        InputError: unusable dossier (see :func:`tasks.dossier.reader.read_dossier`).
    """
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    _require_dossier(dossier_path)
    dossier = read_dossier(dossier_path, rev=rev)
    lib = load_clausier(clausier_path, dossier=dossier_path)
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
    committer_email: str | None = None
    committer_name: str | None = None
    signer: str | None = None  # signer of the adding commit when its signature verifies


def read_records(
    dossier_path: str | os.PathLike[str], rev: str | None = None
) -> list[StoredRecord]:
    """Committed review records of the dossier, oldest first (by recorded time).

    Records are read from ``rev`` (default HEAD) — a file not yet committed does not
    count. A record whose adding commit was not authored by its reviewer is dropped (it
    was not recorded by cahier under the referent's identity). Each record carries the
    adding commit, its author and committer, and its signer when the commit is signed
    and the signature verifies (``%G?`` G or U, as ``git verify-commit``).

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
    adders: dict[str, tuple[str, ...]] = {}
    log = _git(
        [
            "log",
            "--diff-filter=A",
            "--format=%x1e%H%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%G?%x1f%GS",
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
        fields = tuple(head.split("\x1f"))
        for f in files.split("\n"):
            if f.strip():
                adders.setdefault(f.strip(), fields)
    records: list[StoredRecord] = []
    for name, blob in zip(names, blobs, strict=True):
        rec = validate_yaml(ReviewRecord, blob, name)
        found = adders.get(name)
        if found is None:
            records.append(StoredRecord(name, rec))
            continue
        sha, an, ae, cn, ce, sig, signer = found
        if ae.lower() != rec.reviewer.email.lower():
            continue
        good = sig in ("G", "U")  # what « git verify-commit » accepts
        records.append(
            StoredRecord(name, rec, sha, ae, an, ce, cn, (signer or "?") if good else None)
        )
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


#: File in the Git directory of the throwaway repository made by ``cahier demo``; it
#: holds that working tree's absolute path. Review records written there carry the
#: provenance « démonstration (non probante) » and count only in that repository.
DEMO_MARKER = "cahier-demo"
DEMO_LABEL = "démonstration (non probante)"


def is_demo_repository(top: Path | None) -> bool:
    """True when ``top`` is the throwaway repository of ``cahier demo`` (marker in its
    Git directory naming this very working tree; a copy or a clone is not one)."""
    if top is None:
        return False
    try:
        gitdir = Path(_git(["rev-parse", "--absolute-git-dir"], top).strip())
        marked = (gitdir / DEMO_MARKER).read_text(encoding="utf-8").strip()
    except (OSError, _GitError):
        return False
    return marked == os.fspath(Path(top).resolve())


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
    recorded_by: Person | None = None,
    allow_on_behalf: bool = True,
    clausier_path=None,
    now: dt.datetime | None = None,
    max_attempts: int = 50,
) -> RecordResult:
    """Record a referent's decision on the items of ``role``, authored by the reviewer.

    Identities: the Git **author** of the commit is the reviewer; the Git **committer**
    is the person running the code (:func:`committer_identity`: ``GIT_COMMITTER_*`` or
    ``git config user.*``; the reviewer when none is configured). When the person who
    records (``recorded_by``, default the committer) is not the reviewer, the record
    holds ``recorded_by`` and ``cahier review status`` shows « enregistrée par X pour le
    compte de Y ». The CLI passes ``allow_on_behalf=False`` unless run with
    ``--pour-le-compte-de``; the Prefect form passes the submitter as ``recorded_by``.

    An **approval** is refused (four-eyes rule, docs/reviews.md) when the reviewer's
    referent declaration for the role was introduced by a commit the reviewer authored
    (self-declared referent, :func:`referent_declaration`), or when the reviewer authored
    the last change of one of the items approved (:func:`last_changes`).

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
        recorded_by: who records the decision (default: the committer identity).
        allow_on_behalf: False to refuse recording when that person is not the reviewer.

    Raises:
        InputError: unknown role, reviewer not declared for the role, recording for
            someone else without ``allow_on_behalf``, self-declared referent,
            self-approval, no item to review, unknown item, nonexistent dossier, not a
            Git repository, detached HEAD, repository without commit, failure of Git.
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
    committer = committer_identity(top)
    recorder = recorded_by or committer
    if recorder is None and not allow_on_behalf:
        raise InputError(
            "revue refusée : identité Git inconnue — configurez « git config user.name » et "
            "« git config user.email » (la personne qui enregistre la revue).",
            os.fspath(dossier_path),
        )
    on_behalf = recorder is not None and not _same(recorder, reviewer)
    if on_behalf and not allow_on_behalf:
        assert recorder is not None
        raise InputError(
            f"revue refusée : vous êtes identifié(e) par Git comme {_who(recorder)} "
            "(git config user.email ou GIT_COMMITTER_EMAIL) et la revue serait enregistrée au "
            f"nom de {_who(reviewer)}. Pour enregistrer la décision de ce référent pour son "
            "compte, ajoutez --pour-le-compte-de : vous serez nommé(e) dans l'enregistrement "
            "(recorded_by) et comme committer Git ; sinon, le référent lance lui-même la "
            "commande.",
            os.fspath(dossier_path),
        )
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
    if decision == "approve":
        _check_four_eyes(dossier_path, role, reviewer, head, role_items, clausier_path)
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    demo = is_demo_repository(top)
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
        recorded_by=recorder if (on_behalf or recorded_by is not None) else None,
        provenance="demonstration" if demo else None,
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
        + (
            f"Enregistrée par {_who(record.recorded_by)} pour le compte de {_who(reviewer)}\n"
            if record.recorded_by is not None and on_behalf
            else ""
        )
    )
    env = {
        "GIT_AUTHOR_NAME": reviewer.nom,
        "GIT_AUTHOR_EMAIL": reviewer.email,
        "GIT_AUTHOR_DATE": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }
    who_commits = committer or recorder or reviewer
    env |= {"GIT_COMMITTER_NAME": who_commits.nom, "GIT_COMMITTER_EMAIL": who_commits.email}
    # « commit-tree » (plumbing) ignores commit.gpgSign: sign explicitly when it is set.
    sign = _git(["config", "--type=bool", "commit.gpgsign"], top, check=False).strip() == "true"
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
            args = ["commit-tree", tree, "-p", old, *(["-S"] if sign else []), "-F", "-"]
            try:
                new = _git(args, top, env=ienv, input=message.encode()).strip()
            except _GitError as exc:
                if not sign:
                    raise
                raise InputError(
                    "revue non enregistrée : la signature du commit a échoué (commit.gpgsign "
                    f"est activé) : {exc.proc.stderr.decode(errors='replace').strip()} ; "
                    "vérifiez user.signingkey ou désactivez commit.gpgsign.",
                    os.fspath(dossier_path),
                ) from None
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


def _four_eyes_refusal(
    role: str,
    reviewer: Person,
    declaration: Declaration | None,
    changes: dict[str, Change],
    labels: dict[str, str],
) -> str | None:
    """French reason why ``reviewer``'s approval breaks the four-eyes rule, or None."""
    if declaration is not None and _same(declaration.author, reviewer):
        return (
            f"{_who(reviewer)} a été déclaré(e) {ROLE_LABELS[role]} par cette même personne "
            f"(commit {declaration.commit[:10]} du {declaration.time:%d/%m/%Y}, "
            f"{declaration.file}) ; une déclaration de référent doit être faite par une autre "
            "personne (l'acheteur ou le service), puis la revue recommencée"
        )
    mine = [(iid, ch) for iid, ch in changes.items() if _same(ch.author, reviewer)]
    if mine:
        iid, ch = mine[0]
        return (
            f"{_who(reviewer)} est l'auteur(e) de la dernière modification de "
            f"{labels.get(iid, iid)} (commit {ch.commit[:10]} du {ch.time:%d/%m/%Y}) ; "
            f"l'approbation doit venir d'un(e) autre {ROLE_LABELS[role]} déclaré(e)"
        )
    return None


def _check_four_eyes(
    dossier_path, role: str, reviewer: Person, head: str, items: list[ReviewItem], clausier_path
) -> None:
    declaration = referent_declaration(dossier_path, role, reviewer.email, head)
    changes = last_changes(dossier_path, head, {i.id for i in items}, clausier_path=clausier_path)
    reason = _four_eyes_refusal(
        role, reviewer, declaration, changes, {i.id: i.label() for i in items}
    )
    if reason:
        raise InputError(f"revue refusée : {reason}.", os.fspath(dossier_path))


def _write_new_file(target: Path, content: bytes) -> None:
    """Create ``target`` atomically; leave an existing file alone (never overwrite)."""
    from tasks.dossier.files import create_new

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        create_new(target, content)
    except FileExistsError:
        pass


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
        return " ; ".join(parts)

    def message(self) -> str:
        """French one-line summary (gate reasons, CLI)."""
        who = f"{self.reviewer.nom} <{self.reviewer.email}>" if self.reviewer else ""
        when = f"{self.time:%d/%m/%Y %H:%M} UTC" if self.time else ""
        label = self.item.label()
        role = ROLE_LABELS[self.item.role]
        extra = self.provenance()
        extra = f" ({extra})" if extra else ""
        if self.refusal:
            return (
                f"{label} : approbation de {who} du {when} non retenue — {self.refusal} ; "
                f"en attente de revue du {role}."
            )
        if self.status == "approved":
            return f"{label} : approuvé par {who} le {when}{extra}."
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

    An approval with a matching digest is **not retained** (``pending``, with the reason
    in ``refusal``) when, at the parent of the commit that added the record, the reviewer
    was not a declared referent of the role, or had been declared by a commit they
    authored themselves; or when the reviewer authored the last change of the item as of
    the commit that added the record (four-eyes rule, docs/reviews.md). Approved entries
    carry who recorded them for the reviewer, the verified signer of the commit and the
    commit that declared the referent.

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
    plans: dict[str, dict[str, str]] = {}
    changes: dict[str, dict[str, Change]] = {}
    declarations: dict[tuple[str, str, str], tuple[bool, Declaration | None]] = {}
    top = _toplevel(Path(dossier_path))
    demo = is_demo_repository(top)

    def parent_of(commit: str) -> str | None:
        try:
            return _git(["rev-parse", "--verify", "-q", f"{commit}^1"], top).strip() or None
        except _GitError:
            return None

    def declared(stored: StoredRecord) -> tuple[bool, Declaration | None]:
        rec = stored.record
        base = parent_of(stored.commit) if stored.commit else rec.commit
        key = (base or "", rec.role, rec.reviewer.email.lower())
        if key not in declarations:
            if base is None:  # the record came with the repository's first commit
                declarations[key] = (False, None)
            else:
                decl = referent_declaration(dossier_path, rec.role, rec.reviewer.email, base)
                declarations[key] = (decl is not None, decl)
        return declarations[key]

    def last_change(stored: StoredRecord, item_id: str) -> Change | None:
        at = stored.commit or stored.record.commit
        if at not in changes:
            changes[at] = last_changes(dossier_path, at, clausier_path=clausier_path, _plans=plans)
        return changes[at].get(item_id)

    out: list[StatusEntry] = []
    for item in plan.items:
        found = latest.get((item.role, item.id))
        if found is None:
            out.append(StatusEntry(item=item, status="pending"))
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
            ok, decl = declared(stored) if top is not None else (True, None)
            refusal = None
            if not ok:
                refusal = (
                    f"{_who(rec.reviewer)} n'était pas déclaré(e) {ROLE_LABELS[rec.role]} "
                    "au moment de l'enregistrement de la revue"
                )
            elif top is not None:
                change = last_change(stored, item.id)
                refusal = _four_eyes_refusal(
                    rec.role,
                    rec.reviewer,
                    decl,
                    {item.id: change} if change else {},
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
