"""Tamper-evident archives of the evaluation, committed and tagged in Git.

``create_archive(dossier)`` freezes the evaluation of a tender in
``tenders/<id>/archive/<n>/``::

    evaluation.json         ranking, points, sensitivity (tasks.award.evaluation.EvaluationResult)
    evaluation.csv          one row per offer
    check-report.json       the check of the dossier at the archived commit
    decp.json               DECP v2 record (when the evaluation has an « attribution » block)
    reviews.json            SHA-256 of every review record (reviews/*.yaml) and the review gate
    assembly-manifest.json  copy of the assembly manifest (out/<id>/manifest.json), if any
    manifest.json           SHA-256 of each file above, of the inputs, and of the previous
                            archive's manifest.json (hash chain)

It is committed on the current branch and tagged ``cahier/<tender-id>/archive-<n>``
(annotated tag whose message repeats the commit and the manifest's SHA-256). An archive
is never edited: a correction is archive ``n + 1``, whose manifest points to ``n``.

Everything is computed from the **committed** dossier (HEAD): uncommitted changes in
the dossier are refused, so that the archive describes a state anyone can replay.

Crash safety (a kill at any moment leaves no archive or a complete one):

1. files are computed in memory, written as Git blobs (unreferenced objects are
   harmless and collected by ``git gc``);
2. the tree is built in a **temporary index** (``GIT_INDEX_FILE`` = HEAD's tree + the
   archive files), the commit with ``git commit-tree`` and the tag object with
   ``git mktag``: no ref moves, the user's index and working tree are untouched;
3. **commit point**: the branch is moved by ``git update-ref`` with compare-and-swap
   (one ref, one lock-file rename: atomic; if someone committed meanwhile, nothing
   changes);
4. the tag ref is created; the folder, staged under ``.git/cahier-tmp/``, is renamed into
   the working tree in one ``rename`` (it appears complete, only after the commit point);
   then the new paths, and only them, are added to the user's index
   (``git update-index --cacheinfo``).

The tag object is a function of the archive commit alone (tagger = committer line,
hashes read from the commit message), so a kill after 3 is always completed to the same
result: :func:`recover`, run first by every ``cahier archive``, creates the identical
tag, writes the folder and adds the index entries. Git ref transactions are not atomic
across several refs under SIGKILL (the files backend renames lock files one by one:
the crash test caught a branch moved without its tag), hence one ref at the commit
point. :func:`recover` never moves a branch.

Concurrent runs (two ``cahier archive`` at once, or a ``git commit`` during an archive):
the loser's compare-and-swap fails (branch moved, or its lock held) and it stops with
a French message before touching any ref, file or index entry (only unreferenced
objects remain). A run that finds the branch already moved by an archive commit whose
tag or folder is not written yet (the winner between 3 and 4) finishes it with
:func:`recover`: the tag object and the files are functions of the commit, so the
winner's own tag, folder and index writes find them identical and accept them.

Drafts: an assembly manifest with ``"draft": true`` (documents watermarked « PROJET »,
``cahier assemble --draft``) and pending referent reviews are refused unless the archive
itself is a draft (``draft=True``, ``cahier archive --brouillon``); a draft archive says
so in its manifest (``"draft": true`` and ``"draft_reasons"``), in its commit title and
in its tag (``Brouillon: oui``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.errors import ConcurrentWriteError, InputError
from tasks.git import Repo
from tasks.git import step as fault_point

__all__ = [
    "ARCHIVE_DIR",
    "MANIFEST",
    "TRAILER",
    "ArchiveInfo",
    "archive_numbers",
    "create_archive",
    "open_repo",
    "recover",
    "sha256",
    "tag_name",
]

ARCHIVE_DIR = "archive"
MANIFEST = "manifest.json"
TRAILER = "Cahier-Archive"
FORMAT = "cahier-archive/1"
_TMP = "cahier-tmp"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def tag_name(tender_id: str, n: int) -> str:
    """``cahier/2026-CD33-PC-001/archive-3``."""
    return f"cahier/{tender_id}/archive-{n}"


@dataclass
class ArchiveInfo:
    """An archive as created: number, folder (repository-relative), commit, tag, manifest hash.

    ``files`` maps file name → SHA-256; ``draft`` is true for an archive made with
    ``--brouillon``; ``recovered`` is true when the run finished an interrupted archive
    (see :func:`recover`) instead of creating a new one.
    """

    numero: int
    path: str
    commit: str
    tag: str
    manifest_sha256: str
    files: dict[str, str]
    draft: bool = False
    recovered: bool = False
    witnesses: list[str] = field(default_factory=list)


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
        repo = git.Repo(path, search_parent_directories=True)
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


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p != ".")


def _tree_entry(commit: Any, path: str) -> Any:
    try:
        return commit.tree / path if path else commit.tree
    except KeyError:
        return None


def archive_numbers(tree: Any) -> list[int]:
    """Archive numbers (numeric folder names) found in a Git tree of ``archive/``."""
    if tree is None or tree.type != "tree":
        return []
    return sorted(int(t.name) for t in tree.trees if re.fullmatch(r"[1-9][0-9]*", t.name))


def _tagged_numbers(repo: Any, tender_id: str) -> dict[int, Any]:
    prefix = f"cahier/{tender_id}/archive-"
    out: dict[int, Any] = {}
    for t in repo.tags:
        if t.name.startswith(prefix) and t.name[len(prefix) :].isdigit():
            out[int(t.name[len(prefix) :])] = t
    return out


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


def _move_branch(repo: Any, branch: str, new: str, old: str) -> None:
    """The commit point: ``branch`` from ``old`` to ``new`` (compare-and-swap), or nothing.

    Raises:
        InputError: the branch moved meanwhile or its lock is held (another archive or
            commit at the same moment), or git refused (French message, git's detail).
    """
    err = _update_refs(repo, f"update {branch} {new} {old}\n")
    if err is None:
        return
    lock = Path(repo.common_dir) / f"{branch}.lock"
    moved = _ref_value(repo, branch) not in (None, old)
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


# --------------------------------------------------------------------------- creation


def _dirty(repo: Any, rel: str) -> str | None:
    out = repo.git.status("--porcelain", "-z", "--untracked-files=all", "--", rel or ".")
    for entry in out.split("\0"):
        if len(entry) > 3:
            return entry[3:]
    return None


def _find_assembly(top: Path, tender_id: str, given: str | os.PathLike[str] | None) -> Path | None:
    if given is not None:
        p = Path(given)
        if not p.is_file():
            raise InputError("manifeste d'assemblage introuvable.", str(given))
        return p
    for base in (top, Path.cwd()):
        p = base / "out" / tender_id / "manifest.json"
        if p.is_file():
            return p
    return None


def _assembly_is_draft(path: Path, raw: bytes, tender_id: str) -> bool:
    """Whether an assembly manifest (tasks.publish.assemble, ``cahier-assemblage/1``) is a draft.

    Raises:
        InputError: not JSON, or the manifest of another tender.
    """
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise InputError(
            "manifeste d'assemblage illisible (JSON produit par cahier assemble attendu).",
            str(path),
        )
    other = meta.get("tender")
    if other is not None and other != tender_id:
        raise InputError(
            f"manifeste d'assemblage du dossier « {other} », pas de « {tender_id} ».", str(path)
        )
    return bool(meta.get("draft"))


def _json(data: Any) -> bytes:
    from tasks.dossier.model import json_text

    return json_text(data).encode("utf-8")


def create_archive(
    dossier: str | os.PathLike[str],
    *,
    assembly_manifest: str | os.PathLike[str] | None = None,
    clausier_path: str | os.PathLike[str] | None = None,
    draft: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> ArchiveInfo:
    """Archive the committed evaluation of ``dossier``: commit + annotated tag.

    Args:
        dossier: the dossier folder (holding tender.yaml) inside a Git working tree,
            on a branch.
        assembly_manifest: the assembly manifest to include (default
            ``out/<tender-id>/manifest.json`` when it exists).
        clausier_path: another clause library (default: the shipped one).
        draft: a draft archive: accepted even when referent reviews are pending or
            lapsed, or when the assembly manifest is a draft (``"draft": true``,
            documents watermarked « PROJET »); otherwise both are refused. The manifest
            then says ``"draft": true`` with ``"draft_reasons"`` (French).
        on_step: called with the name of each step (tests inject crashes there):
            ``computed``, ``blobs``, ``commit``, ``tag``, ``refs``, ``tagref``,
            ``worktree``, ``index``.

    Returns:
        The archive created, or the interrupted archive that this run finished
        (``recovered=True``, see :func:`recover`) — then no new archive is made.

    Raises:
        InputError: not a repository or detached HEAD, uncommitted changes in the
            dossier, invalid evaluation, reviews pending or draft assembly (without
            ``draft``), assembly manifest of another tender, an archive tagged but
            missing from the branch, the branch moved meanwhile (concurrent archive or
            commit: nothing is written).
    """
    from tasks.check.checker import check_dossier
    from tasks.check.report import to_json as report_json
    from tasks.clausier.library import load_clausier
    from tasks.dossier.model import Tender
    from tasks.dossier.reader import read_dossier
    from tasks.dossier.yamlio import validate_yaml

    from .decp import build_decp
    from .decp import to_json as decp_json
    from .evaluation import EVALUATION_FILE, METHOD_VERSION, evaluate, parse_evaluation, to_csv

    def step(name: str) -> None:
        if on_step is not None:
            on_step(name)
        fault_point("archive " + name)  # CAHIER_FAULT_AFTER_STEP (tasks.git)

    Repo.discover(dossier).require_full_history("cahier archive")
    _, finished = _recover(dossier)
    if finished is not None:
        return finished
    repo, top, rel = open_repo(dossier)
    with repo:
        if repo.head.is_detached:
            raise InputError(
                "HEAD détaché : placez-vous sur une branche (git switch <branche>) pour archiver.",
                str(dossier),
            )
        try:
            head = repo.head.commit
        except ValueError:
            raise InputError(
                "dépôt sans aucune validation : validez (git commit) le dossier avant d'archiver.",
                str(dossier),
            ) from None
        branch = repo.head.ref.path  # refs/heads/…

        def refuse(error: InputError) -> InputError:
            """``error``, unless the branch moved since HEAD was read (a concurrent run)."""
            if _ref_value(repo, branch) != head.hexsha:
                return _concurrent(branch)
            return error

        dirty = _dirty(repo, rel)
        if dirty:
            # HEAD is an archive commit whose folder a concurrent run has not written yet
            m_head = re.search(rf"^{TRAILER}: \S+/(\d+)$", head.message, re.M)
            writing = _join(rel, ARCHIVE_DIR, m_head.group(1)) if m_head else None
            if writing and dirty.startswith(writing + "/") and not (top / writing).exists():
                raise InputError(
                    f"une autre archive de ce dossier est en cours d'écriture ({writing} est "
                    "validé mais pas encore écrit) : relancez « cahier archive » dans un instant.",
                    str(dossier),
                )
            raise refuse(
                InputError(
                    f"modification non validée dans le dossier ({dirty}) : validez-la "
                    "(git commit) ou annulez-la avant d'archiver ; l'archive porte sur la "
                    "dernière version validée, que chacun peut rejouer.",
                    str(dossier),
                )
            )

        def blob(path: str) -> bytes | None:
            entry = _tree_entry(head, _join(rel, path))
            if entry is None or entry.type != "blob":
                return None
            return entry.data_stream.read()

        tender_raw = blob("tender.yaml")
        if tender_raw is None:
            raise InputError("tender.yaml absent de la dernière validation (HEAD).", str(dossier))
        tender = validate_yaml(Tender, tender_raw, "tender.yaml")
        assembly = _find_assembly(top, tender.id, assembly_manifest)
        assembly_raw = assembly.read_bytes() if assembly is not None else None
        assembly_draft = assembly is not None and _assembly_is_draft(
            assembly, assembly_raw, tender.id
        )
        if assembly_draft and not draft:
            raise InputError(
                "l'assemblage est un projet : ses documents ont été produits avec « cahier "
                "assemble --draft » (filigrane « PROJET », contrôles non bloquants) et ne "
                "peuvent pas être archivés comme définitifs. Réassemblez sans --draft (cahier "
                "assemble DOSSIER), ou archivez explicitement en brouillon (--brouillon).",
                str(assembly),
            )
        ev_raw = blob(EVALUATION_FILE)
        if ev_raw is None:
            raise InputError(
                "aucune évaluation validée : ajoutez evaluation/evaluation.yaml et validez-le "
                "(git commit) avant d'archiver ; « cahier evaluate DOSSIER --modele » en écrit "
                "un modèle commenté à partir des critères de tender.yaml.",
                _join(rel, EVALUATION_FILE),
            )
        ev = parse_evaluation(ev_raw, _join(rel, EVALUATION_FILE), tender)
        result = evaluate(ev, tender)
        lib = load_clausier(clausier_path, dossier=dossier)
        report = check_dossier(read_dossier(dossier, rev=head.hexsha), lib)

        from tasks.review.reviews import review_gate  # fail closed: no fallback

        gate = review_gate(dossier, rev=head.hexsha)
        if gate and not draft:
            raise InputError(
                f"{len(gate)} revue(s) de référent non obtenue(s) ou caduque(s), par exemple : "
                f"{gate[0]} Obtenez les approbations, ou archivez en brouillon (--brouillon).",
                str(dossier),
            )

        reviews_tree = _tree_entry(head, _join(rel, "reviews"))
        reviews = []
        if reviews_tree is not None and reviews_tree.type == "tree":
            for b in sorted(reviews_tree.traverse(), key=lambda x: x.path):
                if b.type == "blob" and b.name.endswith((".yaml", ".yml")):
                    data = b.data_stream.read()
                    reviews.append({"file": b.path, "sha256": sha256(data), "git_blob": b.hexsha})

        tags = _tagged_numbers(repo, tender.id)
        in_head = archive_numbers(_tree_entry(head, _join(rel, ARCHIVE_DIR)))
        orphan = sorted(set(tags) - set(in_head))
        if orphan:
            raise refuse(
                InputError(
                    f"l'étiquette {tag_name(tender.id, orphan[0])} existe mais l'archive "
                    f"{orphan[0]} est absente de la branche : historique réécrit ou archive "
                    "supprimée ? Lancez « cahier audit --verify » avant toute nouvelle archive.",
                    str(dossier),
                )
            )
        n = max(in_head + list(tags), default=0) + 1
        folder = _join(rel, ARCHIVE_DIR, str(n))
        if (top / folder).exists():
            raise refuse(
                InputError(
                    f"le dossier {folder} existe déjà dans la copie de travail sans être validé : "
                    "supprimez-le (une archive n'est créée que par cahier archive).",
                    str(dossier),
                )
            )
        previous = None
        if n > 1:
            prev_manifest = blob(_join(ARCHIVE_DIR, str(n - 1), MANIFEST))
            if prev_manifest is None:
                raise InputError(
                    f"manifeste de l'archive {n - 1} absent : chaîne rompue, lancez "
                    "« cahier audit --verify ».",
                    _join(folder, MANIFEST),
                )
            prev_tag = tags.get(n - 1)
            previous = {
                "numero": n - 1,
                "manifest_sha256": sha256(prev_manifest),
                "tag": tag_name(tender.id, n - 1),
                "commit": prev_tag.commit.hexsha if prev_tag is not None else None,
            }

        files: dict[str, bytes] = {
            "evaluation.json": _json(result),
            "evaluation.csv": to_csv(result).encode("utf-8"),
            "check-report.json": report_json(report).encode("utf-8"),
        }
        if ev.attribution is not None and str(tender.acheteur.type) != "prive":
            doc = build_decp(tender, ev, result, report, lib, _join(rel, EVALUATION_FILE))
            files["decp.json"] = decp_json(doc).encode("utf-8")
        files["reviews.json"] = _json(
            {"records": reviews, "gate": gate, "draft": bool(draft and gate)}
        )
        if assembly_raw is not None:
            files["assembly-manifest.json"] = assembly_raw
        draft_reasons: list[str] = []
        if draft:
            draft_reasons.append("archive faite en brouillon (cahier archive --brouillon)")
            if gate:
                draft_reasons.append(
                    f"{len(gate)} revue(s) de référent non obtenue(s) ou caduque(s) "
                    "(détail dans reviews.json)"
                )
            if assembly_draft:
                draft_reasons.append(
                    "assemblage projet (cahier assemble --draft, documents filigranés « PROJET »)"
                )
        reader = repo.config_reader()
        who = f"{reader.get_value('user', 'name', '')} <{reader.get_value('user', 'email', '')}>"
        manifest = {
            "format": FORMAT,
            "tender": tender.id,
            "numero": n,
            "dossier": rel,
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "created_by": who,
            "draft": draft,
            "draft_reasons": draft_reasons,
            "source_commit": head.hexsha,
            "clausier_version": lib.version,
            "methode_evaluation": METHOD_VERSION,
            "inputs": {
                "tender.yaml": sha256(tender_raw),
                EVALUATION_FILE: sha256(ev_raw),
            },
            "files": {name: {"sha256": sha256(d), "bytes": len(d)} for name, d in files.items()},
            "previous": previous,
            "summary": [
                {
                    "lot": lot.lot,
                    "laureat": lot.laureat,
                    "laureatSansCriteresResponsables": lot.laureatSansResponsables,
                }
                for lot in result.lots
            ],
        }
        files[MANIFEST] = _json(manifest)
        manifest_sha = sha256(files[MANIFEST])
        step("computed")

        staging = _stage(repo, files)
        try:
            names = list(files)
            shas = repo.git.hash_object(
                "-w", "--no-filters", "--", *[str(staging / n) for n in names]
            ).split()
            blobs = dict(zip(names, shas, strict=True))
            step("blobs")
            import git

            idx = _tmp_root(repo) / f"index-{uuid.uuid4().hex}"
            env = {"GIT_INDEX_FILE": str(idx)}
            try:
                repo.git.read_tree(head.hexsha, env=env)
                args = []
                for name, sha in blobs.items():
                    args += ["--cacheinfo", f"100644,{sha},{_join(folder, name)}"]
                repo.git.update_index("--add", *args, env=env)
                tree = repo.git.write_tree(env=env)
            finally:
                idx.unlink(missing_ok=True)
            message = (
                f"Archive n° {n}{' (BROUILLON)' if draft else ''} de l'évaluation du dossier "
                f"{tender.id}\n\n"
                "Archive figée par cahier : ses fichiers ne sont jamais modifiés ; une correction "
                "est une nouvelle archive qui pointe vers celle-ci.\n"
                + (
                    f"Brouillon : oui — {' ; '.join(draft_reasons[1:]) or 'demandé'}\n"
                    if draft
                    else ""
                )
                + f"Manifeste SHA-256 : {manifest_sha}\n"
                f"Archive précédente : {previous['manifest_sha256'] if previous else 'aucune'}\n\n"
                f"{TRAILER}: {tender.id}/{n}\n"
            )
            try:
                commit = repo.git.commit_tree(tree, "-p", head.hexsha, "-m", message)
            except git.GitCommandError as exc:
                raise InputError(
                    "validation impossible : "
                    + str(exc.stderr).strip()
                    + " (configurez git user.name et user.email)."
                ) from None
            step("commit")

            tname = tag_name(tender.id, n)
            tag_obj = _git_stdin(repo, ["mktag"], _tag_body(repo, commit)).strip()
            step("tag")

            # commit point: one ref, compare-and-swap (atomic: a single lock-file rename)
            _move_branch(repo, branch, commit, head.hexsha)
            step("refs")
            _create_tag_ref(repo, tname, tag_obj)
            step("tagref")
            from tasks.config.settings import load_settings

            from .witness import Anchor, write_witnesses

            settings = load_settings(Path(dossier))
            witnessed = write_witnesses(
                Repo.discover(top),
                settings.witnesses,
                Anchor(
                    tender.id,
                    n,
                    manifest_sha,
                    commit,
                    tname,
                    tag_obj,
                    previous["manifest_sha256"] if previous else None,
                ),
                prefect=settings.prefect,
            )

            _materialize(repo, top / folder, files, staging)
            step("worktree")

            present = _index_paths(repo)
            _add_to_user_index(
                repo,
                {
                    _join(folder, name): sha
                    for name, sha in blobs.items()
                    if _join(folder, name) not in present
                },
                folder,
            )
            step("index")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return ArchiveInfo(
            numero=n,
            path=folder,
            commit=commit,
            tag=tname,
            manifest_sha256=manifest_sha,
            files={name: sha256(d) for name, d in files.items()},
            draft=draft,
            witnesses=witnessed,
        )
