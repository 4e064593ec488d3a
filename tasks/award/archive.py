"""Tamper-evident archives of the evaluation, committed and tagged in Git.

Size: just over 600 lines — the one all-or-nothing transaction (read the source, refuse,
commit, tag, write) reads as one sequence here; the pure plan is in archive_plan.py and
the Git plumbing in archive_git.py.

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

The procedure, in named steps: :func:`_open_source` (HEAD, branch) and
:func:`_refuse_dirty`; :func:`_read_spec` reads and evaluates the committed dossier into
an :class:`~tasks.award.archive_plan.ArchiveSpec`; :func:`~tasks.award.archive_plan.plan_archive`
(pure, no Git) makes the files, manifest and commit message; :func:`_write_archive` is the
one Git transaction (helpers in :mod:`tasks.award.archive_git`).

Crash safety (a kill at any moment leaves no archive or a complete one):

1. files are computed in memory, written as Git blobs (unreferenced objects are
   harmless and collected by ``git gc``);
2. the tree is built in a **temporary index** (``GIT_INDEX_FILE`` = HEAD's tree + the
   archive files), the commit with ``git commit-tree`` and the tag object with
   ``git mktag``: no ref moves, the user's index and working tree are untouched;
3. **commit point**: the branch is moved by ``git update-ref`` with compare-and-swap
   (:meth:`tasks.git.Repo.swap_ref`: one ref, one lock-file rename: atomic; if someone
   committed meanwhile, nothing changes);
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
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.errors import InputError
from tasks.git import GitError, Repo
from tasks.git import step as fault_point

from .archive_git import (
    _add_to_user_index,
    _concurrent,
    _create_tag_ref,
    _git_stdin,
    _index_paths,
    _materialize,
    _recover,
    _ref_value,
    _stage,
    _tag_body,
    _tree_entry,
    archive_numbers,
    move_branch,
    open_repo,
    recover,
    split_archive_tags,
)
from .archive_plan import (
    ARCHIVE_DIR,
    MANIFEST,
    TRAILER,
    ArchiveInfo,
    ArchivePlan,
    ArchiveSpec,
    next_number,
    orphan_numbers,
    plan_archive,
    sha256,
    tag_name,
)
from .archive_plan import join_path as _join

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


# --------------------------------------------------------------------------- reading


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


@dataclass
class _Source:
    """The committed state an archive is computed from: HEAD of ``branch`` in ``repo``
    (GitPython), the dossier at ``rel`` below the working tree ``top``."""

    repo: Any
    top: Path
    rel: str
    dossier: str | os.PathLike[str]
    head: Any
    branch: str

    def blob(self, path: str) -> bytes | None:
        """Content of ``path`` (relative to the dossier) at HEAD, or None."""
        entry = _tree_entry(self.head, _join(self.rel, path))
        if entry is None or entry.type != "blob":
            return None
        return entry.data_stream.read()

    def refuse(self, error: InputError) -> InputError:
        """``error``, unless the branch moved since HEAD was read (a concurrent run)."""
        if _ref_value(self.repo, self.branch) != self.head.hexsha:
            return _concurrent(self.branch)
        return error


def _open_source(repo: Any, top: Path, rel: str, dossier: str | os.PathLike[str]) -> _Source:
    """HEAD and its branch. Raises InputError: detached HEAD, no commit yet."""
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
    return _Source(repo, top, rel, dossier, head, repo.head.ref.path)  # refs/heads/…


def _refuse_dirty(src: _Source) -> None:
    """Refuse uncommitted changes in the dossier (the archive is of HEAD).

    Raises:
        InputError: a change, or an archive folder a concurrent run has committed but not
            yet written (« relancez dans un instant »); ConcurrentWriteError when the
            branch moved meanwhile.
    """
    dirty = _dirty(src.repo, src.rel)
    if not dirty:
        return
    # HEAD is an archive commit whose folder a concurrent run has not written yet
    m_head = re.search(rf"^{TRAILER}: \S+/(\d+)$", src.head.message, re.M)
    writing = _join(src.rel, ARCHIVE_DIR, m_head.group(1)) if m_head else None
    if writing and dirty.startswith(writing + "/") and not (src.top / writing).exists():
        raise InputError(
            f"une autre archive de ce dossier est en cours d'écriture ({writing} est "
            "validé mais pas encore écrit) : relancez « cahier archive » dans un instant.",
            str(src.dossier),
        )
    raise src.refuse(
        InputError(
            f"modification non validée dans le dossier ({dirty}) : validez-la "
            "(git commit) ou annulez-la avant d'archiver ; l'archive porte sur la "
            "dernière version validée, que chacun peut rejouer.",
            str(src.dossier),
        )
    )


def _read_assembly(
    src: _Source, tender_id: str, given: str | os.PathLike[str] | None, draft: bool
) -> tuple[bytes | None, bool]:
    """The assembly manifest's bytes (None when there is none) and whether it is a draft.

    Raises:
        InputError: a draft assembly for a final archive, unreadable manifest, manifest
            of another tender.
    """
    assembly = _find_assembly(src.top, tender_id, given)
    if assembly is None:
        return None, False
    raw = assembly.read_bytes()
    is_draft = _assembly_is_draft(assembly, raw, tender_id)
    if is_draft and not draft:
        raise InputError(
            "l'assemblage est un projet : ses documents ont été produits avec « cahier "
            "assemble --draft » (filigrane « PROJET », contrôles non bloquants) et ne "
            "peuvent pas être archivés comme définitifs. Réassemblez sans --draft (cahier "
            "assemble DOSSIER), ou archivez explicitement en brouillon (--brouillon).",
            str(assembly),
        )
    return raw, is_draft


def _review_gate(src: _Source, draft: bool) -> list[str]:
    """Pending or lapsed referent reviews at HEAD (fail closed: no fallback when the
    review module cannot be imported). Raises InputError: reviews pending, not a draft."""
    from tasks.review.reviews import review_gate

    gate = review_gate(src.dossier, rev=src.head.hexsha)
    if gate and not draft:
        raise InputError(
            f"{len(gate)} revue(s) de référent non obtenue(s) ou caduque(s), par exemple : "
            f"{gate[0]} Obtenez les approbations, ou archivez en brouillon (--brouillon).",
            str(src.dossier),
        )
    return gate


def _review_records(src: _Source) -> list[dict[str, str]]:
    """``{"file", "sha256", "git_blob"}`` of every ``reviews/*.y(a)ml`` at HEAD, by path."""
    tree = _tree_entry(src.head, _join(src.rel, "reviews"))
    records = []
    if tree is not None and tree.type == "tree":
        for b in sorted(tree.traverse(), key=lambda x: x.path):
            if b.type == "blob" and b.name.endswith((".yaml", ".yml")):
                data = b.data_stream.read()
                records.append({"file": b.path, "sha256": sha256(data), "git_blob": b.hexsha})
    return records


def _number(src: _Source, tender_id: str) -> tuple[int, dict[str, Any] | None]:
    """The new archive's number and its ``previous`` link (hash chain).

    Raises:
        InputError: a tagged archive missing from the branch, the folder already in the
            working tree, the previous manifest missing (ConcurrentWriteError when the
            branch moved meanwhile).
    """
    tags, bad = split_archive_tags(src.repo, tender_id)
    if bad:
        raise src.refuse(
            InputError(
                f"l'étiquette {tag_name(tender_id, bad[0])} ne désigne plus un commit "
                "(elle a été déplacée sur un arbre ou un fichier) : lancez « cahier audit "
                "--verify » avant toute nouvelle archive.",
                str(src.dossier),
            )
        )
    in_head = archive_numbers(_tree_entry(src.head, _join(src.rel, ARCHIVE_DIR)))
    orphan = orphan_numbers(in_head, tags)
    if orphan:
        raise src.refuse(
            InputError(
                f"l'étiquette {tag_name(tender_id, orphan[0])} existe mais l'archive "
                f"{orphan[0]} est absente de la branche : historique réécrit ou archive "
                "supprimée ? Lancez « cahier audit --verify » avant toute nouvelle archive.",
                str(src.dossier),
            )
        )
    n = next_number(in_head, tags)
    folder = _join(src.rel, ARCHIVE_DIR, str(n))
    if (src.top / folder).exists():
        raise src.refuse(
            InputError(
                f"le dossier {folder} existe déjà dans la copie de travail sans être validé : "
                "supprimez-le (une archive n'est créée que par cahier archive).",
                str(src.dossier),
            )
        )
    if n == 1:
        return n, None
    prev_manifest = src.blob(_join(ARCHIVE_DIR, str(n - 1), MANIFEST))
    if prev_manifest is None:
        raise InputError(
            f"manifeste de l'archive {n - 1} absent : chaîne rompue, lancez "
            "« cahier audit --verify ».",
            _join(folder, MANIFEST),
        )
    prev_tag = tags.get(n - 1)
    _refuse_altered_previous(src, tender_id, n - 1, prev_tag, prev_manifest)
    return n, {
        "numero": n - 1,
        "manifest_sha256": sha256(prev_manifest),
        "tag": tag_name(tender_id, n - 1),
        "commit": prev_tag.commit.hexsha if prev_tag is not None else None,
    }


def _refuse_altered_previous(
    src: _Source, tender_id: str, n: int, tag: Any, manifest: bytes
) -> None:
    """Never chain a new archive to an altered one: the previous archive's manifest must
    be the one its annotated tag records (``Manifeste-SHA256``).

    Raises:
        InputError: the tag is lightweight (not cahier's) or records another manifest.
    """
    from .audit_common import tag_fields

    if tag is None:  # an interrupted archive: recovered by cahier archive (see recover)
        return
    recorded = tag_fields(tag.tag).get("Manifeste-SHA256") if tag.tag is not None else None
    if recorded != sha256(manifest):
        raise src.refuse(
            InputError(
                f"l'archive {n} ne correspond plus à son étiquette {tag_name(tender_id, n)} "
                "(manifeste modifié, ou étiquette remplacée) : une nouvelle archive ne "
                "s'enchaîne jamais à une archive altérée ; lancez « cahier audit --verify ».",
                str(src.dossier),
            )
        )


def _identity(repo: Any) -> str:
    """« user.name <user.email> » of the Git configuration (may be empty)."""
    reader = repo.config_reader()
    return f"{reader.get_value('user', 'name', '')} <{reader.get_value('user', 'email', '')}>"


def _documents(
    tender: Any, ev: Any, result: Any, report: Any, lib: Any, ev_path: str
) -> dict[str, bytes]:
    """The computed files, in archive order: evaluation (JSON, CSV), check report, and the
    DECP record when the evaluation has an « attribution » block and the buyer is public."""
    from tasks.check.report import to_json as report_json

    from .decp import build_decp
    from .decp import to_json as decp_json
    from .evaluation import to_csv

    documents = {
        "evaluation.json": _json(result),
        "evaluation.csv": to_csv(result).encode("utf-8"),
        "check-report.json": report_json(report).encode("utf-8"),
    }
    if ev.attribution is not None and str(tender.acheteur.type) != "prive":
        documents["decp.json"] = decp_json(
            build_decp(tender, ev, result, report, lib, ev_path)
        ).encode("utf-8")
    return documents


def _read_spec(
    src: _Source,
    assembly_manifest: str | os.PathLike[str] | None,
    clausier_path: str | os.PathLike[str] | None,
    draft: bool,
) -> ArchiveSpec:
    """Read, check and evaluate the committed dossier: everything the plan needs.

    Raises:
        InputError: tender.yaml or evaluation.yaml absent or invalid, draft assembly or
            pending reviews (without ``draft``), numbering refused (see :func:`_number`).
    """
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.model import Tender
    from tasks.dossier.reader import read_dossier
    from tasks.dossier.yamlio import validate_yaml

    from .evaluation import EVALUATION_FILE, METHOD_VERSION, evaluate, parse_evaluation

    tender_raw = src.blob("tender.yaml")
    if tender_raw is None:
        raise InputError("tender.yaml absent de la dernière validation (HEAD).", str(src.dossier))
    tender = validate_yaml(Tender, tender_raw, "tender.yaml")
    assembly_raw, assembly_draft = _read_assembly(src, tender.id, assembly_manifest, draft)
    ev_path = _join(src.rel, EVALUATION_FILE)
    ev_raw = src.blob(EVALUATION_FILE)
    if ev_raw is None:
        raise InputError(
            "aucune évaluation validée : ajoutez evaluation/evaluation.yaml et validez-le "
            "(git commit) avant d'archiver ; « cahier evaluate DOSSIER --modele » en écrit "
            "un modèle commenté à partir des critères de tender.yaml.",
            ev_path,
        )
    ev = parse_evaluation(ev_raw, ev_path, tender)
    result = evaluate(ev, tender)
    lib = load_clausier(clausier_path, dossier=src.dossier)
    report = check_dossier(read_dossier(src.dossier, rev=src.head.hexsha), lib)
    gate = _review_gate(src, draft)
    reviews = _review_records(src)
    n, previous = _number(src, tender.id)
    return ArchiveSpec(
        tender_id=tender.id,
        dossier=src.rel,
        numero=n,
        draft=draft,
        documents=_documents(tender, ev, result, report, lib, ev_path),
        reviews=reviews,
        gate=gate,
        inputs={"tender.yaml": tender_raw, EVALUATION_FILE: ev_raw},
        source_commit=src.head.hexsha,
        clausier_version=lib.version,
        method_version=METHOD_VERSION,
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        created_by=_identity(src.repo),
        summary=[
            {
                "lot": lot.lot,
                "laureat": lot.laureat,
                "laureatSansCriteresResponsables": lot.laureatSansResponsables,
            }
            for lot in result.lots
        ],
        previous=previous,
        assembly_raw=assembly_raw,
        assembly_draft=assembly_draft,
    )


# --------------------------------------------------------------------------- transaction


def _build_commit(grepo: Repo, parent: str, plan: ArchivePlan, blobs: dict[str, str]) -> str:
    """The archive commit object (parent's tree plus the archive files); no ref moves.

    Raises:
        InputError: Git refused (typically no user.name / user.email).
    """
    files = {_join(plan.folder, name): sha for name, sha in blobs.items()}
    try:
        return grepo.build_commit(parent, files, plan.message)
    except GitError as exc:
        raise InputError(
            "validation impossible : "
            + (exc.detail or str(exc)).strip()
            + " (configurez git user.name et user.email)."
        ) from None


def _witness(src: _Source, plan: ArchivePlan, commit: str, tag_obj: str) -> list[str]:
    """Write the archive's anchor to every configured witness; their descriptions."""
    from tasks.config.settings import load_settings

    from .witness import Anchor, write_witnesses

    settings = load_settings(Path(src.dossier))
    anchor = Anchor(
        plan.tender_id,
        plan.numero,
        plan.manifest_sha256,
        commit,
        plan.tag,
        tag_obj,
        plan.previous_sha256,
    )
    return write_witnesses(
        Repo.discover(src.top), settings.witnesses, anchor, prefect=settings.prefect
    )


def _write_archive(src: _Source, plan: ArchivePlan, step: Callable[[str], None]) -> ArchiveInfo:
    """The one Git transaction: blobs, commit and tag objects, then the commit point
    (compare-and-swap of the branch), the tag ref, the witnesses, the folder (one
    rename) and the user's index (only the new paths). See the module docstring."""
    repo = src.repo
    grepo = Repo.discover(src.top)
    staging = _stage(repo, plan.files)
    try:
        names = list(plan.files)
        shas = repo.git.hash_object(
            "-w", "--no-filters", "--", *[str(staging / n) for n in names]
        ).split()
        blobs = dict(zip(names, shas, strict=True))
        step("blobs")
        commit = _build_commit(grepo, src.head.hexsha, plan, blobs)
        step("commit")
        tag_obj = _git_stdin(repo, ["mktag"], _tag_body(repo, commit)).strip()
        step("tag")
        move_branch(grepo, src.branch, commit, src.head.hexsha)  # the commit point
        step("refs")
        _create_tag_ref(repo, plan.tag, tag_obj)
        step("tagref")
        witnessed = _witness(src, plan, commit, tag_obj)
        _materialize(repo, src.top / plan.folder, plan.files, staging)
        step("worktree")
        present = _index_paths(repo)
        paths = {_join(plan.folder, name): sha for name, sha in blobs.items()}
        _add_to_user_index(
            repo, {p: sha for p, sha in paths.items() if p not in present}, plan.folder
        )
        step("index")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ArchiveInfo(
        numero=plan.numero,
        path=plan.folder,
        commit=commit,
        tag=plan.tag,
        manifest_sha256=plan.manifest_sha256,
        files={name: sha256(d) for name, d in plan.files.items()},
        draft=plan.draft,
        witnesses=witnessed,
    )


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
        src = _open_source(repo, top, rel, dossier)
        _refuse_dirty(src)
        plan = plan_archive(_read_spec(src, assembly_manifest, clausier_path, draft))
        step("computed")
        return _write_archive(src, plan, step)
