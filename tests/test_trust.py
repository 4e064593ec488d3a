"""Trust rules that are quick to check (the attacks themselves: tests/test_tamper.py)."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "tenders" / "2026-DINUM-WEB-002"
NADIA = "nadia.haddad@dinum.example.fr"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The web example in a repository, its data items approved by Nadia."""
    from tasks.review.reviews import record_review

    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    repo = tmp_path / "dépôt"
    shutil.copytree(WEB, repo / "tenders" / WEB.name, ignore=shutil.ignore_patterns("reviews"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Acheteuse")
    git(repo, "config", "user.email", "acheteuse@example.fr")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Dossier")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Nadia Haddad")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", NADIA)
    record_review(repo / "tenders" / WEB.name, "donnees", "approve", NADIA, "Conforme.")
    monkeypatch.delenv("GIT_COMMITTER_NAME")
    monkeypatch.delenv("GIT_COMMITTER_EMAIL")
    return repo / "tenders" / WEB.name


def test_shallow_clone_refused_in_french(web: Path, tmp_path: Path, monkeypatch):
    from cahier.cli import app

    shallow = tmp_path / "superficiel"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{web.parents[1]}", str(shallow))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    for cmd in (["review", "status"], ["audit"], ["audit", "--verify"]):
        r = CliRunner().invoke(app, [*cmd, str(shallow / "tenders" / WEB.name)])
        assert r.exit_code == 2, (cmd, r.output)
        assert "git fetch --unshallow --tags" in r.output and "clone superficiel" in r.output
    git(shallow, "fetch", "-q", "--unshallow")
    r = CliRunner().invoke(app, ["review", "status", str(shallow / "tenders" / WEB.name)])
    assert r.exit_code in (0, 1) and "approuvé par Nadia Haddad" in r.output


def test_signature_required_policy(web: Path, monkeypatch):
    """Under the verifier's « signature-obligatoire », an unsigned record does not count
    and approving without a key is refused; a repository file cannot loosen it."""
    from tasks.errors import InputError
    from tasks.review.reviews import record_review, review_status

    entries = [e for e in review_status(web) if e.item.role == "donnees"]
    assert {e.status for e in entries} == {"approved"}
    assert all("commit non signé" in e.message() for e in entries)
    (web / "cahier.yaml").write_text("signatures:\n  policy: declaratif\n", encoding="utf-8")
    monkeypatch.setenv("CAHIER_SIGNATURES__POLICY", "signature-obligatoire")
    entries = [e for e in review_status(web) if e.item.role == "donnees"]
    assert {e.status for e in entries} == {"pending"}
    assert "signature-obligatoire" in entries[0].message()
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "paul.vasseur@dinum.example.fr")
    with pytest.raises(InputError, match="aucune clé de signature"):
        record_review(web, "donnees", "approve", "paul.vasseur@dinum.example.fr", "OK")


def test_audit_timeline_keeps_accented_paths(web: Path):
    from tasks.award.audit import timeline

    repo = web.parents[1]
    (web / "pieces" / "annexe-sécurité.md").write_text("# Annexe\n\nTexte.\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Annexe de sécurité")
    events = timeline(web, run_checks=False)
    assert any(
        "annexe-sécurité.md" in d
        for e in events
        if e.summary == "Annexe de sécurité"
        for d in e.details
    ), [(e.summary, e.details) for e in events]


def test_flow_runs_matched_by_exact_tender():
    from flows.runs import belongs

    slugs = ["2026-dsi-01"]
    assert belongs("revue-2026-dsi-01-juridique", {}, slugs)
    assert not belongs("revue-2026-dsi-014-juridique", {}, slugs)
    assert not belongs("cycle-x", {"tender_path": "tenders/2026-DSI-014"}, slugs)
    assert belongs("cycle-x", {"tender_path": "tenders/2026-DSI-01"}, slugs)


def test_one_json_writer_refuses_non_finite_numbers():
    from tasks.dossier.model import json_text

    assert json_text({"montant": 1.5}) == '{\n  "montant": 1.5\n}\n'
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError, match="infini"):
            json_text({"montant": bad})


def test_method_change_is_noted_not_reported(tmp_path: Path, monkeypatch):
    """An archive made with evaluation method v1, audited when the method is v2: not
    recomputed, noted as a change of method — not reported as tampering."""
    import tasks.award.evaluation as evaluation
    from tasks.award.archive import create_archive
    from tasks.award.audit import method_notes, verify
    from tasks.review.reviews import record_review

    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    src = ROOT / "tenders" / "2026-CD33-PC-001"
    repo = tmp_path / "dépôt"
    dossier = repo / "tenders" / src.name
    shutil.copytree(src, dossier, ignore=shutil.ignore_patterns("reviews", "archive"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Acheteuse")
    git(repo, "config", "user.email", "acheteuse@example.fr")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Dossier")
    claire = "claire.lestage@departement33.example.fr"
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", claire)
    record_review(dossier, "environnement", "approve", claire, "Vu.")
    monkeypatch.delenv("GIT_COMMITTER_EMAIL")
    create_archive(dossier)
    assert verify(dossier)[1] == [] and method_notes(dossier) == []
    monkeypatch.setattr(evaluation, "METHOD_VERSION", "2")
    assert verify(dossier)[1] == []
    assert "changement de méthode, pas une altération" in method_notes(dossier)[0]


def test_signer_address_is_matched_exactly():
    """A verified signer proves the referent's signature only under their exact address
    (SSH principal or GPG user id), never a longer address that contains it."""
    from tasks.review.records import signer_email

    assert signer_email("marie@cd33.fr") == "marie@cd33.fr"
    assert signer_email("Marie Dupont (travail) <Marie@CD33.fr>") == "marie@cd33.fr"
    assert signer_email("annemarie@cd33.fr") != "marie@cd33.fr"
    assert signer_email("Anne <annemarie@cd33.fr>") != "marie@cd33.fr"
