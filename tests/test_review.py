"""Referent reviews on real Git repositories: plan, records, lapse, refusals, concurrency."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tasks.errors import InputError
from tasks.review.reviews import (
    plan_for,
    read_records,
    record_review,
    review_gate,
    review_status,
)

ROOT = Path(__file__).resolve().parents[1]
DRAFT = ROOT / "tenders" / "2026-DRAFT-003"
WEB = ROOT / "tenders" / "2026-DINUM-WEB-002"
ENV = "lucie.fabre@villenave-sur-dronne.example.fr"
SOC = "romain.delpech@villenave-sur-dronne.example.fr"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def make_repo(tmp_path: Path, *examples: Path) -> Path:
    """A Git repository holding copies of the example dossiers, one initial commit."""
    for ex in examples:
        if not (ex / "tender.yaml").is_file():
            pytest.skip(f"dossier d'exemple {ex.name} absent")
    repo = tmp_path / "depot"
    for ex in examples:
        shutil.copytree(ex, repo / "tenders" / ex.name, ignore=shutil.ignore_patterns("reviews"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Acheteuse")
    git(repo, "config", "user.email", "acheteuse@example.fr")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Dossier initial")
    return repo


def commit_all(repo: Path, msg: str) -> None:
    git(repo, "commit", "-qam", msg)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def draft(tmp_path: Path) -> Path:
    return make_repo(tmp_path, DRAFT) / "tenders" / "2026-DRAFT-003"


def by_clause(entries) -> dict[str, str]:
    return {e.item.clause: e.status for e in entries}


# --------------------------------------------------------------------------- plan


def test_plan_draft_selects_edited_handwritten_and_waiver(draft: Path):
    plan = plan_for(draft)
    got = {(i.clause, i.kind, i.role) for i in plan.items}
    assert got == {
        ("EOL-WEEE-01", "clause-modifiee", "environnement"),
        ("SOC-INSERT-01", "clause-redigee-main", "social"),
        ("DUR-SPARES-01", "derogation", "environnement"),
    }
    weee = next(i for i in plan.items if i.clause == "EOL-WEEE-01")
    assert weee.id == "EOL-WEEE-01@pieces/ccap.md"
    assert weee.location.file == "pieces/ccap.md" and weee.location.line
    assert weee.clausier_version == plan.clausier_version and weee.clause_version == 1
    assert "Reprise des équipements usagés" in weee.text  # its section, heading included
    waiver = next(i for i in plan.items if i.kind == "derogation")
    assert "Règlement (UE) 2023/1670".lower() in waiver.text.lower()
    assert plan.referents["social"][0].email == SOC


def test_plan_web_service_reviews_accessibility_hosting_and_data(tmp_path: Path):
    d = make_repo(tmp_path, WEB) / "tenders" / "2026-DINUM-WEB-002"
    plan = plan_for(d)
    roles = {i.clause: i.role for i in plan.items}
    assert roles["ACC-RGAA-01"] == "accessibilite"
    assert roles["HOST-ENV-01"] == "environnement"
    assert {c for c, r in roles.items() if r == "donnees"} >= {"DATA-GDPR-01", "DATA-SOV-01"}
    # A library clause call is covered with its rendered text (parameters included).
    rgaa = next(i for i in plan.items if i.clause == "ACC-RGAA-01")
    assert 'clause("ACC-RGAA-01"' in rgaa.text and "RGAA" in rgaa.text.split("\n\n", 1)[1]
    # An unchanged clause that is not sensitive is not reviewed.
    assert "ENV-COND-01" not in roles


def test_digest_changes_with_item_only(draft: Path):
    before = {i.id: i.digest for i in plan_for(draft).items}
    ccap = draft / "pieces" / "ccap.md"
    text = ccap.read_text(encoding="utf-8")
    ccap.write_text("<!-- note -->\n\n" + text, encoding="utf-8")  # every line shifts
    assert {i.id: i.digest for i in plan_for(draft).items} == before
    edit(ccap, "Reprise des équipements usagés", "Reprise des équipements usagés (DEEE)")
    after = {i.id: i.digest for i in plan_for(draft).items}
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"EOL-WEEE-01@pieces/ccap.md"}


# --------------------------------------------------------------------------- records


def test_approve_lapse_reapprove_and_gate(draft: Path):
    repo = draft.parents[1]
    assert len(review_gate(draft)) == 3
    res = record_review(draft, "environnement", "approve", ENV, "Dérogation et reprise DEEE : OK")
    assert res.file.is_file() and res.path.startswith("tenders/2026-DRAFT-003/reviews/")
    assert res.path.endswith("-environnement.yaml")
    log = git(repo, "log", "-1", "--format=%an|%ae|%s")
    assert log.startswith(f"Lucie Fabre|{ENV}|Revue référent environnement")
    assert git(repo, "status", "--porcelain") == ""
    status = review_status(draft)
    assert by_clause(status) == {
        "DUR-SPARES-01": "approved",
        "EOL-WEEE-01": "approved",
        "SOC-INSERT-01": "pending",
    }
    approved = next(e for e in status if e.item.clause == "EOL-WEEE-01")
    assert approved.reviewer.nom == "Lucie Fabre" and approved.time is not None

    # A change elsewhere (another section of the same piece, tender.yaml) lapses nothing.
    edit(draft / "pieces" / "ccap.md", "Article 1", "Article 1")  # no-op guard
    ccap = draft / "pieces" / "ccap.md"
    text = ccap.read_text(encoding="utf-8")
    lines = text.splitlines()
    durée = next(i for i, ln in enumerate(lines) if "Durée" in ln)
    lines.insert(durée + 1, "\nLe marché est conclu pour une durée de trente-six mois.")
    ccap.write_text("\n".join(lines) + "\n", encoding="utf-8")
    edit(draft / "tender.yaml", "dureeMois: 36", "dureeMois: 48")
    commit_all(repo, "Durée")
    assert by_clause(review_status(draft))["EOL-WEEE-01"] == "approved"

    # Editing the approved clause lapses only that approval, with a diff.
    edit(ccap, "Le titulaire justifie", "Le titulaire démontre")
    lapsed = {e.item.clause: e for e in review_status(draft)}  # working tree
    assert lapsed["EOL-WEEE-01"].status == "lapsed"
    assert lapsed["DUR-SPARES-01"].status == "approved"
    diff = lapsed["EOL-WEEE-01"].diff
    assert "-1. Le titulaire justifie" in diff and "+1. Le titulaire démontre" in diff
    reasons = review_gate(draft)
    assert any("caduque" in r and "EOL-WEEE-01" in r for r in reasons)
    assert any("SOC-INSERT-01" in r and "en attente" in r for r in reasons)
    commit_all(repo, "Reformulation DEEE")

    record_review(draft, "environnement", "approve", ENV, "Nouvelle rédaction : OK")
    record_review(draft, "social", "approve", SOC)
    assert review_gate(draft) == []
    assert {e.status for e in review_status(draft)} == {"approved"}
    assert git(repo, "fsck", "--no-dangling", "--no-progress").strip() == ""


def test_request_changes_then_pending_after_edit(draft: Path):
    repo = draft.parents[1]
    with pytest.raises(InputError, match="motivée"):
        record_review(draft, "social", "request-changes", SOC, "")
    record_review(draft, "social", "request-changes", SOC, "Reprendre la clause SOC-INSERT-01")
    entries = {e.item.clause: e for e in review_status(draft)}
    assert entries["SOC-INSERT-01"].status == "changes-requested"
    assert any("modifications demandées" in r for r in review_gate(draft))
    edit(draft / "pieces" / "ccap.md", "Clause sociale", "Clause sociale d'insertion")
    commit_all(repo, "Clause sociale reprise")
    assert by_clause(review_status(draft))["SOC-INSERT-01"] == "pending"


def test_refusals_leave_repository_untouched(draft: Path):
    repo = draft.parents[1]
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(InputError, match=r"revue refusée.*n'est pas déclaré"):
        record_review(draft, "environnement", "approve", SOC, "je valide")
    with pytest.raises(InputError, match="rôle « dpo » inconnu"):
        record_review(draft, "dpo", "approve", ENV)
    with pytest.raises(InputError, match="aucun élément à revoir"):
        record_review(
            draft, "accessibilite", "approve", "yann.legoff@villenave-sur-dronne.example.fr"
        )
    with pytest.raises(InputError, match="consultation introuvable"):
        record_review(draft.parent / "2026-NOPE-999", "social", "approve", SOC)
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(InputError, match="HEAD détachée"):
        record_review(draft, "social", "approve", SOC)
    git(repo, "checkout", "-q", "main")
    assert git(repo, "rev-parse", "HEAD") == head
    assert not (draft / "reviews").exists()
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("kind", ["file", "link"])
def test_reviews_path_not_a_folder_refused_before_commit(draft: Path, kind: str):
    """A file or a link named « reviews » is refused before anything is committed."""
    repo = draft.parents[1]
    target = draft / "reviews"
    if kind == "file":
        target.write_text("notes\n", encoding="utf-8")
    else:
        (repo / "ailleurs").mkdir()
        target.symlink_to(repo / "ailleurs")
    head = git(repo, "rev-parse", "HEAD")
    status = git(repo, "status", "--porcelain")
    with pytest.raises(InputError, match="« reviews » doit être un dossier") as info:
        record_review(draft, "social", "approve", SOC, "OK")
    assert info.value.file == str(target)
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == status
    if kind == "link":  # nothing written through the link
        assert list((repo / "ailleurs").iterdir()) == []


def test_user_work_untouched(draft: Path):
    repo = draft.parents[1]
    edit(draft / "pieces" / "rc.md", "Article", "ARTICLE")
    git(repo, "add", "tenders/2026-DRAFT-003/pieces/rc.md")  # staged
    edit(draft / "pieces" / "rc.md", "ARTICLE", "Art.")  # plus unstaged on top
    edit(draft / "pieces" / "cctp.md", "Article", "Article ")  # unstaged
    (draft / "notes.txt").write_text("brouillon\n", encoding="utf-8")  # untracked
    snap = [
        git(repo, "status", "--porcelain"),
        git(repo, "diff", "--cached"),
        git(repo, "diff"),
    ]
    res = record_review(draft, "social", "approve", SOC, "OK")
    assert [
        git(repo, "status", "--porcelain"),
        git(repo, "diff", "--cached"),
        git(repo, "diff"),
    ] == snap
    # The record is committed alone, and present in HEAD, index and working tree.
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [res.path]
    assert git(repo, "ls-files", "--", res.path).strip() == res.path
    assert "ARTICLE" in git(repo, "show", ":tenders/2026-DRAFT-003/pieces/rc.md")
    assert git(repo, "fsck", "--no-dangling", "--no-progress").strip() == ""


def test_forged_or_uncommitted_record_does_not_count(draft: Path):
    repo = draft.parents[1]
    res = record_review(draft, "social", "approve", SOC, "OK")
    forged = draft / "reviews" / "20990101T000000Z-environnement.yaml"
    text = res.file.read_text(encoding="utf-8").replace("social", "environnement")
    text = text.replace("Romain Delpech", "Lucie Fabre").replace(SOC, ENV)
    forged.write_text(text, encoding="utf-8")
    assert by_clause(review_status(draft))["DUR-SPARES-01"] == "pending"  # not committed
    git(repo, "add", "-A")
    commit_all(repo, "ajout d'une fausse revue")  # committed by the buyer, not by Lucie
    assert [r.record.role for r in read_records(draft)] == ["social"]
    assert by_clause(review_status(draft))["DUR-SPARES-01"] == "pending"


def test_repository_wide_referents(draft: Path):
    repo = draft.parents[1]
    edit(draft / "tender.yaml", "  social:\n    - nom: Romain Delpech", "  x:\n    - nom: R")
    text = (draft / "tender.yaml").read_text(encoding="utf-8")
    (draft / "tender.yaml").write_text(
        text.replace(
            "  x:\n    - nom: R\n      email: romain.delpech@villenave-sur-dronne.example.fr\n", ""
        ),
        encoding="utf-8",
    )
    (repo / "referents.yaml").write_text(
        "referents:\n  social:\n    - {nom: Inès Social, email: ines@example.fr}\n",
        encoding="utf-8",
    )
    git(repo, "add", "-A")
    commit_all(repo, "Référents communs")
    with pytest.raises(InputError, match="n'est pas déclaré"):
        record_review(draft, "social", "approve", SOC)
    record_review(draft, "social", "approve", "ines@example.fr", "OK")
    assert by_clause(review_status(draft))["SOC-INSERT-01"] == "approved"
    (repo / "referents.yaml").write_text("referents:\n  dpo: []\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"referents\.yaml.*dpo"):
        plan_for(draft)


# --------------------------------------------------------------------------- concurrency


def _worker(args: tuple[str, int]) -> list[str]:
    dossier, n = args
    paths = []
    for i in range(n):
        role, email = ("social", SOC) if i % 2 else ("environnement", ENV)
        paths.append(record_review(dossier, role, "approve", email, f"revue {i}").path)
    return paths


def test_twenty_concurrent_reviews_all_land(draft: Path):
    repo = draft.parents[1]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        results = pool.map(_worker, [(str(draft), 5)] * 4)
    paths = [p for r in results for p in r]
    assert len(set(paths)) == 20
    tree = git(repo, "ls-tree", "--name-only", "HEAD", "tenders/2026-DRAFT-003/reviews/")
    assert set(tree.split()) == set(paths)
    assert len(git(repo, "log", "--format=%H", "--author=villenave").split()) == 20
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "fsck", "--no-dangling", "--no-progress").strip() == ""
    assert len(read_records(draft)) == 20


# --------------------------------------------------------------------------- CLI


def test_cli_review_commands(draft: Path, monkeypatch: pytest.MonkeyPatch):
    from cahier.cli import app

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.chdir(draft.parents[1])
    runner = CliRunner()
    r = runner.invoke(app, ["review", "plan", "2026-DRAFT-003"])
    assert r.exit_code == 0 and "EOL-WEEE-01" in r.output and "Lucie Fabre" in r.output
    r = runner.invoke(
        app,
        ["review", "approve", "2026-DRAFT-003", "--role", "social", "--reviewer-email", ENV],
    )
    assert r.exit_code == 2 and "revue refusée" in r.output
    r = runner.invoke(app, ["review", "approve", "2026-DRAFT-003", "--role", "dpo"])
    assert r.exit_code == 2 and "inconnu" in r.output
    r = runner.invoke(app, ["review", "status", "2026-ABSENT-000"])
    assert r.exit_code == 2 and "introuvable" in r.output
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Romain Delpech")  # Romain runs it himself
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", SOC)
    r = runner.invoke(
        app,
        ["review", "approve", str(draft), "--role", "social", "--comment", "OK",
         "--reviewer-email", SOC],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Revue enregistrée" in r.output and "Romain Delpech" in r.output
    r = runner.invoke(app, ["review", "status", "2026-DRAFT-003"])
    assert r.exit_code == 1 and "[approuvé] SOC-INSERT-01" in r.output
    assert "[en attente] EOL-WEEE-01" in r.output


# --------------------------------------------------------------------------- trial fixes

NADIA = "nadia.haddad@dinum.example.fr"
PAUL = "paul.vasseur@dinum.example.fr"
BUYER = "acheteuse@example.fr"


@pytest.fixture
def web(tmp_path: Path) -> Path:
    return make_repo(tmp_path, WEB) / "tenders" / "2026-DINUM-WEB-002"


def act_as(monkeypatch: pytest.MonkeyPatch, nom: str, email: str) -> None:
    """The person running the next commands, as Git sees it (committer identity)."""
    monkeypatch.setenv("GIT_COMMITTER_NAME", nom)
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", email)


def commit_as(repo: Path, nom: str, email: str, msg: str) -> str:
    git(repo, "-c", f"user.name={nom}", "-c", f"user.email={email}", "commit", "-qam", msg)
    return git(repo, "rev-parse", "HEAD").strip()


def forge_record(dossier: Path, role: str, nom: str, email: str) -> None:
    """An approval committed by hand (bypassing cahier), authored by the named person."""
    import yaml

    from tasks.review.reviews import ReviewItemDigest, ReviewRecord

    repo = dossier.parents[1]
    plan = plan_for(dossier, rev="HEAD")
    rec = ReviewRecord(
        tender=plan.tender,
        role=role,
        reviewer={"nom": nom, "email": email},
        decision="approve",
        time=dt.datetime.now(dt.UTC),
        items=[
            ReviewItemDigest(id=i.id, clause=i.clause, digest=i.digest) for i in plan.for_role(role)
        ],
        clausier_version=plan.clausier_version,
        commit=git(repo, "rev-parse", "HEAD").strip(),
    )
    target = dossier / "reviews" / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{role}.yaml"
    target.parent.mkdir(exist_ok=True)
    target.write_text(
        yaml.safe_dump(rec.model_dump(mode="json", exclude_none=True), allow_unicode=True),
        encoding="utf-8",
    )
    git(repo, "add", "-A")
    commit_as(repo, nom, email, "revue saisie à la main")


def test_subsection_contradiction_lapses_approval(web: Path):
    """Trial 1: a sub-section added under the approved clause's article lapses it."""
    repo = web.parents[1]
    ccap = web / "pieces" / "ccap.md"
    rev = next(i for i in plan_for(web).items if i.clause == "DATA-REV-01")
    assert rev.id == "DATA-REV-01@pieces/ccap.md" and "Article 8 – Réversibilité" in rev.text
    record_review(web, "donnees", "approve", NADIA, "Réversibilité : conforme.")

    # A change in another article (9.1, right after Article 8) lapses nothing.
    edit(ccap, "Pour le présent marché, le rapport", "Pour ce marché, le rapport")
    commit_all(repo, "Article 9 reformulé")
    assert {e.status for e in review_status(web) if e.item.role == "donnees"} == {"approved"}

    # A sub-section of Article 8 contradicting the clause lapses DATA-REV-01 only.
    edit(
        ccap,
        "## Article 9 – Clauses environnementales",
        "### 8.1 Précisions\n\nAucune réversibilité n'est due par le titulaire.\n\n"
        "## Article 9 – Clauses environnementales",
    )
    commit_all(repo, "Précisions sur la réversibilité")
    status = {e.item.clause: e for e in review_status(web) if e.item.role == "donnees"}
    assert status["DATA-REV-01"].status == "lapsed"
    assert "+Aucune réversibilité n'est due par le titulaire." in status["DATA-REV-01"].diff
    assert status["DATA-GDPR-01"].status == "approved"
    assert any("DATA-REV-01" in r and "caduque" in r for r in review_gate(web))


def test_digest_covers_numbered_paragraph_lines_under_markdown_article(web: Path):
    """A numbered line that looks like a heading (« 10. Aucune… ») stays inside Article 8."""
    before = {i.id: i.digest for i in plan_for(web).items}
    edit(
        web / "pieces" / "ccap.md",
        "## Article 9 – Clauses environnementales",
        "10. Aucune réversibilité n'est due\n\n## Article 9 – Clauses environnementales",
    )
    after = {i.id: i.digest for i in plan_for(web).items}
    assert {k for k in before if before[k] != after[k]} == {"DATA-REV-01@pieces/ccap.md"}


def test_cli_on_behalf_requires_flag_and_is_shown(web: Path, monkeypatch: pytest.MonkeyPatch):
    """Trial 2: the buyer cannot silently record a review in Nadia's name."""
    import yaml

    from cahier.cli import app

    repo = web.parents[1]
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("GIT_COMMITTER_NAME", raising=False)
    monkeypatch.delenv("GIT_COMMITTER_EMAIL", raising=False)
    monkeypatch.chdir(repo)
    runner = CliRunner()
    head = git(repo, "rev-parse", "HEAD")
    cmd = ["review", "approve", str(web), "--role", "donnees", "--reviewer-email", NADIA]
    r = runner.invoke(app, [*cmd, "--comment", "OK"])
    assert r.exit_code == 2, r.output
    assert "Acheteuse" in r.output and "Nadia Haddad" in r.output
    assert "--pour-le-compte-de" in r.output
    assert git(repo, "rev-parse", "HEAD") == head and not (web / "reviews").exists()

    r = runner.invoke(app, [*cmd, "--comment", "Avis transmis par courriel", "--pour-le-compte-de"])
    assert r.exit_code == 0, r.output
    log = git(repo, "log", "-1", "--format=%an|%ae|%cn|%ce").strip()
    assert log == f"Nadia Haddad|{NADIA}|Acheteuse|{BUYER}"
    stored = read_records(web)[-1]
    data = yaml.safe_load((repo / stored.path).read_text(encoding="utf-8"))
    assert data["reviewer"]["email"] == NADIA
    assert data["recorded_by"] == {"nom": "Acheteuse", "email": BUYER}
    r = runner.invoke(app, ["review", "status", str(web)])
    assert (
        f"enregistrée par Acheteuse <{BUYER}> pour le compte de Nadia Haddad <{NADIA}>" in r.output
    )

    # Nadia on her own machine (committer identity = Nadia): no flag, no recorded_by.
    act_as(monkeypatch, "Nadia Haddad", NADIA)
    r = runner.invoke(app, ["review", "approve", str(web), "--role", "donnees"])
    assert r.exit_code == 0, r.output
    assert git(repo, "log", "-1", "--format=%an|%cn").strip() == "Nadia Haddad|Nadia Haddad"
    last = read_records(web)[-1]
    assert last.record.recorded_by is None and last.record.reviewer.email == NADIA
    r = runner.invoke(app, ["review", "status", str(web)])
    assert "pour le compte de" not in "\n".join(ln for ln in r.output.splitlines() if "DATA-" in ln)


def test_signed_review_commit_shows_signer(
    web: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Optional signature: an SSH-signed review commit shows its signer in the status,
    verified against the verifier's allowed-signers file (settings), never the one the
    repository's own configuration names."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen absent")
    repo = web.parents[1]
    key = tmp_path / "cle_nadia"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", NADIA, "-f", str(key)], check=True
    )
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"{NADIA} {(tmp_path / 'cle_nadia.pub').read_text()}", encoding="utf-8")
    for k, v in {
        "gpg.format": "ssh",
        "user.signingkey": str(key),
        "commit.gpgsign": "true",
        "gpg.ssh.allowedSignersFile": str(allowed),
        "user.name": "Nadia Haddad",
        "user.email": NADIA,
    }.items():
        git(repo, "config", k, v)
    res = record_review(web, "donnees", "approve", NADIA, "Signé.")
    assert subprocess.run(["git", "verify-commit", res.commit], cwd=repo).returncode == 0
    entry = next(e for e in review_status(web) if e.item.clause == "DATA-REV-01")
    # The repository's own gpg.ssh.allowedSignersFile proves nothing to the verifier.
    assert entry.status == "approved" and entry.signer is None
    assert "commit non signé" in entry.message()
    monkeypatch.setenv("CAHIER_SIGNATURES__ALLOWED_SIGNERS", str(allowed))
    entry = next(e for e in review_status(web) if e.item.clause == "DATA-REV-01")
    assert entry.status == "approved" and entry.signer == NADIA
    assert entry.declarative == []
    assert f"commit signé par {NADIA}" in entry.message()


def test_self_declared_referent_refused_and_not_counted(web: Path):
    """Trial 3: the buyer declares herself data referent, then approves her own dossier."""
    repo = web.parents[1]
    edit(
        web / "tender.yaml",
        "  donnees:\n",
        f"  donnees:\n    - nom: Acheteuse\n      email: {BUYER}\n",
    )
    declared = commit_as(repo, "Acheteuse", BUYER, "Référents")
    with pytest.raises(InputError, match=r"déclaré\(e\) référent .*par cette même personne"):
        record_review(web, "donnees", "approve", BUYER, "OK")
    assert git(repo, "rev-parse", "HEAD").strip() == declared

    # Bypassing cahier (a record committed by hand) does not count either.
    forge_record(web, "donnees", "Acheteuse", BUYER)
    entries = [e for e in review_status(web) if e.item.role == "donnees"]
    assert entries and {e.status for e in entries} == {"pending"}
    msg = entries[0].message()
    assert "non retenue" in msg and declared[:10] in msg and "en attente" in msg
    assert any("non retenue" in r for r in review_gate(web))

    # Nadia, declared by the buyer in the initial commit, approves: it counts and the
    # status says who declared her, when and where.
    record_review(web, "donnees", "approve", NADIA, "Conforme.")
    first = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    ok = next(e for e in review_status(web) if e.item.clause == "DATA-REV-01")
    assert ok.status == "approved" and ok.declaration.commit == first
    assert ok.declaration.author.email == BUYER
    assert f"déclaré(e) référent données (DPO) par Acheteuse <{BUYER}>" in ok.message()
    assert first[:10] in ok.message() and "tender.yaml" in ok.message()


def test_undeclared_reviewer_record_does_not_count(web: Path):
    """A hand-committed approval by someone never declared for the role counts for nothing."""
    forge_record(web, "donnees", "Inconnu", "inconnu@example.fr")
    entry = next(e for e in review_status(web) if e.item.clause == "DATA-REV-01")
    assert entry.status == "pending" and "n'était pas déclaré" in entry.message()


def test_self_approval_refused_other_referent_can_approve(web: Path):
    """Trial 3: a referent may not approve the text she last changed; a colleague may."""
    repo = web.parents[1]
    ccap = web / "pieces" / "ccap.md"
    edit(
        ccap,
        '{{ clause("DATA-REV-01", delai_plan_mois=2, duree_reversibilite_mois=3) }}',
        '{{ clause("DATA-REV-01", delai_plan_mois=2, duree_reversibilite_mois=6) }}',
    )
    changed = commit_as(repo, "Nadia Haddad", NADIA, "Réversibilité portée à six mois")
    with pytest.raises(InputError, match=r"auteur\(e\) d'une modification de DATA-REV-01"):
        record_review(web, "donnees", "approve", NADIA, "OK")
    with pytest.raises(InputError, match=changed[:10]):
        record_review(web, "donnees", "approve", NADIA, "OK")
    # A request for changes on her own text stays possible.
    record_review(web, "donnees", "request-changes", NADIA, "À relire par Paul.")
    record_review(web, "donnees", "approve", PAUL, "Six mois : conforme.")
    assert {e.status for e in review_status(web) if e.item.role == "donnees"} == {"approved"}

    # A self-approval committed by hand (bypassing cahier) is not counted.
    edit(ccap, "duree_reversibilite_mois=6", "duree_reversibilite_mois=4")
    commit_as(repo, "Nadia Haddad", NADIA, "Quatre mois")
    forge_record(web, "donnees", "Nadia Haddad", NADIA)
    entry = next(e for e in review_status(web) if e.item.clause == "DATA-REV-01")
    assert entry.status == "pending" and "auteur(e) d'une modification" in entry.message()
    gdpr = next(e for e in review_status(web) if e.item.clause == "DATA-GDPR-01")
    assert gdpr.status == "approved"  # not changed by Nadia: her approval counts


def test_cli_self_approval_exit_2(web: Path, monkeypatch: pytest.MonkeyPatch):
    from cahier.cli import app

    repo = web.parents[1]
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    edit(
        web / "pieces" / "ccap.md",
        "## Article 8 – Réversibilité",
        "## Article 8 – Réversibilité\n\nVoir aussi le CCTP.",
    )
    commit_as(repo, "Nadia Haddad", NADIA, "Renvoi au CCTP")
    act_as(monkeypatch, "Nadia Haddad", NADIA)
    r = CliRunner().invoke(app, ["review", "approve", str(web), "--role", "donnees"])
    assert r.exit_code == 2 and "auteur(e) d'une modification" in r.output


def test_plan_takes_the_callers_check_and_reading(draft: Path, monkeypatch: pytest.MonkeyPatch):
    """The lifecycle's check step hands its report and dossier to plan_for, and the plan
    to the gate: the same plan and gate as when they read and check themselves, and
    nothing is read or checked again."""
    import tasks.check.checker as checker
    import tasks.dossier.reader as reader
    from tasks.clausier.library import load_clausier

    dossier = reader.read_dossier(draft)
    report = checker.check_dossier(dossier, load_clausier(None, dossier=draft))
    expected = plan_for(draft)
    expected_gate = review_gate(draft)

    def refused(*args, **kwargs):
        raise AssertionError("lu ou contrôlé une seconde fois")

    monkeypatch.setattr(reader, "read_dossier", refused)
    monkeypatch.setattr(checker, "check_dossier", refused)
    given = plan_for(draft, report=report, dossier=dossier)
    assert given.model_dump() == expected.model_dump()
    assert [i.id for i in given.items]
    assert review_gate(draft, plan=given) == expected_gate != []
