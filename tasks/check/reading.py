"""Findings about how a piece could be read: what the checker could not see.

The readers (:mod:`tasks.dossier.blocks`) record :class:`~tasks.dossier.blocks.ReadingIssue`
on each piece's model; this module turns them into findings, located by file and page
(PDF) or paragraph (DOCX/ODT):

- ``piece-sans-texte`` (error): a PDF without text layer (scanned) — nothing in it can be
  checked; fail closed: the error blocks assembly;
- ``texte-non-fiable`` (warning): a page whose extraction is not trustworthy (undecoded
  glyphs, NUL ligatures, words stripped of their accents); what is expected there is
  « non vérifiable », never « absente »;
- ``modification-non-acceptee`` / ``suppression-en-attente`` (warning): pending tracked
  changes (DOCX ``w:ins``/``w:del``, ODT ``text:tracked-changes``): the pending text is
  not counted as the piece's text;
- ``texte-masque`` (warning): hidden text (DOCX ``w:vanish``, ODT spans styled
  ``text:display="none"`` and ``text:hidden-paragraph``, HTML ``hidden``, ``display:
  none`` or ``visibility: hidden``): what a bidder cannot see is not counted as the
  piece's text;
- ``commentaire-non-resolu`` (info): comments left in a DOCX/ODT piece.

A dossier where no piece can be read at all is not checked (exit code 2, see
:func:`usable_or_raise`).
"""

from __future__ import annotations

from tasks.clausier.rules import rule_severity, rule_titles
from tasks.dossier.document import PieceText
from tasks.dossier.model import Finding, Location
from tasks.errors import InputError

__all__ = ["READING_RULES", "reading_findings", "usable_or_raise"]

#: Rule ids and their short French titles (``clause_library/rules.yaml``, ``controle``).
READING_RULES: dict[str, str] = {
    rid: rule_titles("controle")[rid]
    for rid in (
        "piece-sans-texte",
        "texte-non-fiable",
        "modification-non-acceptee",
        "suppression-en-attente",
        "texte-masque",
        "commentaire-non-resolu",
    )
}

_CODES = {
    "sans-couche-texte": "piece-sans-texte",
    "texte-non-fiable": "texte-non-fiable",
    "modification-non-acceptee": "modification-non-acceptee",
    "suppression-en-attente": "suppression-en-attente",
    "texte-masque": "texte-masque",
    "commentaire": "commentaire-non-resolu",
}

_FIX = {
    "piece-sans-texte": (
        "Joignez la version texte du document (DOCX, ODT ou PDF exporté du traitement de "
        "texte) ou faites-le passer par une reconnaissance de caractères (OCR)."
    ),
    "texte-non-fiable": (
        "Demandez le document source (DOCX/ODT) ou un PDF exporté avec ses polices "
        "incorporées, puis relancez le contrôle."
    ),
    "modification-non-acceptee": (
        "Acceptez ou refusez les modifications suivies dans le traitement de texte, puis "
        "enregistrez la pièce."
    ),
    "suppression-en-attente": (
        "Acceptez ou refusez la suppression dans le traitement de texte, puis enregistrez la pièce."
    ),
    "texte-masque": (
        "Affichez ce texte (retirez la mise en forme « masqué ») s'il fait partie du "
        "document, ou supprimez-le : les candidats ne le verront pas."
    ),
    "commentaire-non-resolu": "Traitez puis supprimez les commentaires avant publication.",
}


def reading_findings(pieces: list[PieceText]) -> list[Finding]:
    """One finding per reading issue of each piece's model (see the module docstring)."""
    findings: list[Finding] = []
    for piece in pieces:
        model = piece.model
        if model is None:
            if not piece.has_text_layer:
                findings.append(_scanned(piece))
            continue
        for issue in model.issues:
            rule = _CODES.get(issue.code, issue.code)
            loc = issue.loc
            findings.append(
                Finding(
                    rule=rule,
                    severity=rule_severity(rule),
                    location=Location(file=piece.path, line=loc.para or loc.line, page=loc.page),
                    message=issue.message[0].upper() + issue.message[1:],
                    fix=_FIX.get(rule),
                )
            )
    return findings


def _scanned(piece: PieceText) -> Finding:
    return Finding(
        rule="piece-sans-texte",
        severity=rule_severity("piece-sans-texte"),
        location=Location(file=piece.path, page=1),
        message=(
            "PDF sans couche texte (document numérisé) : rien ne peut y être vérifié ; les "
            "clauses attendues dans cette pièce sont non vérifiables."
        ),
        fix=_FIX["piece-sans-texte"],
    )


def usable_or_raise(pieces: list[PieceText]) -> None:
    """Raise when no piece of the dossier holds readable text (nothing to check).

    Raises:
        InputError: every piece is a scanned PDF or has no text (French message naming
            the first such piece; exit code 2).
    """
    readable = [p for p in pieces if p.has_text_layer and p.lines]
    if readable or not pieces:
        return
    scanned = next((p for p in pieces if not p.has_text_layer), pieces[0])
    raise InputError(
        "pas de couche texte : ce PDF est une image (document numérisé) et aucune autre "
        "pièce du dossier ne contient de texte lisible. Joignez la version texte du "
        "document ou faites-le passer par une reconnaissance de caractères (OCR) avant le "
        "contrôle.",
        scanned.path,
    )
