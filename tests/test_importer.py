"""``cahier import``: legacy pieces to Markdown, a drafted tender.yaml, the same findings.

Real cases of ../shared/cases/real (skipped when absent) are read in place and imported
into tmp_path: nothing is copied into the project.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cahier.cli import _load_command_modules, app
from tasks.checker import check_dossier
from tasks.clausier import load_clausier
from tasks.errors import InputError
from tasks.importer import import_dce
from tasks.model import Tender
from tasks.reader import read_dossier
from tasks.yamlio import validate_yaml

_load_command_modules()
runner = CliRunner()
REAL_TENDERS = Path(__file__).resolve().parent / "real_cases"


def _vsgp(shared_real: Path) -> list[Path]:
    src = shared_real / "vsgp-infogerance-2025"
    if not src.is_dir():
        pytest.skip("cas réel vsgp-infogerance-2025 absent")
    return [src / "RC.pdf", src / "CCAP.pdf", src / "AE.docx"]


def _aquareel(shared_real: Path) -> list[Path]:
    src = shared_real / "aquareel-tma-scv-2025"
    if not src.is_dir():
        pytest.skip("cas réel aquareel-tma-scv-2025 absent")
    return sorted(src.glob("*.md"))


@pytest.fixture(scope="module")
def vsgp_import(shared_real, tmp_path_factory):
    return import_dce(_vsgp(shared_real), "VSGP-25TIC06", tmp_path_factory.mktemp("imp"))


@pytest.fixture(scope="module")
def aquareel_import(shared_real, tmp_path_factory):
    return import_dce(_aquareel(shared_real), "SCV-AQUAREEL", tmp_path_factory.mktemp("imp"))


@pytest.mark.real
def test_vsgp_tender_draft(vsgp_import):
    data = yaml.safe_load(vsgp_import.tender_yaml)
    assert data["codeCPV"] == "72510000"
    assert data["procedure"] == "Appel d'offres ouvert"
    assert data["ccag"] == "Techniques de l'information et de la communication"
    crit = {c["nom"]: c for c in data["criteres"]}
    assert [c["poids"] for c in data["criteres"]] == [60, 30, 10]
    assert [c["type"] for c in data["criteres"]] == ["prix", "technique", "environnement"]
    assert [s["poids"] for s in crit["Prix"]["sousCriteres"]] == [40, 20]
    assert "DPGF" in crit["Prix"]["sousCriteres"][0]["nom"]
    assert [s["nom"] for s in crit["Valeur technique"]["sousCriteres"]] == [
        "Qualité et pertinence de l'offre technique",
        "Compétences été expérience de l'équipe dédiée",
        "Organisation et méthodologie",
    ]
    assert [s["poids"] for s in data["criteres"][2]["sousCriteres"]] == [5, 5]
    assert "infogérance" in data["objet"]
    assert data["dateLancement"] is None and "À COMPLÉTER" in vsgp_import.tender_yaml
    assert any("dateLancement" in m for m in vsgp_import.missing)


@pytest.mark.real
def test_vsgp_pieces_have_headings_and_pages(vsgp_import):
    rc = (vsgp_import.path / "pieces" / "rc.md").read_text(encoding="utf-8")
    assert "### 6.2 Jugement des offres" in rc
    assert "## Page 8" in rc
    ae = (vsgp_import.path / "pieces" / "ae.md").read_text(encoding="utf-8")
    assert ae.count("\n#") >= 5
    assert vsgp_import.pieces == {
        "RC.pdf": "pieces/rc.md",
        "CCAP.pdf": "pieces/ccap.md",
        "AE.docx": "pieces/ae.md",
    }


@pytest.mark.real
def test_aquareel_tender_draft(aquareel_import):
    data = yaml.safe_load(aquareel_import.tender_yaml)
    assert data["acheteur"]["id"] == "12006805100040"
    assert data["codeCPV"] == "72267000"  # written « 722 67000 » in the AE
    assert data["procedure"] == "Appel d'offres ouvert"
    assert data["montant"] == 800000
    assert data["dureeMois"] == 48
    assert data["criteres"] == []  # no RC in the set
    assert any("critères" in m for m in aquareel_import.missing)


@pytest.mark.real
def test_draft_is_valid_yaml_but_refused_until_completed(vsgp_import):
    with pytest.raises(InputError) as exc:
        validate_yaml(Tender, vsgp_import.tender_yaml, "tender.yaml")
    assert exc.value.file == "tender.yaml" and exc.value.line
    res = runner.invoke(app, ["check", str(vsgp_import.path)])
    assert res.exit_code == 2


def _summary(path: Path):
    report = check_dossier(read_dossier(path), load_clausier())
    families = {f.clause: f.status for f in report.families}
    return families, Counter((f.rule, f.clause, f.severity) for f in report.findings)


@pytest.mark.real
@pytest.mark.parametrize(
    ("case", "fixture"),
    [("vsgp-infogerance-2025", "vsgp_import"), ("aquareel-tma-scv-2025", "aquareel_import")],
)
def test_imported_dossier_checks_like_the_original(case, fixture, shared_real, tmp_path, request):
    files = _vsgp(shared_real) if case.startswith("vsgp") else _aquareel(shared_real)
    reference = yaml.safe_load((REAL_TENDERS / case / "tender.yaml").read_text(encoding="utf-8"))
    original = tmp_path / "original"
    (original / "pieces").mkdir(parents=True)
    (original / "tender.yaml").write_text(yaml.safe_dump(reference, allow_unicode=True), "utf-8")
    for f in files:
        shutil.copyfile(f, original / "pieces" / f.name)
    imported = Path(shutil.copytree(request.getfixturevalue(fixture).path, tmp_path / "imported"))
    reference.pop("pieces", None)  # imported pieces are named after their kind
    (imported / "tender.yaml").write_text(yaml.safe_dump(reference, allow_unicode=True), "utf-8")
    assert _summary(imported) == _summary(original)


def test_docx_headings_restored_and_templates_neutralised(tmp_path: Path):
    import docx

    doc = docx.Document()
    doc.add_paragraph("Cahier des clauses administratives particulières")
    doc.add_paragraph("ARTICLE 5 CLAUSES ENVIRONNEMENTALES")
    doc.add_paragraph("5.1 Condition d'exécution")
    doc.add_paragraph(
        "Le titulaire remet chaque année un rapport {{ config.__class__ }} sur ses émissions."
    )
    doc.add_paragraph("Le code CPV principal est le 30213100. Procédure adaptée.")
    path = tmp_path / "CCAP marché PC.docx"
    doc.save(path)
    result = import_dce([path], "2026-DOCX-1", tmp_path / "out")
    md = (result.path / "pieces" / "ccap.md").read_text(encoding="utf-8")
    assert "## ARTICLE 5 CLAUSES ENVIRONNEMENTALES" in md
    assert "### 5.1 Condition d'exécution" in md
    assert "{{" not in md
    data = yaml.safe_load(result.tender_yaml)
    assert data["codeCPV"] == "30213100" and data["procedure"] == "Procédure adaptée"
    assert data["categories"] == ["hardware"]


def test_existing_destination_and_bad_input_are_refused(tmp_path: Path):
    piece = tmp_path / "rc.md"
    piece.write_text("# Règlement\n\n## Article 1 – Objet\n\nTexte.\n", encoding="utf-8")
    (tmp_path / "out" / "T-1").mkdir(parents=True)
    res = runner.invoke(
        app, ["import", str(piece), "--tender", "T-1", "--dest", str(tmp_path / "out")]
    )
    assert res.exit_code == 2 and "existe déjà" in res.output
    assert not any((tmp_path / "out" / "T-1").iterdir())
    res = runner.invoke(
        app, ["import", str(piece), "--tender", "../T", "--dest", str(tmp_path / "out")]
    )
    assert res.exit_code == 2 and "identifiant" in res.output
    res = runner.invoke(app, ["import", str(tmp_path / "absent.pdf"), "--tender", "T-2"])
    assert res.exit_code == 2 and "introuvable" in res.output
    fake = tmp_path / "AE.docx"
    fake.write_bytes(b"pas un docx")
    res = runner.invoke(
        app, ["import", str(fake), "--tender", "T-3", "--dest", str(tmp_path / "out")]
    )
    assert res.exit_code == 2 and "DOCX" in res.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["T-1"]


def test_cli_says_what_is_missing(tmp_path: Path):
    piece = tmp_path / "RC.md"
    piece.write_text(
        "# Règlement de la consultation\n\n## Article 1 – Objet\n\n"
        "Objet de la consultation : fourniture de smartphones reconditionnés\n\n"
        "Code CPV : 32250000\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["import", str(piece), "--tender", "T-4", "--dest", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "À compléter" in res.output and "dateLancement" in res.output
    assert "brouillon" in res.output
    text = (tmp_path / "T-4" / "tender.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["objet"] == "fourniture de smartphones reconditionnés"
