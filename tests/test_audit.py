"""The auditor's view: timeline from Git history, and ``verify`` catching every alteration.

History built in a temporary repository: a draft RC without environmental criterion
(check errors), its correction, the evaluation, then archives. Then one alteration per
test: an archived byte edited (working tree, then committed), a deleted tag, the archive
commit rewritten (amend/rebase), the tag moved to a rewritten commit (what
``git filter-repo`` does), an earlier archive replaced (broken chain).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tasks.award.archive import create_archive, tag_name
from tasks.award.audit import timeline, verify

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tenders" / "2026-CD33-PC-001"
TID = "2026-CD33-PC-001"
REL = f"tenders/{TID}"

pytestmark = pytest.mark.skipif(
    not (EXAMPLE / "evaluation" / "evaluation.yaml").is_file(), reason="dossier d'exemple absent"
)


def git(cwd: Path, *args: str, who: str | None = None) -> str:
    env_args = []
    if who:
        env_args = [
            "-c",
            f"user.name={who}",
            "-c",
            f"user.email={who.split()[0].lower()}@cd33.example.fr",
        ]
    return subprocess.run(
        ["git", *env_args, *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Draft (RC without environmental criterion) → fix → evaluation → archive 1."""
    repo = tmp_path_factory.mktemp("audit") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Sophie Dartigues")
    git(repo, "config", "user.email", "sophie.dartigues@cd33.example.fr")
    d = repo / REL
    (d / "pieces").mkdir(parents=True)
    shutil.copy(EXAMPLE / "tender.yaml", d / "tender.yaml")
    tender = (d / "tender.yaml").read_text(encoding="utf-8")
    # draft: price only (error after 21/08/2026: prix-seul, no environmental criterion)
    start = tender.index("criteres:")
    end = tender.index("# Clauses recommandées")
    draft = tender[:start] + "criteres:\n  - {nom: Prix, poids: 100, type: prix}\n" + tender[end:]
    (d / "tender.yaml").write_text(draft, encoding="utf-8")
    shutil.copy(EXAMPLE / "pieces" / "rc.md", d / "pieces" / "rc.md")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Premier jet du RC", who="Thomas Ribeiro")
    (d / "tender.yaml").write_text(tender, encoding="utf-8")
    git(repo, "commit", "-q", "-am", "Critères du RC : prix, valeur technique, environnement")
    (d / "evaluation").mkdir()
    shutil.copy(EXAMPLE / "evaluation" / "evaluation.yaml", d / "evaluation" / "evaluation.yaml")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Analyse des offres", who="Claire Lestage")
    create_archive(d, draft=True)
    return repo


@pytest.fixture
def repo(history: Path, tmp_path: Path) -> Path:
    r = tmp_path / "r"
    shutil.copytree(history, r)
    return r


def test_timeline_replays_drafts_checks_evaluation_archive(history: Path):
    events = timeline(history / REL)
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["rédaction", "contrôle"]
    checks = [e for e in events if e.kind == "contrôle"]
    assert len(checks) == 2

    # the draft had more errors (price as single criterion after 21/08/2026)
    def errors(e):
        return int(re.search(r"(\d+) erreur", e.summary).group(1))

    assert errors(checks[0]) > errors(checks[1])
    assert "seul critère" in " ".join(checks[0].details)
    assert "seul critère" not in " ".join(checks[1].details)
    first = events[0]
    assert first.author.startswith("Thomas Ribeiro") and "tender.yaml (+" in " ".join(first.details)
    ev = next(e for e in events if e.kind == "évaluation")
    assert ev.author.startswith("Claire Lestage")
    arch = next(e for e in events if e.kind == "archive")
    assert f"étiquette {tag_name(TID, 1)}" in arch.details
    assert any(e.kind == "revue" and "état des revues" in e.summary for e in events)


def test_verify_clean(repo: Path):
    assert verify(repo / REL) == ([1], [])


def test_edited_byte_in_working_tree_then_committed(repo: Path):
    f = repo / REL / "archive" / "1" / "evaluation.csv"
    data = bytearray(f.read_bytes())
    data[-3] ^= 1  # one byte
    f.write_bytes(bytes(data))
    _, problems = verify(repo / REL)
    assert problems[0].file == f"{REL}/archive/1/evaluation.csv"
    assert "copie de travail" in problems[0].message
    git(repo, "commit", "-q", "-am", "Correction", who="Marc Intrus")
    culprit = git(repo, "rev-parse", "HEAD")
    _, problems = verify(repo / REL)
    assert problems[0].file == f"{REL}/archive/1/evaluation.csv"
    assert problems[0].commit == culprit and "Marc Intrus" in problems[0].message


def test_deleted_tag(repo: Path):
    git(repo, "tag", "-d", tag_name(TID, 1))
    _, problems = verify(repo / REL)
    assert problems[0].code == "etiquette-absente" and tag_name(TID, 1) in problems[0].message


def test_rewritten_archive_commit(repo: Path):
    old = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "-q", "--amend", "-m", "Archive (réécrite)")
    _, problems = verify(repo / REL)
    assert problems[0].code == "commit-reecrit" and problems[0].commit == old
    assert old[:12] in problems[0].message


def test_history_rewritten_below_the_archive_with_tag_moved(repo: Path):
    """What filter-repo does: every commit rewritten, tags moved to the new commits."""
    tag = tag_name(TID, 1)
    old = git(repo, "rev-parse", f"{tag}^{{commit}}")
    message = git(repo, "tag", "-l", "--format=%(contents)", tag)
    # rewrite the first commit's message and replay the rest on top
    root = git(repo, "rev-list", "--max-parents=0", "HEAD")
    git(repo, "checkout", "-q", "--detach", root)
    git(repo, "commit", "-q", "--amend", "-m", "Premier jet (réécrit)")
    for c in git(repo, "rev-list", "--reverse", f"{root}..main").splitlines():
        git(repo, "cherry-pick", "--allow-empty", "-x", c)
    new = git(repo, "rev-parse", "HEAD")
    git(repo, "branch", "-f", "main", new)
    git(repo, "checkout", "-q", "main")
    git(repo, "tag", "-f", "-a", tag, "-m", message, new)
    _, problems = verify(repo / REL)
    assert problems, "réécriture non détectée"
    assert problems[0].code == "commit-reecrit"
    assert old[:12] in problems[0].message and new[:12] in problems[0].message


def test_broken_chain_and_manifest_edit(repo: Path):
    ev = repo / REL / "evaluation" / "evaluation.yaml"
    ev.write_text(
        ev.read_text(encoding="utf-8").replace("prix: 275000", "prix: 270000"), encoding="utf-8"
    )
    git(repo, "commit", "-q", "-am", "Correction du prix de C")
    create_archive(repo / REL, draft=True)
    assert verify(repo / REL) == ([1, 2], [])
    m = repo / REL / "archive" / "1" / "manifest.json"
    m.write_text(
        m.read_text(encoding="utf-8").replace('"numero": 1', '"numero": 1 '), encoding="utf-8"
    )
    git(repo, "commit", "-q", "-am", "Retouche du manifeste")
    _, problems = verify(repo / REL)
    assert problems[0].file == f"{REL}/archive/1/manifest.json"
    assert problems[0].code == "fichier-modifie"


def test_cli_audit_verify_exit_codes(repo: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from cahier.cli import app

    monkeypatch.chdir(repo)
    runner = CliRunner()
    res = runner.invoke(app, ["audit", REL, "--verify"])
    assert res.exit_code == 0 and "1 archive(s) vérifiée(s)" in res.stdout
    f = repo / REL / "archive" / "1" / "decp.json"
    f.write_text(
        f.read_text(encoding="utf-8").replace("81234567800021", "44812345600015"), encoding="utf-8"
    )
    res = runner.invoke(app, ["audit", REL, "--verify"])
    assert res.exit_code == 1
    assert f"altération détectée : {REL}/archive/1/decp.json" in res.stderr
    res = runner.invoke(app, ["audit", REL, "--sans-controles"])
    assert res.exit_code == 0 and "[archive]" in res.stdout
    res = runner.invoke(app, ["audit", "nulle-part"])
    assert res.exit_code == 2


def test_timeline_in_time_order_with_the_assembly_outside_git(repo: Path):
    """The assembly manifest (file time, outside Git) takes its place among the commits."""
    head_time = int(git(repo, "log", "-1", "--format=%ct"))
    out = repo / "out" / TID
    out.mkdir(parents=True)
    manifest = out / "manifest.json"
    manifest.write_text('{"manifest": "cahier-assemblage/1", "draft": false}\n', "utf-8")
    os.utime(manifest, (head_time - 3600, head_time - 3600))  # assembled an hour earlier
    events = timeline(repo / REL, run_checks=False)
    times = [e.when for e in events]
    assert times == sorted(times)
    kinds = [e.kind for e in events]
    assert kinds.index("assemblage") < kinds.index("archive")
    reviews = next(i for i, e in enumerate(events) if "état des revues" in e.summary)
    assert kinds.index("assemblage") < reviews


def test_cli_timeline_printed_in_time_order(repo: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from cahier.cli import app

    head_time = int(git(repo, "log", "-1", "--format=%ct"))
    (repo / "out" / TID).mkdir(parents=True)
    manifest = repo / "out" / TID / "manifest.json"
    manifest.write_text("{}\n", encoding="utf-8")
    os.utime(manifest, (head_time - 60, head_time - 60))
    monkeypatch.chdir(repo)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    res = CliRunner().invoke(app, ["audit", REL, "--sans-controles"])
    assert res.exit_code == 0, res.output
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d) \[", res.stdout, re.M)
    assert len(stamps) >= 5 and stamps == sorted(stamps)


def test_damaged_review_record_is_said_in_the_timeline(repo: Path):
    """A committed review record that cannot be read: the timeline says the review state
    cannot be established and why (file and line), never a silent gap."""
    bad = repo / REL / "reviews" / "20270101T000000Z-social.yaml"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("tender: x\nrole: [\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "revue abîmée")
    state = [e for e in timeline(repo / REL, run_checks=False) if "état des revues" in e.summary]
    assert len(state) == 1 and "non établi" in state[0].summary
    assert "20270101T000000Z-social.yaml:3" in state[0].details[0]
    assert "YAML invalide" in state[0].details[0]


def test_audit_outside_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from cahier.cli import app

    plain = tmp_path / "plain" / TID
    shutil.copytree(EXAMPLE, plain, ignore=shutil.ignore_patterns("archive"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for args in (["audit", str(plain), "--sans-controles"], ["audit", str(plain), "--verify"]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, res.output
        assert "n'est pas dans un dépôt Git" in res.stderr and "cahier audit" in res.stderr
        assert "l'archive" not in res.stderr


def test_deleted_archive_and_tag_are_reported(repo: Path, monkeypatch: pytest.MonkeyPatch):
    """git rm -r archive/ + commit + tag deleted: the history still tells."""
    archived = git(repo, "rev-parse", "HEAD")
    git(repo, "rm", "-r", "-q", f"{REL}/archive")
    git(repo, "commit", "-q", "-m", "Ménage", who="Marc Intrus")
    removal = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-d", tag_name(TID, 1))
    numbers, problems = verify(repo / REL)
    assert numbers == [1]
    first = problems[0]
    assert first.code == "archive-supprimee"
    assert first.file == f"{REL}/archive/1/manifest.json" and first.commit == removal
    assert archived[:12] in first.message and removal[:12] in first.message
    assert "Marc Intrus" in first.message and tag_name(TID, 1) in first.message
    from typer.testing import CliRunner

    from cahier.cli import app

    monkeypatch.chdir(repo)
    res = CliRunner().invoke(app, ["audit", REL, "--verify"])
    assert res.exit_code == 1
    assert "Aucune archive" not in res.output
    assert f"altération détectée : {REL}/archive/1/manifest.json (commit {removal[:12]})" in (
        res.stderr
    )


def test_deleted_archive_with_tag_kept_names_the_removing_commit(repo: Path):
    archived = git(repo, "rev-parse", "HEAD")
    git(repo, "rm", "-r", "-q", f"{REL}/archive/1")
    git(repo, "commit", "-q", "-m", "Suppression", who="Marc Intrus")
    removal = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "-q", "--allow-empty", "-m", "Travail ultérieur")
    _, problems = verify(repo / REL)
    codes = [p.code for p in problems]
    assert codes == ["archive-supprimee"], problems
    assert problems[0].commit == removal and "étiquette" not in problems[0].message
    assert archived[:12] in problems[0].message and "Marc Intrus" in problems[0].message


def test_missing_tag_of_a_present_archive_names_its_commit(repo: Path):
    archived = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-d", tag_name(TID, 1))
    # right after the archive commit: « cahier archive » recreates the very same tag
    _, problems = verify(repo / REL)
    assert problems[0].code == "etiquette-absente" and problems[0].commit == archived
    assert "relancez « cahier archive »" in problems[0].message
    info = create_archive(repo / REL, draft=True)
    assert info.recovered and info.numero == 1 and verify(repo / REL) == ([1], [])
    # later in the history: reported as deleted, with the archive commit named
    git(repo, "tag", "-d", tag_name(TID, 1))
    (repo / "notes.md").write_text("suite\n", encoding="utf-8")
    git(repo, "add", "notes.md")
    git(repo, "commit", "-q", "-m", "Suite du travail")
    _, problems = verify(repo / REL)
    assert problems[0].code == "etiquette-absente" and problems[0].commit == archived
    assert "supprimée" in problems[0].message and "présente" in problems[0].message


def test_deleted_first_archive_keeps_the_chain_checkable(repo: Path):
    ev = repo / REL / "evaluation" / "evaluation.yaml"
    ev.write_text(
        ev.read_text(encoding="utf-8").replace("prix: 275000", "prix: 270000"), encoding="utf-8"
    )
    git(repo, "commit", "-q", "-am", "Correction du prix de C")
    create_archive(repo / REL, draft=True)
    git(repo, "rm", "-r", "-q", f"{REL}/archive/1")
    git(repo, "commit", "-q", "-m", "Suppression de la première archive")
    git(repo, "tag", "-d", tag_name(TID, 1))
    numbers, problems = verify(repo / REL)
    assert numbers == [1, 2]
    assert [p.code for p in problems] == ["archive-supprimee"], problems
