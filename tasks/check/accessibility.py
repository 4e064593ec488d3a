"""Accessibility rules on the Markdown source of the pieces (before any assembly).

Small, text-only rules (no Pandoc, so that ``cahier check`` stays fast in a pre-commit
hook), located by file and line:

- ``image-sans-alternative`` (error): ``![](logo.png)`` without alternative text and not
  marked ``{.decoratif}`` — RGAA 4.1 critère 1.1, PDF/UA-1 (ISO 14289-1) §7.3; the
  assembly refuses it too.
- ``titre-vide`` (warning): a heading line with no text (``##``) — RGAA critère 9.1,
  PDF/UA-1 §7.4; the assembly drops it.

Fenced code blocks and the YAML front matter are skipped.
"""

from __future__ import annotations

import re

from tasks.clausier.rules import rule_basis, rule_severity, rule_titles
from tasks.dossier.document import PieceText
from tasks.dossier.model import Finding, Location

__all__ = ["ACCESSIBILITY_RULES", "accessibility_findings"]

#: Rule ids and their short French titles (``clause_library/rules.yaml``, ``controle``).
ACCESSIBILITY_RULES: dict[str, str] = {
    rid: rule_titles("controle")[rid]
    for rid in (
        "image-sans-alternative",
        "titre-vide",
        "imbrication-excessive",
        "caractere-controle",
    )
}

#: Deepest nesting of block quotes and list levels a piece may hold: beyond, Pandoc's
#: document tree is deeper than a reader (or the assembly) can walk, and no tender
#: needs it. Not law: a bound of the tool.
MAX_NESTING = 40
#: C0 control characters other than tab, line feed and carriage return, and DEL: no
#: font draws them (the PDF cannot be produced) and no reader hears them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Characters of a nesting prefix: a line nested past MAX_NESTING starts with more of
#: them than that (each level takes one at least).
_NEST_CHARS = " \t>-*+.)0123456789"
_LIST_MARK = re.compile(r"[-*+]|\d{1,9}[.)]")
_NEST_PREFIX = re.compile(r"(?:[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])))*")

_IMAGE = re.compile(
    r"!\[(?P<alt>(?:[^\[\]\\]|\\.)*)\]\((?P<url>[^)\s]*)(?:\s+\"[^\"]*\")?\)(?P<attrs>\{[^}]*\})?"
)
_EMPTY_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _body_lines(source: str) -> list[tuple[int, str]]:
    """``(line number, text)`` of the lines outside front matter and code fences."""
    lines = source.split("\n")
    out: list[tuple[int, str]] = []
    i = 0
    if lines and lines[0].strip() == "---":
        for j in range(1, len(lines)):
            if lines[j].strip() in ("---", "..."):
                i = j + 1
                break
    if "```" not in source and "~~~" not in source:  # no code fence (_FENCE)
        return [(n + 1, lines[n]) for n in range(i, len(lines))]
    fence: str | None = None
    for n in range(i, len(lines)):
        text = lines[n]
        m = _FENCE.match(text)
        if fence is None and m:
            fence = m[1][0] * 3
            continue
        if fence is not None:
            if text.strip().startswith(fence):
                fence = None
            continue
        out.append((n + 1, text))
    return out


def accessibility_findings(pieces: list[PieceText]) -> list[Finding]:
    """Findings of the rules above on every Markdown piece (``raw_source``)."""
    findings: list[Finding] = []
    for piece in pieces:
        if piece.format != "md" or not piece.raw_source:
            continue
        # once per piece each, and only searched for where they can be
        nested = False
        controlled = _CONTROL.search(piece.raw_source) is None
        for line, text in _body_lines(piece.raw_source):
            if not controlled and _CONTROL.search(text):
                controlled = True
                findings.append(_control_char(piece, line, _CONTROL.search(text).group()))
            if (
                not nested
                and len(text) - len(text.lstrip(_NEST_CHARS)) > MAX_NESTING  # a long prefix
                and nesting_depth(text) > MAX_NESTING
            ):
                nested = True  # once per piece
                findings.append(_too_deep(piece, line))
            # substring tests first: the patterns cannot match without them
            if "#" in text and _EMPTY_HEADING.match(text):
                findings.append(
                    Finding(
                        rule="titre-vide",
                        severity=rule_severity("titre-vide"),
                        location=Location(
                            file=piece.path, line=line, heading=piece.heading_at_src(line)
                        ),
                        message="Titre vide : donnez-lui un intitulé ou supprimez la ligne "
                        f"« {text.strip()} » (un titre vide est retiré à l'assemblage).",
                        fix="## Intitulé de la section",
                        legal_basis=rule_basis("titre-vide"),
                    )
                )
            for m in _IMAGE.finditer(text) if "![" in text else ():
                if m["alt"].strip() or ".decoratif" in (m["attrs"] or ""):
                    continue
                findings.append(
                    Finding(
                        rule="image-sans-alternative",
                        severity=rule_severity("image-sans-alternative"),
                        location=Location(
                            file=piece.path,
                            line=line,
                            column=m.start() + 1,
                            heading=piece.heading_at_src(line),
                        ),
                        message=f"Image « {m['url'][:80]} » sans texte de remplacement : "
                        "décrivez-la (RGAA critère 1.1, PDF/UA-1 §7.3) ou, si elle est "
                        "purement décorative, marquez-la {.decoratif}.",
                        fix=f"![description de l'image]({m['url']}) ou "
                        f"![]({m['url']}){{.decoratif}}",
                        legal_basis=rule_basis("image-sans-alternative"),
                    )
                )
    return findings


def nesting_depth(text: str) -> int:
    """Nesting that a Markdown line opens by itself: its « > » marks and the list
    markers that follow each other at its start (« > > - - x »). Indentation alone is
    not counted: four spaces make a code block, and converted documents indent text."""
    prefix = _NEST_PREFIX.match(text).group()
    return prefix.count(">") + len(_LIST_MARK.findall(prefix))


def _at_line(piece: PieceText, line: int, rule: str, message: str, fix: str) -> Finding:
    """A finding of ``rule`` (severity from rules.yaml) at ``line`` of ``piece``."""
    return Finding(
        rule=rule,
        severity=rule_severity(rule),
        location=Location(file=piece.path, line=line, heading=piece.heading_at_src(line)),
        message=message,
        fix=fix,
    )


def _too_deep(piece: PieceText, line: int) -> Finding:
    return _at_line(
        piece,
        line,
        "imbrication-excessive",
        f"Citations ou listes imbriquées sur plus de {MAX_NESTING} niveaux : la pièce ne "
        "peut pas être assemblée (ni lue par un lecteur d'écran).",
        "Réduisez l'imbrication : quelques niveaux de citation ou de liste suffisent.",
    )


def _control_char(piece: PieceText, line: int, char: str) -> Finding:
    return _at_line(
        piece,
        line,
        "caractere-controle",
        f"Caractère de contrôle invisible (U+{ord(char):04X}) dans la pièce : aucune police "
        "ne le dessine, le PDF ne peut pas être produit.",
        "Supprimez ce caractère (souvent copié d'un terminal ou d'un ancien logiciel).",
    )
