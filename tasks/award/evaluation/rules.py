"""Rules checked on evaluation.yaml against tender.yaml, each a small named function.

:func:`cross_check` runs them in a fixed order (the first failure is raised, so the
order is the order of the messages a buyer meets): the dossier, the lots judged on their
own criteria (their methods given under ``lots``), weights summing to 100 %, the criteria
methods of each set (R2152-7 and R2152-11 CCP: the criteria and weights announced are
those applied), the tie-break criteria, then each offer (identity, lot, bidder, price,
notes on the criteria of its lot), then the award holders. The rules read the model and never change it: an offer without ``lot``
on a tender without lots is read as lot 1 (:meth:`View.lot_of`), not rewritten.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tasks import fmt
from tasks.dossier.model import CritereType, Tender

from .criteria import _fold, criteria_index, own_criteria, uses_tender_criteria
from .model import (
    JUSTIFICATION_MIN,
    PRICE_TYPES,
    CriterionInfo,
    Evaluation,
    MethodeCritere,
    Note,
    Offre,
    _fmt_eur,
)
from .view import Ctx, MethodSet, View

# --------------------------------------------------------------------------- dossier


def _same_tender(v: View) -> None:
    if v.ev.tender != v.tender.id:
        raise v.ctx.fail(
            ("tender",),
            f"évaluation du dossier « {v.ev.tender} » alors que tender.yaml décrit « {v.tender.id} ».",
        )


def _has_criteria(v: View) -> None:
    if not v.crit and uses_tender_criteria(v.tender):
        raise v.ctx.fail(
            ("criteres",),
            "tender.yaml ne déclare aucun critère d'attribution : recopiez ceux du RC avant "
            "d'évaluer les offres.",
        )


# --------------------------------------------------------------------------- lots


def _lot_methods_known(v: View) -> None:
    """Methods under ``lots`` only for lots of tender.yaml that have their own criteria."""
    for n in v.ev.lots:
        if n not in v.lots:
            raise v.ctx.fail(
                ("lots", n),
                "lot inconnu : tender.yaml déclare "
                + (f"les lots {v.lots_text()}." if v.tender.lots else "un marché non alloti.")
                + " Retirez-le de « lots ».",
            )
        if not own_criteria(v.tender, n):
            raise v.ctx.fail(
                ("lots", n),
                "tender.yaml ne donne pas à ce lot de critères propres (lots[].criteres) : il "
                "est jugé sur les critères de la consultation, notés sous « criteres » ; "
                "retirez-le de « lots ».",
            )


def _lot_methods_given(v: View) -> None:
    """Each lot with its own criteria in tender.yaml has its methods under ``lots``."""
    for lot in v.tender.lots:
        if lot.criteres and lot.numero not in v.ev.lots:
            names = ", ".join(f"{c.code} {c.nom}" for c in _tops(v, lot.numero))
            raise v.ctx.fail(
                ("lots",) if v.ev.lots else ("criteres",),
                f"lot {lot.numero} : tender.yaml lui donne ses propres critères ({names}) : "
                f"ajoutez leurs méthodes de notation sous « lots » → « {lot.numero} » → "
                "« criteres » (« cahier evaluate DOSSIER --modele » les écrit).",
            )


def _tops(v: View, lot: int | None) -> list[CriterionInfo]:
    return [c for c in criteria_index(v.tender, lot).values() if c.parent is None]


#: Tolerance on a sum of weights (points of %): 33,33 × 3 is 100.
SUM_TOLERANCE = 0.011


def _weights_sum_to_100(v: View) -> None:
    """The criteria a lot is judged on sum to 100 % and each parent to its sub-criteria
    (points are out of 100; R2152-7 CCP: the weighting announced is the one applied)."""
    for s in v.method_sets():
        if s.lot is None and not uses_tender_criteria(v.tender):
            continue
        who = "critères de la consultation" if s.lot is None else f"critères du lot {s.lot}"
        field = "criteres" if s.lot is None else _lot_field(v, s.lot)
        total = sum(c.poids for c in s.crit.values() if c.parent is None)
        if s.crit and abs(total - 100) > SUM_TOLERANCE:
            raise v.ctx.fail(
                s.loc(),
                f"les pondérations des {who} totalisent {fmt.percent(total)} au lieu de 100 % "
                f"(tender.yaml, {field}) : les offres sont notées sur 100 ; reprenez dans "
                "tender.yaml les pondérations du RC avant d'évaluer.",
            )
        for parent in (c for c in s.crit.values() if not c.feuille):
            sub = sum(c.poids for c in s.crit.values() if c.parent == parent.code)
            if abs(sub - parent.poids) > SUM_TOLERANCE:
                raise v.ctx.fail(
                    s.loc(),
                    f"{who} : les sous-critères de {parent.code} « {parent.nom} » totalisent "
                    f"{fmt.percent(sub)} au lieu de {fmt.percent(parent.poids)} (tender.yaml, "
                    f"{field}) : leurs pondérations sont en % de la note totale et font celle "
                    "du critère.",
                )


def _lot_field(v: View, lot: int) -> str:
    index = next(i for i, x in enumerate(v.tender.lots) if x.numero == lot)
    return f"lots[{index}].criteres"


# --------------------------------------------------------------------------- methods


def _method_criterion(v: View, s: MethodSet, code: str) -> CriterionInfo:
    info = s.crit.get(code)
    if info is None:
        raise v.ctx.fail(
            s.loc(code),
            f"critère inconnu : le RC (tender.yaml) numérote ses critères {', '.join(s.crit)}.",
        )
    return info


def _method_weight(
    v: View, s: MethodSet, code: str, m: MethodeCritere, info: CriterionInfo
) -> None:
    if abs(m.poids - info.poids) > 1e-6:
        raise v.ctx.fail(
            s.loc(code, "poids"),
            f"pondération {fmt.percent(m.poids)} différente de celle annoncée au RC pour "
            f"« {info.nom} » ({fmt.percent(info.poids)}) : les offres doivent être jugées avec les "
            "critères et pondérations annoncés (CCP art. R2152-7 et R2152-11).",
        )


def _method_name(v: View, s: MethodSet, code: str, m: MethodeCritere, info: CriterionInfo) -> None:
    if m.nom is not None and _fold(m.nom) != _fold(info.nom):
        raise v.ctx.fail(
            s.loc(code, "nom"),
            f"le critère {code} s'appelle « {info.nom} » dans tender.yaml, pas « {m.nom} ».",
        )


def _price_formula_given(
    v: View, s: MethodSet, code: str, m: MethodeCritere, info: CriterionInfo
) -> None:
    if info.feuille and info.type in PRICE_TYPES and m.formule is None:
        raise v.ctx.fail(
            s.loc(code),
            f"critère « {info.nom} » ({info.type}) : indiquez la formule de notation du prix "
            "annoncée au RC (formule: pmin_sur_p, ecart_relatif ou min_max).",
        )


def _formula_only_on_price(
    v: View, s: MethodSet, code: str, m: MethodeCritere, info: CriterionInfo
) -> None:
    if m.formule is not None and (not info.feuille or info.type not in PRICE_TYPES):
        raise v.ctx.fail(
            s.loc(code, "formule"),
            f"une formule de prix ne s'applique qu'à un critère prix ou coût sans "
            f"sous-critère ; « {info.nom} » est noté sur une échelle.",
        )


MethodRule = Callable[[View, MethodSet, str, MethodeCritere, CriterionInfo], None]
METHOD_RULES: tuple[MethodRule, ...] = (
    _method_weight,
    _method_name,
    _price_formula_given,
    _formula_only_on_price,
)


def _methods_match_rc(v: View) -> None:
    for s in v.method_sets():
        for code, m in s.methods.items():
            info = _method_criterion(v, s, code)
            for rule in METHOD_RULES:
                rule(v, s, code, m, info)


def _leaves_have_methods(v: View) -> None:
    for s in v.method_sets():
        if s.lot is None and not uses_tender_criteria(v.tender):
            continue  # every lot has its own criteria: the consultation's are not scored
        for code, info in s.crit.items():
            if info.feuille and code not in s.methods:
                raise v.ctx.fail(
                    s.loc(),
                    f"le critère {code} « {info.nom} » ({fmt.percent(info.poids)}) du RC n'a pas "
                    f"de méthode de notation : ajoutez-le sous {s.under()} avec sa pondération.",
                )


def _tie_breaks_known(v: View) -> None:
    for s in v.method_sets():
        for i, code in enumerate(s.departage):
            if code not in s.crit:
                loc = ("departage", i) if s.lot is None else ("lots", s.lot, "departage", i)
                raise v.ctx.fail(loc, f"critère de départage « {code} » inconnu.")


# --------------------------------------------------------------------------- offers


def _unique_id(v: View, i: int, o: Offre) -> None:
    first = next(j for j, x in enumerate(v.ev.offres) if x.id == o.id)
    if first != i:
        raise v.ctx.fail(
            ("offres", i, "id"),
            f"repère d'offre « {o.id} » déjà utilisé par l'offre n° {first + 1}.",
        )


def _lot_given(v: View, i: int, o: Offre) -> None:
    if o.lot is None and v.tender.lots:
        raise v.ctx.fail(
            ("offres", i),
            f"le marché est alloti (lots {v.lots_text()}) : indiquez le lot de l'offre (lot: N).",
        )


def _lot_known(v: View, i: int, o: Offre) -> None:
    if o.lot is not None and o.lot not in v.lots:
        raise v.ctx.fail(
            ("offres", i, "lot"),
            f"lot {o.lot} inconnu : tender.yaml déclare "
            + (
                f"les lots {v.lots_text()}."
                if v.tender.lots
                else "un marché non alloti (lot unique, lot: 1)."
            ),
        )


def _bidder_once(v: View, i: int, o: Offre) -> None:
    if o.variante:
        return
    lot = v.lot_of(o)
    for j, x in enumerate(v.ev.offres[:i]):
        if not x.variante and x.siret == o.siret and v.lot_of(x) == lot:
            raise v.ctx.fail(
                ("offres", i, "siret"),
                f"soumissionnaire en double : le SIRET {o.siret} a déjà remis l'offre n° "
                f"{j + 1} sur le lot {lot} ; une seconde offre du même "
                "soumissionnaire est une variante (variante: true).",
            )


def _price_given(v: View, i: int, o: Offre) -> None:
    if o.prix is None and not o.lignes:
        raise v.ctx.fail(
            ("offres", i),
            "prix absent : indiquez le montant total en € HT (prix) ou les lignes du "
            "BPU/DQE (lignes).",
        )


def _price_matches_lines(v: View, i: int, o: Offre) -> None:
    if o.prix is not None and o.lignes:
        total = sum(ln.quantite * ln.prixUnitaire for ln in o.lignes)
        if abs(total - o.prix) > 0.01:
            raise v.ctx.fail(
                ("offres", i, "prix"),
                f"le total des lignes du BPU/DQE ({_fmt_eur(total)}) diffère du prix "
                f"indiqué ({_fmt_eur(o.prix)}) : corrigez l'un ou l'autre.",
            )


OfferRule = Callable[[View, int, Offre], None]
OFFER_RULES: tuple[OfferRule, ...] = (
    _unique_id,
    _lot_given,
    _lot_known,
    _bidder_once,
    _price_given,
    _price_matches_lines,
)


# --------------------------------------------------------------------------- notes


def _note_criterion(v: View, i: int, s: MethodSet, code: str) -> CriterionInfo:
    info = s.crit.get(code)
    if info is None:
        raise v.ctx.fail(
            ("offres", i, "notes", code),
            "critère inconnu du RC."
            if s.lot is None
            else f"critère inconnu des critères propres du lot {s.lot} (tender.yaml, numérotés "
            f"{', '.join(s.crit)}).",
            lot=s.lot,
        )
    return info


#: What is wrong with a note or a scored leaf: (path below it, French message), or None.
Problem = tuple[tuple[str, ...], str] | None


def _note_problem(v: View, s: MethodSet, code: str, note: Note, info: CriterionInfo) -> Problem:
    """The first problem of the note of criterion ``code`` (path below the note), in the
    order a buyer meets them: a parent criterion, a price criterion, out of the scale,
    no written reason (R2181-1 and R2181-2 CCP), an unknown evaluator."""
    if not info.feuille:
        return (), (
            f"« {info.nom} » a des sous-critères : notez chaque sous-critère, la note du "
            "critère en est la somme."
        )
    if info.type in PRICE_TYPES:
        return (), (
            f"« {info.nom} » est noté par la formule annoncée à partir du prix : ne "
            "saisissez pas de note."
        )
    scale = s.methods[code].echelle or v.ev.echelle
    if not (scale.min <= note.note <= scale.max) or math.isnan(note.note):
        return ("note",), f"note {note.note:g} hors de l'échelle {scale.min:g} à {scale.max:g}."
    if len(note.justification.strip()) < JUSTIFICATION_MIN:
        return ("justification",), (
            "justification écrite absente ou trop courte : motivez la note "
            f"(au moins {JUSTIFICATION_MIN} caractères ; elle sert à informer les "
            "candidats évincés, CCP art. R2181-1 et R2181-2)."
        )
    who = note.evaluateur
    if who is not None and _fold(who) not in v.names and who.lower() not in v.names:
        return ("evaluateur",), f"évaluateur « {who} » absent de la liste « evaluateurs »."
    return None


def _leaf_problem(o: Offre, code: str, info: CriterionInfo) -> Problem:
    """The problem of offer ``o`` on the leaf criterion ``code`` (path below the offer):
    no life-cycle cost for a cost criterion (R2152-9 CCP), no note on a scored one."""
    if info.type == CritereType.cout and o.coutGlobal is None:
        return (), (
            f"coût global absent : le critère « {info.nom} » est noté sur le coût du "
            "cycle de vie (coutGlobal, € HT ; CCP art. R2152-9)."
        )
    if info.type not in PRICE_TYPES and code not in o.notes:
        return ("notes",), (
            f"note manquante pour le critère {code} « {info.nom} » : chaque offre "
            "retenue est notée sur chaque critère et sous-critère annoncé au RC."
        )
    return None


def _raise_problem(v: View, s: MethodSet, at: tuple[object, ...], problem: Problem) -> None:
    if problem is not None:
        below, message = problem
        raise v.ctx.fail((*at, *below), message, lot=s.lot)


def _offer_scored(v: View, i: int, o: Offre) -> None:
    """Notes of an offer kept (not ``ecartee``): each one valid, every leaf scored."""
    if o.ecartee is not None:
        return
    s = v.set_of(o)
    for code, note in o.notes.items():
        info = _note_criterion(v, i, s, code)
        _raise_problem(v, s, ("offres", i, "notes", code), _note_problem(v, s, code, note, info))
    for code, info in s.crit.items():
        if info.feuille:
            _raise_problem(v, s, ("offres", i), _leaf_problem(o, code, info))


def _offers_valid(v: View) -> None:
    for i, o in enumerate(v.ev.offres):
        for rule in OFFER_RULES:
            rule(v, i, o)
        _offer_scored(v, i, o)


def _holders_known(v: View) -> None:
    if v.ev.attribution is None:
        return
    offers = {o.id: o for o in v.ev.offres}
    for lot, holders in v.ev.attribution.titulaires.items():
        where = ("attribution", "titulaires", lot)
        if lot not in v.lots:
            raise v.ctx.fail(where, f"lot {lot} inconnu.")
        for oid in holders:
            offer = offers.get(oid)
            if offer is None:
                raise v.ctx.fail(where, f"offre « {oid} » inconnue.")
            if v.lot_of(offer) != lot:
                raise v.ctx.fail(
                    where,
                    f"offre « {oid} » déposée sur le lot {v.lot_of(offer)}, pas sur le lot "
                    f"{lot} : un titulaire du lot {lot} est choisi parmi les offres de ce lot.",
                )
            if offer.ecartee:
                raise v.ctx.fail(
                    where,
                    f"offre « {oid} » écartée (« {offer.ecartee} ») : une offre écartée ne peut "
                    "pas être attribuée ; désignez une offre retenue, ou retirez « ecartee » si "
                    "l'offre a finalement été admise.",
                )


def _notification_after_analysis(v: View) -> None:
    """A contract is notified after the consultation was launched and its offers
    analysed (CCP R2182-4: notification after the choice of the holder)."""
    a = v.ev.attribution
    if a is None:
        return
    day = fmt.date_short
    for before, label in (
        (v.tender.dateLancement, "au lancement de la consultation (tender.yaml)"),
        (v.ev.dateAnalyse, "à l'analyse des offres (dateAnalyse)"),
    ):
        if a.dateNotification < before:
            raise v.ctx.fail(
                ("attribution", "dateNotification"),
                f"notification du {day(a.dateNotification)} antérieure {label}, le "
                f"{day(before)} : un marché est notifié après le choix de son titulaire ; "
                "corrigez la date.",
            )


#: The rules over the whole file, in the order their messages are met.
RULES: tuple[Callable[[View], None], ...] = (
    _same_tender,
    _has_criteria,
    _lot_methods_known,
    _lot_methods_given,
    _weights_sum_to_100,
    _methods_match_rc,
    _leaves_have_methods,
    _tie_breaks_known,
    _offers_valid,
    _holders_known,
    _notification_after_analysis,
)


def cross_check(ev: Evaluation, tender: Tender, ctx: Ctx) -> None:
    """Check ``ev`` against ``tender`` (rules above); ``ev`` is not modified.

    Raises:
        InputError: the first rule that fails, in French, located in the file.
    """
    view = View(
        ev=ev,
        tender=tender,
        ctx=ctx,
        crit=criteria_index(tender),
        lots=frozenset({lot.numero for lot in tender.lots} or {1}),
        names=frozenset(
            {_fold(e.nom) for e in ev.evaluateurs}
            | {(e.email or "").lower() for e in ev.evaluateurs if e.email}
        ),
    )
    for rule in RULES:
        rule(view)
