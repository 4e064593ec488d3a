"""Normalisation of piece text: what a reader sees and what patterns match."""

from __future__ import annotations

import pytest

from tasks.dossier.normalize import fold, join_hyphenated, keeps_hyphen, normalize_text, split_glued


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # non-breaking, narrow non-breaking, thin and figure spaces
        ("Le\u00a0titulaire\u202f:\u2009100\u2007000\u00a0€", "Le titulaire : 100 000 €"),
        ("tab\tand\u3000ideographic", "tab and ideographic"),
        # apostrophes and quotes
        ("l’offre l‘acte lʼachat l´avis l`eau", "l'offre l'acte l'achat l'avis l'eau"),
        ("“clause” „sociale‟", '"clause" "sociale"'),
        # French guillemets kept, inner spaces collapsed
        ("«\u00a0\u00a0mieux-disant\u202f»", "« mieux-disant »"),
        # zero-width characters removed (the DQE has « Switch\u200bs »)
        ("Switch\u200bs\u200c\u200d\u2060\ufeff", "Switchs"),
        # soft hyphen joins the word
        ("éco\u00adconception", "écoconception"),
        # ligatures expanded, œ kept
        (
            "ﬁnancement efﬁcace ﬂux ﬀ ﬃ ﬄ ﬅ ﬆ œuvre",
            "financement efficace flux ff ffi ffl ft st œuvre",
        ),
        # decomposed accents recomposed (NFC)
        ("e\u0301tude re\u0301emploi", "étude réemploi"),
        # runs of spaces collapsed, stripped
        ("   trop    d'espaces   ", "trop d'espaces"),
        # control characters become spaces
        ("saut\x0bde\x0cligne", "saut de ligne"),
        # non-breaking hyphen and minus become hyphen-minus
        ("accord\u2011cadre \u22125 %", "accord-cadre -5 %"),
    ],
)
def test_normalize_text_rules(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Wingdings bullet from pdftotext (U+F0A7) at the start of a line
        ("\uf0a7 Lot unique : 35 H", "- Lot unique : 35 H"),
        ("    ▫ Lot unique : 35 H", "- Lot unique : 35 H"),
        ("• le cahier des clauses", "- le cahier des clauses"),
        ("◦ les audits", "- les audits"),
        ("➢ un extrait Kbis", "- un extrait Kbis"),
        ("✓ conforme", "- conforme"),
        ("❑ Oui", "- Oui"),
        ("· item", "- item"),
        # private-use check boxes between words vanish
        ("Oui \uf06f Non \uf0fe", "Oui Non"),
        ("texte ■ suite", "texte suite"),
        # a middle dot or an arrow inside a line is text (inclusive writing, arrows)
        ("salarié·e·s", "salarié·e·s"),
        ("étape 1 → étape 2", "étape 1 → étape 2"),
        # any private-use glyph, not only U+F0xx
        ("\ue001 symbole", "- symbole"),
    ],
)
def test_bullets(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_pdfium_hyphen_marker() -> None:
    # pdfium marks a hyphen at a line end with U+FFFE and joins the two lines
    assert normalize_text("Ce sous\ufffecritère sera jugé") == "Ce sous-critère sera jugé"
    assert normalize_text("à l'exception de ceux visés ci\ufffedessus") == (
        "à l'exception de ceux visés ci-dessus"
    )
    assert normalize_text("démarche d'éco\ufffeconception") == "démarche d'écoconception"
    assert normalize_text("accord\ufffe\r\ncadre") == "accord-cadre"


def test_glued_words() -> None:
    assert normalize_text("conditions du marchéLe titulaire") == "conditions du marché Le titulaire"
    assert split_glued("prestationsLes candidats") == "prestations Les candidats"
    # conservative: no split for these
    for word in ("McDonald", "iPhone", "CCAGTIC", "dumarché", "LibreOffice", "GitHub", "eBay"):
        assert split_glued(word) == word
    assert normalize_text("les logiciels LibreOffice et PowerPoint") == (
        "les logiciels LibreOffice et PowerPoint"
    )


def test_multiline_input() -> None:
    assert normalize_text("  a\u00a0b \n\n  • c  ") == "a b\n\n- c"
    assert normalize_text("") == ""


def test_fold() -> None:
    assert fold("Critère ENVIRONNEMENTAL") == "critere environnemental"
    assert (
        fold("MISE EN ŒUVRE des Œuvres, ex æquo, Æ") == "mise en oeuvre des oeuvres, ex aequo, ae"
    )
    assert fold("Éco-conception, réemploi, DÉCHETS, ça, où, naïf") == (
        "eco-conception, reemploi, dechets, ca, ou, naif"
    )
    assert fold("Straße") == "strasse"
    # typographic characters are folded too, so raw text folds like normalised text
    assert fold("l’offre\u00a0«\u202fverte\u202f»") == "l'offre « verte »"
    # rare characters go through unicodedata
    assert fold("Ǆ ǅ ḕ ẞ") == "dz dz e ss"
    assert fold("e\u0301") == "e"


def test_join_hyphenated() -> None:
    lines = [
        "personnes rencontrant des dif-",
        "ficultés sociales et professionnelles",
        "la démarche d'éco-",
        "conception du service",
        "sous la forme d'un procès-",
        "verbal de recette",
        "l'accord-",
        "cadre",
        "la région Ile-de-",
        "France, et la sous-",
        "traitance",
        "articles L.2124-",
        "2 et R.2161-2",
        "Vallée Sud -",
        "Grand Paris",
        "une session de sensibili-",
        "sation.",
    ]
    out = join_hyphenated(lines)
    assert len(out) == len(lines)  # same length: the map to source lines is kept
    assert out[0] == "personnes rencontrant des difficultés"
    assert out[1] == "sociales et professionnelles"
    assert out[2] == "la démarche d'écoconception"
    assert out[3] == "du service"
    assert out[4] == "sous la forme d'un procès-verbal"
    assert out[6] == "l'accord-cadre"
    assert out[7] == ""
    assert out[8] == "la région Ile-de-France,"
    assert out[9] == "et la sous-traitance"
    assert out[11] == "articles L.2124-"  # digits: not a word cut
    assert out[13] == "Vallée Sud -"  # a dash after a space is not a cut
    assert out[15] == "une session de sensibilisation."


def test_keeps_hyphen() -> None:
    assert keeps_hyphen("accord", "cadre")
    assert keeps_hyphen("ci", "dessous")
    assert keeps_hyphen("e", "mail")
    assert keeps_hyphen("Ile-de", "France")
    assert not keeps_hyphen("éco", "conception")
    assert not keeps_hyphen("ar", "ticle")
