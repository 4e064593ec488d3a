"""The drafting checks' line prefilter (tasks/check/drafting_findings.py, _line_flags)
searches a pattern only where a literal it needs is present: it must flag exactly the
lines that the patterns themselves match, on the example dossiers, the real Markdown
cases and lines written to hit each pattern in every case."""

from __future__ import annotations

from pathlib import Path

import pytest

import tasks.check.drafting_findings as df
from tasks.clausier.library import load_clausier
from tasks.dossier.normalize import fold

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "cases" / "real"

CRAFTED = [
    "[préciser le lieu de livraison]",
    "[ A COMPLÉTER par le candidat ]",
    "Le taux est de XX %.",
    "un délai de Xx jours",
    "remise de X% sur le BPU",
    "Erreur ! Signet non défini.",
    "ERREUR ! SOURCE DU RENVOI INTROUVABLE.",
    "Error! Reference source not found.",
    "OPTION 2 : reprise des matériels",
    "  - option 1 : location",
    "Le CCAG-TIC s'applique.",
    "selon le CCAG Fournitures Courantes",
    "conformément à l'ARTICLE 12.3 du présent CCAP",
    "voir l'article 4.2 du CCTP",
    "Articles 3 et 4",
]


def _raw(text: str, pattern) -> int:
    folded = fold(text)
    return (
        (df._F_PLACEHOLDER if df._PLACEHOLDER.search(text) else 0)
        | (df._F_BOOKMARK if df._BOOKMARK.search(text) else 0)
        | (df._F_OPTION if df._OPTION_ANYWHERE.search(text) else 0)
        | (df._F_CCAG if pattern.search(folded) else 0)
        | (df._F_SELF if df._SELF_REF.search(folded) else 0)
        | (df._F_OTHER if df._OTHER_REF.search(folded) else 0)
    )


def _lines() -> list[str]:
    files = sorted((ROOT / "tenders").glob("*/pieces/*.md"))
    if REAL.is_dir():
        files += sorted(REAL.glob("*/*.md"))
    lines = {line for f in files for line in f.read_text(encoding="utf-8").splitlines()}
    return sorted(lines) + CRAFTED


def test_prefilter_flags_what_the_patterns_match() -> None:
    pattern = df._ccag_cited(load_clausier(None).law.ccag_cited_pattern())
    lines = _lines()
    # the examples alone, and the real cases when ../shared is there
    assert len(lines) > (1000 if REAL.is_dir() else 500)
    differ = [t for t in lines if df._line_flags(t, fold(t), pattern) != _raw(t, pattern)]
    assert differ == []
    # each pattern is really exercised
    flags = 0
    for t in CRAFTED:
        flags |= df._line_flags(t, fold(t), pattern)
    assert flags == 0b111111


@pytest.mark.parametrize("text", CRAFTED)
def test_crafted_line_is_flagged(text: str) -> None:
    pattern = df._ccag_cited(load_clausier(None).law.ccag_cited_pattern())
    assert df._line_flags(text, fold(text), pattern) != 0
