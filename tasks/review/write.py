"""Writing a review decision: the record committed with the reviewer as author through
a temporary index and the compare-and-swap of the branch (:meth:`tasks.git.Repo.commit_files`),
then the file and the user's index; repair after an interrupted command."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import yaml

from tasks.dossier.model import Person
from tasks.errors import InputError
from tasks.git import GitError, RefMoved, Repo, step

from .four_eyes import _check_four_eyes
from .gitpaths import _join, _rel, _repo, _require_dossier
from .identity import (
    _check_referent,
    _same,
    _signature_args,
    _who,
    check_role,
    committer_identity,
    is_demo_repository,
)
from .model import (
    DECISION_LABELS,
    REVIEWS_DIR,
    ROLE_LABELS,
    Decision,
    ReviewItem,
    ReviewItemDigest,
    ReviewPlan,
    ReviewRecord,
)
from .plan import plan_for


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


# Over ~80 lines by its docstring only (the public contract: identities, four-eyes rule, Git
# procedure, arguments, errors); the body is a sequence of named steps.
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
    _check_decision(decision, comment)
    _check_reviews_folder(Path(dossier_path))
    repo = _review_repo(dossier_path, decision)
    ref, head = _branch(repo)
    repaired = repair_review_index(dossier_path)
    plan = plan_for(dossier_path, rev=head, clausier_path=clausier_path)
    reviewer = _check_referent(role, reviewer_email, plan.referents, plan.tender)
    if reviewer_name:
        reviewer = Person(nom=reviewer_name, email=reviewer.email)
    committer = committer_identity(repo.top)
    recorder = recorded_by or committer
    on_behalf = _check_recorder(dossier_path, reviewer, recorder, allow_on_behalf)
    role_items = _items_reviewed(dossier_path, plan, role, head, items)
    if decision == "approve":
        _check_four_eyes(dossier_path, role, reviewer, head, role_items, clausier_path)
    sign = _signing(repo, dossier_path)
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
        recorded_by=recorder if (on_behalf or recorded_by is not None) else None,
        provenance="demonstration" if is_demo_repository(repo.top) else None,
    )
    content = _record_yaml(record).encode("utf-8")
    blob = repo.hash_object(content)
    env = _identity_env(reviewer, when, committer or recorder or reviewer)
    new, rel_path = _commit_record(
        repo,
        ref,
        _NewRecord(
            reviews=_join(_rel(Path(dossier_path), repo.top), REVIEWS_DIR),
            stamp=when.strftime("%Y%m%dT%H%M%SZ"),
            role=role,
            blob=blob,
            message=_commit_message(record, role_items, on_behalf),
        ),
        env,
        sign,
        max_attempts,
        dossier_path,
    )
    target = repo.top / rel_path
    _write_new_file(target, content)
    step("worktree")
    _add_to_user_index(repo, blob, rel_path)
    return RecordResult(rel_path, new, record, target, role_items, repaired)


def _check_reviews_folder(dossier: Path) -> None:
    """The record is written into ``reviews/`` after its commit: a file or a link in its
    place is refused before anything is committed (else the commit would land and its
    record could not be written beside it)."""
    folder = dossier / REVIEWS_DIR
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise InputError(
            "« reviews » doit être un dossier (les revues y sont enregistrées) : ce chemin "
            "est un fichier ou un lien ; renommez-le, puis recommencez. Rien n'a été "
            "enregistré.",
            str(folder),
        )


def _check_decision(decision: str, comment: str) -> None:
    """Refuse an unknown decision, or a request for changes without a comment."""
    if decision not in get_args(Decision):
        raise InputError(f"décision « {decision} » inconnue : « approve » ou « request-changes ».")
    if decision == "request-changes" and not comment.strip():
        raise InputError(
            "une demande de modifications doit être motivée : indiquez --comment « … »."
        )


def _review_repo(dossier_path: str | os.PathLike[str], decision: str) -> Repo:
    """The Git repository of an existing dossier, with its full history.

    Raises:
        InputError: no tender.yaml, not in Git, shallow clone.
    """
    _require_dossier(dossier_path)
    repo = _repo(Path(dossier_path))
    if repo is None:
        raise InputError(
            "ce dossier n'est pas dans un dépôt Git : les revues sont enregistrées dans "
            "l'historique Git du dossier (git init, git add, git commit).",
            os.fspath(dossier_path),
        )
    repo.require_full_history("cahier review " + decision)
    return repo


def _check_recorder(
    dossier_path: str | os.PathLike[str],
    reviewer: Person,
    recorder: Person | None,
    allow_on_behalf: bool,
) -> bool:
    """Whether the decision is recorded on behalf of the reviewer by ``recorder``.

    Raises:
        InputError: without ``allow_on_behalf``, an unknown Git identity or one that is
            not the reviewer's.
    """
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
    return on_behalf


def _items_reviewed(
    dossier_path: str | os.PathLike[str],
    plan: ReviewPlan,
    role: str,
    head: str,
    items: list[str] | None,
) -> list[ReviewItem]:
    """The plan's items of ``role`` named by ``items`` (default: all of them).

    Raises:
        InputError: no item for the role, or an id that is not one of them.
    """
    role_items = plan.for_role(role)
    if not role_items:
        raise InputError(
            f"aucun élément à revoir pour le rôle « {role} » dans la consultation "
            f"{plan.tender} (commit {head[:10]}) ; rôles concernés : "
            f"{', '.join(plan.roles()) or 'aucun'}.",
            os.fspath(dossier_path),
        )
    if not items:
        return role_items
    known = {i.id: i for i in role_items}
    unknown = [i for i in items if i not in known]
    if unknown:
        raise InputError(
            f"élément(s) inconnu(s) pour le rôle « {role} » : {', '.join(unknown)} ; "
            f"éléments : {', '.join(known)}."
        )
    return [known[i] for i in items]


def _signing(repo: Repo, dossier_path: str | os.PathLike[str]) -> bool:
    """Whether to sign the review commit.

    « commit-tree » (plumbing) ignores commit.gpgSign: sign explicitly when the person
    recording has a key (user.signingkey) or asked for signatures (commit.gpgsign).

    Raises:
        InputError: the verifier's policy is « signature-obligatoire » and no key is set.
    """
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
    return sign


def _commit_message(record: ReviewRecord, items: list[ReviewItem], on_behalf: bool) -> str:
    """The review commit's message: decision, comment, items, reviewed commit, run."""
    message = (
        f"Revue {ROLE_LABELS[record.role]} : {DECISION_LABELS[record.decision]} — "
        f"{record.tender}\n\n"
        + (f"{record.comment}\n\n" if record.comment else "")
        + "".join(f"- {i.label()}\n" for i in items)
        + f"\nCommit examiné : {record.commit}\nClausier : {record.clausier_version}\n"
        + (f"Run Prefect : {record.flow_run}\n" if record.flow_run else "")
    )
    if record.recorded_by is not None and on_behalf:
        message += (
            f"Enregistrée par {_who(record.recorded_by)} pour le compte de "
            f"{_who(record.reviewer)}\n"
        )
    return message


def _identity_env(reviewer: Person, when: dt.datetime, committer: Person) -> dict[str, str]:
    """Git environment naming the reviewer as author (at ``when``) and the committer."""
    return {
        "GIT_AUTHOR_NAME": reviewer.nom,
        "GIT_AUTHOR_EMAIL": reviewer.email,
        "GIT_AUTHOR_DATE": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "GIT_COMMITTER_NAME": committer.nom,
        "GIT_COMMITTER_EMAIL": committer.email,
    }


@dataclass
class _NewRecord:
    """What the review commit adds: ``reviews/<stamp>-<role>[-n].yaml`` holding ``blob``."""

    reviews: str  # the dossier's reviews folder, path in the repository
    stamp: str
    role: str
    blob: str
    message: str


def _commit_record(
    repo: Repo,
    ref: str,
    new: _NewRecord,
    env: dict[str, str],
    sign: bool,
    max_attempts: int,
    dossier_path: str | os.PathLike[str],
) -> tuple[str, str]:
    """Commit the record on ``ref`` by compare-and-swap (:meth:`tasks.git.Repo.commit_files`),
    retried when another review landed meanwhile; returns (new commit, record path).

    Raises:
        InputError: branch missing, Git failure, branch moving ``max_attempts`` times.
    """
    for attempt in range(max_attempts):
        old = repo.ref(ref)
        if old is None:
            raise InputError(f"branche {ref} introuvable.", os.fspath(dossier_path))
        rel_path = _choose_name(repo, old, new.reviews, new.stamp, new.role)
        try:
            commit = repo.commit_files(
                ref, old, {rel_path: new.blob}, new.message, env=env, sign=sign
            )
            return commit, rel_path
        except RefMoved:
            time.sleep(0.01 * (attempt + 1))  # another review landed: rebase on it
        except GitError as exc:
            raise InputError(
                f"revue non enregistrée : {exc.message}", os.fspath(dossier_path)
            ) from None
    raise InputError(
        "revue non enregistrée : la branche a changé trop souvent pendant "
        "l'enregistrement (revues simultanées) ; recommencez.",
        os.fspath(dossier_path),
    )


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
