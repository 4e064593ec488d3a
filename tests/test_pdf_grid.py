"""Tables without rules (tasks/dossier/pdfgrid.py), tables continued over pages
(tasks/dossier/pdfflow.py) and award criteria read from table blocks
(tasks/check/criteria_model.lines_of), on PDFs generated with Typst and on the real cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.check.criteria import read_criteria
from tasks.check.criteria_model import lines_of
from tasks.dossier.pdf import read_pdf
from tasks.dossier.reader import read_piece

REAL = Path(__file__).resolve().parents[2] / "shared" / "cases" / "real"
VSGP_CCAP = REAL / "vsgp-infogerance-2025" / "CCAP.pdf"
AMF_CCTP = REAL / "amf-2022-011-sharepoint" / "2022_011 CCTP.PDF"

PROSE = (
    "Le titulaire s'engage à exécuter les prestations conformément aux stipulations du "
    "présent cahier des clauses administratives particulières et des documents auxquels il "
    "renvoie ; il informe l'acheteur de toute difficulté rencontrée dans l'exécution. "
)
HEAD = '#set text(lang: "fr", size: 11pt)\n#set par(justify: true)\n'


def _pdf(src: str) -> bytes:
    typst = pytest.importorskip("typst")
    return typst.compile((HEAD + src).encode())


def _tables(pdf: bytes) -> list[list[list[str]]]:
    model = read_pdf("piece.pdf", pdf, "x")
    return [[[c.text for c in row] for row in b.rows] for b in model.blocks if b.kind == "table"]


CRITERIA = f"""= Article 6 - Jugement des offres
{PROSE * 2}

#table(columns: 3, stroke: none, align: left,
  [Critère], [Pondération], [Appréciation],
  [Prix des prestations], [50 %], [Formule | DPGF],
  [Valeur technique], [40 %], [Mémoire technique],
  [Performance environnementale], [10 %], [Mémoire technique],
)

{PROSE}
"""


def test_unruled_table_is_a_table_block_between_its_paragraphs() -> None:
    model = read_pdf("rc.pdf", _pdf(CRITERIA), "x")
    kinds = [b.kind for b in model.blocks]
    assert kinds.count("table") == 1
    table = model.blocks[kinds.index("table")]
    assert [[c.text for c in row] for row in table.rows] == [
        ["Critère", "Pondération", "Appréciation"],
        ["Prix des prestations", "50 %", "Formule | DPGF"],
        ["Valeur technique", "40 %", "Mémoire technique"],
        ["Performance environnementale", "10 %", "Mémoire technique"],
    ]
    lines = [row[0].loc.line for row in table.rows]
    assert all(c.loc.page == 1 for row in table.rows for c in row)
    assert lines == sorted(lines) and len(set(lines)) == 4
    # the cells are not read a second time; the prose around stays paragraphs
    others = [b for b in model.blocks if b.kind != "table"]
    assert not any("Performance environnementale" in b.text for b in others)
    assert kinds[kinds.index("table") - 1] == "paragraph" == kinds[kinds.index("table") + 1]


def test_criteria_cells_come_from_the_table_block() -> None:
    piece = read_piece("RC.pdf", _pdf(CRITERIA))
    lines = [sl for sl in lines_of(piece) if sl.cells]
    # a « | » inside a cell does not cut it (the line view writes rows as « a | b »)
    assert ["Prix des prestations", "50 %", "Formule | DPGF"] in [sl.cells for sl in lines]
    # the table's head is the model's first row, not guessed from its words
    assert [sl.head for sl in lines] == [True, False, False, False]
    md = read_piece("rc.md", b"| Crit\xc3\xa8re | Poids |\n|---|---|\n| Prix | 60 % |\n")
    assert [sl.head for sl in lines_of(md) if sl.cells] == [False, False]
    (cs,) = read_criteria([piece])
    assert [(c.nom, c.poids) for c in cs.criteres] == [
        ("Prix des prestations", 50),
        ("Valeur technique", 40),
        ("Performance environnementale", 10),
    ]


def test_cells_wrapped_and_hyphenated_are_read_whole() -> None:
    pdfium = pytest.importorskip("pypdfium2")
    src = f"""{PROSE}

#table(columns: (auto, 3.2cm, auto), stroke: none, column-gutter: 1.5em,
  [Code], [Prestation], [Prix],
  [UO1], [Accompagnement du pouvoir adjudicateur], [5 400 €],
  [UO2], [Pilotage], [800 €],
  [UO3], [Assistance à la maîtrise d'ouvrage et documentation], [1 €],
)

{PROSE}
"""
    pdf = _pdf(src)
    # the last cell runs over several lines, one word cut by a hyphen
    assert "\ufffe" in pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    (table,) = _tables(pdf)
    assert table[1] == ["UO1", "Accompagnement du pouvoir adjudicateur", "5 400 €"]
    assert table[3] == ["UO3", "Assistance à la maîtrise d'ouvrage et documentation", "1 €"]


def test_columns_close_together_are_told_apart() -> None:
    # the text of the long cells runs to their edge: 10 points between two columns
    src = f"""{PROSE}

#table(columns: (auto, 9cm, auto), stroke: none,
  table.header([Code], [Description de la prestation], [Prix HT]),
  [UO3], [Développement et tests unitaires des évolutions demandées par le pouvoir], [5 400 €],
  [UO4], [Pilotage], [800 €],
  [UO5], [Mise en œuvre de l'éco-conception des services numériques et de la sobriété], [1 €],
)

{PROSE}
"""
    (table,) = _tables(_pdf(src))
    assert [row[2] for row in table] == ["Prix HT", "5 400 €", "800 €", "1 €"]


def test_cells_set_apart_by_shading_make_a_table() -> None:
    src = f"""= Article 18 - Pénalités
{PROSE}

#table(columns: 4, stroke: none, fill: (x, y) => if y == 0 or x == 0 {{ luma(215) }},
  [Criticité], [Palier 1], [Palier 2], [Palier 3],
  [P1], [50 €], [100 €], [150 €],
  [P2], [100 €], [200 €], [300 €],
  [P3], [150 €], [300 €], [450 €],
)

{PROSE}
"""
    (table,) = _tables(_pdf(src))
    assert table[0] == ["Criticité", "Palier 1", "Palier 2", "Palier 3"]
    assert table[3] == ["P3", "150 €", "300 €", "450 €"]


def test_a_single_row_carried_to_the_next_page_joins_its_table() -> None:
    pdfium = pytest.importorskip("pypdfium2")

    def source(n: int) -> str:
        return f"""= Article 4 - Prix unitaires
{PROSE * 8}

#table(columns: (auto, 1fr, auto), stroke: none,
  table.header([Code], [Désignation], [Prix]),
  ..range(1, {n + 1}).map(i => ([UO#i], [Unité d'œuvre numéro #i], [#(i * 10) €])).flatten()
)

Fin.
"""

    # the number of rows that leaves the repeated header and one row on page 2
    for n in range(10, 40):
        pdf = _pdf(source(n))
        doc = pdfium.PdfDocument(pdf)
        if len(doc) == 2 and doc[1].get_textpage().get_text_range().count("UO") == 1:
            break
    else:
        pytest.fail("no table leaves exactly one row on page 2")
    model = read_pdf("bpu.pdf", pdf, "x")
    (table,) = [b for b in model.blocks if b.kind == "table"]
    assert [row[0].text for row in table.rows] == ["Code"] + [f"UO{i}" for i in range(1, n + 1)]
    assert table.rows[-1][0].loc.page == 2
    assert [b.text for b in model.blocks if b.loc.page == 2 and b.kind != "table"] == ["Fin."]
    # a table ending its page does not take the numbered heading opening the next one
    after = source(n - 1).replace(
        "Fin.",
        "#pagebreak()\n#grid(columns: (auto, 1fr), "
        "column-gutter: 2em, [5.1], [Durée du marché])\n" + PROSE,
    )
    model = read_pdf("bpu.pdf", _pdf(after), "x")
    assert [b.kind for b in model.blocks if b.loc.page == 2][:2] == ["heading", "paragraph"]
    after = after.replace("[5.1], [Durée du marché]", "[Art. 5], [Durée du marché]")
    model = read_pdf("bpu.pdf", _pdf(after), "x")
    assert [b.kind for b in model.blocks if b.loc.page == 2][:2] == ["heading", "paragraph"]


def test_numbers_increasing_in_the_last_column_do_not_make_a_table_of_contents() -> None:
    src = f"""{PROSE}

#table(columns: 4, stroke: none,
  [Type], [2023], [2024], [2025],
  [Bloquantes], [0], [5], [1],
  [Majeures], [11], [12], [8],
  [Mineures], [23], [16], [16],
)

{PROSE}
"""
    (table,) = _tables(_pdf(src))
    assert [r[3] for r in table] == ["2025", "1", "8", "16"]


@pytest.mark.parametrize("stroke", ["", "stroke: none,"])
def test_table_over_two_pages_is_one_block_without_its_repeated_header(stroke: str) -> None:
    src = f"""= Article 4 - Prix unitaires
{PROSE * 7}

#table(columns: (auto, 1fr, auto), {stroke}
  table.header([Code], [Désignation], [Prix]),
  ..range(1, 31).map(i => ([UO#i], [Unité d'œuvre numéro #i], [#(i * 10) €])).flatten()
)

{PROSE}
"""
    model = read_pdf("bpu.pdf", _pdf(src), "x")
    assert model.pages == 2
    (table,) = [b for b in model.blocks if b.kind == "table"]
    texts = [[c.text for c in row] for row in table.rows]
    assert texts[0] == ["Code", "Désignation", "Prix"]
    assert [r[0] for r in texts[1:]] == [f"UO{i}" for i in range(1, 31)]
    # every row keeps the page it is printed on
    assert {row[0].loc.page for row in table.rows} == {1, 2}
    assert table.text.count("Désignation") == 1


def test_page_header_and_footer_against_a_table_are_not_rows() -> None:
    furniture = (
        "#set page(margin: (y: 1.2cm), footer-descent: 10%, header-ascent: 10%)\n"
        "#set page(header: grid(columns: (1fr, auto), [Cahier des clauses], "
        "[Procédure 25TIC06]), footer: context grid(columns: (1fr, auto), [CCAP], "
        "[Page #counter(page).display()]))\n"
    )
    pages = [
        f"""Article {n}. {PROSE * (i + 1)}

#v(1fr)
#table(columns: (1fr, auto, auto), stroke: none,
  [Désignation], [Quantité], [Prix],
  [Poste de travail], [120], [800 €],
  [{device}], [240], [150 €],
  [Clavier {n}], [{i}], [20 €],
)
#pagebreak()"""
        for i, (n, device) in enumerate(
            [("premier", "Écran"), ("deux", "Souris"), ("trois", "Tablette")]
        )
    ]
    tables = _tables(_pdf(furniture + "\n".join(pages)))
    assert len(tables) == 3
    for table in tables:
        assert table[0][0] == "Désignation" and len(table) == 4
        assert not any("CCAP" in c or "Page" in c for r in table for c in r)


def test_prose_tables_of_contents_lists_and_columns_are_not_tables() -> None:
    heads = "\n".join(f"= Article {i} - Titre numéro {i}\n{PROSE * 3}" for i in range(1, 7))
    bullets = ", ".join(f"[•], [Point numéro {i} de la liste]" for i in range(1, 5))
    numbered = ", ".join(f"[{i}.], [Élément numéroté {i}]" for i in range(1, 5))
    sources = {
        "justified prose, dotted contents": f"#outline()\n{heads}",
        "contents without leaders": f"#set outline.entry(fill: none)\n#outline()\n{heads}",
        "lists set in columns": (
            f"{PROSE}\n#grid(columns: (auto, 1fr), column-gutter: 14pt, row-gutter: 6pt, "
            f"{bullets})\n#grid(columns: (auto, 1fr), column-gutter: 14pt, row-gutter: 6pt, "
            f"{numbered})\n{PROSE}"
        ),
        "a form of check boxes": (
            f"{PROSE}\n#grid(columns: 3, column-gutter: 24pt, row-gutter: 8pt, "
            "[Marché réservé :], [☐ oui], [☐ non], [Variantes :], [☐ oui], [☐ non], "
            f"[Reconduction :], [☐ oui], [☐ non])\n{PROSE}"
        ),
        "two columns, header and footer": (
            "#set page(columns: 2, header: grid(columns: (1fr, auto), [Cahier des clauses], "
            "[Procédure 25TIC06]), footer: context grid(columns: (1fr, auto), [CCAP], "
            "[Page #counter(page).display()]))\n" + heads
        ),
    }
    for name, src in sources.items():
        assert _tables(_pdf(src)) == [], name


@pytest.mark.skipif(not VSGP_CCAP.is_file(), reason="cas réels absents (../shared/cases/real)")
def test_real_ccap_tables_without_rules() -> None:
    model = read_pdf(VSGP_CCAP.name, VSGP_CCAP.read_bytes(), "x")
    tables = {
        (b.loc.page, b.rows[0][0].text): [[c.text for c in r] for r in b.rows]
        for b in model.blocks
        if b.kind == "table"
    }
    # the penalty tiers of pages 22 and 23: shaded header cells, no vertical rules
    tiers = tables[(22, "Criticité")]
    assert tiers[0] == ["Criticité", "Palier 1 (≤ 10%)", "Palier 2 (≤ 20%)", "Palier 3 (> 20%)"]
    assert tiers[1:] == [
        ["P1", "50 €", "100 €", "150 €"],
        ["P2", "100 €", "200 €", "300 €"],
        ["P3", "150 €", "300 €", "450 €"],
    ]
    assert tables[(23, "Mois consécutifs")][1:] == [["1", "1"], ["2", "1,5"], ["3 et plus", "2"]]
    assert tables[(23, "Criticité")][1][4:] == ["×1", "×1,5", "×2"]
    # the bulleted example between them stays a list
    assert any(b.kind == "list_item" and "Mois 2 : Coefficient" in b.text for b in model.blocks)
    # the penalties table of page 21 goes on at the top of page 22: one table
    penalties = tables[(21, "Désignation des pénalités")]
    assert any("test du PRA" in r[0] for r in penalties)


@pytest.mark.skipif(not AMF_CCTP.is_file(), reason="cas réels absents (../shared/cases/real)")
def test_real_cctp_table_over_three_pages_keeps_one_header() -> None:
    model = read_pdf(AMF_CCTP.name, AMF_CCTP.read_bytes(), "x")
    rules = next(b for b in model.blocks if b.kind == "table" and b.loc.page == 6)
    texts = [[c.text for c in r] for r in rules.rows]
    assert texts[0] == ["TYPE", "", "INTITULE", "REGLES"]
    # the header repeated at the top of pages 7 and 8 is dropped (page 7 also restates
    # it mid-page, as its source does: that row stays)
    firsts = {}
    for row, text in zip(rules.rows, texts, strict=True):
        page = next(c.loc.page for c in row if c.text)
        firsts.setdefault(page, text)
    assert set(firsts) == {6, 7, 8}
    assert firsts[7] != texts[0] and firsts[8] != texts[0]
    codes = [r[1] for r in texts if r[1]]
    assert codes[0] == "G1" and "D4" in codes and "A1" in codes
