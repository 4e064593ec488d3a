"""Files written atomically get the permissions a buyer expects: those of the file they
replace, else 0o666 less the umask (not mkstemp's 0o600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tasks.dossier.files import create_new, write_atomic

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_follow_the_umask(tmp_path: Path):
    old = os.umask(0o027)  # the test's own process, restored below
    try:
        write_atomic(tmp_path / "rapport.sarif", "{}")
        create_new(tmp_path / "plan.yaml", "a: 1\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "rapport.sarif") == 0o640
    assert _mode(tmp_path / "plan.yaml") == 0o640


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path):
    target = tmp_path / "resultats.jsonl"
    target.write_text("ancien\n", encoding="utf-8")
    target.chmod(0o664)
    write_atomic(target, "nouveau\n")
    assert target.read_text(encoding="utf-8") == "nouveau\n"
    assert _mode(target) == 0o664
    assert [p.name for p in tmp_path.iterdir()] == ["resultats.jsonl"]  # no temporary left
