"""Drafting defects in the pieces' text, located by file, page and line.

- ``texte-a-completer``: template text left to fill (« [à compléter] », « XX % »);
- ``signet-non-defini``: a broken Word cross-reference (« Erreur ! Signet non défini. »);
- ``options-non-tranchees``: a template's « OPTION 1 » / « OPTION 2 » both left;
- ``ccag-incoherent``: a CCAG cited other than the one tender.yaml declares (the CCAGs:
  law.yaml ``ccags``);
- ``reference-article-inexistante``: a reference to an article of this piece, or of the
  CCAP/CCTP, that does not exist.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tasks.clausier.library import Ccag, Law, shipped_law
from tasks.clausier.rules import rule_severity
from tasks.dossier.document import PieceText
from tasks.dossier.model import Finding, Location, Tender
from tasks.memo import BoundedMemo

__all__ = ["drafting_findings", "piece_location"]


@functools.lru_cache(maxsize=4)
def _ccag_cited(pattern: str) -> re.Pattern[str]:
    """The compiled CCAG pattern of law.yaml (:meth:`tasks.clausier.library.Law.ccag_cited_pattern`)."""
    return re.compile(pattern)


_PLACEHOLDER = re.compile(
    r"\[\s*(?:pr[ée]ciser|a compl[ée]ter|à compl[ée]ter|compl[ée]ter|ins[ée]rer|indiquer|xx+)[^\]]{0,80}\]"
    r"|\bXX\s?%|\bXX\s?(?:€|euros|jours|mois|ans)\b|\bX\s?%",
    re.IGNORECASE,
)
_MAX_PLACEHOLDERS = 10  # detailed per piece; the others are counted in one finding
# What Word writes in place of a broken cross-reference, in French and in English.
_WORD_ERRORS = (
    r"erreur\s*!\s*signet non d[ée]fini",
    r"erreur\s*!\s*source du renvoi introuvable",
    r"erreur\s*!\s*r[ée]f[ée]rence de lien hypertexte non valide",
    r"error!\s*bookmark not defined",
    r"error!\s*reference source not found",
)
_BOOKMARK = re.compile("|".join(_WORD_ERRORS), re.IGNORECASE)
_OPTION = re.compile(r"^\s*(?:[-*•]\s*)?option\s+([12])\s*:", re.IGNORECASE)
_SELF_REF = re.compile(r"\barticles?\s+(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\b(?P<tail>[^.;]{0,40})")
_SELF_TAIL = re.compile(
    r"^\s*(?:\S+\s+){0,2}?(?:du|de ce|de la|au)\s+pr[ée]sent\s+(ccap|cctp|cahier|document|r[èe]glement|rc)\b|^\s*(?:ci-dessus|ci-dessous|ci-apr[èe]s)"
)
_OTHER_REF = re.compile(
    r"\barticles?\s+(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\s+du\s+(?P<kind>ccap|cctp)\b", re.IGNORECASE
)
_PLACEHOLDER_KINDS = {"rc", "ccap", "cctp", "annexe", "autre", "ae"}


def piece_location(piece: PieceText, index: int) -> Location:
    """Location of line ``index`` of ``piece``: file, source line, page and heading."""
    line = piece.lines[index]
    return Location(
        file=piece.path, line=line.src_line, page=line.page, heading=piece.heading_of(index)
    )


class _Lazy:
    """The location of one line, built only when a finding needs it."""

    __slots__ = ("index", "piece")

    def __init__(self, piece: PieceText, index: int) -> None:
        self.piece, self.index = piece, index

    def __call__(self) -> Location:
        return piece_location(self.piece, self.index)


def drafting_findings(
    pieces: list[PieceText], tender: Tender, law: Law | None = None
) -> list[Finding]:
    """The drafting defects of every piece with text, piece by piece, line by line.

    ``law``: the CCAG list (law.yaml ``ccags``; default: the shipped clausier's)."""
    law = law or shipped_law()
    ccags = _Ccags(law.ccag(str(tender.ccag)), {c.id: c.sigle for c in law.ccags},
                   _ccag_cited(law.ccag_cited_pattern()))  # fmt: skip
    by_kind: dict[str, PieceText] = {}
    for p in pieces:
        by_kind.setdefault(p.kind, p)
    out: list[Finding] = []
    for piece in pieces:
        if piece.lines:
            out.extend(_piece_findings(piece, ccags, by_kind))
    return out


@dataclass(frozen=True)
class _Ccags:
    """The CCAG tender.yaml declares, every CCAG's sigle by id and the cited pattern."""

    declared: Ccag | None
    sigles: dict[str, str]
    cited: re.Pattern[str]


_OPTION_ANYWHERE = re.compile(_OPTION.pattern, re.IGNORECASE | re.MULTILINE)

# What a line may hold: the patterns searched in it (bits of :func:`_line_flags`).
_F_PLACEHOLDER, _F_BOOKMARK, _F_OPTION, _F_CCAG, _F_SELF, _F_OTHER = (1, 2, 4, 8, 16, 32)

#: (text, folded text, CCAG pattern) of a line → its bits, for the process: a
#: repository's dossiers repeat most of their lines. Cleared past 200 000 lines.
_FLAGS: BoundedMemo[tuple[str, str, re.Pattern[str]], int] = BoundedMemo(200_000)


def _line_flags(text: str, folded: str, ccag_cited: re.Pattern[str]) -> int:
    """Which patterns match somewhere in the line (0 for most lines): the line loop
    runs a check only where its pattern matches."""
    key = (text, folded, ccag_cited)
    got = _FLAGS.get(key)
    if got is None:
        # each pattern is searched only where a literal it cannot match without is
        # present (a substring test is ~50 × cheaper than a search that fails)
        low = text.lower()
        placeholder = "[" in text or "%" in text or "xx" in low
        article = "article" in folded
        got = (
            (_F_PLACEHOLDER if placeholder and _PLACEHOLDER.search(text) else 0)
            | (_F_BOOKMARK if "err" in low and _BOOKMARK.search(text) else 0)
            | (_F_OPTION if "opt" in low and _OPTION_ANYWHERE.search(text) else 0)
            | (_F_CCAG if "ccag" in folded and ccag_cited.search(folded) else 0)
            | (_F_SELF if article and _SELF_REF.search(folded) else 0)
            | (_F_OTHER if article and _OTHER_REF.search(folded) else 0)
        )
        _FLAGS.put(key, got)
    return got


def _piece_findings(
    piece: PieceText, ccags: _Ccags, by_kind: dict[str, PieceText]
) -> list[Finding]:
    out: list[Finding] = []
    numbers = piece.section_numbers()
    checks_self = len(numbers) >= 5 and piece.kind in ("ccap", "cctp", "rc")
    wanted = (
        (_F_PLACEHOLDER if piece.kind in _PLACEHOLDER_KINDS else 0)
        | _F_BOOKMARK
        | _F_OPTION
        | (_F_CCAG if ccags.declared else 0)
        | (_F_SELF if checks_self else 0)
        | _F_OTHER
    )
    option_seen: dict[str, int] = {}
    placeholders = 0
    for i, line in enumerate(piece.lines):
        flags = _line_flags(line.text, line.folded, ccags.cited) & wanted
        if not flags:
            continue
        loc = _Lazy(piece, i)
        if flags & _F_PLACEHOLDER:
            for m in _PLACEHOLDER.finditer(line.text):
                placeholders += 1
                if placeholders <= _MAX_PLACEHOLDERS:
                    out.append(_placeholder(loc(), m.group(0)))
        bookmark = flags & _F_BOOKMARK and _BOOKMARK.search(line.text)
        if bookmark:
            out.append(_broken_bookmark(loc(), bookmark.group(0)))
        om = flags & _F_OPTION and _OPTION.match(line.text)
        if om:
            option_seen.setdefault(om.group(1), i)
        if flags & _F_CCAG:
            out.extend(_ccag_findings(line.folded, ccags, loc))
        if flags & _F_SELF:
            out.extend(_self_references(line.folded, numbers, piece, loc))
        if flags & _F_OTHER:
            out.extend(_other_references(line.folded, piece, by_kind, loc))
    if placeholders > _MAX_PLACEHOLDERS:
        out.append(_more_placeholders(piece, placeholders))
    if len(option_seen) >= 2:
        out.append(_options_left(piece_location(piece, option_seen["1"])))
    return out


def _error(rule: str, loc: Location, message: str, fix: str | None = None) -> Finding:
    return Finding(rule=rule, severity=rule_severity(rule), location=loc, message=message, fix=fix)


def _placeholder(loc: Location, text: str) -> Finding:
    message = f"Texte à compléter laissé dans la pièce : « {text} »."
    fix = "Remplacez l'indication entre crochets par la valeur retenue."
    return _error("texte-a-completer", loc, message, fix)


def _more_placeholders(piece: PieceText, count: int) -> Finding:
    message = (
        f"… et {count - _MAX_PLACEHOLDERS} autre(s) texte(s) à "
        f"compléter dans {piece.path} ({count} en tout ; seuls les "
        f"{_MAX_PLACEHOLDERS} premiers sont détaillés)."
    )
    return _error("texte-a-completer", Location(file=piece.path), message)


def _broken_bookmark(loc: Location, text: str) -> Finding:
    message = f"Renvoi cassé laissé par le traitement de texte : « {text} »."
    fix = "Mettez à jour les champs (F9) ou remplacez le renvoi par le numéro d'article."
    return _error("signet-non-defini", loc, message, fix)


def _options_left(loc: Location) -> Finding:
    message = (
        "Le modèle propose « OPTION 1 » et « OPTION 2 » sans que l'une soit retenue : "
        "le gabarit n'a pas été adapté."
    )
    return _error(
        "options-non-tranchees", loc, message, "Conservez l'option retenue et supprimez l'autre."
    )


def _ccag_findings(folded: str, ccags: _Ccags, loc: _Lazy) -> list[Finding]:
    """CCAGs cited on a line other than the declared one (a line listing several CCAGs,
    the declared one among them — « CCAG-FCS, TIC et PI » — is not a finding)."""
    declared = ccags.declared.id if ccags.declared else ""
    cited_here = [
        next(k for k, v in m.groupdict().items() if v) for m in ccags.cited.finditer(folded)
    ]
    names_declared = declared in cited_here or (
        "," in folded and re.search(rf"\b{declared}\b", folded) is not None
    )
    if names_declared:
        return []
    sigle = ccags.sigles
    return [
        _error(
            "ccag-incoherent",
            loc(),
            f"La pièce cite le {sigle[cited]} alors que le marché "
            f"relève du {sigle[declared]} (tender.yaml : ccag).",
            f"Remplacez la référence par l'article équivalent du {sigle[declared]}.",
        )
        for cited in cited_here
        if cited != declared
    ]


def _self_references(folded: str, numbers, piece: PieceText, loc: _Lazy) -> list[Finding]:
    """« article 7.2 du présent CCAP » where the piece has no article 7.2."""
    return [
        _error(
            "reference-article-inexistante",
            loc(),
            f"Renvoi à l'article {m['num']} du présent document, qui n'existe pas "
            f"dans {piece.path}.",
            "Corrigez le numéro d'article du renvoi.",
        )
        for m in _SELF_REF.finditer(folded)
        if _SELF_TAIL.match(m["tail"]) and m["num"] not in numbers
    ]


def _other_references(
    folded: str, piece: PieceText, by_kind: dict[str, PieceText], loc: _Lazy
) -> list[Finding]:
    """« article 12 du CCTP » where the dossier's CCTP has no article 12."""
    out: list[Finding] = []
    for m in _OTHER_REF.finditer(folded):
        target = by_kind.get(m["kind"].lower())
        if target is None or target is piece or len(target.section_numbers()) < 3:
            continue
        if m["num"] not in target.section_numbers():
            message = (
                f"Renvoi à l'article {m['num']} du {m['kind'].upper()}, qui n'existe "
                f"pas dans {target.path}."
            )
            fix = "Corrigez le renvoi ou ajoutez l'article cité."
            out.append(_error("reference-article-inexistante", loc(), message, fix))
    return out
