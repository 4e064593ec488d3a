"""Recognising hand-written equivalents of a clause from its evidence patterns.

The patterns are data (clause_library/clauses/*.yaml, ``evidence``); this module is
the small generic engine that applies them to the folded lines of a piece:

* a group matches when its first pattern (the anchor) matches a line and each other
  pattern matches a line within ``window`` lines of the anchor, in the same section
  (a heading starts a new section; the heading line itself belongs to its section);
* the anchor line must not match a ``negative`` pattern nor look like a table of
  contents entry (dotted leaders followed by a page number);
* with ``obligation: true`` the window must also contain an obligation marker
  (« le titulaire … », « doit », « s'engage », « est tenu », « devra »…), so that a mere
  mention (a list of applicable texts, a reminder of the law) is not taken for a clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from tasks.dossier.document import PieceText
from tasks.dossier.model import ClauseEvidence

__all__ = ["OBLIGATION_RE", "TOC_RE", "EvidenceHit", "find_evidence"]

OBLIGATION_RE = re.compile(
    r"\b(le titulaire|le prestataire|le fournisseur|le soumissionnaire|le candidat|"
    r"doi(?:t|vent)|devr(?:a|ont)|s'engagen?t?|est tenu|sont tenus|est requise?|"
    r"sont requis|exige|impose|obligatoire|sera|seront|s'oblige|fournit|fournira|"
    r"met en oeuvre|mettra en oeuvre|realise|realisera|respecte|respectera|"
    r"garanti[rt]?|conformement)\b"
)
TOC_RE = re.compile(r"(\.{4,}|…{2,}|(\. ){4,})\s*\d+\s*$")
NEGATIVE_DEFAULT = re.compile(r"\bsans objet\b|\bnon applicable\b")


@dataclass(frozen=True, slots=True)
class EvidenceHit:
    """A match: index of the anchor line in ``piece.lines`` and the group index."""

    piece: PieceText
    index: int
    group: int


@lru_cache(maxsize=4096)
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def find_evidence(
    pieces: list[PieceText], evidence: ClauseEvidence, *, limit: int = 5
) -> list[EvidenceHit]:
    """Anchor lines where ``evidence`` recognises the clause, in piece order.

    Args:
        pieces: the dossier's pieces (only those whose ``kind`` is in
            ``evidence.pieces`` are searched, all when that list is empty).
        evidence: the clause's evidence patterns (regexes over folded text).
        limit: stop after that many hits.

    Returns:
        Up to ``limit`` hits; an empty list when nothing matches.

    Raises:
        re.error: a pattern of the clausier is not a valid regular expression (the
            clausier's own test suite compiles every pattern).
    """
    hits: list[EvidenceHit] = []
    if not evidence.any:
        return hits
    negatives = [_rx(p) for p in evidence.negative]
    for piece in pieces:
        if evidence.pieces and piece.kind not in evidence.pieces:
            continue
        lines = piece.lines
        n = len(lines)
        for gi, group in enumerate(evidence.any):
            anchor = _rx(group.all[0])
            others = [_rx(p) for p in group.all[1:]]
            for i, line in enumerate(lines):
                if not anchor.search(line.folded):
                    continue
                if TOC_RE.search(line.text) or NEGATIVE_DEFAULT.search(line.folded):
                    continue
                if any(nr.search(line.folded) for nr in negatives):
                    continue
                sec = line.section
                lo, hi = max(0, i - group.window), min(n, i + group.window + 1)
                window = [lines[j].folded for j in range(lo, hi) if lines[j].section == sec]
                if not all(any(o.search(w) for w in window) for o in others):
                    continue
                if evidence.obligation and not any(OBLIGATION_RE.search(w) for w in window):
                    continue
                hits.append(EvidenceHit(piece, i, gi))
                if len(hits) >= limit:
                    return hits
                break  # one hit per group and piece is enough
    return hits
