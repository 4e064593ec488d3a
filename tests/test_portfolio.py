"""Portfolio report: shares against the PNAD targets, weights, reviews, archives, outputs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tasks.award.portfolio import build_portfolio, to_csv
from tasks.award.portfolio_page import indicator_rows, to_html

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tenders"


@pytest.fixture()
def portfolio_dir(tmp_path: Path) -> Path:
    """The example dossiers in a Git repository, plus a review record and an archive."""
    src = EXAMPLES / "2026-CD33-PC-001"
    if not src.is_dir() or not (EXAMPLES / "2026-DRAFT-003").is_dir():
        pytest.skip("dossiers d'exemple absents")
    repo = tmp_path / "repo"
    for name in ("2026-CD33-PC-001", "2026-DRAFT-003"):
        shutil.copytree(EXAMPLES / name, repo / "tenders" / name)
    bad = repo / "tenders" / "2026-BAD"
    bad.mkdir()
    (bad / "tender.yaml").write_text("id: 2026-BAD\nmontant: beaucoup\n", encoding="utf-8")
    run = lambda *a, **kw: subprocess.run(  # noqa: E731
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.fr", *a],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        **kw,
    )
    run("init", "-q", "-b", "main")
    run("add", "-A")
    run("commit", "-qm", "dossiers", env=None)
    sha = run("rev-parse", "HEAD").stdout.strip()
    when = dt.datetime.fromisoformat(run("show", "-s", "--format=%cI", sha).stdout.strip())
    rev = repo / "tenders" / "2026-CD33-PC-001" / "reviews"
    rev.mkdir()
    (rev / "20260101T000000Z-environnement.yaml").write_text(
        f"tender: 2026-CD33-PC-001\nrole: environnement\ndecision: approve\n"
        f"time: '{(when + dt.timedelta(days=3, hours=12)).isoformat()}'\ncommit: {sha}\n",
        encoding="utf-8",
    )
    arch = repo / "tenders" / "2026-CD33-PC-001" / "archive" / "1"
    arch.mkdir(parents=True)
    (arch / "evaluation.json").write_text(
        json.dumps({"lots": [{"lot": 1, "criteresResponsablesDecisifs": True}]}),
        encoding="utf-8",
    )
    return repo / "tenders"


def by_key(p, key):
    return next(i for i in p.indicators if i.key == key)


def test_indicators_against_targets(portfolio_dir: Path):
    p = build_portfolio(portfolio_dir, on=dt.date(2025, 6, 30))  # PNAD 2022-2025 in force
    cd33 = next(t for t in p.tenders if t.tender == "2026-CD33-PC-001")
    assert cd33.env_criterion and cd33.env_weight == 20  # « Performance environnementale » 20 %
    assert not cd33.social_criterion and cd33.social_clause
    assert cd33.env_consideration and cd33.social_consideration
    assert cd33.review_days == [3.5]
    assert cd33.archived and cd33.responsible_decisive is True
    bad = next(t for t in p.tenders if t.dossier.endswith("2026-BAD"))
    assert bad.message and "tender.yaml" in bad.message  # reported, left out of the shares
    env = by_key(p, "considerations-environnementales")
    assert (env.total, env.target) == (2, 100.0)
    soc = by_key(p, "considerations-sociales")
    assert soc.target == 30.0 and soc.source.startswith("PNAD")
    crit = by_key(p, "critere-environnemental")
    draft = next(t for t in p.tenders if t.tender == "2026-DRAFT-003")
    assert crit.count == 1 + int(draft.env_criterion)
    assert by_key(p, "delai-revue").value == 3.5
    decisive = by_key(p, "criteres-responsables-decisifs")
    assert (decisive.count, decisive.total, decisive.value) == (1, 1, 100.0)
    rows = indicator_rows(p)
    assert rows[0]["cible"] == "100,0\u00a0%"


def test_targets_are_those_in_force_at_the_reports_date(portfolio_dir: Path):
    """The PNAD 2022-2025 has ended: from 2026 no 30 % social target; from 21/08/2026 the
    law's environmental obligation (law.yaml), with its source."""
    early_2026 = build_portfolio(portfolio_dir, on=dt.date(2026, 3, 1))
    assert by_key(early_2026, "considerations-sociales").target is None
    assert by_key(early_2026, "considerations-environnementales").target is None
    assert early_2026.targets == []
    late = build_portfolio(portfolio_dir, on=dt.date(2026, 12, 1))
    env = by_key(late, "considerations-environnementales")
    assert env.target == 100.0 and "L2152-7" in env.source and "PNAD" not in env.source
    assert [t["nature"] for t in late.targets] == ["obligation légale"]
    assert "PNAD 2022-2025 a pris fin" not in to_html(late) and "L2112-2" in to_html(late)
    assert "a pris fin le 31/12/2025" in to_html(early_2026)
    # the ended plan is named with its targets, from law.yaml, as no longer in force
    assert [e["plan"] for e in early_2026.ended_plans] == ["PNAD 2022-2025"]
    assert "30 % des marchés" in to_html(early_2026) and "ne sont plus en vigueur" in to_html(
        early_2026
    )


def test_since_filters_by_launch_date(portfolio_dir: Path):
    everything = build_portfolio(portfolio_dir)
    later = build_portfolio(portfolio_dir, since=dt.date(2099, 1, 1))
    assert len(later.tenders) < len(everything.tenders)
    assert all(t.message for t in later.tenders)  # only the unreadable one is left


def test_html_is_self_contained_and_accessible(portfolio_dir: Path):
    p = build_portfolio(portfolio_dir, on=dt.date(2025, 6, 30))
    page = to_html(p)
    assert '<html lang="fr">' in page and page.count("<h1>") == 1
    assert "<script src=" not in page and 'src="http' not in page  # JS inlined: no network
    assert page.count("Plotly.newPlot") >= 2
    assert '<th scope="col">Indicateur</th>' in page
    assert "Cible en vigueur" in page and "2026-CD33-PC-001" in page
    rows = list(csv.DictReader(io.StringIO(to_csv(p))))
    cd33 = next(r for r in rows if r["tender"] == "2026-CD33-PC-001")
    assert cd33["env_weight"] == "20.0" and cd33["env_consideration"] == "1"


def test_report_command_writes_files(portfolio_dir: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from cahier.cli import app

    out = tmp_path / "rapport"
    r = CliRunner().invoke(app, ["report", str(portfolio_dir), "--out", str(out)])
    assert r.exit_code == 1, r.output  # written, but one dossier could not be read
    assert "Rapport incomplet : 1 dossier(s)" in r.output
    assert (out / "rapport.html").stat().st_size > 100_000 and (out / "rapport.csv").is_file()
    assert "Non pris en compte : " in r.output and "2026-BAD" in r.output
    # a damaged review record is left out of the figures and said, on screen and page
    bad = portfolio_dir / "2026-CD33-PC-001" / "reviews" / "20260102T000000Z-social.yaml"
    bad.write_text("role: [\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["report", str(portfolio_dir), "--out", str(out)])
    assert r.exit_code == 1, r.output
    assert "Réserve : " in r.output and "20260102T000000Z-social.yaml" in r.output
    page = (out / "rapport.html").read_text(encoding="utf-8")
    assert "Réserves sur les données" in page and "enregistrement de revue illisible" in page
    (tmp_path / "vide").mkdir()
    r = CliRunner().invoke(app, ["report", str(tmp_path / "vide"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "aucune consultation" in r.output
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(app, ["report", str(portfolio_dir), "--since", "15/09/2026"])
    assert r.exit_code == 2 and "AAAA-MM-JJ" in r.output


def test_promised_vs_delivered_and_open_data(tmp_path: Path, monkeypatch):
    """The Région's contract (two reports, the second short): promised vs delivered in
    the report, grouped by buyer and family, and an open-data export that validates
    against its schema and holds no personal data."""
    import jsonschema

    from tasks.award.portfolio import open_data, open_data_schema, result_groups

    root = Path(__file__).resolve().parents[1] / "examples" / "region-policy"
    monkeypatch.setenv("CAHIER_ORGANISATION", str(root))
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    p = build_portfolio(root / "tenders", on=dt.date(2027, 3, 15))
    lyc = next(t for t in p.tenders if t.tender == "2026-RNA-LYC-005")
    hours = next(r for r in lyc.results if r["indicateur"] == "heures_insertion")
    assert (hours["promis"], hours["realise"], hours["atteint"]) == (75.0, 44.0, False)
    social = next(g for g in result_groups(p, "famille") if g["famille"] == "social")
    assert social["sommes"]["heures"] == (75.0, 44.0) and social["part_tenus"] == 0.0
    kept = by_key(p, "engagements-tenus")
    assert (kept.count, kept.total) == (0, 2)
    page = to_html(p)
    assert (
        "Engagements d&#x27;exécution : réalisé au 15/03/2027" in page
        or "réalisé au 15/03/2027" in page
    )
    assert "Résultats d&#x27;exécution par acheteur" in page
    csv_text, json_text = open_data(p)
    data = json.loads(json_text)
    jsonschema.validate(data, open_data_schema())
    assert {r["indicateur"] for r in data} >= {"heures_insertion", "part_reconditionnes"}
    for forbidden in ("@", "Atelier Numérique", "Etcheverry", "78212345600017"):
        assert forbidden not in json_text and forbidden not in csv_text
    assert next(csv.DictReader(io.StringIO(csv_text)))["marche"] == "2026-RNA-LYC-005"
