"""The check flow through Prefect (temporary local server): same report, artifacts published."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.flow

DOSSIER = """\
id: 2026-DSI-014
objet: Acquisition de postes de travail reconditionnés
codeCPV: "30213100"
procedure: "Appel d'offres ouvert"
dureeMois: 36
ccag: "Techniques de l'information et de la communication"
montant: 120000
acheteur: {id: "21330063500017", nom: "Commune de Test", type: collectivite}
categories: [hardware]
dateLancement: 2026-09-15
criteres:
  - {nom: Prix, poids: 100, type: prix}
"""


@pytest.fixture(scope="module")
def harness(prefect_harness):
    """The session's shared Prefect test server (tests/conftest.py)."""
    yield


def test_check_flow_publishes_report_and_findings(harness, tmp_path: Path):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.check import artifact_key, check_tender
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    d = tmp_path / "2026-DSI-014"
    (d / "pieces").mkdir(parents=True)
    (d / "tender.yaml").write_text(DOSSIER, encoding="utf-8")
    (d / "pieces" / "rc.md").write_text(
        "# RC\n\n## Article 1 – Critères\n\nPrix : 100 %.\n", encoding="utf-8"
    )
    report = check_tender(str(d))
    direct = check_dossier(read_dossier(d), load_clausier())
    assert report.model_dump() == direct.model_dump()
    assert any(f.rule == "prix-seul" for f in report.findings)
    # The tender id holds uppercase letters: keys must be slugified to be accepted.
    assert artifact_key("check-report", "2026-DSI-014") == "check-report-2026-dsi-014"

    async def keys() -> set[str]:
        async with get_client() as client:
            arts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(
                        any_=["check-report-2026-dsi-014", "check-findings-2026-dsi-014"]
                    )
                )
            )
            return {a.key: a for a in arts}

    arts = asyncio.run(keys())
    assert set(arts) == {"check-report-2026-dsi-014", "check-findings-2026-dsi-014"}
    assert "prix-seul" in str(arts["check-report-2026-dsi-014"].data)


def test_check_flow_is_lenient_on_an_incomplete_tender(harness, tmp_path: Path):
    """An incomplete tender.yaml (empty montant): the flow gives the findings that do not
    depend on it, with the missing field listed, like ``cahier check``."""
    from flows.check import check_tender

    d = tmp_path / "2026-DSI-014"
    (d / "pieces").mkdir(parents=True)
    (d / "tender.yaml").write_text(DOSSIER.replace("montant: 120000", "montant:"), "utf-8")
    (d / "pieces" / "rc.md").write_text(
        "# RC\n\n## Article 1 – Critères\n\nPrix : 100 %.\n", encoding="utf-8"
    )
    report = check_tender(str(d))
    incomplete = next(f for f in report.findings if f.rule == "tender-incomplet")
    assert "montant" in incomplete.message and incomplete.location.line == 7
    assert any(f.rule == "prix-seul" for f in report.findings)
