"""cahier check on the real DCEs of ../shared/cases/real (what a careful reader finds).

Expectations come from ../shared/cases/real/labels.yaml; each test skips cleanly when
../shared is absent.
"""

from __future__ import annotations

import pytest

from tasks.check.checker import check_dossier
from tasks.clausier.library import load_clausier
from tasks.dossier.model import FamilyStatus, Severity
from tasks.dossier.reader import read_dossier

pytestmark = pytest.mark.real

FOUND = (FamilyStatus.present, FamilyStatus.edited, FamilyStatus.hand_written)


def _check(path):
    return check_dossier(read_dossier(path), load_clausier())


def _family(report, cid):
    return next(f for f in report.families if f.clause == cid)


@pytest.fixture(scope="module")
def vsgp(real_dossier):
    return _check(real_dossier("vsgp-infogerance-2025"))


@pytest.fixture(scope="module")
def vsgp_after_gate(real_dossier):
    # The same RC and CCAP, as if the consultation were launched after the gate.
    return _check(real_dossier("vsgp-infogerance-2025", dateLancement="2026-09-01"))


@pytest.fixture(scope="module")
def aquareel(real_dossier):
    return _check(real_dossier("aquareel-tma-scv-2025"))


def test_vsgp_environmental_criterion_found_in_rc_page_8(vsgp):
    fam = _family(vsgp, "ENV-CRIT-01")
    assert fam.status in FOUND
    assert any(e.file.endswith("RC.pdf") and e.page == 8 for e in fam.evidence)


def test_vsgp_ccap_has_no_environmental_execution_condition(vsgp):
    assert _family(vsgp, "ENV-COND-01").status not in FOUND


def test_vsgp_after_gate_criterion_without_condition_is_an_error_located_at_the_criterion(
    vsgp_after_gate,
):
    errors = [f for f in vsgp_after_gate.findings if f.severity == Severity.error]
    coherence = [f for f in errors if f.rule == "critere-sans-condition"]
    assert coherence, [f.rule for f in errors]
    loc = coherence[0].location
    assert loc.file.endswith("RC.pdf") and loc.page == 8
    assert "10 %" in coherence[0].message or "critère environnemental" in coherence[0].message
    missing = [f for f in errors if f.rule == "clause-manquante" and f.clause == "ENV-COND-01"]
    assert missing and missing[0].location.file.endswith("CCAP.pdf")
    assert missing[0].fix and 'data-id="ENV-COND-01"' in missing[0].fix
    assert vsgp_after_gate.exit_code == 1


def test_vsgp_before_gate_the_same_gap_is_a_warning(vsgp):
    coherence = [f for f in vsgp.findings if f.rule == "critere-sans-condition"]
    assert coherence and coherence[0].severity == Severity.warning


def test_vsgp_gdpr_clauses_recognised_in_ccap(vsgp):
    fam = _family(vsgp, "DATA-GDPR-01")
    assert fam.status in FOUND
    assert any(e.file.endswith("CCAP.pdf") for e in fam.evidence)


def test_vsgp_no_social_clause_and_no_rgaa(vsgp):
    assert _family(vsgp, "SOC-INSERT-01").status not in FOUND
    assert _family(vsgp, "ACC-RGAA-01").status not in FOUND


def test_vsgp_gdpr_annex_left_as_unfilled_template(vsgp):
    todo = [f for f in vsgp.findings if f.rule == "texte-a-completer"]
    assert any("PRÉCISER" in f.message.upper() for f in todo), [f.message for f in todo]
    assert all(f.location.file.endswith(".pdf") or f.location.file.endswith(".docx") for f in todo)
    assert any(f.location.file.endswith("CCAP.pdf") and f.location.page for f in todo)
    assert any(f.rule == "options-non-tranchees" for f in vsgp.findings)


def test_vsgp_ccap_cites_ccag_fcs_in_a_ccag_tic_contract(vsgp):
    ccag = [f for f in vsgp.findings if f.rule == "ccag-incoherent"]
    assert any(f.location.file.endswith("CCAP.pdf") and "FCS" in f.message for f in ccag)


def test_aquareel_insertion_clause_art_4_5(aquareel):
    fam = _family(aquareel, "SOC-INSERT-01")
    assert fam.status == FamilyStatus.hand_written
    ev = [e for e in fam.evidence if "CCAP" in e.file]
    assert ev and 300 <= ev[0].line <= 330 and ev[0].page == 5
    assert "4.5" in (ev[0].heading or "")


def test_aquareel_environmental_clauses_art_5(aquareel):
    fam = _family(aquareel, "ENV-COND-01")
    assert fam.status == FamilyStatus.hand_written
    assert any(
        ("CCAP" in e.file and 585 <= (e.line or 0) <= 600) or ("CCTP" in e.file)
        for e in fam.evidence
    ), fam.evidence


def test_aquareel_reversibility_found(aquareel):
    assert _family(aquareel, "DATA-REV-01").status in FOUND


def test_aquareel_no_rgaa_requirement_and_no_rc(aquareel):
    assert _family(aquareel, "ACC-RGAA-01").status not in FOUND
    assert _family(aquareel, "ENV-CRIT-01").status not in FOUND
    assert any(f.rule == "piece-attendue-absente" and "RC" in f.message for f in aquareel.findings)


def test_aquareel_mentions_are_not_clauses(aquareel):
    # CCTP L1389 only recalls that environmental clauses are mandatory: no criterion.
    fam = _family(aquareel, "ENV-CRIT-01")
    assert not any("CCTP" in e.file for e in fam.evidence)
