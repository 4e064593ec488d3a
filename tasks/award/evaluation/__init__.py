"""Bid evaluation: offers, scores, ranking per lot and sensitivity of the result.

The buyer records the analysis of the offers in ``tenders/<id>/evaluation/evaluation.yaml``
(one file: offers, scores, scoring methods, evaluators, award data for DECP). This module
validates it against tender.yaml (the award criteria announced in the RC), computes the
points with the announced method, ranks the offers per lot, flags offers that look
abnormally low and measures whether the environmental and social criteria changed the
outcome. Format and formulas: ``docs/evaluation-archive.md`` (in the repository; an
installed package has :func:`evaluation_template`, ``cahier evaluate --modele``).

Criteria are referred to by their RC number, derived from the order of ``criteres`` in
tender.yaml: ``"1"``, ``"2"``, ``"2.1"``… Only leaf criteria (without sub-criteria) are
scored; a parent's points are the sum of its sub-criteria's. Amounts are in € HT,
weights in % of the total score (so points are out of 100).

Price formulas (criterion of type ``prix`` or ``cout``), ``P`` the offer's price and
``Pmin``/``Pmax`` the lowest/highest price among the offers kept in the lot:

* ``pmin_sur_p``: ``poids × Pmin / P`` (the usual "linear" formula);
* ``ecart_relatif``: ``poids × max(0, 1 − (P − Pmin) / Pmin)`` (points lost in
  proportion to the gap with the lowest price; zero at twice the lowest price);
* ``min_max``: ``poids × (Pmax − P) / (Pmax − Pmin)`` (interpolation between the
  extreme offers; every offer gets the full weight when all prices are equal).

Qualitative criteria: a scale ``min``–``max`` with anchors (e.g. 0 « absence de
réponse » … 4 « très satisfaisante »); points = ``poids × (note − min) / (max − min)``.

Abnormally low offers (CCP L2152-5, L2152-6, R2152-3, R2152-4): an offer is flagged when
its price is below ``seuilMoyenne`` % (default 70 %) of the mean price of the other offers
of its lot, or, for the lowest offer, more than ``ecartSecond`` % (default 20 %) below the
second lowest. A flag is a warning for the buyer, who must ask the bidder in writing for
justifications (R2152-3); it never rejects the offer: a rejection is recorded by the
buyer (``ecartee``) after examining the answer (R2152-4).

Ranking: totals are rounded to 2 decimals (as in an analysis report); ties are broken by
the criteria listed in ``departage`` (RC order, e.g. ``["3"]`` when the RC says « l'offre
la mieux notée sur le critère Performance environnementale »); a tie that remains is
reported, never settled silently.

The package: ``model`` (evaluation.yaml and result models), ``criteria`` (criteria by
number), ``rules`` (checks against tender.yaml), ``parse`` (reading the file),
``scoring`` (points, ranks, sensitivity), ``template`` (``--modele``), ``export`` (CSV).

Example::

    tender, ev, _ = read_evaluation("tenders/2026-CD33-PC-001")
    result = evaluate(ev, tender)
    result.lots[0].laureat  # "B"
"""

from __future__ import annotations

from tasks.dossier.model import siret_ok

from .criteria import criteria_index
from .export import CSV_SEPARATOR, to_csv
from .model import (
    EVALUATION_FILE,
    METHOD_VERSION,
    PLACEHOLDER,
    Alerte,
    Attribution,
    CriterionInfo,
    Echelle,
    Evaluation,
    EvaluationResult,
    LotResult,
    MethodeCritere,
    Note,
    Offre,
    OffreResult,
    WeightShift,
)
from .parse import parse_evaluation, read_evaluation
from .scoring import evaluate
from .template import evaluation_template

__all__ = [
    "CSV_SEPARATOR",
    "EVALUATION_FILE",
    "METHOD_VERSION",
    "PLACEHOLDER",
    "Alerte",
    "Attribution",
    "CriterionInfo",
    "Echelle",
    "Evaluation",
    "EvaluationResult",
    "LotResult",
    "MethodeCritere",
    "Note",
    "Offre",
    "OffreResult",
    "WeightShift",
    "criteria_index",
    "evaluate",
    "evaluation_template",
    "parse_evaluation",
    "read_evaluation",
    "siret_ok",
    "to_csv",
]
