"""The Git side of an archive: staging, blobs, tag object, compare-and-swap, recovery.

Helpers of :mod:`tasks.award.archive` (whose docstring describes the crash-safety
protocol). The commit point goes through :meth:`tasks.git.Repo.swap_ref`; everything
else here is either read-only or writes objects and files that no ref points to yet.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tasks.errors import ConcurrentWriteError, InputError
from tasks.git import RefMoved, open_gitpython
from tasks.git import Repo as GitRepo

from .archive_plan import (
    ARCHIVE_DIR,
    MANIFEST,
    TRAILER,
    ArchiveInfo,
    is_archive_name,
    join_path,
    sha256,
    tag_name,
)

__all__ = [
    "archive_numbers",
    "archive_tags",
    "leads_to_commit",
    "misdirected_tags",
    "open_repo",
    "recover",
    "split_archive_tags",
]

_TMP = "cahier-tmp"
_join = join_path

# --------------------------------------------------------------------------- git helpers


_WHY_GIT = "l'archive est une validation (commit) étiquetée"


def open_repo(dossier: str | os.PathLike[str], *, why: str = _WHY_GIT) -> tuple[Any, Path, str]:
    """``(repo, top, rel)``: the Git repository holding ``dossier`` and its relative path.

    ``why`` completes the French message when the dossier is not in a repository (what
    the command needs Git for).

    Raises:
        InputError: not a Git repository, bare repository, dossier outside the repository.
    """
    import git

    path = Path(dossier)
    if not path.is_dir():
        raise InputError("dossier introuvable.", str(dossier))
    try:
        repo = open_gitpython(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InputError(
            f"ce dossier n'est pas dans un dépôt Git : {why} ; initialisez le dépôt "
            "(git init, git add, git commit) ou placez le dossier dans un dépôt.",
            str(dossier),
        ) from None
    if repo.working_tree_dir is None:
        raise InputError("dépôt Git sans copie de travail (dépôt « bare »).", str(dossier))
    top = Path(repo.working_tree_dir).resolve()
    try:
        rel = path.resolve().relative_to(top).as_posix()
    except ValueError:
        raise InputError(f"le dossier est en dehors du dépôt Git {top}.", str(dossier)) from None
    return repo, top, "" if rel == "." else rel


def _tree_entry(commit: Any, path: str) -> Any:
    try:
        return commit.tree / path if path else commit.tree
    except KeyError:
        return None


def archive_numbers(tree: Any) -> list[int]:
    """Archive numbers (numeric folder names) found in a Git tree of ``archive/``."""
    if tree is None or tree.type != "tree":
        return []
    return sorted(int(t.name) for t in tree.trees if is_archive_name(t.name))


def split_archive_tags(repo: Any, tender_id: str) -> tuple[dict[int, Any], list[int]]:
    """``(archive number → GitPython tag cahier/<id>/archive-<n>, numbers whose tag
    designates no commit)``, in one pass over the tags.

    A tag moved onto a tree or a file is a tag cahier never writes: its archive has no
    valid tag (the audit reports it, a new archive is refused).
    """
    prefix = f"cahier/{tender_id}/archive-"
    valid: dict[int, Any] = {}
    misdirected: list[int] = []
    for t in repo.tags:
        suffix = t.name[len(prefix) :]
        if t.name.startswith(prefix) and is_archive_name(suffix):
            if leads_to_commit(t):
                valid[int(suffix)] = t
            else:
                misdirected.append(int(suffix))
    return valid, sorted(misdirected)


def leads_to_commit(tag: Any) -> bool:
    """Whether a GitPython tag reference leads to a commit (not to a tree or a blob)."""
    try:
        return tag.commit is not None
    except ValueError:  # GitPython: the tag designates a tree or a blob
        return False


def archive_tags(repo: Any, tender_id: str) -> dict[int, Any]:
    """Archive number → GitPython tag ``cahier/<id>/archive-<n>`` of the tender, tags
    that lead to a commit only (see :func:`split_archive_tags`)."""
    return split_archive_tags(repo, tender_id)[0]


def misdirected_tags(repo: Any, tender_id: str) -> list[int]:
    """Numbers of the archive tags of the tender that designate no commit (a tree or a
    file), so that the archive is reported as unproven (see :func:`split_archive_tags`)."""
    return split_archive_tags(repo, tender_id)[1]


def _tmp_root(repo: Any) -> Path:
    root = Path(repo.git_dir) / _TMP
    root.mkdir(exist_ok=True)
    return root


def _git_raw(repo: Any, args: list[str], data: bytes) -> str:
    with tempfile.TemporaryFile(dir=_tmp_root(repo)) as fh:
        fh.write(data)
        fh.seek(0)
        return repo.git.execute(["git", *args], istream=fh)


def _git_stdin(repo: Any, args: list[str], data: bytes) -> str:
    import git

    try:
        return _git_raw(repo, args, data)
    except git.GitCommandError as exc:
        raise InputError(
            f"opération Git refusée ({' '.join(args[:2])}) : {str(exc.stderr).strip()}"
        ) from None


def _stage(repo: Any, files: dict[str, bytes]) -> Path:
    """Write ``files`` into a new folder under ``.git/cahier-tmp`` (outside the working tree)."""
    staging = _tmp_root(repo) / f"archive-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        for name, data in files.items():
            with open(staging / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _same_folder(target: Path, files: dict[str, bytes]) -> bool:
    try:
        names = {p.name for p in target.iterdir()}
        return names == set(files) and all((target / n).read_bytes() == d for n, d in files.items())
    except OSError:
        return False


def _materialize(
    repo: Any, target: Path, files: dict[str, bytes], staging: Path | None = None
) -> None:
    """Make ``target`` (absent) appear complete: one rename of a staged folder.

    When a concurrent run (its :func:`recover`) wrote the same folder first, identical
    content is accepted; anything else raises :class:`InputError`.
    """
    staging = staging or _stage(repo, files)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(staging, target)
    except OSError:
        if not _same_folder(target, files):
            raise InputError(
                "le dossier d'archive existe déjà dans la copie de travail avec un autre "
                "contenu : une archive n'est écrite que par cahier archive ; déplacez-le puis "
                "lancez « cahier audit --verify ».",
                str(target),
            ) from None
        shutil.rmtree(staging, ignore_errors=True)


def _index_paths(repo: Any) -> set[str]:
    out = repo.git.ls_files("-z", "--cached").split("\0")
    return {p for p in out if p}


def _add_to_user_index(repo: Any, entries: dict[str, str], folder: str = "") -> None:
    """Add (path → blob) entries absent from the user's index; nothing else changes.

    The index lock (``.git/index.lock``) may be held by another git command for a
    moment: retried for about two seconds, then a French :class:`InputError` (the
    archive itself is already committed and tagged).
    """
    import git

    if not entries:
        return
    args = []
    for path, blob in entries.items():
        args += ["--cacheinfo", f"100644,{blob},{path}"]
    for attempt in range(20):
        try:
            repo.git.update_index("--add", *args)
            return
        except git.GitCommandError as exc:
            if "index.lock" not in str(exc.stderr) or attempt == 19:
                raise InputError(
                    f"archive validée et étiquetée, mais son dossier {folder} n'a pu être ajouté "
                    "à l'index Git (verrou .git/index.lock tenu par une autre commande git) : "
                    "relancez « cahier archive » quand cette commande est terminée, il termine "
                    "l'archive sans en créer une autre."
                ) from None
            time.sleep(0.1)


def _tag_body(repo: Any, commit: str) -> bytes:
    """The annotated tag object of an archive commit, derived from the commit alone.

    Tagger = the commit's committer line (same identity and time), message = commit id,
    manifest and previous hashes read from the commit message: :func:`recover` rebuilds
    the very same object (same id) when a kill came between the branch and the tag.
    """
    raw = repo.git.cat_file("commit", commit)
    committer = next(
        ln[len("committer ") :] for ln in raw.splitlines() if ln.startswith("committer ")
    )
    m = re.search(rf"^{TRAILER}: (\S+)/(\d+)$", raw, re.M)
    man = re.search(r"^Manifeste SHA-256 : ([0-9a-f]{64})$", raw, re.M)
    prev = re.search(r"^Archive précédente : (\S+)$", raw, re.M)
    if not (m and man and prev):
        raise InputError(f"le commit {commit[:12]} n'est pas un commit d'archive de cahier.")
    tender_id, n = m.group(1), int(m.group(2))
    draft = _is_draft_message(raw)
    return (
        f"object {commit}\ntype commit\ntag {tag_name(tender_id, n)}\ntagger {committer}\n\n"
        f"Archive n° {n}{' (BROUILLON)' if draft else ''} du dossier {tender_id}\n\n"
        f"Commit: {commit}\n"
        f"Manifeste-SHA256: {man.group(1)}\n"
        f"Precedent-SHA256: {prev.group(1) if prev.group(1) != 'aucune' else '-'}\n"
        + ("Brouillon: oui\n" if draft else "")
    ).encode()


def _is_draft_message(message: str) -> bool:
    return re.search(r"^Brouillon : oui\b", message, re.M) is not None


def _update_refs(repo: Any, commands: str) -> str | None:
    """Run ``git update-ref --stdin`` (one transaction); ``None`` or git's error text."""
    import git

    try:
        _git_raw(repo, ["update-ref", "--stdin"], commands.encode())
    except git.GitCommandError as exc:
        return str(exc.stderr).strip() or str(exc)
    return None


def _ref_value(repo: Any, ref: str) -> str | None:
    import git

    try:
        return repo.git.rev_parse("--verify", "-q", ref).strip() or None
    except git.GitCommandError:
        return None


def _create_tag_ref(repo: Any, tname: str, tag_obj: str) -> None:
    """Create ``refs/tags/<tname>``; a concurrent creation of the same object is accepted."""
    err = _update_refs(repo, f"create refs/tags/{tname} {tag_obj}\n")
    if err is None or _ref_value(repo, f"refs/tags/{tname}") == tag_obj:
        return
    raise InputError(
        f"archive validée, mais l'étiquette {tname} n'a pu être créée "
        + (
            "(une étiquette de ce nom existe déjà et désigne autre chose) : "
            "lancez « cahier audit --verify »."
            if _ref_value(repo, f"refs/tags/{tname}")
            else "(verrou tenu par une autre commande git) : relancez « cahier archive », il "
            "termine l'archive sans en créer une autre."
        )
    )


def _concurrent(branch: str, lock: Path | None = None) -> InputError:
    """The French refusal when another archive or commit moved ``branch`` meanwhile."""
    return ConcurrentWriteError(
        "une autre archive ou une autre validation (commit) a été écrite sur la branche "
        f"{branch.removeprefix('refs/heads/')} au même moment : rien n'a été fait (ni commit, "
        "ni étiquette, ni fichier). Relancez « cahier archive » : l'archive portera sur la "
        "dernière version validée."
        + (
            f" Si ce message se répète alors qu'aucune commande git ne tourne, supprimez le "
            f"verrou {lock} laissé par une commande interrompue."
            if lock is not None
            else ""
        )
    )


def move_branch(grepo: GitRepo, branch: str, new: str, old: str) -> None:
    """The commit point: ``branch`` from ``old`` to ``new`` through the compare-and-swap
    of :meth:`tasks.git.Repo.swap_ref` (one ref, one lock-file rename), or nothing.

    Raises:
        ConcurrentWriteError: the branch moved meanwhile or its lock is held (another
            archive or commit at the same moment; French, naming a stale lock file).
        InputError: Git refused for another reason (French message, git's detail).
    """
    try:
        grepo.swap_ref(branch, new, old, reason="cahier archive")
        return
    except RefMoved as exc:
        err = exc.detail or str(exc)
    lock = Path(grepo.common_dir) / f"{branch}.lock"
    moved = grepo.ref(branch) not in (None, old)
    if moved or "lock" in err.lower() or lock.exists():
        raise _concurrent(branch, None if moved else lock)
    short = branch.removeprefix("refs/heads/")
    raise InputError(
        f"Git a refusé de déplacer la branche {short} : rien n'a été fait. Détail : {err}"
    )


# --------------------------------------------------------------------------- recovery


def recover(dossier: str | os.PathLike[str]) -> list[str]:
    """Roll forward an archive committed (branch moved) but not finished.

    Only the archive added by the HEAD commit itself (message trailer ``Cahier-Archive:``)
    is considered: its tag is created if absent (the very object the interrupted run
    would have created, see :func:`_tag_body`), its folder is written if absent, its
    paths are added to the user's index if absent. Staging leftovers older than an hour
    under ``.git/cahier-tmp`` (outside the working tree, left by a kill) are removed.
    Refs are never moved. Returns French descriptions of what was done.
    """
    return _recover(dossier)[0]


def _recover(dossier: str | os.PathLike[str]) -> tuple[list[str], ArchiveInfo | None]:
    """:func:`recover`, and the archive it finished (``None`` when nothing was done)."""
    repo, top, rel = open_repo(dossier)
    done: list[str] = []
    with repo:
        tmp = Path(repo.git_dir) / _TMP
        if tmp.is_dir():
            for leftover in tmp.iterdir():
                try:
                    if time.time() - leftover.stat().st_mtime < 3600:
                        continue  # maybe another archive in progress
                    if leftover.is_dir():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink(missing_ok=True)
                except FileNotFoundError:
                    continue  # removed by a concurrent run
        try:
            head = repo.head.commit
        except ValueError:
            return done, None
        m = re.search(rf"^{TRAILER}: (\S+)/(\d+)$", head.message, re.M)
        if not m:
            return done, None
        folder = _join(rel, ARCHIVE_DIR, m.group(2))
        tree = _tree_entry(head, folder)
        if tree is None or tree.type != "tree":
            return done, None
        parent_tree = _tree_entry(head.parents[0], folder) if head.parents else None
        if parent_tree is not None:
            return done, None  # HEAD did not add this folder
        tname = tag_name(m.group(1), int(m.group(2)))
        if _ref_value(repo, f"refs/tags/{tname}") is None:
            tag_obj = _git_stdin(repo, ["mktag"], _tag_body(repo, head.hexsha)).strip()
            _create_tag_ref(repo, tname, tag_obj)
            done.append(f"étiquette {tname} créée (reprise après arrêt).")
        blobs = {b.name: b for b in tree.blobs}
        contents = {n: b.data_stream.read() for n, b in blobs.items()}
        target = top / folder
        if not target.exists():
            _materialize(repo, target, contents)
            done.append(f"archive {folder} écrite dans la copie de travail (reprise après arrêt).")
        present = _index_paths(repo)
        missing = {_join(folder, n): b.hexsha for n, b in blobs.items()}
        missing = {p: s for p, s in missing.items() if p not in present}
        if missing:
            _add_to_user_index(repo, missing, folder)
            done.append(f"archive {folder} ajoutée à l'index (reprise après arrêt).")
        if not done:
            return done, None
        man = re.search(r"^Manifeste SHA-256 : ([0-9a-f]{64})$", head.message, re.M)
        info = ArchiveInfo(
            numero=int(m.group(2)),
            path=folder,
            commit=head.hexsha,
            tag=tname,
            manifest_sha256=man.group(1) if man else sha256(contents.get(MANIFEST, b"")),
            files={n: sha256(d) for n, d in contents.items()},
            draft=_is_draft_message(head.message),
            recovered=True,
        )
    return done, info
