"""The example dossiers shipped in tenders/.

* 2026-CD33-PC-001 (laptops, département) and 2026-DINUM-WEB-002 (citizen web service,
  State) are complete: no error-level finding, every mandatory applicable clause family
  inserted from the clausier, no drafting defect;
* 2026-DRAFT-003 (smartphones, commune) is a deliberately incomplete draft: each defect a
  buyer should recognise is reported by its rule id, at the file and line where it is.

Expected lines are looked up in the dossier files from a unique marker text, so that the
dossiers can be edited without renumbering the tests, while the checker's line numbers
are still asserted exactly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.check.checker import check_dossier
from tasks.clausier.library import load_clausier
from tasks.dossier.model import CheckReport, FamilyStatus, Finding, Severity
from tasks.dossier.reader import read_dossier

ROOT = Path(__file__).resolve().parents[1]
TENDERS = ROOT / "tenders"
COMPLETE = ("2026-CD33-PC-001", "2026-DINUM-WEB-002")
DRAFT = "2026-DRAFT-003"

#: Clauses each complete dossier must carry from the clausier (status « present »).
REQUIRED = {
    "2026-CD33-PC-001": {
        "ENV-CRIT-01",
        "ENV-COND-01",
        "ENV-SPEC-01",
        "CIRC-REUSE-01",
        "DUR-INDEX-01",
        "EOL-WEEE-01",
        "SOC-INSERT-01",
        "DUR-SPARES-01",
        "LABEL-01",
        "ENERGY-01",
        "PROG-01",
        "SOC-SUPPLY-01",
    },
    "2026-DINUM-WEB-002": {
        "ENV-CRIT-01",
        "SOC-CRIT-01",
        "ENV-COND-01",
        "ENV-SPEC-01",
        "ACC-RGAA-01",
        "DATA-GDPR-01",
        "DATA-REV-01",
        "SOC-INSERT-01",
        "ECO-RGESN-01",
        "HOST-ENV-01",
        "DATA-SOV-01",
        "PROG-01",
    },
}

#: Drafting rules that must never fire on a finished dossier.
DRAFTING_RULES = {
    "texte-a-completer",
    "options-non-tranchees",
    "signet-non-defini",
    "reference-article-inexistante",
    "ccag-incoherent",
    "ponderation-incoherente",
    "ponderation-somme",
    "clause-modifiee",
    "clause-version-perimee",
}


@pytest.fixture(scope="module")
def reports() -> dict[str, CheckReport]:
    clausier = load_clausier()
    return {
        name: check_dossier(read_dossier(TENDERS / name), clausier) for name in (*COMPLETE, DRAFT)
    }


def line_of(dossier: str, rel: str, marker: str) -> int:
    """1-based line of the only line of ``tenders/<dossier>/<rel>`` containing ``marker``."""
    lines = (TENDERS / dossier / rel).read_text(encoding="utf-8").splitlines()
    hits = [n for n, text in enumerate(lines, start=1) if marker in text]
    assert len(hits) == 1, (
        f"repère {marker!r} trouvé {len(hits)} fois dans {rel} (une fois attendu)"
    )
    return hits[0]


def describe(findings: list[Finding]) -> str:
    return "\n".join(
        f"{f.severity} {f.rule} {f.clause or ''} {f.location.label() if f.location else ''}: {f.message}"
        for f in findings
    )


# ----------------------------------------------------------------- complete dossiers


@pytest.mark.parametrize("name", COMPLETE)
def test_complete_dossier_has_no_error(reports: dict[str, CheckReport], name: str) -> None:
    report = reports[name]
    errors = [f for f in report.findings if f.severity == Severity.error]
    assert not errors, describe(errors)
    assert report.exit_code == 0


@pytest.mark.parametrize("name", COMPLETE)
def test_complete_dossier_mandatory_families_present(
    reports: dict[str, CheckReport], name: str
) -> None:
    wrong = [
        f"{fam.clause}: {fam.status}"
        for fam in reports[name].families
        if fam.applicable and fam.level == "mandatory" and fam.status != FamilyStatus.present
    ]
    assert not wrong, wrong


@pytest.mark.parametrize("name", COMPLETE)
def test_complete_dossier_carries_expected_clauses(
    reports: dict[str, CheckReport], name: str
) -> None:
    status = {fam.clause: fam for fam in reports[name].families}
    for cid in sorted(REQUIRED[name]):
        assert cid in status, f"{cid} absent du clausier"
        assert status[cid].applicable, f"{cid} devrait s'appliquer à {name}"
        assert status[cid].status == FamilyStatus.present, f"{cid}: {status[cid].status}"


@pytest.mark.parametrize("name", COMPLETE)
def test_complete_dossier_has_no_drafting_defect(
    reports: dict[str, CheckReport], name: str
) -> None:
    defects = [f for f in reports[name].findings if f.rule in DRAFTING_RULES]
    assert not defects, describe(defects)


@pytest.mark.parametrize("name", COMPLETE)
def test_complete_dossier_applicable_families_present_or_waived(
    reports: dict[str, CheckReport], name: str
) -> None:
    """Every applicable clause is either inserted or set aside by a reasoned waiver."""
    missing = [
        fam.clause
        for fam in reports[name].families
        if fam.applicable and fam.status not in (FamilyStatus.present, FamilyStatus.waived)
    ]
    assert not missing, missing


# ----------------------------------------------------------------- the draft

#: rule, clause, file, marker of the expected line (None: the finding names the file only),
#: tender.yaml key the finding may point to instead of a line.
DRAFT_FINDINGS = [
    ("prix-seul", None, "tender.yaml", "criteres:", "criteres"),
    (
        "clause-manquante",
        "ENV-COND-01",
        "pieces/ccap.md",
        "## Article 6 – Développement durable",
        None,
    ),
    (
        "clause-redigee-main",
        "SOC-INSERT-01",
        "pieces/ccap.md",
        "Le titulaire s'engage à consacrer au moins 70 heures",
        None,
    ),
    ("clause-modifiee", "EOL-WEEE-01", "pieces/ccap.md", 'data-id="EOL-WEEE-01"', None),
    ("texte-a-completer", None, "pieces/ccap.md", "[PRÉCISER LA DURÉE]", None),
    ("ccag-incoherent", None, "pieces/ccap.md", "(CCAG-FCS)", None),
    ("reference-article-inexistante", None, "pieces/ccap.md", "article 9 du présent CCAP", None),
    ("derogation", "DUR-SPARES-01", "tender.yaml", "clause: DUR-SPARES-01", "waivers"),
]


@pytest.mark.parametrize(
    ("rule", "clause", "file", "marker", "yaml_key"),
    DRAFT_FINDINGS,
    ids=[f"{r}-{c}" if c else r for r, c, *_ in DRAFT_FINDINGS],
)
def test_draft_finding_located(
    reports: dict[str, CheckReport],
    rule: str,
    clause: str | None,
    file: str,
    marker: str | None,
    yaml_key: str | None,
) -> None:
    found = [
        f
        for f in reports[DRAFT].findings
        if f.rule == rule and (clause is None or f.clause == clause)
    ]
    assert len(found) == 1, describe(reports[DRAFT].findings)
    loc = found[0].location
    assert loc is not None
    assert loc.file == file
    if marker is None:
        assert loc.line is None
        return
    expected = line_of(DRAFT, file, marker)
    if yaml_key is not None and loc.line is None:
        # tender.yaml findings name the key (heading) when no line is given.
        assert loc.heading == yaml_key
    else:
        assert loc.line == expected


def test_draft_exit_code_and_severities(reports: dict[str, CheckReport]) -> None:
    report = reports[DRAFT]
    assert report.exit_code == 1
    severity = {(f.rule, f.clause): f.severity for f in report.findings}
    assert severity[("prix-seul", None)] == Severity.error
    assert severity[("clause-manquante", "ENV-COND-01")] == Severity.error
    assert severity[("texte-a-completer", None)] == Severity.error
    # the waived clause is recommended: the waiver is flagged, not an error
    assert severity[("derogation", "DUR-SPARES-01")] != Severity.error


def test_draft_family_statuses(reports: dict[str, CheckReport]) -> None:
    status = {fam.clause: fam.status for fam in reports[DRAFT].families}
    assert status["ENV-COND-01"] == FamilyStatus.missing
    assert status["ENV-CRIT-01"] == FamilyStatus.missing
    assert status["SOC-INSERT-01"] == FamilyStatus.hand_written
    assert status["EOL-WEEE-01"] == FamilyStatus.edited
    assert status["DUR-SPARES-01"] == FamilyStatus.waived
    # what the draft did take from the clausier is recognised as such
    for cid in ("ENV-SPEC-01", "DUR-INDEX-01", "CIRC-REUSE-01"):
        assert status[cid] == FamilyStatus.present, cid


# ----------------------------------------------------------------- command line


def run_check(name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cahier", "check", str(TENDERS / name)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_cli_exit_codes_and_french_output() -> None:
    for name in COMPLETE:
        proc = run_check(name)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        assert name in proc.stdout
        assert "aucune erreur" in proc.stdout

    proc = run_check(DRAFT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert re.search(r"\d+ erreur", out), out
    # French messages, with the rule ids and the located findings
    assert "Le prix est le seul critère d'attribution" in out
    assert "CCAG-FCS" in out and "CCAG-TIC" in out
    assert "prix-seul" in out and "texte-a-completer" in out
    line = line_of(DRAFT, "pieces/ccap.md", "[PRÉCISER LA DURÉE]")
    assert f"pieces/ccap.md:{line}" in out
