"""Completeness: pieces the RC or the CCAP lists as part of the DCE and the dossier lacks;
spreadsheets (XLSX, ODS) read as pieces and satisfying a listed price grid."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tasks.check.checker import check_dossier
from tasks.check.completeness import missing_listed_pieces
from tasks.clausier.library import load_clausier
from tasks.dossier.reader import read_dossier, read_piece
from tasks.errors import InputError

RC = (
    "# Règlement de la consultation\n\n## 3 Dossier de consultation\n\n"
    "Le dossier de consultation des entreprises comprend les pièces suivantes :\n\n"
    "- le présent règlement de la consultation (RC) ;\n"
    "- l'acte d'engagement (AE) ;\n"
    "- le cahier des clauses administratives particulières (CCAP) ;\n"
    "- le bordereau des prix unitaires (BPU) ;\n"
    "- le CCAG-TIC, non joint, réputé connu ;\n"
    "- la norme NF EN 301 549.\n"
)


def pieces(**files: str):
    return [read_piece(name, text.encode()) for name, text in files.items()]


def test_listed_pieces_missing_are_located_and_ccag_or_standards_are_not_pieces() -> None:
    missing = missing_listed_pieces(pieces(**{"rc.md": RC, "ccap.md": "# CCAP\n\nTexte.\n"}))
    assert [(m.kind, m.piece.lines[m.index].src_line) for m in missing] == [("ae", 8), ("bpu", 10)]


def _xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "BPU"
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _ods(rows: list[list[str]]) -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Prix")
    for r in rows:
        tr = TableRow()
        for v in r:
            tc = TableCell()
            tc.addElement(P(text=v))
            tr.addElement(tc)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("maker, name", [(_xlsx, "Annexe financière.xlsx"), (_ods, "prix.ods")])
def test_a_spreadsheet_under_any_name_satisfies_the_listed_bpu_and_is_read(maker, name) -> None:
    data = maker([["Désignation", "Prix unitaire (€ HT)"], ["Poste de travail portable", "850"]])
    sheet = read_piece(name, data)
    assert sheet.format in ("xlsx", "ods")
    assert sheet.lines[1].text == "Poste de travail portable | 850"
    assert sheet.lines[1].src_line == 2 and "Feuille" in sheet.sections[0].title
    found = missing_listed_pieces([*pieces(**{"rc.md": RC}), sheet])
    assert [m.kind for m in found] == ["ae", "ccap"]  # the BPU is satisfied by the sheet


def test_damaged_spreadsheet_is_refused_in_french_naming_the_file() -> None:
    with pytest.raises(InputError) as exc:
        read_piece("bpu.xlsx", b"PK\x03\x04 not really a zip")
    assert exc.value.file == "bpu.xlsx" and "tableur" in str(exc.value)


@pytest.mark.real
def test_amf_lacks_the_ae_the_price_grid_and_the_response_frame(
    real_dossier, shared_real: Path
) -> None:
    dossier = real_dossier("vsgp-infogerance-2025")  # a valid tender.yaml of a real case
    amf = Path(dossier).parent / "amf"
    (amf / "pieces").mkdir(parents=True)
    (amf / "tender.yaml").write_text((Path(dossier) / "tender.yaml").read_text(encoding="utf-8"))
    for f in (shared_real / "amf-2022-011-sharepoint").iterdir():
        (amf / "pieces" / f.name).write_bytes(f.read_bytes())
    report = check_dossier(read_dossier(amf), load_clausier())
    listed = [f for f in report.findings if f.rule == "piece-listee-absente"]
    assert {(f.location.file, f.location.page) for f in listed} == {("pieces/2022_011 RC.pdf", 3)}
    text = " ".join(f.message for f in listed)
    assert "acte d'engagement" in text and "bordereau" in text and "cadre de réponse" in text
    assert "CCAG" not in text


@pytest.mark.real
def test_vsgp_dqe_spreadsheet_satisfies_the_price_grids(real_dossier) -> None:
    with_sheet = check_dossier(read_dossier(real_dossier("vsgp-infogerance-2025")), load_clausier())
    without = check_dossier(
        read_dossier(real_dossier("vsgp-infogerance-2025", exclude=("DQE.xlsx",))),
        load_clausier(),
    )

    def kinds(r):
        return sorted(
            f.message.split(" liste ")[1].split(" parmi")[0]
            for f in r.findings
            if f.rule == "piece-listee-absente"
        )

    assert kinds(with_sheet) == ["le CCTP"]
    assert len(kinds(without)) > 1
