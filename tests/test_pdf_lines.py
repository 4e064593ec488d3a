"""PDF line numbers follow the labels' convention: the line of ``pdftotext -layout``
(tasks/dossier/pdflines.py), PDFium's own numbering without poppler."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tasks.dossier import pdflines
from tasks.dossier.pdf import read_pdf
from tasks.dossier.pdflines import map_page_lines

REAL = Path(__file__).resolve().parents[2] / "shared" / "cases" / "real"
RC = REAL / "amf-2022-011-sharepoint" / "2022_011 RC.pdf"


def test_lines_found_forward_then_anywhere_on_the_page() -> None:
    layout = [
        "",
        "   ARTICLE 1 – OBJET           ",
        "   Le présent marché a pour objet      Lot   Prix",
        "   la maintenance applicative.",
        "",
        "   - 3 -",
    ]
    segments = ["- 3 -", "ARTICLE 1 – OBJET", "Le présent marché a pour", "Lot", "absent ici"]
    # a footer read first by PDFium is found anyway; the cells of a row share a line
    assert map_page_lines(segments, layout) == [6, 2, 3, 3, None]


@pytest.mark.skipif(not RC.is_file(), reason="cas réels absents (../shared/cases/real)")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils absent")
def test_real_pdf_lines_are_pdftotext_layout_lines() -> None:
    data = RC.read_bytes()
    model = read_pdf(RC.name, data, "x")
    out = subprocess.run(["pdftotext", "-layout", str(RC), "-"], capture_output=True, check=True)
    pages = [p.split("\n") for p in out.stdout.decode().split("\f")]
    checked = same = 0
    for block in model.blocks:
        for span in block.spans:
            text, loc = span.text, span.loc
            # letters and digits only: the reader normalises quotes, bullets and leaders
            words = re.sub(r"\W", "", " ".join(text.split()[:4]))
            if len(words) < 10:
                continue
            checked += 1
            same += words in re.sub(r"\W", "", pages[loc.page - 1][loc.line - 1])
    assert checked > 200
    assert same / checked >= 0.95, (same, checked)


@pytest.mark.skipif(not RC.is_file(), reason="cas réels absents (../shared/cases/real)")
def test_without_poppler_pdfium_numbering_is_kept(monkeypatch) -> None:
    monkeypatch.setattr(pdflines.shutil, "which", lambda _name: None)
    model = read_pdf(RC.name, RC.read_bytes(), "x")
    assert model.blocks and all(b.loc.page and b.loc.line for b in model.blocks)
