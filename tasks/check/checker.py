"""The checker: which responsible clauses a dossier has, lacks, altered or wrote by hand.

``check_dossier(dossier, clausier)`` returns a :class:`~tasks.dossier.model.CheckReport`. For
each clause of the clausier it decides applicability from tender.yaml and law.yaml
(values in force on ``dateLancement``), then the clause's status:

* ``present``: a ``clause("ID")`` call, or a fenced div whose text is the library's
  rendering (any parameter values);
* ``edited``: a fenced div whose text differs (flagged for the clause's referent);
* ``waived``: a waiver with a reason in tender.yaml (flagged for approval);
* ``hand-written``: recognised by the clause's evidence (acts, lemmas and cues:
  tasks/clausier/recognition.py) in any piece, the best-matching block first;
* ``missing``: error when the clause is mandatory and applicable, warning when it is
  recommended; ``not-applicable`` otherwise.

Then structured rules on the award criteria (tender.yaml and RC text), coherence
between pieces and drafting defects. Rules are identified by stable ids (``rule``)
listed in :data:`RULES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tasks.check.accessibility import ACCESSIBILITY_RULES, accessibility_findings
from tasks.check.reading import READING_RULES, reading_findings, usable_or_raise
from tasks.clausier.library import Clausier
from tasks.clausier.recognition import Hit, Recognizer
from tasks.clausier.render import (
    CLAUSE_CALL_RE,
    FENCE_CLOSE_RE,
    FENCE_OPEN_RE,
    clause_block,
    clause_param_errors,
    fence_attrs,
    match_clause,
    parse_call_args,
)
from tasks.dossier.document import PieceText
from tasks.dossier.model import (
    BuyerType,
    CheckReport,
    Clause,
    Critere,
    CritereType,
    FamilyResult,
    FamilyStatus,
    Finding,
    LegalReference,
    Location,
    Severity,
    Tender,
)
from tasks.dossier.reader import Dossier
from tasks.errors import InputError

__all__ = ["RULES", "check_dossier", "effective_level", "is_applicable", "is_private"]

CCP = "https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000037701019"

#: Rule ids and their short French titles (SARIF rule metadata, documentation).
RULES: dict[str, str] = {
    "clause-manquante": "Clause obligatoire absente",
    "clause-recommandee-absente": "Clause recommandée absente",
    "clause-modifiee": "Clause du clausier modifiée",
    "clause-version-perimee": "Clause d'une version antérieure du clausier",
    "clause-version-inconnue": "Version de clause inconnue du clausier",
    "clause-parametre-invalide": "Valeur de paramètre hors des bornes du clausier",
    "clause-redigee-main": "Clause rédigée à la main (équivalent reconnu)",
    "hors-piece-attendue": "Clause reconnue hors de la pièce où elle est attendue",
    "clause-non-verifiable": "Clause non trouvée dans un texte lu de façon non fiable",
    "derogation": "Clause écartée par dérogation motivée",
    "piece-attendue-absente": "Pièce attendue absente du dossier",
    "criteres-absents": "Critères d'attribution non déclarés",
    "ponderation-somme": "Pondérations dont la somme est incorrecte",
    "prix-seul": "Attribution sur le seul critère du prix",
    "critere-environnemental-absent": "Aucun critère environnemental",
    "poids-environnemental-faible": "Critère environnemental sous la pondération recommandée",
    "poids-social-faible": "Critère social sous la pondération recommandée",
    "critere-sans-condition": "Critère environnemental sans condition d'exécution",
    "ponderation-incoherente": "Pondération différente entre tender.yaml et le RC",
    "texte-a-completer": "Texte à compléter (gabarit non rempli)",
    "options-non-tranchees": "Options du modèle non tranchées",
    "signet-non-defini": "Renvoi Word cassé (« Erreur ! Signet non défini. »)",
    "gabarit-invalide": "Modèle Jinja2 invalide (syntaxe, variable inconnue)",
    "gabarit-non-sur": "Construction de modèle refusée par le bac à sable",
    "reference-article-inexistante": "Renvoi à un article qui n'existe pas",
    "ccag-incoherent": "CCAG cité différent du CCAG déclaré",
    "procedure-incoherente": "Procédure adaptée au-delà du seuil européen",
    "derogation-incoherente": "Dérogation en double ou à une clause présente",
    "identifiant-dossier": "Identifiant différent du nom du dossier",
    "ponderation-politique": "Critère responsable sous le minimum de la politique d'achat locale",
}
RULES.update(ACCESSIBILITY_RULES)
RULES.update(READING_RULES)

_CCAG_ALIASES = {
    "Techniques de l'information et de la communication": "tic",
    "Fournitures courantes et services": "fcs",
    "Prestations intellectuelles": "pi",
    "Travaux": "travaux",
    "Marchés industriels": "mi",
    "Maitrise d'œuvre": "moe",
}
_CCAG_CITED = re.compile(
    r"\bccag[\s-]*(?:(?P<tic>tic\b|techniques de l'information)|(?P<fcs>fcs\b|fournitures courantes)"
    r"|(?P<pi>pi\b|prestations intellectuelles)|(?P<mi>mi\b|marches industriels)"
    r"|(?P<travaux>travaux\b)|(?P<moe>moe\b|maitrise d'oeuvre))"
)
_CCAG_LABEL = {
    "tic": "CCAG-TIC",
    "fcs": "CCAG-FCS",
    "pi": "CCAG-PI",
    "mi": "CCAG-MI",
    "travaux": "CCAG-Travaux",
    "moe": "CCAG-MOE",
}
_PLACEHOLDER = re.compile(
    r"\[\s*(?:pr[ée]ciser|a compl[ée]ter|à compl[ée]ter|compl[ée]ter|ins[ée]rer|indiquer|xx+)[^\]]{0,80}\]"
    r"|\bXX\s?%|\bXX\s?(?:€|euros|jours|mois|ans)\b|\bX\s?%",
    re.IGNORECASE,
)
_MAX_PLACEHOLDERS = 10  # detailed per piece; the others are counted in one finding
_DOTS = re.compile(r"(?:\.{6,}|…{3,}|_{6,})")
_BOOKMARK = re.compile(
    r"erreur\s*!\s*(?:signet non d[ée]fini|source du renvoi introuvable|r[ée]f[ée]rence de lien hypertexte non valide)"
    r"|error!\s*(?:bookmark not defined|reference source not found)",
    re.IGNORECASE,
)
_OPTION = re.compile(r"^\s*(?:[-*•]\s*)?option\s+([12])\s*:", re.IGNORECASE)
_SELF_REF = re.compile(r"\barticles?\s+(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\b(?P<tail>[^.;]{0,40})")
_SELF_TAIL = re.compile(
    r"^\s*(?:\S+\s+){0,2}?(?:du|de ce|de la|au)\s+pr[ée]sent\s+(ccap|cctp|cahier|document|r[èe]glement|rc)\b|^\s*(?:ci-dessus|ci-dessous|ci-apr[èe]s)"
)
_OTHER_REF = re.compile(
    r"\barticles?\s+(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\s+du\s+(?P<kind>ccap|cctp)\b", re.IGNORECASE
)
_PERCENT = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s?%")
_EXPECTED_PIECES = {
    "rc": "règlement de la consultation",
    "ccap": "cahier des clauses administratives particulières",
    "cctp": "cahier des clauses techniques particulières",
}
_EXPECTED_WHY = {
    "rc": "les critères d'attribution et leurs pondérations ne peuvent pas être contrôlés.",
    "ccap": "les conditions d'exécution (environnementales, sociales) ne peuvent pas être contrôlées.",
    "cctp": "les spécifications techniques ne peuvent pas être contrôlées.",
}
_DRAFTING_KINDS = {"rc", "ccap", "cctp", "annexe", "autre"}


@dataclass
class _Found:
    status: FamilyStatus
    locations: list[Location]
    version: int | None = None


# ----------------------------------------------------------------- applicability


def is_private(tender: Tender) -> bool:
    """A private buyer (company, association): the Code de la commande publique does not
    bind it (CCP L2, L1210-1)."""
    return tender.acheteur.type == BuyerType.prive


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
    a = clause.applies
    law = clausier.law
    if a.exclude_defense and tender.defense:
        return False, "marché de défense ou de sécurité (exclu)"
    cats = set(tender.categories) | {c for lot in tender.lots for c in lot.categories}
    if a.categories and not cats.intersection(a.categories):
        return False, "catégorie d'achat non concernée"
    if a.cpv_prefixes and not any(tender.codeCPV.startswith(p) for p in a.cpv_prefixes):
        return False, "code CPV non concerné"
    if a.buyer_types and tender.acheteur.type not in a.buyer_types:
        return False, "type d'acheteur non concerné"
    if a.min_amount is not None:
        if a.min_amount == "eu_threshold":
            threshold = law.supplies_services_threshold(
                tender.dateLancement, tender.acheteur.type == BuyerType.etat
            )
            if threshold is None:
                return False, "seuil européen inconnu à cette date (law.yaml)"
        else:
            threshold = float(a.min_amount)
        if tender.montant < threshold:
            return False, f"montant inférieur à {threshold:,.0f} € HT".replace(",", " ")
    if a.from_date is not None:
        start = law.climat_gate.date if a.from_date == "climat_gate" else a.from_date
        if tender.dateLancement < start:
            return False, f"consultation lancée avant le {start:%d/%m/%Y}"
    if a.until_date is not None and tender.dateLancement > a.until_date:
        return False, f"consultation lancée après le {a.until_date:%d/%m/%Y}"
    for fact in a.requires:
        if not getattr(tender, fact):
            return False, {
                "donneesPersonnelles": "pas de traitement de données personnelles déclaré",
                "donneesSensibles": "pas de données sensibles déclarées",
                "servicesNumeriques": "pas de service numérique livré déclaré",
            }[fact]
    return True, ""


# ----------------------------------------------------------------- detection


def _first_unreadable(pieces: list[PieceText]) -> Location | None:
    """Where the first text the reader flags as unreliable is (file and page), if any."""
    for p in pieces:
        if not p.has_text_layer:
            return Location(file=p.path)
        model = getattr(p, "model", None)
        pages = model.unreliable_pages() if model is not None else []
        if pages:
            return Location(file=p.path, page=pages[0])
        if model is not None and not model.is_reliable():
            return Location(file=p.path)
        for i, line in enumerate(p.lines):
            if not getattr(line, "reliable", True):
                return Location(
                    file=p.path, page=line.page, line=line.src_line, heading=p.heading_of(i)
                )
    return None


_RECOGNIZERS: dict[int, Recognizer] = {}


def _recognizer(clausier: Clausier) -> Recognizer:
    """One recognizer per loaded clausier (its word keys are cached for the process)."""
    rec = _RECOGNIZERS.get(id(clausier.vocabulary))
    if rec is None:
        if clausier.vocabulary is None:
            raise InputError(
                "clausier sans recognition.yaml : reconnaissance impossible.", str(clausier.root)
            )
        _RECOGNIZERS.clear()
        rec = _RECOGNIZERS[id(clausier.vocabulary)] = Recognizer(clausier.vocabulary)
    rec.forget()
    return rec


def _loc(piece: PieceText, index: int) -> Location:
    line = piece.lines[index]
    return Location(
        file=piece.path, line=line.src_line, page=line.page, heading=piece.heading_of(index)
    )


def _scan_library_clauses(
    pieces: list[PieceText], clausier: Clausier
) -> tuple[dict[str, _Found], list[Finding]]:
    """``clause()`` calls and fenced divs in Markdown pieces."""
    found: dict[str, _Found] = {}
    findings: list[Finding] = []

    def add(cid: str, status: FamilyStatus, loc: Location, version: int | None) -> None:
        cur = found.get(cid)
        if cur is None:
            found[cid] = _Found(status, [loc], version)
            return
        cur.locations.append(loc)
        if status == FamilyStatus.edited:
            cur.status = FamilyStatus.edited

    for piece in pieces:
        src = piece.raw_source
        if not src:
            continue
        for m in CLAUSE_CALL_RE.finditer(src):
            line = src.count("\n", 0, m.start()) + 1
            cid, params = parse_call_args(m["args"], piece.path, line)
            clause = clausier.get(cid)
            if clause is None:
                raise InputError(
                    f"clause « {cid} » inconnue du clausier {clausier.version} "
                    "(voir « cahier clauses list »).",
                    piece.path,
                    line,
                )
            from tasks.clausier.render import validate_params

            tightened = {
                prov.parameter
                for prov in clausier.origin(cid)
                if prov.kind == "parametre" and prov.parameter in clause.parameters
            }
            if tightened:
                merged = {n: params.get(n, clause.parameters[n].default) for n in tightened}
                bad = clause_param_errors(clause, merged)
                if bad:
                    findings.append(
                        Finding(
                            rule="clause-parametre-invalide",
                            clause=cid,
                            severity=Severity.error,
                            status=FamilyStatus.present,
                            location=Location(
                                file=piece.path, line=line, heading=piece.heading_at_src(line)
                            ),
                            message=(
                                f"La clause {cid} (« {clause.title} ») porte des valeurs hors "
                                f"des bornes de la politique d'achat : {' ; '.join(bad)}."
                            ),
                            fix=clause_block(clause),
                            legal_basis=clause.legal_basis,
                        )
                    )
                    loose = {
                        n: (
                            p.model_copy(update={"min": None, "max": None}) if n in tightened else p
                        )
                        for n, p in clause.parameters.items()
                    }
                    validate_params(
                        clause.model_copy(update={"parameters": loose}),
                        params,
                        f"{piece.path}:{line}",
                    )
                else:
                    validate_params(clause, params, f"{piece.path}:{line}")
            else:
                validate_params(clause, params, f"{piece.path}:{line}")
            add(
                cid,
                FamilyStatus.present,
                Location(file=piece.path, line=line, heading=piece.heading_at_src(line)),
                clause.version,
            )
        lines = src.split("\n")
        i = 0
        while i < len(lines):
            m = FENCE_OPEN_RE.match(lines[i])
            if not m:
                i += 1
                continue
            attrs = fence_attrs(m["attrs"])
            start = i
            j = i + 1
            while j < len(lines) and not FENCE_CLOSE_RE.match(lines[j]):
                j += 1
            body = "\n".join(lines[start + 1 : j])
            i = j + 1
            cid = attrs.get("id", "")
            clause = clausier.get(cid)
            loc = Location(file=piece.path, line=start + 1, heading=piece.heading_at_src(start + 1))
            if clause is None:
                raise InputError(
                    f"bloc de clause « {cid or '(sans data-id)'} » inconnu du clausier "
                    f"{clausier.version}.",
                    piece.path,
                    start + 1,
                )
            try:
                version = int(attrs.get("version", "0"))
            except ValueError:
                version = 0
            values = match_clause(clause, body)
            bad = clause_param_errors(clause, values) if values is not None else []
            same = values is not None and not bad
            status = FamilyStatus.present if same else FamilyStatus.edited
            add(cid, status, loc, version)
            if bad:
                findings.append(
                    Finding(
                        rule="clause-parametre-invalide",
                        clause=cid,
                        severity=Severity.error,
                        status=status,
                        location=loc,
                        message=(
                            f"La clause {cid} (« {clause.title} ») porte des valeurs hors des "
                            f"bornes du clausier : {' ; '.join(bad)}."
                        ),
                        fix=clause_block(clause),
                        legal_basis=clause.legal_basis,
                    )
                )
            if version > clause.version:
                findings.append(
                    Finding(
                        rule="clause-version-inconnue",
                        clause=cid,
                        severity=Severity.warning,
                        status=status,
                        location=loc,
                        message=(
                            f"La clause {cid} se dit en version {version}, que le clausier "
                            f"{clausier.version} ne connaît pas (dernière version : "
                            f"{clause.version}) : utilisez-vous un clausier plus récent ?"
                        ),
                        legal_basis=clause.legal_basis,
                    )
                )
            if version and version < clause.version:
                findings.append(
                    Finding(
                        rule="clause-version-perimee",
                        clause=cid,
                        severity=Severity.warning,
                        status=status,
                        location=loc,
                        message=(
                            f"La clause {cid} est en version {version} ; le clausier "
                            f"{clausier.version} contient la version {clause.version}. "
                            "Mettez-la à jour (le référent validera la nouvelle rédaction)."
                        ),
                        fix=clause_block(clause),
                        legal_basis=clause.legal_basis,
                    )
                )
            if values is None:
                findings.append(
                    Finding(
                        rule="clause-modifiee",
                        clause=cid,
                        severity=Severity.warning,
                        status=FamilyStatus.edited,
                        location=loc,
                        message=(
                            f"Le texte de la clause {cid} (« {clause.title} ») a été modifié par "
                            f"rapport au clausier : la modification doit être validée par le "
                            f"référent {clause.review_role}."
                        ),
                        fix=clause_block(clause),
                        legal_basis=clause.legal_basis,
                    )
                )
    return found, findings


# ----------------------------------------------------------------- criteria


def _flatten(criteres: Iterable[Critere]) -> list[Critere]:
    out: list[Critere] = []
    for c in criteres:
        out.append(c)
        out.extend(_flatten(c.sousCriteres))
    return out


def _criteria_findings(
    tender: Tender,
    clausier: Clausier,
    rc: PieceText | None,
    tender_file: str,
    lines: dict[str, int] | None = None,
) -> list[Finding]:
    """Award-criteria rules (R2152-7 CCP as amended by décret 2022-767; L2152-7)."""
    law = clausier.law
    out: list[Finding] = []
    lines = lines or {}
    loc_yaml = Location(file=tender_file, line=lines.get("criteres"), heading="criteres")

    def loc_of(path: str) -> Location:
        return Location(
            file=tender_file, line=lines.get(path) or lines.get("criteres"), heading=path
        )

    paths: dict[int, str] = {}

    def index(crits: list[Critere], prefix: str) -> None:
        for i, c in enumerate(crits):
            paths[id(c)] = f"{prefix}.{i}"
            index(c.sousCriteres, f"{prefix}.{i}.sousCriteres")

    index(tender.criteres, "criteres")
    gate = (
        tender.dateLancement >= law.climat_gate.date
        and not tender.defense
        and not is_private(tender)
    )
    r2152 = [LegalReference(ref="Code de la commande publique, art. R2152-7", url=CCP)]
    l2152 = [LegalReference(ref="Code de la commande publique, art. L2152-7", url=CCP)]
    if not tender.criteres:
        if rc is not None:
            out.append(
                Finding(
                    rule="criteres-absents",
                    severity=Severity.warning,
                    location=loc_yaml,
                    message=(
                        "tender.yaml ne déclare pas les critères d'attribution : recopiez ceux du "
                        "RC (nom, pondération en %, type) pour que leurs sommes et le critère "
                        "environnemental soient contrôlés."
                    ),
                    legal_basis=r2152,
                )
            )
        return out
    total = sum(c.poids for c in tender.criteres)
    if abs(total - 100) > 0.01:
        out.append(
            Finding(
                rule="ponderation-somme",
                severity=Severity.error,
                location=loc_yaml,
                message=f"La somme des pondérations des critères vaut {total:g} % au lieu de 100 %.",
                fix="Corrigez les pondérations pour que leur somme fasse 100 %.",
                legal_basis=r2152,
            )
        )
    for c in _flatten(tender.criteres):
        if c.sousCriteres:
            sub = sum(s.poids for s in c.sousCriteres)
            if abs(sub - c.poids) > 0.01:
                out.append(
                    Finding(
                        rule="ponderation-somme",
                        severity=Severity.error,
                        location=loc_of(paths[id(c)]),
                        message=(
                            f"Les sous-critères de « {c.nom} » totalisent {sub:g} % alors que le "
                            f"critère pèse {c.poids:g} %."
                        ),
                        legal_basis=r2152,
                    )
                )
    flat = _flatten(tender.criteres)
    env = [c for c in flat if c.type in (CritereType.environnement,)]
    cost = [c for c in tender.criteres if c.type == CritereType.cout]
    soc = [c for c in flat if c.type == CritereType.social]
    if gate:
        if len(tender.criteres) == 1 and tender.criteres[0].type == CritereType.prix:
            out.append(
                Finding(
                    rule="prix-seul",
                    severity=Severity.error,
                    location=loc_yaml,
                    message=(
                        "Le prix est le seul critère d'attribution : depuis le "
                        f"{law.climat_gate.date:%d/%m/%Y}, un critère unique doit être le coût "
                        "(approche globale intégrant les caractéristiques environnementales)."
                    ),
                    fix="Ajoutez un critère environnemental ou remplacez le prix par le coût global.",
                    legal_basis=r2152,
                )
            )
        if not env and not cost:
            out.append(
                Finding(
                    rule="critere-environnemental-absent",
                    clause="ENV-CRIT-01",
                    severity=Severity.error,
                    location=loc_yaml,
                    message=(
                        "Aucun critère d'attribution ne prend en compte les caractéristiques "
                        "environnementales de l'offre (obligatoire pour les consultations lancées "
                        f"depuis le {law.climat_gate.date:%d/%m/%Y})."
                    ),
                    legal_basis=l2152,
                )
            )
    # MiNumEco guide: at least 10 % (law.yaml weights) for each responsible criterion.
    for crits, minimum, rule, clause_id, severity, label, basis in (
        (
            env,
            law.weights.environmental_min_recommended,
            "poids-environnemental-faible",
            "ENV-CRIT-01",
            Severity.warning,
            "environnemental",
            l2152,
        ),
        (
            soc,
            law.weights.social_min_recommended,
            "poids-social-faible",
            "SOC-CRIT-01",
            Severity.info,
            "social",
            r2152,
        ),
    ):
        # top-level weight only: a sub-criterion's weight is already in its parent's
        weight = sum(c.poids for c in crits if not any(c in p.sousCriteres for p in crits))
        if crits and weight < minimum:
            out.append(
                Finding(
                    rule=rule,
                    clause=clause_id,
                    severity=severity,
                    location=loc_yaml,
                    message=(
                        f"Le critère {label} pèse {weight:g} % : le guide des achats numériques "
                        f"responsables recommande au moins {minimum:g} %."
                    ),
                    legal_basis=basis,
                )
            )
    return out


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
    from tasks.dossier.normalize import fold

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
    from tasks.check.criteria import _key

    by_name = [c for c in declared if _key(c.nom) == _key(read.nom)]
    if by_name:
        return by_name[0]
    same_type = [c for c in declared if c.type.value == read.type]
    if len(same_type) == 1:
        return same_type[0]
    key = _key_word(read.nom)
    if key:
        by_word = [c for c in declared if key in fold_name(c.nom)]
        if len(by_word) == 1:
            return by_word[0]
    return None


def fold_name(name: str) -> str:
    from tasks.dossier.normalize import fold

    return fold(name)


def _rc_weight_coherence(
    tender: Tender, pieces: list[PieceText], tender_file: str, lines: dict[str, int]
) -> list[Finding]:
    """Criteria read in the RC (or a notice) compared with tender.yaml, and the problems
    of the criteria as written (sums, missing weights, two tables that disagree),
    located in the piece (:mod:`tasks.check.criteria`)."""
    from tasks.check.criteria import read_criteria

    read_from = [p for p in pieces if p.kind in ("rc", "avis") and p.lines]
    if not read_from:
        return []
    sets = read_criteria(read_from)
    if not sets:
        return []
    r2152 = [LegalReference(ref="Code de la commande publique, art. R2152-7", url=CCP)]
    out: list[Finding] = []
    for cs in sets:
        for pb in cs.problems:
            out.append(
                Finding(
                    rule=pb.rule if pb.rule != "ponderation-somme" else "ponderation-somme-rc",
                    severity=Severity.error if pb.rule == "ponderation-somme" else Severity.warning,
                    location=_rc_loc(pb.source),
                    message=pb.message + (f" (lot {cs.lot})" if cs.lot is not None else ""),
                    fix=(
                        "Corrigez les pondérations dans la pièce pour que leur somme fasse le "
                        "total annoncé (100 % ou le poids du critère)."
                        if pb.rule == "ponderation-somme"
                        else "Indiquez la pondération de chaque critère (R2152-7 : les critères "
                        "sont pondérés dans les documents de la consultation)."
                    ),
                    legal_basis=r2152,
                )
            )
    # two sets of the same lot that disagree
    first_of: dict[int | None, object] = {}
    for cs in sets:
        prev = first_of.get(cs.lot)
        if prev is None:
            first_of[cs.lot] = cs
            continue
        if prev.signature() != cs.signature():
            out.append(
                Finding(
                    rule="criteres-discordants",
                    severity=Severity.warning,
                    location=_rc_loc(cs.source),
                    message=(
                        "Deux énoncés des critères d'attribution ne concordent pas"
                        + (f" pour le lot {cs.lot}" if cs.lot is not None else "")
                        + f" : {_describe(prev)} ({_rc_loc(prev.source).label()}) contre "
                        f"{_describe(cs)} ici."
                    ),
                    fix="Gardez un seul énoncé des critères, ou alignez-les.",
                    legal_basis=r2152,
                )
            )
    for lot, cs in first_of.items():
        declared = tender.criteres
        where = "criteres"
        if lot is not None:
            tl = next((x for x in tender.lots if x.numero == lot), None)
            if tl is not None and tl.criteres:
                li = tender.lots.index(tl)
                declared, where = tl.criteres, f"lots.{li}.criteres"
        if not declared:
            continue
        out.extend(_compare_set(cs, declared, where, tender_file, lines))
    return out


def _describe(cs) -> str:
    return "« " + ", ".join(f"{c.nom} {c.ecrit or '?'}" for c in cs.criteres) + " »"


def _compare_set(cs, declared: list[Critere], where: str, tender_file: str, lines) -> list[Finding]:
    out: list[Finding] = []
    lot = f" (lot {cs.lot})" if cs.lot is not None else ""
    used: set[int] = set()
    for rc_c in cs.criteres:
        mine = _match_read(rc_c, [c for c in declared if id(c) not in used])
        if mine is None:
            out.append(
                Finding(
                    rule="ponderation-incoherente",
                    severity=Severity.warning,
                    location=_rc_loc(rc_c.source),
                    message=(
                        f"Le RC note le critère « {rc_c.nom} » ({rc_c.ecrit or 'sans poids'})"
                        f"{lot} que tender.yaml ne déclare pas."
                    ),
                    fix=f"Ajoutez-le à tender.yaml ({where}) avec sa pondération.",
                )
            )
            continue
        used.add(id(mine))
        if rc_c.poids is not None and abs(rc_c.poids - mine.poids) > 0.01:
            out.append(
                Finding(
                    rule="ponderation-incoherente",
                    severity=Severity.warning,
                    location=_rc_loc(rc_c.source),
                    message=(
                        f"Le critère « {mine.nom} »{lot} pèse {mine.poids:g} % dans tender.yaml "
                        f"mais le RC indique {rc_c.ecrit} (soit {rc_c.poids:g} %)."
                    ),
                    fix="Alignez la pondération de tender.yaml sur celle du RC (ou l'inverse).",
                )
            )
        sub_used: set[int] = set()
        for rs in rc_c.sous:
            ms = _match_read(rs, [c for c in mine.sousCriteres if id(c) not in sub_used])
            if ms is None:
                if mine.sousCriteres:
                    out.append(
                        Finding(
                            rule="ponderation-incoherente",
                            severity=Severity.warning,
                            location=_rc_loc(rs.source),
                            message=(
                                f"Le RC note le sous-critère « {rs.nom} » ({rs.ecrit}) de "
                                f"« {mine.nom} »{lot} que tender.yaml ne déclare pas."
                            ),
                        )
                    )
                continue
            sub_used.add(id(ms))
            if rs.poids is not None and abs(rs.poids - ms.poids) > 0.05:
                out.append(
                    Finding(
                        rule="ponderation-incoherente",
                        severity=Severity.warning,
                        location=_rc_loc(rs.source),
                        message=(
                            f"Le sous-critère « {ms.nom} »{lot} pèse {ms.poids:g} % dans "
                            f"tender.yaml mais le RC indique {rs.ecrit}"
                            + (f" ({rs.unite})" if rs.unite else "")
                            + f", soit {rs.poids:g} % de la note totale."
                        ),
                    )
                )
    for c in declared:
        if id(c) not in used:
            i = declared.index(c)
            out.append(
                Finding(
                    rule="ponderation-incoherente",
                    severity=Severity.warning,
                    location=Location(
                        file=tender_file,
                        line=lines.get(f"{where}.{i}") or lines.get(where),
                        heading=f"{where}.{i}",
                    ),
                    message=(
                        f"Le critère « {c.nom} » ({c.poids:g} %) de tender.yaml{lot} n'apparaît "
                        "pas parmi les critères lus dans le RC."
                    ),
                )
            )
    return out


# ----------------------------------------------------------------- drafting


def _drafting_findings(pieces: list[PieceText], tender: Tender) -> list[Finding]:
    out: list[Finding] = []
    declared = _CCAG_ALIASES.get(tender.ccag)
    by_kind: dict[str, PieceText] = {}
    for p in pieces:
        by_kind.setdefault(p.kind, p)
    for piece in pieces:
        if not piece.lines:
            continue
        numbers = piece.section_numbers()
        option_seen: dict[str, int] = {}
        placeholder_count = 0
        for i, line in enumerate(piece.lines):
            text = line.text
            if piece.kind in _DRAFTING_KINDS or piece.kind == "ae":
                for m in _PLACEHOLDER.finditer(text):
                    placeholder_count += 1
                    if placeholder_count > _MAX_PLACEHOLDERS:
                        continue
                    out.append(
                        Finding(
                            rule="texte-a-completer",
                            severity=Severity.error,
                            location=_loc(piece, i),
                            message=f"Texte à compléter laissé dans la pièce : « {m.group(0)} ».",
                            fix="Remplacez l'indication entre crochets par la valeur retenue.",
                        )
                    )
            if _BOOKMARK.search(text):
                out.append(
                    Finding(
                        rule="signet-non-defini",
                        severity=Severity.error,
                        location=_loc(piece, i),
                        message="Renvoi cassé laissé par le traitement de texte : « "
                        + _BOOKMARK.search(text).group(0)
                        + " ».",
                        fix="Mettez à jour les champs (F9) ou remplacez le renvoi par le numéro d'article.",
                    )
                )
            om = _OPTION.match(text)
            if om:
                option_seen.setdefault(om.group(1), i)
            if declared:
                cited_here = [
                    next(k for k, v in m.groupdict().items() if v)
                    for m in _CCAG_CITED.finditer(line.folded)
                ]
                # « CCAG-FCS, TIC et PI » lists several CCAGs, the declared one among them.
                names_declared = declared in cited_here or (
                    "," in line.folded and re.search(rf"\b{declared}\b", line.folded) is not None
                )
                for cited in [] if names_declared else cited_here:
                    if cited != declared:
                        out.append(
                            Finding(
                                rule="ccag-incoherent",
                                severity=Severity.warning,
                                location=_loc(piece, i),
                                message=(
                                    f"La pièce cite le {_CCAG_LABEL[cited]} alors que le marché "
                                    f"relève du {_CCAG_LABEL[declared]} (tender.yaml : ccag)."
                                ),
                                fix=f"Remplacez la référence par l'article équivalent du {_CCAG_LABEL[declared]}.",
                            )
                        )
            if len(numbers) >= 5 and piece.kind in ("ccap", "cctp", "rc"):
                for m in _SELF_REF.finditer(line.folded):
                    if not _SELF_TAIL.match(m["tail"]):
                        continue
                    num = m["num"]
                    if num not in numbers:
                        out.append(
                            Finding(
                                rule="reference-article-inexistante",
                                severity=Severity.warning,
                                location=_loc(piece, i),
                                message=(
                                    f"Renvoi à l'article {num} du présent document, qui n'existe pas "
                                    f"dans {piece.path}."
                                ),
                                fix="Corrigez le numéro d'article du renvoi.",
                            )
                        )
            for m in _OTHER_REF.finditer(line.folded):
                target = by_kind.get(m["kind"].lower())
                if target is None or target is piece or len(target.section_numbers()) < 3:
                    continue
                num = m["num"]
                if num not in target.section_numbers():
                    out.append(
                        Finding(
                            rule="reference-article-inexistante",
                            severity=Severity.warning,
                            location=_loc(piece, i),
                            message=(
                                f"Renvoi à l'article {num} du {m['kind'].upper()}, qui n'existe pas dans "
                                f"{target.path}."
                            ),
                            fix="Corrigez le renvoi ou ajoutez l'article cité.",
                        )
                    )
        if placeholder_count > _MAX_PLACEHOLDERS:
            out.append(
                Finding(
                    rule="texte-a-completer",
                    severity=Severity.error,
                    location=Location(file=piece.path),
                    message=(
                        f"… et {placeholder_count - _MAX_PLACEHOLDERS} autre(s) texte(s) à "
                        f"compléter dans {piece.path} ({placeholder_count} en tout ; seuls les "
                        f"{_MAX_PLACEHOLDERS} premiers sont détaillés)."
                    ),
                )
            )
        if len(option_seen) >= 2:
            idx = option_seen["1"]
            out.append(
                Finding(
                    rule="options-non-tranchees",
                    severity=Severity.error,
                    location=_loc(piece, idx),
                    message=(
                        "Le modèle propose « OPTION 1 » et « OPTION 2 » sans que l'une soit retenue : "
                        "le gabarit n'a pas été adapté."
                    ),
                    fix="Conservez l'option retenue et supprimez l'autre.",
                )
            )
    return out


# ----------------------------------------------------------------- main


#: Section titles (folded) where a clause of each category naturally goes.
_CATEGORY_SECTION = {
    "environment": r"environnement|developpement durable|ecolog",
    "social": r"insertion|social|clause sociale",
    "accessibility": r"accessibilit",
    "data": r"donnees|rgpd|reversibilit|hebergement|securite",
    "durability": r"durabilit|reparabilit|garantie|reemploi|reconditionn",
}


def _expected_location(clause: Clause, pieces: list[PieceText], tender_file: str) -> Location:
    """Where the missing clause should go: the section of its piece whose title fits its
    category (« Article 7 — Clauses environnementales »), else the piece itself."""
    from tasks.dossier.normalize import fold

    rx = re.compile(_CATEGORY_SECTION.get(clause.category, r"$^"))
    for p in pieces:
        if p.kind != clause.piece:
            continue
        for sec in p.sections:
            if rx.search(fold(sec.title)):
                line = p.lines[sec.line_index]
                return Location(
                    file=p.path, line=line.src_line, page=line.page, heading=sec.label()
                )
        return Location(file=p.path)
    return Location(file=tender_file)


def check_dossier(dossier: Dossier, clausier: Clausier) -> CheckReport:
    """Check one dossier against the clausier.

    Args:
        dossier: the dossier as read by :func:`tasks.dossier.reader.read_dossier`.
        clausier: the loaded clause library (with law.yaml).

    Returns:
        The report: one :class:`FamilyResult` per clause of the clausier, findings
        sorted by severity then location.

    Raises:
        InputError: no piece with readable text (only scanned PDFs), an unknown clause id in
            a ``clause()`` call, a fenced div or a waiver, invalid clause parameters.
    """
    tender = dossier.tender
    pieces = dossier.pieces
    tender_file = dossier.tender_file
    usable_or_raise(pieces)  # exit 2 only when nothing at all can be read
    for i, w in enumerate(tender.waivers):
        if clausier.get(w.clause) is None:
            raise InputError(
                f"dérogation à une clause inconnue « {w.clause} » (voir « cahier clauses list »).",
                tender_file,
                dossier.line_of(f"waivers.{i}"),
            )
    kinds = {p.kind for p in pieces}
    library, findings = _scan_library_clauses(pieces, clausier)
    # Template errors a final assembly would refuse (syntax, unsafe constructs, unknown
    # variables) are caught here already, in the pre-commit hook.
    from tasks.clausier.templates import lint_templates

    findings.extend(lint_templates(pieces, clausier))
    findings.extend(accessibility_findings(pieces))  # images without alt, empty headings
    findings.extend(reading_findings(pieces))  # scanned, unreliable pages, tracked changes
    waivers = {w.clause: w for w in tender.waivers}
    recognizer = _recognizer(clausier)
    unreadable = _first_unreadable(pieces)
    families: list[FamilyResult] = []
    for cid, clause in clausier.clauses.items():
        applicable, why = is_applicable(clause, tender, clausier)
        level = effective_level(clause, tender, clausier)
        found = library.get(cid)
        hits: list[Hit] = []
        if found is None and cid not in waivers:
            hits = recognizer.find(pieces, clause.evidence)
        if found is not None:
            status, evidence = found.status, found.locations
        elif cid in waivers:
            wi = next(i for i, w in enumerate(tender.waivers) if w.clause == cid)
            status, evidence = (
                FamilyStatus.waived,
                [
                    Location(
                        file=tender_file, line=dossier.line_of(f"waivers.{wi}"), heading="waivers"
                    )
                ],
            )
        elif hits:
            evidence = []
            for h in hits:
                loc = _loc(h.piece, h.index)
                if loc not in evidence:
                    evidence.append(loc)
            status = FamilyStatus.hand_written
        elif applicable and unreadable is not None:
            # Not found, but some text could not be read: absence is not proven.
            status, evidence = FamilyStatus.unverifiable, [unreadable]
        elif applicable:
            status, evidence = FamilyStatus.missing, []
        else:
            status, evidence = FamilyStatus.not_applicable, []
        families.append(
            FamilyResult(
                clause=cid,
                title=clause.title,
                level=level,
                applicable=applicable,
                status=status,
                version=found.version if found else None,
                reason=why or None,
                evidence=evidence,
            )
        )
        if status == FamilyStatus.hand_written:
            # A hand-written stand-in for a legal obligation is visible in every check
            # (pre-commit, CI): its equivalence is the referent's call, not the pattern's.
            findings.append(
                Finding(
                    rule="clause-redigee-main",
                    clause=cid,
                    severity=(
                        Severity.warning if applicable and level == "mandatory" else Severity.info
                    ),
                    status=status,
                    location=evidence[0],
                    message=(
                        f"Clause « {clause.title} » rédigée à la main (équivalent reconnu) : "
                        f"à faire valider par le référent {clause.review_role}, ou à remplacer "
                        "par la clause du clausier."
                    ),
                    fix=clause_block(clause),
                    legal_basis=clause.legal_basis,
                )
            )
            if hits and not hits[0].expected:
                expected = (
                    ", ".join(k.upper() for k in clause.evidence.pieces) or clause.piece.upper()
                )
                findings.append(
                    Finding(
                        rule="hors-piece-attendue",
                        clause=cid,
                        severity=Severity.info,
                        status=status,
                        location=evidence[0],
                        message=(
                            f"Clause « {clause.title} » reconnue dans une pièce où elle n'est pas "
                            f"attendue ({hits[0].piece.kind.upper()}) : sa place est dans le "
                            f"{expected}. Déplacez-la ou reprenez-la dans cette pièce pour qu'elle "
                            "ait la portée voulue."
                        ),
                        legal_basis=clause.legal_basis,
                    )
                )
        elif status == FamilyStatus.unverifiable:
            mandatory = level == "mandatory"
            findings.append(
                Finding(
                    rule="clause-non-verifiable",
                    clause=cid,
                    severity=Severity.error if mandatory else Severity.warning,
                    status=status,
                    location=unreadable,
                    message=(
                        f"Clause {'obligatoire' if mandatory else 'recommandée'} « {clause.title} » "
                        f"non vérifiable : elle n'a pas été trouvée, mais le texte de "
                        f"{unreadable.label()} n'est pas lu de façon fiable ; son absence n'est "
                        "pas établie. Joignez la pièce dans un format lisible (DOCX, ODT ou PDF "
                        "exporté avec ses polices) et relancez le contrôle ; l'assemblage reste "
                        "refusé d'ici là."
                    ),
                    fix=clause_block(clause),
                    legal_basis=clause.legal_basis,
                )
            )
        elif status == FamilyStatus.waived:
            mandatory = applicable and level == "mandatory"
            findings.append(
                Finding(
                    rule="derogation",
                    clause=cid,
                    severity=Severity.warning if mandatory else Severity.info,
                    status=status,
                    location=evidence[0],
                    message=(
                        f"Clause « {clause.title} » écartée : « {waivers[cid].reason} ». "
                        + (
                            "Il s'agit d'une obligation légale : la dérogation doit être justifiée "
                            "et validée par le référent juridique."
                            if mandatory
                            else f"Dérogation à valider par le référent {clause.review_role}."
                        )
                    ),
                    legal_basis=clause.legal_basis,
                )
            )
        elif status == FamilyStatus.missing:
            piece_absent = clause.piece not in kinds
            mandatory = level == "mandatory"
            if piece_absent:
                severity = Severity.warning if mandatory else Severity.info
                where = Location(file=tender_file)
                msg = (
                    f"Clause « {clause.title} » ({'obligatoire' if mandatory else 'recommandée'}) "
                    f"non trouvée, et la pièce où elle est attendue ({clause.piece.upper()}) est "
                    "absente du dossier : ajoutez la pièce pour que le contrôle soit complet."
                )
            else:
                severity = Severity.error if mandatory else Severity.warning
                where = _expected_location(clause, pieces, tender_file)
                msg = (
                    f"Clause {'obligatoire' if mandatory else 'recommandée'} absente : "
                    f"« {clause.title} ». Insérez-la dans le {clause.piece.upper()}."
                )
            findings.append(
                Finding(
                    rule="clause-manquante" if mandatory else "clause-recommandee-absente",
                    clause=cid,
                    severity=severity,
                    status=status,
                    location=where,
                    message=msg,
                    fix=clause_block(clause),
                    legal_basis=clause.legal_basis,
                )
            )
    for kind, label in _EXPECTED_PIECES.items():
        if kind not in kinds:
            findings.append(
                Finding(
                    rule="piece-attendue-absente",
                    severity=Severity.warning,
                    location=Location(file=tender_file),
                    message=f"Le dossier ne contient pas de {kind.upper()} ({label}) : {_EXPECTED_WHY[kind]}",
                )
            )
    from tasks.check.completeness import missing_listed_pieces

    for lp in missing_listed_pieces(pieces):
        findings.append(
            Finding(
                rule="piece-listee-absente",
                severity=Severity.warning,
                location=_loc(lp.piece, lp.index),
                message=(
                    f"Le {lp.piece.kind.upper()} liste {lp.label} parmi les pièces du DCE, mais "
                    "le dossier ne la contient pas : les candidats ne pourraient pas répondre "
                    "sur cette pièce."
                ),
                fix=f"Ajoutez {lp.label} dans pieces/ (un tableur XLSX/ODS convient pour un "
                "bordereau de prix), ou retirez-la de la liste.",
                legal_basis=[
                    LegalReference(ref="Code de la commande publique, art. R2132-2", url=CCP)
                ],
            )
        )
    findings.extend(_tender_findings(dossier, clausier, library))
    rc = next((p for p in pieces if p.kind == "rc"), None)
    findings.extend(_criteria_findings(tender, clausier, rc, tender_file, dossier.tender_lines))
    findings.extend(_rc_weight_coherence(tender, pieces, tender_file, dossier.tender_lines))
    findings.extend(_coherence_findings(families, clausier, tender))
    findings.extend(_drafting_findings(pieces, tender))
    findings.extend(_policy_findings(tender, clausier, tender_file, dossier.tender_lines))
    # A call whose value breaks a layer's bound is one finding, not two.
    param_errors = {
        (f.clause, f.location.file, f.location.line)
        for f in findings
        if f.rule == "clause-parametre-invalide" and f.location
    }
    findings = [
        _with_provenance(f, clausier)
        for f in findings
        if not (
            f.rule == "gabarit-invalide"
            and f.location
            and (f.clause, f.location.file, f.location.line) in param_errors
        )
    ]
    # A criterion-level error duplicates a missing ENV-CRIT-01 found in the RC text:
    status_of = {f.clause: f for f in families}
    env_crit = status_of.get("ENV-CRIT-01")
    if env_crit and env_crit.status not in (FamilyStatus.missing, FamilyStatus.not_applicable):
        findings = [f for f in findings if f.rule != "critere-environnemental-absent"]
    if dossier.missing_fields:
        findings = _incomplete_findings(dossier, findings)
    order = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}
    findings.sort(
        key=lambda f: (
            order[f.severity],
            f.location.file if f.location else "",
            (f.location.page or 0, f.location.line or 0) if f.location else (0, 0),
            f.rule,
        )
    )
    return CheckReport(
        tender=tender.id,
        dossier=dossier.root,
        rev=dossier.rev,
        commit=dossier.commit,
        clausier_version=clausier.version,
        checked_at_rule_date=tender.dateLancement,
        families=families,
        findings=findings,
    )


#: Rules whose finding rests on a tender.yaml field (left out while the field is empty).
_RULES_NEEDING = {
    "ccag": {"ccag-incoherent"},
    "procedure": {"procedure-incoherente"},
    "montant": {"procedure-incoherente"},
    "objet": set(),
}


def _incomplete_findings(dossier: Dossier, findings: list[Finding]) -> list[Finding]:
    """An incomplete tender.yaml (a draft): one error listing the empty fields with their
    lines, and the findings that rest on them left out."""
    missing = dossier.missing_fields
    drop = set().union(*(_RULES_NEEDING.get(m, set()) for m in missing))
    kept = [f for f in findings if f.rule not in drop]
    where = ", ".join(
        f"{m} (ligne {dossier.line_of(m.split(' ')[0])})" if dossier.line_of(m.split(" ")[0])
        else m
        for m in missing
    )
    assumed = []
    if "dateLancement" in missing:
        assumed.append("les règles en vigueur aujourd'hui")
    if "montant" in missing:
        assumed.append("un montant au-delà des seuils européens")
    if "categories" in missing:
        assumed.append("toutes les catégories d'achat")
    if any(m.startswith("acheteur") for m in missing):
        assumed.append("un acheteur de l'État")
    kept.append(
        Finding(
            rule="tender-incomplet",
            severity=Severity.error,
            location=Location(
                file=dossier.tender_file, line=dossier.line_of(missing[0].split(" ")[0])
            ),
            message=(
                f"tender.yaml est incomplet : {where}. Les constats ci-dessous ne dépendent "
                "pas de ces champs"
                + (f" (hypothèses prudentes : {', '.join(assumed)})" if assumed else "")
                + " ; l'assemblage et l'archive restent refusés tant qu'ils sont vides."
            ),
            fix="Complétez les champs marqués « À COMPLÉTER » dans tender.yaml.",
        )
    )
    return kept


def _tender_findings(
    dossier: Dossier, clausier: Clausier, library: dict[str, _Found]
) -> list[Finding]:
    """Consistency of tender.yaml itself: procedure vs amount, waivers, folder name."""
    from pathlib import PurePath

    tender = dossier.tender
    out: list[Finding] = []
    tf = dossier.tender_file
    threshold = clausier.law.supplies_services_threshold(
        tender.dateLancement, tender.acheteur.type == BuyerType.etat
    )
    if (
        tender.procedure == "Procédure adaptée"
        and threshold
        and tender.montant >= threshold
        and not is_private(tender)
    ):
        out.append(
            Finding(
                rule="procedure-incoherente",
                severity=Severity.warning,
                location=Location(file=tf, line=dossier.line_of("procedure"), heading="procedure"),
                message=(
                    f"Procédure adaptée pour un montant de {tender.montant:,.0f} € HT, au-delà du "
                    f"seuil européen de {threshold:,.0f} € HT en vigueur le "
                    f"{tender.dateLancement:%d/%m/%Y} : une procédure formalisée est requise "
                    "(sauf petits lots, art. R2123-1 2°)."
                ).replace(",", "\u202f"),
                legal_basis=[
                    LegalReference(
                        ref="Code de la commande publique, art. R2123-1 et R2124-1", url=CCP
                    )
                ],
            )
        )
    seen: set[str] = set()
    for i, w in enumerate(tender.waivers):
        where = Location(file=tf, line=dossier.line_of(f"waivers.{i}"), heading="waivers")
        if w.clause in seen:
            out.append(
                Finding(
                    rule="derogation-incoherente",
                    clause=w.clause,
                    severity=Severity.warning,
                    location=where,
                    message=f"Dérogation en double pour la clause {w.clause} : gardez-en une seule.",
                )
            )
        seen.add(w.clause)
        if w.clause in library:
            out.append(
                Finding(
                    rule="derogation-incoherente",
                    clause=w.clause,
                    severity=Severity.warning,
                    location=where,
                    message=(
                        f"La clause {w.clause} est écartée par dérogation mais figure dans le "
                        f"dossier ({library[w.clause].locations[0].label()}) : retirez l'une ou "
                        "l'autre."
                    ),
                )
            )
    folder = PurePath(str(dossier.root)).name
    if dossier.rev is None and folder and folder != tender.id:
        out.append(
            Finding(
                rule="identifiant-dossier",
                severity=Severity.info,
                location=Location(file=tf, line=dossier.line_of("id"), heading="id"),
                message=(
                    f"L'identifiant « {tender.id} » diffère du nom du dossier « {folder} » : "
                    "les archives, revues et exécutions Prefect sont nommées d'après l'un ou "
                    "l'autre ; alignez-les."
                ),
            )
        )
    return out


def _coherence_findings(
    families: list[FamilyResult], clausier: Clausier, tender: Tender
) -> list[Finding]:
    """An environmental award criterion with no environmental execution condition."""
    by_id = {f.clause: f for f in families}
    crit = by_id.get("ENV-CRIT-01")
    cond = by_id.get("ENV-COND-01")
    out: list[Finding] = []
    present = (FamilyStatus.present, FamilyStatus.edited, FamilyStatus.hand_written)
    absent = (FamilyStatus.missing, FamilyStatus.not_applicable)
    if crit and cond and crit.status in present and cond.status in absent:
        clause = clausier.get("ENV-COND-01")
        loc = crit.evidence[0] if crit.evidence else None
        gate = (
            tender.dateLancement >= clausier.law.climat_gate.date
            and not tender.defense
            and not is_private(tender)
        )
        where = f" ({loc.label()})" if loc else ""
        out.append(
            Finding(
                rule="critere-sans-condition",
                clause="ENV-COND-01",
                severity=Severity.error if gate else Severity.warning,
                status=FamilyStatus.missing,
                location=loc,
                message=(
                    f"Le RC note un critère environnemental{where} mais le CCAP ne contient "
                    "aucune condition d'exécution environnementale : les engagements notés ne "
                    "seront ni contractuels ni suivis."
                ),
                fix=clause_block(clause) if clause else None,
                legal_basis=clause.legal_basis if clause else [],
            )
        )
    return out


# ----------------------------------------------------------------- policy layers


def _with_provenance(finding: Finding, clausier: Clausier) -> Finding:
    """A finding about a clause that a policy layer added or changed says so: the
    layer's article is named in the message and leads its legal basis."""
    provs = clausier.origin(finding.clause) if finding.clause else ()
    if not provs:
        return finding
    labels = "; ".join(f"{p.label()} — {p.detail}" for p in provs)
    refs = [p.reference() for p in provs]
    return finding.model_copy(
        update={
            "message": f"{finding.message} Source : {labels}.",
            "legal_basis": [*refs, *finding.legal_basis],
        }
    )


def _policy_findings(
    tender: Tender, clausier: Clausier, tender_file: str, lines: dict[str, int] | None
) -> list[Finding]:
    """The layers' own rules on award criteria: minimum weight (% of the total score)
    of the environmental and social criteria (``ponderations`` of a layer)."""
    out: list[Finding] = []
    if not clausier.policy_weights:
        return out
    flat = _flatten(tender.criteres)
    kinds = {"environnement": CritereType.environnement, "social": CritereType.social}
    clause_of = {"environnement": "ENV-CRIT-01", "social": "SOC-CRIT-01"}
    for kind, rule in clausier.policy_weights.items():
        crits = [c for c in flat if c.type == kinds[kind]]
        weight = sum(c.poids for c in crits if not any(c in p.sousCriteres for p in crits))
        if weight + 1e-9 >= rule.minimum:
            continue
        prov = rule.provenance
        out.append(
            Finding(
                rule="ponderation-politique",
                clause=clause_of[kind],
                severity=Severity.error,
                location=Location(
                    file=tender_file, line=(lines or {}).get("criteres"), heading="criteres"
                ),
                message=(
                    f"Le critère {kind} pèse {weight:g} % de la note"
                    + ("" if crits else " (aucun critère de ce type)")
                    + f" : la {prov.label()} exige au moins {rule.minimum:g} % "
                    f"(couche « {prov.layer} » {prov.version})."
                ),
                fix=(
                    f"Portez la pondération du critère {kind} à {rule.minimum:g} % au moins, "
                    "dans tender.yaml et dans le RC."
                ),
                legal_basis=[prov.reference()],
            )
        )
    return out
