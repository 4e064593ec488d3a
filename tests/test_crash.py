"""Kills at every writing step of ``cahier review approve`` and ``cahier archive``, and
concurrent approvals (part of the tamper corpus: ``pytest -m tamper``).

The Git layer (:mod:`tasks.git`) SIGKILLs the process right after its N-th writing step
when ``CAHIER_FAULT_AFTER_STEP=N``. For every N until the command completes, a fresh
clone of the corpus's template is killed at step N, then we assert HEAD, branches,
tags, the index and the working tree: either untouched, or advanced by exactly the
record or archive; an index that stages the deletion of what was committed is only
allowed until the next writing cahier command, which repairs it and says so —
meanwhile ``audit --verify`` must not say « intactes ».
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_tamper import PEOPLE, _bash, _clone, _env, _identity, template  # noqa: F401

pytestmark = pytest.mark.tamper

FIGURES: dict[str, tuple[int, int]] = {}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=_env()
    ).stdout


def _cahier(repo: Path, args: list[str], who: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cahier", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=_env(**_identity(who), **env),
        check=False,
        timeout=300,
    )


def _state(repo: Path) -> dict[str, str]:
    return {
        "refs": _git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "status": _git(repo, "status", "--porcelain", "--untracked-files=all"),
    }


def _kill_loop(
    template: Path, tmp_path: Path, prepare: str, command: list[str], who: str, dossier: str
):
    """Kill ``command`` after each step; returns (steps, inconsistent states, repaired)."""
    inconsistent: list[str] = []
    repaired = 0
    n = 0
    while True:
        n += 1
        base = tmp_path / f"k{n}"
        base.mkdir()
        clone = _clone(template, base)
        assert _bash(clone, prepare).returncode == 0
        before = _state(clone)
        head0 = _git(clone, "rev-parse", "HEAD").strip()
        proc = _cahier(clone, command, who, CAHIER_FAULT_AFTER_STEP=str(n))
        if proc.returncode == 0:
            return n - 1, inconsistent, repaired
        assert proc.returncode == -9, proc.stderr
        after = _state(clone)
        head = _git(clone, "rev-parse", "HEAD").strip()
        if head != head0:
            parent = _git(clone, "rev-parse", "HEAD^").strip()
            if parent != head0:
                inconsistent.append(f"étape {n} : branche déplacée ailleurs que d'un commit")
        elif after["refs"] != before["refs"]:
            inconsistent.append(f"étape {n} : référence modifiée sans commit")
        elif after["status"] != before["status"]:
            inconsistent.append(f"étape {n} : copie de travail ou index modifiés sans commit")
        if head != head0:
            # The committed files must be in the index, or be put back by the next
            # writing command; meanwhile the audit must not say the archives are intact.
            staged_deletion = any(line.startswith("D ") for line in after["status"].splitlines())
            if staged_deletion:
                from tests.test_tamper import verdict

                got, _why = verdict(clone, f"audit@{dossier}")
                if got == "ok":
                    inconsistent.append(
                        f"étape {n} : audit « intactes » avec une suppression indexée"
                    )
            again = _cahier(clone, command, who)
            assert again.returncode == 0, again.stdout + again.stderr
            if staged_deletion or "reprise" in again.stdout or "remis" in again.stdout:
                repaired += 1
            status = _git(clone, "status", "--porcelain", "--untracked-files=all")
            if status:
                inconsistent.append(f"étape {n} : après réparation, état {status!r}")


def test_kill_at_every_step_of_review_approve(template: Path, tmp_path: Path):
    prepare = """edit8 1 && git commit -qam 'Réversibilité'"""
    steps, bad, repaired = _kill_loop(
        template,
        tmp_path,
        prepare,
        ["review", "approve", "tenders/2026-DINUM-WEB-002", "--role", "donnees", "--comment", "Vu"],
        "PAUL",
        "tenders/2026-DINUM-WEB-002",
    )
    FIGURES["review approve"] = (steps, len(bad))
    print(
        f"review approve : {steps} étapes, {len(bad)} état(s) incohérent(s), {repaired} réparé(s)"
    )
    assert steps >= 6 and not bad, bad


def test_kill_at_every_step_of_archive(template: Path, tmp_path: Path):
    prepare = """sed -i '0,/prix: 275000/s//prix: 274000/' $C/evaluation/evaluation.yaml
    git commit -qam 'prix'"""
    steps, bad, repaired = _kill_loop(
        template,
        tmp_path,
        prepare,
        ["archive", "tenders/2026-CD33-PC-001"],
        "BUYER",
        "tenders/2026-CD33-PC-001",
    )
    FIGURES["archive"] = (steps, len(bad))
    print(f"archive : {steps} étapes, {len(bad)} état(s) incohérent(s), {repaired} réparé(s)")
    assert steps >= 6 and not bad, bad


def _approve_many(args: tuple[str, str, int]) -> int:
    import os

    repo, who, n = args
    os.environ.update(_identity(who))
    from tasks.review.reviews import record_review

    for i in range(n):
        record_review(
            Path(repo) / "tenders/2026-DINUM-WEB-002",
            "accessibilite" if who == "AMELIE" else "donnees",
            "approve",
            PEOPLE[who][1],
            f"revue {i}",
        )
    return n


def test_concurrent_approvals_none_lost(template: Path, tmp_path: Path, request):
    clone = _clone(template, tmp_path)
    before = len(_git(clone, "ls-tree", "HEAD", "tenders/2026-DINUM-WEB-002/reviews/").splitlines())
    per, procs = 20, 4
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        done = sum(
            pool.map(
                _approve_many, [(str(clone), w, per) for w in ("NADIA", "PAUL", "AMELIE", "NADIA")]
            )
        )
    after = len(_git(clone, "ls-tree", "HEAD", "tenders/2026-DINUM-WEB-002/reviews/").splitlines())
    lost = done - (after - before)
    line = f"approbations concurrentes : {procs} processus × {per} → {lost} perdue(s) sur {done}"
    rep = request.config.pluginmanager.get_plugin("terminalreporter")
    if rep is not None:
        rep.write_line(line)
        for k, (steps, bad) in FIGURES.items():
            rep.write_line(f"arrêts brutaux ({k}) : {steps} étapes, {bad} état(s) incohérent(s)")
    assert lost == 0
    assert _git(clone, "status", "--porcelain") == ""
