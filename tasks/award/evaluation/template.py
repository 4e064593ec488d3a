"""The commented evaluation.yaml template (``cahier evaluate --modele``), in French."""

from __future__ import annotations

import datetime as dt
import textwrap

from tasks import fmt
from tasks.dossier.model import CritereType, Tender

from .criteria import criteria_index, uses_tender_criteria
from .model import PLACEHOLDER, PRICE_TYPES, CriterionInfo


def _q(text: str) -> str:
    """A YAML scalar for any text (a JSON string is valid YAML)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def evaluation_template(tender: Tender, today: dt.date | None = None) -> str:
    """A commented ``evaluation/evaluation.yaml`` for ``tender``, to fill in (French).

    The criteria, their RC numbers and weights come from tender.yaml (so they pass the
    R2152-7 check as they are); the formula of a price/cost criterion defaults to
    ``pmin_sur_p`` (to align with the RC). Evaluators, offers and notes are left as
    « À COMPLÉTER », which :func:`parse_evaluation` refuses with the line until replaced.
    Comments explain every key, the formulas and the rules checked, so that the file is
    self-explanatory without the project documentation.
    """
    today = today or dt.date.today()
    head = _head_lines(tender, today)
    if uses_tender_criteria(tender):
        methods = _criteria_lines(criteria_index(tender), "  ")
    else:
        head[-1] = "criteres: {}  # chaque lot a ses propres critères : voir « lots »"
        methods = []
    first_lot = tender.lots[0].numero if tender.lots else None
    return (
        "\n".join(
            head
            + methods
            + _lots_lines(tender)
            + _offers_head_lines()
            + _offer_lines(tender, criteria_index(tender, first_lot))
            + _ATTRIBUTION_LINES
        )
        + "\n"
    )


def _head_lines(tender: Tender, today: dt.date) -> list[str]:
    """Title, dossier, evaluators, default scale, and the comment before ``criteres``."""
    todo = PLACEHOLDER
    return [
        f"# Analyse des offres — {textwrap.shorten(tender.objet, 90, placeholder=' …')}",
        f"# Dossier {tender.id} ; modèle écrit par « cahier evaluate --modele » le "
        f"{today:%d/%m/%Y} à partir de tender.yaml.",
        f"# Remplacez chaque « {todo} », puis lancez « cahier evaluate DOSSIER » (classement,",
        "# sensibilité aux critères environnementaux et sociaux, alertes), et « cahier archive ».",
        "# Montants en € HT, écrits comme des nombres : 262000.50 (point décimal, sans espace ni",
        "# symbole € ; « 262 000,50 € » est refusé). Pondérations en % de la note sur 100.",
        f"tender: {_q(tender.id)}  # identifiant de tender.yaml (contrôlé)",
        f"dateAnalyse: {today.isoformat()}  # date de l'analyse, AAAA-MM-JJ",
        "# Membres de la commission d'analyse ; « evaluateur » d'une note doit en faire partie.",
        "evaluateurs:",
        f"  - nom: {todo}  # prénom et nom",
        "    email: null  # facultatif",
        "    qualite: null  # facultatif : fonction (acheteur, référent environnement…)",
        "# Échelle des notes des critères qualitatifs (par défaut pour tous) ; points du critère",
        "# = poids × (note − min) / (max − min). Un critère peut avoir sa propre « echelle ».",
        "echelle:",
        "  min: 0",
        "  max: 4",
        "  ancres:",
        "    0: absence de réponse",
        "    1: réponse insuffisante",
        "    2: réponse partielle",
        "    3: réponse satisfaisante",
        "    4: réponse très satisfaisante",
        "# Méthode de notation de chaque critère du RC, par numéro (ordre des critères de",
        "# tender.yaml ; « 2.1 » = 1er sous-critère du critère 2). Les pondérations sont celles",
        "# annoncées au RC et ne peuvent pas changer (CCP art. R2152-7 et R2152-11). Un critère",
        "# à sous-critères est noté par ses sous-critères (ses points en sont la somme).",
        "# Prix ou coût : la formule annoncée au RC, avec P le prix de l'offre, Pmin et Pmax le",
        "# plus bas et le plus haut des offres non écartées du lot :",
        "#   pmin_sur_p     poids × Pmin / P",
        "#   ecart_relatif  poids × max(0, 1 − (P − Pmin) / Pmin)",
        "#   min_max        poids × (Pmax − P) / (Pmax − Pmin)",
        "criteres:",
    ]


def _criteria_lines(crit: dict[str, CriterionInfo], pad: str) -> list[str]:
    """One method per leaf criterion (weight of the RC, price formula), parents as
    comments; ``pad``: the indentation of the keys."""
    todo = PLACEHOLDER
    lines: list[str] = []
    if not crit:
        lines.append(
            f"{pad}# tender.yaml ne déclare aucun critère : recopiez ceux du RC. « {todo} »"
        )
        lines.append(f'{pad}"1": {{poids: {todo}}}')
    for code, c in crit.items():
        if not c.feuille:
            lines.append(
                f"{pad}# {code}. {c.nom} ({fmt.percent(c.poids)}) : noté par ses sous-critères "
                "ci-dessous"
            )
            continue
        extra = ", formule: pmin_sur_p" if c.type in PRICE_TYPES else ""
        note = "  # formule du RC" if extra else ""
        if c.type == CritereType.cout:
            note = "  # coût du cycle de vie : coutGlobal de chaque offre (R2152-9)"
        lines.append(f'{pad}"{code}": {{nom: {_q(c.nom)}, poids: {c.poids:g}{extra}}}{note}')
    return lines


def _lots_lines(tender: Tender) -> list[str]:
    """The ``lots`` block: methods of each lot that has its own criteria in tender.yaml."""
    own = [lot for lot in tender.lots if lot.criteres]
    if not own:
        return []
    lines = [
        "# Lots jugés sur leurs propres critères (tender.yaml, lots[].criteres ; CCP art.",
        "# R2152-7) : méthodes par numéro du RC du lot, comme sous « criteres », et critères",
        "# départageant les ex aequo du lot. Les notes d'une offre de ces lots suivent ces numéros.",
        "lots:",
    ]
    for lot in own:
        lines += [
            f"  {lot.numero}:  # {textwrap.shorten(lot.objet, 70, placeholder=' …')}",
            "    criteres:",
            *_criteria_lines(criteria_index(tender, lot.numero), "      "),
            "    departage: []",
        ]
    return lines


def _offers_head_lines() -> list[str]:
    """Tie-break, abnormally low thresholds, and the comment explaining an offer."""
    return [
        '# Critères départageant les ex aequo, dans l\'ordre prévu au RC (ex. ["3"] si le RC',
        "# classe premier le mieux noté sur le critère 3) ; vide : une égalité est signalée,",
        "# jamais tranchée en silence.",
        "departage: []",
        "# Offre anormalement basse : alerte (jamais un rejet) si le prix est sous seuilMoyenne %",
        "# de la moyenne des autres offres du lot, ou si la moins chère est à plus de ecartSecond %",
        "# sous la deuxième ; demandez des justifications écrites (CCP L2152-5, R2152-3).",
        "offresAnormalementBasses: {seuilMoyenne: 70, ecartSecond: 20}",
        "# Une entrée par offre reçue (une variante est une entrée de plus, variante: true).",
        "#   id : repère court (A, B…) ; siret : 14 chiffres (clé de contrôle vérifiée) ;",
        "#   prix : montant total en € HT, ou lignes du BPU/DQE :",
        "#     lignes: [{designation: …, quantite: 600, prixUnitaire: 310}]",
        "#   notes : une par critère qualitatif, note sur l'échelle et justification écrite",
        "#     (au moins 10 caractères ; elle sert à informer les candidats évincés,",
        "#     CCP art. R2181-1 et R2181-2) ; evaluateur : facultatif, un nom d'evaluateurs ;",
        "#   ecartee: « motif » pour une offre irrégulière, inacceptable ou anormalement basse",
        "#     rejetée après examen des justifications (elle n'est alors ni notée ni classée).",
        "offres:",
        "  - id: A",
        f"    soumissionnaire: {PLACEHOLDER}  # raison sociale",
        f'    siret: {PLACEHOLDER}  # 14 chiffres, entre guillemets : "44812345600015"',
    ]


def _offer_lines(tender: Tender, crit: dict[str, CriterionInfo]) -> list[str]:
    """One offer to fill in: lot, price, global cost, a note per qualitative leaf."""
    todo = PLACEHOLDER
    lines: list[str] = []
    if tender.lots:
        lots = ", ".join(str(lot.numero) for lot in tender.lots)
        lines.append(f"    lot: {tender.lots[0].numero}  # lots de tender.yaml : {lots}")
    lines.append(f"    prix: {todo}  # € HT")
    if any(c.feuille and c.type == CritereType.cout for c in crit.values()):
        lines.append(f"    coutGlobal: {todo}  # coût du cycle de vie, € HT")
    qualitative = [(code, c) for code, c in crit.items() if c.feuille and c.type not in PRICE_TYPES]
    if qualitative:
        lines.append("    notes:")
        for code, c in qualitative:
            lines.append(f"      # {code} {c.nom} ({fmt.percent(c.poids)})")
            lines.append(f'      "{code}": {{note: {todo}, justification: {todo}}}')
    return lines


#: The ``attribution`` block, commented out (filled in after the award).
_ATTRIBUTION_LINES = [
    "# Données d'attribution pour les données essentielles (DECP, cahier decp) : à",
    "# décommenter et compléter après le choix du titulaire.",
    "# attribution:",
    "#   dateNotification: 2026-12-18",
    "#   datePublicationDonnees: 2027-01-06",
    "#   formePrix: Unitaire  # Unitaire, Forfaitaire ou Mixte",
    "#   typesPrix: [Définitif révisable]",
    "#   modalitesExecution: [Bons de commande]  # Tranches, Marchés subséquents, Sans objet",
    '#   lieuExecution: {code: "33", typeCode: Code département}',
    "#   attributionAvance: false",
    "#   typeGroupementOperateurs: Pas de groupement  # ou Conjoint, Solidaire",
    "#   sousTraitanceDeclaree: false",
    "#   marcheInnovant: false",
    "#   titulaires: {1: [A]}  # par lot, repères des offres retenues (défaut : le lauréat)",
]
