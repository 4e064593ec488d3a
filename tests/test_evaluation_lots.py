"""Lots judged on their own award criteria (issue 12: « lots carry their own criteria and
evaluation ranks per lot »).

The example dossier (laptops, one lot) becomes an allotted tender: lot 1 « Ordinateurs
portables » keeps the consultation's criteria (prix 50, valeur technique 30 in three
sub-criteria, performance environnementale 20 in two), lot 2 « Maintenance sur site » has
its own (prix 40, valeur technique 40 in two sub-criteria, délai d'intervention 20), as a
RC states « critères propres à chaque lot » (R2152-7 CCP).
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
import yaml

from tasks.award.evaluation import evaluate, evaluation_template, parse_evaluation, to_csv
from tasks.dossier.model import Tender
from tasks.dossier.yamlio import validate_yaml
from tasks.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DOSSIER = ROOT / "tenders" / "2026-CD33-PC-001"

pytestmark = pytest.mark.skipif(
    not (DOSSIER / "tender.yaml").is_file(), reason="dossier d'exemple absent"
)

LOT2_CRITERIA = [
    {"nom": "Prix", "poids": 40, "type": "prix"},
    {
        "nom": "Valeur technique",
        "poids": 40,
        "type": "technique",
        "sousCriteres": [
            {"nom": "Méthodologie d'intervention", "poids": 25, "type": "technique"},
            {"nom": "Qualification de l'équipe", "poids": 15, "type": "technique"},
        ],
    },
    {"nom": "Délai d'intervention", "poids": 20, "type": "delai"},
]


def _tender_yaml(lot2_criteria: list[dict] | None = None) -> str:
    data = yaml.safe_load((DOSSIER / "tender.yaml").read_text(encoding="utf-8"))
    data["lots"] = [
        {"numero": 1, "objet": "Ordinateurs portables neufs et reconditionnés", "montant": 240000},
        {
            "numero": 2,
            "objet": "Maintenance sur site des postes de travail",
            "montant": 60000,
            "criteres": LOT2_CRITERIA if lot2_criteria is None else lot2_criteria,
        },
    ]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="module")
def tender() -> Tender:
    return validate_yaml(Tender, _tender_yaml().encode(), "tender.yaml")


J = "justification"
EVALUATION = f"""\
tender: 2026-CD33-PC-001
dateAnalyse: 2026-11-12
evaluateurs:
  - nom: Sophie Dartigues
  - nom: Claire Lestage
criteres:
  "1": {{nom: Prix, poids: 50, formule: pmin_sur_p}}
  "2.1": {{poids: 15}}
  "2.2": {{poids: 10}}
  "2.3": {{poids: 5}}
  "3.1": {{poids: 14}}
  "3.2": {{poids: 6}}
lots:
  2:
    criteres:
      "1": {{nom: Prix, poids: 40, formule: pmin_sur_p}}
      "2.1": {{nom: Méthodologie d'intervention, poids: 25}}
      "2.2": {{poids: 15}}
      "3": {{nom: Délai d'intervention, poids: 20}}
    departage: ["3"]
offres:
  - id: A
    soumissionnaire: Bureautique Express SAS
    siret: "44812345600015"
    lot: 1
    prix: 200000
    notes:
      "2.1": {{note: 3, {J}: "Configurations conformes, autonomie de 9 h."}}
      "2.2": {{note: 3, {J}: "Garantie sur site de 3 ans, J+2 ouvrés."}}
      "2.3": {{note: 2, {J}: "Préparation en atelier sans engagement de délai."}}
      "3.1": {{note: 1, {J}: "Reconditionné limité à une ligne du BPU."}}
      "3.2": {{note: 1, evaluateur: Claire Lestage, {J}: "Reprise des matériels facturée."}}
  - id: B
    soumissionnaire: Reconditionnement Aquitaine SCOP
    siret: "81234567800021"
    lot: 1
    prix: 250000
    notes:
      "2.1": {{note: 4, {J}: "Meilleures configurations testées en prêt."}}
      "2.2": {{note: 3, {J}: "Garantie sur site de 3 ans y compris batterie."}}
      "2.3": {{note: 3, {J}: "Livraisons groupées mensuelles, suivi en ligne."}}
      "3.1": {{note: 4, {J}: "60 % de reconditionné certifié, pièces 7 ans."}}
      "3.2": {{note: 4, {J}: "Emballages consignés, reprise gratuite."}}
  - id: A2
    soumissionnaire: Bureautique Express SAS
    siret: "44812345600015"
    lot: 2
    prix: 50000
    notes:
      "2.1": {{note: 2, {J}: "Méthodologie générique, sans plan de charge."}}
      "2.2": {{note: 2, {J}: "Deux techniciens certifiés pour le département."}}
      "3": {{note: 1, {J}: "Intervention en J+5 ouvrés sur site."}}
  - id: C2
    soumissionnaire: Informatique Durable Sud SARL
    siret: "53298765400011"
    lot: 2
    prix: 80000
    notes:
      "2.1": {{note: 4, {J}: "Plan d'intervention détaillé par site et par saison."}}
      "2.2": {{note: 3, {J}: "Équipe de six techniciens dont deux en Gironde."}}
      "3": {{note: 4, {J}: "Intervention en J+1 ouvré, astreinte le samedi."}}
"""


def test_each_lot_is_scored_and_ranked_on_its_own_criteria(tender: Tender):
    result = evaluate(parse_evaluation(EVALUATION, "evaluation.yaml", tender), tender)
    lot1, lot2 = result.lots
    # lot 1, the consultation's criteria: B wins (86.25 against 76.25) ...
    assert result.criteria_of(lot1) == result.criteres and lot1.criteres == []
    assert [(o.id, o.rang) for o in lot1.offres] == [("B", 1), ("A", 2)]
    by_id = {o.id: o for o in lot1.offres}
    assert by_id["B"].total == pytest.approx(86.25) and by_id["A"].total == pytest.approx(76.25)
    # ... thanks to the environmental criterion: without it, A would win
    assert lot1.poidsResponsables == 20 and lot1.laureatSansResponsables == "A"
    assert lot1.criteresResponsablesDecisifs is True
    # lot 2, its own criteria: price 40 × Pmin/P, technical 25 + 15, delay 20
    assert [c.nom for c in lot2.criteres if c.parent is None] == [
        "Prix",
        "Valeur technique",
        "Délai d'intervention",
    ]
    assert [(o.id, o.rang) for o in lot2.offres] == [("C2", 1), ("A2", 2)]
    c2, a2 = lot2.offres
    assert c2.points["1"] == pytest.approx(40 * 50_000 / 80_000)
    assert c2.pointsCriteres == {"1": 25.0, "2": 36.25, "3": 20.0}
    assert c2.total == pytest.approx(81.25) and a2.total == pytest.approx(65.0)
    assert lot2.laureat == "C2" and lot2.poidsResponsables == 0
    # the weight shifts are between lot 2's criteria
    assert {(s.de, s.vers) for s in lot2.changements} <= {
        (a, b) for a in "123" for b in "123" if a != b
    }
    assert all("Délai d'intervention" in s.message or "Prix" in s.message for s in lot2.changements)


def test_tie_in_a_lot_is_broken_by_that_lots_rule(tender: Tender):
    # A2 (cheapest: 40) with technical 25 + 11.25 and delay 5 ties C2 at 81.25; lot 2's RC
    # breaks ties on its delay criterion (« 3 »): C2 first. Without that rule: a tie.
    text = EVALUATION.replace(
        '"2.1": {note: 2, justification: "Méthodologie générique',
        '"2.1": {note: 4, justification: "Méthodologie générique',
    ).replace('"2.2": {note: 2, justification: "Deux', '"2.2": {note: 3, justification: "Deux')
    result = evaluate(parse_evaluation(text, "evaluation.yaml", tender), tender)
    lot2 = result.lots[1]
    a2, c2 = (next(o for o in lot2.offres if o.id == x) for x in ("A2", "C2"))
    assert a2.total == pytest.approx(81.25) and c2.total == pytest.approx(81.25)
    assert lot2.laureat == "C2" and (c2.rang, a2.rang) == (1, 2) and lot2.exAequo == []
    untied = text.replace('    departage: ["3"]\n', "")
    result = evaluate(parse_evaluation(untied, "evaluation.yaml", tender), tender)
    assert result.lots[1].laureat is None and result.lots[1].exAequo == [["A2", "C2"]]
    assert any(a.regle == "ex-aequo" and a.lot == 2 for a in result.alertes)


def test_csv_gives_each_lot_its_criteria_columns(tender: Tender):
    result = evaluate(parse_evaluation(EVALUATION, "evaluation.yaml", tender), tender)
    rows = list(csv.reader(io.StringIO(to_csv(result, bom=False)), delimiter=";"))
    head = rows[0]
    delay = head.index("3 Délai d'intervention (20 %)")
    env = head.index(
        "3.1 Cycle de vie des matériels (réparabilité, durabilité, reconditionné, contenu recyclé) (14 %)"
    )
    c2 = next(r for r in rows if r[2] == "C2")
    b = next(r for r in rows if r[2] == "B")
    assert (c2[delay], c2[env]) == ("20,00", "")
    assert (b[delay], b[env]) == ("", "14,00")


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        # a lot's weight differs from its RC: the lot and the criterion are named
        (
            '      "2.2": {poids: 15}\n',
            '      "2.2": {poids: 12}\n',
            ["lot 2, critère « 2.2 »", "pondération 12", "(15\u00a0%)", "R2152-7"],
        ),
        # a leaf of the lot without its method
        (
            '      "2.2": {poids: 15}\n',
            "",
            ["critère 2.2 « Qualification de l'équipe »", "« lots » → « 2 » → « criteres »"],
        ),
        # the lot's methods missing altogether
        (
            EVALUATION[EVALUATION.index("lots:") : EVALUATION.index("offres:")],
            "",
            ["lot 2 : tender.yaml lui donne ses propres critères", "Délai d'intervention"],
        ),
        # an offer of lot 2 noted on a criterion of the consultation
        (
            '      "3": {note: 1,',
            '      "3.1": {note: 1,',
            ["offre « A2 »", "lot 2, critère « 3.1 »", "critères propres du lot 2"],
        ),
        # an offer of lot 2 without a note on the lot's delay criterion
        (
            '      "3": {note: 4, justification: "Intervention en J+1 ouvré, astreinte le samedi."}\n',
            "",
            ["offre « C2 »", "lot 2", "note manquante pour le critère 3 « Délai d'intervention »"],
        ),
        # a tie-break criterion the lot does not have
        ('    departage: ["3"]', '    departage: ["3.2"]', ["lot 2", "départage « 3.2 » inconnu"]),
        # methods for a lot judged on the consultation's criteria
        (
            "lots:\n",
            'lots:\n  1:\n    criteres: {"1": {poids: 50, formule: pmin_sur_p}}\n',
            ["lot 1", "critères de la consultation", "retirez-le de « lots »"],
        ),
    ],
)
def test_lot_errors_name_the_lot_and_the_criterion(tender: Tender, old, new, fragments):
    assert old in EVALUATION
    with pytest.raises(InputError) as exc:
        parse_evaluation(EVALUATION.replace(old, new, 1), "evaluation.yaml", tender)
    message = exc.value.render()
    for fragment in fragments:
        assert fragment in message, message
    assert exc.value.line is not None


def test_lot_weights_that_do_not_sum_to_100_are_refused():
    bad = [dict(c) for c in LOT2_CRITERIA]
    bad[2] = {"nom": "Délai d'intervention", "poids": 15, "type": "delai"}
    tender = validate_yaml(Tender, _tender_yaml(bad).encode(), "tender.yaml")
    with pytest.raises(InputError) as exc:
        parse_evaluation(
            EVALUATION.replace("poids: 20}}", "poids: 15}}"), "evaluation.yaml", tender
        )
    message = exc.value.render()
    assert "critères du lot 2 totalisent 95" in message and "lots[1].criteres" in message


def test_template_writes_each_lots_methods(tender: Tender):
    tpl = evaluation_template(tender)
    lots = tpl[tpl.index("\nlots:\n") : tpl.index("departage: []\n# Critères départageant")]
    assert "  2:  # Maintenance sur site" in lots
    assert '      "1": {nom: "Prix", poids: 40, formule: pmin_sur_p}' in lots
    assert '      "3": {nom: "Délai d\'intervention", poids: 20}' in lots
    # the consultation's methods and the lots' parse as they are (R2152-7 check passes)
    data = yaml.safe_load(tpl.replace("À COMPLÉTER", "x"))
    assert set(data["lots"]) == {2} and set(data["lots"][2]["criteres"]) == {"1", "2.1", "2.2", "3"}
    assert set(data["criteres"]) == {"1", "2.1", "2.2", "2.3", "3.1", "3.2"}


def test_template_when_every_lot_has_its_own_criteria():
    data = yaml.safe_load(_tender_yaml())
    data["criteres"] = []
    data["lots"][0]["criteres"] = LOT2_CRITERIA
    tender = validate_yaml(Tender, yaml.safe_dump(data, allow_unicode=True).encode(), "t.yaml")
    tpl = evaluation_template(tender)
    assert "criteres: {}  # chaque lot a ses propres critères" in tpl
    parsed = yaml.safe_load(tpl.replace("À COMPLÉTER", "x"))
    assert parsed["criteres"] == {} and set(parsed["lots"]) == {1, 2}


def test_cli_prints_each_lots_criteria(tmp_path: Path, tender: Tender):
    from typer.testing import CliRunner

    from cahier.cli import app

    d = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(DOSSIER, d, ignore=shutil.ignore_patterns("archive", "evaluation"))
    (d / "tender.yaml").write_text(_tender_yaml(), encoding="utf-8")
    (d / "evaluation").mkdir()
    (d / "evaluation" / "evaluation.yaml").write_text(EVALUATION, encoding="utf-8")
    res = CliRunner().invoke(app, ["evaluate", str(d)])
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())
    assert "3. Délai d'intervention (20 %)" in out.replace("\u00a0", " ")
    assert "Lot 2" in out and "Offre la mieux classée : C2." in out
    res = CliRunner().invoke(app, ["evaluate", str(d), "-f", "json"])
    assert res.exit_code == 0, res.output
    assert '"Délai d\'intervention"' in res.stdout
