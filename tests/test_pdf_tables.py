"""Ruled tables of a PDF are table blocks with rows and cells (tasks/dossier/pdftables.py),
located like the other PDF lines, and award criteria are read from them as table rows."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tasks.check.criteria import read_criteria
from tasks.dossier.pdf import read_pdf
from tasks.dossier.reader import read_piece
from tests.test_reader import pdf_file

REAL = Path(__file__).resolve().parents[2] / "shared" / "cases" / "real"
AMF_RC = REAL / "amf-2022-011-sharepoint" / "2022_011 RC.pdf"


def _esc(text: str) -> bytes:
    raw = text.encode("cp1252").replace(b"\\", b"\\\\")
    return raw.replace(b"(", b"\\(").replace(b")", b"\\)")


def drawn_pdf(texts: list[tuple[float, float, str]], rules: list[tuple]) -> bytes:
    """A one-page PDF: Helvetica 10 pt texts at (x, y) and stroked rules (x0, y0, x1, y1)."""
    ops = [b"0.6 w"]
    ops += [b"%.1f %.1f m %.1f %.1f l S" % r for r in rules]
    for x, y, text in texts:
        ops.append(b"BT /F1 10 Tf %.1f %.1f Td (" % (x, y) + _esc(text) + b") Tj ET")
    stream = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return pdf_file(objects)


def grid(left: float, top: float, widths: list[float], heights: list[float]) -> list[tuple]:
    """The rules of a table: one segment per cell side, as word processors draw them."""
    xs = [left]
    for w in widths:
        xs.append(xs[-1] + w)
    ys = [top]
    for h in heights:
        ys.append(ys[-1] - h)
    rules = []
    for y in ys:
        rules += [(x0, y, x1, y) for x0, x1 in itertools.pairwise(xs)]
    for x in xs:
        rules += [(x, y0, x, y1) for y0, y1 in itertools.pairwise(ys)]
    return rules


CRITERIA_ROWS = [
    ("Critère", "Pondération"),
    ("Prix des prestations", "50 %"),
    ("Valeur technique de l'offre", "40 %"),
    ("Performance environnementale", "10 %"),
]


def criteria_pdf() -> bytes:
    texts = [
        (60, 780, "6. Jugement des offres"),
        (60, 760, "Les offres sont jugées selon les critères pondérés suivants :"),
    ]
    y = 732
    for name, weight in CRITERIA_ROWS:
        texts += [(66, y, name), (326, y, weight)]
        y -= 20
    texts.append((60, y - 20, "Le marché est attribué à l'offre la mieux classée."))
    rules = grid(60, 745, [260, 120], [20] * len(CRITERIA_ROWS))
    # a framed title of one column is not a table
    texts.append((70, 140, "Cadre : document à conserver"))
    rules += grid(60, 155, [300], [25])
    return drawn_pdf(texts, rules)


def test_ruled_pdf_table_is_a_table_block_with_rows_and_cells() -> None:
    model = read_pdf("rc.pdf", criteria_pdf(), "x")
    tables = [b for b in model.blocks if b.kind == "table"]
    assert len(tables) == 1
    (table,) = tables
    assert [[c.text for c in row] for row in table.rows] == [list(r) for r in CRITERIA_ROWS]
    assert all(c.loc.page == 1 and c.loc.line for row in table.rows for c in row)
    # rows are located top to bottom; the cells of a row share its line
    lines = [row[0].loc.line for row in table.rows]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    assert all(row[1].loc.line == row[0].loc.line for row in table.rows)
    # the cells are not read a second time as paragraphs; the text around is kept
    texts = [b.text for b in model.blocks if b.kind != "table"]
    assert not any("Performance environnementale" in t for t in texts)
    assert any("mieux classée" in t for t in texts)
    assert any("Cadre : document à conserver" in t for t in texts)
    # the table comes after the paragraph that introduces it, before the one that follows
    order = [b.kind for b in model.blocks]
    intro = next(i for i, b in enumerate(model.blocks) if "critères pondérés" in b.text)
    after = next(i for i, b in enumerate(model.blocks) if "mieux classée" in b.text)
    assert intro < order.index("table") < after


def test_criteria_of_a_ruled_pdf_table_are_read_from_its_rows() -> None:
    (cs,) = read_criteria([read_piece("RC.pdf", criteria_pdf())])
    assert [(c.nom, c.poids) for c in cs.criteres] == [
        ("Prix des prestations", 50),
        ("Valeur technique de l'offre", 40),
        ("Performance environnementale", 10),
    ]
    assert all(c.source is not None and c.source.cells for c in cs.criteres)


@pytest.mark.skipif(not AMF_RC.is_file(), reason="cas réels absents (../shared/cases/real)")
def test_real_rc_criteria_table_is_read_as_a_table() -> None:
    model = read_pdf(AMF_RC.name, AMF_RC.read_bytes(), "x")
    tables = [b for b in model.blocks if b.kind == "table"]
    # the framed title of page 1 is not a table; the sub-criteria table of page 9 is
    assert [t.loc.page for t in tables] == [9]
    rows = [[c.text for c in row] for row in tables[0].rows]
    assert rows[0] == ["Valeur technique globale", "Pondération sur 100"]
    assert [r[1] for r in rows[1:]] == ["50", "30", "20"]
    (cs,) = read_criteria([read_piece(AMF_RC.name, AMF_RC.read_bytes())])
    subs = cs.criteres[0].sous
    assert [round(s.poids) for s in subs] == [35, 21, 14]
    assert all(s.source is not None and s.source.cells and s.source.page == 9 for s in subs)
