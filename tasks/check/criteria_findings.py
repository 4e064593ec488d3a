"""Rules on the award criteria: as declared in tender.yaml, as written in the RC, and
against the buyer's policy layers.

- :func:`criteria_findings`: weights summing to 100 %, price as the only criterion, no
  environmental criterion after the Climat gate, responsible criteria under the weights
  recommended by law.yaml (CCP R2152-7 as amended by décret 2022-767; L2152-7).
- :func:`rc_weight_coherence`: the criteria read in the RC (or a notice,
  :mod:`tasks.check.criteria`) compared with tender.yaml, and their own problems.
- :func:`policy_findings`: the layers' minimum weights of responsible criteria.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tasks import fmt
from tasks.check.applicability import climat_gate_applies
from tasks.check.criteria import read_criteria
from tasks.check.criteria_model import _key
from tasks.clausier.library import Clausier
from tasks.clausier.rules import rule_basis, rule_clause, rule_severity
from tasks.dossier.document import PieceText
from tasks.dossier.model import (
    Critere,
    CritereType,
    Finding,
    Location,
    Tender,
)
from tasks.dossier.normalize import fold

__all__ = ["criteria_findings", "flatten", "policy_findings", "rc_weight_coherence"]


def flatten(criteres: Iterable[Critere]) -> list[Critere]:
    """The criteria and all their sub-criteria, depth first."""
    out: list[Critere] = []
    for c in criteres:
        out.append(c)
        out.extend(flatten(c.sousCriteres))
    return out


def _top_weight(crits: list[Critere]) -> float:
    """Weight (%) of these criteria, counting a sub-criterion only when its parent is not
    among them (its weight is already in its parent's)."""
    return sum(c.poids for c in crits if not any(c in p.sousCriteres for p in crits))


# ----------------------------------------------------------------- tender.yaml


class _Where:
    """Locations in tender.yaml of the criteria (``criteres.0.sousCriteres.1``…)."""

    def __init__(self, tender: Tender, tender_file: str, lines: dict[str, int]) -> None:
        self.file = tender_file
        self.lines = lines
        self.paths: dict[int, str] = {}
        self._index(tender.criteres, "criteres")
        self.criteres = Location(file=tender_file, line=lines.get("criteres"), heading="criteres")

    def _index(self, crits: list[Critere], prefix: str) -> None:
        for i, c in enumerate(crits):
            self.paths[id(c)] = f"{prefix}.{i}"
            self._index(c.sousCriteres, f"{prefix}.{i}.sousCriteres")

    def of(self, c: Critere) -> Location:
        path = self.paths[id(c)]
        return Location(
            file=self.file, line=self.lines.get(path) or self.lines.get("criteres"), heading=path
        )


def criteria_findings(
    tender: Tender,
    clausier: Clausier,
    rc: PieceText | None,
    tender_file: str,
    lines: dict[str, int] | None = None,
) -> list[Finding]:
    """Award-criteria rules (R2152-7 CCP as amended by décret 2022-767; L2152-7).

    Args:
        rc: the RC piece, if any (no declared criteria is a finding only with an RC).
        lines: tender.yaml line of each field path (``criteres.0``…).
    """
    where = _Where(tender, tender_file, lines or {})
    if not tender.criteres:
        return [] if rc is None else [_undeclared_criteria(where.criteres)]
    out = _weight_sums(tender, where)
    if climat_gate_applies(tender, clausier):
        out.extend(_climat_criteria(tender, clausier, where.criteres))
    out.extend(_responsible_weights(tender, clausier, where.criteres))
    return out


def _undeclared_criteria(loc: Location) -> Finding:
    return Finding(
        rule="criteres-absents",
        severity=rule_severity("criteres-absents"),
        location=loc,
        message=(
            "tender.yaml ne déclare pas les critères d'attribution : recopiez ceux du "
            "RC (nom, pondération en %, type) pour que leurs sommes et le critère "
            "environnemental soient contrôlés."
        ),
        legal_basis=rule_basis("criteres-absents"),
    )


def _weight_sums(tender: Tender, where: _Where) -> list[Finding]:
    """The criteria weigh 100 % in all; each criterion's sub-criteria weigh the criterion."""
    out: list[Finding] = []
    total = sum(c.poids for c in tender.criteres)
    if abs(total - 100) > 0.01:
        out.append(
            Finding(
                rule="ponderation-somme",
                severity=rule_severity("ponderation-somme"),
                location=where.criteres,
                message=f"La somme des pondérations des critères vaut {fmt.percent(total)} au lieu de 100 %.",
                fix="Corrigez les pondérations pour que leur somme fasse 100 %.",
                legal_basis=rule_basis("ponderation-somme"),
            )
        )
    for c in flatten(tender.criteres):
        if not c.sousCriteres:
            continue
        sub = sum(s.poids for s in c.sousCriteres)
        if abs(sub - c.poids) > 0.01:
            out.append(
                Finding(
                    rule="ponderation-somme",
                    severity=rule_severity("ponderation-somme"),
                    location=where.of(c),
                    message=(
                        f"Les sous-critères de « {c.nom} » totalisent {fmt.percent(sub)} alors que le "
                        f"critère pèse {fmt.percent(c.poids)}."
                    ),
                    legal_basis=rule_basis("ponderation-somme"),
                )
            )
    return out


def _climat_criteria(tender: Tender, clausier: Clausier, loc: Location) -> list[Finding]:
    """After the Climat gate: not the price alone, and an environmental criterion (or the
    global cost) among the criteria (CCP L2152-7, R2152-7)."""
    gate = clausier.law.climat_gate.date
    out: list[Finding] = []
    if len(tender.criteres) == 1 and tender.criteres[0].type == CritereType.prix:
        out.append(
            Finding(
                rule="prix-seul",
                severity=rule_severity("prix-seul"),
                location=loc,
                message=(
                    "Le prix est le seul critère d'attribution : depuis le "
                    f"{gate:%d/%m/%Y}, un critère unique doit être le coût "
                    "(approche globale intégrant les caractéristiques environnementales)."
                ),
                fix="Ajoutez un critère environnemental ou remplacez le prix par le coût global.",
                legal_basis=rule_basis("prix-seul"),
            )
        )
    env = [c for c in flatten(tender.criteres) if c.type == CritereType.environnement]
    cost = [c for c in tender.criteres if c.type == CritereType.cout]
    if not env and not cost:
        out.append(
            Finding(
                rule="critere-environnemental-absent",
                clause=rule_clause("critere-environnemental-absent", "critere"),
                severity=rule_severity("critere-environnemental-absent"),
                location=loc,
                message=(
                    "Aucun critère d'attribution ne prend en compte les caractéristiques "
                    "environnementales de l'offre (obligatoire pour les consultations lancées "
                    f"depuis le {gate:%d/%m/%Y})."
                ),
                legal_basis=rule_basis("critere-environnemental-absent"),
            )
        )
    return out


def _responsible_weights(tender: Tender, clausier: Clausier, loc: Location) -> list[Finding]:
    """MiNumEco guide: at least the weight of law.yaml (10 %) for each responsible
    criterion present."""
    weights = clausier.law.weights
    flat = flatten(tender.criteres)
    out: list[Finding] = []
    for kind, minimum, rule, clause_id, severity, label in (
        (
            CritereType.environnement,
            weights.environmental_min_recommended,
            "poids-environnemental-faible",
            rule_clause("poids-environnemental-faible", "critere"),
            rule_severity("poids-environnemental-faible"),
            "environnemental",
        ),
        (
            CritereType.social,
            weights.social_min_recommended,
            "poids-social-faible",
            rule_clause("poids-social-faible", "critere"),
            rule_severity("poids-social-faible"),
            "social",
        ),
    ):
        crits = [c for c in flat if c.type == kind]
        weight = _top_weight(crits)
        if crits and weight < minimum:
            out.append(
                Finding(
                    rule=rule,
                    clause=clause_id,
                    severity=severity,
                    location=loc,
                    message=(
                        f"Le critère {label} pèse {fmt.percent(weight)} : le guide des achats numériques "
                        f"responsables recommande au moins {fmt.percent(minimum)}."
                    ),
                    legal_basis=rule_basis(rule),
                )
            )
    return out


# ----------------------------------------------------------------- policy layers


def policy_findings(
    tender: Tender, clausier: Clausier, tender_file: str, lines: dict[str, int] | None
) -> list[Finding]:
    """The layers' own rules on award criteria: minimum weight (% of the total score)
    of the environmental and social criteria (``ponderations`` of a layer)."""
    out: list[Finding] = []
    if not clausier.policy_weights:
        return out
    flat = flatten(tender.criteres)
    kinds = {"environnement": CritereType.environnement, "social": CritereType.social}
    clause_of = {k: rule_clause("ponderation-politique", k) for k in kinds}
    for kind, rule in clausier.policy_weights.items():
        crits = [c for c in flat if c.type == kinds[kind]]
        weight = _top_weight(crits)
        if weight + 1e-9 >= rule.minimum:
            continue
        prov = rule.provenance
        out.append(
            Finding(
                rule="ponderation-politique",
                clause=clause_of[kind],
                severity=rule_severity("ponderation-politique"),
                location=Location(
                    file=tender_file, line=(lines or {}).get("criteres"), heading="criteres"
                ),
                message=(
                    f"Le critère {kind} pèse {fmt.percent(weight)} de la note"
                    + ("" if crits else " (aucun critère de ce type)")
                    + f" : la {prov.label()} exige au moins {fmt.percent(rule.minimum)} "
                    f"(couche « {prov.layer} » {prov.version})."
                ),
                fix=(
                    f"Portez la pondération du critère {kind} à {fmt.percent(rule.minimum)} au moins, "
                    "dans tender.yaml et dans le RC."
                ),
                legal_basis=[prov.reference()],
            )
        )
    return out


# ----------------------------------------------------------------- RC against tender.yaml

_GENERIC_WORDS = {
    "critere",
    "criteres",
    "sous",
    "note",
    "valeur",
    "performance",
    "qualite",
    "offre",
}


def _key_word(name: str) -> str | None:
    """The most distinctive word of a criterion name (« environnemental », « prix »)."""
    words = [w for w in re.findall(r"[a-z]{4,}", fold(name)) if w not in _GENERIC_WORDS]
    return max(words, key=len)[:9] if words else None


def _rc_loc(src) -> Location:
    """Location of a line read by :mod:`tasks.check.criteria`."""
    if src is None:
        return Location(file="")
    return Location(file=src.file, line=src.line, page=src.page, heading=src.heading)


def _match_read(read, declared: list[Critere]) -> Critere | None:
    """The tender.yaml criterion that a criterion read in the RC stands for: same name
    (folded), else the only one of its type, else the one sharing its key word."""
    by_name = [c for c in declared if _key(c.nom) == _key(read.nom)]
    if by_name:
        return by_name[0]
    same_type = [c for c in declared if c.type.value == read.type]
    if len(same_type) == 1:
        return same_type[0]
    key = _key_word(read.nom)
    if key:
        by_word = [c for c in declared if key in fold(c.nom)]
        if len(by_word) == 1:
            return by_word[0]
    return None


def rc_weight_coherence(
    tender: Tender, pieces: list[PieceText], tender_file: str, lines: dict[str, int]
) -> list[Finding]:
    """Criteria read in the RC (or a notice) compared with tender.yaml, and the problems
    of the criteria as written (sums, missing weights, two tables that disagree),
    located in the piece (:mod:`tasks.check.criteria`)."""
    read_from = [p for p in pieces if p.kind in ("rc", "avis") and p.lines]
    sets = read_criteria(read_from) if read_from else []
    if not sets:
        return []
    out = [f for cs in sets for f in _written_problems(cs)]
    first_of, discordant = _first_set_per_lot(sets)
    out.extend(discordant)
    for lot, cs in first_of.items():
        declared, where = _declared_for(tender, lot)
        if declared:
            out.extend(_compare_set(cs, declared, where, tender_file, lines))
    return out


def _written_problems(cs) -> list[Finding]:
    """The problems of one set of criteria as written (sums, missing weights)."""
    out: list[Finding] = []
    for pb in cs.problems:
        sums = pb.rule == "ponderation-somme"
        rule = "ponderation-somme-rc" if sums else pb.rule
        out.append(
            Finding(
                rule=rule,
                severity=rule_severity(rule),
                location=_rc_loc(pb.source),
                message=pb.message + (f" (lot {cs.lot})" if cs.lot is not None else ""),
                fix=(
                    "Corrigez les pondérations dans la pièce pour que leur somme fasse le "
                    "total annoncé (100 % ou le poids du critère)."
                    if sums
                    else "Indiquez la pondération de chaque critère (R2152-7 : les critères "
                    "sont pondérés dans les documents de la consultation)."
                ),
                legal_basis=rule_basis(rule),
            )
        )
    return out


def _first_set_per_lot(sets) -> tuple[dict, list[Finding]]:
    """The first set of criteria of each lot, and a finding for each later set of the same
    lot that disagrees with it."""
    first_of: dict[int | None, object] = {}
    out: list[Finding] = []
    for cs in sets:
        prev = first_of.get(cs.lot)
        if prev is None:
            first_of[cs.lot] = cs
            continue
        if prev.signature() != cs.signature():
            out.append(
                Finding(
                    rule="criteres-discordants",
                    severity=rule_severity("criteres-discordants"),
                    location=_rc_loc(cs.source),
                    message=(
                        "Deux énoncés des critères d'attribution ne concordent pas"
                        + (f" pour le lot {cs.lot}" if cs.lot is not None else "")
                        + f" : {_describe(prev)} ({_rc_loc(prev.source).label()}) contre "
                        f"{_describe(cs)} ici."
                    ),
                    fix="Gardez un seul énoncé des critères, ou alignez-les.",
                    legal_basis=rule_basis("criteres-discordants"),
                )
            )
    return first_of, out


def _declared_for(tender: Tender, lot: int | None) -> tuple[list[Critere], str]:
    """The criteria tender.yaml declares for ``lot`` (its own, else the tender's) and
    their field path."""
    if lot is not None:
        tl = next((x for x in tender.lots if x.numero == lot), None)
        if tl is not None and tl.criteres:
            return tl.criteres, f"lots.{tender.lots.index(tl)}.criteres"
    return tender.criteres, "criteres"


def _describe(cs) -> str:
    return "« " + ", ".join(f"{c.nom} {c.ecrit or '?'}" for c in cs.criteres) + " »"


def _incoherent(location: Location, message: str, fix: str | None = None) -> Finding:
    """``ponderation-incoherente``: the RC and tender.yaml disagree on a criterion."""
    return Finding(
        rule="ponderation-incoherente",
        severity=rule_severity("ponderation-incoherente"),
        location=location,
        message=message,
        fix=fix,
    )


def _compare_set(cs, declared: list[Critere], where: str, tender_file: str, lines) -> list[Finding]:
    """Each criterion read in the RC matched with a declared one (weights compared), and
    each declared criterion the RC does not name."""
    out: list[Finding] = []
    lot = f" (lot {cs.lot})" if cs.lot is not None else ""
    used: set[int] = set()
    for rc_c in cs.criteres:
        mine = _match_read(rc_c, [c for c in declared if id(c) not in used])
        at = _rc_loc(rc_c.source)
        if mine is None:
            message = (
                f"Le RC note le critère « {rc_c.nom} » ({rc_c.ecrit or 'sans poids'})"
                f"{lot} que tender.yaml ne déclare pas."
            )
            fix = f"Ajoutez-le à tender.yaml ({where}) avec sa pondération."
            out.append(_incoherent(at, message, fix))
            continue
        used.add(id(mine))
        if rc_c.poids is not None and abs(rc_c.poids - mine.poids) > 0.01:
            message = (
                f"Le critère « {mine.nom} »{lot} pèse {fmt.percent(mine.poids)} dans tender.yaml "
                f"mais le RC indique {rc_c.ecrit} (soit {fmt.percent(rc_c.poids)})."
            )
            fix = "Alignez la pondération de tender.yaml sur celle du RC (ou l'inverse)."
            out.append(_incoherent(at, message, fix))
        out.extend(_compare_sub_criteria(rc_c, mine, lot))
    for i, c in enumerate(declared):
        if id(c) in used:
            continue
        at = Location(
            file=tender_file,
            line=lines.get(f"{where}.{i}") or lines.get(where),
            heading=f"{where}.{i}",
        )
        message = (
            f"Le critère « {c.nom} » ({fmt.percent(c.poids)}) de tender.yaml{lot} n'apparaît "
            "pas parmi les critères lus dans le RC."
        )
        out.append(_incoherent(at, message))
    return out


def _compare_sub_criteria(rc_c, mine: Critere, lot: str) -> list[Finding]:
    """The sub-criteria of one criterion read in the RC against the declared ones."""
    out: list[Finding] = []
    sub_used: set[int] = set()
    for rs in rc_c.sous:
        ms = _match_read(rs, [c for c in mine.sousCriteres if id(c) not in sub_used])
        if ms is None:
            if mine.sousCriteres:
                message = (
                    f"Le RC note le sous-critère « {rs.nom} » ({rs.ecrit}) de "
                    f"« {mine.nom} »{lot} que tender.yaml ne déclare pas."
                )
                out.append(_incoherent(_rc_loc(rs.source), message))
            continue
        sub_used.add(id(ms))
        if rs.poids is not None and abs(rs.poids - ms.poids) > 0.05:
            unit = f" ({rs.unite})" if rs.unite else ""
            message = (
                f"Le sous-critère « {ms.nom} »{lot} pèse {fmt.percent(ms.poids)} dans "
                f"tender.yaml mais le RC indique {rs.ecrit}{unit}, "
                f"soit {fmt.percent(rs.poids)} de la note totale."
            )
            out.append(_incoherent(_rc_loc(rs.source), message))
    return out
