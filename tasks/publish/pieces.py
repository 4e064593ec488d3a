"""Sandboxed Jinja2 rendering of the Markdown pieces: ``clause("ID", …)`` → fenced div."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from tasks.clausier.library import Clausier
from tasks.clausier.render import (
    CLAUSE_CALL_RE,
    FENCE_OPEN_RE,
    clause_block,
    fence_attrs,
    parse_call_args,
)
from tasks.clausier.sandbox import render_bounded
from tasks.clausier.templates import (
    environment,
    lint_templates,
    runtime_message,
    scan_tokens,
    syntax_message,
    template_line,
)
from tasks.dossier.document import PieceText
from tasks.dossier.model import Finding, Tender
from tasks.dossier.reader import Dossier
from tasks.errors import InputError
from tasks.publish.base import _PIECE_ORDER, _finding


@dataclass
class ClauseUse:
    """A library clause found in a piece (``clause()`` call or fenced div)."""

    clause_id: str
    piece: str
    line: int
    heading: str | None


@dataclass
class RenderedPiece:
    """A Markdown piece after Jinja2 rendering (or the generated bidder guide)."""

    path: str  # relative to the dossier ("pieces/ccap.md"), or "guide-de-reponse"
    kind: str
    stem: str  # output file stem ("ccap")
    markdown: str
    uses: list[ClauseUse] = field(default_factory=list)


def _clause_uses(piece: PieceText) -> list[ClauseUse]:
    src = piece.raw_source or ""
    uses: list[tuple[int, str]] = []
    for m in CLAUSE_CALL_RE.finditer(src):
        line = src.count("\n", 0, m.start()) + 1
        try:
            cid, _ = parse_call_args(m["args"], piece.path, line)
        except InputError:
            continue
        uses.append((line, cid))
    for n, text in enumerate(src.split("\n"), 1):
        m = FENCE_OPEN_RE.match(text)
        if m:
            cid = fence_attrs(m["attrs"]).get("id")
            if cid:
                uses.append((n, cid))
    return [ClauseUse(cid, piece.path, n, piece.heading_at_src(n)) for n, cid in sorted(uses)]


def _stem(path: str) -> str:
    rel = PurePosixPath(path)
    parts = list(rel.parts[1:] if rel.parts and rel.parts[0] == "pieces" else rel.parts)
    parts[-1] = PurePosixPath(parts[-1]).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(parts)).strip("-").lower() or "piece"


def render_piece(
    piece: PieceText, clausier: Clausier, tender: Tender
) -> tuple[RenderedPiece | None, list[Finding]]:
    """Render a Markdown piece: ``{{ clause("ID", k=v) }}`` → the clause's fenced div.

    The template sees ``clause`` and ``tender`` (tender.yaml as plain data) only.

    Returns:
        ``(rendered piece, [])``, or ``(None, findings)`` with ``gabarit-non-sur`` /
        ``gabarit-invalide`` findings located by file and line.
    """
    source = piece.raw_source or ""
    env = environment()

    def invalid(exc: TemplateSyntaxError) -> list[Finding]:
        line, message = syntax_message(exc, source, env)
        return [_finding("gabarit-invalide", piece.path, line, f"gabarit invalide : {message}")]

    try:
        findings = scan_tokens(env, source, piece.path)
    except TemplateSyntaxError as exc:
        return None, invalid(exc)
    if findings:
        return None, findings

    def clause(clause_id: str, **params: Any) -> str:
        c = clausier.get(str(clause_id))
        if c is None:
            raise InputError(clausier.unknown(clause_id))
        return clause_block(c, params)

    env.globals.update(clause=clause, tender=tender.model_dump(mode="json"))
    try:
        text = render_bounded(env.from_string(source))
    except TemplateSyntaxError as exc:
        return None, invalid(exc)
    except SecurityError as exc:
        return None, [
            _finding(
                "gabarit-non-sur",
                piece.path,
                template_line(exc),
                f"opération refusée par le bac à sable ({exc}) : retirez cette instruction.",
            )
        ]
    except UndefinedError as exc:
        return None, [
            _finding(
                "gabarit-invalide",
                piece.path,
                template_line(exc),
                f"gabarit invalide : {runtime_message(exc)} ; une pièce ne peut utiliser que "
                'clause("ID", …) et tender (ex. {{ tender.objet }}).',
            )
        ]
    except InputError as exc:
        return None, [_finding("gabarit-invalide", piece.path, template_line(exc), exc.message)]
    except SyntaxError:  # e.g. clause("ID", a=1, a=2): Python refuses the compiled code
        found = [f for f in lint_templates([piece]) if "répété" in f.message]
        return None, found or [
            _finding("gabarit-invalide", piece.path, None, "gabarit invalide : appel mal formé.")
        ]
    except (TemplateError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        return None, [
            _finding(
                "gabarit-invalide",
                piece.path,
                template_line(exc),
                f"erreur dans le gabarit : {runtime_message(exc)}.",
            )
        ]
    return RenderedPiece(piece.path, piece.kind, _stem(piece.path), text, _clause_uses(piece)), []


def _piece_rank(piece: PieceText) -> tuple[int, str]:
    order = _PIECE_ORDER.index(piece.kind) if piece.kind in _PIECE_ORDER else len(_PIECE_ORDER)
    return order, piece.path


def render_pieces(
    dossier: Dossier, clausier: Clausier
) -> tuple[list[RenderedPiece], list[Finding]]:
    """Render every Markdown piece (RC, AE, CCAP, CCTP, BPU… order).

    Returns:
        the rendered pieces and every template finding (empty when all rendered).
    """
    rendered: list[RenderedPiece] = []
    findings: list[Finding] = []
    for piece in sorted(dossier.pieces, key=_piece_rank):
        if piece.format != "md":
            continue
        r, f = render_piece(piece, clausier, dossier.tender)
        findings.extend(f)
        if r is not None:
            rendered.append(r)
    return rendered, findings
