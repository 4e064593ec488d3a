"""Completeness of a dossier: the pieces that the RC or the CCAP lists as part of the DCE
(« Le dossier de consultation comprend… », « Pièces contractuelles ») and that the
dossier lacks (R2132-2 CCP: the consultation documents are made available in full).

Listed kinds: AE, BPU, DQE, DPGF/DPF, CCTP, CCAP, RC, cadre de réponse, numbered annexes.
Never pieces: the CCAG, standards, candidates' forms (DC1, DC2, DUME), the bidder's own
documents (mémoire, offre). A spreadsheet (XLSX, ODS…) present under any name satisfies a
listed BPU, DQE or DPGF (price grids are usually spreadsheets).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from tasks.dossier.document import PieceText
from tasks.dossier.normalize import fold

__all__ = ["ListedPiece", "listed_pieces", "missing_listed_pieces"]

_CUE = re.compile(
    r"(?:dossier de (?:la )?consultation|\bdce\b)[^.]{0,40}(?:comprend|compos|contient|constitu)|"
    r"pieces (?:constitutives|contractuelles|du (?:dossier|dce)|suivantes ?:? ?$)|"
    r"contenu du (?:dossier|dce)|(?:marche|accord.cadre) est constitue|"
    r"documents? de la consultation (?:sont|comprend)"
)
_KINDS = [
    ("ae", r"acte d.engagement|\bae\b|\batt?ri1\b"),
    ("bpu", r"bordereaux? (?:des |de )?prix|\bbpu\b|\bbp\b"),
    ("dqe", r"detail quantitatif|\bdqe\b"),
    ("dpgf", r"decomposition du prix global|\bdpgf\b|\bdpf\b|decomposition du prix forfaitaire"),
    ("cctp", r"clauses techniques particulieres|\bcctp\b"),
    ("ccap", r"clauses administratives particulieres|\bccap\b"),
    ("rc", r"reglement de (?:la )?consultation|\brc\b"),
    ("cadre", r"cadres? de reponse|\bcrt\b"),
]
_NOT_PIECES = re.compile(
    r"\bccag\b|clauses administratives generales|\bnormes?\b|\bdc ?[1-4]\b|\bdume\b|"
    r"memoire technique|offre technique|\bkbis\b|attestation"
)
_LABELS = {
    "ae": "l'acte d'engagement (AE)",
    "bpu": "le bordereau des prix unitaires (BPU)",
    "dqe": "le détail quantitatif estimatif (DQE)",
    "dpgf": "la décomposition du prix global et forfaitaire (DPGF)",
    "cctp": "le CCTP",
    "ccap": "le CCAP",
    "rc": "le règlement de la consultation (RC)",
    "cadre": "le cadre de réponse",
}
_SHEETS = {".xlsx", ".xlsm", ".xls", ".ods", ".csv"}
_PRICE_KINDS = {"bpu", "dqe", "dpgf", "dpf"}


@dataclass(slots=True)
class ListedPiece:
    """A piece listed as part of the DCE: kind, French label, where it is listed."""

    kind: str
    label: str
    piece: PieceText
    index: int  # line index in ``piece.lines``


def listed_pieces(pieces: list[PieceText]) -> list[ListedPiece]:
    """Pieces the RC or the CCAP list as part of the DCE (first listing of each kind)."""
    out: dict[str, ListedPiece] = {}
    for piece in pieces:
        if piece.kind not in ("rc", "ccap"):
            continue
        lines = piece.lines
        i = 0
        while i < len(lines):
            if not _listing_cue(lines[i].folded, lines[i].text):
                i += 1
                continue
            section = lines[i].section
            for j in range(i, min(len(lines), i + 16)):
                ln = lines[j]
                if j > i and ln.section != section:
                    break
                for kind in _kinds_named(ln.folded):
                    if kind not in out:
                        out[kind] = ListedPiece(kind, _LABELS[kind], piece, j)
            i += 16
    return list(out.values())


@functools.lru_cache(maxsize=65536)  # per line: a repository's dossiers repeat lines
def _listing_cue(folded: str, text: str) -> bool:
    """The line announces a list of the DCE's pieces (not a form's dotted leader)."""
    return bool(_CUE.search(folded)) and not re.search(r"\.{4,}|…{2,}", text)


@functools.lru_cache(maxsize=65536)
def _kinds_named(text: str) -> tuple[str, ...]:
    """Kinds of piece a folded line of a listing names, in :data:`_KINDS` order."""
    if _NOT_PIECES.search(text) and not any(re.search(rx, text) for k, rx in _KINDS if k != "ccap"):
        return ()
    out: list[str] = []
    for kind, rx in _KINDS:
        if not re.search(rx, text):
            continue
        if kind == "ccap" and re.search(r"clauses administratives generales", text):
            if not re.search(r"particulieres|\bccap\b", text):
                continue
        out.append(kind)
    return tuple(out)


def _has(kind: str, pieces: list[PieceText]) -> bool:
    kinds = {p.kind for p in pieces}
    if kind in kinds:
        return True
    if kind in _PRICE_KINDS and any(
        PurePosixPath(p.path).suffix.lower() in _SHEETS or p.kind in _PRICE_KINDS for p in pieces
    ):
        return True
    if kind == "cadre":
        # a file of its own, or a section of another piece (« Annexe 1 – Cadre de réponse »)
        return any(
            "cadre" in p.path.lower()
            or any("cadre de reponse" in ln.folded for ln in p.lines[:5])
            or any(re.search(r"cadre de reponse", fold(s.title)) for s in p.sections)
            for p in pieces
        )
    return False


def missing_listed_pieces(pieces: list[PieceText]) -> list[ListedPiece]:
    """Listed pieces the dossier lacks."""
    return [lp for lp in listed_pieces(pieces) if not _has(lp.kind, pieces)]
