"""A piece whose extension lies about its content (a DOCX renamed .pdf, a PDF renamed
.docx, an ODT saved as .md) is refused by name, with its real format and the name to give
it — not « PDF illisible » or « fichier binaire », which send the buyer to re-export a
document that is fine."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cahier.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tenders" / "2026-CD33-PC-001"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _pdf() -> bytes:
    import pikepdf

    buf = io.BytesIO()
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(buf)
    return buf.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
ODT = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})

#: file name in pieces/ → (content, real format named, name to give it).
CASES = {
    "annexe.pdf": (DOCX, "document Word (DOCX)", "annexe.docx"),
    "annexe.docx": (_pdf(), "PDF", "annexe.pdf"),
    "annexe.md": (ODT, "OpenDocument (ODT)", "annexe.odt"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_disguised_piece_is_named_with_its_real_format(name: str, tmp_path: Path):
    data, label, rename = CASES[name]
    dossier = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(EXAMPLE, dossier, ignore=shutil.ignore_patterns("evaluation"))
    (dossier / "pieces" / name).write_bytes(data)
    result = CliRunner().invoke(app, ["check", str(dossier)])
    assert result.exit_code == 2, result.output
    assert f"pieces/{name}" in result.output, result.output
    assert label in result.output and f"« {rename} »" in result.output, result.output
    assert "Traceback" not in result.output
