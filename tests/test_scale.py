"""Scale check (``pytest -m scale``, run by ``.ci/run`` after the README's test command).

The deployed paths of cahier, for real: a Prefect server on PostgreSQL and two process
workers (``scripts/server-up.sh``) running in a tender repository that holds the example
dossiers with their referents' approvals, plus a batch check of generated dossiers.

- the lifecycle of each example ends in the expected state (CD33: ``termine``; the draft:
  ``corrections-requises``);
- a second submission for the same (dossier, commit) returns the same run (idempotency);
- DINUM's lifecycle suspends on its pending « donnees » review; the DPO approves from the
  CLI (recorded in Git, the waiting review run resumed), the watch flow resumes the
  lifecycle, which goes on to the assembly;
- the batch deployment checks every generated dossier.

Outside the default run (``tests/conftest.py``): it starts PostgreSQL and a server and
takes a few minutes. ``CAHIER_SCALE_DOSSIERS`` sets the number of generated dossiers
(default 500); ``scripts/down.sh`` stops what it started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

pytestmark = pytest.mark.scale

ROOT = Path(__file__).resolve().parents[1]
PORT = os.environ.get("PREFECT_PORT", "4242")
N = int(os.environ.get("CAHIER_SCALE_DOSSIERS", "500"))
ID = {"GIT_AUTHOR_NAME": "Acheteur", "GIT_AUTHOR_EMAIL": "achat@example.fr"}
ID |= {"GIT_COMMITTER_NAME": "Acheteur", "GIT_COMMITTER_EMAIL": "achat@example.fr"}
EXPECTED = {
    "2026-CD33-PC-001": {"termine"},
    "2026-DINUM-WEB-002": {"termine", "evaluation-en-attente"},
    "2026-DRAFT-003": {"corrections-requises"},
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, env={**os.environ, **ID})


def _approve_examples(repo: Path) -> None:
    """Every referent of every example approves, except DINUM's DPO (left pending: her
    review happens in Prefect during the run)."""
    from tasks.review.reviews import plan_for, record_review

    for d in sorted((repo / "tenders").iterdir()):
        try:
            plan = plan_for(d, rev="HEAD")
        except Exception as exc:  # an unusable draft: its lifecycle stops at the check
            print(f"{d.name} : pas de plan de revue ({exc})")
            continue
        for role in plan.roles():
            people = plan.referents.get(role) or []
            if d.name == "2026-DINUM-WEB-002" and role == "donnees":
                continue
            if people:
                record_review(d, role, "approve", people[0].email, "Vérifié (contrôle d'échelle)")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory):
    """A tender repository served by Prefect on PostgreSQL with two workers."""
    repo = tmp_path_factory.mktemp("scale") / "repo"
    (repo / "tenders").mkdir(parents=True)
    for d in sorted((ROOT / "tenders").glob("2026-*")):
        shutil.copytree(d, repo / "tenders" / d.name)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "Dossiers d'exemple")
    env_before = dict(os.environ)
    os.environ.update(ID)
    try:
        _approve_examples(repo)
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    run_dir = os.environ.get("CAHIER_RUN_DIR", "/tmp/cahier-run")
    env = {
        **os.environ,
        "CAHIER_PG_FRESH": "1",
        "CAHIER_TENDER_REPO": str(repo),
        "CAHIER_WORKERS": "2",
        "CAHIER_RUN_DIR": run_dir,
        "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
    }
    subprocess.run(["bash", str(ROOT / "scripts" / "server-up.sh")], check=True, env=env)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "batch.py"),
            "--generate",
            str(repo / "bulk"),
            "--count",
            str(N),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    _git(repo, "add", "-A", "bulk")
    _git(repo, "commit", "-qm", "Dossiers générés")
    os.environ.update(
        PREFECT_API_URL=f"http://127.0.0.1:{PORT}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_HOME=f"{run_dir}/prefect-home",
    )
    try:
        yield repo
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "down.sh")], env=env, check=False)
        os.environ.clear()
        os.environ.update(env_before)


def _approve_from_cli(repo: Path, name: str) -> None:
    """The DPO records her own decision from the CLI (she is the Git committer too)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cahier",
            "review",
            "approve",
            f"tenders/{name}",
            "--role",
            "donnees",
            "--reviewer-email",
            "nadia.haddad@dinum.example.fr",
            "--comment",
            "Annexe RGPD et hébergement SecNumCloud vérifiés.",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "GIT_COMMITTER_NAME": "Nadia Haddad",
            "GIT_COMMITTER_EMAIL": "nadia.haddad@dinum.example.fr",
        },
    )
    print(proc.stdout.strip() or proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr


def _outcome(name: str, fr) -> tuple[bool, str]:
    out = fr.state.result(raise_on_failure=False) if fr.state.is_completed() else fr.state.message
    if name == "check-batch":
        ok = fr.state.is_completed() and isinstance(out, dict) and out.get("dossiers") == N
        return ok, f"{out.get('dossiers')} dossiers" if isinstance(out, dict) else str(out)
    status = out.get("status") if isinstance(out, dict) else out
    return fr.state.is_completed() and status in EXPECTED.get(name, set()), str(status)


def test_lifecycles_review_loop_and_batch_on_postgresql(deployed: Path):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from flows.lifecycle import repo_lock_name, resolve_commit, submit_lifecycle

    repo = deployed
    t0 = time.monotonic()
    head = resolve_commit(repo, "HEAD")  # the same key as the watch flow and the hooks
    key = repo_lock_name(repo)
    runs = {
        d.name: submit_lifecycle(f"tenders/{d.name}", head, repo_key=key)
        for d in sorted((repo / "tenders").iterdir())
    }
    again = submit_lifecycle("tenders/2026-CD33-PC-001", head, repo_key=key)
    assert again == runs["2026-CD33-PC-001"], "une seconde soumission a créé un autre run"
    batch = run_deployment(
        "check-batch/check-batch",
        parameters={"root": "bulk", "rev": "HEAD", "shards": 2, "workers": 1},
        timeout=0,
        as_subflow=False,
    )
    runs["check-batch"] = str(batch.id)
    failed: list[str] = []
    answered = 0.0
    with get_client(sync_client=True) as client:
        pending = dict(runs)
        while pending and time.monotonic() - t0 < 1500:
            for name, rid in list(pending.items()):
                fr = client.read_flow_run(UUID(rid))
                suspended = fr.state is not None and fr.state.name == "Suspended"
                if name == "2026-DINUM-WEB-002" and suspended and not answered:
                    _approve_from_cli(repo, name)
                    run_deployment(
                        "watch/watch", parameters={"repo": str(repo)}, timeout=0, as_subflow=False
                    )
                    answered = time.monotonic()
                elif (
                    name == "2026-DINUM-WEB-002"
                    and suspended
                    and answered
                    and time.monotonic() - answered > 30
                ):
                    # The scheduled watch may hold the one-at-a-time limit (ours is then
                    # cancelled): ask again until a watch resumes the lifecycle.
                    run_deployment(
                        "watch/watch", parameters={"repo": str(repo)}, timeout=0, as_subflow=False
                    )
                    answered = time.monotonic()
                if fr.state and fr.state.is_final():
                    ok, status = _outcome(name, fr)
                    secs = (
                        (fr.end_time - fr.start_time).total_seconds()
                        if fr.start_time and fr.end_time
                        else 0.0
                    )
                    print(f"{name} : {fr.state.name} — {status} — {secs:.1f} s")
                    if not ok:
                        failed.append(f"{name} ({status})")
                    del pending[name]
            time.sleep(2)
    failed += [f"{name} (non terminé)" for name in pending]
    print(f"total {time.monotonic() - t0:.1f} s")
    assert answered, "le cycle de vie de 2026-DINUM-WEB-002 ne s'est jamais suspendu"
    assert not failed, f"échecs : {failed}"
