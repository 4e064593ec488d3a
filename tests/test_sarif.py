"""SARIF 2.1.0 and JUnit XML output of a check, validated against the OASIS schema.

The schema is vendored in tests/schemas/ (see SOURCE.md there): the tests never go on
the network.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource

from tasks.check.checker import check_dossier
from tasks.check.report import to_junit, to_sarif
from tasks.clausier.library import load_clausier
from tasks.dossier.model import CheckReport, Severity
from tasks.dossier.reader import read_dossier

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json"

# The dossier's criteria are the price alone, in tender.yaml as in the RC.
TENDER = """\
id: 2026-TEST-001
objet: Acquisition d'ordinateurs portables reconditionnés
codeCPV: "30213100"
procedure: "Appel d'offres ouvert"
dureeMois: 48
ccag: "Techniques de l'information et de la communication"
montant: 150000
acheteur: {id: "21330063500017", nom: "Commune de Test", type: collectivite}
categories: [hardware]
dateLancement: 2026-09-15
criteres:
  - {nom: Prix, poids: 100, type: prix}
"""

RC = """\
# Règlement de la consultation

## Article 1 – Objet de la consultation

La consultation porte sur l'acquisition d'ordinateurs portables reconditionnés.

## Article 2 – Critères d'attribution

Les offres sont classées selon le critère unique suivant :

- Prix : 100 %
"""

CCAP = """\
# Cahier des clauses administratives particulières

## Article 1 – Objet

Le présent marché porte sur l'acquisition d'ordinateurs portables.

## Article 2 – Durée du marché

Le marché est conclu pour une durée de [PRÉCISER LA DURÉE] à compter de sa notification.

## Article 3 – Conditions d'exécution environnementales

{{ clause("ENV-COND-01") }}
"""

LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}

# Words that only a French text carries; at least one in every message shown to the user.
FRENCH = re.compile(
    r"\b(?:le|la|les|du|des|de|une?|est|dans|pour|sans|aucun|pièce|clause|critère)\b|[àâçéèêëîïôûùœ«»]",
    re.IGNORECASE,
)
ENGLISH = re.compile(r"\b(?:the|is|are|missing|should|must|found|with)\b", re.IGNORECASE)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft7Validator:
    """A draft-07 validator over the vendored schema, offline, checking formats.

    jsonschema checks ``uri`` and ``uri-reference`` only with optional packages; the
    two small checkers below keep those formats checked without them.
    """
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    formats = FormatChecker(Draft7Validator.FORMAT_CHECKER.checkers)

    @formats.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return bool(urlsplit(value).scheme) and not re.search(r"[\s<>\"{}|\\^`]", value)

    @formats.checks("uri-reference")
    def _uri_reference(value: object) -> bool:
        if not isinstance(value, str):
            return True
        urlsplit(value)
        return not re.search(r"[\s<>\"{}|\\^`]", value)

    return Draft7Validator(schema, registry=registry, format_checker=formats)


@pytest.fixture(scope="module")
def dossier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sarif") / "2026-TEST-001"
    (d / "pieces").mkdir(parents=True)
    (d / "tender.yaml").write_text(TENDER, encoding="utf-8")
    (d / "pieces" / "rc.md").write_text(RC, encoding="utf-8")
    (d / "pieces" / "ccap.md").write_text(CCAP, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def report(dossier: Path) -> CheckReport:
    return check_dossier(read_dossier(dossier), load_clausier())


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of ``text`` containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def schema_errors(validator: Draft7Validator, log: dict[str, Any]) -> list[str]:
    """Every schema error as « path: message », deepest first."""
    errors = sorted(validator.iter_errors(log), key=lambda e: -len(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message} ({e.validator})" for e in errors]


# ------------------------------------------------------------------ the schema


def test_vendored_schema_is_the_oasis_sarif_2_1_0_schema(schema: dict[str, Any]):
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "Static Analysis Results Format (SARIF) Version 2.1.0" in schema["title"]
    assert schema["$id"].endswith("/sarif-schema-2.1.0.json")
    Draft7Validator.check_schema(schema)
    for name in ("run", "result", "location", "physicalLocation", "region", "toolComponent"):
        assert name in schema["definitions"]


def test_validator_rejects_an_invalid_log(validator: Draft7Validator):
    """The validator is not vacuous: a wrong level, a bad URI and a 0 line are refused."""
    bad = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "cahier", "informationUri": "pas une uri"}},
                "results": [
                    {
                        "level": "fatal",
                        "message": {"text": "x"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "pieces/a b.md"},
                                    "region": {"startLine": 0},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    errors = "\n".join(schema_errors(validator, bad))
    assert "level" in errors
    assert "informationUri" in errors
    assert "artifactLocation/uri" in errors
    assert "region/startLine" in errors


# ------------------------------------------------------------------ the dossier


def test_dossier_yields_the_expected_findings(report: CheckReport):
    rules = {f.rule for f in report.findings}
    assert {"prix-seul", "texte-a-completer", "clause-manquante"} <= rules
    placeholder = next(f for f in report.findings if f.rule == "texte-a-completer")
    assert placeholder.location is not None
    assert placeholder.location.file == "pieces/ccap.md"
    assert placeholder.location.line == line_of(CCAP, "[PRÉCISER LA DURÉE]")
    assert {f.severity for f in report.findings} == {
        Severity.error,
        Severity.warning,
        Severity.info,
    }


# ------------------------------------------------------------------ SARIF


@pytest.mark.parametrize("with_base_uri", [False, True], ids=["relative", "uriBaseId"])
def test_sarif_validates_against_oasis_schema(
    validator: Draft7Validator, report: CheckReport, dossier: Path, with_base_uri: bool
):
    text = to_sarif(report, base_uri=dossier.as_uri() if with_base_uri else None)
    log = json.loads(text)
    errors = schema_errors(validator, log)
    assert not errors, "SARIF non conforme au schéma OASIS 2.1.0 :\n" + "\n".join(errors)
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    if with_base_uri:
        base = run["originalUriBaseIds"]["DOSSIER"]["uri"]
        assert base.endswith("/") and urlsplit(base).scheme == "file"
        for res in run["results"]:
            for loc in res.get("locations", []):
                assert loc["physicalLocation"]["artifactLocation"]["uriBaseId"] == "DOSSIER"
    else:
        assert "originalUriBaseIds" not in run


def test_sarif_rules_and_levels_match_the_findings(report: CheckReport):
    run = json.loads(to_sarif(report))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "cahier"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids)), "identifiants de règle en double"
    results = run["results"]
    assert len(results) == len(report.findings)
    for res, finding in zip(results, report.findings, strict=True):
        assert res["ruleId"] == finding.rule
        assert res["ruleId"] in rule_ids
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in {"error", "warning", "note"}
        assert res["level"] == LEVEL[finding.severity]
        assert res["message"]["text"] == finding.message
        if finding.clause:
            assert res["properties"]["clause"] == finding.clause
    assert Counter(r["level"] for r in results) == Counter(
        LEVEL[f.severity] for f in report.findings
    )


def test_sarif_locations_are_relative_to_the_dossier(report: CheckReport, dossier: Path):
    results = json.loads(to_sarif(report))["runs"][0]["results"]
    with_line = 0
    for res, finding in zip(results, report.findings, strict=True):
        if finding.location is None:
            assert "locations" not in res
            continue
        (loc,) = res["locations"]
        phys = loc["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        assert uri == finding.location.file
        assert not urlsplit(uri).scheme and not uri.startswith("/"), uri
        assert (dossier / uri).is_file(), uri
        if finding.location.line:
            with_line += 1
            assert phys["region"]["startLine"] == finding.location.line
        else:
            assert "region" not in phys
        if finding.location.heading:
            assert loc["logicalLocations"][0]["name"] == finding.location.heading
    assert with_line, "aucun constat ne porte de numéro de ligne"
    by_rule = {
        r["ruleId"]: r["locations"][0]["physicalLocation"] for r in results if "locations" in r
    }
    placeholder = by_rule["texte-a-completer"]
    assert placeholder["artifactLocation"]["uri"] == "pieces/ccap.md"
    assert placeholder["region"]["startLine"] == line_of(CCAP, "[PRÉCISER LA DURÉE]") == 9
    prix = by_rule["prix-seul"]
    assert prix["artifactLocation"]["uri"] == "tender.yaml"
    assert prix["region"]["startLine"] == line_of(TENDER, "criteres:")


def test_sarif_messages_are_in_french(report: CheckReport):
    run = json.loads(to_sarif(report))["runs"][0]
    assert run["language"] == "fr"
    assert run["tool"]["driver"]["language"] == "fr"
    texts = [r["message"]["text"] for r in run["results"]]
    texts += [r["shortDescription"]["text"] for r in run["tool"]["driver"]["rules"]]
    for text in texts:
        assert FRENCH.search(text), f"message sans marque du français : {text!r}"
        assert not ENGLISH.search(text), f"message en anglais : {text!r}"
    prix = next(r for r in run["results"] if r["ruleId"] == "prix-seul")
    assert "seul critère" in prix["message"]["text"]


# ------------------------------------------------------------------ JUnit


def test_junit_failures_match_error_findings(report: CheckReport):
    root = ET.fromstring(to_junit(report).encode("utf-8"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases)
    failing = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failing)
    assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)

    # One test case per clause family: it fails exactly when the family has an error.
    families = {f.clause for f in report.families}
    family_errors = {
        f.clause for f in report.findings if f.severity == Severity.error and f.clause in families
    }
    family_cases = [c for c in cases if c.get("classname") == f"{report.tender}.clauses"]
    assert len(family_cases) == len(report.families)
    failing_families = {
        c.get("name").split(" ", 1)[0] for c in family_cases if c.find("failure") is not None
    }
    assert failing_families == family_errors
    assert family_errors  # the dossier lacks mandatory clauses

    # The other error findings (prix-seul, texte-a-completer…) are one failing case each.
    other_errors = [
        f
        for f in report.findings
        if f.severity == Severity.error and (not f.clause or f.clause not in families)
    ]
    assert other_errors
    assert int(suite.get("failures")) == len(family_errors) + len(other_errors)
    for case in failing:
        assert FRENCH.search(case.find("failure").get("message"))
