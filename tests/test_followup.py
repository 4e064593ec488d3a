"""Execution follow-up (tasks/award/followup.py, ``cahier followup``) on the Région's
example contract: plan from the execution clauses and the winner's commitments, two
reports (one short of the commitment), shortfalls with their penalty, late and missing
reports, bad reports refused with file and line, referents' review of a shortfall."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.award.followup import build_plan, check_followup, plan_yaml
from tasks.clausier.library import load_clausier

ROOT = Path(__file__).resolve().parents[1]
REGION = ROOT / "examples" / "region-policy"
CONTRACT = REGION / "tenders" / "2026-RNA-LYC-005"
ON = "2027-03-15"


@pytest.fixture()
def contract(tmp_path) -> Path:
    copy = tmp_path / CONTRACT.name
    shutil.copytree(CONTRACT, copy)
    return copy


def _cli(*args: str, cwd: Path = ROOT, env_extra: dict | None = None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAHIER_ORGANISATION": str(REGION)}
    env["CAHIER_CONFIG"] = "/nonexistent/cahier.yaml"
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "cahier", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_committed_plan_is_the_one_built_from_clauses_and_offer():
    lib = load_clausier(layers=[REGION / "politique-region"])
    plan = build_plan(CONTRACT, lib)
    assert plan_yaml(plan) == (CONTRACT / "suivi" / "plan.yaml").read_text(encoding="utf-8")
    by_id = {c.id: c for c in plan.engagements}
    hours = by_id["SOC-INSERT-01/heures_insertion"]
    # the winner offered 50 h per 100 000 € HT, above the CCAP's 35 h: the offer binds
    assert hours.cible == 50 and hours.par_100k and hours.penalite.montant == 50
    assert hours.echeances[0].echeance == dt.date(2027, 2, 10)  # « avant le 10 » (CCAP)
    assert by_id["CIRC-REUSE-01/part_reconditionnes"].cible == 40
    assert plan.titulaire.offre == "A" and plan.debut == dt.date(2027, 1, 4)


def test_check_reports_shortfalls_with_penalty_and_lateness(contract):
    res = _cli("followup", "check", str(contract), "--date", ON, "-f", "json")
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    rules = {(f["rule"], f["clause"]): f for f in out["findings"]}
    hours = rules[("suivi-ecart", "SOC-INSERT-01")]
    # 150 000 € HT invoiced × 50 h / 100 000 € = 75 h due, 32 + 12 = 44 done: 31 h × 50 €
    assert "44 heures réalisées sur 75 dues" in hours["message"]
    assert "1 550 € HT" in hours["message"].replace("\u202f", " ")
    assert hours["location"]["file"].endswith("2027-02.csv") and hours["location"]["line"] == 3
    share = rules[("suivi-ecart", "CIRC-REUSE-01")]
    assert "31,9 %" in share["message"] and "40 %" in share["message"]
    late = rules[("suivi-rapport-en-retard", "SOC-INSERT-01")]
    assert "2 jour(s)" in late["message"] and late["severity"] == "warning"
    progress = {p["engagement"]: p for p in out["progress"]}
    assert progress["SOC-INSERT-01/heures_insertion"]["realise"] == 44


def test_text_report_shows_promised_and_done_in_french(contract):
    """The text report (the default format) prints the promised / done table."""
    res = _cli("followup", "check", str(contract), "--date", ON)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert "Promis / réalisé" in res.stdout
    assert "SOC-INSERT-01/heures_insertion" in res.stdout and "NON ATTEINT" in res.stdout


def test_first_report_alone_meets_the_commitment_and_a_missing_one_is_an_error(contract):
    (contract / "suivi" / "rapports" / "2027-02.csv").unlink()
    result = check_followup(contract, dt.date(2027, 2, 20))
    assert result.errors == 0, [f.message for f in result.findings]
    later = check_followup(contract, dt.date(2027, 3, 20))
    missing = [f for f in later.findings if f.rule == "suivi-rapport-manquant"]
    assert [f.clause for f in missing] == ["SOC-INSERT-01"]
    assert "attendu le 10/03/2027" in missing[0].message


@pytest.mark.parametrize(
    ("name", "text", "expect", "line"),
    [
        (
            "2027-03.yaml",
            "contrat: 2026-RNA-LYC-005\nperiode: {debut: 2027-03-01, fin: 2027-03-31}\n"
            "remis_le: 2027-04-05\nvaleurs:\n  heures_insertion: 10\n  appareils_livres: -4\n",
            "supérieur ou égal à 0",
            6,
        ),
        (
            "2027-03.yaml",
            "contrat: 2026-RNA-LYC-005\nperiode: {debut: 2027-03-01, fin: 2027-03-31}\n"
            "remis_le: 2027-04-05\nvaleurs: {heures_insertion: 7}\nheures:\n"
            "  - {date: 2026-12-20, heures: 7}\n",
            "hors du marché",
            6,
        ),
        (
            "2027-03.csv",
            "contrat;periode_debut;periode_fin;remis_le;indicateur;valeur;reference;date;"
            "contrat_justificatif\n"
            "2026-RNA-LYC-005;2027-03-01;2027-03-31;2027-04-05;heures_insertion;5;;;\n"
            "2026-RNA-LYC-005;2027-03-01;2027-03-31;2027-04-05;certificat_deee;1;ECO-9;"
            "2027-03-30;2026-CD33-PC-001\n",
            "pour le contrat « 2026-CD33-PC-001 »",
            3,
        ),
        (  # a second report over January's days: its figures would count twice
            "2027-01b.yaml",
            "contrat: 2026-RNA-LYC-005\nperiode: {debut: 2027-01-04, fin: 2027-01-31}\n"
            "remis_le: 2027-02-08\nvaleurs: {heures_insertion: 32}\n",
            "qui recouvre celle de",
            2,
        ),
        (  # more refurbished devices than devices delivered
            "2027-03.yaml",
            "contrat: 2026-RNA-LYC-005\nperiode: {debut: 2027-03-01, fin: 2027-03-31}\n"
            "remis_le: 2027-04-05\nvaleurs:\n  appareils_livres: 0\n"
            "  appareils_reconditionnes: 30\n",
            "appareils_reconditionnes (30) dépasse appareils_livres (0)",
            6,
        ),
        (  # a misspelt indicator is never dropped
            "2027-03.yaml",
            "contrat: 2026-RNA-LYC-005\nperiode: {debut: 2027-03-01, fin: 2027-03-31}\n"
            "remis_le: 2027-04-05\nvaleurs:\n  heures_insertio: 32\n",
            "indicateur « heures_insertio » inconnu",
            5,
        ),
    ],
)
def test_bad_reports_are_refused_with_file_and_line(contract, tmp_path, name, text, expect, line):
    (contract / "suivi" / "rapports" / name).write_text(text, encoding="utf-8")
    out = tmp_path / "suivi.json"
    res = _cli("followup", "check", str(contract), "--date", ON, "-f", "json", "-o", str(out))
    assert res.returncode == 2
    assert f"{name}:{line}" in res.stderr and expect in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


def test_plan_is_not_overwritten_and_needs_an_award(contract):
    res = _cli("followup", "plan", str(contract))
    assert res.returncode == 2 and "existe déjà" in res.stderr
    ev = contract / "evaluation" / "evaluation.yaml"
    ev.write_text(ev.read_text(encoding="utf-8").split("attribution:")[0], encoding="utf-8")
    res = _cli("followup", "plan", str(contract), "--remplacer")
    assert res.returncode == 2 and "attribution" in res.stderr


def test_a_shortfall_is_reviewed_by_the_clauses_referent(tmp_path):
    repo = tmp_path / "depot"
    shutil.copytree(CONTRACT, repo / CONTRACT.name)
    git = ["git", "-C", str(repo), "-c", "user.name=Marie Lafitte"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-c", "user.email=marie.lafitte@region-na.example.fr", "add", "."])
    subprocess.run(
        [*git, "-c", "user.email=marie.lafitte@region-na.example.fr", "commit", "-qm", "dossier"],
        check=True,
    )
    plan = _cli("review", "plan", CONTRACT.name, cwd=repo)
    assert "SOC-INSERT-01 (écart d'exécution)" in plan.stdout, plan.stdout + plan.stderr
    paul = {
        "GIT_COMMITTER_NAME": "Paul Etcheverry",
        "GIT_COMMITTER_EMAIL": "paul.etcheverry@region-na.example.fr",
    }
    res = _cli(
        "review", "approve", CONTRACT.name, "--role", "social",
        "--comment", "Pénalité appliquée, plan de rattrapage demandé", cwd=repo, env_extra=paul,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    status = _cli("review", "status", CONTRACT.name, cwd=repo)
    assert "[approuvé] SOC-INSERT-01 (écart d'exécution)" in status.stdout
    assert "[en attente] CIRC-REUSE-01 (écart d'exécution)" in status.stdout


@pytest.mark.flow
def test_followup_flow_reminds_and_checks(prefect_harness, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client

    from flows.followup import followup_check

    monkeypatch.setenv("CAHIER_ORGANISATION", str(REGION))
    root = tmp_path / "tenders"
    shutil.copytree(CONTRACT, root / CONTRACT.name)
    (root / CONTRACT.name / "suivi" / "rapports" / "2027-02.csv").unlink()
    out = followup_check(root=str(root), on="2027-03-03", reminder_days=10)
    assert out["contracts"] == 1 and out["errors"] == 0  # January's report meets the target
    assert [r["échéance"] for r in out["reminders"]] == ["10/03/2027"]  # February's, due soon

    async def read() -> list:
        async with get_client() as client:
            return await client.read_artifacts()

    import asyncio

    keys = {a.key for a in asyncio.run(read())}
    assert "suivi-engagements-2026-rna-lyc-005" in keys
