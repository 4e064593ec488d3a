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


_REPORT_SCRIPT = """
import json, sys
from tasks.check.checker import check_dossier
from tasks.check.report import to_json
from tasks.clausier.library import load_clausier
from tasks.dossier.reader import read_dossier
for d in sys.argv[1:]:
    print(to_json(check_dossier(read_dossier(d), load_clausier(dossier=d))).replace("\\n", " "))
"""


def test_check_all_matches_check_of_each_dossier_alone(tmp_path: Path):
    """Varied dossiers (the bench's generator: shuffled articles, altered sentences):
    the process-wide caches shared by a batch change no finding. Each dossier checked in
    a warm process after the others, in reverse order, gives the report of a fresh
    process checking the dossiers in order; ``check_all`` gives the same counts."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "bench_check_all", ROOT / "bench" / "check_all.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    if not SOURCE.is_dir():
        pytest.skip("dossier d'exemple 2026-CD33-PC-001 absent")
    dossiers = [str(d) for d in bench.generate(tmp_path / "depot", 3, 2500)]
    fresh = subprocess.run(
        [sys.executable, "-c", _REPORT_SCRIPT, *dossiers],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    ).stdout.splitlines()
    from tasks.check.checker import check_dossier
    from tasks.check.report import to_json
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    for d, expected in reversed(list(zip(dossiers, fresh, strict=True))):
        got = to_json(check_dossier(read_dossier(d), load_clausier(dossier=d)))
        assert json.loads(got) == json.loads(expected), d
    assert len({json.dumps(json.loads(f)["findings"]) for f in fresh}) > 1  # really varied
    by_dossier: dict[str, dict] = {}
    check_all(tmp_path / "depot", workers=2, on_result=lambda r: by_dossier.update({r.dossier: r}))
    for d, expected in zip(dossiers, fresh, strict=True):
        report = json.loads(expected)
        r = by_dossier[d]
        severities = [f["severity"] for f in report["findings"]]
        assert (r.errors, r.warnings) == (severities.count("error"), severities.count("warning"))


def test_batch_collector_settings_come_back(tmp_path: Path):
    """check_all tunes Python's cycle collector for its duration only (tasks/collector.py):
    a caller's thresholds and unfrozen objects are as before, after success and after an
    unusable output folder."""
    import gc

    from tasks import collector

    make_dossiers(tmp_path / "tenders", 2)
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        with collector.batch():
            assert gc.get_threshold() == collector.BATCH_THRESHOLD
            assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
        with pytest.raises(ZeroDivisionError), collector.batch():
            _ = 1 / 0
        assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
        s = check_all(tmp_path / "tenders", workers=1)
        assert s.dossiers == 2
        assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
        with pytest.raises(InputError):
            check_all(tmp_path / "tenders", workers=1, out=tmp_path / "absent" / "r.jsonl")
        assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
    finally:
        gc.set_threshold(*before)
