"""The one Git layer (tasks/git.py) also governs GitPython's processes: the archive and
the audit open their GitPython view through :func:`tasks.git.open_gitpython`, whose every
call has the layer's timeout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git
import pytest

import tasks.git as gitlayer


def _repo(tmp_path: Path) -> Path:
    top = tmp_path / "depot"
    (top / "tenders" / "T").mkdir(parents=True)
    (top / "tenders" / "T" / "tender.yaml").write_text("id: T\n", encoding="utf-8")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@example.fr",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@example.fr",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=top, check=True, env=env)
    return top


def test_gitpython_view_found_from_a_subfolder(tmp_path: Path):
    top = _repo(tmp_path)
    repo = gitlayer.open_gitpython(top / "tenders" / "T")
    assert Path(repo.working_tree_dir).resolve() == top.resolve()
    assert repo.head.commit.message.strip() == "init"


def test_every_gitpython_call_has_the_layer_timeout(tmp_path: Path, monkeypatch):
    top = _repo(tmp_path)
    repo = gitlayer.open_gitpython(top)
    monkeypatch.setattr(gitlayer, "TIMEOUT_S", 0.5)
    r, w = os.pipe()  # stdin that never ends: « git hash-object --stdin » waits forever
    try:
        with os.fdopen(r, "rb") as stdin, pytest.raises(git.GitCommandError, match=r"[Tt]imeout"):
            repo.git.hash_object("--stdin", istream=stdin)
    finally:
        os.close(w)


def test_archive_and_audit_open_gitpython_only_through_the_layer():
    root = Path(__file__).resolve().parents[1]
    offenders = [
        str(p.relative_to(root))
        for folder in ("tasks", "flows", "cahier")
        for p in (root / folder).rglob("*.py")
        if p.name != "git.py" and "git.Repo(" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
