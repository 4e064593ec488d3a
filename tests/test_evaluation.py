"""Bid evaluation on the laptops example (tenders/2026-CD33-PC-001/evaluation/).

Four offers: A (cheapest new-only offer), B (refurbished, best environmental score),
C (best technical value), D (abnormally low, poor quality). With the RC's weights B wins;
without the environmental criterion (20 %), A would have won: the responsible criterion
changed the outcome. Every bad input gives a French message naming the offer, the
criterion, the file and the line (exit code 2 from the CLI).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from tasks.award.evaluation import (
    evaluate,
    evaluation_template,
    parse_evaluation,
    read_evaluation,
    siret_ok,
    to_csv,
)
from tasks.dossier.model import Tender
from tasks.dossier.yamlio import validate_yaml
from tasks.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DOSSIER = ROOT / "tenders" / "2026-CD33-PC-001"
EVAL = DOSSIER / "evaluation" / "evaluation.yaml"

pytestmark = pytest.mark.skipif(not EVAL.is_file(), reason="dossier d'exemple absent")


@pytest.fixture(scope="module")
def tender() -> Tender:
    return validate_yaml(Tender, (DOSSIER / "tender.yaml").read_bytes(), "tender.yaml")


@pytest.fixture(scope="module")
def text() -> str:
    return EVAL.read_text(encoding="utf-8")


def _line(text: str, marker: str) -> int:
    hits = [i for i, ln in enumerate(text.splitlines(), 1) if marker in ln]
    assert len(hits) == 1, marker
    return hits[0]


def test_example_ranking_and_responsible_criteria_change_the_winner(tender: Tender):
    _, ev, _ = read_evaluation(DOSSIER)
    result = evaluate(ev, tender)
    (lot,) = result.lots
    by_id = {o.id: o for o in lot.offres}
    # price: 50 × Pmin / P with Pmin = 168 000 (D); A's price is the sum of its DQE lines
    assert by_id["A"].prix == 240_000
    assert by_id["A"].points["1"] == pytest.approx(35.0)
    assert by_id["B"].points["1"] == pytest.approx(50 * 168_000 / 262_000, abs=1e-4)
    # qualitative: 15 × 4/4 for C on 2.1, 14 × 4/4 for B on 3.1
    assert by_id["C"].points["2.1"] == 15
    assert by_id["B"].pointsCriteres["3"] == 20
    assert [o.id for o in lot.offres] == ["B", "C", "A", "D"]
    assert [o.rang for o in lot.offres] == [1, 2, 3, 4]
    assert by_id["B"].total == pytest.approx(74.5611, abs=1e-3)
    assert lot.laureat == "B"
    # sensitivity: without the environmental criterion (weights × 100/80) A wins
    assert lot.poidsResponsables == 20
    assert lot.laureatSansResponsables == "A"
    assert lot.criteresResponsablesDecisifs is True
    assert by_id["A"].totalSansResponsables == pytest.approx(57.5 / 0.8, abs=0.01)
    # smallest change: 7.37 points moved from the environmental criterion to technical value
    shift = lot.plusPetitChangement
    assert (shift.de, shift.vers, shift.offre) == ("3", "2", "C")
    assert shift.points == pytest.approx(7.37, abs=0.01)

    # … and at that transfer C indeed ties B
    def total(o, d):
        return (
            o.pointsCriteres["1"]
            + o.pointsCriteres["2"] * (30 + d) / 30
            + o.pointsCriteres["3"] * (20 - d) / 20
        )

    assert total(by_id["C"], shift.points) == pytest.approx(
        total(by_id["B"], shift.points), abs=0.02
    )
    assert total(by_id["C"], shift.points + 0.1) > total(by_id["B"], shift.points + 0.1)
    # abnormally low offer flagged, not rejected
    assert by_id["D"].anormalementBasse and by_id["D"].rang == 4
    (alert,) = result.alertes
    assert (
        alert.offre == "D" and "R2152-3" in alert.message and "n'est pas un rejet" in alert.message
    )


def _eval(tender: Tender, text: str):
    ev = parse_evaluation(text, "evaluation.yaml", tender)
    return evaluate(ev, tender).lots[0]


def test_price_formulas(tender: Tender, text: str):
    lot = _eval(tender, text.replace("formule: pmin_sur_p", "formule: ecart_relatif"))
    a = next(o for o in lot.offres if o.id == "A")
    assert a.points["1"] == pytest.approx(50 * (1 - (240_000 - 168_000) / 168_000), abs=1e-3)
    lot = _eval(tender, text.replace("formule: pmin_sur_p", "formule: min_max"))
    pts = {o.id: o.points["1"] for o in lot.offres}
    assert pts["D"] == 50 and pts["C"] == 0
    assert pts["A"] == pytest.approx(50 * (275_000 - 240_000) / (275_000 - 168_000), abs=1e-3)


def test_tie_broken_by_the_rc_rule_or_reported(tender: Tender, text: str):
    # C gets B's price and scores 3.1 = 4, 3.2 = 1.5: technical value 26.25 (B: 22.5),
    # environmental performance 16.25 (B: 20), same total as B (74.56): B first by the
    # RC's tie rule (best environmental score, departage: ["3"]).
    t = text.replace("prix: 275000", "prix: 262000")
    t = t.replace(
        '"3.1": {note: 3, evaluateur: Claire Lestage, justification: "Indice',
        '"3.1": {note: 4, evaluateur: Claire Lestage, justification: "Indice',
    )
    t = t.replace(
        '"3.2": {note: 3, evaluateur: Claire Lestage, justification: "Emballages réduits',
        '"3.2": {note: 1.5, evaluateur: Claire Lestage, justification: "Emballages réduits',
    )
    lot = _eval(tender, t)
    b, c = (next(o for o in lot.offres if o.id == x) for x in "BC")
    assert round(b.total, 2) == round(c.total, 2)
    assert (b.rang, c.rang, lot.laureat) == (1, 2, "B")
    # without a tie rule: both first, no winner, an alert
    ev = parse_evaluation(t.replace('departage: ["3"]', "departage: []"), "e.yaml", tender)
    res = evaluate(ev, tender)
    assert res.lots[0].laureat is None and res.lots[0].exAequo == [["B", "C"]]
    assert any(a.regle == "ex-aequo" for a in res.alertes)


BAD = [
    # (old, new, marker of the line expected, message fragments)
    (
        '"2.1": {poids: 15}',
        '"2.1": {poids: 12}',
        '"2.1": {poids: 12}',
        ["critère « 2.1 »", "12\u00a0%", "15\u00a0%", "R2152-7"],
    ),
    (
        '      "3.1": {note: 1, evaluateur: Claire Lestage, justification: "Modèles neufs d\'indice de réparabilité 6,1/10 ; reconditionné limité à une ligne, sans certificat d\'effacement."}\n',
        "",
        '    notes:\n      "2.1": {note: 3, evaluateur: Thomas Ribeiro, justification: "Configurations conformes, autonomie mesurée de 9',
        ["offre « A »", "note manquante", "3.1"],
    ),
    (
        '"2.1": {note: 3, evaluateur: Thomas Ribeiro, justification: "Configurations conformes, autonomie mesurée de 8',
        '"2.1": {note: 5, evaluateur: Thomas Ribeiro, justification: "Configurations conformes, autonomie mesurée de 8',
        "autonomie mesurée de 8",
        ["offre « B »", "critère « 2.1 »", "hors de l'échelle 0 à 4"],
    ),
    (
        'justification: "Configurations conformes, autonomie mesurée de 8 h 30, batteries des reconditionnés testées > 85 %."',
        'justification: "ok"',
        'justification: "ok"',
        ["offre « B »", "critère « 2.1 »", "justification"],
    ),
    (
        'justification: "Configurations conformes, autonomie mesurée de 8 h 30, batteries des reconditionnés testées > 85 %."',
        "evaluateur2: x",
        "evaluateur2",
        ["offre « B »", "critère « 2.1 »"],
    ),
    (
        'siret: "79000111200032"',
        'siret: "81234567800021"',
        'siret: "81234567800021"\n    prix: 168000',
        ["offre « D »", "soumissionnaire en double", "variante"],
    ),
    (
        'siret: "79000111200032"',
        'siret: "79000111200033"',
        '"79000111200033"',
        ["offre « D »", "clé de contrôle"],
    ),
    (
        'siret: "79000111200032"',
        'siret: "7900011120003"',
        '"7900011120003"',
        ["offre « D »", "14 chiffres"],
    ),
    (
        "prix: 262000",
        "prix: -262000",
        "prix: -262000",
        ["offre « B »", "strictement supérieur à 0"],
    ),
    ("prix: 262000", "prix: 0", "prix: 0", ["offre « B »", "strictement supérieur à 0"]),
    (
        "prix: 262000",
        "prix: 262 000,50 €",
        "prix: 262 000,50",
        ["offre « B »", "à la française", "262000.50"],
    ),
    (
        "prix: 262000",
        "prix: environ deux cent mille",
        "prix: environ",
        ["offre « B »", "n'est pas un montant"],
    ),
    (
        "prix: 262000",
        "prix: 262000\n    lot: 2",
        "lot: 2",
        ["offre « B »", "lot 2 inconnu", "non alloti"],
    ),
    ("prix: 275000", "prix: 275000\n    notes2: {}", "notes2", ["offre « C »", "champ inconnu"]),
    (
        "prix: 262000",
        "prix: 262000\n    ecartee: null\n    lignes: [{designation: PC, quantite: 100, prixUnitaire: 2000}]",
        "prix: 262000",
        ["offre « B »", "BPU/DQE", "200\u202f000,00"],
    ),
    ('  "2.3": {poids: 5}\n', "", "criteres:", ["critère 2.3", "n'a pas de méthode"]),
    (
        '"1": {nom: Prix, poids: 50, formule: pmin_sur_p}',
        '"1": {nom: Prix, poids: 50}',
        '"1": {nom: Prix',
        ["formule"],
    ),
]


@pytest.mark.parametrize("old,new,marker,fragments", BAD, ids=[f"bad-{i}" for i in range(len(BAD))])
def test_bad_input_french_message_with_line(tender: Tender, text: str, old, new, marker, fragments):
    assert old in text
    bad = text.replace(old, new, 1)
    assert bad.count(marker) == 1, marker
    marker_line = bad[: bad.index(marker)].count("\n") + 1
    with pytest.raises(InputError) as err:
        parse_evaluation(bad, "tenders/x/evaluation/evaluation.yaml", tender)
    e = err.value
    assert e.file == "tenders/x/evaluation/evaluation.yaml"
    for frag in fragments:
        assert frag in e.message, (frag, e.message)
    assert e.line is not None and abs(e.line - marker_line) <= 1, (e.line, marker_line, e.message)


def test_siret_check_key():
    assert siret_ok("22330004700014")  # Département de la Gironde (tender.yaml)
    assert not siret_ok("22330004700015")
    assert siret_ok("35600000000001")  # La Poste: sum of digits multiple of 5
    assert not siret_ok("1234567890123")


def test_cli_evaluate_and_bad_weights_exit_2(tmp_path: Path, text: str):
    import shutil

    from typer.testing import CliRunner

    from cahier.cli import app

    runner = CliRunner()
    d = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(DOSSIER, d, ignore=shutil.ignore_patterns("archive"))
    res = runner.invoke(app, ["evaluate", str(d), "-f", "csv"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[1].startswith("1;1;B;")
    res = runner.invoke(app, ["evaluate", str(d), "-f", "csv", "-o", str(tmp_path / "a.csv")])
    assert res.exit_code == 0 and (tmp_path / "a.csv").read_bytes().startswith(codecs.BOM_UTF8)
    res = runner.invoke(app, ["evaluate", str(d)])
    assert res.exit_code == 0 and "l'offre A serait classée première" in " ".join(
        res.stdout.split()
    )
    (d / "evaluation" / "evaluation.yaml").write_text(
        text.replace('"3.1": {poids: 14}', '"3.1": {poids: 10}'), encoding="utf-8"
    )
    res = runner.invoke(app, ["evaluate", str(d)])
    assert res.exit_code == 2
    line = _line(text, '"3.1": {poids: 14}')
    assert re.search(
        rf"evaluation\.yaml:{line} : critère « 3\.1 » : pondération 10\u00a0%", res.stderr
    ), res.stderr


def test_csv_for_french_excel_and_canonical_json(tender: Tender, text: str):
    result = evaluate(parse_evaluation(text, "evaluation.yaml", tender), tender)
    data = to_csv(result).encode("utf-8")
    assert data.startswith(codecs.BOM_UTF8)  # UTF-8 with BOM: Excel reads the accents
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    header, b = rows[0], rows[1]
    assert header[:7] == [
        "lot",
        "rang",
        "offre",
        "soumissionnaire",
        "siret",
        "variante",
        "prix_eur_ht",
    ]
    assert header[7:13] == [
        "1 Prix (50 %)",
        "2.1 Caractéristiques techniques et ergonomie des configurations (15 %)",
        "2.2 Garantie, maintenance et service après-vente (10 %)",
        "2.3 Organisation de la préparation et des livraisons (5 %)",
        "3.1 Cycle de vie des matériels (réparabilité, durabilité, reconditionné, contenu "
        "recyclé) (14 %)",
        "3.2 Modalités d'exécution (emballages, livraisons, reprise) (6 %)",
    ]
    assert len(b) == len(header)
    bidder = ["1", "1", "B", "Reconditionnement Aquitaine SCOP", "81234567800021", "non"]
    assert b[:7] == [*bidder, "262000,00"]
    assert b[header.index("total")] == "74,56"  # decimal comma, no thousands separator
    assert b[header.index("1 Prix (50 %)")] == "32,06"
    assert rows[2][header.index("prix_eur_ht")] == "275000,00"
    assert not any(re.fullmatch(r"\d+\.\d+", cell) for row in rows for cell in row)
    # JSON stays canonical: numbers with a decimal point
    doc = json.loads(result.model_dump_json())
    assert doc["lots"][0]["offres"][0]["total"] == pytest.approx(74.5611, abs=1e-3)
    assert re.search(r'"total":74\.56', result.model_dump_json())


def test_csv_text_cells_are_never_formulas(tender: Tender, text: str):
    evil = text.replace("Discount PC Distribution SAS", '"=HYPERLINK(\\"http://x\\")"')
    result = evaluate(parse_evaluation(evil, "evaluation.yaml", tender), tender)
    rows = list(csv.reader(io.StringIO(to_csv(result, bom=False)), delimiter=";"))
    (d,) = [r for r in rows if r[2] == "D"]
    assert d[3] == '\'=HYPERLINK("http://x")'


def test_missing_evaluation_explains_itself(tmp_path: Path):
    d = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(DOSSIER, d, ignore=shutil.ignore_patterns("archive", "evaluation"))
    with pytest.raises(InputError) as exc:
        read_evaluation(d)
    msg = exc.value.render()
    assert "docs/" not in msg  # an installed package has no docs folder
    assert "--modele" in msg and "tender.yaml" in msg


def test_template_matches_the_rc_and_refuses_placeholders(tender: Tender, text: str):
    tpl = evaluation_template(tender)
    # criteria, weights and formulas taken from tender.yaml; comments explain the rest
    assert '"1": {nom: "Prix", poids: 50, formule: pmin_sur_p}' in tpl
    assert '"3.1": {nom: "Cycle de vie' in tpl and "pmin_sur_p     poids × Pmin / P" in tpl
    assert "R2181-1" in tpl and "262000.50" in tpl
    # left as is, the first placeholder is refused with its line
    with pytest.raises(InputError) as exc:
        parse_evaluation(tpl, "evaluation.yaml", tender)
    assert exc.value.line == _line(tpl, "  - nom: À COMPLÉTER")
    assert "À COMPLÉTER" in exc.value.render()
    # filled with the example's evaluators and offers, it is a valid evaluation
    head = tpl[: tpl.index("# Membres de la commission")]
    middle = tpl[tpl.index("# Échelle des notes") : tpl.index("# Une entrée par offre")]
    filled = (
        head
        + text[text.index("evaluateurs:") : text.index("echelle:")]
        + middle
        + text[text.index("offres:") :]
    )
    lot = evaluate(parse_evaluation(filled, "evaluation.yaml", tender), tender).lots[0]
    assert lot.laureat == "B"


def test_cli_modele_writes_the_template_and_never_overwrites(tmp_path: Path):
    from typer.testing import CliRunner

    from cahier.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["evaluate", "--help"])
    assert "--modele" in res.stdout
    d = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(DOSSIER, d, ignore=shutil.ignore_patterns("archive", "evaluation"))
    res = runner.invoke(app, ["evaluate", str(d)])
    assert res.exit_code == 2 and "--modele" in res.stderr and "docs/" not in res.stderr
    res = runner.invoke(app, ["evaluate", str(d), "--modele"])
    assert res.exit_code == 0, res.output
    target = d / "evaluation" / "evaluation.yaml"
    assert target.read_text(encoding="utf-8").startswith("# Analyse des offres")
    res = runner.invoke(app, ["evaluate", str(d)])
    assert res.exit_code == 2 and "À COMPLÉTER" in res.stderr
    assert re.search(r"evaluation\.yaml:\d+ : valeur « À COMPLÉTER »", res.stderr), res.stderr
    target.write_text("# mon travail\n", encoding="utf-8")
    res = runner.invoke(app, ["evaluate", str(d), "--modele"])
    assert res.exit_code == 2 and "jamais écrasé" in res.stderr
    assert target.read_text(encoding="utf-8") == "# mon travail\n"
    res = runner.invoke(app, ["evaluate", str(d), "--modele", "-o", str(tmp_path / "m.yaml")])
    assert res.exit_code == 0 and (tmp_path / "m.yaml").read_text("utf-8").count("À COMPLÉTER")
    assert sorted(p.name for p in target.parent.iterdir()) == ["evaluation.yaml"]


def test_checks_read_the_model_and_never_change_it(tender: Tender, text: str):
    """The rules over evaluation.yaml read an offer without ``lot`` (tender without lots)
    as lot 1 and leave the model as it was given (issue 16)."""
    from tasks.award.evaluation.rules import Ctx, cross_check

    ev = parse_evaluation(text, "evaluation.yaml", tender)
    assert {o.lot for o in ev.offres} == {None}
    before = ev.model_dump()
    cross_check(ev, tender, Ctx({}, None, "evaluation.yaml"))
    assert ev.model_dump() == before
    assert [lot.lot for lot in evaluate(ev, tender).lots] == [1]


def test_holder_must_be_a_retained_offer_of_its_lot(tender: Tender, text: str):
    """attribution.titulaires names an offer of that lot that was not eliminated, else
    the file is refused at the line of titulaires (never published in DECP)."""
    eliminated = (
        text.replace(
            "    prix: 168000\n",
            '    prix: 168000\n    ecartee: "offre anormalement basse, justifications rejetées"\n',
        )
        + "  titulaires: {1: [D]}\n"
    )
    with pytest.raises(InputError, match=r"offre « D » écartée .*ne peut pas être attribuée") as e:
        parse_evaluation(eliminated, "evaluation.yaml", tender)
    assert e.value.line == _line(eliminated, "titulaires: {1: [D]}")
    # two lots: C bid on lot 2 only, and is named holder of lot 1
    lotted = validate_yaml(
        Tender,
        (DOSSIER / "tender.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "categories:",
            "lots:\n  - {numero: 1, objet: Portables neufs, montant: 200000}\n"
            "  - {numero: 2, objet: Portables reconditionnés, montant: 100000}\ncategories:",
            1,
        ),
        "tender.yaml",
    )
    by_lot = text
    for siret, lot in (("44812345600015", 1), ("81234567800021", 1), ("53298765400011", 2)):
        by_lot = by_lot.replace(f'siret: "{siret}"\n', f'siret: "{siret}"\n    lot: {lot}\n')
    by_lot = by_lot.replace('siret: "79000111200032"\n', 'siret: "79000111200032"\n    lot: 2\n')
    parse_evaluation(by_lot + "  titulaires: {1: [A]}\n", "evaluation.yaml", lotted)
    with pytest.raises(InputError, match="offre « C » déposée sur le lot 2, pas sur le lot 1"):
        parse_evaluation(by_lot + "  titulaires: {1: [C]}\n", "evaluation.yaml", lotted)


def test_no_winner_says_why(tender: Tender, text: str):
    """Every offer eliminated is an unsuccessful procedure, not a tie."""
    all_out = re.sub(r'(\n    siret: "\d+"\n)', r'\1    ecartee: "offre irrégulière"\n', text)
    assert all_out.count("ecartee") == 4
    lot = _eval(tender, all_out)
    assert lot.laureat is None
    assert lot.why_no_winner() == "toutes les offres ont été écartées : procédure infructueuse"
    assert _eval(tender, text).why_no_winner() == "offres ex aequo non départagées"


def test_notification_before_the_analysis_is_refused(tender: Tender, text: str):
    early = text.replace("dateNotification: 2026-12-18", "dateNotification: 2026-09-01")
    with pytest.raises(InputError, match="antérieure au lancement de la consultation") as e:
        parse_evaluation(early, "evaluation.yaml", tender)
    assert e.value.line == _line(early, "dateNotification: 2026-09-01")
