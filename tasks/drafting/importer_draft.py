"""``cahier import`` (:mod:`tasks.drafting.importer`): the values of tender.yaml read from the pieces.

:func:`draft_tender` reads, in the AE, then the RC, the CCAP and the CCTP: objet, CPV code,
procedure, CCAG (``clause_library/law.yaml``), SIRET and name of the buyer (its type from
``clause_library/import.yaml``), maximum amount, duration, deadline for offers, lots, award
criteria (:mod:`tasks.check.criteria`); each value with where it was read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from tasks.dossier.document import PieceText
from tasks.dossier.normalize import fold
from tasks.drafting.importer_vocab import import_vocab

__all__ = ["DraftTender", "draft_tender"]

_KIND_ORDER = {"ae": 0, "rc": 1, "ccap": 2, "cctp": 3}


@dataclass
class DraftTender:
    """Values read from the pieces (None: not found) and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


_OBJET = re.compile(
    r"^objet (?:de la consultation|du marche(?: public)?|de l'accord[- ]cadre|du present "
    r"(?:marche|accord[- ]cadre))\s*:\s*(?P<v>.{10,})$"
)
_OBJET_SENTENCE = re.compile(
    r"^(?:la (?:presente )?consultation|le present (?:marche|accord[- ]cadre)|l'accord[- ]cadre)"
    r" (?:a pour objet|porte sur)\b"
)
_CPV = re.compile(r"\bcpv\b\D{0,60}?(?P<v>\d(?:[\s.]?\d){7})(?:\s?-\s?\d)?\b")
_SIRET = re.compile(r"\bsiret\b\D{0,20}?(?P<v>\d(?:\s?\d){13})\b")


def _ccag_patterns() -> dict[str, re.Pattern[str]]:
    """tender.yaml ``ccag`` value → what names it in a folded text, for the CCAGs of
    law.yaml that have a name of their own (``nom``), in law.yaml's order (ties: first)."""
    from tasks.clausier.library import shipped_law

    return {c.decp: re.compile(c.import_pattern()) for c in shipped_law().ccags if c.nom}


_AMOUNT = (
    r"(?P<v>\d{1,3}(?:[\s.]\d{3})+|\d{4,})(?:,\d{1,2})?\s?(?:€|euros?)(?:\s?(?:ht|hors taxes?))?"
)
_MAX = re.compile(r"montant (?:global )?maximum" + r".{0,160}?" + _AMOUNT)
_DUREE_UNIT = r"[^.]{0,60}?\b(?P<n>\d{1,3})\)?\s?(?P<u>mois|ans?\b|an\(s\)|annees?\b)"
_DUREE = [
    re.compile(r"duree (?:globale|totale)" + _DUREE_UNIT),
    re.compile(r"duree maximale (?:de l'accord[- ]cadre|du marche)" + _DUREE_UNIT),
    re.compile(
        r"duree (?:initiale |ferme )?(?:de l'accord[- ]cadre|du marche|initiale)" + _DUREE_UNIT
    ),
    re.compile(r"(?:conclue?|passee?) pour une duree" + _DUREE_UNIT),
]


def _first(
    pieces: list[PieceText], rx: re.Pattern[str]
) -> tuple[re.Match[str], PieceText, int] | None:
    for piece in pieces:
        for i, ln in enumerate(piece.lines):
            m = rx.search(ln.folded)
            if m:
                return m, piece, i
    return None


def _where(piece: PieceText, i: int) -> str:
    ln = piece.lines[i]
    return f"{piece.path}" + (
        f" p. {ln.page}" if ln.page else f":{ln.src_line}" if ln.src_line else ""
    )


def _cut(text: str) -> str:
    text = " ".join(text.split()).strip(" :;")
    return text[:300].rstrip()


def draft_tender(pieces: list[PieceText]) -> DraftTender:
    """Values of tender.yaml read from the pieces (AE first, then RC, CCAP, CCTP)."""
    ordered = sorted(pieces, key=lambda p: _KIND_ORDER.get(p.kind, 9))
    d = DraftTender()
    _read_objet(ordered, d)
    hit = _first(ordered, _CPV)
    if hit:
        m, piece, i = hit
        d.values["codeCPV"], d.sources["codeCPV"] = (
            re.sub(r"\D", "", m.group("v")),
            _where(piece, i),
        )
    for proc in import_vocab().procedures:
        hit = _first(ordered, re.compile(re.escape(proc.needle)))
        if hit:
            d.values["procedure"], d.sources["procedure"] = proc.label, _where(hit[1], hit[2])
            break
    _read_ccag(ordered, d)
    hit = _first(ordered, _SIRET)
    if hit:
        m, piece, i = hit
        d.values["siret"], d.sources["siret"] = re.sub(r"\D", "", m.group("v")), _where(piece, i)
    _read_montant(ordered, d)
    _read_duree(ordered, d)
    if _first(ordered, re.compile(r"accord[- ]cadre")):
        d.values["techniques"] = ["Accord-cadre"]
    if _first(ordered, re.compile(r"donnees a caractere personnel|\brgpd\b")):
        d.values["donneesPersonnelles"] = True
    _read_criteria(ordered, d)
    _read_more(ordered, d)
    return d


def _read_objet(ordered: list[PieceText], d: DraftTender) -> None:
    """« Objet de la consultation : … » (with its next line when it wraps), else the
    sentence « La consultation a pour objet … » without its verb."""
    hit = _first(ordered, _OBJET)
    if hit:
        _m, piece, i = hit
        text = piece.lines[i].text
        value = text[text.index(":") + 1 :]
        nxt = piece.lines[i + 1].text if i + 1 < len(piece.lines) else ""
        if len(text) > 80 and nxt[:1].islower():
            value += " " + nxt
        d.values["objet"], d.sources["objet"] = _cut(value), _where(piece, i)
        return
    hit = _first(ordered, _OBJET_SENTENCE)
    if hit:
        _, piece, i = hit
        parts = [piece.lines[j].text for j in range(i, min(i + 4, len(piece.lines)))]
        sentence = " ".join(parts).split(".")[0]
        sentence = re.sub(
            r"^.{0,60}?(?:a pour objet|porte sur)\s+(?:la r[ée]alisation de |l'acquisition de "
            r"|la fourniture de |l'ex[ée]cution de )?",
            "",
            sentence,
            flags=re.I,
        )
        sentence = sentence[:1].upper() + sentence[1:]
        d.values["objet"], d.sources["objet"] = _cut(sentence), _where(piece, i)


def _read_ccag(ordered: list[PieceText], d: DraftTender) -> None:
    """The CCAG named most often (ties: law.yaml's order), with its first mention."""
    counts: dict[str, int] = {}
    patterns = _ccag_patterns()
    for label, rx in patterns.items():
        counts[label] = sum(len(rx.findall(ln.folded)) for p in ordered for ln in p.lines)
    best = max(counts, key=lambda k: counts[k])
    if counts[best]:
        first = _first(ordered, patterns[best])
        where = _where(first[1], first[2]) + ", " if first else ""
        d.values["ccag"], d.sources["ccag"] = best, f"{where}{counts[best]} mention(s)"


def _read_montant(ordered: list[PieceText], d: DraftTender) -> None:
    """« Montant maximum … N € HT » within three lines, the CCAP first (€ HT, integer)."""
    for piece in sorted(ordered, key=lambda p: p.kind != "ccap"):
        found = None
        for i, ln in enumerate(piece.lines):
            window = " ".join(x.folded for x in piece.lines[i : i + 3])
            if "montant maximum" in ln.folded:
                m = _MAX.search(window)
                if m:
                    found = (int(re.sub(r"\D", "", m.group("v"))), i)
                    break
        if found:
            d.values["montant"], d.sources["montant"] = found[0], _where(piece, found[1])
            return


def _read_duree(ordered: list[PieceText], d: DraftTender) -> None:
    """The total duration in months (years × 12), from the first of :data:`_DUREE` found."""
    for rx in _DUREE:
        hit = _first(ordered, rx)
        if hit:
            m, piece, i = hit
            n = int(m.group("n"))
            d.values["dureeMois"] = n if m.group("u") == "mois" else 12 * n
            d.sources["dureeMois"] = _where(piece, i) + f" (« {_cut(piece.lines[i].text)[:90]} »)"
            return


def _read_criteria(pieces: list[PieceText], d: DraftTender) -> None:
    """Award criteria as written (:mod:`tasks.check.criteria`): the first statement of
    the consultation's criteria, and each lot's own; problems kept as notes."""
    from tasks.check.criteria import read_criteria

    sets = read_criteria([p for p in pieces if p.kind not in ("ccap", "cctp")]) or read_criteria(
        pieces
    )
    if not sets:
        return
    main = next((s for s in sets if s.lot is None), None)
    per_lot: dict[int, object] = {}
    for s in sets:
        if s.lot is not None and s.lot not in per_lot:
            per_lot[s.lot] = s
    if main is None and per_lot:
        main = per_lot[min(per_lot)]
        if len({x.signature() for x in per_lot.values()}) == 1:
            per_lot = {}
    d.values["criteres"] = main.criteres
    d.sources["criteres"] = main.source.where() if main.source else main.file
    d.values["criteres_lots"] = per_lot
    notes = [
        f"{pb.message} ({pb.source.where() if pb.source else main.file})"
        for s in [main, *per_lot.values()]
        for pb in s.problems
    ]
    seen = {main.signature()}
    for s in sets:
        if s.lot is None and s.signature() not in seen:
            seen.add(s.signature())
            notes.append(
                f"autre énoncé des critères, différent, {s.source.where() if s.source else s.file} : "
                "vérifiez lequel fait foi"
            )
    d.values["criteres_notes"] = notes


_M_EUR = re.compile(
    r"(?P<v>\d{1,3}(?:[.,]\d{1,3})?)\s?(?:m€|millions? d.euros|millions? €|m euros)", re.I
)
_DEADLINE = re.compile(
    r"(?:date (?:et heure )?limite (?:de (?:reception|remise) )?(?:des (?:plis|offres))?|"
    r"remise des offres|reception des offres)\D{0,80}?(?P<d>\d{1,2})[/.](?P<m>\d{1,2})[/.](?P<y>\d{4})"
)
_BUYER_CUES = re.compile(
    r"(?:consultation est lancee par|pouvoir adjudicateur\s*:|nom (?:et adresse )?(?:officiel )?de "
    r"l.acheteur|identification (?:de l.acheteur|du pouvoir adjudicateur)|^acheteur\s*:|"
    r"entite adjudicatrice\s*:|organisme acheteur\s*:)\s*(?P<v>.*)$"
)
_NOT_ALLOTI = re.compile(
    r"n.est pas allotie?|pas d.allotissement|lot unique|marche non alloti|ne fait pas l.objet d.un allotissement"
)
_LOT_DEF = re.compile(
    r"^\s*(?:[-•*]\s*)?lot\s*(?:n\s?[°o]\s*)?(?P<n>\d{1,2})\s*[:–—-]\s*(?P<o>[^.]{5,160})", re.I
)


def _buyer_type(name: str) -> str | None:
    """The buyer's type from its name (import.yaml ``buyer_types``, first match)."""
    folded = " " + fold(name) + " "
    for entry in import_vocab().buyer_types:
        if any(w in folded for w in entry.words):
            return entry.type
    return None


def _read_more(pieces: list[PieceText], d: DraftTender) -> None:
    """Buyer name and type, deadline, lots, amounts in M€, CPV check digit."""
    _read_montant_millions(pieces, d)
    _read_buyer(pieces, d)
    _read_deadline(pieces, d)
    _read_lots(pieces, d)
    _read_cpv_check(pieces, d)


def _read_montant_millions(pieces: list[PieceText], d: DraftTender) -> None:
    """A maximum amount written in millions (« 1,5 M€ HT »), the CCAP first: it replaces
    the amount read in euros."""
    for piece in sorted(pieces, key=lambda p: p.kind != "ccap"):
        for i, ln in enumerate(piece.lines):
            if "maximum" in ln.folded:
                m = _M_EUR.search(ln.folded)
                if m:
                    v = round(float(m.group("v").replace(",", ".")) * 1_000_000)
                    d.values["montant"], d.sources["montant"] = v, _where(piece, i)
                    return


def _buyer_name(piece: PieceText, i: int, rest: str) -> tuple[str, int] | None:
    """The buyer's name after a cue at line ``i``: the rest of the line or one of the six
    next lines (« Nom : … » read, labels and empty lines skipped)."""
    candidates = [(rest, i)] + [
        (piece.lines[j].text.strip(), j) for j in range(i + 1, min(len(piece.lines), i + 7))
    ]
    for value, j in candidates:
        mn = re.match(r"^(?:nom|d[ée]nomination|raison sociale)\s*:\s*(.+)$", value, re.I)
        if mn:
            return mn.group(1), j
        if (
            not value
            or value.endswith(":")
            or re.match(r"^(?:siret|siren|adresse|t[ée]l|code|n°|repr[ée]sent|-)", value, re.I)
            or len(value) < 4
        ):
            continue
        return value, j
    return None


def _read_buyer(pieces: list[PieceText], d: DraftTender) -> None:
    """The buyer's name after a cue of :data:`_BUYER_CUES` in the first 500 lines of a
    piece (placeholders « …… » skipped), and its type from the name."""
    for piece in pieces:
        for i, ln in enumerate(piece.lines[:500]):
            m = _BUYER_CUES.search(ln.folded)
            if not m or re.search(r"\.{4,}|…{2,}", ln.text):
                continue
            rest = ln.text[len(ln.text) - len(m.group("v")) :].strip(" :") if m.group("v") else ""
            found = _buyer_name(piece, i, rest)
            if found:
                d.values["acheteur_nom"] = _cut(found[0])[:160]
                d.sources["acheteur_nom"] = _where(piece, found[1])
                break
        if "acheteur_nom" in d.values:
            break
    if d.values.get("acheteur_nom"):
        kind = _buyer_type(d.values["acheteur_nom"])
        if kind:
            d.values["acheteur_type"] = kind


def _read_deadline(pieces: list[PieceText], d: DraftTender) -> None:
    """The deadline for offers (« Date limite de réception des offres : 12/03/2025 »), else
    a date within three lines of « date limite » in the first 60 lines of a piece."""
    hit = _first(pieces, _DEADLINE)
    if hit is None:
        for piece in pieces:
            for i, ln in enumerate(piece.lines[:60]):
                if re.search(r"date limite|remise des offres", ln.folded):
                    window = " ".join(x.folded for x in piece.lines[i : i + 3])
                    m = re.search(r"(?P<d>\d{1,2})[/.](?P<m>\d{1,2})[/.](?P<y>\d{4})", window)
                    if m:
                        hit = (m, piece, i)
                        break
            if hit:
                break
    if hit:
        m, piece, i = hit
        try:
            day = dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        except ValueError:
            return
        d.values["dateLimiteOffres"] = day.isoformat()
        d.sources["dateLimiteOffres"] = _where(piece, i)


def _read_lots(pieces: list[PieceText], d: DraftTender) -> None:
    """Lots defined « Lot N : objet » (two at least), else ``[]`` when the consultation
    says it is not divided into lots."""
    hit = _first(pieces, _NOT_ALLOTI)
    lots: dict[int, tuple[str, str]] = {}
    for piece in pieces:
        for i, ln in enumerate(piece.lines):
            m = _LOT_DEF.match(ln.text)
            if m and int(m.group("n")) not in lots and not re.search(r"\d\s?%|€", ln.text):
                lots[int(m.group("n"))] = (_cut(m.group("o")), _where(piece, i))
    if lots and len(lots) >= 2:
        d.values["lots"] = [{"numero": n, "objet": o} for n, (o, _w) in sorted(lots.items())]
        d.sources["lots"] = ", ".join(w for _o, w in (lots[n] for n in sorted(lots)))
    elif hit:
        d.values["lots"] = []
        d.sources["lots"] = _where(hit[1], hit[2]) + " (consultation non allotie)"


def _read_cpv_check(pieces: list[PieceText], d: DraftTender) -> None:
    """A note when the CPV code is written without its check digit (« -N »)."""
    hit = _first(pieces, _CPV)
    if hit:
        m, piece, i = hit
        tail = piece.lines[i].folded[m.end("v") : m.end("v") + 4]
        if not re.match(r"\s?-\s?\d", tail):
            d.values["cpv_note"] = (
                f"le code CPV {m.group('v').replace(' ', '')} est écrit sans son chiffre de "
                f"contrôle ({_where(piece, i)}) : ajoutez-le (« -N ») d'après la nomenclature "
                "CPV (règlement (CE) n° 213/2008)"
            )
