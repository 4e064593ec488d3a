"""The recognition engine on small realistic pieces: acts, mentions, tolerance, ranking,
and « non vérifiable » when the reader cannot be trusted (tasks/clausier/recognition.py)."""

from __future__ import annotations

import io

import pytest

from tasks.check.checker import check_dossier
from tasks.clausier.library import load_clausier
from tasks.clausier.recognition import Recognizer
from tasks.dossier.model import FamilyStatus, Severity
from tasks.dossier.reader import read_dossier, read_piece

TENDER = """\
id: 2026-TEST-011
objet: Tierce maintenance applicative
codeCPV: "72267000"
procedure: "Appel d'offres ouvert"
dureeMois: 48
ccag: "Techniques de l'information et de la communication"
montant: 150000
acheteur: {id: "21330063500017", nom: "Commune de Test", type: collectivite}
categories: [services]
dateLancement: 2026-09-15
"""


@pytest.fixture(scope="module")
def lib():
    return load_clausier()


def found(lib, cid: str, *pieces: tuple[str, str, str]):
    """Hits of family ``cid`` in pieces given as (file name, kind, Markdown text)."""
    read = [read_piece(name, text.encode(), kind=kind) for name, kind, text in pieces]
    return Recognizer(lib.vocabulary).find(read, lib.get(cid).evidence)


def test_a_criterion_in_the_rc_is_not_an_execution_condition(lib):
    rc = (
        "rc.md",
        "rc",
        "# RC\n\n## Article 6 – Critères d'attribution\n\n"
        "- Prix : 60 %\n- Valeur technique : 30 %\n"
        "- Performance environnementale (réduction des emballages, bilan carbone de "
        "l'exécution) : 10 %\n",
    )
    assert found(lib, "ENV-CRIT-01", rc)
    assert not found(lib, "ENV-COND-01", rc)


def test_tolerates_inserted_words_gender_number_typo_abbreviation(lib):
    base = "# CCAP\n\n## Article 9 – Exécution\n\n{}\n"
    for text in (
        "Le titulaire respecte les conditions particulières d'exécution environnementales.",
        "Les prestataires respectent la condition d'exécution environnementale.",
        "Le titulaire respecte les clauses environnemantales du marché.",  # typo
        "Le titulaire respecte les clauses env. du marché.",  # abbreviation
    ):
        assert found(lib, "ENV-COND-01", ("ccap.md", "ccap", base.format(text))), text


def test_typos_are_only_unknown_words(lib):
    # « décret » is a word of its own, not a typo of « déchet »
    text = (
        "# CCAP\n\n## Article 8 – Prix\n\nConformément au décret du 20 janvier 2016, la "
        "facture devra comporter le calcul de révision ; le titulaire limite ses frais.\n"
    )
    assert not found(lib, "ENV-COND-01", ("ccap.md", "ccap", text))


@pytest.mark.parametrize(
    "text",
    [
        # table of contents
        "# CCAP\n\n5. Clauses environnementales ........................ 12\n",
        # list of applicable texts
        "# CCAP\n\n## Article 2 – Textes applicables\n\n- Loi n° 2021-1104 du 22 août "
        "2021 imposant des clauses environnementales aux titulaires\n",
        # a question of a sourcing questionnaire
        "# Questionnaire\n\n## Échanges\n\nQuelles clauses environnementales le titulaire "
        "peut-il respecter ?\n",
        # « sans objet »
        "# CCAP\n\n## Article 9 – Clauses environnementales\n\nSans objet.\n",
        # a mere possibility
        "# CCAP\n\n## Article 9 – Divers\n\nDes clauses environnementales pourront être "
        "ajoutées par avenant.\n",
        # a reminder of the law, the law as subject
        "# CCAP\n\n## Article 1 – Contexte\n\nLa loi Climat et Résilience imposera des "
        "clauses environnementales dans tous les marchés.\n",
    ],
    ids=["sommaire", "textes-applicables", "question", "sans-objet", "faculte", "rappel-loi"],
)
def test_mentions_are_not_clauses(lib, text):
    assert not found(lib, "ENV-COND-01", ("ccap.md", "ccap", text))


def test_empty_heading_is_not_a_clause(lib):
    text = "# CCAP\n\n## Article 7 – Clauses environnementales\n\n## Article 8 – Prix\n\nLes prix sont fermes.\n"
    assert not found(lib, "ENV-COND-01", ("ccap.md", "ccap", text))


def test_subcontractor_is_not_a_gdpr_processor(lib):
    text = (
        "# CCAP\n\n## Article 11 – Sous-traitance\n\nLe titulaire peut sous-traiter une "
        "partie des prestations ; il communique la liste de ses sous-traitants.\n"
    )
    assert not found(lib, "DATA-GDPR-01", ("ccap.md", "ccap", text))


def test_every_piece_is_searched_and_best_block_reported_with_heading(lib):
    ccap = (
        "ccap.md",
        "ccap",
        "# CCAP\n\n## Article 4 – Insertion professionnelle\n\n"
        "Le titulaire réalise une action d'insertion de 35 heures par tranche de 100 000 € "
        "HT au profit de personnes éloignées de l'emploi.\n\n"
        "## Article 12 – Pénalités\n\nLe non-respect de l'action d'insertion entraîne une "
        "pénalité de 50 € par heure non réalisée.\n",
    )
    notice = (
        "avis.md",
        "autre",
        "# Avis de marché\n\nConditions particulières d'exécution : le titulaire devra "
        "réaliser une action d'insertion professionnelle.\n",
    )
    hits = found(lib, "SOC-INSERT-01", notice, ccap)
    assert hits[0].piece.path == "ccap.md" and hits[0].expected
    assert "Article 4" in hits[0].piece.heading_of(hits[0].index)
    # the notice alone: found, but outside the expected piece
    only = found(lib, "SOC-INSERT-01", notice)
    assert only and not only[0].expected


def test_out_of_piece_finding(tmp_path):
    d = tmp_path / "d"
    (d / "pieces").mkdir(parents=True)
    (d / "tender.yaml").write_text(TENDER, encoding="utf-8")
    (d / "pieces" / "cctp.md").write_text(
        "# CCTP\n\n## Article 7 – Environnement\n\nLe titulaire remet chaque année un "
        "rapport environnemental sur l'énergie consommée par les moyens du marché.\n",
        encoding="utf-8",
    )
    report = check_dossier(read_dossier(d), load_clausier())
    fam = next(f for f in report.families if f.clause == "ENV-COND-01")
    assert fam.status == FamilyStatus.hand_written
    off = [
        f for f in report.findings if f.rule == "hors-piece-attendue" and f.clause == "ENV-COND-01"
    ]
    assert off and off[0].severity == Severity.info and off[0].location.file == "pieces/cctp.md"


def _unreliable_pdf() -> bytes:
    """A two-page CCAP whose second page's font has no /ToUnicode (text unreadable)."""
    typst = pytest.importorskip("typst")
    pikepdf = pytest.importorskip("pikepdf")
    src = (
        '#set text(lang: "fr")\n= Article 1 - Objet\nLe présent marché porte sur la '
        "maintenance applicative. Le titulaire remet un rapport mensuel d'activité.\n"
        '#pagebreak()\n#text(font: "New Computer Modern")[= Article 2 - Exécution\n'
        "Le titulaire s'engage à limiter les emballages et à remettre chaque année un "
        "rapport environnemental détaillé des actions réalisées pendant l'exécution.]\n"
    )
    doc = pikepdf.open(io.BytesIO(typst.compile(src.encode())))
    for page in doc.pages:
        for _name, font in page.Resources.Font.items():
            if "NewCM" in str(font.get("/BaseFont")):
                del font["/ToUnicode"]
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_unreliable_page_makes_family_unverifiable_and_blocks_assembly(tmp_path):
    d = tmp_path / "d"
    (d / "pieces").mkdir(parents=True)
    (d / "tender.yaml").write_text(TENDER, encoding="utf-8")
    (d / "pieces" / "ccap.pdf").write_bytes(_unreliable_pdf())
    dossier = read_dossier(d)
    report = check_dossier(dossier, load_clausier())
    fam = next(f for f in report.families if f.clause == "ENV-COND-01")
    assert fam.status == FamilyStatus.unverifiable  # never « absente »
    assert not any(
        f.rule == "clause-manquante" and f.clause == "ENV-COND-01" for f in report.findings
    )
    nv = [f for f in report.findings if f.rule == "clause-non-verifiable"]
    mine = next(f for f in nv if f.clause == "ENV-COND-01")
    assert mine.severity == Severity.error
    assert mine.location.file == "pieces/ccap.pdf" and mine.location.page == 2
    assert "non vérifiable" in mine.message
    # a recommended family is only a warning, yet it blocks assembly all the same
    rec = [f for f in nv if f.severity == Severity.warning]
    assert rec
    from tasks.publish.assemble import AssemblyRefused, gate

    with pytest.raises(AssemblyRefused) as exc:
        gate(dossier, load_clausier(), draft=False)
    reasons = "\n".join(exc.value.reasons)
    assert "clause-non-verifiable" in reasons
    assert rec[0].message in reasons


def test_library_text_in_a_clause_call_line_is_not_hand_written(lib):
    text = (
        "# CCAP\n\n## Article 7 – Déchets\n\n"
        '{{ clause("EOL-WEEE-01", delai_enlevement_jours=30) }}\n'
    )
    assert not found(lib, "ENV-COND-01", ("ccap.md", "ccap", text))


GUIDE_MD = """\
# Guide d'achat : postes de travail

<h2 id="reglementation">1. La réglementation existante</h2>

### Qualité écologique des produits

* Obligation d'achat de produits reconditionnés ou incorporant des matières recyclées
  dans une proportion annuelle minimale de 20 %.

<h2 id="echanges">2. Échanges préalables avec les opérateurs économiques</h2>

#### Préoccupations environnementales

Quelle part de plastique recyclé contiennent vos matériels ?
Par exemple : 30 % de plastique recyclé, label TCO Certified.

<h2 id="exemples">3. Des exemples de clauses</h2>

### A. Cahier des clauses administratives particulières (CCAP)

#### X.1 Clause de progrès

Le titulaire est invité à proposer toute innovation (offre en produits reconditionnés,
matériaux recyclés, etc.).

### B. Cahier des clauses techniques particulières (CCTP)

Les matériels respectent les exigences suivantes :
- Le contenu recyclé des matériels : au moins 30 % de plastique recyclé.
"""


def test_guide_cites_its_clause_not_the_law_the_sourcing_or_an_example(lib):
    """A clause bank: the law recalled, the supplier questionnaire and a family named
    between parentheses in another clause all mention recycled content; the block cited
    is the model clause of the part for the expected piece (the CCTP)."""
    hits = found(lib, "CIRC-REUSE-01", ("guide.md", "autre", GUIDE_MD))
    assert hits
    best = hits[0]
    assert best.piece.lines[best.index].text.startswith("- Le contenu recyclé")
    assert "CCTP" in best.piece.heading_of(best.index)
    # the HTML headings of the Markdown page are sections
    piece = read_piece("guide.md", GUIDE_MD.encode(), kind="autre")
    titles = [s.title for s in piece.sections]
    assert "La réglementation existante" in titles
    assert "Des exemples de clauses" in titles


def test_a_list_and_its_introduction_are_one_statement_whose_best_item_is_cited(lib):
    cctp = (
        "cctp.md",
        "cctp",
        "# CCTP\n\n## Article 5 – Conception responsable\n\n"
        "Les prestations prennent en compte la conception responsable des services "
        "numériques en cherchant à :\n\n"
        "- Réduire la consommation énergétique engendrée par la conception et "
        "l'utilisation des services numériques ;\n"
        "- Garantir le respect de la vie privée des personnes.\n\n"
        "Le titulaire remet un rapport annuel.\n",
    )
    hits = found(lib, "ECO-RGESN-01", cctp)
    lines = [ln.src_line for ln in hits[0].piece.lines]
    span = {lines[h.index]: (lines[h.start], lines[h.end]) for h in hits}
    # the introduction's statement runs over its items; an item's starts at the
    # introduction; the paragraph after the list is not part of it
    assert span[5] == (5, 8) and span[7] == (5, 7)
    # the statement cited is the best of those that share its start
    top = hits[0]
    assert top.score == max(h.score for h in hits if h.start == top.start)


@pytest.mark.parametrize("html", [False, True])
def test_a_table_row_takes_the_act_of_its_table_head(lib, html):
    def rc(head: tuple[str, str]) -> tuple[str, str, str]:
        rows = [("Prix", "60 %"), ("Valeur technique", "30 %"), ("Performance sociale", "10 %")]
        if html:
            cells = "\n".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in rows)
            table = (
                f"<table>\n<thead>\n<tr><th>{head[0]}</th><th>{head[1]}</th></tr>\n</thead>\n"
                f"<tbody>\n{cells}\n</tbody>\n</table>"
            )
        else:
            cells = "\n".join(f"| {a} | {b} |" for a, b in rows)
            table = f"| {head[0]} | {head[1]} |\n|---|---|\n{cells}"
        return ("rc.md", "rc", f"# RC\n\n## Article 6 – Classement\n\n{table}\n")

    hits = found(lib, "SOC-CRIT-01", rc(("Critère", "Pondération")))
    assert hits
    assert "Performance sociale" in hits[0].piece.lines[hits[0].index].text
    # the same row under a head that names no criterion is not an award criterion
    assert not found(lib, "SOC-CRIT-01", rc(("Poste", "Part du budget")))


@pytest.mark.parametrize(
    ("cid", "piece", "text"),
    [
        ("ENV-COND-01", "ccap", "Le titulaire n'est soumis à aucune obligation environnementale."),
        ("EOL-WEEE-01", "ccap", "Le titulaire n'est pas tenu de reprendre les DEEE du parc."),
        ("SOC-RESERVED-01", "rc", "La présente consultation n'est pas réservée."),
        ("DUR-SPARES-01", "cctp", "La fourniture de pièces détachées n'est pas exigée."),
        ("DATA-REV-01", "ccap", "Aucune prestation de réversibilité n'est demandée."),
        ("ACC-RGAA-01", "cctp", "Aucun audit de conformité RGAA n'est requis du titulaire."),
        ("LABEL-01", "cctp", "Il n'est exigé ni écolabel ni label TCO Certified."),
    ],
    ids=[
        "soumis-aucun",
        "pas-tenu",
        "pas-reserve",
        "pas-exige",
        "aucun-demande",
        "aucun-requis",
        "ni",
    ],
)
def test_an_exemption_is_not_a_clause(lib, cid, piece, text):
    """A sentence that waives the family (« n'est pas tenu », « aucun … n'est demandé »)
    mentions it without stipulating it."""
    doc = f"# {piece.upper()}\n\n## Article 7 – Dispositions\n\n{text}\n"
    assert not found(lib, cid, (f"{piece}.md", piece, doc)), text


def test_a_limit_written_with_a_negation_stays_a_requirement(lib):
    """« ne doit pas dépasser le seuil exigé » is an obligation: the negation bears on
    « dépasser », not on what is required (exemption cues join adjacent words)."""
    text = (
        "# CCAP\n\n## Article 9 – Exécution\n\nLe titulaire respecte la clause "
        "environnementale : la consommation ne doit pas dépasser le seuil exigé.\n"
    )
    assert found(lib, "ENV-COND-01", ("ccap.md", "ccap", text))


def test_definitions_under_a_lexicon_heading_and_bidder_fields_are_mentions(lib):
    cctp = (
        "# CCTP\n\n## I.3 – Lexique\n\n- Réversibilité : opérations de restitution des "
        "données au terme du marché.\n"
    )
    ae = "# AE\n\n## Article 4 – Offre\n\n4. Décrivez votre plan de réversibilité : [PRÉCISER]\n"
    assert not found(lib, "DATA-REV-01", ("cctp.md", "cctp", cctp))
    assert not found(lib, "DATA-REV-01", ("ae.md", "ae", ae))


def test_cue_joins_are_checked():
    from tasks.clausier.lexicon import cue_problems

    assert cue_problems("pas+tenu") is None
    assert cue_problems("aucun~demandé") is None
    for bad in ("pas+ tenu", "+tenu", "pas+tenu~x", "pas++tenu", "aucun~"):
        assert cue_problems(bad), bad


@pytest.mark.parametrize(
    ("cid", "piece", "text"),
    [
        # a dotted acronym is one word
        (
            "EOL-WEEE-01",
            "ccap",
            "Les D.E.E.E. issus des matériels remplacés sont repris par le titulaire.",
        ),
        # a typo in a product name written in camel case is not split into words
        (
            "DATA-SOV-01",
            "cctp",
            "Le titulaire héberge les données sur une offre qualifiée SecNumClould.",
        ),
        # a typo in an inflected word (one edit from its written form, not from its lemma)
        ("CIRC-REUSE-01", "cctp", "Le titulaire fournit au moins un poste reconditonné par lot."),
        # a standard number written without its thousands space
        ("ACC-PROD-01", "cctp", "Les terminaux fournis sont conformes à la norme EN 301549."),
    ],
    ids=["acronyme-pointe", "nom-produit-faute", "faute-forme-flechie", "norme-sans-espace"],
)
def test_written_variants_of_a_statement_are_recognised(lib, cid, piece, text):
    doc = f"# {piece.upper()}\n\n## Article 5 – Exécution\n\n{text}\n"
    assert found(lib, cid, (f"{piece}.md", piece, doc)), text
