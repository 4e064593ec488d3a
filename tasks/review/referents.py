"""Referents: who may approve for a role (tender.yaml over referents.yaml), and which
commit declared them (renames and reverts followed, for the four-eyes rule)."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import Field

from tasks.dossier.model import Person, Role, _Model
from tasks.dossier.reader import Dossier
from tasks.dossier.yamlio import validate_yaml
from tasks.errors import InputError
from tasks.git import Repo

from .gitpaths import _join, _rel, _repo
from .identity import _person, _same, _who
from .model import REFERENTS_FILE, ROLE_LABELS, ReferentsFile


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


@dataclass(frozen=True)
class _Declared:
    """The referent declarations at one commit (see :func:`_declared_at`)."""

    #: role → {e-mail (lower case) → declaring file}
    roles: dict[str, dict[str, str]]
    #: file that cannot be parsed at that commit → its text (lower case)
    unparsed: dict[str, str]

    def file_of(self, role: str, email_re: re.Pattern[str], email: str) -> str | None:
        """The file that declares ``email`` (``email_re``: the address as a whole word)
        for ``role``, or None.

        A file that cannot be parsed (a YAML error) counts as declaring every address
        written in it, for every role: who wrote a declaration must not be lost because
        the same commit broke the file (else the colleague who repairs it would be taken
        for the declarer, and a self-declaration would pass) — fail closed.
        """
        got = self.roles.get(role, {}).get(email)
        if got is not None:
            return got
        return next((f for f, text in self.unparsed.items() if email_re.search(text)), None)


def _declared_at(repo: Repo, commit: str, tender_files: list[str]) -> _Declared:
    """The declarations at ``commit``.

    tender.yaml roles replace the repository-wide ones, as in :func:`load_referents`.
    ``tender_files`` are every path the dossier's tender.yaml had in history (a folder
    renamed with ``git mv`` keeps its declarations); at one commit only one exists. A
    file that cannot be parsed at that commit is kept as text (:meth:`_Declared.file_of`).
    """
    from tasks.dossier.yamlio import load_yaml

    unparsed: dict[str, str] = {}

    def people(raw: bytes | None, name: str) -> dict[str, dict[str, str]]:
        if raw is None:
            return {}
        try:
            data, _ = load_yaml(raw, name)
        except InputError:
            unparsed[name] = raw.decode("utf-8", "replace").lower()
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
    return _Declared(merged, unparsed)


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
    key_re = re.compile(rf"(?<![\w.+-]){re.escape(key)}(?![\w-]|\.\w)")
    cache: dict[str, str | None] = {}

    def where(commit: str) -> str | None:
        if commit not in cache:
            cache[commit] = _declared_at(repo, commit, paths).file_of(role, key_re, key)
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
