"""Template lint (tasks/clausier/templates.py): French syntax errors on the right line, unsafe
constructs, unknown names and clauses — without Pandoc, cheap enough for ``cahier check``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tasks.clausier.library import load_clausier
from tasks.clausier.templates import lint_templates, syntax_message
from tasks.dossier.document import PieceText
from tasks.dossier.reader import read_dossier

ROOT = Path(__file__).resolve().parents[1]
CD33 = ROOT / "tenders" / "2026-CD33-PC-001"
ENGLISH = ("unexpected", "expected", "Jinja", "template", "undefined", "token")


@pytest.fixture(scope="module")
def lib():
    return load_clausier()


def piece(src: str, path: str = "pieces/ccap.md") -> PieceText:
    return PieceText(path, "ccap", "md", raw_source=src)


CCAP = """# Cahier des clauses administratives particulières

## Article 7 – Clauses environnementales

### 7.1 Condition d'exécution

{{ clause("ENV-COND-01", frequence_rapport_mois=12) }}

### 7.2 Programme d'achat

{{ clause("PROG-01", mois_rapport=3)

## Article 8 – Pénalités

Le titulaire s'expose aux pénalités de l'article 14 du CCAG-TIC.
"""


def test_unclosed_clause_call_points_at_its_line_in_french(lib):
    findings = lint_templates([piece(CCAP)], lib)
    assert len(findings) == 1
    f = findings[0]
    assert f.rule == "gabarit-invalide" and f.location.file == "pieces/ccap.md"
    assert f.location.line == 11  # the « {{ clause("PROG-01"… » line, not the « # » after it
    assert "« {{ » ouvert ligne 11 n'est jamais refermé par « }} »" in f.message
    assert not any(w in f.message for w in ENGLISH), f.message
    assert " at " not in f.message


@pytest.mark.parametrize(
    ("src", "line", "needle"),
    [
        ("# A\n\n{% if tender.donneesPersonnelles %}\nTexte.\n", 3, "« {% endif %} »"),
        ("# A\n\n{{ tender.objet }\n\nFin.\n", 3, "jamais refermé"),
        ('# A\n\n{{ clause("PROG-01" mois_rapport=3) }}\n', 3, "« , » attendu"),
        ("# A\n\n{% for c in tender.criteres %}\n{% endif %}\n", 4, "« {% endfor %} »"),
        ("# A\n\n{{ }}\n", 3, "expression attendue"),
        ("# A\n\n{## note de rédaction\n\nFin.\n", 3, "« ##} »"),
        ("# A\n\n{% endif %}\n", 3, "inconnue ou sans bloc ouvert"),
    ],
)
def test_syntax_errors_are_french_and_located(src, line, needle, lib):
    [f] = lint_templates([piece(src)], lib)
    assert f.rule == "gabarit-invalide"
    assert f.location.line == line, f.message
    assert needle in f.message and not any(w in f.message for w in ENGLISH), f.message


def test_lint_finds_unsafe_unknown_names_clauses_and_parameters(lib):
    pieces = [
        piece("# A\n\n{{ cycler.__init__.__globals__ }}\n", "pieces/rc.md"),
        piece(
            '# B\n\n{{ inconnue }}\n\n{{ clause("NOPE-01") }}\n\n'
            '{{ clause("ENV-COND-01", penalite_jour=-5) }}\n\n{{ tender.objet | majuscules }}\n'
            '\n{{ clause("PROG-01", mois_rapport=3, mois_rapport=4) }}\n',
            "pieces/ccap.md",
        ),
    ]
    found = [
        (f.location.file, f.location.line, f.rule, f.clause) for f in lint_templates(pieces, lib)
    ]
    assert ("pieces/rc.md", 3, "gabarit-non-sur", None) in found
    assert ("pieces/ccap.md", 3, "gabarit-invalide", None) in found  # inconnue
    assert ("pieces/ccap.md", 5, "gabarit-invalide", "NOPE-01") in found
    assert ("pieces/ccap.md", 7, "gabarit-invalide", "ENV-COND-01") in found  # below minimum
    assert ("pieces/ccap.md", 9, "gabarit-invalide", None) in found  # unknown filter
    assert ("pieces/ccap.md", 11, "gabarit-invalide", None) in found  # repeated parameter
    messages = " ".join(f.message for f in lint_templates(pieces, lib))
    assert "« inconnue »" in messages and "« majuscules »" in messages
    assert "répété" in messages


def test_what_assembly_provides_is_not_flagged(lib):
    src = (
        "# A {#titre}\n\n{## note ##}\n\n{% for c in tender.criteres %}"
        "{{ loop.index }}. {{ c.nom }}{% endfor %}\n\n{% set n = tender.id %}{{ n }}\n\n"
        '{{ clause("PROG-01", mois_rapport=3) }}\n'
    )
    assert lint_templates([piece(src)], lib) == []
    assert lint_templates([PieceText("pieces/ae.pdf", "ae", "pdf")], lib) == []


def test_example_dossier_lints_clean(lib):
    if not (CD33 / "tender.yaml").is_file():
        pytest.skip("dossier d'exemple 2026-CD33-PC-001 absent")
    assert lint_templates(read_dossier(CD33).pieces, lib) == []


def test_lint_agrees_with_assembly_on_the_line(lib):
    from tasks.publish.assemble import render_piece

    if not (CD33 / "tender.yaml").is_file():
        pytest.skip("dossier d'exemple 2026-CD33-PC-001 absent")
    tender = read_dossier(CD33).tender
    rendered, findings = render_piece(piece(CCAP), lib, tender)
    assert rendered is None
    assert [(f.location.line, f.message) for f in findings] == [
        (f.location.line, f.message) for f in lint_templates([piece(CCAP)], lib)
    ]


def test_syntax_message_keeps_jinja_line_when_nothing_is_open():
    from jinja2 import TemplateSyntaxError

    from tasks.clausier.templates import environment

    src = "a\nb\n{{ x y }}\n"
    with pytest.raises(TemplateSyntaxError) as exc:
        environment().parse(src)
    line, message = syntax_message(exc.value, src)
    assert line == 3 and message == "« }} » attendu, « y » trouvé."


def test_module_does_not_import_pandoc_or_typst():
    code = (
        "import sys, tasks.clausier.templates; "
        "print(sorted(m for m in ('pypandoc', 'typst', 'tasks.publish.assemble') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
