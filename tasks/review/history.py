"""Changes of an item in Git history: every commit that changed its digest, with its
author and committer (four-eyes rule, docs/reviews.md)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from tasks.dossier.model import Person, _Model
from tasks.errors import InputError
from tasks.git import GitError

from .gitpaths import _dossier_pathspec, _rel, _repo
from .identity import _person
from .plan import plan_for


class Change(_Model):
    """A commit that changed an item's reviewed text (its digest): its author and committer."""

    commit: str
    author: Person
    time: dt.datetime
    committer: Person | None = None
    #: the dossier could not be read at this commit (or its parent): the item's text
    #: there is unknown, so the commit counts as a change (fail closed)
    unreadable: bool = False


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

    A commit at which the dossier cannot be read (invalid tender.yaml…), and the commit
    that makes it readable again, count as changes of every item (``unreadable``): what
    they did to the item cannot be proven, so its author and committer are involved —
    else a referent could hide an edit behind a broken file that someone else repairs.
    """
    repo = _repo(Path(dossier_path))
    if repo is None:
        return {}
    plans = {} if _plans is None else _plans
    since = since or {}

    def digests(commit: str) -> dict[str, str] | None:
        """Item id → digest at ``commit``; None when the dossier cannot be read there."""
        if commit not in plans:
            try:
                plan = plan_for(dossier_path, rev=commit, clausier_path=clausier_path)
                plans[commit] = {i.id: i.digest for i in plan.items}
            except (InputError, ValueError):
                plans[commit] = None  # type: ignore[assignment]
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
    if not current:
        return {}
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
        unreadable = after is None or any(b is None for b in befores)
        for iid in ids:
            if after is not None and iid not in after:
                continue
            if unreadable or all(b.get(iid) != after[iid] for b in befores):
                out.setdefault(iid, []).append(
                    Change(
                        commit=c.sha,
                        author=_person(c.author_name, c.author_email),
                        committer=_person(c.committer_name, c.committer_email),
                        time=dt.datetime.fromisoformat(c.author_date),
                        unreadable=unreadable,
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
