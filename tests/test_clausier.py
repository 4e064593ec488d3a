"""Tests of the clausier (clause_library/clauses/*.yaml).

Every clause file must validate as ``tasks.dossier.model.Clause``, render in the sandbox with
its own parameter defaults, keep its defaults within bounds, and carry evidence patterns
that compile and behave on short realistic snippets (a clause written by hand is
recognised; a table-of-contents line, a « sans objet » or a mere mention is not).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import jinja2
import jinja2.meta
import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

from tasks.clausier.library import load_clausier
from tasks.clausier.recognition import MAX_CUE_WORDS, Recognizer, cue_problems
from tasks.dossier.document import Line, PieceText, Section
from tasks.dossier.model import Clause

CLAUSES_DIR = Path(__file__).resolve().parents[1] / "clause_library" / "clauses"

# The 26 family ids (docs/clausier.md, « Familles de clauses »), stable across versions.
FAMILY_IDS = {
    "ENV-CRIT-01",
    "ENV-COND-01",
    "ENV-SPEC-01",
    "COST-LCC-01",
    "CIRC-REUSE-01",
    "DUR-INDEX-01",
    "DUR-SPARES-01",
    "DUR-SWSUPPORT-01",
    "LABEL-01",
    "ENERGY-01",
    "EOL-WEEE-01",
    "EOL-ITAD-01",
    "ECO-RGESN-01",
    "HOST-ENV-01",
    "ACC-RGAA-01",
    "ACC-PROD-01",
    "SOC-INSERT-01",
    "SOC-RESERVED-01",
    "SOC-YOUTH-01",
    "SOC-SUPPLY-01",
    "SOC-CRIT-01",
    "DATA-GDPR-01",
    "DATA-SOV-01",
    "DATA-REV-01",
    "OPEN-01",
    "PROG-01",
}
REQUIRED_IDS = {
    "ENV-CRIT-01",
    "ENV-COND-01",
    "ENV-SPEC-01",
    "CIRC-REUSE-01",
    "DUR-INDEX-01",
    "ACC-RGAA-01",
    "SOC-INSERT-01",
    "DATA-GDPR-01",
    "DATA-REV-01",
    "EOL-WEEE-01",
}
# Families whose presence the law imposes in the cases the clause's `applies` describes.
MANDATORY_IDS = {
    "ENV-CRIT-01",
    "ENV-COND-01",
    "ENV-SPEC-01",
    "DUR-INDEX-01",
    "ACC-RGAA-01",
    "SOC-INSERT-01",
    "DATA-GDPR-01",
    "EOL-WEEE-01",
}
PLACEHOLDERS = ("[PRÉCISER", "[PRECISER", "XX", "…", "{{", "}}", "{%")

FILES = sorted(CLAUSES_DIR.glob("*.yaml"))


@cache
def _load(path: Path) -> Clause:
    return Clause.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@cache
def _clauses() -> dict[str, Clause]:
    return {c.id: c for c in map(_load, FILES)}


def _render(clause: Clause) -> str:
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    defaults = {name: p.default for name, p in clause.parameters.items()}
    return env.from_string(clause.text).render(**defaults)


def _fold(text: str) -> str:
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


HEADING_RE = re.compile(r"^(#+\s|article\s+\d|\d+(\.\d+)+\s)", re.IGNORECASE)


def _piece(kind: str, text: str) -> PieceText:
    """A piece as the reader gives it: normalised, folded lines; headings open sections."""
    lines: list[Line] = []
    sections: list[Section] = []
    for n, raw in enumerate(text.strip().splitlines(), start=1):
        norm = " ".join(raw.replace("\u2019", "'").replace("\u00a0", " ").split())
        if not norm:
            continue
        if HEADING_RE.match(norm) and not re.search(r"\.{4,}", norm):
            sections.append(Section(number=None, title=norm, level=1, line_index=len(lines)))
        lines.append(Line(text=norm, folded=_fold(norm), src_line=n, section=len(sections) - 1))
    return PieceText(path=f"{kind}.md", kind=kind, format="md", lines=lines, sections=sections)


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


# ------------------------------------------------------------------ files and schema


def test_clause_files_exist() -> None:
    assert FILES, f"aucune clause dans {CLAUSES_DIR}"


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_file_validates_and_is_named_after_its_id(path: Path) -> None:
    clause = _load(path)
    assert path.name == f"{clause.id}.yaml"
    assert clause.id in FAMILY_IDS, (
        f"{clause.id} n'est pas une famille du clausier (docs/clausier.md)"
    )
    assert clause.changelog, "changelog vide"


def test_required_families_exist() -> None:
    missing = REQUIRED_IDS - set(_clauses())
    assert not missing, f"familles obligatoires absentes du clausier : {sorted(missing)}"


def test_mandatory_levels() -> None:
    clauses = _clauses()
    for cid in MANDATORY_IDS & set(clauses):
        assert clauses[cid].level == "mandatory", cid
    for cid in ("CIRC-REUSE-01", "DATA-REV-01"):
        assert clauses[cid].level == "recommended", cid


def test_applicability_facts() -> None:
    c = _clauses()
    assert c["ENV-CRIT-01"].applies.from_date == "climat_gate"
    assert c["ENV-COND-01"].applies.from_date == "climat_gate"
    assert c["ENV-SPEC-01"].applies.from_date == "climat_gate"
    assert c["SOC-INSERT-01"].applies.min_amount == "eu_threshold"
    assert c["SOC-INSERT-01"].applies.from_date == "climat_gate"
    assert "donneesPersonnelles" in c["DATA-GDPR-01"].applies.requires
    assert "servicesNumeriques" in c["ACC-RGAA-01"].applies.requires


def test_decp_mapping() -> None:
    for clause in _clauses().values():
        env = clause.decp.considerationsEnvironnementales
        soc = clause.decp.considerationsSociales
        if clause.id in ("ENV-CRIT-01", "COST-LCC-01"):
            assert env == ["Critère environnemental"], clause.id
        elif clause.id.startswith(("ENV-", "CIRC-", "EOL-", "HOST-")):
            assert env == ["Clause environnementale"], clause.id
        if clause.id in ("SOC-INSERT-01", "SOC-YOUTH-01", "SOC-SUPPLY-01"):
            assert soc == ["Clause sociale"], clause.id
        elif clause.id == "SOC-CRIT-01":
            assert soc == ["Critère social"]
        elif clause.id == "SOC-RESERVED-01":
            assert soc == ["Marché réservé"]


# ------------------------------------------------------------------ patterns


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_evidence_cues_are_vocabulary(path: Path) -> None:
    clause = _load(path)
    assert clause.evidence.any, f"{clause.id} : aucun concept de reconnaissance"
    assert clause.evidence.acts, f"{clause.id} : aucun acte"
    cues = [c for g in clause.evidence.any for concept in g.all for c in concept.split("|")]
    for cue in [*cues, *clause.evidence.negative]:
        assert cue_problems(cue.strip()) is None, f"{clause.id} : {cue_problems(cue.strip())}"
        assert len(cue.split()) <= MAX_CUE_WORDS


def test_long_cue_is_refused() -> None:
    assert cue_problems("le titulaire remet un rapport") is not None
    assert cue_problems("rapport environnemental annuel") is None
    assert cue_problems("reconditionn*") is None
    assert cue_problems("a|b") is not None


def find_evidence(pieces, evidence):
    """The checker's recognizer on ``pieces`` (a fresh one: no cache between tests)."""
    return Recognizer(load_clausier().vocabulary).find(pieces, evidence)


# ------------------------------------------------------------------ templates


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_text_renders_with_defaults(path: Path) -> None:
    clause = _load(path)
    rendered = _render(clause)
    for marker in PLACEHOLDERS:
        assert marker not in rendered, f"{clause.id} : « {marker} » reste dans le texte"
    words = len(rendered.split())
    assert 80 <= words <= 260, f"{clause.id} : {words} mots"


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_text_uses_exactly_its_parameters(path: Path) -> None:
    clause = _load(path)
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    used = jinja2.meta.find_undeclared_variables(env.parse(clause.text))
    assert used == set(clause.parameters), f"{clause.id} : variables {used} ≠ paramètres"


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_defaults_within_bounds(path: Path) -> None:
    clause = _load(path)
    assert clause.parameters, f"{clause.id} : aucun paramètre"
    pytypes = {"int": int, "float": (int, float), "str": str, "bool": bool}
    for name, p in clause.parameters.items():
        assert p.default is not None, f"{clause.id}.{name} : pas de valeur par défaut"
        if p.type in pytypes:
            assert isinstance(p.default, pytypes[p.type]), f"{clause.id}.{name}"
        if p.type == "int":
            assert not isinstance(p.default, bool), f"{clause.id}.{name}"
        if p.min is not None:
            assert p.default >= p.min, f"{clause.id}.{name} < min"
        if p.max is not None:
            assert p.default <= p.max, f"{clause.id}.{name} > max"
        if p.min is not None and p.max is not None:
            assert p.min <= p.max
        if p.choices is not None:
            assert p.default in p.choices, f"{clause.id}.{name} hors choix"
        assert p.description.strip()


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_library_text_recognised_by_its_own_evidence(path: Path) -> None:
    clause = _load(path)
    piece = _piece(clause.piece, _render(clause))
    evidence = clause.evidence.model_copy(update={"pieces": []})
    assert find_evidence([piece], evidence), f"{clause.id} : texte du clausier non reconnu"


# ------------------------------------------------------------------ evidence examples

TOC_AND_SANS_OBJET = """
4.5 Insertion professionnelle ........................................ 12
ARTICLE 5 CLAUSES ENVIRONNEMENTALES .................................. 14
Article 9 — Clauses environnementales : sans objet.
Article 10 — Insertion professionnelle : sans objet.
"""

EXAMPLES = [
    # ENV-CRIT-01
    (
        "ENV-CRIT-01",
        "rc",
        True,
        """
Critère n° 3 : Performance environnementale de l'offre — 15 %
Ce critère est apprécié au vu du cadre de réponse environnemental.""",
    ),
    ("ENV-CRIT-01", "rc", True, "Critère environnementale 10%"),
    (
        "ENV-CRIT-01",
        "rc",
        False,
        """
Les offres sont jugées selon les critères suivants : prix (60 %), valeur technique (40 %).
Le candidat présente sa politique environnementale dans son mémoire.""",
    ),
    (
        "ENV-CRIT-01",
        "cctp",
        False,
        """
La loi Climat et Résilience imposera, d'ici le 22 août 2026, l'utilisation d'au
moins un critère d'attribution relatif aux caractéristiques environnementales (10 %).""",
    ),
    # every piece is searched: a criterion in a CCAP is found (info « hors pièce attendue »)…
    ("ENV-CRIT-01", "ccap", True, "Critère : performance environnementale de l'offre — 15 %"),
    # … but a scored criterion is not an execution condition
    ("ENV-COND-01", "rc", False, "Critère : performance environnementale de l'offre — 15 %"),
    # ENV-COND-01
    (
        "ENV-COND-01",
        "ccap",
        True,
        """
Article 9 — Clauses environnementales
Le titulaire limite les emballages au strict nécessaire et reprend sans frais ceux qu'il a livrés.
Il remet chaque année un bilan environnemental des livraisons.""",
    ),
    (
        "ENV-COND-01",
        "ccap",
        True,
        """
Le service demande au titulaire de fournir un rapport annuel de la politique
environnementale numérique appliquée au marché.""",
    ),
    # The same paragraph in the CCTP binds the titulaire too: found there, with an info
    # « hors pièce attendue » (its place is the CCAP).
    (
        "ENV-COND-01",
        "cctp",
        True,
        """
Le service demande au titulaire de fournir un rapport annuel de la politique
environnementale numérique appliquée au marché.""",
    ),
    ("ENV-COND-01", "ccap", False, TOC_AND_SANS_OBJET),
    ("ENV-COND-01", "ccap", False, "Le présent marché ne comporte pas de clause environnementale."),
    (
        "ENV-COND-01",
        "cctp",
        False,
        """
La Loi Climat et Résilience imposera, d'ici le 22 août 2026,
l'inclusion obligatoire de clauses environnementales dans les marchés publics.""",
    ),
    # ENV-SPEC-01
    (
        "ENV-SPEC-01",
        "cctp",
        True,
        """
Les postes de travail sont conformes à la directive RoHS et bénéficient du label
Energy Star ou d'un label équivalent.""",
    ),
    (
        "ENV-SPEC-01",
        "cctp",
        True,
        "Les pièces plastiques de plus de 25 g sont marquées selon la norme ISO 11469.",
    ),
    (
        "ENV-SPEC-01",
        "cctp",
        False,
        """
Le poste de travail dispose de 16 Go de mémoire vive et d'un écran de 14 pouces.
Les matériels sont-ils éco-labellisés ? Si oui, lesquels ?""",
    ),
    # CIRC-REUSE-01
    (
        "CIRC-REUSE-01",
        "bpu",
        True,
        "Ligne 4 — Ordinateur portable reconditionné, grade A, batterie > 80 %",
    ),
    (
        "CIRC-REUSE-01",
        "cctp",
        True,
        "Le taux de plastique recyclé post-consommation est indiqué pour chaque modèle.",
    ),
    (
        "CIRC-REUSE-01",
        "cctp",
        False,
        """
Le modèle interdit la réutilisation des mêmes identifiants SQL pour différentes tables.
Au moins 20 % du volume annuel de la dépense doit concerner des biens issus du réemploi (loi AGEC, article 58).""",
    ),
    # DUR-INDEX-01
    (
        "DUR-INDEX-01",
        "cctp",
        True,
        """
Pour chaque smartphone proposé, le titulaire indique l'indice de réparabilité
et joint la grille détaillée ; la note minimale exigée est de 6/10.""",
    ),
    (
        "DUR-INDEX-01",
        "rc",
        True,
        "Sous-critère 2.1 : indice de réparabilité des modèles proposés (5 %)",
    ),
    (
        "DUR-INDEX-01",
        "cctp",
        False,
        """
Depuis 2022, les fabricants sont soumis à des obligations d'affichage environnemental
et d'information du consommateur, dont l'indice de réparabilité.""",
    ),
    # ACC-RGAA-01
    (
        "ACC-RGAA-01",
        "cctp",
        True,
        """
Les interfaces livrées sont conformes au RGAA 4.1.2.
La réception est conditionnée à un audit de conformité.""",
    ),
    (
        "ACC-RGAA-01",
        "cctp",
        False,
        """
Le service doit rester accessible 24 h sur 24 et 7 jours sur 7.
Pouvez-vous préciser la correspondance avec le RGAA ?""",
    ),
    # SOC-INSERT-01
    (
        "SOC-INSERT-01",
        "ccap",
        True,
        """
4.5 Insertion professionnelle
Le titulaire réalise 35 heures d'insertion par tranche de 100 000 € HT facturés.""",
    ),
    (
        "SOC-INSERT-01",
        "ae",
        True,
        """
Le titulaire s'engage à offrir des emplois à du personnel en insertion
à hauteur de 35 heures d'insertion sociale par tranche de 100 000 € HT.""",
    ),
    ("SOC-INSERT-01", "ccap", False, TOC_AND_SANS_OBJET),
    (
        "SOC-INSERT-01",
        "ccap",
        False,
        """
4.5 Insertion professionnelle
Sans objet.""",
    ),
    (
        "SOC-INSERT-01",
        "ccap",
        False,
        """
Article 10 — Insertion professionnelle
Sans objet.
Article 11 — Sous-traitance
Le titulaire peut sous-traiter une partie des prestations.""",
    ),
    (
        "SOC-INSERT-01",
        "rc",
        True,  # every piece is searched; the RC is not the expected piece (info finding)
        "Le titulaire réalise 35 heures d'insertion par tranche de 100 000 € HT.",
    ),
    # A scored insertion criterion is not the insertion execution clause.
    (
        "SOC-INSERT-01",
        "rc",
        False,
        "Critère n° 3 : performance en matière d'insertion professionnelle (10 points).",
    ),
    # DATA-GDPR-01
    (
        "DATA-GDPR-01",
        "ccap",
        True,
        """
Le titulaire agit en qualité de sous-traitant au sens de l'article 28 du RGPD.
Il ne traite les données à caractère personnel que sur instruction documentée de l'acheteur.""",
    ),
    ("DATA-GDPR-01", "ccap", False, "Le RGPD s'applique."),
    (
        "DATA-GDPR-01",
        "ccap",
        False,
        """
Clause de réexamen : intégration de changements réglementaires.
Par exemple l'intégration de changements relatifs au RGPD.""",
    ),
    # DATA-REV-01
    (
        "DATA-REV-01",
        "ccap",
        True,
        """
En fin de marché, le titulaire exécute le plan de réversibilité
et restitue les données dans un format ouvert.""",
    ),
    (
        "DATA-REV-01",
        "ccap",
        False,
        """
Toute personne peut exercer ses droits d'accès, de rectification et de portabilité des données
auprès du délégué à la protection des données.""",
    ),
    (
        "ENV-COND-01",
        "ccap",
        False,
        """
Article 12 — Dispositions environnementales
Sans objet.
Article 13 — Pénalités
Le titulaire encourt une pénalité de 100 € par jour de retard.""",
    ),
    # EOL-WEEE-01
    (
        "EOL-WEEE-01",
        "ccap",
        True,
        """
Le titulaire reprend gratuitement les DEEE issus des matériels remplacés
et justifie de l'adhésion des producteurs à un éco-organisme agréé.""",
    ),
    (
        "EOL-WEEE-01",
        "ccap",
        False,
        """
Gestion des DEEE
Les déchets de chantier sont évacués par le titulaire.""",
    ),
    # other families
    ("SOC-CRIT-01", "rc", True, "Critère n° 4 : performance sociale de l'offre (10 %)"),
    (
        "SOC-CRIT-01",
        "rc",
        False,
        "Le candidat indique sa raison sociale et son SIRET.\nPrix : 60 %",
    ),
    (
        "ECO-RGESN-01",
        "cctp",
        True,
        "Le titulaire remet la déclaration d'écoconception établie selon le RGESN.",
    ),
    (
        "ECO-RGESN-01",
        "cctp",
        False,
        """
# X.1 Écoconception des matériels
Les pièces plastiques de plus de 25 g sont marquées.""",
    ),
    (
        "HOST-ENV-01",
        "cctp",
        True,
        "Le PUE annuel mesuré de chaque centre de données est inférieur à 1,5.",
    ),
    (
        "HOST-ENV-01",
        "cctp",
        False,
        "Publiez-vous vos PUE ? Pour chacun de vos centres de données ?",
    ),
    (
        "DATA-SOV-01",
        "cctp",
        True,
        "Les données sensibles sont hébergées sur une offre qualifiée SecNumCloud.",
    ),
    (
        "DATA-SOV-01",
        "ccap",
        False,
        "Le titulaire peut transférer des données vers un pays tiers dans le respect du RGPD.",
    ),
    ("COST-LCC-01", "rc", True, "Critère n° 1 : coût du cycle de vie calculé sur 5 ans (60 %)"),
    (
        "COST-LCC-01",
        "rc",
        False,
        "Exemples de sites d'écolabels : [TCO](https://tcocertified.com/product-finder/).",
    ),
    (
        "DUR-SPARES-01",
        "cctp",
        True,
        "Le constructeur garantit la disponibilité des pièces détachées pendant 7 ans.",
    ),
    (
        "DUR-SPARES-01",
        "cctp",
        False,
        "Pendant combien d'années le constructeur fournit-il des pièces de rechange ?",
    ),
    (
        "PROG-01",
        "ccap",
        True,
        "Clause de progrès : le titulaire informe l'acheteur de toute nouvelle labellisation.",
    ),
    ("PROG-01", "ccap", False, "Article 14 — Clause de progrès : sans objet."),
    (
        "SOC-SUPPLY-01",
        "ccap",
        True,
        "Les équipements sont fabriqués dans le respect des conventions fondamentales de l'OIT.",
    ),
    (
        "SOC-SUPPLY-01",
        "ccap",
        False,
        "Tout transfert vers une organisation internationale respecte le chapitre V du RGPD.",
    ),
    (
        "LABEL-01",
        "cctp",
        True,
        "Les écrans bénéficient du label TCO Certified ou d'un label équivalent.",
    ),
    (
        "LABEL-01",
        "cctp",
        False,
        "Le suivi annuel des actions réalisées dans le cadre des labels et certifications numériques obtenues.",
    ),
    (
        "ENERGY-01",
        "cctp",
        True,
        "La puissance appelée en mode veille est indiquée pour chaque modèle.",
    ),
    (
        "ENERGY-01",
        "cctp",
        False,
        "Réduire la consommation énergétique engendrée par les services numériques.",
    ),
    (
        "DUR-SWSUPPORT-01",
        "cctp",
        True,
        "Le constructeur fournit les mises à jour de sécurité pendant 5 ans après la dernière livraison.",
    ),
    (
        "DUR-SWSUPPORT-01",
        "cctp",
        False,
        "Les prestations de maintenance corrective font uniquement l'objet d'une livraison de mise à jour.",
    ),
    ("ACC-PROD-01", "cctp", True, "Les terminaux sont conformes à la norme EN 301 549."),
    (
        "ACC-PROD-01",
        "cctp",
        False,
        "Les mesures de la base tampon ne sont pas accessibles via les clients.",
    ),
    (
        "EOL-ITAD-01",
        "cctp",
        True,
        "Le titulaire remet un certificat d'effacement pour chaque numéro de série des matériels réformés.",
    ),
    (
        "EOL-ITAD-01",
        "cctp",
        False,
        "L'acheteur peut avoir recours aux acteurs de l'ESS et leur céder à titre gracieux les DEEE.",
    ),
    (
        "OPEN-01",
        "cctp",
        True,
        "Le titulaire utilise des formats ouverts pour toutes les données produites.",
    ),
    ("OPEN-01", "ccap", False, "Cette cession emporte cession et communication des codes source."),
    (
        "SOC-RESERVED-01",
        "rc",
        True,
        "Le lot n° 2 est réservé aux entreprises adaptées et aux ESAT (article L2113-12).",
    ),
    (
        "SOC-RESERVED-01",
        "ccap",
        False,
        """
Recours à la cotraitance avec une entreprise adaptée (EA) ou un ESAT.
Le pouvoir adjudicateur se réserve le droit d'apporter des modifications.""",
    ),
    (
        "SOC-YOUTH-01",
        "ccap",
        True,
        "Le titulaire accueille un jeune en situation de décrochage scolaire pendant 150 heures.",
    ),
    ("SOC-YOUTH-01", "ccap", False, "Jeunes de moins de 26 ans en recherche d'emploi :"),
]


@pytest.mark.parametrize(
    ("cid", "kind", "expected", "text"),
    EXAMPLES,
    ids=[f"{e[0]}-{e[1]}-{'pos' if e[2] else 'neg'}-{i}" for i, e in enumerate(EXAMPLES)],
)
def test_evidence_examples(cid: str, kind: str, expected: bool, text: str) -> None:
    clause = _clauses()[cid]
    hits = find_evidence([_piece(kind, text)], clause.evidence)
    assert bool(hits) is expected, (
        f"{cid} sur {kind} : attendu {'reconnu' if expected else 'non reconnu'}, "
        f"obtenu {[h.piece.lines[h.index].text for h in hits]}"
    )


def test_every_required_family_has_positive_and_negative_examples() -> None:
    pos = {cid for cid, _, exp, _ in EXAMPLES if exp}
    neg = {cid for cid, _, exp, _ in EXAMPLES if not exp}
    assert REQUIRED_IDS <= pos
    assert REQUIRED_IDS <= neg
