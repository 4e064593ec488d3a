"""Proof by validators (issue 15): axe-core in headless Chromium (tags wcag2a, wcag2aa,
wcag21a, wcag21aa, no rule disabled) on every HTML output, pdfua + cahier's structure
checks on every PDF, cahier's DOCX/ODT checker — first shown to catch defects, then
0 violations on the bundled examples, the issue's annexe and the portfolio report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import approved_repository
from test_portfolio import portfolio_dir  # noqa: F401  (fixture)
from test_publication import ANNEXE, make_dossier, png

from tasks.award.portfolio import build_portfolio
from tasks.award.portfolio_page import to_html
from tasks.clausier.library import load_clausier
from tasks.dossier.reader import read_dossier
from tasks.publish.assemble import assemble
from tasks.publish.validators import (
    AXE_TAGS,
    CHROMIUM,
    audit_html,
    audit_outputs,
    audit_pdf,
    docx_problems,
    odt_problems,
    pdf_structure,
)

ROOT = Path(__file__).resolve().parents[1]
TENDERS = ROOT / "tenders"
EXAMPLES = ["2026-CD33-PC-001", "2026-DINUM-WEB-002", "2026-DRAFT-003"]

pytest.importorskip("pdfua", reason="paquet pdfua absent (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def browser_ok():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} absent : bash scripts/install-chromium.sh")
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python absent")
    pytest.importorskip("playwright.sync_api", reason="playwright absent")


def violations(audits) -> list[str]:
    return [f"{Path(a.file).name} [{a.validator}] {v}" for a in audits for v in a.violations]


def test_axe_runs_exactly_the_wcag_a_aa_tags_and_catches_defects(tmp_path, browser_ok):
    assert AXE_TAGS == ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
    bad = tmp_path / "mauvais.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><title></title></head><body><img src="x.png">'
        "<table><tr><td>1</td></tr></table><a href='#'></a></body></html>",
        encoding="utf-8",
    )
    (audit,) = audit_html([bad])
    ids = {v.split(" ", 1)[0] for v in audit.violations}
    assert {"html-has-lang", "image-alt", "link-name"} <= ids
    assert audit.rules > 40 and audit.pages == 1


def test_pdf_and_office_checkers_catch_defects(tmp_path):
    import pypandoc
    import typst

    src = tmp_path / "brut.typ"
    src.write_text('= Titre\n\n#image("x.png")\n\n= Autre\n', encoding="utf-8")
    (tmp_path / "x.png").write_bytes(png(4, 4))
    pdf = tmp_path / "brut.pdf"
    pdf.write_bytes(typst.compile(str(src), root=str(tmp_path), ignore_system_fonts=True))
    own, pages = pdf_structure(pdf)
    rules = {v.split(" ", 1)[0] for v in own}
    assert {"langue", "titre", "pdfua-id", "figure-alt", "titre-unique"} <= rules and pages == 1
    pdfua_audit = audit_pdf(pdf)[0]
    assert pdfua_audit.violations  # pdfua sees the same file as non-conforming
    md = "# Titre\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![](x.png)\n"
    (tmp_path / "p.md").write_text(md, encoding="utf-8")
    for fmt, check in (("docx", docx_problems), ("odt", odt_problems)):
        out = tmp_path / f"p.{fmt}"
        pypandoc.convert_file(
            str(tmp_path / "p.md"),
            fmt,
            outputfile=str(out),
            extra_args=[f"--resource-path={tmp_path}"],
        )
        found = {v.split(" ", 1)[0] for v in check(out)}
        assert {"titre", "langue", "alternatives"} <= found, (fmt, found)


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    """The three bundled examples (CD33 as a final assembly with its approvals, the
    others as drafts) and the issue's annexe (logo, formula, criteria, front matter)."""
    lib = load_clausier()
    area = tmp_path_factory.mktemp("valid")
    outs = []
    for name in EXAMPLES:
        src = TENDERS / name
        if not (src / "tender.yaml").is_file():
            continue
        if name == "2026-CD33-PC-001":
            dossier, draft = approved_repository(src, area / "repo"), False
        else:
            dossier, draft = src, True
        out = area / "out" / name
        assemble(read_dossier(dossier), lib, out, draft=draft, allowed_root=area, workers=2)
        outs.append(out)
    d = make_dossier(
        area / "annexe",
        {"annexe.md": ANNEXE},
        {"pieces/images/logo.png": png(60, 30), "pieces/images/filet.png": png(200, 2)},
    )
    out = area / "out" / "annexe"
    assemble(read_dossier(d), lib, out, draft=True, allowed_root=area, workers=2)
    outs.append(out)
    return outs


def test_every_pdf_passes_pdfua_and_structure_checks(assembled):
    audits = [a for out in assembled for a in audit_outputs(out, html=False)]
    pdfs = [a for a in audits if a.validator.startswith("pdfua")]
    assert len(pdfs) >= 2 * 15 and sum(a.pages for a in pdfs) > 30  # PDF/UA + archive copies
    assert violations(audits) == []
    # a pdfua rule that could not run is reported, never counted as passed; the one its
    # 0.1.3 release cannot evaluate (empty headings) is covered by « titre-non-vide »
    skipped = {s.split(" ", 1)[0] for a in pdfs for s in a.skipped}
    assert skipped <= {"UA-14-001"}
    office = [a for a in audits if a.validator in ("cahier-docx", "cahier-odt")]
    assert len(office) >= 2 * 15


def test_every_html_output_has_zero_axe_violations(assembled, browser_ok):
    pages = [p for out in assembled for p in sorted(out.glob("*.html"))]
    assert any(p.name == "guide-de-reponse.html" for p in pages)
    audits = audit_html(pages)
    assert len(audits) == len(pages) >= 16
    assert violations(audits) == []


def test_portfolio_report_charts_are_named_with_a_table_and_pass_axe(
    portfolio_dir,  # noqa: F811
    tmp_path,
    browser_ok,
):
    page = to_html(build_portfolio(portfolio_dir))
    figures = re.findall(r'<figure class="graphique".*?</figure>\s*(<table>)?', page, re.S)
    assert len(figures) >= 2
    for fig in re.finditer(r'<figure class="graphique"(.*?)</figure>\s*(<table>)?', page, re.S):
        assert re.search(r'<figcaption id="graphique-\d">[^<]{10,}</figcaption>', fig[1])
        assert "Données du graphique : tableau" in fig[1]
        assert fig[2] == "<table>", "chaque graphique est suivi de son tableau de données"
    html = tmp_path / "rapport.html"
    html.write_text(page, encoding="utf-8")
    assert violations(audit_html([html])) == []


def test_manifest_zip_contains_only_validated_formats(assembled):
    for out in assembled:
        names = zipfile.ZipFile(next(out.glob("*.zip"))).namelist()
        assert {Path(n).suffix for n in names} <= {".docx", ".odt", ".html", ".pdf", ".png"}


def test_bench_assemble_runs_as_shipped():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "assemble.py"), "--runs", "1", "--no-validators"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "surcoût" in proc.stdout


def test_real_aquareel_dce_assembles_and_passes_every_validator(real_dossier, tmp_path, browser_ok):
    """The real Aquareel DCE (Markdown taken from Word): its Wingdings boxes and ticks
    (U+F0A7, U+F0FC) used to stop the PDF (PDF/UA-1: glyph in no font)."""
    dossier = real_dossier("aquareel-tma-scv-2025")
    out = tmp_path / "out"
    res = assemble(
        read_dossier(dossier), load_clausier(), out, draft=True, allowed_root=tmp_path, workers=2
    )
    assert not [f for f in res.findings if f.rule == "caractere-prive"]  # all known
    ae = next(out.glob("ae_*.html")).read_text(encoding="utf-8")
    assert "\uf0a7" not in ae and "▪" in ae
    assert violations(audit_outputs(out)) == []
