"""Award criteria as read (:mod:`tasks.check.criteria`): what one line says.

Weights as written on a line (``60 %``, ``40/100``, ``20 points``, ``coefficient 3``, a bare
« Pondération : 40 », a column of bare numbers), the start of a zone of award criteria,
table headers naming a weight column, criterion names cleaned of their numbering and
markers of sub-criteria. Pure functions of one string; no state.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tasks.dossier.normalize import fold

# --------------------------------------------------------------------------- weights

_NUM = r"(?P<v>\d{1,3}(?:[.,]\d{1,2})?)"
_PCT = re.compile(_NUM + r"\s?(?:%|pour\s?cents?\b|pourcents?\b)")
_OVER = re.compile(_NUM + r"\s?/\s?(?P<of>100|20|10|1000)\b")
_POINTS = re.compile(_NUM + r"\s?(?:points?|pts?)\b\.?")
_POINTS = re.compile(_POINTS.pattern, re.I)
_COEF = re.compile(r"\bcoef(?:ficient|f?\.)?(?:\s+de\s+pond[ée]ration)?\s*[:=]?\s*" + _NUM + r"\b")
_COEF = re.compile(_COEF.pattern, re.I)
_BARE_POND = re.compile(
    r"\b(?:pond[ée]ration|poids|crit[èe]re d.attribution\s*[—–-]\s*nombre|nombre)"
    r"(?:\s*\([^)]{0,60}\))?\s*[:=]\s*" + _NUM + r"(?!\s?(?:%|/|points?|pts?|\d))",
    re.I,
)
_PLACEHOLDER = re.compile(r"(?:…|\.{2,}|\bx{1,3}\b|\[[^\]]{0,20}\]|_{2,})\s?%", re.I)
_TRAILING = re.compile(r"(?:^|\s)" + _NUM + r"\s*$")
_NOT_WEIGHT_CTX = re.compile(
    r"(?:not[ée]e?s?|notation|note|bar[eè]me|echelle|chelle)\s+(?:de\s+0\s+)?(?:sur|a|à)\s+\d+\s*$|"
    r"\bsur\s+$|\bde\s+0\s+a\s+$|\bentre\s+0\s+et\s+$|\bx\s*$|[=×*]\s*$|\bart(?:icle)?s?\.?\s+$|"
    r"\b[lrd]\.?\s?$|\bn[°o]\s*$|\bp\.\s*$|\bpage\s+$|\bannexe\s+$|\blot\s+(?:n[°o]\s*)?$"
)
_GLOBAL = re.compile(r"de la note (?:globale|finale|totale)|du total|de la note$", re.I)


@dataclass(slots=True)
class _Weight:
    value: float
    unit: str  # "%", "sur 100", "points", "coefficient", "ponderation", "nombre"
    written: str
    start: int
    end: int
    of: float | None = None  # « 40/100 » → 100


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def _weights(text: str, *, bare_ok: bool) -> list[_Weight]:
    """Weights written on one line (or row), left to right, non-overlapping."""
    found: list[_Weight] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    def ok_context(a: int) -> bool:
        before = fold(text[max(0, a - 40) : a])
        return not _NOT_WEIGHT_CTX.search(before)

    for rx, unit in (
        (_PCT, "%"),
        (_OVER, "sur"),
        (_POINTS, "points"),
        (_COEF, "coefficient"),
        (_BARE_POND, "ponderation"),
    ):
        for m in rx.finditer(text):
            a, b = m.span("v") if unit == "coefficient" or unit == "ponderation" else m.span()
            if unit in ("coefficient", "ponderation"):
                a, b = m.span()
            if not free(a, b):
                continue
            if unit not in ("coefficient", "ponderation", "points") and not ok_context(m.start()):
                continue
            v = _num(m.group("v"))
            if unit == "%" and v > 100:
                continue
            w = _Weight(v, unit, m.group(0).strip(), a, b)
            if unit == "sur":
                w.of = float(m.group("of"))
                w.unit = f"sur {m.group('of')}"
                if v > w.of:
                    continue
            found.append(w)
            taken.append((a, b))
    for m in _PLACEHOLDER.finditer(text):
        if free(*m.span()):
            found.append(_Weight(float("nan"), "a completer", m.group(0).strip(), *m.span()))
            taken.append(m.span())
    if bare_ok and not found:
        m = _TRAILING.search(text)
        if m and ok_context(m.start("v")):
            v = _num(m.group("v"))
            if 0 < v <= 100:
                found.append(_Weight(v, "colonne", m.group("v"), m.start("v"), m.end("v")))
    found.sort(key=lambda w: w.start)
    return found


# --------------------------------------------------------------------------- zones

_ZONE_START = re.compile(
    r"crit[eè]res? (?:d.attribution|de (?:jugement|choix|s[eé]lection|notation|classement)"
    r"(?: des offres)?|pond[eé]r|retenus|et (?:leur )?pond)|jugement des offres|"
    r"(?:choix|analyse|classement|examen|[eé]valuation|notation|s[eé]lection) des offres|"
    r"choix de l.offre|offre [ée]conomiquement la plus avantageuse|"
    r"pond[eé]ration des crit[eè]res|crit[eè]res d.[eé]valuation|attribution du march",
    re.I,
)
_CANDIDATURE = re.compile(r"candidatures?\b", re.I)
_LOT_LINE = re.compile(
    r"^\s*(?:[-•*]\s*)?(?:pour le |au titre du |concernant le |#+\s*)?lot\s*(?:n\s?[°o]\s*|no\.?\s*|num[eé]ro\s*)?"
    r"(?:[:]\s*lot[- ]?0*)?(?P<n>\d{1,4})\b(?!\s*(?:%|€|euros?\b))",
    re.I,
)
_CRIT_WORD = re.compile(r"\bcrit[eè]res?\b|\bpond[eé]r|\bnote\b|\bnot[eé]", re.I)


@functools.lru_cache(maxsize=65536)  # per line text: a repository's dossiers repeat lines
def _zone_start(text: str) -> bool:
    f = fold(text)
    if not _ZONE_START.search(f):
        return False
    # criteria for choosing candidates (capacités…) are not award criteria
    return not (_CANDIDATURE.search(f) and "offre" not in f)


# --------------------------------------------------------------------------- names

_PREFIX = re.compile(
    r"^\s*(?:[-–—•*o▪►]\s+|[-–—•*▪►])?\s*(?:(?:\d{1,2}(?:\.\d{1,2}){0,2}|[a-z]|[ivx]{1,4})[.)°]\s+)?"
    r"(?:(?P<sub>sous[- ]?crit[eè]res?|sc)\s*(?:n\s?[°o]\s*)?(?:\d{1,2}(?:\.\d{1,2})?|[a-z])?"
    r"|(?P<top>crit[eè]re)\s*(?:n\s?[°o]\s*)?(?P<num>\d{1,2}|[a-z])\b)?\s*[:.)–—-]?\s*",
    re.I,
)
_SUB_NUMBER = re.compile(r"^\s*(?:\d{1,2}\.\d{1,2}|[a-h]\)|[a-h]\.\s|[ivx]{1,4}\))\s*", re.I)
_TOP_NUMBER = re.compile(r"^\s*\d{1,2}[.)]\s+(?!\d)")
_DESCRIPTION = re.compile(
    r"^(?:d[ée]finition|ce (?:sous[- ])?crit[eè]re|cette|le (?:candidat|montant|prix|soumissionnaire)|"
    r"la note|note\b|les? (?:offres?|[ée]l[ée]ments?)|il |elle |pour |en |apprecie|appr[ée]ci|"
    r"formule|sur la base|au regard|dont\b|soit\b)",
    re.I,
)
_PROSE = re.compile(
    r"""
    (?:^|[,;:.]\s|\bque\s)                                   # a clause starts
    (?:le\ |la\ |l'|les\ )?(?:crit[eè]re\ (?:de\ (?:la\ |l')?|du\ |des\ |d')?)?   # « le critère de la »
    (?P<name>[^,;:.()]{3,90}?)\s*(?:\([^)]{0,60}\)\s*)?      # the name, an aside in brackets
    (?:repr[ée]sente(?:ra)?|compte(?:ra)?\ pour|p[eè]se(?:ra)?   # the verb that weighs it
      |(?:est|sera)\ pond[ée]r[ée]e?\ (?:a|à)
      |intervien(?:t|dra)\ (?:pour|à\ hauteur\ de)
      |(?:sera|est)\ affect[ée]e?\ d.un\ (?:coefficient|poids)\ de)
    \b.{0,80}$                                               # the weight, then the line's end
    """,
    re.I | re.X,
)
_TOTAL = re.compile(r"^\s*\|?\s*(?:\*\*)?(?:sous[- ])?total\b", re.I)
_PROSE_CRIT = re.compile(
    r"\bcrit[eè]re (?P<name>(?:[\w'’-]+ ){0,3}[\w'’-]+)\s*(?:de|à|:|pond[ée]r[ée] à)?\s*$", re.I
)
_EXPECT_SUBS = re.compile(
    r"\bdont\b|sous[- ]crit[eè]res?|d[ée]compos|r[ée]parti[es]? (?:comme suit|de la mani[eè]re)|"
    r"[ée]l[ée]ments suivants|ainsi r[ée]parti|se d[ée]clin|pond[ée]r[ée]s? comme suit",
    re.I,
)
_HEADER_WORDS = {
    "critere",
    "criteres",
    "ponderation",
    "ponderations",
    "poids",
    "note",
    "notes",
    "points",
    "sur",
    "sous",
    "sous-criteres",
    "coefficient",
    "coefficients",
    "n",
    "no",
    "et",
    "de",
    "la",
    "les",
    "des",
    "du",
    "en",
    "valeur",
    "globale",
    "libelle",
    "intitule",
    "%",
    "100",
    "20",
    "nature",
    "notation",
    "maximale",
    "max",
    "attribution",
    "elements",
    "d",
    "appreciation",
    "jugement",
    "methode",
    "bareme",
    "sous-critere",
    "subcriteria",
    "total",
    "offre",
    "offres",
    "technique",
    "techniques",
}


def _is_header(text: str) -> tuple[bool, bool]:
    """(is a table header naming a weight column, declares a relative « sur 100 »)."""
    f = fold(text)
    words = re.findall(r"[a-z%]+|\d+", f)
    if not words or len(words) > 10 or f.rstrip().endswith("."):
        return False, False
    if not any(w.startswith(("ponder", "poids", "point", "coeff", "note")) for w in words):
        return False, False
    if not all(w in _HEADER_WORDS for w in words):
        return False, False
    return True, bool(re.search(r"sur 100|/ ?100|pourcentage du crit", f))


def _is_head_row(cells: list[str]) -> tuple[bool, bool]:
    """For the first row of a table block of the document model (its head, known from
    the model, not guessed from its words): (names a weight column and holds no weight,
    declares a relative « sur 100 »)."""
    folded = [fold(c) for c in cells if c.strip()]
    names = any(
        re.search(r"\b(?:ponder|poids|point|coeff|note|notation|bareme)", f) for f in folded
    )
    if not names or any(re.search(r"\d", re.sub(r"(?:sur|/) ?100", "", f)) for f in folded):
        return False, False
    return True, any(re.search(r"sur 100|/ ?100|pourcentage du crit", f) for f in folded)


def _clean_name(text: str, *, before_weight: bool = True) -> str:
    t = text.strip().strip("|").strip()
    t = re.sub(r"\*\*|__", "", t)
    m = _PREFIX.match(t)
    if m:
        t = t[m.end() :]
    m_nom = re.search(r"\b(?:nom|intitul[ée]|libell[ée])\s*:\s*(.+)$", t, re.I)
    if m_nom:
        t = m_nom.group(1)
    t = re.sub(r"^\d{1,2}(?:\.\d{1,2})+\s+", "", t)
    t = re.sub(r"^crit[eè]re\s*(?=[«\"“])", "", t, flags=re.I)
    t = re.sub(r"^[«\"“]\s*([^»\"”]+?)\s*[»\"”]", r"\1", t)
    if before_weight:
        t = re.sub(r"\((?:[^()]*)?$", "", t)  # an open parenthesis left by the weight
    t = re.sub(r"\(\s*\)", "", t)
    t = re.sub(
        r"\s*(?:[:=–—-]|\bsoit\b|\bpond[ée]r[ée]e? (?:a|à)\b|\bpond[ée]ration\b|\bpoids\b|\bnot[ée]e?s? sur\b|\bsur\b|\bdont\b|\bde\b|\bà\b)\s*$",
        "",
        t,
        flags=re.I,
    )
    t = re.sub(r"\s*(?:[:=–—-]|\bsoit\b|\bpond[ée]ration\b)\s*$", "", t, flags=re.I)
    t = t.strip(" .;:,-–—/\t")
    return t


def _sentence(text: str, limit: int = 240) -> str:
    """The first sentence of ``text`` (up to a full stop followed by a capital, or « : »)."""
    m = re.search(r"(?<!\b[A-Z])\.(?=\s+[A-ZÀ-Ý])|\s:\s|:\s+(?=[A-ZÀ-Ý])", text)
    s = text[: m.start()] if m else text
    return s[:limit].strip(" .;:")


def _marker(text: str) -> str | None:
    """« sub », « top » or None from the start of a line."""
    t = text.strip()
    m = _PREFIX.match(t)
    if m and m.group("sub"):
        return "sub"
    if m and m.group("top"):
        return "top"
    if _SUB_NUMBER.match(t):
        return "sub"
    return None


def _last_clause(text: str) -> str:
    """The last clause of a segment: after the last « . », « ; », « - », « – », « : »
    that separates list entries written on one line."""
    parts = re.split(r"(?:[.;]\s+|\s[-–—•]\s+|:\s+(?=[-–—•]?\s*[A-ZÀ-Ý]))", text)
    parts = [p for p in parts if re.search(r"[A-Za-zÀ-ÿ]{2}", p)]
    return parts[-1].strip() if parts else text
