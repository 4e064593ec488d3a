"""Defences that the tamper corpus covers end to end, here unit by unit (fast):
confusable identities (``_skeleton``, ``_mixed_script``, at approve time and at
verification time), grafted history (``refuse_grafts``), witnesses that prove
(``witnesses_prove``) and the four-eyes rule across merged branches."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tasks.dossier.model import Person
from tasks.errors import InputError
from tasks.review.reviews import _confusion, _mixed_script, _refuse_confusable, _skeleton

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "tenders" / "2026-DINUM-WEB-002"
NADIA = "nadia.haddad@dinum.example.fr"
# Cyrillic « а » (U+0430) in place of the first Latin « a »
LOOKALIKE = "n\u0430dia.haddad@dinum.example.fr"


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    ).stdout


def as_person(name: str, email: str) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


# --------------------------------------------------------------- skeletons and scripts


def test_mixed_script_tells_lookalike_letters_from_accents():
    assert _mixed_script(LOOKALIKE)
    assert _mixed_script("nadia.h\u03b1ddad@dinum.example.fr")  # Greek alpha
    assert not _mixed_script(NADIA)
    assert not _mixed_script("hélène.müller@mairie.example.fr")  # accents stay Latin
    assert not _mixed_script("наталья@почта.рф")  # one script only: not mixed


def test_skeleton_folds_confusables_case_and_width():
    plain = _skeleton(NADIA)
    assert _skeleton(LOOKALIKE) == plain
    assert _skeleton("NADIA.Haddad@Dinum.Example.FR") == plain
    assert _skeleton("\uff4e\uff41\uff44\uff49\uff41.haddad@dinum.example.fr") == plain  # fullwidth
    assert _skeleton("Hélène") == _skeleton("Helene")
    assert _skeleton("paul.vasseur@dinum.example.fr") != plain


def test_confusion_blames_the_lookalike_not_the_referent():
    nadia = Person(nom="Nadia Haddad", email=NADIA)
    twin = Person.model_construct(nom="Nadia Haddad", email=LOOKALIKE)
    declared = [nadia, twin, Person(nom="Paul Vasseur", email="paul.vasseur@dinum.example.fr")]
    why = _confusion(twin, declared)
    assert why is not None and "mélange des écritures" in why and f"<{NADIA}>" in why
    # a sock puppet declared next to Nadia does not disqualify Nadia herself
    assert _confusion(nadia, declared) is None
    # an accented name is not a look-alike
    assert _confusion(Person(nom="Amélie Rousseau", email="amelie@x.fr"), declared) is None


def test_refuse_confusable_at_approve_time():
    nadia = Person(nom="Nadia Haddad", email=NADIA)
    twin = Person.model_construct(nom="Nadia Haddad", email=LOOKALIKE)
    referents = {"donnees": [nadia, twin]}
    with pytest.raises(InputError, match="se confond avec Nadia Haddad") as exc:
        _refuse_confusable(twin, referents, "2026-DINUM-WEB-002")
    assert "tender.yaml" in str(exc.value) and LOOKALIKE in str(exc.value)
    _refuse_confusable(nadia, referents, "2026-DINUM-WEB-002")  # no exception


# --------------------------------------------------------------- at verification time


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The web example committed by the buyer, a look-alike of Nadia declared beside her."""
    if not (WEB / "tender.yaml").is_file():
        pytest.skip("dossier d'exemple absent")
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    repo = tmp_path / "dépôt"
    dossier = repo / "tenders" / WEB.name
    shutil.copytree(WEB, dossier, ignore=shutil.ignore_patterns("reviews"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Acheteuse")
    git(repo, "config", "user.email", "acheteuse@example.fr")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Dossier")
    tender = dossier / "tender.yaml"
    text = tender.read_text(encoding="utf-8")
    assert "  donnees:\n" in text
    tender.write_text(
        text.replace(
            "  donnees:\n", f"  donnees:\n    - nom: Nadia Haddad\n      email: {LOOKALIKE}\n", 1
        ),
        encoding="utf-8",
    )
    git(repo, "commit", "-qam", "Suppléance de la DPO")
    return dossier


def test_record_by_lookalike_identity_never_counts(web: Path, monkeypatch):
    """A record committed by hand (plain Git, no cahier) by the look-alike referent that
    the buyer declared: not approved, reported naming the commit and the person; the real
    referent can still approve."""
    from tamper_tools import forge

    from tasks.review.reviews import record_review, review_gate, review_status

    repo = web.parents[1]
    monkeypatch.chdir(repo)
    forge(
        web,
        "donnees",
        "Nadia Haddad",
        LOOKALIKE,
        web / "reviews" / "20260101T000000Z-donnees.yaml",
        "approve",
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Revue données", env=as_person("Nadia Haddad", LOOKALIKE))
    forged = git(repo, "rev-parse", "HEAD").strip()
    entries = [e for e in review_status(web) if e.item.role == "donnees"]
    assert entries and {e.status for e in entries} == {"pending"}
    for e in entries:
        assert any(
            forged[:10] in r and LOOKALIKE in r and "mélange des écritures" in r for r in e.rejected
        ), e.rejected
    gate = review_gate(web)
    assert any(forged[:10] in g for g in gate)

    monkeypatch.setenv("GIT_COMMITTER_NAME", "Nadia Haddad")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", NADIA)
    record_review(web, "donnees", "approve", NADIA, "Conforme.")
    entries = [e for e in review_status(web) if e.item.role == "donnees"]
    assert {e.status for e in entries} == {"approved"}
    assert all(e.reviewer.email == NADIA for e in entries)


def test_lookalike_cannot_approve_with_cahier(web: Path, monkeypatch):
    from tasks.review.reviews import record_review

    monkeypatch.setenv("GIT_COMMITTER_NAME", "Nadia Haddad")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", LOOKALIKE)
    with pytest.raises(InputError, match="mélange des écritures"):
        record_review(web, "donnees", "approve", LOOKALIKE, "Vu.")


# --------------------------------------------------------------- four eyes, merged branch


def test_four_eyes_sees_referent_edit_on_merged_branch(web: Path, monkeypatch):
    """Nadia's edit on a branch, the same edit by the buyer on main, a clean merge: the
    first-parent history shows only the buyer, yet Nadia may not approve her own text."""
    from tasks.review.reviews import record_review

    repo = web.parents[1]
    ccap = web / "pieces" / "ccap.md"
    text = ccap.read_text(encoding="utf-8")
    assert "duree_reversibilite_mois=" in text

    edited = re.sub(r"duree_reversibilite_mois=\d+", "duree_reversibilite_mois=1", text, count=1)
    assert edited != text
    git(repo, "switch", "-qc", "nadia")
    ccap.write_text(edited, encoding="utf-8")
    git(repo, "commit", "-qam", "Réversibilité (Nadia)", env=as_person("Nadia Haddad", NADIA))
    git(repo, "switch", "-q", "main")
    ccap.write_text(edited, encoding="utf-8")
    git(repo, "commit", "-qam", "Réversibilité")
    git(repo, "merge", "-q", "--no-ff", "nadia", "-m", "Fusion")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Nadia Haddad")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", NADIA)
    with pytest.raises(InputError, match=r"Nadia Haddad.*auteur"):
        record_review(web, "donnees", "approve", NADIA, "Vu.")
    # another referent of the role may approve
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Paul Vasseur")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "paul.vasseur@dinum.example.fr")
    record_review(web, "donnees", "approve", "paul.vasseur@dinum.example.fr", "Vu.")


# --------------------------------------------------------------- grafts and witnesses


def test_refuse_grafts_names_the_file(tmp_path: Path):
    from tasks.git import GraftedHistory, Repo, refuse_grafts

    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "un", env=as_person("A", "a@x.fr"))
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "deux", env=as_person("A", "a@x.fr"))
    common = tmp_path / ".git"
    refuse_grafts(common, "cahier audit")  # no grafts: nothing raised
    Repo.discover(tmp_path).require_full_history("cahier review")
    head = git(tmp_path, "rev-parse", "HEAD").strip()
    (common / "info").mkdir(exist_ok=True)
    (common / "info" / "grafts").write_text(f"{head}\n", encoding="utf-8")
    with pytest.raises(GraftedHistory, match="greffes") as exc:
        refuse_grafts(common, "cahier audit")
    assert "cahier audit" in str(exc.value) and "info/grafts" in str(exc.value)
    assert isinstance(exc.value, InputError)  # exit code 2, French, no traceback
    with pytest.raises(GraftedHistory, match="cahier review"):
        Repo.discover(tmp_path).require_full_history("cahier review")


def test_witnesses_prove_only_the_verifiers(tmp_path: Path, monkeypatch):
    from tasks.award.audit import witnesses_prove

    dossier = tmp_path / "dossier"
    dossier.mkdir()
    monkeypatch.delenv("CAHIER_WITNESSES", raising=False)
    monkeypatch.delenv("CAHIER_ORGANISATION", raising=False)
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    assert not witnesses_prove(dossier)
    # a witness declared by the buyer's file in the repository proves nothing, even when
    # it claims to be the verifier's
    (dossier / "cahier.yaml").write_text(
        f"witnesses:\n  - kind: fichier\n    target: {tmp_path / 'a.log'}\n"
        "    verificateur: true\n",
        encoding="utf-8",
    )
    assert not witnesses_prove(dossier)
    verifier = tmp_path / "auditeur.yaml"
    verifier.write_text(
        f"witnesses:\n  - kind: fichier\n    target: {tmp_path / 'temoin.log'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CAHIER_CONFIG", str(verifier))
    assert witnesses_prove(dossier)
