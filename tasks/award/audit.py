"""The auditor's view: a tender's timeline from Git history, and archive verification.

:func:`timeline` replays the history of a dossier commit by commit: who changed what
(drafts, evaluation, review records, archives), with the check re-run on every commit
that changed tender.yaml or a piece (``read_dossier(path, rev=sha)``, so the result is
the one anyone gets by replaying that commit), the current state of the referent
reviews (approved, lapsed…) and the archives with their tags.

Events are sorted by time (stable: a commit's check follows its drafting); the assembly
manifest, outside Git, is placed at its file time.

:func:`verify` recomputes every hash of every archive of the tender and checks:

* every archive the branch's history knows (a commit that added
  ``archive/<n>/manifest.json``, or an archive commit, trailer ``Cahier-Archive:``) is
  still there: an archive removed by a commit (``git rm`` + commit, revert) is reported
  with the commit that added it and the one that removed it, even when its tag was
  deleted too;

* each archive folder has its annotated tag ``cahier/<id>/archive-<n>`` (a deleted tag
  is reported), the tag still designates the commit written in its message, that commit
  is in the branch's history and is the one that added the folder (a rebase or a
  ``git filter-repo`` rewrites commits: reported with the commit named);
* the manifest's SHA-256 equals the one in the tag, every file's SHA-256 equals the one
  in the manifest, no file was added or removed;
* the files are unchanged since the archive commit, in HEAD (the commit that altered a
  file is named) and in the working tree;
* the chain: each manifest records the SHA-256 of the previous archive's manifest, and
  its ``source_commit`` is the parent of the archive commit.

Problems are listed in archive order; the first one names the first altered file or
rewritten commit.

Layout: :mod:`.audit_common` (records, opening), :mod:`.audit_timeline`
(:func:`timeline`), :mod:`.audit_archives` (the checks above, one function each),
:mod:`.audit_trust` (what the files alone cannot prove: re-created numbers, incomplete
tags, review records changed after archiving, replaced objects, the evaluation
recomputed, the index staging a deletion); :func:`verify` composes them with the
witnesses (:mod:`.witness`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tasks.git import Repo

from .archive_plan import ARCHIVE_DIR, MANIFEST, is_archive_name, read_manifest, sha256
from .archive_plan import join_path as _join
from .audit_archives import archive_checks
from .audit_common import Event, Problem, archive_tags, open_audit, tender_id_of
from .audit_timeline import timeline
from .audit_trust import trust_checks

__all__ = [
    "Event",
    "Problem",
    "method_notes",
    "timeline",
    "verify",
    "witness_statements",
    "witnesses_prove",
]


def verify(dossier: str | os.PathLike[str]) -> tuple[list[int], list[Problem]]:
    """Verify every archive of the tender; returns ``(archive numbers, problems)``.

    An empty problem list means every hash, tag and link of the chain checks out. The
    problems come in this order: the archive files, archive by archive, then the chain
    (:func:`.audit_archives.archive_checks`); the trust checks
    (:func:`.audit_trust.trust_checks`); the witnesses (:func:`.witness.check_witnesses`).

    Raises:
        InputError: not a Git repository, no tender.yaml.
    """
    repo, top, rel, head = open_audit(dossier)
    with repo:
        tender_id = tender_id_of(repo, top, rel)
        tags = archive_tags(repo, tender_id)
        git = Repo.discover(top)
        arch_rel = _join(rel, ARCHIVE_DIR)
        numbers, problems = archive_checks(repo, git, rel, head, tender_id, tags)
        problems += trust_checks(git, rel, arch_rel, tender_id, head.hexsha, tags)
        _statements, found = _witness_check(git, dossier, tender_id, arch_rel, head, tags)
        problems += [Problem(code, msg) for code, msg in found]
    # the first problem of the lowest archive comes first
    return numbers, problems


def _witness_check(
    git: Repo, dossier: Any, tender_id: str, arch_rel: str, head: Any, tags: dict[int, Any]
) -> tuple[list[str], list[tuple[str, str]]]:
    from tasks.config.settings import load_settings

    from .witness import check_witnesses

    settings = load_settings(Path(dossier))
    archives: dict[int, tuple[str, str | None]] = {}
    for _m, typ, _b, name in git.tree(head.hexsha, arch_rel):
        if typ == "tree" and is_archive_name(name):
            raw = git.blob(head.hexsha, _join(arch_rel, name, MANIFEST)) or b""
            tag = tags.get(int(name))
            archives[int(name)] = (
                sha256(raw),
                tag.tag.hexsha if tag is not None and tag.tag else None,
            )
    return check_witnesses(git, settings.witnesses, tender_id, archives, prefect=settings.prefect)


def witnesses_prove(dossier: str | os.PathLike[str]) -> bool:
    """Whether a witness of the verifier's own configuration (outside the repository) is
    configured: only then can ``audit --verify`` say « conformes aux témoins »; witnesses
    declared by the repository's or organisation's files (the buyer's) prove nothing,
    nor does the buyer's own Prefect server (:func:`.witness_prefect.refusal`)."""
    from tasks.config.settings import load_settings

    settings = load_settings(Path(dossier))
    for w in settings.witnesses:
        if not w.verificateur:
            continue
        if w.kind != "prefect":
            return True
        from .witness_prefect import refusal

        try:
            if refusal(w.target, settings.prefect) is None:
                return True
        except Exception:  # unreachable: reported as a problem by verify
            continue
    return False


def method_notes(dossier: str | os.PathLike[str]) -> list[str]:
    """French notes for archives made with another evaluation method than today's
    (``methode_evaluation`` of the manifest): their results are not recomputed, and this
    is a change of method, not an alteration."""
    from .evaluation import METHOD_VERSION

    repo, top, rel, head = open_audit(dossier)
    repo.close()
    git = Repo.discover(top)
    arch_rel = _join(rel, ARCHIVE_DIR)
    out = []
    for _m, typ, _b, name in git.tree(head.hexsha, arch_rel):
        if typ != "tree" or not is_archive_name(name):
            continue
        man = read_manifest(git.blob(head.hexsha, _join(arch_rel, name, MANIFEST)))
        if man is None:
            continue  # « manifeste illisible », reported by the archive checks
        method = man.get("methode_evaluation")
        if method is None:
            out.append(
                f"archive n° {name} : faite avant l'enregistrement de la méthode d'évaluation ; "
                "son classement n'est pas recalculé."
            )
        elif str(method) != METHOD_VERSION:
            out.append(
                f"archive n° {name} : méthode d'évaluation v{method}, aujourd'hui "
                f"v{METHOD_VERSION} ; le classement n'est pas recalculé (changement de "
                "méthode, pas une altération)."
            )
    return out


def witness_statements(dossier: str | os.PathLike[str]) -> list[str]:
    """What each configured witness proves (French), for ``cahier audit --verify``; with
    no witness, the one statement that nothing outside the repository was checked."""
    repo, top, rel, head = open_audit(dossier)
    with repo:
        tender_id = tender_id_of(repo, top, rel)
        tags = archive_tags(repo, tender_id)
        statements, _ = _witness_check(
            Repo.discover(top), dossier, tender_id, _join(rel, ARCHIVE_DIR), head, tags
        )
    return statements
