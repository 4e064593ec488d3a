"""Extraction quality: is the text read from a page the text a reader sees?

Three measures per page (PDF) or per piece:

* **undecoded glyphs** — characters whose font gives no Unicode value (a missing or
  broken ``/ToUnicode`` map: PDFium reports a « unicode map error »), and U+FFFD;
* **NUL and control characters** — ligatures (« fi », « ffi ») decoded as U+0000 break
  « efficacité », « certification »;
* **words stripped of their accents** — a font without ``/ToUnicode`` whose encoding
  lacks the accented glyphs drops them: « Critre », « rfrentiel gnral ». Words are
  looked up in the stripped forms of ~250 frequent tender words, and a page of French
  text without a single accented letter is suspect;
* **mis-decoded UTF-8** (mojibake) — a UTF-8 file read once as Windows-1252 or
  Latin-1 and saved again: « exÃ©cution », « lâ€™offre », « Â° ».

A page is unreliable (``PageQuality.reliable = False``) from 3 undecoded glyphs or 1 % of
its characters, 2 NUL/control characters or 3 glyphs decoded as nothing inside words
(PDFium's U+FFFE that is not the hyphen of a known compound), 3 stripped words / 2 % of its words, or no accented
letter at all in 120 lower-case French words. The reader then
adds a « texte non fiable, page N » issue and marks the page's blocks ``reliable=False``
so the checker reports « non vérifiable » instead of « absente ».
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tasks.memo import BoundedMemo

from .blocks import DocumentModel, Loc, PageQuality, ReadingIssue
from .normalize import known_compound

__all__ = ["assess", "mark_blocks", "stripped_forms"]

_WORD_RE = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœÆæ]{2,}")
_ACCENTED = frozenset("àâäéèêëîïôöùûüÿçœæÀÂÄÉÈÊËÎÏÔÖÙÛÜŸÇŒÆ")
_ACCENTED_RE = re.compile("[" + "".join(sorted(_ACCENTED)) + "]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
_LIGATURE_GAP_RE = re.compile(r"(\w+)\ufffe(\w+)")
#: UTF-8 sequences read as Windows-1252/Latin-1: « Ã » + the second byte of an accented
#: letter (« Ã© » for « é »), « â€ » + the third byte of a quote or dash, « Â » + a sign.
_MOJIBAKE_RE = re.compile(
    "Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
    "|â€|Â[\u00a0-\u00bf]"
)
_MOJIBAKE_WORD_RE = re.compile(r"[^\s<>]*(?:Ã.|â€.?|Â.)[^\s<>]*")
#: Frequent French words that contain no accent: their presence says « French text ».
_FRENCH_MARKERS = frozenset(
    "le la les des du de et un une est pour dans par sur au aux qui que ou avec ce cette "
    "sont titulaire marche".split()
)


#: Frequent words of French tenders that hold accented letters (the reading engine's own
#: vocabulary, not law): their forms with the accented letters deleted (« critre »,
#: « gnral ») betray a font that lost its accents.
_ACCENTED_WORDS = """
accès achat acquéreur activité activités adapté adaptée afférent agréé amélioration année
années annexé antérieur après arrêté article assurance à-dire bénéficiaire caractère
caractéristiques catégorie cédant certifié chargé clôture collectivité collectivités
commandé complémentaire complète complètes concerné concernée conformément considéré
contrôle contrôles coût coûts créé critère critères date décision décret défaillance
défini définie définies délai délais déjà démarche dépenses dérogation désigné détail
développement déterminé différents diffusé document données durée durées économique
économiques écrit effectué également élaboré électronique électroniques élément éléments
énergie énergétique entité équipe équipement équipements équivalent établi établissement
état étape études été évaluation événement exécution exécutés fidélité fréquence garantie
général générale générales gérer hébergement idéalement intégré intégrée intérêt journée
libellé légal légale législation lié liée liées livré lorsqu'à maîtrise majoré marché
marchés matériel matériels mémoire mentionné mentionnées méthode méthodologie modalité
modalités modifié montré nécessaire nécessaires numéro obligé opérateur opération
opérations paramètres particulière particulières pénalité pénalités période périodes
personnalisé pièce pièces plutôt précisé précisées préalable préalablement prédéfini
première présent présente présentes présentation prestataire prévu prévue prévues prévus
primé priorité procédé procédure procédures propriété protégé qualité qualités réalisation
réalisé réalisée réception récupération référence références référentiel réglementaire
réglementation règlement règles rémunération réparation répartition réponse réseau
réservé résiliation responsabilité résultat résultats réunion réunions révision saisie
sécurité séance sélection société spécifique spécifiques stratégie supérieur sûreté
système systèmes tâche tâches téléphone télétravail théorique très unité utilisé validé
variété vérification vérifié version volontaire zone zones énoncé
""".split()


def _strip(w: str) -> str:
    return "".join(c for c in w if c not in _ACCENTED)


_STRIPPED = (
    frozenset(s for s in (_strip(w.lower()) for w in _ACCENTED_WORDS) if len(s) >= 4)
    - frozenset(w.lower() for w in _ACCENTED_WORDS)
    - frozenset(
        "dure dures cote adapte concerne tape major anne annex command crit lies valid unit "
        "-dire lorsqu'".split()
    )
)


def stripped_forms() -> frozenset[str]:
    """Forms of frequent tender words with their accented letters deleted (« critre »,
    « rfrentiel », « gnral »), lower case."""
    return _STRIPPED


#: paragraph (text between blank lines) → its :class:`_Stats`, for the process
_LINE_STATS: BoundedMemo[str, _Stats] = BoundedMemo(200_000)


class _Stats(NamedTuple):
    """What :func:`assess` counts in a line: every figure adds up over the lines."""

    chars: int  # characters other than spaces
    controls: int  # NUL and control characters
    words: int
    stripped: int  # words in a form stripped of its accents (« critre »)
    lower: int  # lower-case words
    french: int  # lower-case words that mark a French text
    letters: int  # letters of the lower-case words
    accented: int  # accented letters of the lower-case words
    mojibake: int  # UTF-8 sequences read as Windows-1252 (« Ã© »)
    hits: tuple[str, ...]  # the distinct stripped forms


def _line_stats(line: str) -> _Stats:
    words = _WORD_RE.findall(line)
    hits: set[str] = set()
    if not _STRIPPED.isdisjoint(map(str.lower, words)):
        hits = {w for w in words if w.lower() in _STRIPPED}
    lower = list(filter(str.islower, words))
    return _Stats(
        sum(map(len, line.split())),  # str.split() cuts on exactly str.isspace()
        len(_CONTROL_RE.findall(line)),
        len(words),
        sum(w in hits for w in words) if hits else 0,
        len(lower),
        len(list(filter(_FRENCH_MARKERS.__contains__, lower))),
        sum(map(len, lower)),
        len(_ACCENTED_RE.findall(" ".join(lower))),
        len(_MOJIBAKE_RE.findall(line)) if ("Ã" in line or "â€" in line or "Â" in line) else 0,
        tuple(sorted(hits)),
    )


def assess(text: str, page: int | None, *, unmapped: int = 0) -> PageQuality:
    """:class:`PageQuality` of ``text`` (raw extracted text of one page or piece).

    ``unmapped``: characters the PDF library could not map to Unicode.
    """
    # every count adds up line by line (no word spans a line feed), hence paragraph by
    # paragraph: each paragraph is counted once for the process, a repository's pieces
    # share most of their paragraphs
    memo = _LINE_STATS
    lines = []
    for chunk in text.split("\n\n"):
        got = memo.get(chunk)
        lines.append(got if got is not None else memo.put(chunk, _line_stats(chunk)))
    # (text.split gives one line at least, even for an empty text)
    chars, controls, n_words, stripped, n_lower, french, letters, accented, mojibake = (
        sum(col) for col in list(zip(*lines, strict=True))[:9]
    )
    hits = sorted({w for st in lines if st.hits for w in st.hits})
    # NUL / control characters, and PDFium's U+FFFE inside a word (a glyph mapped to
    # U+0000: « e\ufffecacité »); U+FFFE before a line end is a soft hyphen
    # (« sous\ufffetraitant » is a hyphen: a compound normalize.known_compound knows)
    gaps = (
        sum(
            1 for m in _LIGATURE_GAP_RE.finditer(text) if not known_compound(m.group(1), m.group(2))
        )
        if "\ufffe" in text  # the regex scans every word: skip it when it cannot match
        else 0
    )
    nul = controls + gaps
    undecoded = unmapped + text.count("\ufffd")
    q = PageQuality(page, chars=chars, undecoded=undecoded, nul=nul, words=n_words)
    q.stripped_words = stripped
    q.examples = hits[:5]
    no_accents = n_lower >= 120 and french >= 15 and accented < 0.002 * letters
    reasons = []
    garbled = mojibake >= 3 or (n_words and mojibake >= 0.01 * n_words > 0)
    if garbled:
        m = _MOJIBAKE_WORD_RE.search(text)
        ex = f" : « {m.group(0)[:40]} »" if m else ""
        reasons.append(
            f"{mojibake} caractère(s) mal décodé(s){ex} (texte UTF-8 relu comme Windows-1252 "
            "puis réenregistré) — rouvrez la pièce en UTF-8 et réenregistrez-la"
        )
    if no_accents and q.stripped_words < 3 and not garbled:
        reasons.append("aucune lettre accentuée dans un texte français (accents perdus)")
    if undecoded >= 3 or (chars and undecoded >= 0.01 * chars and undecoded):
        reasons.append(f"{undecoded} caractère(s) non décodé(s) (police sans table Unicode)")
    if controls >= 2 or gaps >= 3:
        reasons.append(f"{nul} caractère(s) nul(s) ou de contrôle (ligatures mal décodées)")
    if not garbled and (
        q.stripped_words >= 3 or (n_words and q.stripped_words >= 0.02 * n_words > 0)
    ):
        ex = ", ".join(f"« {w} »" for w in q.examples[:3])
        reasons.append(f"{q.stripped_words} mot(s) privé(s) de leurs accents ({ex})")
    if reasons:
        q.reliable = False
        q.reason = " ; ".join(reasons)
    return q


def mark_blocks(model: DocumentModel) -> None:
    """Mark blocks on unreliable pages ``reliable=False`` and add one « texte non
    fiable » issue per such page (or for the piece)."""
    bad = {q.page: q for q in model.quality if not q.reliable}
    if not bad:
        return
    for b in model.blocks:
        pages = {s.loc.page for s in b.spans} or {b.loc.page}
        if any(p in bad for p in pages) or (None in bad):
            b.reliable = False
    for page, q in sorted(bad.items(), key=lambda kv: kv[0] or 0):
        where = f"page {page}" if page is not None else "pièce entière"
        model.issues.append(
            ReadingIssue(
                "texte-non-fiable",
                f"texte non fiable, {where} : {q.reason} ; ce qui s'y trouve ne peut pas "
                "être vérifié — demandez le document source (DOCX/ODT) ou un PDF "
                "exporté avec les polices incorporées.",
                Loc(page=page),
                "warning",
            )
        )
