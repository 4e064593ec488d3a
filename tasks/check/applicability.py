"""Which clauses apply to a tender, and at which level (mandatory or recommended).

Decided from tender.yaml and law.yaml (values in force on ``dateLancement``): the clause's
``applies`` conditions, the buyer type (a private buyer is not bound by the Code de la
commande publique, CCP L2, L1210-1) and the Climat gate (loi 2021-1104, art. 35).
"""

from __future__ import annotations

from tasks import fmt
from tasks.clausier.library import Clausier
from tasks.dossier.model import BuyerType, Clause, Tender

__all__ = ["climat_gate_applies", "effective_level", "is_applicable", "is_private"]

_FACT_ABSENT = {
    "donneesPersonnelles": "pas de traitement de données personnelles déclaré",
    "donneesSensibles": "pas de données sensibles déclarées",
    "servicesNumeriques": "pas de service numérique livré déclaré",
}


def is_private(tender: Tender) -> bool:
    """A private buyer (company, association): the Code de la commande publique does not
    bind it (CCP L2, L1210-1)."""
    return tender.acheteur.type == BuyerType.prive


def climat_gate_applies(tender: Tender, clausier: Clausier) -> bool:
    """Whether the loi Climat obligations on award criteria and execution conditions
    (CCP L2152-7, L2112-2, in force on law.yaml's ``climat_gate.date``) bind this tender:
    launched on or after the gate, not a defence contract, not a private buyer."""
    return (
        tender.dateLancement >= clausier.law.climat_gate.date
        and not tender.defense
        and not is_private(tender)
    )


def effective_level(clause: Clause, tender: Tender, clausier: Clausier) -> str:
    """``mandatory`` or ``recommended`` for this tender's buyer.

    For a private buyer, a clause mandatory in the national clausier counts as
    recommended — unless law.yaml lists it in ``private_buyers.mandatory_for_all``
    (RGPD, code de l'environnement) or a policy layer made it mandatory (the buyer's own
    policy binds it).
    """
    if clause.level != "mandatory" or not is_private(tender):
        return clause.level
    if any(p.kind in ("niveau", "ajout") for p in clausier.origin(clause.id)):
        return "mandatory"
    private = clausier.law.private_buyers
    if private is not None and clause.id in private.mandatory_for_all:
        return "mandatory"
    return "recommended"


def is_applicable(clause: Clause, tender: Tender, clausier: Clausier) -> tuple[bool, str]:
    """Whether ``clause`` applies to ``tender``, and why not (French) when it does not.

    Conditions (all must hold) come from ``clause.applies``; the climat gate date and
    EU thresholds come from law.yaml at ``tender.dateLancement``.
    """
    for check in (_scope_excludes, _amount_excludes, _dates_exclude, _facts_exclude):
        why = check(clause, tender, clausier)
        if why:
            return False, why
    return True, ""


def _scope_excludes(clause: Clause, tender: Tender, clausier: Clausier) -> str:
    """Defence, purchase category, CPV code, buyer type."""
    a = clause.applies
    if a.exclude_defense and tender.defense:
        return "marché de défense ou de sécurité (exclu)"
    cats = set(tender.categories) | {c for lot in tender.lots for c in lot.categories}
    if a.categories and not cats.intersection(a.categories):
        return "catégorie d'achat non concernée"
    if a.cpv_prefixes and not any(tender.codeCPV.startswith(p) for p in a.cpv_prefixes):
        return "code CPV non concerné"
    if a.buyer_types and tender.acheteur.type not in a.buyer_types:
        return "type d'acheteur non concerné"
    return ""


def _amount_excludes(clause: Clause, tender: Tender, clausier: Clausier) -> str:
    """A minimum amount (€ HT): a number, or the EU threshold in force (law.yaml)."""
    a = clause.applies
    if a.min_amount is None:
        return ""
    if a.min_amount == "eu_threshold":
        threshold = clausier.law.supplies_services_threshold(
            tender.dateLancement, tender.acheteur.type == BuyerType.etat
        )
        if threshold is None:
            return "seuil européen inconnu à cette date (law.yaml)"
    else:
        threshold = float(a.min_amount)
    if tender.montant < threshold:
        return f"montant inférieur à {fmt.amount(threshold, decimals=0)}"
    return ""


def _dates_exclude(clause: Clause, tender: Tender, clausier: Clausier) -> str:
    """Launch date before ``from_date`` (or the Climat gate) or after ``until_date``."""
    a = clause.applies
    if a.from_date is not None:
        start = clausier.law.climat_gate.date if a.from_date == "climat_gate" else a.from_date
        if tender.dateLancement < start:
            return f"consultation lancée avant le {start:%d/%m/%Y}"
    if a.until_date is not None and tender.dateLancement > a.until_date:
        return f"consultation lancée après le {a.until_date:%d/%m/%Y}"
    return ""


def _facts_exclude(clause: Clause, tender: Tender, clausier: Clausier) -> str:
    """A fact of tender.yaml the clause requires (personal data, digital services…)."""
    for fact in clause.applies.requires:
        if not getattr(tender, fact):
            return _FACT_ABSENT[fact]
    return ""
