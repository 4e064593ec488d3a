"""Flow ``watch``: find the new commits touching ``tenders/`` and start their lifecycles.

Scheduled (prefect.yaml: every 2 minutes) next to the Git hooks
(``scripts/git-hooks/post-commit`` / ``post-receive``), which start a lifecycle at once;
the watch catches what the hooks missed (server down, hook not installed, push from
elsewhere) and converges.

**State** — a JSON file in the repository's Git directory, ``.git/cahier/watch.json``
(``{"branch", "last", "time"}``): it belongs to the clone being watched (a fresh
clone starts afresh, a Prefect database reset does not replay years of history), it
is never committed nor pushed, and it works without a server. It is written through a
temporary file and an atomic rename after the lifecycles were started.

**Which commits** — ``last..HEAD`` when the last processed commit is still an ancestor
of HEAD. After a force-push that removed it: from the fork point (``git merge-base``)
when its object is still there, otherwise from the newest ancestor of HEAD committed
at or before the recorded time; with no state, only the HEAD commit. Lifecycles are
idempotent per (tender, commit), so processing a commit twice is harmless.

**Which lifecycles** — one per changed tender, at the *newest* commit of the range
touching it (two commits in quick succession → one lifecycle, on the newer). A tender
whose lifecycle could not be started is kept in ``retry`` and started on the next pass.
Deployed, the lifecycles are started with :func:`flows.lifecycle.submit_lifecycle`
(``run_deployment`` with an idempotency key); otherwise they run here, one after the
other. Deployed, the watch also resumes suspended lifecycles whose reviews are done.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.lifecycle import LIFECYCLE_DEPLOYMENT, lifecycle, repo_lock_name, submit_lifecycle
from tasks.errors import CahierError, InputError
from tasks.git import Repo, git_text

__all__ = [
    "changed_tenders",
    "find_base",
    "load_state",
    "resume_ready_lifecycles",
    "save_state",
    "state_path",
    "watch",
]

STATE_FILE = "cahier/watch.json"


def state_path(top: Path) -> Path:
    """``<git common dir>/cahier/watch.json`` (shared by the worktrees of the clone)."""
    common = git_text(["rev-parse", "--git-common-dir"], top).strip()
    return (top / common).resolve() / STATE_FILE


def load_state(top: Path) -> dict[str, Any]:
    """The watch state, or ``{}`` when none (or unreadable: then the watch starts afresh)."""
    try:
        data = json.loads(state_path(top).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(top: Path, state: dict[str, Any]) -> None:
    """Write the state atomically (temporary file + rename)."""
    path = state_path(top)
    path.parent.mkdir(parents=True, exist_ok=True)
    from tasks.dossier.files import write_atomic

    write_atomic(path, json.dumps(state, indent=2))


def _commit_ok(top: Path, sha: str) -> bool:
    return bool(git_text(["rev-parse", "--verify", "-q", f"{sha}^{{commit}}"], top, check=False))


def find_base(top: Path, head: str, state: dict[str, Any]) -> tuple[str | None, str]:
    """The commit after which to look for changes, and why (French, for the log).

    None means « only the HEAD commit » (no usable state).
    """
    last = state.get("last")
    if not last:
        return None, "premier passage : seul le dernier commit est examiné"
    if _commit_ok(top, last):
        if last == head:
            return head, "aucun nouveau commit"
        if _is_ancestor(top, last, head):
            return last, f"nouveaux commits depuis {last[:10]}"
        fork = git_text(["merge-base", last, head], top, check=False).strip()
        if fork:
            return fork, (
                f"le commit {last[:10]} n'est plus dans l'historique (force-push) : reprise "
                f"depuis le point de divergence {fork[:10]}"
            )
    when = state.get("time")
    if when:
        base = git_text(["rev-list", "-1", f"--before={when}", head], top, check=False).strip()
        if base:
            return base, (
                f"le commit {last[:10]} a disparu (force-push) : reprise depuis {base[:10]}, "
                f"dernier commit antérieur au {when}"
            )
    return None, f"le commit {last[:10]} a disparu : seul le dernier commit est examiné"


def _is_ancestor(top: Path, a: str, b: str) -> bool:
    return Repo.discover(top).is_ancestor(a, b)


def changed_tenders(
    top: Path, base: str | None, head: str, prefix: str = "tenders"
) -> dict[str, str]:
    """``{dossier path relative to the repo: newest commit touching it}`` in ``base..head``.

    Only dossiers that still have a tender.yaml at ``head`` (a deleted tender has no
    lifecycle). With ``base`` None, the files of the ``head`` commit alone.
    """
    prefix = prefix.strip("/")
    if base is None:
        out = git_text(["diff-tree", "--no-commit-id", "--name-only", "-r", "--root", head], top)
        per_commit = [(head, out.splitlines())]
    elif base == head:
        return {}
    else:
        log = git_text(
            ["log", "--format=%x00%H", "--name-only", "--reverse", f"{base}..{head}", "--",
             prefix + "/"],
            top,
        )  # fmt: skip
        per_commit = []
        for block in log.split("\0")[1:]:
            lines = [x for x in block.splitlines() if x.strip()]
            if lines:
                per_commit.append((lines[0], lines[1:]))
    newest: dict[str, str] = {}
    depth = prefix.count("/") + 2
    for sha, files in per_commit:  # oldest first: later commits win
        for f in files:
            parts = f.split("/")
            if not f.startswith(prefix + "/") or len(parts) <= depth:
                continue
            newest["/".join(parts[:depth])] = sha
    return {d: sha for d, sha in newest.items() if _exists(top, head, d)}


def _exists(top: Path, head: str, d: str) -> bool:
    return bool(
        git_text(["rev-parse", "--verify", "-q", f"{head}:{d}/tender.yaml"], top, check=False)
    )


@task(name="chercher les nouveaux commits", cache_policy=NO_CACHE)
def scan_task(repo: str, prefix: str) -> dict[str, Any]:
    top = Path(git_text(["rev-parse", "--show-toplevel"], repo).strip())
    head = git_text(["rev-parse", "HEAD"], top).strip()
    state = load_state(top)
    base, why = find_base(top, head, state)
    changes = changed_tenders(top, base, head, prefix)
    for d, sha in (state.get("retry") or {}).items():
        if d not in changes and _exists(top, head, d):
            changes[d] = sha if _commit_ok(top, sha) else head
    when = git_text(["show", "-s", "--format=%cI", head], top).strip()
    return {"top": os.fspath(top), "head": head, "why": why, "changes": changes, "time": when}


def resume_ready_lifecycles(logger: Any) -> list[str]:
    """Resume the suspended ``lifecycle`` runs whose tender has no review run waiting.

    The lifecycle re-runs its body on resume: it re-reads the review gate and either
    goes on (assembly…) or suspends again. Returns the ids resumed.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateName,
    )
    from prefect.flow_runs import resume_flow_run

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["lifecycle"])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Suspended"]))
            ),
        )
    from prefect.utilities.asyncutils import run_coro_as_sync

    from flows.review import find_waiting_runs

    resumed = []
    for run in runs:
        tender_id = Path(str(run.parameters.get("tender_path", ""))).name
        if run_coro_as_sync(find_waiting_runs(tender_id)):
            continue
        try:
            resume_flow_run(run.id)
        except Exception as exc:  # not paused any more: someone else resumed it
            logger.info("Run %s non repris : %s", run.id, exc)
            continue
        logger.info("Cycle de vie %s repris : plus aucune revue en attente.", run.name)
        resumed.append(str(run.id))
    return resumed


@flow(name="watch", log_prints=False)
def watch(
    repo: str = ".",
    prefix: str = "tenders",
    deployment: str = LIFECYCLE_DEPLOYMENT,
    lifecycle_parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start the lifecycle of every tender changed since the last pass; returns what it did.

    Args:
        repo: the tender repository (a working tree).
        prefix: folder holding the dossiers.
        deployment: lifecycle deployment used when this run is itself deployed.
        lifecycle_parameters: extra parameters for each lifecycle (``wait_reviews``,
            ``formats``, ``draft``…).

    Returns:
        ``{"head", "why", "started": {dossier: commit}, "runs": {dossier: run id or
        status}, "failed": {dossier: message}}``.
    """
    from prefect.runtime import deployment as this_deployment

    logger = get_run_logger()
    scan = scan_task(repo, prefix)
    top = Path(scan["top"])
    logger.info("%s.", scan["why"].capitalize())
    deployed = this_deployment.id is not None
    params = dict(lifecycle_parameters or {})
    runs: dict[str, Any] = {}
    failed: dict[str, str] = {}
    retryable: set[str] = set()
    for d, sha in sorted(scan["changes"].items()):
        logger.info("Dossier %s modifié au commit %s : cycle de vie lancé.", d, sha[:10])
        try:
            if deployed:
                runs[d] = submit_lifecycle(
                    d, sha, repo_key=repo_lock_name(top), deployment=deployment, parameters=params
                )
            else:
                runs[d] = lifecycle(os.fspath(top / d), sha, **params)["status"]
        except InputError as exc:
            # The dossier itself is unusable: the next commit that changes it retries.
            failed[d] = exc.render()
            logger.error("Cycle de vie de %s non lancé : %s", d, exc.render())
        except Exception as exc:
            failed[d] = (
                exc.render() if isinstance(exc, CahierError) else f"{type(exc).__name__}: {exc}"
            )
            retryable.add(d)
            logger.error("Cycle de vie de %s en échec : %s", d, failed[d])
    retry = {d: scan["changes"][d] for d in retryable}
    save_state(
        top,
        {
            "branch": git_text(["symbolic-ref", "-q", "HEAD"], top, check=False).strip() or None,
            "last": scan["head"],
            "time": scan["time"],
            "processed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "retry": retry,
        },
    )
    if deployed:
        resume_ready_lifecycles(logger)
    return {
        "head": scan["head"],
        "why": scan["why"],
        "started": scan["changes"],
        "runs": runs,
        "failed": failed,
    }
