"""DECP v2.0.3 export: schema-valid record for the laptops tender, derived considerations,
official examples, consistency rules the schema cannot express."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tasks.award.decp import (
    SCHEMA_PATH,
    build_decp,
    considerations,
    consistency_issues,
    schema_errors,
)
from tasks.award.evaluation import evaluate, read_evaluation
from tasks.check.checker import check_dossier
from tasks.clausier.library import load_clausier
from tasks.dossier.model import CheckReport, Tender
from tasks.dossier.reader import read_dossier
from tasks.dossier.yamlio import validate_yaml
from tasks.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DOSSIER = ROOT / "tenders" / "2026-CD33-PC-001"
WEB = ROOT / "tenders" / "2026-DINUM-WEB-002"
SHARED_REF = ROOT.parent / "shared" / "reference"
OFFICIAL = ROOT.parent / "shared" / "cases" / "real" / "decp-format-officiel"
PROCESSING = ROOT.parent / "shared" / "cases" / "real" / "decp-processing-tests"


@pytest.fixture(scope="module")
def laptops():
    if not (DOSSIER / "evaluation" / "evaluation.yaml").is_file():
        pytest.skip("dossier d'exemple absent")
    lib = load_clausier()
    tender, ev, _efile = read_evaluation(DOSSIER)
    result = evaluate(ev, tender)
    report = check_dossier(read_dossier(DOSSIER), lib)
    return tender, ev, result, report, lib


def _record(**over):
    rec = {
        "id": "T1",
        "acheteur": {"id": "22330004700014"},
        "nature": "Marché",
        "objet": "Ordinateurs portables",
        "codeCPV": "30213100",
        "techniques": {"technique": ["Sans objet"]},
        "modalitesExecution": {"modaliteExecution": ["Sans objet"]},
        "marcheInnovant": False,
        "ccag": "Pas de CCAG",
        "offresRecues": 2,
        "attributionAvance": False,
        "typeGroupementOperateurs": "Pas de groupement",
        "procedure": "Procédure adaptée",
        "lieuExecution": {"code": "33", "typeCode": "Code département"},
        "dureeMois": 12,
        "dateNotification": "2026-12-01",
        "datePublicationDonnees": "2026-12-10",
        "montant": 90000,
        "typesPrix": {"typePrix": ["Définitif ferme"]},
        "formePrix": "Forfaitaire",
        "sousTraitanceDeclaree": False,
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": "81234567800021"}}],
        "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
        "considerationsEnvironnementales": {
            "considerationEnvironnementale": ["Clause environnementale"]
        },
    }
    rec.update(over)
    return {"marches": {"marche": [rec]}}


def test_laptops_record_is_schema_valid_and_derived_from_the_dossier(laptops):
    tender, ev, result, report, lib = laptops
    doc = build_decp(tender, ev, result, report, lib)
    assert schema_errors(doc) == []
    assert consistency_issues(doc) == []
    (rec,) = doc["marches"]["marche"]
    assert rec["id"] == "2026-CD33-PC-001"
    assert rec["acheteur"] == {"id": "22330004700014"}
    assert rec["codeCPV"] == "30213100" and rec["dureeMois"] == 48
    assert rec["procedure"] == "Appel d'offres ouvert"
    assert rec["ccag"] == "Techniques de l'information et de la communication"
    assert rec["techniques"] == {"technique": ["Accord-cadre"]}
    assert rec["montant"] == 300000 and rec["offresRecues"] == 4
    # the winner B (refurbished offer) is the holder
    assert rec["titulaires"] == [
        {"titulaire": {"typeIdentifiant": "SIRET", "id": "81234567800021"}}
    ]
    # SOC-INSERT-01 / SOC-SUPPLY-01 present → Clause sociale; no social criterion
    assert rec["considerationsSociales"] == {"considerationSociale": ["Clause sociale"]}
    # ENV-COND-01… present → Clause environnementale; criterion 3 → Critère environnemental
    assert rec["considerationsEnvironnementales"] == {
        "considerationEnvironnementale": ["Clause environnementale", "Critère environnemental"]
    }


def test_considerations_none_and_social_criterion():
    lib = load_clausier()
    tender = validate_yaml(Tender, (DOSSIER / "tender.yaml").read_bytes(), "tender.yaml")
    empty = CheckReport(
        tender=tender.id,
        dossier="x",
        clausier_version=lib.version,
        checked_at_rule_date=tender.dateLancement,
        families=[],
        findings=[],
    )
    price_only = tender.model_copy(update={"criteres": tender.criteres[:1]})
    assert considerations(price_only, empty, lib) == (
        ["Pas de considération sociale"],
        ["Pas de considération environnementale"],
    )
    if WEB.is_dir():
        web = validate_yaml(Tender, (WEB / "tender.yaml").read_bytes(), "tender.yaml")
        soc, env = considerations(web, empty, lib)
        assert soc == ["Critère social"] and env == ["Critère environnemental"]


def test_missing_attribution_block(laptops):
    tender, ev, result, report, lib = laptops
    with pytest.raises(InputError, match="attribution"):
        build_decp(tender, ev.model_copy(update={"attribution": None}), result, report, lib)


def test_id_longer_than_16_characters_refused(laptops):
    tender, ev, result, report, lib = laptops
    long = tender.model_copy(update={"id": "2026-CD33-PC-001-BIS"})
    with pytest.raises(InputError, match="16 caractères"):
        build_decp(long, ev, result, report, lib)


@pytest.mark.parametrize(
    "over,level,fragment",
    [
        (
            {
                "considerationsSociales": {
                    "considerationSociale": ["Pas de considération sociale", "Clause sociale"]
                }
            },
            "erreur",
            "ne peut pas être combinée",
        ),
        ({"origineUE": 0.2, "origineFrance": 0.5}, "erreur", "origineUE ≥ origineFrance"),
        ({"attributionAvance": False, "tauxAvance": 0.05}, "erreur", "aucune avance"),
        ({"montant": 30000}, "avertissement", "R2196-1"),
        ({"datePublicationDonnees": "2026-11-01"}, "erreur", "avant la notification"),
        ({"datePublicationDonnees": "2027-03-15"}, "avertissement", "deux mois"),
        (
            {"titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": "81234567800022"}}]},
            "avertissement",
            "Luhn",
        ),
        (
            {"lieuExecution": {"code": "ZZ", "typeCode": "Code département"}},
            "erreur",
            "« ZZ » : ce n'est pas un code département",
        ),
        (
            {"lieuExecution": {"code": "3306", "typeCode": "Code commune"}},
            "erreur",
            "ce n'est pas un code commune",
        ),
    ],
)
def test_consistency_rules(over, level, fragment):
    doc = _record(**over)
    assert schema_errors(doc) == []  # the schema alone accepts all of these
    issues = consistency_issues(doc)
    assert [(i.level, fragment in i.message) for i in issues] == [(level, True)], issues


@pytest.mark.parametrize(
    "notified,published,late",
    [
        # « deux mois » are calendar months (law.yaml decp), not 62 days
        ("2026-12-31", "2027-02-28", False),  # end of February: on time
        ("2026-12-31", "2027-03-02", True),  # 61 days, but after the end of February
        ("2026-06-30", "2026-08-30", False),
        ("2026-06-30", "2026-08-31", True),  # 62 days, one day after two months
    ],
)
def test_publication_delay_counts_calendar_months(notified, published, late):
    doc = _record(dateNotification=notified, datePublicationDonnees=published)
    issues = consistency_issues(doc)
    assert [i.path for i in issues] == (["marche[0].datePublicationDonnees"] if late else [])
    if late:
        assert "deux mois" in issues[0].message and "R2196-1" in issues[0].message


def test_amount_below_threshold_written_in_french():
    (issue,) = consistency_issues(_record(montant=12345.5))
    assert "12\u202f345,50\u00a0€ HT" in issue.message
    assert "40\u202f000\u00a0€ HT" in issue.message


def test_malformed_law_yaml_named_with_its_line(tmp_path):
    from tasks.clausier.library import Law
    from tasks.dossier.yamlio import validate_yaml as load

    law = (Path(load_clausier().root) / "law.yaml").read_text(encoding="utf-8")
    bad = law.replace("publication_threshold: 40000", "publication_threshold: quarante")
    line = 1 + bad[: bad.index("quarante")].count("\n")
    with pytest.raises(InputError) as exc:
        load(Law, bad, "clause_library/law.yaml")
    assert exc.value.file == "clause_library/law.yaml" and exc.value.line == line
    assert "publication_threshold" in exc.value.message


def test_clean_record_has_no_issue():
    assert consistency_issues(_record()) == []
    for code, kind in (("2A", "Code département"), ("2B002", "Code commune"), ("FR", "Code pays")):
        place = {"lieuExecution": {"code": code, "typeCode": kind}}
        assert consistency_issues(_record(**place)) == []
    assert consistency_issues(_record(attributionAvance=True, tauxAvance=0)) == []


def test_schema_errors_in_french_with_path():
    doc = _record(dureeMois="NC", ccag="CCAG-TIC")
    errs = schema_errors(doc)
    assert any(e.startswith("marches.marche[0].dureeMois : type invalide « NC »") for e in errs)
    assert any("marches.marche[0].ccag : valeur non autorisée « CCAG-TIC »" in e for e in errs)


def test_vendored_schema_is_the_official_one():
    assert "139bercy/format-commande-publique" in (SCHEMA_PATH.parent / "SOURCE.md").read_text()
    digest = hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()
    assert digest == "3210e4cbe965be416f4ba3d8ab3983c64be48a800dc8d594b730341f3de8765a"
    if (SHARED_REF / "decp_v2.0.3_schema.json").is_file():
        assert SCHEMA_PATH.read_bytes() == (SHARED_REF / "decp_v2.0.3_schema.json").read_bytes()


@pytest.mark.real
def test_official_examples_validate():
    files = sorted(SHARED_REF.glob("decp_v2_example_*.json")) + sorted(OFFICIAL.glob("*.json"))
    files = [f for f in files if "schema" not in f.name]
    if not files:
        pytest.skip("../shared absent : exemples officiels non disponibles")
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        assert schema_errors(doc) == [], f
        assert [i for i in consistency_issues(doc) if i.level == "erreur"] == [], f


@pytest.mark.real
def test_corrupted_real_records_are_caught():
    f = PROCESSING / "decp_test_2022.json"
    if not f.is_file():
        pytest.skip("../shared absent")
    doc = json.loads(f.read_text(encoding="utf-8"))
    errs = schema_errors(doc)
    assert any("dureeMois : type invalide « NC »" in e for e in errs)
    issues = consistency_issues(doc)
    # publication date 2003-11-24 before notification 2024-02-08; montant 1e17
    assert any(
        i.level == "erreur" and "avant la notification du 08/02/2024" in i.message for i in issues
    )
    assert any("invraisemblable" in i.message for i in issues)


def test_cli_decp_writes_valid_json(tmp_path: Path):
    from typer.testing import CliRunner

    from cahier.cli import app

    if not (DOSSIER / "evaluation" / "evaluation.yaml").is_file():
        pytest.skip("dossier d'exemple absent")
    runner = CliRunner()
    out = tmp_path / "decp.json"
    res = runner.invoke(app, ["decp", str(DOSSIER), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert schema_errors(json.loads(out.read_text(encoding="utf-8"))) == []
    d = tmp_path / "d"
    shutil.copytree(DOSSIER, d, ignore=shutil.ignore_patterns("archive"))
    ev = d / "evaluation" / "evaluation.yaml"
    text = ev.read_text(encoding="utf-8")
    ev.write_text(text[: text.index("attribution:")], encoding="utf-8")
    res = runner.invoke(app, ["decp", str(d)])
    assert res.exit_code == 2 and "bloc « attribution » absent" in res.stderr


def test_ccags_are_one_list_in_law_yaml_matching_the_decp_values():
    """The CCAG list lives in law.yaml (``ccags``): its tender.yaml values are exactly the
    DECP schema's, « Pas de CCAG » aside, and the checker's pattern finds each sigle."""
    import re
    import typing

    from tasks.clausier.library import shipped_law
    from tasks.dossier.model import CcagDecp

    law = shipped_law()
    assert {c.decp for c in law.ccags} == set(typing.get_args(CcagDecp)) - {"Pas de CCAG"}
    cited = re.compile(law.ccag_cited_pattern())
    for c in law.ccags:
        m = cited.search(c.sigle.lower().replace("é", "e"))
        assert m is not None and m.lastgroup == c.id, c.sigle
    assert law.ccag("Techniques de l'information et de la communication").sigle == "CCAG-TIC"
    assert law.ccag("Pas de CCAG") is None


def test_legal_bases_of_findings_come_from_law_yaml():
    from tasks.clausier.library import shipped_law

    law = shipped_law()
    assert law.basis("ccp-R2152-7").ref == "Code de la commande publique, art. R2152-7"
    with pytest.raises(InputError, match="references"):
        law.basis("ccp-inconnu")
