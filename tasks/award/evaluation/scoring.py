"""Scoring, ranking per lot, abnormally low offers and sensitivity of the result.

Formulas and rules: the package docstring (:mod:`tasks.award.evaluation`).
"""

from __future__ import annotations

from tasks import fmt
from tasks.dossier.model import CritereType, LegalReference, Tender

from .criteria import criteria_index, own_criteria
from .model import (
    CCP,
    PRICE_TYPES,
    Alerte,
    CriterionInfo,
    Evaluation,
    EvaluationResult,
    LotResult,
    MethodeCritere,
    Offre,
    OffreResult,
    WeightShift,
    _fmt,
    _fmt_eur,
)


def _price_points(formula: str, weight: float, p: float, pmin: float, pmax: float) -> float:
    if formula == "pmin_sur_p":
        return weight * pmin / p
    if formula == "ecart_relatif":
        return weight * max(0.0, 1 - (p - pmin) / pmin)
    if pmax == pmin:
        return weight
    return weight * (pmax - p) / (pmax - pmin)


def _rank(
    rows: list[OffreResult], total: dict[str, float], keys: list[dict[str, float]]
) -> tuple[dict[str, int], list[list[str]]]:
    """Competition ranking (1, 1, 3) on rounded totals then tie-break keys."""

    def sort_key(r: OffreResult) -> tuple[float, ...]:
        return (-round(total[r.id], 2), *(-round(k.get(r.id, 0.0), 2) for k in keys))

    ordered = sorted(rows, key=lambda r: (sort_key(r), r.id))
    ranks: dict[str, int] = {}
    ties: list[list[str]] = []
    prev: tuple[float, ...] | None = None
    group: list[str] = []
    for pos, r in enumerate(ordered, 1):
        k = sort_key(r)
        if k == prev:
            ranks[r.id] = ranks[group[0]]
            group.append(r.id)
        else:
            if len(group) > 1:
                ties.append(group)
            group = [r.id]
            ranks[r.id] = pos
        prev = k
    if len(group) > 1:
        ties.append(group)
    return ranks, ties


def evaluate(ev: Evaluation, tender: Tender) -> EvaluationResult:
    """Score, rank and analyse every lot. ``ev`` must come from :func:`parse_evaluation`.

    Returns:
        The result: per lot, the offers in ranking order with their points per leaf
        criterion and per top-level criterion (out of 100 in all), rank, the winner (None
        when a tie remains), the ranking without the environmental and social criteria
        (remaining weights renormalised to 100) and the smallest transfer of weight
        between two top-level criteria that would let another offer tie the winner.
    """
    lot_obj = {lot.numero: lot.objet for lot in tender.lots}
    lots = sorted({o.lot or 1 for o in ev.offres} | set(lot_obj))
    alerts: list[Alerte] = []
    results = []
    for lot in lots:
        crit = criteria_index(tender, lot)
        methods, departage = ev.methods_of(lot)
        scored = _evaluate_lot(ev, crit, methods, departage, lot, alerts)
        scored.objet = lot_obj.get(lot, tender.objet)
        if own_criteria(tender, lot):  # named in the result; else the consultation's apply
            scored.criteres = list(crit.values())
        results.append(scored)
    crit = criteria_index(tender)
    return EvaluationResult(
        tender=tender.id,
        dateAnalyse=ev.dateAnalyse,
        criteres=list(crit.values()),
        departage=ev.departage,
        lots=results,
        alertes=alerts,
    )


def _evaluate_lot(
    ev: Evaluation,
    crit: dict[str, CriterionInfo],
    methods: dict[str, MethodeCritere],
    departage: list[str],
    lot: int,
    alerts: list[Alerte],
) -> LotResult:
    """One lot: score the offers kept, rank them, flag low prices, measure sensitivity.

    ``crit``, ``methods`` and ``departage`` are the criteria of this lot (its own or the
    consultation's), their scoring methods and its tie-break criteria; the alerts found
    are appended to ``alerts``. The caller sets the lot's ``objet`` and ``criteres``.
    """
    leaves = [c for c in crit.values() if c.feuille]
    tops = [c for c in crit.values() if c.parent is None]
    offers = [o for o in ev.offres if (o.lot or 1) == lot]
    kept = [o for o in offers if o.ecartee is None]
    rows = [_row(o, lot) for o in offers]
    by_id = {r.id: r for r in rows}
    if kept:
        _score(ev, methods, kept, leaves, crit, by_id)
        alerts.extend(_abnormally_low(ev, kept, lot, by_id))
    kept_rows = [by_id[o.id] for o in kept]
    laureat, ties = _rank_lot(kept_rows, departage, lot, alerts)
    resp = [c for c in leaves if c.responsable]
    w_resp = sum(c.poids for c in resp)
    laureat_sans = _rank_without_responsible(kept_rows, leaves, crit, departage)
    shifts = _weight_shifts(kept_rows, tops, laureat, crit) if laureat else []
    ordered = sorted(rows, key=lambda r: (r.rang is None, r.rang or 0, -(r.total or 0), r.id))
    return LotResult(
        lot=lot,
        objet="",
        offresRecues=len(offers),
        offres=ordered,
        laureat=laureat,
        exAequo=ties,
        poidsResponsables=round(w_resp, 6),
        laureatSansResponsables=laureat_sans,
        criteresResponsablesDecisifs=bool(
            resp and laureat and laureat_sans and laureat_sans != laureat
        ),
        plusPetitChangement=shifts[0] if shifts else None,
        changements=shifts,
    )


def _row(o: Offre, lot: int) -> OffreResult:
    """The result row of an offer, before scoring."""
    return OffreResult(
        id=o.id,
        soumissionnaire=o.soumissionnaire,
        siret=o.siret,
        lot=lot,
        variante=o.variante,
        prix=o.montant,
        ecartee=o.ecartee,
    )


def _rank_lot(
    kept_rows: list[OffreResult], departage: list[str], lot: int, alerts: list[Alerte]
) -> tuple[str | None, list[list[str]]]:
    """Set each kept offer's rank; returns (the winner or None on a tie, the ties).

    A tie that the ``departage`` criteria do not settle is appended to ``alerts``.
    """
    totals = {r.id: r.total or 0.0 for r in kept_rows}
    keys = [
        {r.id: r.pointsCriteres.get(c, r.points.get(c, 0.0)) for r in kept_rows} for c in departage
    ]
    ranks, ties = _rank(kept_rows, totals, keys)
    for r in kept_rows:
        r.rang = ranks[r.id]
    winners = [r.id for r in kept_rows if r.rang == 1]
    for group in ties:
        alerts.append(
            Alerte(
                regle="ex-aequo",
                lot=lot,
                message=(
                    f"Lot {lot} : offres {', '.join(group)} ex aequo après application des "
                    "règles de départage annoncées"
                    + (f" (critères {', '.join(departage)})" if departage else "")
                    + " : appliquez la règle prévue au RC (à défaut, tirage au sort consigné "
                    "au rapport d'analyse)."
                ),
            )
        )
    return (winners[0] if len(winners) == 1 else None), ties


def _rank_without_responsible(
    kept_rows: list[OffreResult],
    leaves: list[CriterionInfo],
    crit: dict[str, CriterionInfo],
    departage: list[str],
) -> str | None:
    """Sensitivity 1: rank without the environmental and social criteria (remaining
    weights renormalised to 100); sets each row's ``totalSansResponsables`` and
    ``rangSansResponsables``; returns that ranking's single first offer, if any."""
    resp = [c for c in leaves if c.responsable]
    w_rest = sum(c.poids for c in leaves) - sum(c.poids for c in resp)
    if not resp or w_rest <= 0 or not kept_rows:
        return None
    sans = {
        r.id: sum(v for k, v in r.points.items() if not crit[k].responsable) * 100 / w_rest
        for r in kept_rows
    }
    keys = [
        {
            r.id: sum(v for k, v in r.points.items() if k == c or k.startswith(c + "."))
            for r in kept_rows
        }
        for c in departage
        if not crit[c].responsable
    ]
    ranks, _ = _rank(kept_rows, sans, keys)
    for r in kept_rows:
        r.totalSansResponsables = round(sans[r.id], 2)
        r.rangSansResponsables = ranks[r.id]
    firsts = [r.id for r in kept_rows if r.rangSansResponsables == 1]
    return firsts[0] if len(firsts) == 1 else None


def _score(
    ev: Evaluation,
    methods: dict[str, MethodeCritere],
    kept: list[Offre],
    leaves: list[CriterionInfo],
    crit: dict[str, CriterionInfo],
    by_id: dict[str, OffreResult],
) -> None:
    for c in leaves:
        m = methods[c.code]
        if c.type in PRICE_TYPES:
            values = {
                o.id: (o.coutGlobal if c.type == CritereType.cout else o.montant) for o in kept
            }
            pmin, pmax = min(values.values()), max(values.values())
            for o in kept:
                by_id[o.id].points[c.code] = _price_points(
                    m.formule or "pmin_sur_p", c.poids, values[o.id], pmin, pmax
                )
        else:
            scale = m.echelle or ev.echelle
            for o in kept:
                n = o.notes[c.code].note
                by_id[o.id].points[c.code] = c.poids * (n - scale.min) / (scale.max - scale.min)
    for o in kept:
        r = by_id[o.id]
        r.points = {k: round(v, 4) for k, v in r.points.items()}
        for code, info in crit.items():
            if info.parent is None:
                r.pointsCriteres[code] = round(
                    sum(v for k, v in r.points.items() if k == code or k.startswith(code + ".")), 4
                )
        r.total = round(sum(r.points.values()), 4)


def _abnormally_low(
    ev: Evaluation, kept: list[Offre], lot: int, by_id: dict[str, OffreResult]
) -> list[Alerte]:
    """CCP L2152-5/L2152-6/R2152-3: flag prices far below the others (thresholds in docstring)."""
    if len(kept) < 2:
        return []
    s = ev.offresAnormalementBasses
    basis = [
        LegalReference(ref=f"Code de la commande publique, art. {a}", url=CCP)
        for a in ("L2152-5", "L2152-6", "R2152-3", "R2152-4")
    ]
    prices = sorted(o.montant for o in kept)
    out: list[Alerte] = []
    for o in kept:
        p = o.montant
        others = [x.montant for x in kept if x is not o]
        mean = sum(others) / len(others)
        reasons = []
        if p < mean * s.seuilMoyenne / 100:
            reasons.append(
                f"{fmt.percent(p / mean * 100, 0)} de la moyenne des autres offres ({_fmt_eur(mean)}), "
                f"sous le seuil de {fmt.percent(s.seuilMoyenne)}"
            )
        if p == prices[0] and len(prices) > 1 and p < prices[1] * (1 - s.ecartSecond / 100):
            reasons.append(
                f"{fmt.percent((1 - p / prices[1]) * 100, 0)} sous la deuxième offre la moins chère "
                f"({_fmt_eur(prices[1])}), au-delà de {fmt.percent(s.ecartSecond)}"
            )
        if reasons:
            by_id[o.id].anormalementBasse = True
            out.append(
                Alerte(
                    regle="offre-anormalement-basse",
                    lot=lot,
                    offre=o.id,
                    message=(
                        f"Lot {lot}, offre « {o.id} » ({o.soumissionnaire}) : {_fmt_eur(p)}, soit "
                        + " et ".join(reasons)
                        + ". Offre susceptible d'être anormalement basse : demandez par écrit au "
                        "soumissionnaire des précisions et justifications sur son prix (CCP art. "
                        "L2152-6 et R2152-3). Elle ne peut être rejetée qu'après examen de ces "
                        "justifications (art. R2152-4) : ce signalement n'est pas un rejet."
                    ),
                    legal_basis=basis,
                )
            )
    return out


def _weight_shifts(
    rows: list[OffreResult],
    tops: list[CriterionInfo],
    winner: str,
    crit: dict[str, CriterionInfo],
) -> list[WeightShift]:
    """For each pair of top-level criteria (a → b), the smallest transfer of weight
    (in points of %) from a to b that lets some other offer tie the winner.

    Sub-criteria keep their share of their parent; price points are linear in the
    weight, so each offer's total is linear in the transfer δ:
    ``T(δ) = T − δ·S_a + δ·S_b`` with ``S_x`` the offer's points on x divided by x's weight.
    """
    w = next(r for r in rows if r.id == winner)
    out: list[WeightShift] = []
    for a in tops:
        if a.poids <= 0:
            continue
        for b in tops:
            if b.code == a.code:
                continue
            best: tuple[float, str] | None = None
            for c in rows:
                if c.id == winner or c.total is None:
                    continue
                d0 = (w.total or 0) - c.total

                def s(r: OffreResult, x: CriterionInfo) -> float:
                    return r.pointsCriteres.get(x.code, 0.0) / x.poids if x.poids else 0.0

                k = (s(c, b) - s(w, b)) - (s(c, a) - s(w, a))
                if k <= 1e-12:
                    continue
                delta = d0 / k
                if delta <= a.poids + 1e-9 and (best is None or delta < best[0]):
                    best = (delta, c.id)
            if best is not None:
                delta, cid = best
                out.append(
                    WeightShift(
                        de=a.code,
                        vers=b.code,
                        points=round(delta, 2),
                        offre=cid,
                        message=(
                            f"Transférer {_fmt(delta)} point(s) de pondération de « {a.nom} » "
                            f"({fmt.percent(a.poids)} → {_fmt(a.poids - delta)} %) vers « {b.nom} » "
                            f"({fmt.percent(b.poids)} → {_fmt(b.poids + delta)} %) met l'offre « {cid} » à "
                            f"égalité avec l'offre « {winner} » ; au-delà, elle la dépasse."
                        ),
                    )
                )
    out.sort(key=lambda x: (x.points, x.de, x.vers))
    return out
