"""Flow ``lifecycle``: one tender at one commit, from the check to the archive.

Size: just over 600 lines — the Git facts the steps decide on, the steps and the flow
read together (one procedure).

    check → request reviews (suspends until the referents decide) → assemble
          → (once ``evaluation/evaluation.yaml`` exists) archive

**Pinned to the commit.** ``commit`` is resolved to a full SHA once; the dossier is read
from Git blobs at that commit (:func:`tasks.dossier.reader.read_dossier` with ``rev``), never
from the working tree. Review records, assemblies and archives are made on the *gate
commit*: the branch head when the dossier's content there (``tender.yaml`` and
``pieces/``, compared by Git tree id) is identical to the pinned commit — review
records committed after the pinned commit thus count, an edit of the dossier does not
sneak in. When the content changed after the pinned commit the run ends as
``remplace`` (superseded): the lifecycle of the newer commit does the work, so two
commits in quick succession on one tender converge on the newer one.

**Idempotent per (tender, commit).** Re-running, or resuming after a suspend (Prefect
re-runs the flow body), never duplicates a step:

* check — a Prefect task with a cache key ``lifecycle-<repo>-<tender>-<sha>-controle-…``
  and a persisted result (local file system storage by default,
  ``PREFECT_LOCAL_STORAGE_PATH``): the report, and the review plan made from the same
  reading, which the review gate of that commit takes instead of reading and checking
  the dossier again;
* reviews — requested only when the review gate is closed *and* no ``await-review`` run
  of the tender is already waiting (state read from the Prefect API; looked up only
  when the run can wait: deployed, or ``wait_reviews``);
* assembly — skipped when ``out/<tender-id>/manifest.json`` already describes the gate
  commit (same commit, same draft flag);
* archive — skipped when an archive tag ``cahier/<tender-id>/archive-<n>`` already holds
  the same ``evaluation.yaml`` blob; the Git write runs inside a global concurrency
  limit named after the repository (:func:`repo_lock_name`, one slot) so that two runs
  never write the same repository at once, and is retried while ``.git/index.lock``
  exists.

Gates fail closed: every step imports its module directly (no fallback, no skipped
step); the check is cached per commit *and* clausier version; « already assembled »
compares the formats asked; a worker's shallow clone is deepened before anything is
decided (:meth:`tasks.git.Repo.deepen`).

Suspend (Prefect 3.9.1, docs/architecture.md « Pièges Prefect »): only a deployed run suspends — its
process exits and the run is rescheduled on resume, the body re-running with the cached
check; the key is slugified (``lifecycle-2026-cd33-pc-001-3f2a…-revues-1``). The ``watch``
flow resumes suspended lifecycles whose gate has opened. Without a deployment, the
review runs *pause* in-process (``wait_reviews``) or the run ends as
``revues-en-attente`` and the lifecycle of the review commit carries on.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from slugify import slugify

from flows.runs import cahier_flow, transient_retries
from tasks.errors import InputError, RepositoryLocked
from tasks.git import git_text

__all__ = [
    "archived_already",
    "assembled_already",
    "content_id",
    "gate_commit",
    "lifecycle",
    "lifecycle_key",
    "repo_lock_name",
    "repo_of",
    "resolve_commit",
    "submit_lifecycle",
]

#: What a review approves and an assembly renders: a change here supersedes a commit.
CONTENT_PATHS = ("tender.yaml", "pieces")
LIFECYCLE_DEPLOYMENT = "lifecycle/lifecycle"


# --------------------------------------------------------------------------- git helpers


def repo_of(tender_path: str | os.PathLike[str]) -> tuple[Path, str]:
    """``(toplevel, rel)``: the Git working tree holding the dossier, and its relative path.

    Raises:
        InputError: the folder does not exist or is not in a Git working tree.
    """
    p = Path(tender_path).resolve()
    if not p.is_dir():
        raise InputError("dossier de consultation introuvable.", os.fspath(tender_path))
    out = git_text(["rev-parse", "--show-toplevel"], p, check=False).strip()
    if not out:
        raise InputError(
            "ce dossier n'est pas dans un dépôt Git : le cycle de vie suit les commits du "
            "dépôt des dossiers (git init, git add, git commit).",
            os.fspath(tender_path),
        )
    top = Path(out).resolve()
    return top, p.relative_to(top).as_posix()


def resolve_commit(top: Path, commit: str, *, fetch: bool = True) -> str:
    """Full SHA of ``commit`` (SHA, tag, branch); fetches once from ``origin`` if unknown.

    Raises:
        InputError: the commit does not exist (rewritten by a force-push, or a typo).
    """
    spec = f"{commit}^{{commit}}"
    sha = git_text(["rev-parse", "--verify", "-q", spec], top, check=False).strip()
    if not sha and fetch and git_text(["remote"], top, check=False).split():
        git_text(["fetch", "--quiet", "--tags", "origin"], top, check=False)
        sha = git_text(["rev-parse", "--verify", "-q", spec], top, check=False).strip()
    if not sha:
        raise InputError(
            f"commit « {commit} » introuvable dans le dépôt : vérifiez l'identifiant (« git log "
            "--oneline ») ; si l'historique a été réécrit (force-push), le flow « watch » "
            "relancera le cycle de vie sur le nouveau commit.",
            os.fspath(top),
        )
    return sha


def content_id(top: Path, sha: str, rel: str) -> tuple[str, ...]:
    """Git object ids of the dossier's content (tender.yaml, pieces/) at ``sha``."""
    out = []
    for name in CONTENT_PATHS:
        obj = git_text(["rev-parse", "--verify", "-q", f"{sha}:{rel}/{name}"], top, check=False)
        out.append(obj.strip() or "-")
    return tuple(out)


def gate_commit(top: Path, rel: str, sha: str) -> str | None:
    """The commit to review, assemble and archive for the content pinned at ``sha``.

    HEAD when the dossier's content at HEAD is the content at ``sha`` (later commits only
    added review records, an evaluation or an archive); None when the content changed
    since (the run is superseded by the lifecycle of the newer commit).
    """
    head = git_text(["rev-parse", "--verify", "-q", "HEAD^{commit}"], top, check=False).strip()
    if not head or head == sha:
        return sha
    return head if content_id(top, head, rel) == content_id(top, sha, rel) else None


def repo_lock_name(top: Path) -> str:
    """``git-<folder>-<hash8>``: the global concurrency limit guarding Git writes on a repo."""
    digest = hashlib.sha256(os.fspath(top.resolve()).encode()).hexdigest()[:8]
    return slugify(f"git-{top.name}-{digest}")


def lifecycle_key(top: Path, rel: str, sha: str, step: str) -> str:
    """Cache / idempotency key of a step: repository, tender folder, commit, step."""
    digest = hashlib.sha256(os.fspath(top.resolve()).encode()).hexdigest()[:8]
    return slugify(f"lifecycle-{digest}-{rel.rsplit('/', 1)[-1]}-{sha[:16]}-{step}")


def check_not_locked(top: Path) -> None:
    """Raise :class:`RepositoryLocked` while ``.git/index.lock`` exists."""
    gitdir = Path(git_text(["rev-parse", "--absolute-git-dir"], top).strip())
    if (gitdir / "index.lock").exists():
        raise RepositoryLocked(
            "dépôt verrouillé : .git/index.lock existe (une autre commande Git est en cours, "
            "ou s'est interrompue). Nouvel essai automatique ; si aucune commande Git ne "
            "tourne, supprimez ce fichier.",
            os.fspath(gitdir / "index.lock"),
        )


def assembled_already(
    top: Path,
    rel: str,
    out_dir: Path,
    commit: str,
    draft: bool,
    formats: list[str] | None = None,
) -> bool:
    """True when ``out_dir/manifest.json`` is an assembly of the same content as ``commit``.

    Same content: the manifest's commit has the same ``tender.yaml`` and ``pieces/`` Git
    objects (a later review record, evaluation or archive commit does not change what
    is assembled); same draft flag; every format asked (``formats``; None: the
    manifest's own list is taken as complete) is in the manifest's ``formats``.
    """
    try:
        m = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    done = (m.get("git") or {}).get("commit")
    if not done or bool(m.get("draft")) != bool(draft):
        return False
    if formats and not set(formats) <= set(m.get("formats") or []):
        return False
    if done == commit:
        return True
    known = git_text(
        ["rev-parse", "--verify", "-q", f"{done}^{{commit}}"], top, check=False
    ).strip()
    return bool(known) and content_id(top, known, rel) == content_id(top, commit, rel)


def archived_already(top: Path, rel: str, tender_id: str, commit: str) -> str | None:
    """The archive tag whose commit holds the same ``evaluation.yaml`` blob as ``commit``."""
    path = f"{rel}/evaluation/evaluation.yaml"
    blob = git_text(["rev-parse", "--verify", "-q", f"{commit}:{path}"], top, check=False).strip()
    if not blob:
        return None
    tags = git_text(["tag", "--list", f"cahier/{tender_id}/archive-*"], top, check=False).split()
    for tag in tags:
        other = git_text(
            ["rev-parse", "--verify", "-q", f"{tag}^{{commit}}:{path}"], top, check=False
        )
        if other.strip() == blob:
            return tag
    return None


# --------------------------------------------------------------------------- tasks


def _check_key(context: Any, params: dict[str, Any]) -> str:
    return params["key"]


@task(
    name="contrôler le dossier au commit",
    cache_key_fn=_check_key,
    persist_result=True,
    **transient_retries(),
)
def check_step(tender_path: str, commit: str, clausier_path: str | None, key: str):
    """``(CheckReport, ReviewPlan | None)`` of the dossier read at ``commit`` (cached per
    tender and commit): the check, and the review plan made from that same reading and
    check when the clausier is the shipped one (the review gate's); None when the plan
    cannot be made — the gate step then makes it and fails with its own error."""
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier
    from tasks.review.reviews import plan_for

    dossier = read_dossier(tender_path, rev=commit)
    report = check_dossier(dossier, load_clausier(clausier_path, dossier=tender_path))
    if clausier_path is not None:
        return report, None
    try:
        return report, plan_for(tender_path, rev=commit, report=report, dossier=dossier)
    except InputError:
        return report, None


@task(name="état des revues", cache_policy=NO_CACHE)
def gate_step(tender_path: str, commit: str, plan: Any = None) -> list[str]:
    """French reasons why reviews are missing (empty: all approved). Fails closed: an
    error of the review module is an error of the step, never a skipped gate.

    ``plan``: the check step's review plan when it checked this very commit (the gate
    then neither reads nor checks the dossier again)."""
    from tasks.review.reviews import review_gate

    return list(review_gate(tender_path, rev=commit, plan=plan))


@task(name="runs de revue en attente", cache_policy=NO_CACHE)
def waiting_reviews_step(tender_id: str) -> list[str]:
    """Ids of ``await-review`` runs of the tender waiting for a decision."""
    from prefect.utilities.asyncutils import run_coro_as_sync

    from flows.review import find_waiting_runs

    return [str(r.id) for r in run_coro_as_sync(find_waiting_runs(tender_id)) or []]


@task(
    name="archiver (écriture Git)",
    cache_policy=NO_CACHE,
    **transient_retries(),
)
def archive_step(tender_path: str, top: str, rel: str, tender_id: str, commit: str, draft: bool):
    """Archive inside the repository's concurrency slot; skipped when already archived."""
    from prefect.concurrency.sync import concurrency

    logger = get_run_logger()
    check_not_locked(Path(top))
    name = repo_lock_name(Path(top))
    ensure_limit(name)
    with concurrency(name, occupy=1, timeout_seconds=900):
        check_not_locked(Path(top))
        head = git_text(["rev-parse", "HEAD"], top).strip()
        done = archived_already(Path(top), rel, tender_id, head)
        if done:
            logger.info("Évaluation déjà archivée (%s) : rien à refaire.", done)
            return {"tag": done, "created": False}
        from flows.archive import archive_tender

        info = archive_tender(tender_path, draft=draft)
        return {"tag": info.tag, "numero": info.numero, "commit": info.commit, "created": True}


def ensure_limit(name: str, limit: int = 1) -> None:
    """Create the global concurrency limit ``name`` (``limit`` slots) when it does not exist.

    A missing limit is not enforced by ``concurrency()`` (it runs unguarded), so the
    lifecycle creates it; ``scripts/server-up.sh`` creates it too (``prefect gcl create``).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=limit)
                )
            except ObjectAlreadyExists:
                pass


# --------------------------------------------------------------------------- flow


def _run_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters
    return slugify(f"cycle-{Path(p['tender_path']).name}-{str(p.get('commit', 'HEAD'))[:10]}")


@cahier_flow(name="lifecycle", flow_run_name=_run_name, persist_result=True, log_prints=False)
def lifecycle(
    tender_path: str,
    commit: str = "HEAD",
    draft: bool = False,
    wait_reviews: bool = False,
    review_deployment: str | None = None,
    formats: list[str] | None = None,
    out: str | None = None,
    archive: bool = True,
    clausier_path: str | None = None,
    timeout_days: float = 30,
) -> dict[str, Any]:
    """Run the tender lifecycle for ``commit``; returns what each step did.

    Args:
        tender_path: dossier folder (holding tender.yaml) in the tender repository;
            relative paths are taken from the working directory (a deployment's pull
            step sets it to the repository).
        commit: revision to process, resolved once to a full SHA (default HEAD).
        draft: skip the gates (check errors, reviews); assembly with « PROJET ».
        wait_reviews: without a deployment, wait in-process (Prefect pause) for the
            review runs; otherwise end as ``revues-en-attente``.
        review_deployment: deployment name of ``await-review`` (deployed runs).
        formats: assembly formats (default: all of flows.assemble).
        out: assembly folder (default ``out/<tender-id>`` under the working directory).
        archive: archive once an evaluation exists.
        timeout_days: how long a suspended run waits for the referents.

    Returns:
        ``{"tender", "commit", "gate_commit", "status", "check", "reviews", "assembly",
        "archive"}``; ``status`` is one of ``termine``, ``corrections-requises``,
        ``revues-en-attente``, ``assemblage-refuse``, ``evaluation-en-attente``,
        ``remplace``.

    Raises:
        InputError: dossier or commit not found (French message).
    """
    from tasks.git import Repo

    logger = get_run_logger()
    top, rel = repo_of(tender_path)
    if Repo.discover(top).deepen():  # a worker's shallow clone (prefect.yaml git_clone)
        logger.info("Clone superficiel : historique complet récupéré (git fetch --unshallow).")
    sha = resolve_commit(top, commit)
    run = _Run(top, rel, sha, {"tender": rel, "commit": sha, "gate_commit": None})
    ended = _check_phase(run, clausier_path, draft)
    if ended:
        return ended
    ended = _review_phase(run, draft, wait_reviews, review_deployment, timeout_days)
    if ended:
        return ended
    ended = _assembly_phase(run, draft, formats, out, clausier_path)
    if ended or not archive:
        return ended or {**run.result, "status": "termine"}
    return _archive_phase(run, draft)


@dataclass
class _Run:
    """What the lifecycle's steps share: the repository, the pinned commit, the result."""

    top: Path
    rel: str
    sha: str
    result: dict[str, Any]
    #: The review plan of the pinned commit made by the check step, for the review gate.
    plan: Any = None

    @property
    def logger(self) -> Any:
        """The logger of the lifecycle's flow run."""
        return get_run_logger()

    @property
    def tender_abs(self) -> str:
        """The dossier's absolute path (in the repository's working tree)."""
        return os.fspath(self.top / self.rel)

    @property
    def gate(self) -> str:
        return self.result["gate_commit"]

    def end(self, status: str, **extra: Any) -> dict[str, Any]:
        """The flow's return value with ``status`` and ``extra`` fields."""
        return {**self.result, **extra, "status": status}


def _check_phase(run: _Run, clausier_path: str | None, draft: bool) -> dict[str, Any] | None:
    """Check at the pinned commit (cached per commit and clausier) and find the gate
    commit; the run's end when the check has errors or the dossier changed since."""
    from flows.check import publish_task
    from tasks.clausier.library import load_clausier

    # The cached check is valid for one commit *and* one clausier (version and folder).
    lib_version = load_clausier(clausier_path, dossier=run.tender_abs).version
    where = hashlib.sha256(os.fspath(clausier_path or "").encode()).hexdigest()[:8]
    key = lifecycle_key(run.top, run.rel, run.sha, f"controle-{lib_version}-{where}")
    report, run.plan = check_step(run.tender_abs, run.sha, clausier_path, key)
    publish_task(report)
    tender_id = report.tender
    run.result.update(
        tender=tender_id, check={"errors": report.errors, "warnings": report.warnings}
    )
    run.logger.info(
        "Dossier %s au commit %s : %d erreur(s), %d avertissement(s).",
        tender_id,
        run.sha[:10],
        report.errors,
        report.warnings,
    )
    if report.errors and not draft:
        run.logger.warning(
            "Le contrôle signale %d erreur(s) : revues, assemblage et archivage attendront un "
            "commit corrigé (cahier check %s).",
            report.errors,
            run.rel,
        )
        return run.end("corrections-requises")
    gate = gate_commit(run.top, run.rel, run.sha)
    if gate is None:
        run.logger.info(
            "Le dossier %s a changé depuis le commit %s : le cycle de vie du commit plus "
            "récent prend le relais.",
            tender_id,
            run.sha[:10],
        )
        return run.end("remplace")
    run.result["gate_commit"] = gate
    return None


def _review_phase(
    run: _Run,
    draft: bool,
    wait_reviews: bool,
    review_deployment: str | None,
    timeout_days: float,
) -> dict[str, Any] | None:
    """Request the missing reviews (once) and wait for them as the run allows: suspend
    when deployed, pause in-process with ``wait_reviews``, otherwise end as
    ``revues-en-attente``. None when the gate is open (or ``draft``)."""
    deployed = _deployed()
    reasons = gate_step(run.tender_abs, run.gate, run.plan if run.gate == run.sha else None)
    attempt = 0
    while reasons and not draft:
        attempt += 1
        if not _request_reviews(
            run, reasons, deployed, wait_reviews, review_deployment, timeout_days
        ):
            return run.end("revues-en-attente", reviews=reasons)
        if deployed:
            from prefect.flow_runs import suspend_flow_run

            suspend_flow_run(
                key=lifecycle_key(run.top, run.rel, run.sha, f"revues-{attempt}"),
                timeout=int(timeout_days * 86400),
            )
        gate = gate_commit(run.top, run.rel, run.sha)
        if gate is None:
            run.logger.info("Le dossier a changé pendant les revues : cycle de vie remplacé.")
            return run.end("remplace")
        run.result["gate_commit"] = gate
        reasons = gate_step(run.tender_abs, gate, run.plan if gate == run.sha else None)
        if reasons and not deployed:
            return run.end("revues-en-attente", reviews=reasons)
        if attempt >= 50:
            raise RuntimeError("revues toujours en attente après 50 reprises.")
    run.result["reviews"] = reasons if draft else "approuvees"
    return None


def _deployed() -> bool:
    """Whether this run is a deployment's (or a subflow of one), as
    ``prefect.runtime.deployment.id`` says — from the run's own context: Prefect's
    runtime reads the run back from the API with a new client (~0.1 s) to learn the
    ``deployment_id`` that the context's flow run already holds."""
    from prefect import context

    inherited = getattr(context, "_deployment_id", None)  # a deployment's run, subflows
    if inherited is not None and inherited.get() is not None:
        return True
    flow_run = getattr(context.FlowRunContext.get(), "flow_run", None)
    if flow_run is None:
        from prefect.runtime import deployment

        return deployment.id is not None
    return flow_run.deployment_id is not None


def _request_reviews(
    run: _Run,
    reasons: list[str],
    deployed: bool,
    wait_reviews: bool,
    review_deployment: str | None,
    timeout_days: float,
) -> bool:
    """Start the review runs unless some already wait; False when the run cannot wait
    (no deployment, no ``wait_reviews``): the reviews are then done by the CLI, and the
    review runs that may wait elsewhere change nothing (not looked up)."""
    if not (deployed or wait_reviews):
        for r in reasons:
            run.logger.info("Revue en attente : %s", r)
        run.logger.info(
            "Sans déploiement, les revues se font par « cahier review approve » ; le cycle "
            "de vie du commit de revue poursuivra."
        )
        return False
    waiting = waiting_reviews_step(run.result["tender"])
    if waiting:
        run.logger.info("Revues déjà demandées : %d run(s) en attente.", len(waiting))
        return True
    from prefect.utilities.asyncutils import run_coro_as_sync

    from flows.review import request_reviews as request

    run.logger.info("Revues demandées pour %d élément(s).", len(reasons))
    run_coro_as_sync(
        request(
            run.tender_abs,
            rev=run.gate,
            deployment=review_deployment if deployed else None,
            timeout_days=timeout_days,
        )
    )
    return True


def _assembly_phase(
    run: _Run, draft: bool, formats: list[str] | None, out: str | None, clausier_path: str | None
) -> dict[str, Any] | None:
    """Assemble at the gate commit unless already assembled; the run's end when refused."""
    from flows.assemble import assemble_tender as assemble

    out_dir = Path(out) if out else Path("out") / run.result["tender"]
    if assembled_already(run.top, run.rel, out_dir, run.gate, draft, formats):
        run.logger.info("Dossier déjà assemblé pour le commit %s (%s).", run.gate[:10], out_dir)
        run.result["assembly"] = {"out": os.fspath(out_dir), "created": False}
        return None
    kwargs: dict[str, Any] = {"rev": run.gate, "out": os.fspath(out_dir), "draft": draft}
    if formats:
        kwargs["formats"] = formats
    if clausier_path:
        kwargs["clausier_path"] = clausier_path
    try:
        assembled = assemble(run.tender_abs, **kwargs)
    except InputError as exc:
        run.logger.error("Assemblage refusé : %s", exc.render())
        return run.end("assemblage-refuse", assembly=exc.render())
    run.result["assembly"] = {
        "out": os.fspath(getattr(assembled, "out_dir", out_dir)),
        "created": True,
    }
    return None


def _archive_phase(run: _Run, draft: bool) -> dict[str, Any]:
    """Archive once ``evaluation/evaluation.yaml`` exists at the gate commit."""
    evaluation = f"{run.gate}:{run.rel}/evaluation/evaluation.yaml"
    if not git_text(["rev-parse", "--verify", "-q", evaluation], run.top, check=False).strip():
        run.logger.info("Pas encore d'évaluation des offres (evaluation/evaluation.yaml).")
        return run.end("evaluation-en-attente")
    run.result["archive"] = archive_step(
        run.tender_abs, os.fspath(run.top), run.rel, run.result["tender"], run.gate, draft
    )
    return run.end("termine")


def submit_lifecycle(
    tender_rel: str,
    commit: str,
    *,
    repo_key: str = "",
    deployment: str = LIFECYCLE_DEPLOYMENT,
    parameters: dict[str, Any] | None = None,
) -> str:
    """Start a deployed lifecycle run, once per (tender, commit); returns the flow run id.

    The run is created with an idempotency key (``lifecycle-<repo>-<tender>-<sha>``):
    a second submission of the same pair (hook + watch, a retried hook) returns the
    existing run instead of creating another. ``as_subflow=False``: the run may
    suspend on its own (a subflow cannot be suspended apart from its parent).
    """
    from prefect.deployments import run_deployment

    key = slugify(f"lifecycle-{repo_key}-{tender_rel}-{commit}")
    fr = run_deployment(
        name=deployment,
        parameters={"tender_path": tender_rel, "commit": commit, **(parameters or {})},
        idempotency_key=key,
        timeout=0,
        as_subflow=False,
    )
    return str(fr.id)
