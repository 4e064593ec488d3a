"""The Prefect-server witness (issue 13, Build 3): one artifact per archive on a team
server run by IT; the buyer's own server (sharing their PREFECT_HOME) is refused.

The « IT server » is the session's temporary Prefect server (``prefect_harness``); the
buyer's PREFECT_HOME is a folder of the test (another home than the server's) — or,
for the refusal, the server's own home.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.award.archive import create_archive, tag_name
from tasks.award.audit import verify, witness_statements, witnesses_prove
from tests.test_archive import REL, TID, git, make_repo

pytestmark = pytest.mark.flow


def _verifier(tmp_path: Path, url: str, buyer_home: Path) -> Path:
    config = tmp_path / "verificateur.yaml"
    config.write_text(
        f"witnesses:\n  - kind: prefect\n    target: {url}\nprefect:\n  home: {buyer_home}\n",
        encoding="utf-8",
    )
    return config


def test_prefect_witness_detects_an_archive_replaced_after_its_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_harness
):
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    config = _verifier(tmp_path, url, tmp_path / "prefect-acheteur")
    monkeypatch.setenv("CAHIER_CONFIG", str(config))
    repo = make_repo(tmp_path / "r")
    dossier = repo / REL

    info = create_archive(dossier, draft=True)
    assert any(
        w.startswith(f"témoin Prefect {url} : artefact cahier-2026-cd33-pc-001-archive-1")
        for w in info.witnesses
    ), info.witnesses
    assert verify(dossier) == ([1], [])
    said = " ".join(witness_statements(dossier))
    assert "témoin Prefect" in said and "1 ancre(s)" in said and "il prouve" in said
    assert witnesses_prove(dossier)

    # The buyer deletes archive 1 and its tag, changes a price and archives again
    # without the witness: a consistent repository, but the artifact remembers.
    git(repo, "tag", "-d", tag_name(TID, 1))
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    ev = dossier / "evaluation" / "evaluation.yaml"
    ev.write_text(
        ev.read_text(encoding="utf-8").replace("prix: 275000", "prix: 270000"), encoding="utf-8"
    )
    git(repo, "commit", "-qam", "prix")
    monkeypatch.setenv("CAHIER_CONFIG", os.devnull)
    forged = create_archive(dossier, draft=True)
    assert forged.numero == 1 and forged.witnesses == []
    assert verify(dossier) == ([1], [])  # without the witness, nothing to see

    monkeypatch.setenv("CAHIER_CONFIG", str(config))
    numbers, problems = verify(dossier)
    replaced = [p for p in problems if p.code == "archive-remplacee"]
    assert numbers == [1] and replaced, [p.render() for p in problems]
    assert f"témoin Prefect {url}" in replaced[0].message
    assert info.manifest_sha256[:16] in replaced[0].message

    # Archiving again *with* the witness writes a second version of the artifact: two
    # different anchors for archive n° 1, the first one being the original's.
    git(repo, "tag", "-d", tag_name(TID, 1))
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    create_archive(dossier, draft=True)
    messages = [p.message for p in verify(dossier)[1] if p.code == "archive-remplacee"]
    assert any("2 ancres différentes pour l'archive n° 1" in m for m in messages), messages


def test_buyer_own_prefect_server_is_refused_as_a_witness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_harness
):
    from prefect.settings import PREFECT_API_URL, get_current_settings

    url = PREFECT_API_URL.value()
    # the server runs on the buyer's own PREFECT_HOME (its SQLite database is theirs)
    monkeypatch.setenv("CAHIER_CONFIG", str(_verifier(tmp_path, url, get_current_settings().home)))
    repo = make_repo(tmp_path / "r")
    dossier = repo / REL

    info = create_archive(dossier, draft=True)
    assert len(info.witnesses) == 1 and "refusé" in info.witnesses[0], info.witnesses
    assert "ne prouve rien" in info.witnesses[0] and "ancre non écrite" in info.witnesses[0]
    assert verify(dossier) == ([1], [])
    said = witness_statements(dossier)
    assert any("refusé comme témoin" in s and "ne prouve rien" in s for s in said), said
    assert not witnesses_prove(dossier)


def test_embedded_server_target_is_refused_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = _verifier(tmp_path, "ephemere", tmp_path / "prefect-acheteur")
    monkeypatch.setenv("CAHIER_CONFIG", str(config))
    repo = make_repo(tmp_path / "r")
    info = create_archive(repo / REL, draft=True)
    assert "refusé" in info.witnesses[0] and "ne prouve rien" in info.witnesses[0]
    assert not witnesses_prove(repo / REL)
