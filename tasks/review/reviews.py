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
from tasks.git import GitError, RefMoved, Repo, step

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
    "RejectedRecord",
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
    "inspect_records",
    "is_demo_repository",
    "item_changes",
    "last_changes",
    "load_referents",
    "plan_for",
    "read_records",
    "record_review",
    "referent_declaration",
    "repair_review_index",
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


def _repo(path: Path) -> Repo | None:
    """The Git working tree holding ``path``, or None outside Git."""
    try:
        return Repo.discover(path)
    except InputError:
        return None


def _toplevel(path: Path) -> Path | None:
    repo = _repo(path)
    return repo.top if repo is not None else None


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

    def config(key: str) -> str:
        repo = Repo(probe, probe, probe)
        return repo.text("config", key, check=False).strip()

    email = os.environ.get("GIT_COMMITTER_EMAIL") or config("user.email")
    name = os.environ.get("GIT_COMMITTER_NAME") or config("user.name")
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


def _person(name: str, email: str) -> Person:
    try:
        return Person(nom=name or email, email=email)
    except ValidationError:
        return Person.model_construct(nom=name or email or "?", email=email or "?")


class Declaration(_Model):
    """Where a referent's declaration for a role comes from: the commit that introduced it.

    ``committer`` is the Git committer of that commit when it differs from its author.
    """

    role: Role
    email: str
    commit: str
    author: Person
    time: dt.datetime
    file: str = Field(description="tender.yaml du dossier ou referents.yaml (chemin du dépôt)")
    committer: Person | None = None

    def label(self) -> str:
        """« déclaré(e) par X <x@…> (commit abc1234567 du 04/05/2026, tender.yaml) »."""
        return (
            f"déclaré(e) {ROLE_LABELS[self.role]} par {_who(self.author)} (commit "
            f"{self.commit[:10]} du {self.time:%d/%m/%Y}, {self.file})"
        )


class Change(_Model):
    """A commit that changed an item's reviewed text (its digest): its author and committer."""

    commit: str
    author: Person
    time: dt.datetime
    committer: Person | None = None


def _declared_at(repo: Repo, commit: str, tender_files: list[str]) -> dict[str, dict[str, str]]:
    """Role → {e-mail (lower case) → declaring file} at ``commit``.

    tender.yaml roles replace the repository-wide ones, as in :func:`load_referents`.
    ``tender_files`` are every path the dossier's tender.yaml had in history (a folder
    renamed with ``git mv`` keeps its declarations); at one commit only one exists. A
    file that cannot be read at that commit declares nobody.
    """
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

    specs = [f"{commit}:{REFERENTS_FILE}"] + [f"{commit}:{f}" for f in tender_files]
    raws = repo.blobs(specs)
    merged = people(raws[0], REFERENTS_FILE)
    for name, raw in zip(tender_files, raws[1:], strict=True):
        merged.update(people(raw, name))
    return merged


def _tender_paths(repo: Repo, rev: str, tender_file: str) -> list[str]:
    """Every path the dossier's tender.yaml had up to ``rev`` (follows ``git mv``)."""
    out = repo.text(
        "log", "--follow", "--name-only", "--format=", "-z", rev, "--", tender_file, check=False
    )
    paths = [tender_file]
    for p in out.replace("\n", "\0").split("\0"):
        if p and p not in paths:
            paths.append(p)
    return paths


def _introductions(
    dossier_path: str | os.PathLike[str], role: str, email: str, rev: str
) -> list[Declaration]:
    """Every commit up to ``rev`` that made ``email`` a referent of ``role`` (declared at
    the commit, declared at none of its parents), newest first.

    A folder rename (``git mv``) is not an introduction (the declaration is followed
    through it); a revert that re-adds a removed declaration is one, and the first
    introduction stays in the list (it is what the revert restores).
    """
    repo = _repo(Path(dossier_path))
    if repo is None:
        return []
    tender_file = _join(_rel(Path(dossier_path), repo.top), "tender.yaml")
    # The dossier may have been renamed after ``rev``: follow it from HEAD too.
    paths = _tender_paths(repo, rev, tender_file)
    head = repo.rev("HEAD")
    if head and head != rev:
        paths += [p for p in _tender_paths(repo, head, tender_file) if p not in paths]
    key = email.strip().lower()
    cache: dict[str, str | None] = {}

    def where(commit: str) -> str | None:
        if commit not in cache:
            cache[commit] = _declared_at(repo, commit, paths).get(role, {}).get(key)
        return cache[commit]

    if where(rev) is None:
        return []
    found: list[Declaration] = []
    for c in repo.log(rev, paths=[*paths, REFERENTS_FILE]):
        file = where(c.sha)
        if file is not None and all(where(p) is None for p in c.parents):
            found.append(
                Declaration(
                    role=role,
                    email=email,
                    commit=c.sha,
                    author=_person(c.author_name, c.author_email),
                    committer=None
                    if _same(c.committer_email, c.author_email)
                    else _person(c.committer_name, c.committer_email),
                    time=dt.datetime.fromisoformat(c.author_date),
                    file=file,
                )
            )
    return found


def referent_declaration(
    dossier_path: str | os.PathLike[str], role: str, email: str, rev: str = "HEAD"
) -> Declaration | None:
    """The commit that introduced ``email`` as referent for ``role``, as in force at ``rev``.

    Walks the commits that changed the dossier's tender.yaml (under every path it had:
    renames are followed) or the repository's referents.yaml. When one of the commits
    that ever introduced the declaration was authored or committed by the person
    themselves, that one is returned (a self-declaration stays one after a rename or
    the revert of its removal: four-eyes rule); otherwise the newest introduction.
    None when the person is not declared at ``rev`` or the dossier is not in Git.
    """
    found = _introductions(dossier_path, role, email, rev)
    if not found:
        return None
    for d in found:
        if _same(d.author, email) or (d.committer is not None and _same(d.committer, email)):
            return d
    return found[0]


def _dossier_pathspec(rel: str) -> list[str]:
    """The dossier's files that make its content: all but reviews, evaluation, archive."""
    return [rel or "."] + [
        f":(exclude){_join(rel, sub)}" for sub in (REVIEWS_DIR, "evaluation", "archive")
    ]


def item_changes(
    dossier_path: str | os.PathLike[str],
    rev: str,
    item_ids: set[str] | None = None,
    *,
    since: dict[str, str] | None = None,
    clausier_path=None,
    _plans: dict[str, dict[str, str]] | None = None,
) -> dict[str, list[Change]]:
    """Item id → every commit (at or before ``rev``) that changed its digest, newest first.

    Walks every commit that changed the dossier (reviews, evaluation and archive
    excluded; merged branches included) that is not an ancestor of ``since[item]`` —
    the commit reviewed by the previous approval of the item, when there is one. A
    non-merge commit changed the item when its digest differs from the parent's (or the
    item did not exist before); a merge commit only when it differs from *every* parent
    (the merge itself wrote the text: conflict resolution or « evil merge »), so that
    merging unrelated work involves nobody. The rendered clause text comes from the
    current clausier, so only changes of the dossier count. Items not found at ``rev``
    are left out.
    """
    repo = _repo(Path(dossier_path))
    if repo is None:
        return {}
    plans = {} if _plans is None else _plans
    since = since or {}

    def digests(commit: str) -> dict[str, str]:
        if commit not in plans:
            try:
                plan = plan_for(dossier_path, rev=commit, clausier_path=clausier_path)
                plans[commit] = {i.id: i.digest for i in plan.items}
            except (InputError, ValueError):
                plans[commit] = {}
        return plans[commit]

    spec = _dossier_pathspec(_rel(Path(dossier_path), repo.top))
    try:
        # Every merged branch counts: without ``--full-history`` Git drops a side branch
        # whose result the merge already had (the same edit made on both sides).
        commits = repo.log("--full-history", rev, paths=spec)
    except GitError:
        return {}
    if not commits:
        return {}
    current = digests(repo.rev(rev) or rev)
    if not current:
        current = digests(commits[0].sha)
    wanted = {k for k in current if not item_ids or k in item_ids}
    ancestors: dict[tuple[str, str], bool] = {}

    def before_since(commit: str, iid: str) -> bool:
        base = since.get(iid)
        if not base:
            return False
        if (commit, base) not in ancestors:
            ancestors[(commit, base)] = repo.is_ancestor(commit, base)
        return ancestors[(commit, base)]

    out: dict[str, list[Change]] = {}
    for c in commits:
        ids = [i for i in wanted if not before_since(c.sha, i)]
        if not ids:
            continue
        after = digests(c.sha)
        befores = [digests(p) for p in c.parents] or [{}]
        for iid in ids:
            if iid not in after:
                continue
            if all(b.get(iid) != after[iid] for b in befores):
                out.setdefault(iid, []).append(
                    Change(
                        commit=c.sha,
                        author=_person(c.author_name, c.author_email),
                        committer=_person(c.committer_name, c.committer_email),
                        time=dt.datetime.fromisoformat(c.author_date),
                    )
                )
    return out


def last_changes(
    dossier_path: str | os.PathLike[str],
    rev: str,
    item_ids: set[str] | None = None,
    *,
    clausier_path=None,
    _plans: dict[str, dict[str, str]] | None = None,
) -> dict[str, Change]:
    """Item id → the last commit (at or before ``rev``) that changed its digest
    (see :func:`item_changes`)."""
    changes = item_changes(dossier_path, rev, item_ids, clausier_path=clausier_path, _plans=_plans)
    return {k: v[0] for k, v in changes.items() if v}


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
    repo = _repo(path)
    top = repo.top if repo is not None else None
    raw: bytes | None = None
    shown = REFERENTS_FILE
    if rev is not None and repo is not None:
        raw = repo.blob(rev, REFERENTS_FILE)
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
    """A committed review record that counts: its path, content and the commit that
    added it (authored by the reviewer, byte-identical content).

    ``declarative`` lists, in French, why the identity is only declared, not proven
    (unsigned commit, recorded on behalf of the referent, committer other than the
    author); empty when the commit is signed by the reviewer and verified by Git.
    """

    path: str  # path in the repository
    record: ReviewRecord
    commit: str | None = None
    author_email: str | None = None
    author_name: str | None = None
    committer_email: str | None = None
    committer_name: str | None = None
    signer: str | None = None  # signer of the adding commit when its signature verifies
    declarative: list[str] = field(default_factory=list)


@dataclass
class RejectedRecord:
    """A review record present at the revision that does **not** count, and why.

    ``reason`` (French) names the commit and the person: « enregistrement de revue
    modifié après coup par X <x@…> (commit abc1234567) », introduced by a merge, added
    by someone other than the referent (squash, hand commit), renamed, unsigned under a
    signature-required policy.
    """

    path: str
    record: ReviewRecord | None
    reason: str
    commit: str | None = None


#: Git's verdicts (``%G?``) that ``git verify-commit`` accepts.
_GOOD_SIGNATURE = ("G", "U")


def _signature_args(dossier_path: str | os.PathLike[str]) -> tuple[list[str], str]:
    """``-c`` options pointing Git at the verifier's allowed-signers file (never the
    repository's own configuration), and the signature policy (settings)."""
    from tasks.config.settings import load_settings

    settings = load_settings(Path(dossier_path))
    allowed = settings.signatures.allowed_signers
    target = str(allowed) if allowed is not None else os.devnull
    return ["-c", f"gpg.ssh.allowedSignersFile={target}"], settings.signatures.policy


def inspect_records(
    dossier_path: str | os.PathLike[str], rev: str | None = None
) -> tuple[list[StoredRecord], list[RejectedRecord]]:
    """The review records of the dossier at ``rev`` (default HEAD): those that count,
    oldest first, and those that do not, with the reason.

    Fail closed (docs/reviews.md, « Ce qui est prouvé »): a record counts only if its
    bytes at ``rev`` are exactly a blob that its reviewer, as Git author, *added* under
    the same file name in a non-merge commit of the history of ``rev``. Any later
    edit, a rename of the file, a record introduced by a merge commit, squashed or
    committed by someone else does not count and is reported. A folder renamed with
    ``git mv`` keeps its records (same file name, same bytes). Under the verifier's
    policy ``signature-obligatoire`` (settings ``signatures``), the adding commit must
    also carry a signature that ``git verify-commit`` accepts against the verifier's
    allowed-signers file, made by the reviewer.

    Raises:
        InputError: unknown revision; a record file that is not valid YAML or not a
            review record (French, with the file and line); shallow clone (the history
            needed is missing: « git fetch --unshallow »).
    """
    path = Path(dossier_path)
    repo = _repo(path)
    if repo is None:
        return [], []
    target = rev or "HEAD"
    sha = repo.rev(target)
    if sha is None:
        if rev is None:
            return [], []  # unborn branch: nothing committed yet
        raise InputError(f"révision « {rev} » introuvable.", os.fspath(dossier_path))
    repo.require_full_history("cahier review")
    reviews = _join(_rel(path, repo.top), REVIEWS_DIR)
    entries = [
        (blob, name)
        for _mode, typ, blob, name in repo.tree(sha, reviews)
        if typ == "blob" and name.endswith(".yaml")
    ]
    contents = repo.blobs([b for b, _ in entries]) if entries else []
    sig_args, policy = _signature_args(dossier_path)
    declared = _declared_identities(repo, sha, _rel(path, repo.top))
    log = repo.text(
        *sig_args,
        "log",
        "--full-history",  # records on a side branch dropped by « merge -s ours » too
        "--no-merges",
        "--no-renames",
        "--diff-filter=A",
        "--raw",
        "--no-abbrev",
        "--format=%x1e%H%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%G?%x1f%GS",
        sha,
        "--",
        f":(glob)**/{REVIEWS_DIR}/*.yaml",
        f":(glob){REVIEWS_DIR}/*.yaml",
    )
    adders: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    added_at: dict[tuple[str, str], str] = {}  # (file name, blob) → path where added
    for chunk in log.split("\x1e"):
        if not chunk.strip():
            continue
        head, _, raw = chunk.partition("\n")
        fields = tuple(head.split("\x1f"))
        for line in raw.splitlines():
            if not line.startswith(":"):
                continue
            meta, _, file = line.partition("\t")
            parts = meta.split()
            if len(parts) >= 5 and parts[4] == "A":
                adders.setdefault((file.rsplit("/", 1)[-1], parts[3]), []).append(fields)
                added_at[(file.rsplit("/", 1)[-1], parts[3])] = file
    records: list[StoredRecord] = []
    rejected: list[RejectedRecord] = []
    for (blob, name), raw_bytes in zip(entries, contents, strict=True):
        rel_name = _join(reviews, name)
        rec = validate_yaml(ReviewRecord, raw_bytes or b"", rel_name)
        candidates = adders.get((name.rsplit("/", 1)[-1], blob), [])
        by_reviewer = [f for f in candidates if _same(f[2], rec.reviewer.email)]
        if not by_reviewer:
            rejected.append(_why_rejected(repo, sha, rel_name, rec, blob, adders))
            continue
        c_first = by_reviewer[-1]
        confused = _confusion(rec.reviewer, declared) or _confusion(
            _person(c_first[1], c_first[2]), declared
        )
        if confused:
            rejected.append(
                RejectedRecord(
                    rel_name,
                    rec,
                    f"enregistrement de revue au nom de {_who(rec.reviewer)} non retenu : "
                    f"{confused} ; le commit {c_first[0][:10]} de {c_first[1]} <{c_first[2]}> "
                    "n'est pas celui d'un référent déclaré sous son adresse exacte ; corrigez la "
                    "déclaration dans tender.yaml (referents) et faites approuver de nouveau",
                    c_first[0],
                )
            )
            continue
        signed = [
            f
            for f in by_reviewer
            if f[5] in _GOOD_SIGNATURE and rec.reviewer.email.lower() in f[6].lower()
        ]
        chosen = (signed or by_reviewer)[-1]  # the oldest addition
        c_sha, an, ae, cn, ce, _sig, signer = chosen
        good = bool(signed)
        if policy == "signature-obligatoire" and not good:
            rejected.append(
                RejectedRecord(
                    rel_name,
                    rec,
                    f"enregistrement de revue de {_who(rec.reviewer)} non retenu : le commit "
                    f"{c_sha[:10]} n'est pas signé par le référent (ou sa signature n'est pas "
                    "reconnue par le fichier allowed_signers du vérificateur) et la politique "
                    "de signature est « signature-obligatoire » ; le référent doit approuver "
                    "de nouveau avec sa clé (git config user.signingkey)",
                    c_sha,
                )
            )
            continue
        declarative: list[str] = []
        if not good:
            declarative.append("commit non signé : identité déclarée, non prouvée")
        if not _same(ce, ae):
            declarative.append(
                f"committer {cn} <{ce}> différent de l'auteur (enregistrée pour son compte, ou "
                "commit réécrit par rebase / cherry-pick : demandez une nouvelle approbation "
                "pour une identité prouvée)"
            )
        if not repo.is_ancestor(rec.commit, sha):
            declarative.append(
                f"le commit examiné {rec.commit[:10]} (champ « commit » de l'enregistrement de "
                f"{_who(rec.reviewer)}, commit {c_sha[:10]}) n'est pas dans l'historique : "
                "historique réécrit (rebase, filter-branch…), le texte approuvé n'est plus "
                "vérifiable ; demandez une nouvelle approbation"
            )
        records.append(
            StoredRecord(
                rel_name,
                rec,
                c_sha,
                ae,
                an,
                ce,
                cn,
                (signer or "?") if good else None,
                declarative,
            )
        )
    dropped = _removed_records(repo, path, sha, entries, adders, added_at, declared)
    rejected += [d for d, _kept in dropped]
    records += [kept for _d, kept in dropped]  # the referent's decision still stands
    records.sort(key=lambda r: (r.record.time, r.path))
    return records, rejected


def _declared_identities(repo: Repo, sha: str, rel: str) -> set[tuple[str, str]]:
    """Every ``(nom, email)`` declared as referent at ``sha`` (any role), in the
    repository's referents.yaml and the dossier's tender.yaml; unreadable files declare
    nobody (they are reported by the plan)."""
    out: set[tuple[str, str]] = set()
    for raw in repo.blobs([f"{sha}:{REFERENTS_FILE}", f"{sha}:{_join(rel, 'tender.yaml')}"]):
        try:
            data = yaml.safe_load(raw or b"") or {}
        except yaml.YAMLError:
            continue
        refs = data.get("referents") if isinstance(data, dict) else None
        for people in refs.values() if isinstance(refs, dict) else []:
            for p in people if isinstance(people, list) else []:
                if isinstance(p, dict) and p.get("email"):
                    out.add((str(p.get("nom") or p["email"]), str(p["email"]).strip()))
    return out


def _removed_records(
    repo: Repo,
    dossier: Path,
    sha: str,
    entries: list[tuple[str, str]],
    adders: dict[tuple[str, str], list[tuple[str, ...]]],
    added_at: dict[tuple[str, str], str],
    declared: set[tuple[str, str]],
) -> list[tuple[RejectedRecord, StoredRecord]]:
    """Records of this tender that a referent added in the history of ``sha`` and whose
    bytes are absent at ``sha`` (``git rm``, ``git revert``, ``git merge -s ours``, edited
    in place…), as (report, the original record still counting), unless
    the referent removed them themself: a referent's decision is never silently dropped
    (issue 13). A record renamed or moved with its folder (same name or same bytes) is
    not absent."""
    blobs = {b for b, _n in entries}
    gone = [k for k in adders if k[1] not in blobs]
    if not gone:
        return []
    tender_ids: set[str] = set()
    for raw in repo.blobs([b for b, _n in entries]) if entries else []:
        try:
            tender_ids.add(str((yaml.safe_load(raw or b"") or {}).get("tender")))
        except (yaml.YAMLError, AttributeError):
            continue
    if not tender_ids:
        rel = _rel(dossier, repo.top)
        try:
            data = yaml.safe_load(repo.blob(sha, _join(rel, "tender.yaml")) or b"") or {}
            tender_ids.add(str(data.get("id")))
        except (yaml.YAMLError, AttributeError):
            return []
    out: list[tuple[RejectedRecord, StoredRecord]] = []
    for key, raw in zip(gone, repo.blobs([b for _n, b in gone]), strict=True):
        try:
            rec = ReviewRecord.model_validate(yaml.safe_load(raw or b""))
        except (yaml.YAMLError, ValueError):
            continue
        if rec.tender not in tender_ids:
            continue
        by_reviewer = [f for f in adders[key] if _same(f[2], rec.reviewer.email)]
        if not by_reviewer or _confusion(rec.reviewer, declared):
            continue  # never counted: nothing was dropped
        added, an, ae, cn, ce = by_reviewer[-1][:5]
        old_path = added_at[key]
        last = repo.log("-1", sha, paths=[old_path])
        c = last[0] if last else None
        if c is not None and c.sha != added and _same(c.author_email, rec.reviewer.email):
            continue  # the referent withdrew their own record
        if c is not None and c.sha != added:
            how = f"supprimé par {c.author_name} <{c.author_email}> (commit {c.sha[:10]})"
        else:
            how = (
                "absent de la révision examinée sans suppression visible (fusion « git merge "
                "-s ours », réécriture ou retour en arrière de l'historique)"
            )
        reason = (
            f"enregistrement de revue de {_who(rec.reviewer)} (décision « {rec.decision} », "
            f"commit {added[:10]}) {how} : la décision d'un référent ne peut être retirée "
            "ou modifiée que par lui-même ; sa décision d'origine reste prise en compte"
        )
        out.append(
            (
                RejectedRecord(
                    old_path, rec, reason, c.sha if c is not None and c.sha != added else added
                ),
                StoredRecord(
                    old_path,
                    rec,
                    added,
                    ae,
                    an,
                    ce,
                    cn,
                    None,
                    ["commit non signé : identité déclarée, non prouvée", reason],
                ),
            )
        )
    return out


def _why_rejected(
    repo: Repo,
    rev: str,
    path: str,
    rec: ReviewRecord,
    blob: str,
    adders: dict[tuple[str, str], list[tuple[str, ...]]],
) -> RejectedRecord:
    """French reason why the record at ``path`` (blob ``blob``) does not count."""
    last = repo.log("-1", rev, paths=[path])
    c = last[0] if last else None
    who = f"{c.author_name} <{c.author_email}>" if c else "?"
    at = f"commit {c.sha[:10]}" if c else "commit inconnu"
    base = f"enregistrement de revue au nom de {_who(rec.reviewer)} non retenu : "
    if c is not None and c.is_merge:
        reason = (
            f"introduit ou modifié par la fusion (merge) {c.sha[:10]} de {who} ; une revue ne "
            "compte que si le référent l'a lui-même ajoutée dans un commit ordinaire"
        )
    elif c is not None and c.parents and repo.blob(c.parents[0], path) is not None:
        reason = f"enregistrement de revue modifié après coup par {who} ({at})"
    elif any(b == blob for (_n, b) in adders):
        reason = f"enregistrement de revue renommé par {who} ({at})"
    elif c is not None and not _same(c.author_email, rec.reviewer.email):
        reason = (
            f"ajouté par {who} ({at}) et non par le référent lui-même (commit fait à la main, "
            "squash ou rebase d'un autre auteur) ; le référent doit approuver de nouveau"
        )
    else:
        reason = f"enregistrement de revue modifié après coup par {who} ({at})"
    return RejectedRecord(path, rec, base + reason, c.sha if c else None)


def read_records(
    dossier_path: str | os.PathLike[str], rev: str | None = None
) -> list[StoredRecord]:
    """The committed review records that count (see :func:`inspect_records`), oldest
    first (by recorded time).

    Raises:
        InputError: as :func:`inspect_records`.
    """
    return inspect_records(dossier_path, rev)[0]


@dataclass
class RecordResult:
    """A recorded review: path in the repository, the new commit, the record."""

    path: str
    commit: str
    record: ReviewRecord
    file: Path
    plan_items: list[ReviewItem] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


def _branch(repo: Repo) -> tuple[str, str]:
    ref = repo.branch()
    if ref is None:
        raise InputError(
            "HEAD détachée : la revue doit être enregistrée sur une branche ; placez-vous sur "
            "la branche du dossier (git switch main) puis recommencez.",
            str(repo.top),
        )
    head = repo.rev("HEAD")
    if head is None:
        raise InputError(
            "dépôt sans commit : enregistrez d'abord le dossier (git commit) avant de le "
            "soumettre aux référents.",
            str(repo.top),
        )
    return ref, head


def repair_review_index(dossier_path: str | os.PathLike[str]) -> list[str]:
    """Finish review records committed by cahier but not yet in the user's index or
    working tree (a kill between the branch move and the index update).

    For every record of the dossier's ``reviews/`` in HEAD that the user's index does
    not hold (the next ordinary commit would delete it): its entry is added to the index
    (``update-index --cacheinfo``, nothing else of the index changes) and, when absent,
    the file is written into the working tree (never over an existing file). Returns
    French descriptions of what was repaired (empty: nothing to do). Called first by
    every writing review command; ``cahier check`` and ``review status`` never write.
    """
    repo = _repo(Path(dossier_path))
    if repo is None or repo.rev("HEAD") is None:
        return []
    reviews = _join(_rel(Path(dossier_path), repo.top), REVIEWS_DIR)
    in_head = {
        _join(reviews, name): blob
        for _m, typ, blob, name in repo.tree("HEAD", reviews)
        if typ == "blob"
    }
    staged = repo.index_entries(reviews + "/")
    missing = {p: b for p, b in in_head.items() if p not in staged}
    done: list[str] = []
    for p, b in missing.items():
        target = repo.top / p
        if not target.exists():
            data = repo.blobs([b])[0] or b""
            _write_new_file(target, data)
    if missing:
        repo.add_to_index(missing)
        done += [
            f"enregistrement de revue {p} remis dans l'index Git (commande précédente "
            "interrompue ; le prochain commit l'aurait supprimé)."
            for p in sorted(missing)
        ]
    return done


def _check_referent(
    role: str, email: str, referents: dict[str, list[Person]], tender: str
) -> Person:
    people = referents.get(role, [])
    for p in people:
        if p.email.lower() == email.strip().lower():
            _refuse_confusable(p, referents, tender)
            return p
    allowed = ", ".join(f"{p.nom} <{p.email}>" for p in people) or "aucune personne déclarée"
    raise InputError(
        f"revue refusée : {email} n'est pas déclaré(e) {ROLE_LABELS[role]} pour la "
        f"consultation {tender}. Personnes autorisées : {allowed}. Ajoutez le référent dans "
        f"tender.yaml (referents: {role}) ou dans {REFERENTS_FILE}, par un commit.",
        "tender.yaml",
    )


def _mixed_script(text: str) -> bool:
    """Whether ``text`` mixes Latin letters with letters of another script (UTS #39,
    « mixed-script confusables »: a Cyrillic « а » in a Latin e-mail)."""
    import unicodedata

    scripts = {
        unicodedata.name(ch, "?").split(" ")[0]
        for ch in unicodedata.normalize("NFC", text)
        if ch.isalpha()
    }
    return "LATIN" in scripts and len(scripts) > 1


def _skeleton(text: str) -> str:
    """A confusable-folded form (NFKC, transliterated to ASCII, case-folded): two
    identities with the same skeleton look alike (approximation of UTS #39 skeletons)."""
    import unicodedata

    from text_unidecode import unidecode

    return unidecode(unicodedata.normalize("NFKC", text)).casefold().strip()


def _confusable_twin(
    p: Person, declared: list[Person] | set[tuple[str, str]]
) -> tuple[str, str] | None:
    """Another declared identity ``(nom, email)`` that ``p`` can be mistaken for: same
    e-mail skeleton (:func:`_skeleton`) under a different address, or same name skeleton
    while ``p`` mixes scripts. Only the identity that is not plain ASCII is blamed: a
    look-alike declared next to a referent does not disqualify the referent (else
    declaring a sock puppet would silence a referent's objections)."""
    if p.email.isascii() and p.nom.isascii():
        return None
    others = {(o.nom, o.email) if isinstance(o, Person) else o for o in declared}
    others = {o for o in others if o[1].lower() != p.email.lower()}
    return next(
        (
            o
            for o in sorted(others)
            if _skeleton(o[1]) == _skeleton(p.email)
            or (_skeleton(o[0]) == _skeleton(p.nom) and _mixed_script(p.email + p.nom))
        ),
        None,
    )


def _confusion(p: Person, declared: list[Person] | set[tuple[str, str]]) -> str | None:
    """French description of why ``p`` is a look-alike identity (mixed-script e-mail, or
    confusable with another declared referent, UTS #39), or None."""
    twin = _confusable_twin(p, declared)
    if twin is None and not _mixed_script(p.email):
        return None
    like = f" et se confond avec {twin[0]} <{twin[1]}>" if twin else ""
    return (
        f"l'identité de référent {p.nom} <{p.email}> mélange des écritures (lettres latines "
        f"et non latines, ex. « а » cyrillique){like}"
    )


def _refuse_confusable(p: Person, referents: dict[str, list[Person]], tender: str) -> None:
    """Refuse a review as a referent whose identity can be mistaken for another declared
    referent's (same name or e-mail after confusable folding, or a mixed-script e-mail).

    Raises:
        InputError: French, naming both identities and tender.yaml.
    """
    why = _confusion(p, [o for people in referents.values() for o in people])
    if why is None:
        return
    raise InputError(
        f"revue refusée : {why} dans la consultation {tender} ; une approbation à ce nom "
        "serait trompeuse. Corrigez la déclaration du référent dans tender.yaml (referents) "
        "par un commit, avec son adresse exacte.",
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
        gitdir = Repo.discover(top).git_dir
        marked = (gitdir / DEMO_MARKER).read_text(encoding="utf-8").strip()
    except (OSError, InputError):
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


def _choose_name(repo: Repo, tree_commit: str, reviews: str, stamp: str, role: str) -> str:
    existing = {_join(reviews, name) for _m, _t, _b, name in repo.tree(tree_commit, reviews)}
    n = 1
    while True:
        name = f"{stamp}-{role}" + (f"-{n}" if n > 1 else "") + ".yaml"
        path = _join(reviews, name)
        if path not in existing and not (repo.top / path).exists():
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
    repo = _repo(path)
    if repo is None:
        raise InputError(
            "ce dossier n'est pas dans un dépôt Git : les revues sont enregistrées dans "
            "l'historique Git du dossier (git init, git add, git commit).",
            os.fspath(dossier_path),
        )
    top = repo.top
    repo.require_full_history("cahier review " + decision)
    ref, head = _branch(repo)
    repaired = repair_review_index(dossier_path)
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
    # « commit-tree » (plumbing) ignores commit.gpgSign: sign explicitly when the person
    # recording has a key (user.signingkey) or asked for signatures (commit.gpgsign).
    sign = repo.text("config", "--type=bool", "commit.gpgsign", check=False).strip() == "true"
    sign = sign or bool(repo.text("config", "user.signingkey", check=False).strip())
    _sig_args, policy = _signature_args(dossier_path)
    if policy == "signature-obligatoire" and not sign:
        raise InputError(
            "revue refusée : la politique de signature du vérificateur est « "
            "signature-obligatoire » et aucune clé de signature n'est configurée ; "
            "configurez git config user.signingkey (clé SSH ou GPG du référent) et "
            "gpg.format, puis recommencez.",
            os.fspath(dossier_path),
        )
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
    blob = repo.hash_object(content)
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
    new = rel_path = None
    for attempt in range(max_attempts):
        old = repo.ref(ref)
        if old is None:
            raise InputError(f"branche {ref} introuvable.", os.fspath(dossier_path))
        rel_path = _choose_name(repo, old, reviews, stamp, role)
        try:
            new = repo.commit_files(ref, old, {rel_path: blob}, message, env=env, sign=sign)
            break
        except RefMoved:
            time.sleep(0.01 * (attempt + 1))  # another review landed: rebase on it
        except GitError as exc:
            raise InputError(
                f"revue non enregistrée : {exc.message}", os.fspath(dossier_path)
            ) from None
    else:
        raise InputError(
            "revue non enregistrée : la branche a changé trop souvent pendant "
            "l'enregistrement (revues simultanées) ; recommencez.",
            os.fspath(dossier_path),
        )
    assert new is not None and rel_path is not None
    target = top / rel_path
    _write_new_file(target, content)
    step("worktree")
    _add_to_user_index(repo, blob, rel_path)
    return RecordResult(rel_path, new, record, target, role_items, repaired)


def _four_eyes_refusal(
    role: str,
    reviewer: Person,
    declaration: Declaration | None,
    changes: dict[str, list[Change]],
    labels: dict[str, str],
) -> str | None:
    """French reason why ``reviewer``'s approval breaks the four-eyes rule, or None."""
    if declaration is not None and (
        _same(declaration.author, reviewer)
        or (declaration.committer is not None and _same(declaration.committer, reviewer))
    ):
        return (
            f"{_who(reviewer)} a été déclaré(e) {ROLE_LABELS[role]} par cette même personne "
            f"(commit {declaration.commit[:10]} du {declaration.time:%d/%m/%Y}, "
            f"{declaration.file}) ; une déclaration de référent doit être faite par une autre "
            "personne (l'acheteur ou le service), puis la revue recommencée"
        )
    for iid, lst in changes.items():
        for ch in lst:
            as_committer = ch.committer is not None and _same(ch.committer, reviewer)
            if _same(ch.author, reviewer) or as_committer:
                what = (
                    "committer" if as_committer and not _same(ch.author, reviewer) else "auteur(e)"
                )
                return (
                    f"{_who(reviewer)} est {what} d'une modification de "
                    f"{labels.get(iid, iid)} (commit {ch.commit[:10]} du {ch.time:%d/%m/%Y}"
                    + (f", auteur {_who(ch.author)}" if what == "committer" else "")
                    + ") ; chaque commit qui a modifié l'élément depuis son approbation "
                    "précédente compte, pas seulement le dernier ; l'approbation doit venir "
                    f"d'un(e) autre {ROLE_LABELS[role]} déclaré(e)"
                )
    return None


def _previous_approvals(
    records: list[StoredRecord], role: str, before: StoredRecord | None = None
) -> dict[str, str]:
    """Item id → commit reviewed by the latest approval of the role (older than
    ``before`` when given): the point from which the four-eyes rule looks at changes."""
    out: dict[str, str] = {}
    for stored in records:  # oldest first
        if before is not None and (stored is before or stored.record.time >= before.record.time):
            break
        rec = stored.record
        if rec.role == role and rec.decision == "approve":
            for it in rec.items:
                out[it.id] = rec.commit
    return out


def _check_four_eyes(
    dossier_path, role: str, reviewer: Person, head: str, items: list[ReviewItem], clausier_path
) -> None:
    declaration = referent_declaration(dossier_path, role, reviewer.email, head)
    since = _previous_approvals(read_records(dossier_path, head), role)
    changes = item_changes(
        dossier_path, head, {i.id for i in items}, since=since, clausier_path=clausier_path
    )
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


def _add_to_user_index(repo: Repo, blob: str, rel_path: str) -> None:
    """Add the record's entry to the user's index (retried while index.lock is held)."""
    try:
        repo.add_to_index({rel_path: blob})
    except GitError as exc:
        raise InputError(
            f"revue enregistrée dans Git, mais l'index n'a pu être mis à jour ({exc.detail}) ; "
            "relancez une commande cahier review (elle répare l'index), ou exécutez "
            f"« git reset -q -- {rel_path} ».",
            rel_path,
        ) from None


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
