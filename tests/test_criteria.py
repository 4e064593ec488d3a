"""Award criteria read as written (tasks/check/criteria.py): tables, lists, prose, units,
relative sub-criteria, lots, and sets that do not add up (kept and reported)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.check.criteria import read_criteria
from tasks.clausier.criteria_vocab import load_criteria_vocab
from tasks.dossier.reader import read_piece


def crit(md: str, name: str = "rc.md"):
    return read_criteria([read_piece(name, md.encode())])


def weights(cs) -> list[tuple[str, float | None, list[float | None]]]:
    return [(c.nom, c.poids, [s.poids for s in c.sous]) for c in cs.criteres]


def test_markdown_table_with_numbered_sub_rows_and_total() -> None:
    sets = crit(
        "# 6 Jugement des offres\n\n| Critère | Pondération |\n|---|---|\n"
        "| 1. Prix | 40 % |\n| 2. Valeur technique | 45 % |\n| 2.1 Méthodologie | 25 % |\n"
        "| 2.2 Moyens humains | 20 % |\n| 3. Éco-conception du service | 15 % |\n"
        "| Total | 100 % |\n"
    )
    assert len(sets) == 1
    assert weights(sets[0]) == [
        ("Prix", 40, []),
        ("Valeur technique", 45, [25, 20]),
        ("Éco-conception du service", 15, []),
    ]
    assert [c.type for c in sets[0].criteres] == ["prix", "technique", "environnement"]
    assert not sets[0].problems


def test_relative_sub_weights_on_100_and_points() -> None:
    (cs,) = crit(
        "## 4. Critères d'attribution\n\n"
        "Critère n° 1 : Valeur technique (60 % de la note globale)\n\n"
        "Sous-critère 1.1 : Méthodologie : 50/100\n\n"
        "Sous-critère 1.2 : Moyens : 50/100\n\n"
        "Critère n° 2 : Prix (40 % de la note globale)\n"
    )
    assert weights(cs) == [("Valeur technique", 60, [30, 30]), ("Prix", 40, [])]
    assert cs.criteres[0].sous[0].unite.startswith("sur 100")
    (pts,) = crit(
        "## Critères de jugement des offres\n\n- Valeur technique : 60 points\n"
        "- Prix des prestations : 30 points\n- Délai de livraison : 10 points\n"
    )
    assert weights(pts) == [
        ("Valeur technique", 60, []),
        ("Prix des prestations", 30, []),
        ("Délai de livraison", 10, []),
    ]
    assert pts.criteres[2].type == "delai" and pts.criteres[0].unite == "points"


def test_coefficients_and_bare_ponderation_of_notices() -> None:
    (co,) = crit(
        "## Critères d'attribution\n\nPrix : coefficient 3\n\nValeur technique : coefficient 2\n"
    )
    assert weights(co) == [("Prix", 60, []), ("Valeur technique", 40, [])]
    (notice,) = crit(
        "II.2.5) Critères d'attribution\n\nCritère de qualité - Nom : Valeur technique / "
        "Pondération : 70\n\nPrix - Pondération : 30\n",
        name="avis.md",
    )
    assert [(c.nom, c.poids) for c in notice.criteres] == [("Valeur technique", 70), ("Prix", 30)]


def test_per_lot_criteria() -> None:
    sets = crit(
        "## Critères d'attribution\n\nLot 1 : postes de travail\n\n- Prix : 50 %\n"
        "- Valeur technique : 40 %\n- Performance environnementale : 10 %\n\n"
        "Lot 2 : imprimantes\n\n- Prix : 60 %\n- Coût du cycle de vie : 40 %\n"
    )
    assert [(s.lot, [c.poids for c in s.criteres]) for s in sets] == [
        (1, [50, 40, 10]),
        (2, [60, 40]),
    ]
    assert sets[1].criteres[1].type == "cout"


@pytest.mark.parametrize(
    ("rows", "total"),
    [
        (["Prix : 55 %", "Valeur technique : 40 %"], "95"),
        (["Prix : 90 %", "Technique : 60 %"], "150"),
    ],
)
def test_sets_not_summing_to_100_are_kept_and_reported(rows: list[str], total: str) -> None:
    (cs,) = crit("## Jugement des offres\n\n" + "\n".join(f"- {r}" for r in rows) + "\n")
    assert len(cs.criteres) == 2  # kept, never dropped
    (pb,) = cs.problems
    assert pb.rule == "ponderation-somme" and f"{total}\u00a0%" in pb.message
    assert pb.source is not None and pb.source.line == 3


def test_decimal_weight_missing_weight_and_placeholder() -> None:
    (cs,) = crit(
        "## Critères d'attribution\n\n| Critère | Pondération |\n|---|---|\n"
        "| Prix | 30,5 % |\n| Valeur technique | 69,5 % |\n"
    )
    assert [c.poids for c in cs.criteres] == [30.5, 69.5] and not cs.problems
    (model,) = crit(
        "## Critères d'attribution\n\n| Intitulé | Pondération |\n|---|---|\n"
        "| Prix | …% |\n| Performance environnementale | 10 % |\n"
    )
    assert model.criteres[0].poids is None and model.criteres[0].ecrit == "…%"
    assert any(p.rule == "critere-sans-poids" and "Prix" in p.message for p in model.problems)


def test_price_called_global_cost_is_price_and_ecodesign_is_environment() -> None:
    vocab = load_criteria_vocab()
    assert vocab.classify("Coût global", [], "montant total de la DPGF") == "prix"
    assert vocab.classify("Coût global", [], "consommation d'énergie et maintenance") == "cout"
    assert vocab.classify("Éco-conception") == "environnement"
    assert vocab.classify("Accessibilité numérique") == "accessibilite"


@pytest.mark.real
@pytest.mark.parametrize(
    ("case", "file", "expected"),
    [
        (
            "vsgp-infogerance-2025",
            "RC.pdf",
            [(60, [40, 20]), (30, [10, 10, 10]), (10, [5, 5])],
        ),
        ("amf-2022-011-sharepoint", "2022_011 RC.pdf", [(70, [35, 21, 14]), (30, [])]),
    ],
)
def test_real_rc_weights_exact(shared_real: Path, case: str, file: str, expected) -> None:
    path = shared_real / case / file
    (cs,) = read_criteria([read_piece(file, path.read_bytes())])
    assert [(c.poids, [round(s.poids, 2) for s in c.sous]) for c in cs.criteres] == expected
    assert not cs.problems
    assert all(c.source is not None and c.source.page for c in cs.flat())


@pytest.mark.real
def test_check_compares_rc_criteria_with_tender_yaml(real_dossier) -> None:
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    crits = [
        {"nom": "Prix", "poids": 50, "type": "prix"},
        {"nom": "Valeur technique", "poids": 40, "type": "technique"},
        {"nom": "Critère environnemental", "poids": 10, "type": "environnement"},
    ]
    dossier = real_dossier("vsgp-infogerance-2025", criteres=crits)
    report = check_dossier(read_dossier(dossier), load_clausier())
    found = [f for f in report.findings if f.rule == "ponderation-incoherente"]
    assert {(f.location.file, f.location.page) for f in found} == {
        ("pieces/RC.pdf", 7),
        ("pieces/RC.pdf", 8),
    }
    assert any("« Prix » pèse 50\u00a0%" in f.message and "60%" in f.message for f in found)


NOTICES = {
    # BOAMP (MAPA / formalised notice), list on one line
    "boamp-one-line": (
        "Critères d'attribution : offre économiquement la plus avantageuse appréciée en "
        "fonction des critères énoncés ci-dessous avec leur pondération. - Valeur technique : "
        "60 % - Prix : 40 %\n",
        [("Valeur technique", 60), ("Prix", 40)],
    ),
    # eForms (TED / BOAMP since 2023)
    "eforms": (
        "5.1.10. Critères d'attribution\n\nCritère :\n\nType : Qualité\n\nNom : Valeur technique\n\n"
        "Description : appréciée au vu du mémoire technique\n\n"
        "Catégorie du critère d'attribution seuil : Pondération (pourcentage, valeur exacte)\n\n"
        "Critère d'attribution — Nombre : 55\n\nCritère :\n\nType : Qualité\n\n"
        "Nom : Performance en matière de protection de l'environnement\n\n"
        "Catégorie du critère d'attribution seuil : Pondération (pourcentage, valeur exacte)\n\n"
        "Critère d'attribution — Nombre : 15\n\nCritère :\n\nType : Prix\n\nNom : Prix\n\n"
        "Catégorie du critère d'attribution seuil : Pondération (pourcentage, valeur exacte)\n\n"
        "Critère d'attribution — Nombre : 30\n",
        [
            ("Valeur technique", 55),
            ("Performance en matière de protection de l'environnement", 15),
            ("Prix", 30),
        ],
    ),
    # RC prose, relative sub-weights and a nested list without « dont »
    "rc-nested": (
        "## Article 8 - Jugement des offres\n\nLes offres sont jugées sur les critères suivants :\n\n"
        "- Valeur technique : 60 %\n  - Méthodologie : 30 %\n  - Moyens humains : 30 %\n"
        "- Prix : 30 %\n- Délai d'intervention : 10 %\n",
        [("Valeur technique", 60), ("Prix", 30), ("Délai d'intervention", 10)],
    ),
    "rc-points": (
        "## 7. Critères de jugement des offres\n\nPrix des prestations : noté sur 40 points\n\n"
        "Valeur technique : notée sur 50 points\n\nPerformances en matière d'insertion "
        "professionnelle : notées sur 10 points\n",
        [
            ("Prix des prestations", 40),
            ("Valeur technique", 50),
            ("Performances en matière d'insertion professionnelle", 10),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(NOTICES))
def test_notice_and_rc_formats(case: str) -> None:
    text, expected = NOTICES[case]
    sets = crit(text, name="avis.md" if "rc" not in case else "rc.md")
    assert sets, case
    got = [(c.nom, c.poids) for c in sets[0].criteres]
    assert got == expected
    if case == "rc-nested":
        assert [s.poids for s in sets[0].criteres[0].sous] == [30, 30]
    if case == "eforms":
        assert [c.type for c in sets[0].criteres] == ["technique", "environnement", "prix"]
    if case == "rc-points":
        assert sets[0].criteres[2].type == "social"


def test_sub_criteria_types_follow_the_vocabulary() -> None:
    """criteres.yaml ``subs_inherit``: under a price, « Délai de paiement » is price; under
    a technical criterion (which does not pass its type on) it is a delay; a sub-criterion
    whose name says nothing takes its parent's type."""
    vocab = load_criteria_vocab()
    assert vocab.sub_type("prix", "Délai de paiement") == "prix"
    assert vocab.sub_type("technique", "Délai d'intervention") == "delai"
    assert vocab.sub_type("technique", "Sous-critère n° 2") == "technique"
    assert vocab.types["prix"].subs_inherit and not vocab.types["technique"].subs_inherit
