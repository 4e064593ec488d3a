"""Audit checks of the archive files themselves (hashes, tags, chain), archive by archive.

:func:`archive_checks` scans every archive number the tender has known (tags, HEAD,
working tree, history) and returns the problems of each, then those of the hash chain;
the order is the one :func:`tasks.award.audit.verify` reports (the first problem of the
lowest archive first). What is checked is listed in :mod:`tasks.award.audit`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.git import Repo as GitRepo

from .archive_git import _tree_entry, archive_numbers
from .archive_plan import ARCHIVE_DIR, MANIFEST, is_archive_name, read_manifest, sha256, tag_name
from .archive_plan import join_path as _join
from .audit_common import (
    Problem,
    archive_creations,
    folder_at,
    is_ancestor,
    misdirected_tags,
    tag_fields,
)

__all__ = ["archive_checks"]


@dataclass
class _Scan:
    """What the checks of one tender share: the repository (GitPython), HEAD, the tags
    and archive numbers found, and the manifests read so far (for the chain)."""

    repo: Any
    top: Path
    head: Any
    tender_id: str
    arch_rel: str
    tags: dict[int, Any]
    in_head: list[int]
    in_wt: list[int]
    history: dict[int, str]
    manifests: dict[int, bytes] = field(default_factory=dict)

    @property
    def numbers(self) -> list[int]:
        """Every archive number known by a tag, HEAD, the working tree or the history."""
        return sorted(set(self.tags) | set(self.in_head) | set(self.in_wt) | set(self.history))


def _missing_tag(scan: _Scan, n: int, folder: str) -> Problem:
    """An archive without its tag: interrupted archive (HEAD is its commit) or deleted tag."""
    tname = tag_name(scan.tender_id, n)
    pending = re.search(
        rf"^Cahier-Archive: {re.escape(scan.tender_id)}/{n}$", scan.head.message, re.M
    )
    added = scan.history.get(n)
    if n in misdirected_tags(scan.repo, scan.tender_id):
        return Problem(
            "etiquette-remplacee",
            f"l'étiquette {tname} de l'archive {n} ne désigne plus un commit (déplacée sur "
            "un arbre ou un fichier) : l'archive ne peut plus être rattachée au commit qui "
            "l'a créée.",
            folder,
            added,
        )
    return Problem(
        "etiquette-absente",
        f"l'étiquette {tname} de l'archive {n} est absente (archive "
        "interrompue, ou étiquette supprimée) : relancez « cahier archive », qui "
        "la recrée à l'identique sans créer d'autre archive."
        if pending
        else f"l'étiquette {tname} de l'archive {n} est absente (supprimée ?) "
        "alors que l'archive est présente"
        + (
            f" ; elle a été ajoutée par le commit {added[:12]}"
            if added
            else " : l'archive ne peut plus être rattachée au commit qui l'a créée"
        )
        + ".",
        folder,
        added,
    )


def _tag_commit_problem(scan: _Scan, n: int, folder: str, tag: Any) -> Problem | None:
    """The tag designates another commit than its message says, or one outside the branch."""
    tname = tag_name(scan.tender_id, n)
    actual = tag.commit.hexsha
    recorded = tag_fields(tag.tag).get("Commit")
    if recorded and recorded != actual:
        return Problem(
            "commit-reecrit",
            f"l'étiquette {tname} désignait le commit {recorded[:12]} et désigne "
            f"maintenant {actual[:12]} : historique réécrit (rebase, filter-repo).",
            folder,
            recorded,
        )
    if not is_ancestor(scan.repo, actual, scan.head.hexsha):
        return Problem(
            "commit-reecrit",
            f"le commit {actual[:12]} de l'archive {n} (étiquette {tname}) n'est "
            "plus dans l'historique de la branche : historique réécrit.",
            folder,
            actual,
        )
    return None


def _check_tagged(scan: _Scan, n: int, folder: str, tag: Any) -> tuple[list[Problem], Any]:
    """Checks of an archive through its annotated tag; the problems and the archive commit
    (None when the tag does not designate the commit that added the folder)."""
    out = [p for p in [_tag_commit_problem(scan, n, folder, tag)] if p is not None]
    base_commit = tag.commit
    # the folder's path at the archive commit (the dossier may have been moved
    # since with « git mv »: a legitimate operation)
    then = folder_at(base_commit, n) or folder
    tree = _tree_entry(base_commit, then)
    parent_tree = _tree_entry(base_commit.parents[0], then) if base_commit.parents else None
    if tree is None or tree.type != "tree" or parent_tree is not None:
        out.append(
            Problem(
                "etiquette-deplacee",
                f"l'étiquette {tag_name(scan.tender_id, n)} ne désigne pas le commit qui a "
                f"ajouté {folder}.",
                folder,
                base_commit.hexsha,
            )
        )
        return out, None
    out += _check_files(
        n,
        folder,
        {b.name: b.data_stream.read() for b in tree.blobs},
        tag_fields(tag.tag).get("Manifeste-SHA256"),
        base_commit,
        "au commit d'archive",
    )
    names = [b.name for b in tree.blobs]
    scan.manifests[n] = (tree / MANIFEST).data_stream.read() if MANIFEST in names else b""
    return out, base_commit


def _check_tag(scan: _Scan, n: int, folder: str) -> tuple[list[Problem], Any]:
    """The tag of archive ``n``: absent, replaced (lightweight) or checked; the archive
    commit when the tag leads to it."""
    tag = scan.tags.get(n)
    if tag is None:
        return [_missing_tag(scan, n, folder)], None
    if tag.tag is None:
        return [
            Problem(
                "etiquette-remplacee",
                f"l'étiquette {tag_name(scan.tender_id, n)} n'est plus une étiquette annotée "
                "créée par cahier (remplacée ?).",
                folder,
                tag.commit.hexsha,
            )
        ], None
    return _check_tagged(scan, n, folder, tag)


def _check_head(scan: _Scan, n: int, folder: str, base_commit: Any) -> list[Problem]:
    """HEAD must hold the same files as the archive commit (the commit that altered a
    file is named)."""
    head_tree = _tree_entry(scan.head, folder)
    if head_tree is None or head_tree.type != "tree":
        return [
            Problem(
                "archive-supprimee",
                f"l'archive {n} est absente de la branche (HEAD).",
                folder,
                scan.head.hexsha,
            )
        ]
    if base_commit is None:
        if n not in scan.manifests:
            scan.manifests[n] = next(
                (b.data_stream.read() for b in head_tree.blobs if b.name == MANIFEST), b""
            )
        return []
    ref_tree = _tree_entry(base_commit, folder_at(base_commit, n) or folder)
    ref = {b.name: b.hexsha for b in ref_tree.blobs}
    now = {b.name: b.hexsha for b in head_tree.blobs}
    out = []
    for name in sorted(set(ref) | set(now)):
        if ref.get(name) == now.get(name):
            continue
        path = _join(folder, name)
        culprit = next(iter(scan.repo.iter_commits("HEAD", paths=path, max_count=1)), None)
        who = (
            f" par le commit {culprit.hexsha[:12]} ({culprit.author.name}, "
            f"{culprit.committed_datetime:%d/%m/%Y %H:%M})"
            if culprit is not None
            else ""
        )
        what = "supprimé" if name not in now else "ajouté" if name not in ref else "modifié"
        out.append(
            Problem(
                "fichier-modifie",
                f"fichier {what} après archivage{who} : une archive n'est jamais "
                "modifiée, une correction est une nouvelle archive.",
                path,
                culprit.hexsha if culprit is not None else None,
            )
        )
    return out


def _check_worktree(scan: _Scan, n: int, folder: str) -> list[Problem]:
    """The working tree must hold the files committed in HEAD, unchanged."""
    head_tree = _tree_entry(scan.head, folder)
    wt = scan.top / folder
    if not (wt.is_dir() and head_tree is not None and head_tree.type == "tree"):
        if n in scan.in_head and not wt.is_dir():
            return [
                Problem(
                    "fichier-modifie",
                    "dossier d'archive absent de la copie de travail (lancez « cahier "
                    "archive » pour reprendre une archive interrompue, ou restaurez-le).",
                    folder,
                )
            ]
        return []
    committed = {b.name: b.data_stream.read() for b in head_tree.blobs}
    on_disk = {p.name: p for p in wt.iterdir() if p.is_file()}
    out = []
    for name in sorted(set(committed) | set(on_disk)):
        path = _join(folder, name)
        if name not in on_disk:
            out.append(Problem("fichier-modifie", "fichier supprimé de la copie de travail.", path))
        elif name not in committed:
            out.append(
                Problem("fichier-modifie", "fichier ajouté dans le dossier d'archive.", path)
            )
        elif sha256(on_disk[name].read_bytes()) != sha256(committed[name]):
            out.append(
                Problem(
                    "fichier-modifie",
                    "fichier modifié dans la copie de travail (non validé) : "
                    "son SHA-256 ne correspond plus à l'archive.",
                    path,
                )
            )
    return out


def _check_archive(scan: _Scan, n: int) -> list[Problem]:
    """Every check of archive ``n``: gone from the branch, its tag and the files at the
    archive commit, HEAD, the working tree."""
    folder = _join(scan.arch_rel, str(n))
    out: list[Problem] = []
    gone = n in scan.history and n not in scan.in_head and n not in scan.in_wt
    if gone:
        added = scan.repo.commit(scan.history[n])
        lost_tag = tag_name(scan.tender_id, n) if n not in scan.tags else None
        out.append(_deleted(scan.repo, n, folder, added, lost_tag))
        if lost_tag is not None:
            entry = _tree_entry(added, _join(folder, MANIFEST))
            if entry is not None and entry.type == "blob":
                scan.manifests[n] = entry.data_stream.read()  # for the chain of n + 1
            return out
    found, base_commit = _check_tag(scan, n, folder)
    out += found
    if not gone:  # a gone archive is reported above, with the commits concerned
        out += _check_head(scan, n, folder, base_commit)
    return out + _check_worktree(scan, n, folder)


def _check_link(scan: _Scan, n: int, man: dict[str, Any]) -> list[Problem]:
    """Archive ``n``'s manifest records the SHA-256 of the previous manifest (none for
    the first archive), and its source commit is the archive commit's parent."""
    numbers = scan.numbers
    folder = _join(scan.arch_rel, str(n), MANIFEST)
    prev = man.get("previous")
    out = []
    if n == 1 or n - 1 not in numbers:
        if n > 1:
            out.append(
                Problem("chaine-rompue", f"l'archive {n - 1} qui précède est introuvable.", folder)
            )
        elif prev is not None:
            out.append(
                Problem(
                    "chaine-rompue",
                    "la première archive ne doit pointer vers aucune autre.",
                    folder,
                )
            )
    else:
        expected = sha256(scan.manifests.get(n - 1, b""))
        got = (prev or {}).get("manifest_sha256")
        if got != expected:
            out.append(
                Problem(
                    "chaine-rompue",
                    f"le manifeste enregistre pour l'archive {n - 1} le SHA-256 "
                    f"{str(got)[:16]}…, or son manifeste vaut {expected[:16]}… : "
                    "une archive antérieure a été altérée ou remplacée.",
                    folder,
                )
            )
    tag = scan.tags.get(n)
    if tag is not None and tag.commit.parents:
        parent = tag.commit.parents[0].hexsha
        if man.get("source_commit") not in (None, parent):
            out.append(
                Problem(
                    "commit-reecrit",
                    f"l'archive {n} a été faite sur le commit {man['source_commit'][:12]}, "
                    f"or son commit d'archive a pour parent {parent[:12]} : historique "
                    "réécrit sous l'archive.",
                    folder,
                    man["source_commit"],
                )
            )
    return out


def _check_chain(scan: _Scan) -> list[Problem]:
    """The hash chain over the manifests read by the archive checks."""
    out: list[Problem] = []
    for n in scan.numbers:
        raw = scan.manifests.get(n)
        if not raw:
            continue
        man = read_manifest(raw)
        if man is None:
            continue  # « manifeste illisible », reported by _check_files
        out += _check_link(scan, n, man)
    return out


def archive_checks(
    repo: Any,
    grepo: GitRepo,
    rel: str,
    head: Any,
    tender_id: str,
    tags: dict[int, Any],
) -> tuple[list[int], list[Problem]]:
    """``(archive numbers, problems)`` of the archive files of the tender: every archive
    (see :func:`_check_archive`) in number order, then the chain.

    ``repo`` is a GitPython repository, ``grepo`` the same as a :class:`tasks.git.Repo`,
    ``head`` its HEAD commit, ``tags`` archive number →
    tag (:func:`tasks.award.audit_common.archive_tags`).
    """
    top = grepo.top
    arch_rel = _join(rel, ARCHIVE_DIR)
    wt_dir = top / arch_rel
    scan = _Scan(
        repo,
        top,
        head,
        tender_id,
        arch_rel,
        tags,
        in_head=archive_numbers(_tree_entry(head, arch_rel)),
        in_wt=(
            sorted(int(p.name) for p in wt_dir.iterdir() if p.is_dir() and is_archive_name(p.name))
            if wt_dir.is_dir()
            else []
        ),
        history=_archive_history(repo, grepo, arch_rel, tender_id),
    )
    problems: list[Problem] = []
    for n in scan.numbers:
        problems += _check_archive(scan, n)
    return scan.numbers, problems + _check_chain(scan) + _unexpected(scan, grepo)


def _unexpected(scan: _Scan, grepo: GitRepo) -> list[Problem]:
    """Anything in the committed ``archive/`` folder that is not an archive cahier wrote
    (a file, a folder « 01 », « notes »…): only ``cahier archive`` writes there, and a
    look-alike archive must never pass for one (fail closed)."""
    tree = _tree_entry(scan.head, scan.arch_rel)
    if tree is None or tree.type != "tree":
        return []
    out = []
    for entry in tree:
        if entry.type == "tree" and is_archive_name(entry.name):
            continue
        out.append(
            Problem(
                "contenu-inattendu",
                f"« {entry.name} » dans le dossier des archives n'est pas une archive écrite "
                "par cahier archive (seuls des dossiers numérotés 1, 2, 3… y sont écrits ; "
                "commit qui l'a ajouté entre parenthèses) : retirez-le (git rm).",
                _join(scan.arch_rel, entry.name),
                _added_by(grepo, _join(scan.arch_rel, entry.name)),
            )
        )
    return out


def _added_by(grepo: GitRepo, path: str) -> str | None:
    """The latest commit of HEAD's history that added ``path`` (None when unknown)."""
    out = grepo.text("log", "--diff-filter=A", "--format=%H", "-1", "HEAD", "--", path, check=False)
    return out.strip() or None


def _archive_history(repo: Any, grepo: GitRepo, arch_rel: str, tender_id: str) -> dict[int, str]:
    """Archives the history of HEAD has known: number → commit that added it (latest).

    Two sources: commits that added ``<archive dir>/<n>/manifest.json`` (``git log
    --diff-filter=A``), and archive commits (message trailer ``Cahier-Archive: <id>/<n>``),
    which survive a move of the dossier.
    """
    out: dict[int, str] = {}
    pattern = re.compile(rf"^{re.escape(arch_rel)}/([1-9][0-9]*)/{re.escape(MANIFEST)}$")
    log = repo.git.log(
        "--no-renames",
        "--diff-filter=A",
        "--format=commit %H",
        "--name-only",
        "HEAD",
        "--",
        f"{arch_rel}/*/{MANIFEST}",
    )
    sha = None
    for line in log.splitlines():
        if line.startswith("commit "):
            sha = line[len("commit ") :].strip()
        elif (m := pattern.match(line.strip())) and sha:
            out.setdefault(int(m.group(1)), sha)  # newest first: the latest addition
    for n, shas in archive_creations(grepo, tender_id).items():
        out.setdefault(n, shas[0])
    return out


def _deleted(repo: Any, n: int, folder: str, added: Any, lost_tag: str | None) -> Problem:
    """The problem « archive n existed and is gone », naming the commits concerned."""
    mpath = _join(folder, MANIFEST)
    sha = repo.git.log(
        "-1", "--no-renames", "--diff-filter=D", "--format=%H", "HEAD", "--", mpath
    ).strip()
    removed = repo.commit(sha) if sha else None

    def who(c: Any) -> str:
        return f"{c.author.name}, {c.committed_datetime.astimezone():%d/%m/%Y %H:%M}"

    message = (
        f"l'archive {n} a existé — ajoutée par le commit {added.hexsha[:12]} ({who(added)}) — "
        "et a disparu de la branche"
        + (f" : supprimée par le commit {removed.hexsha[:12]} ({who(removed)})" if removed else "")
        + (f" ; son étiquette {lost_tag} a aussi été supprimée" if lost_tag else "")
        + ". Une archive n'est jamais supprimée (une correction est une nouvelle archive) : "
        f"restaurez-la (git checkout {added.hexsha[:12]} -- {folder}, puis git commit)."
    )
    return Problem("archive-supprimee", message, mpath, removed.hexsha if removed else added.hexsha)


def _check_files(
    n: int,
    folder: str,
    files: dict[str, bytes],
    tag_manifest_sha: str | None,
    commit: Any,
    where: str,
) -> list[Problem]:
    out: list[Problem] = []
    mpath = _join(folder, MANIFEST)
    raw = files.get(MANIFEST)
    if raw is None:
        return [Problem("manifeste-absent", f"manifeste absent {where}.", mpath, commit.hexsha)]
    if tag_manifest_sha and sha256(raw) != tag_manifest_sha:
        out.append(
            Problem(
                "fichier-modifie",
                f"le SHA-256 du manifeste ({sha256(raw)[:16]}…) diffère de celui enregistré dans "
                f"l'étiquette ({tag_manifest_sha[:16]}…).",
                mpath,
                commit.hexsha,
            )
        )
    man = read_manifest(raw)
    if man is None:
        return [*out, Problem("fichier-modifie", "manifeste illisible.", mpath, commit.hexsha)]
    listed = man["files"]
    for name, meta in listed.items():
        path = _join(folder, name)
        if name == MANIFEST:
            continue
        if name not in files:
            out.append(Problem("fichier-modifie", f"fichier absent {where}.", path, commit.hexsha))
        elif sha256(files[name]) != meta.get("sha256"):
            out.append(
                Problem(
                    "fichier-modifie",
                    f"SHA-256 {where} différent de celui du manifeste : fichier altéré.",
                    path,
                    commit.hexsha,
                )
            )
    for name in sorted(set(files) - set(listed) - {MANIFEST}):
        out.append(
            Problem(
                "fichier-modifie",
                f"fichier non listé dans le manifeste {where}.",
                _join(folder, name),
                commit.hexsha,
            )
        )
    return out
