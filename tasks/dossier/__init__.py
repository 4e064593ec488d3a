"""A dossier as data: tender.yaml (model), pieces read from disk or a Git revision, normalised text, YAML with line numbers, atomic writes.

Public API: the names below (module: names), imported on first use (see
:func:`tasks.lazy_exports`); everything else in the package is internal."""

from __future__ import annotations

from tasks import lazy_exports

_PUBLIC = """
    blocks: Block Cell DocumentModel Loc PageQuality ReadingIssue Span
    document: Line PieceText Section
    files: create_new write_atomic
    headings: detect_heading parse_heading
    model: BuyerType CheckReport Clause ClauseEvidence Critere CritereType FamilyResult
    model: FamilyStatus Finding LegalReference Location Person Role SIRET_RE Severity Tender
    model: siret_ok
    normalize: fold join_hyphenated keeps_hyphen normalize_text split_glued
    parse: read_model
    reader: Dossier piece_kind read_dossier read_piece
    yamlio: french_error line_of load_yaml validate_yaml
"""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
