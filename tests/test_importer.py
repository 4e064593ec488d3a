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

from cahier.cli import app
from tasks.check.checker import check_dossier
from tasks.clausier.library import load_clausier
from tasks.dossier.model import Tender
from tasks.dossier.reader import read_dossier
from tasks.dossier.yamlio import validate_yaml
from tasks.drafting.importer import import_dce
from tasks.errors import InputError

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
    # cahier check still gives the findings that do not depend on the empty fields
    res = runner.invoke(app, ["check", str(vsgp_import.path), "--format", "json"])
    assert res.exit_code == 1, res.output
    import json

    report = json.loads(res.stdout)
    rules = {f["rule"] for f in report["findings"]}
    incomplete = next(f for f in report["findings"] if f["rule"] == "tender-incomplet")
    assert "dateLancement" in incomplete["message"] and incomplete["location"]["line"]
    assert "piece-listee-absente" in rules  # the RC lists a BPU/DPGF…: located in rc.md
    ae = next(f for f in report["families"] if f["clause"] == "DATA-GDPR-01")
    assert ae["status"] == "hand-written" and ae["evidence"][0]["file"] == "pieces/ccap.md"


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
    # the DCE's folder itself: not « introuvable », the way to give its files
    res = runner.invoke(app, ["import", str(tmp_path / "out"), "--tender", "T-2"])
    assert res.exit_code == 2 and "c'est un dossier" in res.output and "/*" in res.output
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


# --------------------------------------------------------------------------- kinds and names


def _md(path: Path, title: str, body: str = "Texte de la pièce.") -> Path:
    path.write_text(f"# {title}\n\n## Article 1 – Objet\n\n{body}\n", encoding="utf-8")
    return path


def _docx(path: Path, title: str) -> Path:
    import docx

    doc = docx.Document()
    doc.add_paragraph(title)
    doc.add_paragraph("ARTICLE 1 OBJET")
    doc.add_paragraph(f"Texte de la pièce {path.stem}.")
    doc.save(path)
    return path


def test_full_names_are_recognised_and_pieces_named_after_their_kind(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    files = [
        _md(src / "Règlement de la consultation.md", "Règlement de la consultation"),
        _md(src / "Cahier des clauses administratives particulières.md", "CCAP"),
        _docx(src / "CCTP - cahier des clauses techniques.docx", "CCTP"),
        _docx(src / "Acte d'engagement.docx", "Acte d'engagement"),
        _md(src / "Bordereau des prix unitaires.md", "BPU", "Prix du poste 1."),
        _md(src / "BPU_Aquareel_2025_vd.md", "BPU", "Prix du poste 2."),
        _md(src / "notes de travail.md", "Notes", "Idées en vrac."),
    ]
    res = runner.invoke(
        app, ["import", *map(str, files), "--tender", "T-KIND", "--dest", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    pieces = tmp_path / "T-KIND" / "pieces"
    assert sorted(p.name for p in pieces.iterdir()) == [
        "ae.md",
        "bpu-2.md",
        "bpu.md",
        "ccap.md",
        "cctp.md",
        "notes-de-travail.md",
        "rc.md",
    ]
    # the output says what each file was recognised as, and warns about the unknown one
    out = " ".join(res.output.split())
    assert "Règlement de la consultation.md → pieces/rc.md : règlement de la consultation" in out
    assert "Acte d'engagement.docx → pieces/ae.md : acte d'engagement (AE)" in out
    assert "BPU_Aquareel_2025_vd.md → pieces/bpu-2.md" in out
    assert "Attention : « notes de travail.md » : nature de pièce non reconnue" in out
    assert "2 pièces reconnues comme bordereau des prix unitaires (BPU) (bpu.md, bpu-2.md)" in out
    # the original file name is kept in a comment at the top of the piece
    first = (pieces / "bpu-2.md").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("<!--") and "« BPU_Aquareel_2025_vd.md »" in first
    assert "Prix du poste 2." in (pieces / "bpu-2.md").read_text(encoding="utf-8")


def test_kind_read_from_the_title_when_the_name_says_nothing(tmp_path: Path):
    piece = _md(tmp_path / "Document 1.md", "RÈGLEMENT DE LA CONSULTATION")
    result = import_dce([piece], "T-TITLE", tmp_path / "out")
    assert result.pieces == {"Document 1.md": "pieces/rc.md"}
    assert result.kinds == {"Document 1.md": "rc"}
    assert any("titre" in w and "vérifiez" in w for w in result.warnings)


def test_same_source_given_twice_is_refused(tmp_path: Path):
    piece = _md(tmp_path / "RC.md", "Règlement de la consultation")
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "import",
            str(piece),
            str(tmp_path / "." / "RC.md"),
            "--tender",
            "T-5",
            "--dest",
            str(out),
        ],
    )
    assert res.exit_code == 2 and "deux fois" in res.output
    copy = tmp_path / "RC copie.md"
    shutil.copyfile(piece, copy)
    res = runner.invoke(
        app, ["import", str(piece), str(copy), "--tender", "T-5", "--dest", str(out)]
    )
    assert res.exit_code == 2 and "même contenu" in res.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.real
def test_aquareel_pieces_named_after_their_kind(aquareel_import, shared_real, tmp_path):
    assert aquareel_import.pieces == {
        "AE_2025_TMA AQUAREEL_vd.md": "pieces/ae.md",
        "BPU_Aquareel_2025_vd.md": "pieces/bpu.md",
        "CCAP_2025 TMA AQUAREEL_vd.md": "pieces/ccap.md",
        "CCTP_Aquareel_2025_vd.md": "pieces/cctp.md",
        "DPF_Aquareel_2025_vd.md": "pieces/dpf.md",
        "Q-R_DCE_TMA_AQUAREEL_2025-2.md": "pieces/qr.md",
    }
    assert aquareel_import.kinds["Q-R_DCE_TMA_AQUAREEL_2025-2.md"] == "qr"
    assert not any("non reconnue" in w for w in aquareel_import.warnings)
    # the same BPU as Markdown and as the buyer's ODT form: bpu.md and bpu-2.md, flagged
    src = shared_real / "aquareel-tma-scv-2025"
    both = import_dce(
        [src / "BPU_Aquareel_2025_vd.md", src / "BPU_Aquareel_2025_vd.odt"], "SCV-BPU", tmp_path
    )
    assert list(both.pieces.values()) == ["pieces/bpu.md", "pieces/bpu-2.md"]
    assert any("2 pièces reconnues comme bordereau" in w for w in both.warnings)


def test_piece_named_cahier_des_charges_is_typed_by_its_content(tmp_path: Path):
    text = (
        "# Cahier des charges\n\n## 1 Pénalités\n\nLes pénalités de retard sont appliquées. "
        "Le CCAG-TIC s'applique. Une avance est versée.\n\n## 2 Révision des prix\n\n"
        "Les prix sont révisables. Modalités de paiement : délai de paiement de 30 jours. "
        "Résiliation selon le CCAG.\n"
    )
    src = tmp_path / "Cahier des charges.md"
    src.write_text(text, encoding="utf-8")
    result = import_dce([src], "2026-CDC-1", tmp_path / "out")
    assert result.kinds == {"Cahier des charges.md": "ccap"}
    assert any("contenu" in w for w in result.warnings)


@pytest.mark.real
def test_amf_import_holds_criteria_as_written_and_metadata(shared_real, tmp_path):
    src = shared_real / "amf-2022-011-sharepoint"
    if not src.is_dir():
        pytest.skip("cas réel amf-2022-011-sharepoint absent")
    result = import_dce(
        [src / "2022_011 RC.pdf", src / "2022_011 CCAP.pdf"], "AMF-2022-011", tmp_path
    )
    data = yaml.safe_load(result.tender_yaml)
    top = data["criteres"]
    assert [(c["poids"], c["type"]) for c in top] == [(70, "technique"), (30, "prix")]
    subs = top[0]["sousCriteres"]
    assert [(s["poids"], s["poidsEcrit"]) for s in subs] == [(35, "50"), (21, "30"), (14, "20")]
    assert subs[0]["unite"].startswith("sur 100")
    assert "# lu : 2022_011 RC.pdf p. 9" in result.tender_yaml  # each value with its page
    assert data["montant"] == 1500000 and data["dureeMois"] == 48
    assert (
        data["acheteur"]["id"] == "11000023900019"
        and "MARCHES FINANCIERS" in data["acheteur"]["nom"]
    )
    assert str(data["dateLimiteOffres"]) == "2022-05-20" and data["lots"] == []


def test_import_vocabulary_is_validated_with_file_and_line(tmp_path) -> None:
    """clause_library/import.yaml is data validated at load: a CPV prefix that is not
    digits is refused in French, with the file and the line."""
    from tasks.dossier.yamlio import validate_yaml
    from tasks.drafting.importer_vocab import ImportVocab, import_vocab
    from tasks.errors import InputError

    shipped = import_vocab()
    assert shipped.procedures[0].label == "Appel d'offres ouvert"
    assert shipped.cpv_categories[0].prefix == "7226"
    bad = tmp_path / "import.yaml"
    bad.write_text('cpv_categories:\n  - {prefix: "72x", categories: [services]}\n')
    with pytest.raises(InputError) as exc:
        validate_yaml(ImportVocab, bad.read_bytes(), str(bad))
    assert "import.yaml" in str(exc.value) and ":2" in str(exc.value), str(exc.value)
