"""Shared pieces of the audit (:mod:`tasks.award.audit`): its records (:class:`Event`,
:class:`Problem`), opening the repository, the tender id and the archive tags."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.errors import InputError
from tasks.git import Repo

from .archive_git import _tree_entry, archive_tags, misdirected_tags, open_repo
from .archive_plan import ARCHIVE_DIR, MANIFEST, TRAILER, sha256
from .archive_plan import join_path as _join

__all__ = [
    "Event",
    "Problem",
    "archive_creations",
    "archive_tags",
    "folder_at",
    "is_ancestor",
    "misdirected_tags",
    "open_audit",
    "sha256",
    "tag_fields",
    "tender_id_of",
]


@dataclass
class Event:
    """One line of the timeline (French ``summary`` and ``details``)."""

    when: dt.datetime
    kind: str  # rédaction, contrôle, revue, évaluation, archive, assemblage, autre
    commit: str
    author: str
    summary: str
    details: list[str] = field(default_factory=list)


@dataclass
class Problem:
    """A verification failure: ``code``, French ``message``, the file and commit concerned."""

    code: str
    message: str
    file: str | None = None
    commit: str | None = None

    def render(self) -> str:
        where = self.file or ""
        if self.commit:
            where += f" (commit {self.commit[:12]})" if where else f"commit {self.commit[:12]}"
        return f"{where} : {self.message}" if where else self.message


_WHY_GIT = (
    "cahier audit relit l'historique Git du dossier (validations, auteurs, étiquettes) pour "
    "en faire la chronologie et vérifier ses archives"
)


def open_audit(dossier: str | os.PathLike[str]) -> tuple[Any, Path, str, Any]:
    """``(repo, top, rel, head commit)``; French errors outside a repository, on a grafted
    or shallow history (see :func:`tasks.git.refuse_partial_history`) or before the
    first commit."""
    from tasks.git import refuse_partial_history

    repo, top, rel = open_repo(dossier, why=_WHY_GIT)
    try:
        refuse_partial_history(repo.common_dir, "cahier audit", top)
    except InputError:
        repo.close()
        raise
    try:
        head = repo.head.commit
    except ValueError:
        repo.close()
        raise InputError(
            "le dépôt Git n'a encore aucune validation (commit) : validez le dossier (git add, "
            "git commit) ; cahier audit relit son historique.",
            str(dossier),
        ) from None
    return repo, top, rel, head


def tender_id_of(repo: Any, top: Path, rel: str) -> str:
    """The tender id of tender.yaml (working tree, else HEAD). Raises InputError."""
    from tasks.dossier.model import Tender
    from tasks.dossier.yamlio import validate_yaml

    path = top / rel / "tender.yaml"
    if path.is_file():
        raw = path.read_bytes()
    else:
        entry = _tree_entry(repo.head.commit, _join(rel, "tender.yaml"))
        if entry is None:
            raise InputError("tender.yaml introuvable.", _join(rel, "tender.yaml"))
        raw = entry.data_stream.read()
    return validate_yaml(Tender, raw, _join(rel, "tender.yaml")).id


def is_ancestor(repo: Any, a: str, b: str) -> bool:
    """Whether commit ``a`` is an ancestor of (or equal to) ``b``."""
    import git

    try:
        repo.git.merge_base("--is-ancestor", a, b)
        return True
    except git.GitCommandError:
        return False


def tag_fields(tag_obj: Any) -> dict[str, str]:
    """``Champ: valeur`` lines of an annotated tag's message (``Commit``, ``Manifeste-SHA256``…)."""
    msg = getattr(tag_obj, "message", "") or ""
    return dict(re.findall(r"^([A-Za-z-]+[0-9]*): (\S+)$", msg, re.M))


def folder_at(commit: Any, n: int) -> str | None:
    """Path of the ``…/archive/<n>`` folder that ``commit`` added (None if none)."""
    parent = commit.parents[0] if commit.parents else None
    for d in commit.diff(parent, R=True) if parent is not None else []:
        path = d.b_path or ""
        m = re.fullmatch(rf"(.*{ARCHIVE_DIR}/{n})/{re.escape(MANIFEST)}", path)
        if m and d.change_type == "A":
            return m.group(1)
    return None


def archive_creations(repo: Repo, tender_id: str) -> dict[int, list[str]]:
    """Archive number → archive commits (trailer ``Cahier-Archive: <id>/<n>``) of HEAD's
    history, newest first."""
    created: dict[int, list[str]] = {}
    trailer = re.compile(rf"^{TRAILER}: {re.escape(tender_id)}/([1-9][0-9]*)$", re.M)
    log = repo.text(
        "log", "HEAD", "--fixed-strings", f"--grep={TRAILER}: {tender_id}/", "--format=%H%x00%B%x1e"
    )
    for record in log.split("\x1e"):
        sha, _, body = record.strip().partition("\x00")
        for m in trailer.finditer(body):
            created.setdefault(int(m.group(1)), []).append(sha)
    return created
