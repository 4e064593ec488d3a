"""Batch check of many dossiers: every dossier once, streamed results, shards, Git revisions."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tasks.check.batch import DossierResult, check_all, check_one, count_dossiers, iter_dossiers
from tasks.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tenders" / "2026-CD33-PC-001"


def make_dossiers(dest: Path, n: int) -> list[Path]:
    if not SOURCE.is_dir():
        pytest.skip("dossier d'exemple 2026-CD33-PC-001 absent")
    tender = (SOURCE / "tender.yaml").read_text(encoding="utf-8")
    out = []
    for i in range(n):
        d = dest / f"lot{i % 3}" / f"2026-T-{i:03d}"
        (d / "pieces").mkdir(parents=True)
        (d / "tender.yaml").write_text(
            re.sub(r"(?m)^id: .*$", f"id: 2026-T-{i:03d}", tender), encoding="utf-8"
        )
        for name in ("rc.md", "ccap.md", "cctp.md"):
            (d / "pieces" / name).write_bytes((SOURCE / "pieces" / name).read_bytes())
        out.append(d)
    return out


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.fr", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_check_all_streams_every_dossier(tmp_path: Path):
    root = tmp_path / "tenders"
    dossiers = make_dossiers(root, 12)
    broken = root / "lot9" / "2026-BROKEN"
    (broken / "pieces").mkdir(parents=True)
    (broken / "tender.yaml").write_text("id: 2026-BROKEN\nobjet: [\n", encoding="utf-8")
    (root / ".hidden" / "x").mkdir(parents=True)
    (root / ".hidden" / "x" / "tender.yaml").write_text("id: nope\n", encoding="utf-8")

    seen: list[DossierResult] = []
    out = tmp_path / "resultats.jsonl"
    s = check_all(root, workers=2, on_result=seen.append, out=out)
    assert s.dossiers == 13 == count_dossiers(root)
    assert s.unusable == 1 and s.exit_code == 2
    assert s.clean + s.with_errors == 12
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(x["dossier"] for x in lines) == sorted(r.dossier for r in seen)
    assert {x["dossier"] for x in lines} == {str(d) for d in [*dossiers, broken]}
    bad = next(x for x in lines if x["dossier"] == str(broken))
    assert bad["exit_code"] == 2 and "tender.yaml" in bad["message"]
    assert s.worst[0]["dossier"] == str(broken)
    good = next(x for x in lines if x["dossier"] == str(dossiers[0]))
    assert good == {**check_one(str(dossiers[0])), "seconds": good["seconds"]}
    assert not list(tmp_path.glob(".resultats.jsonl.*"))  # the temporary file was renamed


def test_shards_cover_everything_once(tmp_path: Path):
    root = tmp_path / "tenders"
    make_dossiers(root, 7)
    seen: list[str] = []
    for i in range(3):
        check_all(root, workers=1, shard=(i, 3), on_result=lambda r: seen.append(r.dossier))
    assert sorted(seen) == sorted(iter_dossiers(root))
    assert len(seen) == 7


def test_revision_is_read_from_git(tmp_path: Path):
    repo = tmp_path / "repo"
    dossiers = make_dossiers(repo / "tenders", 3)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "dossiers")
    # After the commit, one dossier is broken in the working tree and another is added.
    (dossiers[0] / "tender.yaml").write_text("objet: [\n", encoding="utf-8")
    make_dossiers(repo / "extra", 1)
    assert len(list(iter_dossiers(repo / "tenders", rev="HEAD"))) == 3
    s = check_all(repo / "tenders", rev="HEAD", workers=1)
    assert s.dossiers == 3 and s.unusable == 0
    assert check_all(repo / "tenders", workers=1).unusable == 1
    with pytest.raises(InputError, match="introuvable"):
        list(iter_dossiers(repo / "tenders", rev="no-such-rev"))


def test_missing_output_folder_is_refused(tmp_path: Path):
    make_dossiers(tmp_path / "t", 1)
    with pytest.raises(InputError, match="sortie introuvable"):
        check_all(tmp_path / "t", out=tmp_path / "nope" / "r.jsonl")
