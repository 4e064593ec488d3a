"""A dossier as data: tender.yaml (model), pieces read from disk or a Git revision, normalised text, YAML with line numbers, atomic writes.

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

from tasks import lazy_exports

_EXPORTS: dict[str, str] = {
    "Block": "blocks",
    "Cell": "blocks",
    "DocumentModel": "blocks",
    "Loc": "blocks",
    "PageQuality": "blocks",
    "ReadingIssue": "blocks",
    "Span": "blocks",
    "parse_heading": "headings",
    "read_model": "parse",
    "BuyerType": "model",
    "CheckReport": "model",
    "Clause": "model",
    "ClauseEvidence": "model",
    "Critere": "model",
    "CritereType": "model",
    "Dossier": "reader",
    "FamilyResult": "model",
    "FamilyStatus": "model",
    "Finding": "model",
    "LegalReference": "model",
    "Line": "document",
    "Location": "model",
    "Person": "model",
    "PieceText": "document",
    "Role": "model",
    "SIRET_RE": "model",
    "Section": "document",
    "Severity": "model",
    "Tender": "model",
    "create_new": "files",
    "detect_heading": "headings",
    "fold": "normalize",
    "french_error": "yamlio",
    "join_hyphenated": "normalize",
    "keeps_hyphen": "normalize",
    "line_of": "yamlio",
    "load_yaml": "yamlio",
    "normalize_text": "normalize",
    "piece_kind": "reader",
    "read_dossier": "reader",
    "read_piece": "reader",
    "siret_ok": "model",
    "split_glued": "normalize",
    "validate_yaml": "yamlio",
    "write_atomic": "files",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
