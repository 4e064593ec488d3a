"""The lifecycle and the watch on a real Git repository, with a real Prefect (test harness).

commit → watch → lifecycle (check, reviews pending) → referent approval recorded in Git →
lifecycle of the review commit → assembly → archive; a second run for the same (tender,
commit) duplicates nothing; the watch survives a force-push; two quick commits converge.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tenders" / "2026-CD33-PC-001"
ENV_REFERENT = "claire.lestage@departement33.example.fr"


_CLOCK = [0]


def git(repo: Path, *args: str) -> str:
    # Distinct commit times, one minute apart (the force-push fallback searches by time).
    _CLOCK[0] += 1
    stamp = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=_CLOCK[0])
    env = {
        **os.environ,
        "GIT_COMMITTER_DATE": stamp.isoformat(),
        "GIT_AUTHOR_DATE": stamp.isoformat(),
    }
    return subprocess.run(
        ["git", "-c", "user.name=Acheteur", "-c", "user.email=achat@example.fr", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()


def make_repo(tmp: Path, evaluation: bool = True) -> Path:
    if not EXAMPLE.is_dir():
        pytest.skip("dossier d'exemple 2026-CD33-PC-001 absent")
    repo = tmp / "achats"
    shutil.copytree(EXAMPLE, repo / "tenders" / EXAMPLE.name)
    if not evaluation:
        shutil.rmtree(repo / "tenders" / EXAMPLE.name / "evaluation", ignore_errors=True)
    for sub in ("reviews", "archive"):
        shutil.rmtree(repo / "tenders" / EXAMPLE.name / sub, ignore_errors=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Dossier initial")
    return repo


def edit(repo: Path, text: str) -> str:
    ccap = repo / "tenders" / EXAMPLE.name / "pieces" / "ccap.md"
    ccap.write_text(ccap.read_text(encoding="utf-8") + f"\n{text}\n", encoding="utf-8")
    git(repo, "commit", "-qam", text)
    return git(repo, "rev-parse", "HEAD")


# --------------------------------------------------------------------------- without Prefect


def test_watch_scan_force_push_and_quick_commits(tmp_path: Path):
    from flows.watch import changed_tenders, find_base

    repo = make_repo(tmp_path)
    first = git(repo, "rev-parse", "HEAD")
    dossier = f"tenders/{EXAMPLE.name}"
    base, why = find_base(repo, first, {})
    assert base is None and changed_tenders(repo, base, first) == {dossier: first}
    c1 = edit(repo, "Précision 1.")
    c2 = edit(repo, "Précision 2.")
    git(repo, "commit", "-q", "--allow-empty", "-m", "hors dossiers")
    head = git(repo, "rev-parse", "HEAD")
    base, _ = find_base(repo, head, {"last": first})
    assert base == first
    # Two commits in quick succession: one lifecycle, on the newer.
    assert changed_tenders(repo, base, head) == {dossier: c2}
    assert c1 != c2
    # Force-push removing the processed commits: from the fork point.
    when = git(repo, "show", "-s", "--format=%cI", c2)
    git(repo, "reset", "-q", "--hard", first)
    c3 = edit(repo, "Version réécrite.")
    base, why = find_base(repo, c3, {"last": c2, "time": when})
    assert base == first and "force-push" in why
    assert changed_tenders(repo, base, c3) == {dossier: c3}
    # The processed commit's object is gone too: from the last commit before its time.
    base, why = find_base(repo, c3, {"last": "0" * 40, "time": when})
    assert base == first and "disparu" in why


def test_locked_repository_and_missing_commit(tmp_path: Path):
    from flows.lifecycle import check_not_locked, resolve_commit
    from tasks.errors import InputError, RepositoryLocked

    repo = make_repo(tmp_path)
    (repo / ".git" / "index.lock").write_text("", encoding="utf-8")
    with pytest.raises(RepositoryLocked, match=r"dépôt verrouillé.*index\.lock"):
        check_not_locked(repo)
    (repo / ".git" / "index.lock").unlink()
    check_not_locked(repo)
    with pytest.raises(InputError, match=r"introuvable.*force-push") as exc:
        resolve_commit(repo, "0123456789abcdef0123456789abcdef01234567")
    assert "git log" in exc.value.message  # a mistyped --commit is the usual cause


def test_a_dossier_never_committed_is_refused_before_prefect_starts(tmp_path: Path):
    from typer.testing import CliRunner

    from cahier.cli import app

    repo = make_repo(tmp_path)
    fresh = repo / "tenders" / "2026-NOUVEAU-001"
    shutil.copytree(repo / "tenders" / EXAMPLE.name, fresh)
    res = CliRunner().invoke(app, ["lifecycle", str(fresh)])
    assert res.exit_code == 2, res.output
    assert "jamais été commité" in res.output and "git add" in res.output, res.output
    assert "Prefect" not in res.output, res.output  # no server started for nothing


def test_submit_with_server_down_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from cahier.cli import app

    repo = make_repo(tmp_path)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    r = CliRunner().invoke(app, ["lifecycle", str(repo / "tenders" / EXAMPLE.name), "--submit"])
    assert r.exit_code == 2
    assert "serveur Prefect injoignable" in r.output and "watch" in r.output


# --------------------------------------------------------------------------- with Prefect


@pytest.fixture(scope="module")
def harness(prefect_harness):
    """The session's shared Prefect test server (tests/conftest.py)."""
    yield


@pytest.mark.flow
def test_commit_watch_review_assemble_archive(harness, tmp_path, monkeypatch):
    from flows.lifecycle import lifecycle
    from flows.watch import load_state, watch
    from tasks.review.reviews import record_review

    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo)
    first = git(repo, "rev-parse", "HEAD")
    dossier = repo / "tenders" / EXAMPLE.name
    params = {"formats": ["html"]}

    # commit → watch → lifecycle: the check runs, the waiver awaits its referent.
    out = watch(str(repo), lifecycle_parameters=params)
    assert out["started"] == {f"tenders/{EXAMPLE.name}": first}
    assert out["runs"] == {f"tenders/{EXAMPLE.name}": "revues-en-attente"}
    assert load_state(repo)["last"] == first
    assert watch(str(repo), lifecycle_parameters=params)["started"] == {}  # nothing new

    # The referent approves (recorded in Git as a commit by the referent).
    record_review(dossier, "environnement", "approve", ENV_REFERENT, "Dérogation justifiée.")
    review_commit = git(repo, "rev-parse", "HEAD")
    assert git(repo, "log", "-1", "--format=%ae") == ENV_REFERENT

    # The lifecycle pinned to the first commit now assembles (same content + approval)
    # and archives the evaluation.
    r1 = lifecycle(str(dossier), first, **params)
    assert r1["status"] == "termine", r1
    assert r1["commit"] == first and r1["gate_commit"] == review_commit
    assert r1["reviews"] == "approuvees"
    assert r1["assembly"]["created"] is True
    manifest = json.loads((repo / "out" / EXAMPLE.name / "manifest.json").read_text())
    assert manifest["git"]["commit"] == review_commit
    assert r1["archive"]["created"] is True
    tags = git(repo, "tag", "--list", "cahier/*").split()
    assert tags == [f"cahier/{EXAMPLE.name}/archive-1"]
    commits = git(repo, "rev-list", "--count", "HEAD")
    stamp = (repo / "out" / EXAMPLE.name / "manifest.json").stat().st_mtime_ns

    # Again for the same commit, and through the watch (review + archive commits):
    # no second assembly, no second archive, no new commit.
    r2 = lifecycle(str(dossier), first, **params)
    assert r2["status"] == "termine"
    assert r2["assembly"]["created"] is False and r2["archive"]["created"] is False
    w = watch(str(repo), lifecycle_parameters=params)
    assert w["runs"] == {f"tenders/{EXAMPLE.name}": "termine"}
    assert git(repo, "tag", "--list", "cahier/*").split() == tags
    assert git(repo, "rev-list", "--count", "HEAD") == commits
    assert (repo / "out" / EXAMPLE.name / "manifest.json").stat().st_mtime_ns == stamp

    # Two quick edits: the older lifecycle steps aside, the watch runs the newer one.
    c1 = edit(repo, "Article ajouté 1.")
    c2 = edit(repo, "Article ajouté 2.")
    assert lifecycle(str(dossier), c1, **params)["status"] == "remplace"
    w = watch(str(repo), lifecycle_parameters=params)
    assert w["started"] == {f"tenders/{EXAMPLE.name}": c2}
    # The edit lapsed nothing (ccap.md is not the waiver): the newer commit assembles.
    assert w["runs"][f"tenders/{EXAMPLE.name}"] in {"termine", "revues-en-attente"}

    # Force-push removing the last processed commit: the watch converges on the new head.
    git(repo, "reset", "-q", "--hard", review_commit)
    c3 = edit(repo, "Version réécrite.")
    w = watch(str(repo), lifecycle_parameters={**params, "archive": False})
    assert "force-push" in w["why"]
    assert w["started"] == {f"tenders/{EXAMPLE.name}": c3}
    assert not w["failed"]


@pytest.mark.flow
def test_review_gate_takes_the_check_steps_plan(harness, tmp_path, monkeypatch):
    """The check step reads the dossier once and hands its review plan to the gate; a
    second run for the same commit (check cached) reads nothing: same outcome."""
    import tasks.dossier.reader as reader
    from flows.lifecycle import lifecycle

    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo)
    dossier = repo / "tenders" / EXAMPLE.name
    reads: list[str | None] = []
    read = reader.read_dossier

    def counted(path, rev=None, **kwargs):
        reads.append(rev)
        return read(path, rev=rev, **kwargs)

    monkeypatch.setattr(reader, "read_dossier", counted)
    head = git(repo, "rev-parse", "HEAD")
    first = lifecycle(str(dossier), head)
    assert first["status"] == "revues-en-attente" and first["reviews"], first
    assert reads == [head]
    again = lifecycle(str(dossier), head)
    assert again["reviews"] == first["reviews"] and reads == [head]


@pytest.mark.flow
def test_deployed_is_read_from_the_run_context(harness):
    """The lifecycle knows whether it is a deployment's run as Prefect's runtime says,
    without reading its own run back from the API."""
    import uuid

    from prefect import context, flow
    from prefect.runtime import deployment

    from flows.lifecycle import _deployed

    @flow
    def probe() -> tuple[bool, bool, bool]:
        here = _deployed()
        token = context._deployment_id.set(uuid.uuid4())  # a deployment's run, or its subflow
        try:
            inherited = _deployed()
        finally:
            context._deployment_id.reset(token)
        return here, deployment.id is not None, inherited

    assert probe() == (False, False, True)
