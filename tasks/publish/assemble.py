"""Assembly of the final DCE: DOCX, ODT, HTML, tagged PDF (PDF/UA-1) and a PDF/A-2b copy.

Pipeline (plain functions; ``flows/assemble.py`` runs the conversions concurrently)::

    gate(dossier)                 check report without error + review_gate() (unless draft)
    render_pieces()               sandboxed Jinja2: clause("ID", …) → fenced div
    bidder_guide()                « Guide de réponse » from the clauses present
    parse_documents()             one Pandoc call: Markdown → AST (JSON), then in Python:
                                  sanitising (no raw HTML/LaTeX, no file outside the
                                  dossier), French typography, title and heading levels
    convert(doc, fmt)             Pandoc --sandbox (docx, odt, html, typst) + Typst
    finalize()                    manifest.json (SHA-256 of inputs and outputs), zip

Security: templates run in a :class:`jinja2.sandbox.SandboxedEnvironment` (StrictUndefined,
no import/include, no dunder, bounded ``*``/``**``); an unsafe or broken template is a
:class:`~tasks.dossier.model.Finding` (``gabarit-non-sur``, ``gabarit-invalide``) with file and
line, never a traceback. Pandoc always runs with ``--sandbox`` and a heap limit and a
timeout; raw HTML/LaTeX/Typst is never passed through; images are read only from inside
the dossier and embedded; Typst compiles in an empty temporary root, without system
fonts (reproducible) and without packages.

Reproducibility: DOCX/ODT/HTML/PDF carry no time but the *source date* (the Git commit
date, or ``SOURCE_DATE_EPOCH``); zip archives are rewritten with sorted entries and fixed
dates; two runs on the same input give byte-identical files and the manifest records
whether the previous manifest of the output folder had the same hashes.

French typography (Lexique des règles typographiques en usage à l'Imprimerie nationale):
narrow no-break space (U+202F) before ``;`` ``!`` ``?``, no-break space (U+00A0) before
``:`` and ``»`` and after ``«``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import traceback
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
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
from tasks.clausier.templates import (
    environment,
    lint_templates,
    scan_tokens,
    syntax_message,
)
from tasks.dossier.document import PieceText
from tasks.dossier.model import Clause, Critere, CritereType, Finding, Location, Severity, Tender
from tasks.dossier.reader import Dossier
from tasks.errors import InputError

__all__ = [
    "FORMATS",
    "REFERENCE_DIR",
    "RULES",
    "AssemblyContext",
    "AssemblyRefused",
    "AssemblyResult",
    "Document",
    "OutputFile",
    "RenderedPiece",
    "assemble",
    "bidder_guide",
    "build_reference_documents",
    "check_output_dir",
    "convert",
    "copy_sources",
    "finalize",
    "french_text",
    "french_typography",
    "gate",
    "lint_templates",
    "make_context",
    "parse_documents",
    "render_piece",
    "render_pieces",
    "review_gate",
    "source_date_epoch",
    "zip_name_for",
]

#: Output formats, in the order they are produced.
FORMATS: tuple[str, ...] = ("docx", "odt", "html", "pdf")

#: Reference documents and Pandoc templates (clause_library/templates/reference/).
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "clause_library" / "templates" / "reference"

#: Rule ids of assembly findings and their French titles.
RULES: dict[str, str] = {
    "gabarit-invalide": "Gabarit Jinja2 invalide (syntaxe, variable inconnue, clause ou paramètre)",
    "gabarit-non-sur": "Gabarit Jinja2 refusé : tentative d'accès interdit (sécurité)",
    "contenu-brut-ignore": "HTML/LaTeX brut ignoré à l'assemblage",
    "image-hors-dossier": "Image ou fichier hors du dossier ignoré",
    "image-sans-alternative": "Image sans texte de remplacement (RGAA 1.1, PDF/UA-1)",
    "lien-fichier-local": "Lien vers un fichier local retiré",
}

PIECE_TITLES = {
    "rc": "Règlement de la consultation (RC)",
    "ccap": "Cahier des clauses administratives particulières (CCAP)",
    "cctp": "Cahier des clauses techniques particulières (CCTP)",
    "ae": "Acte d'engagement (AE)",
    "bpu": "Bordereau des prix unitaires (BPU)",
    "dpgf": "Décomposition du prix global et forfaitaire (DPGF)",
    "dqe": "Détail quantitatif estimatif (DQE)",
    "annexe": "Annexe",
    "qr": "Questions-réponses",
}
_PIECE_ORDER = ["rc", "ae", "ccap", "cctp", "bpu", "dpgf", "dqe", "annexe", "qr"]

GUIDE_STEM = "guide-de-reponse"
PANDOC_TIMEOUT_S = 120.0
PANDOC_HEAP = "1536m"
_MD_READER = (
    "markdown-raw_tex-raw_attribute-tex_math_dollars-tex_math_single_backslash"
    "-tex_math_double_backslash-latex_macros-citations-yaml_metadata_block"
)

NNBSP = "\u202f"  # espace fine insécable
NBSP = "\u00a0"  # espace insécable


class AssemblyRefused(InputError):
    """The dossier cannot be assembled (gate, or template findings).

    Attributes:
        findings: the blocking findings (error level), located.
        reasons: French lines saying why (one per finding or pending review).
    """

    def __init__(self, message: str, findings: list[Finding], reasons: list[str]):
        self.findings = findings
        self.reasons = reasons
        super().__init__(message)


# --------------------------------------------------------------------------- gate


def review_gate(dossier: Dossier) -> list[str]:
    """French reasons why the dossier's referent reviews do not allow a final assembly.

    Delegates to :func:`tasks.review.reviews.review_gate` (one line per item pending, lapsed or
    with changes requested) for the revision read (``dossier.commit``) or the working
    tree. See docs/reviews.md.
    """
    from tasks.review.reviews import review_gate as reviews_open

    return reviews_open(dossier.root, rev=dossier.commit)


def gate(dossier: Dossier, clausier: Clausier, draft: bool) -> list[Finding]:
    """Refuse a final assembly of a dossier with error findings or pending reviews.

    Returns:
        the check findings (all severities) — recorded in the manifest.

    Raises:
        AssemblyRefused: not ``draft`` and the check report has errors (listed) or
            :func:`review_gate` returns reasons.
    """
    from tasks.check.checker import check_dossier

    report = check_dossier(dossier, clausier)
    if draft:
        return report.findings
    errors = [f for f in report.findings if f.severity == Severity.error]
    reasons = [
        f"[{f.rule}] {f.location.label() + ' : ' if f.location else ''}{f.message}" for f in errors
    ]
    reasons += review_gate(dossier)
    if reasons:
        raise AssemblyRefused(
            f"assemblage refusé : {len(errors)} erreur(s) au contrôle"
            + (
                f", {len(reasons) - len(errors)} revue(s) en attente"
                if len(reasons) > len(errors)
                else ""
            )
            + " ; corrigez-les (cahier check) ou assemblez un projet avec --draft.",
            errors,
            reasons,
        )
    return report.findings


# --------------------------------------------------------------------------- rendering


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


def _finding(rule: str, piece: str, line: int | None, message: str, sev=Severity.error) -> Finding:
    return Finding(
        rule=rule, severity=sev, location=Location(file=piece, line=line), message=message
    )


def _template_line(exc: BaseException) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return getattr(exc, "lineno", None)


_UNDEFINED_MESSAGES = [
    (re.compile(r"^'(?P<n>[^']+)' is undefined$"), "variable « {n} » inconnue"),
    (
        re.compile(r"^'(?P<o>[^']+)' has no attribute '(?P<n>[^']+)'$"),
        "champ « {n} » absent",
    ),
]


def _undefined_message(exc: UndefinedError) -> str:
    msg = str(exc.message or "")
    for rx, fmt in _UNDEFINED_MESSAGES:
        m = rx.match(msg)
        if m:
            return fmt.format(**m.groupdict())
    return msg


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
            raise InputError(
                f"clause « {clause_id} » inconnue du clausier {clausier.version} "
                "(voir « cahier clauses list »)."
            )
        return clause_block(c, params)

    env.globals.update(clause=clause, tender=tender.model_dump(mode="json"))
    try:
        text = env.from_string(source).render()
    except TemplateSyntaxError as exc:
        return None, invalid(exc)
    except SecurityError as exc:
        return None, [
            _finding(
                "gabarit-non-sur",
                piece.path,
                _template_line(exc),
                f"opération refusée par le bac à sable ({exc}) : retirez cette instruction.",
            )
        ]
    except UndefinedError as exc:
        return None, [
            _finding(
                "gabarit-invalide",
                piece.path,
                _template_line(exc),
                f"gabarit invalide : {_undefined_message(exc)} ; une pièce ne peut utiliser que "
                'clause("ID", …) et tender (ex. {{ tender.objet }}).',
            )
        ]
    except InputError as exc:
        return None, [_finding("gabarit-invalide", piece.path, _template_line(exc), exc.message)]
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
                _template_line(exc),
                f"erreur dans le gabarit ({type(exc).__name__} : {exc}).",
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


# --------------------------------------------------------------------------- guide


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|$@])", r"\\\1", " ".join(text.split()))


def _fmt_pct(x: float) -> str:
    return f"{x:g}".replace(".", ",") + " %"


def _criteria_rows(criteres: Iterable[Critere], depth: int = 0) -> list[str]:
    rows: list[str] = []
    for c in criteres:
        name = ("— " * depth) + _md_escape(c.nom)
        rows.append(f"| {name} | {_fmt_pct(c.poids)} |")
        rows.extend(_criteria_rows(c.sousCriteres, depth + 1))
    return rows


def _scoring(clause: Clause, tender: Tender) -> str:
    """How a clause is judged: the criteria it feeds (from its DECP mapping) or « non notée »."""
    kinds: list[CritereType] = []
    if "Critère environnemental" in clause.decp.considerationsEnvironnementales:
        kinds += [CritereType.environnement, CritereType.cout]
    if "Critère social" in clause.decp.considerationsSociales:
        kinds.append(CritereType.social)
    if kinds:
        crits = [c for c in tender.criteres if c.type in kinds]
        if crits:
            return (
                "Notée au titre du critère "
                + " ; ".join(
                    f"« {_md_escape(c.nom)} » ({_fmt_pct(c.poids)} de la note)" for c in crits
                )
                + "."
            )
        return "Notée au titre d'un critère d'attribution (voir le règlement de la consultation)."
    return (
        "Non notée : exigence ou condition d'exécution qui s'impose à tous les candidats ; "
        "une offre qui ne la respecte pas est irrégulière."
    )


def bidder_guide(
    dossier: Dossier, clausier: Clausier, rendered: list[RenderedPiece]
) -> RenderedPiece:
    """The « Guide de réponse » annex: criteria and weights, then each clause present.

    For each library clause found in the rendered pieces: where it is (piece, article),
    what the bidder must supply (``bidder_guidance``), how it is judged (criterion and
    weight from tender.yaml, or not scored), and its legal basis.
    """
    t = dossier.tender
    lines = [
        "# Guide de réponse",
        "",
        f"Consultation n° {_md_escape(t.id)} — {_md_escape(t.objet)}.",
        "",
        "Ce guide, établi à partir des clauses du dossier, indique pour chaque exigence "
        "responsable ce que le candidat doit fournir et comment sa réponse est appréciée. "
        "Il ne remplace pas le règlement de la consultation, qui prévaut en cas de divergence.",
        "",
        "## Critères d'attribution et pondérations",
        "",
    ]
    if t.criteres:
        lines += ["| Critère | Pondération |", "|---|---|", *_criteria_rows(t.criteres), ""]
    else:
        lines += ["Les critères sont fixés par le règlement de la consultation.", ""]
    seen: dict[str, list[ClauseUse]] = {}
    for r in rendered:
        for u in r.uses:
            seen.setdefault(u.clause_id, []).append(u)
    lines += ["## Exigences responsables du dossier", ""]
    if not seen:
        lines += ["Le dossier ne contient pas de clause du clausier.", ""]
    for cid, uses in seen.items():
        c = clausier.get(cid)
        if c is None:
            continue
        where = " ; ".join(
            dict.fromkeys(
                f"{PurePosixPath(u.piece).stem.upper()}" + (f", {u.heading}" if u.heading else "")
                for u in uses
            )
        )
        lines += [
            f"### {_md_escape(c.title)} ({c.id})",
            "",
            f"**Où** : {_md_escape(where)}.",
            "",
            f"**Ce qui est demandé et les justificatifs à fournir** : {_md_escape(c.bidder_guidance)}",
            "",
            f"**Appréciation** : {_scoring(c, t)}",
            "",
            "**Fondement** : " + " ; ".join(_md_escape(lb.ref) for lb in c.legal_basis) + ".",
            "",
        ]
    return RenderedPiece(GUIDE_STEM, "guide", GUIDE_STEM, "\n".join(lines))


# --------------------------------------------------------------------------- pandoc


def _pandoc(
    args: list[str], data: bytes, timeout: float = PANDOC_TIMEOUT_S, where: str = ""
) -> bytes:
    """Run Pandoc (pypandoc-binary's executable) with ``--sandbox``, a heap limit and a timeout.

    pypandoc provides the binary; it is called with :func:`subprocess.run` because
    pypandoc's API has no timeout.

    Raises:
        InputError: Pandoc failed or exceeded ``timeout`` seconds (French message).
    """
    import pypandoc

    cmd = [pypandoc.get_pandoc_path(), "+RTS", f"-M{PANDOC_HEAP}", "-RTS", "--sandbox", *args]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": tempfile.gettempdir(), "LANG": "C.UTF-8"}
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise InputError(
            f"conversion trop longue (plus de {timeout:g} s) : allégez ou scindez la pièce "
            "(tableaux très longs, centaines de pages).",
            where or None,
        ) from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1][:300] if detail else f"code {proc.returncode}"
        if "heap" in reason.lower():
            reason = "mémoire insuffisante"
        raise InputError(f"conversion Pandoc impossible ({reason}).", where or None)
    return proc.stdout


def pandoc_version() -> str:
    import pypandoc

    return str(pypandoc.get_pandoc_version())


# --------------------------------------------------------------------------- AST


@dataclass
class Document:
    """One document to write: a piece or the guide, as a sanitised Pandoc AST."""

    source: str  # "pieces/ccap.md" or "guide-de-reponse"
    stem: str
    title: list[dict]  # Pandoc inlines
    title_text: str
    ast: dict  # {"pandoc-api-version", "meta", "blocks"}
    images: dict[str, bytes] = field(default_factory=dict)  # "img-<sha>.png" → bytes


def _walk(value: Any, fn: Callable[[dict], Any]) -> Any:
    """Bottom-up rewrite of a Pandoc JSON value; ``fn`` returns a node, None (drop) or a list."""
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            new = _walk(item, fn)
            if isinstance(item, dict) and "t" in item:
                if new is None:
                    continue
                if isinstance(new, list):
                    out.extend(new)
                    continue
            out.append(new)
        return out
    if isinstance(value, dict):
        if "c" in value:
            value = {**value, "c": _walk(value["c"], fn)}
        return fn(value) if "t" in value else value
    return value


def _stringify(inlines: Any) -> str:
    parts: list[str] = []

    def fn(node: dict) -> dict:
        t = node["t"]
        if t == "Str":
            parts.append(node["c"])
        elif t in ("Space", "SoftBreak", "LineBreak"):
            parts.append(" ")
        elif t in ("Code", "Math"):
            parts.append(node["c"][-1])
        return node

    _walk(copy.deepcopy(inlines), fn)
    return "".join(parts).strip()


#: Space before a sign → the no-break space French typography puts there.
_SPACE_BEFORE = {
    ";": NNBSP,
    "!": NNBSP,
    "?": NNBSP,
    "%": NNBSP,
    ":": NBSP,
    "»": NBSP,
    "€": NBSP,
}
_URLISH = re.compile(r"://|@|/|&|=|^\d")
_LINKISH = re.compile(r"://|@|/|&|=")
#: Words the next word stays glued to: « (opening guillemet), n°/N° (numéro).
_GLUE_AFTER = re.compile(r"(?:«|(?<![^\W\d_])[nN][°º])$")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")


def french_typography(inlines: list[dict]) -> list[dict]:
    """French spacing in a list of Pandoc inlines (Str/Space nodes); code is untouched.

    An ordinary space before ``;`` ``!`` ``?`` ``%`` becomes U+202F (espace fine
    insécable), before ``:`` ``»`` ``€`` U+00A0 (espace insécable), after ``«`` and
    ``n°`` U+00A0; a missing space inside « », before ``;!?`` glued to a word, between a
    number and ``%``/``€`` or after ``n°`` followed by a digit is added; a straight
    apostrophe between letters becomes the typographic one (’), as Pandoc's « smart »
    reader does in the body. URLs, times (10:30) and e-mail addresses are left alone.
    Source: Lexique des règles typographiques en usage à l'Imprimerie nationale.

    >>> french_typography([{"t": "Str", "c": "Qui"}, {"t": "Space"}, {"t": "Str", "c": "?"}])
    [{'t': 'Str', 'c': 'Qui\\u202f?'}]
    """
    out: list[dict] = []
    for node in inlines:
        t = node.get("t")
        if t == "Str":
            s = _APOSTROPHE.sub("\u2019", node["c"])
            s = re.sub(r"«(?=\S)", "«" + NBSP, s)
            s = re.sub(r"(?<=\S)»", NBSP + "»", s)
            if not _URLISH.search(s):
                s = re.sub(r"(?<=[^\W\d_])([;!?])", NNBSP + r"\1", s)
            if not _LINKISH.search(s):
                s = re.sub(r"(?<=\d)%(?!\w)", NNBSP + "%", s)
                s = re.sub(r"(?<=\d)€", NBSP + "€", s)
                s = re.sub(r"(?<![^\W\d_])([nN][°º])(?=\d)", r"\1" + NBSP, s)
            prev = out[-1] if out else None
            if (
                prev is not None
                and prev.get("t") in ("Space", "SoftBreak")
                and s[:1] in _SPACE_BEFORE
            ):
                out.pop()
                space = _SPACE_BEFORE[s[:1]]
                if out and out[-1].get("t") == "Str":
                    out[-1] = {"t": "Str", "c": out[-1]["c"] + space + s}
                    continue
                s = space + s
            out.append({"t": "Str", "c": s})
        elif (
            t in ("Space", "SoftBreak")
            and out
            and out[-1].get("t") == "Str"
            and _GLUE_AFTER.search(out[-1]["c"])
        ):
            out[-1] = {"t": "Str", "c": out[-1]["c"] + NBSP}
        else:
            out.append(node)
    return out


def french_text(text: str) -> str:
    """:func:`french_typography` on plain text (headers, metadata): « l'acheteur » →
    « l’acheteur », « n° 12 » → « n°\\u00a012 », « 50 € » → « 50\\u00a0€ »."""
    nodes: list[dict] = []
    for i, word in enumerate(" ".join(text.split()).split(" ")):
        if i:
            nodes.append({"t": "Space"})
        nodes.append({"t": "Str", "c": word})
    return "".join(n["c"] if n["t"] == "Str" else " " for n in french_typography(nodes))


_INLINE_LIST_KEYS = (
    "Para",
    "Plain",
    "Header",
    "Emph",
    "Strong",
    "Span",
    "Link",
    "Quoted",
    "Underline",
    "Strikeout",
    "SmallCaps",
)


def _apply_typography(node: dict) -> dict:
    t = node["t"]
    c = node.get("c")
    if t in ("Para", "Plain"):
        return {"t": t, "c": french_typography(c)}
    if t == "Header":
        return {"t": t, "c": [c[0], c[1], french_typography(c[2])]}
    if t in ("Emph", "Strong", "Underline", "Strikeout", "SmallCaps"):
        return {"t": t, "c": french_typography(c)}
    if t in ("Span", "Link"):
        return {"t": t, "c": [c[0], french_typography(c[1]), *c[2:]]}
    return node


_ALLOWED_SCHEMES = ("http://", "https://", "mailto:", "tel:", "#")
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
_BR_RE = re.compile(r"^\s*<br\s*/?>\s*$", re.I)


def _source_line(source: str, needle: str) -> int | None:
    i = source.find(needle) if needle else -1
    return source.count("\n", 0, i) + 1 if i >= 0 else None


def _sanitize(
    doc_source: str,
    markdown: str,
    ast: dict,
    read_file: Callable[[str], bytes | None],
) -> tuple[dict, dict[str, bytes], list[Finding]]:
    """Drop raw HTML/LaTeX, file links and images from outside the dossier; embed images."""
    findings: list[Finding] = []
    images: dict[str, bytes] = {}
    base = posixpath.dirname(doc_source)

    def fn(node: dict) -> Any:
        t = node["t"]
        if t in ("RawInline", "RawBlock"):
            fmt, text = node["c"]
            if t == "RawInline" and fmt == "html" and _BR_RE.match(text):
                return {"t": "LineBreak"}
            if fmt == "html" and text.lstrip().startswith("<!--"):
                return None  # drafting comments are never published
            findings.append(
                _finding(
                    "contenu-brut-ignore",
                    doc_source,
                    _source_line(markdown, text.strip()[:40]),
                    f"code {fmt.upper()} brut ignoré (« {text.strip()[:60]} ») : écrivez en "
                    "Markdown ; les pièces publiées ne contiennent pas de code brut.",
                    Severity.warning,
                )
            )
            return None
        if t == "Link":
            url = node["c"][2][0]
            if not url.startswith(_ALLOWED_SCHEMES) and (
                ":" in url.split("/", 1)[0] or url.startswith(("/", "\\", "~"))
            ):
                findings.append(
                    _finding(
                        "lien-fichier-local",
                        doc_source,
                        _source_line(markdown, url),
                        f"lien vers « {url[:80]} » retiré (fichier local ou schéma non autorisé).",
                        Severity.warning,
                    )
                )
                return {"t": "Span", "c": [["", [], []], node["c"][1]]}
            return node
        if t == "Image":
            attr, alt, (url, title) = node["c"]
            if not _stringify(alt):
                findings.append(
                    _finding(
                        "image-sans-alternative",
                        doc_source,
                        _source_line(markdown, url),
                        f"image « {url[:80]} » sans texte de remplacement : écrivez "
                        "![description de l'image](fichier.png) (RGAA critère 1.1, PDF/UA-1).",
                    )
                )
                return None
            data: bytes | None = None
            ext = PurePosixPath(url.split("?")[0]).suffix.lower()
            rel = posixpath.normpath(posixpath.join(base, url)) if url else ""
            local = (
                url
                and ":" not in url.split("/", 1)[0]
                and not url.startswith(("/", "\\", "~"))
                and not rel.startswith("..")
                and ext in _IMAGE_TYPES
            )
            if local:
                data = read_file(rel)
            if data is None:
                findings.append(
                    _finding(
                        "image-hors-dossier",
                        doc_source,
                        _source_line(markdown, url),
                        f"image « {url[:80]} » ignorée : seules les images PNG, JPEG ou GIF "
                        "placées dans le dossier de la consultation sont incluses.",
                        Severity.warning,
                    )
                )
                return {"t": "Span", "c": [["", [], []], alt]}
            name = f"img-{hashlib.sha256(data).hexdigest()[:16]}{ext}"
            images[name] = data
            return {"t": "Image", "c": [attr, alt, [f"cahier-image:{name}", title]]}
        return node

    blocks = _walk(ast["blocks"], fn)
    return {**ast, "blocks": blocks}, images, findings


def _structure(blocks: list[dict], default_title: str) -> tuple[list[dict], list[dict], str]:
    """Title from the single leading H1 (else the default), headings shifted so that the
    title is the only level 1 and no level is skipped (RGAA 9.1, PDF/UA-1)."""
    headers = [i for i, b in enumerate(blocks) if b["t"] == "Header"]
    h1 = [i for i in headers if blocks[i]["c"][0] == 1]
    title: list[dict]
    shift = 1
    if h1 and h1[0] == headers[0] and len(h1) == 1:
        title = blocks[h1[0]]["c"][2]
        blocks = blocks[: h1[0]] + blocks[h1[0] + 1 :]
        shift = 0
    else:
        title = [{"t": "Str", "c": default_title}]
    prev = 1
    out = []
    for b in blocks:
        if b["t"] == "Header":
            level = min(max(b["c"][0] + shift, 2), prev + 1, 6)
            prev = level
            b = {"t": "Header", "c": [level, b["c"][1], b["c"][2]]}
        out.append(b)
    return out, title, _stringify(title)


def parse_documents(
    pieces: list[RenderedPiece],
    read_file: Callable[[str], bytes | None],
    timeout: float = PANDOC_TIMEOUT_S,
) -> tuple[list[Document], list[Finding]]:
    """Markdown → sanitised Pandoc ASTs, in one Pandoc call for all pieces.

    Each piece is wrapped in a div ``#cahier-doc-N``; if a piece's own fences break
    that structure, the pieces are parsed one by one instead.

    Returns:
        the documents (same order) and the sanitising findings (warnings, or errors for
        images without alternative text).
    """
    wrapped = "\n\n".join(
        f"::: {{#cahier-doc-{i}}}\n\n{p.markdown.rstrip()}\n\n:::" for i, p in enumerate(pieces)
    )
    raw = json.loads(_pandoc(["-f", _MD_READER, "-t", "json"], wrapped.encode("utf-8"), timeout))
    blocks = raw["blocks"]
    ok = len(blocks) == len(pieces) and all(
        b["t"] == "Div" and b["c"][0][0] == f"cahier-doc-{i}" for i, b in enumerate(blocks)
    )
    bodies: list[list[dict]] = []
    if ok:
        bodies = [b["c"][1] for b in blocks]
    else:
        for p in pieces:
            one = _pandoc(
                ["-f", _MD_READER, "-t", "json"], p.markdown.encode("utf-8"), timeout, p.path
            )
            bodies.append(json.loads(one)["blocks"])
    docs: list[Document] = []
    findings: list[Finding] = []
    for p, body in zip(pieces, bodies, strict=True):
        ast = {"pandoc-api-version": raw["pandoc-api-version"], "meta": {}, "blocks": body}
        ast, images, f = _sanitize(p.path, p.markdown, ast, read_file)
        findings.extend(f)
        blocks2 = _walk(ast["blocks"], _apply_typography)
        default = french_text(PIECE_TITLES.get(p.kind, PurePosixPath(p.path).stem))
        blocks2, title, title_text = _structure(blocks2, default)
        ast["blocks"] = blocks2
        docs.append(Document(p.path, p.stem, french_typography(title), title_text, ast, images))
    return docs, findings


# --------------------------------------------------------------------------- context


@dataclass
class AssemblyContext:
    """Everything a conversion needs, shared by all documents of one assembly."""

    tender: Tender
    clausier_version: str
    draft: bool
    epoch: int  # source date (seconds since 1970, UTC)
    workdir: Path  # temporary folder: per-tender reference documents
    staging: Path  # where outputs are written before being moved into place
    reference_docx: Path
    reference_odt: Path
    timeout: float = PANDOC_TIMEOUT_S

    @property
    def date(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.epoch, dt.UTC)


def source_date_epoch(dossier: Dossier) -> int:
    """The date written in the outputs: ``SOURCE_DATE_EPOCH`` if set, else the date of the
    commit read (``--rev``), else of HEAD of the dossier's repository, else 2000-01-01.
    """
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env.isdigit():
        return int(env)
    info = _git_info(dossier)
    if info.get("date"):
        return int(info["date"])
    return 946684800


def _git_info(dossier: Dossier) -> dict[str, Any]:
    try:
        import git
    except ImportError:  # pragma: no cover
        return {}
    try:
        repo = git.Repo(Path(dossier.root).absolute(), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return {"commit": dossier.commit, "rev": dossier.rev}
    with repo:
        try:
            commit = repo.commit(dossier.commit) if dossier.commit else repo.head.commit
        except (ValueError, git.BadName):  # type: ignore[attr-defined]
            return {"commit": dossier.commit, "rev": dossier.rev}
        dirty = None
        if not dossier.commit and repo.working_tree_dir:
            rel = os.path.relpath(
                Path(dossier.root).resolve(), Path(repo.working_tree_dir).resolve()
            )
            dirty = bool(repo.git.status("--porcelain", "--", rel))
        return {
            "commit": commit.hexsha,
            "rev": dossier.rev,
            "date": commit.committed_date,
            "dirty": dirty,
        }


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def normalize_zip(
    data: bytes, epoch: int | None = None, fix: Callable[[str, bytes], bytes] | None = None
) -> bytes:
    """Rewrite a zip (DOCX, ODT) deterministically: same entry order, fixed dates,
    fixed permissions; ``mimetype`` stays first and stored (ODF 1.3 §3.3).
    ``fix(name, data)`` may rewrite entries (dates in docProps/meta.xml).
    """
    date = _FIXED_ZIP_DATE
    if epoch is not None:
        d = dt.datetime.fromtimestamp(max(epoch, 315532800), dt.UTC)
        date = (d.year, d.month, d.day, d.hour, d.minute, d.second - d.second % 2)
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if fix is not None:
                content = fix(info.filename, content)
            zi = zipfile.ZipInfo(info.filename, date_time=date)
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            zi.compress_type = (
                zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            )
            dst.writestr(zi, content)
    return buf.getvalue()


def _customize_reference(path: Path, tender: Tender, draft: bool) -> bytes:
    """The stored reference document with the tender's header and the draft watermark."""
    values = {
        "{reference}": _xml_escape(tender.id),
        "{objet}": _xml_escape(french_text(tender.objet)),
        "{acheteur}": _xml_escape(french_text(tender.acheteur.nom)),
    }

    def fix(name: str, content: bytes) -> bytes:
        if not (name.startswith(("word/header", "word/footer")) or name == "styles.xml"):
            return content
        text = content.decode("utf-8").replace("n° {reference}", "n°" + NBSP + "{reference}")
        for k, v in values.items():
            text = text.replace(k, v)
        if not draft:
            # the watermark paragraph/shape is delimited by the PROJET markers
            text = re.sub(
                r"<w:p>(?:(?!<w:p[ >]).)*?CAHIER-PROJET(?:(?!</w:p>).)*?</w:p>",
                "",
                text,
                flags=re.S,
            )
            text = re.sub(
                r"<text:p text:style-name=\"CahierProjet\">.*?</text:p>", "", text, flags=re.S
            )
        return text.encode("utf-8")

    return normalize_zip(path.read_bytes(), None, fix)


def make_context(
    tender: Tender,
    clausier_version: str,
    draft: bool,
    epoch: int,
    workdir: Path,
    staging: Path,
    timeout: float = PANDOC_TIMEOUT_S,
) -> AssemblyContext:
    """Prepare the per-tender reference documents in ``workdir``."""
    docx = workdir / "reference.docx"
    odt = workdir / "reference.odt"
    docx.write_bytes(_customize_reference(REFERENCE_DIR / "reference.docx", tender, draft))
    odt.write_bytes(_customize_reference(REFERENCE_DIR / "reference.odt", tender, draft))
    return AssemblyContext(
        tender, clausier_version, draft, epoch, workdir, staging, docx, odt, timeout
    )


# --------------------------------------------------------------------------- convert


@dataclass
class OutputFile:
    """One file written by the assembly (path relative to the output folder)."""

    path: str
    source: str
    format: str  # docx, odt, html, pdf, pdfa, source
    sha256: str
    bytes: int
    publish: bool = True


def _meta_string(s: str) -> dict:
    return {"t": "MetaString", "c": s}


def _doc_ast(doc: Document, ctx: AssemblyContext, image_url: Callable[[str, bytes], str]) -> bytes:
    t = ctx.tender
    d = ctx.date

    def fn(node: dict) -> dict:
        if node["t"] == "Image" and node["c"][2][0].startswith("cahier-image:"):
            name = node["c"][2][0].split(":", 1)[1]
            c = copy.copy(node["c"])
            c[2] = [image_url(name, doc.images[name]), c[2][1]]
            return {"t": "Image", "c": c}
        return node

    blocks = _walk(doc.ast["blocks"], fn) if doc.images else doc.ast["blocks"]
    meta = {
        "title": {"t": "MetaInlines", "c": doc.title},
        "pagetitle": _meta_string(doc.title_text),
        "lang": _meta_string("fr-FR"),
        "subject": _meta_string(french_text(t.objet)),
        "author": {"t": "MetaList", "c": [_meta_string(french_text(t.acheteur.nom))]},
        "cahier-reference": _meta_string(t.id),
        "cahier-objet": _meta_string(french_text(t.objet)),
        "cahier-acheteur": _meta_string(french_text(t.acheteur.nom)),
        "cahier-clausier": _meta_string(ctx.clausier_version),
        "cahier-draft": {"t": "MetaBool", "c": ctx.draft},
        "cahier-year": _meta_string(str(d.year)),
        "cahier-month": _meta_string(str(d.month)),
        "cahier-day": _meta_string(str(d.day)),
    }
    return json.dumps(
        {"pandoc-api-version": doc.ast["pandoc-api-version"], "meta": meta, "blocks": blocks},
        ensure_ascii=False,
    ).encode("utf-8")


def _data_uri(name: str, data: bytes) -> str:
    mime = _IMAGE_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _office_dates(epoch: int) -> Callable[[str, bytes], bytes]:
    stamp = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def fix(name: str, content: bytes) -> bytes:
        if name in ("docProps/core.xml", "meta.xml"):
            return content.replace(b"1970-01-01T00:00:00Z", stamp.encode())
        return content

    return fix


def _write(ctx: AssemblyContext, name: str, data: bytes) -> Path:
    path = ctx.staging / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _out(
    ctx: AssemblyContext, name: str, source: str, fmt: str, data: bytes, publish=True
) -> OutputFile:
    _write(ctx, name, data)
    return OutputFile(name, source, fmt, hashlib.sha256(data).hexdigest(), len(data), publish)


def typst_compile(
    source: bytes, images: dict[str, bytes], standards: list[str], where: str, epoch: int
) -> bytes:
    """Compile Typst source in an empty temporary root (no system fonts, no packages).

    Raises:
        InputError: Typst refused the document (e.g. a PDF/UA-1 requirement).
    """
    import typst

    with tempfile.TemporaryDirectory(prefix="cahier-typst-") as root:
        for name, data in images.items():
            Path(root, name).write_bytes(data)
        main = Path(root, "main.typ")
        main.write_bytes(source)
        try:
            return typst.compile(
                str(main),
                root=root,
                ignore_system_fonts=True,
                pdf_standards=standards,
                timestamp=epoch,
                package_path=root,
                package_cache_path=root,
            )
        except typst.TypstError as exc:
            msg = str(exc).strip().splitlines()
            raise InputError(
                f"PDF impossible à produire (Typst : {msg[0][:300] if msg else exc}).", where
            ) from None


def convert(doc: Document, fmt: str, ctx: AssemblyContext) -> list[OutputFile]:
    """Write ``doc`` in ``fmt`` into the staging folder; ``pdf`` gives the PDF/UA-1
    file and its PDF/A-2b archive copy (``archive/<stem>.pdf``).

    Raises:
        InputError: Pandoc or Typst failed or timed out.
    """
    ref_tmpl = REFERENCE_DIR
    if fmt in ("docx", "odt"):
        ast = _doc_ast(doc, ctx, _data_uri)
        ref = ctx.reference_docx if fmt == "docx" else ctx.reference_odt
        data = _pandoc(
            ["-f", "json", "-t", fmt, "--reference-doc", str(ref), "-o", "-"],
            ast,
            ctx.timeout,
            doc.source,
        )
        data = normalize_zip(data, ctx.epoch, _office_dates(ctx.epoch))
        return [_out(ctx, f"{doc.stem}.{fmt}", doc.source, fmt, data)]
    if fmt == "html":
        ast = _doc_ast(doc, ctx, _data_uri)
        data = _pandoc(
            [
                "-f",
                "json",
                "-t",
                "html5",
                "-s",
                "--template",
                str(ref_tmpl / "cahier.html"),
                "--toc",
                "--toc-depth=3",
                "--wrap=none",
            ],
            ast,
            ctx.timeout,
            doc.source,
        )
        return [_out(ctx, f"{doc.stem}.html", doc.source, "html", data)]
    if fmt == "pdf":
        ast = _doc_ast(doc, ctx, lambda name, _data: name)
        src = _pandoc(
            ["-f", "json", "-t", "typst", "-s", "--template", str(ref_tmpl / "cahier.typ")],
            ast,
            ctx.timeout,
            doc.source,
        )
        pdf = typst_compile(src, doc.images, ["ua-1"], doc.source, ctx.epoch)
        archive = typst_compile(src, doc.images, ["a-2b", "ua-1"], doc.source, ctx.epoch)
        return [
            _out(ctx, f"{doc.stem}.pdf", doc.source, "pdf", pdf),
            _out(ctx, f"archive/{doc.stem}.pdf", doc.source, "pdfa", archive, publish=False),
        ]
    raise InputError(f"format « {fmt} » inconnu : formats possibles {', '.join(FORMATS)}.")


# --------------------------------------------------------------------------- output dir


def check_output_dir(out: Path, dossier_root: Path, allowed_root: Path) -> Path:
    """Validate the output folder; returns it resolved.

    Rules (docs/assembly.md): the folder must lie inside ``allowed_root`` (the current
    directory for the CLI), must not be inside the dossier nor inside any folder holding
    a tender.yaml, must not contain the dossier, and if it exists and is not empty it
    must hold a previous ``manifest.json`` (cahier never mixes its files with others).

    Raises:
        InputError: the folder breaks one of these rules (French message).
    """
    o = out.resolve()
    d = dossier_root.resolve()
    a = allowed_root.resolve()
    if not o.is_relative_to(a):
        raise InputError(
            f"dossier de sortie hors de la zone autorisée : cahier n'écrit les documents "
            f"assemblés que sous le répertoire courant ({a}), pour qu'un --out erroné ne "
            "puisse jamais écraser des fichiers ailleurs sur le disque. Choisissez un dossier "
            f"sous {a} (par défaut out/<consultation>/), ou lancez la commande depuis le "
            f"dossier voulu : cd {o.parent} && cahier assemble {d} --out {o.name}",
            str(out),
        )
    if o.is_relative_to(d) or d.is_relative_to(o):
        raise InputError(
            "dossier de sortie refusé : il ne doit être ni dans le dossier de la consultation "
            "ni le contenir (les documents assemblés ne sont pas des pièces sources) ; "
            "utilisez par exemple out/<consultation>/.",
            str(out),
        )
    for parent in [o, *o.parents]:
        if parent == a.parent:
            break
        if (parent / "tender.yaml").exists():
            raise InputError(
                f"dossier de sortie refusé : il est dans un dossier de consultation ({parent}).",
                str(out),
            )
    if o.exists():
        if not o.is_dir():
            raise InputError("le chemin de sortie existe et n'est pas un dossier.", str(out))
        if any(o.iterdir()) and not (o / "manifest.json").is_file():
            raise InputError(
                "dossier de sortie non vide et sans manifest.json : cahier n'écrit que dans "
                "un dossier vide ou dans un dossier d'assemblage précédent.",
                str(out),
            )
    return o


# --------------------------------------------------------------------------- manifest


@dataclass
class AssemblyResult:
    """What :func:`assemble` wrote."""

    out_dir: Path
    outputs: list[OutputFile]
    manifest_path: Path
    zip_path: Path
    manifest: dict[str, Any]
    findings: list[Finding]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dossier_reader(dossier: Dossier) -> Callable[[str], bytes | None]:
    """Bytes of a file of the dossier (relative path), from disk or from the Git revision
    read; None when absent or outside the dossier."""
    if dossier.commit:
        import git

        repo = git.Repo(Path(dossier.root).absolute(), search_parent_directories=True)
        top = Path(repo.working_tree_dir or ".").resolve()
        rel_root = Path(dossier.root).absolute().resolve().relative_to(top).as_posix()
        tree = repo.commit(dossier.commit).tree
        if rel_root not in ("", "."):
            tree = tree / rel_root

        def read_git(rel: str) -> bytes | None:
            rel = posixpath.normpath(rel)
            if rel.startswith(("..", "/")):
                return None
            try:
                obj = tree / rel
            except KeyError:
                return None
            if obj.type != "blob" or obj.mode == 0o120000:
                return None
            return obj.data_stream.read()

        return read_git
    root = Path(dossier.root).resolve()

    def read_disk(rel: str) -> bytes | None:
        p = (root / rel).resolve()
        if not p.is_relative_to(root) or not p.is_file():
            return None
        return p.read_bytes()

    return read_disk


def _tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"pandoc": pandoc_version()}
    for dist in ("typst", "cahier", "jinja2", "pypandoc_binary"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def deterministic_zip(files: list[tuple[str, bytes]], epoch: int) -> bytes:
    """A zip with entries sorted by name and fixed dates/permissions."""
    d = dt.datetime.fromtimestamp(max(epoch, 315532800), dt.UTC)
    date = (d.year, d.month, d.day, d.hour, d.minute, d.second - d.second % 2)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in sorted(files):
            zi = zipfile.ZipInfo(name, date_time=date)
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return buf.getvalue()


def zip_name_for(tender_id: str, draft: bool) -> str:
    """« <id>-dce.zip » for a final assembly, « <id>-dce-PROJET.zip » for a draft: a draft
    cannot be mistaken for the archive to publish."""
    return f"{tender_id}-dce-PROJET.zip" if draft else f"{tender_id}-dce.zip"


def _remove_stale(out_dir: Path, paths: Iterable[str]) -> None:
    """Delete files of the previous manifest that this assembly did not rewrite (a draft
    replaced by a final assembly, a format no longer asked for): the folder then holds
    exactly what the new manifest lists. Only paths inside ``out_dir`` are touched."""
    root = out_dir.resolve()
    for rel in sorted(paths):
        if not rel or rel.startswith(("/", "\\")) or ".." in PurePosixPath(rel).parts:
            continue
        target = (root / rel).resolve()
        if not target.is_relative_to(root) or target == root:
            continue
        if target.is_file() or target.is_symlink():
            target.unlink()
            parent = target.parent
            while parent != root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


def finalize(
    dossier: Dossier,
    clausier: Clausier,
    ctx: AssemblyContext,
    outputs: list[OutputFile],
    out_dir: Path,
    findings: list[Finding],
    formats: Iterable[str],
    clause_ids: Iterable[str],
) -> AssemblyResult:
    """Zip the publishable pieces, write manifest.json, move everything into ``out_dir``.

    Every file goes through the staging folder and :func:`os.replace`: an interrupted
    assembly leaves no half-written file in ``out_dir``. The zip is ``<id>-dce.zip``, or
    ``<id>-dce-PROJET.zip`` for a draft (:func:`zip_name_for`); files listed by the
    previous manifest of ``out_dir`` and not rewritten are removed (a final assembly
    never sits next to draft files), then manifest.json is moved in last.
    """
    read = _dossier_reader(dossier)
    inputs: list[dict[str, str]] = []
    tender_bytes = read(dossier.tender_file) or b""
    inputs.append({"path": dossier.tender_file, "sha256": _sha(tender_bytes)})
    for p in sorted(dossier.pieces, key=lambda p: p.path):
        data = read(p.path)
        if data is not None:
            inputs.append({"path": p.path, "sha256": _sha(data)})
    lib_root = Path(clausier.root)
    for cid in sorted(set(clause_ids)):
        f = lib_root / "clauses" / f"{cid}.yaml"
        if f.is_file():
            inputs.append(
                {"path": f"clause_library/clauses/{cid}.yaml", "sha256": _sha(f.read_bytes())}
            )
    for name in ("reference.docx", "reference.odt", "cahier.html", "cahier.typ"):
        f = REFERENCE_DIR / name
        inputs.append(
            {"path": f"clause_library/templates/reference/{name}", "sha256": _sha(f.read_bytes())}
        )
    zip_name = zip_name_for(ctx.tender.id, ctx.draft)
    publish = [(o.path, (ctx.staging / o.path).read_bytes()) for o in outputs if o.publish]
    zdata = deterministic_zip(publish, ctx.epoch)
    _write(ctx, zip_name, zdata)
    git = _git_info(dossier)
    previous = out_dir / "manifest.json"
    outputs_map = {o.path: o.sha256 for o in outputs}
    outputs_map[zip_name] = _sha(zdata)
    repro: dict[str, Any] = {"previous_manifest": False}
    old_map: dict[str, Any] = {}
    if previous.is_file():
        try:
            old = json.loads(previous.read_text(encoding="utf-8"))
            old_map = {o["path"]: o["sha256"] for o in old.get("outputs", [])}
            old_map[old.get("zip", {}).get("path", "")] = old.get("zip", {}).get("sha256")
            same = sorted(p for p, h in outputs_map.items() if old_map.get(p) == h)
            diff = sorted(p for p, h in outputs_map.items() if p in old_map and old_map[p] != h)
            repro = {
                "previous_manifest": True,
                "same_inputs": old.get("inputs") == inputs,
                "identical": same,
                "different": diff,
                "all_identical": not diff and len(same) == len(outputs_map),
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            old_map = {}
            repro = {"previous_manifest": True, "unreadable": True}
    manifest = {
        "manifest": "cahier-assemblage/1",
        "tender": ctx.tender.id,
        "objet": " ".join(ctx.tender.objet.split()),
        "draft": ctx.draft,
        "status": "projet — ne pas publier" if ctx.draft else "définitif",
        "formats": list(formats),
        "source_date_epoch": ctx.epoch,
        "source_date": ctx.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": {
            "commit": git.get("commit"),
            "rev": dossier.rev,
            "dirty": git.get("dirty"),
        },
        "clausier_version": clausier.version,
        "tools": _tool_versions(),
        "inputs": inputs,
        "outputs": [
            {
                "path": o.path,
                "source": o.source,
                "format": o.format,
                "sha256": o.sha256,
                "bytes": o.bytes,
            }
            for o in sorted(outputs, key=lambda o: o.path)
        ],
        "zip": {"path": zip_name, "sha256": _sha(zdata), "bytes": len(zdata)},
        "reproducibility": repro,
        "findings": [f.model_dump(mode="json", exclude_none=True) for f in findings],
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    _write(ctx, "manifest.json", text.encode("utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [o.path for o in outputs] + [zip_name]
    for name in names:
        dst = out_dir / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(ctx.staging / name, dst)
    _remove_stale(out_dir, set(old_map) - set(names) - {"manifest.json"})
    os.replace(ctx.staging / "manifest.json", out_dir / "manifest.json")
    return AssemblyResult(
        out_dir, outputs, out_dir / "manifest.json", out_dir / zip_name, manifest, findings
    )


# --------------------------------------------------------------------------- all


def copy_sources(dossier: Dossier, ctx: AssemblyContext) -> list[OutputFile]:
    """Non-Markdown pieces (imported DOCX/ODT/PDF, spreadsheets) are published as-is."""
    read = _dossier_reader(dossier)
    out: list[OutputFile] = []
    for p in dossier.pieces:
        if p.format == "md":
            continue
        data = read(p.path)
        if data is not None:
            name = "sources/" + PurePosixPath(p.path).name
            out.append(_out(ctx, name, p.path, "source", data))
    return out


def prepare(
    dossier: Dossier, clausier: Clausier, draft: bool
) -> tuple[list[Document], list[Finding], list[str]]:
    """Gate, render, guide and parse: the documents to convert, the findings, clause ids.

    Raises:
        AssemblyRefused: gate refused, or template / image findings of error level.
    """
    check_findings = gate(dossier, clausier, draft)
    rendered, tfind = render_pieces(dossier, clausier)
    if tfind:
        raise AssemblyRefused(
            f"assemblage impossible : {len(tfind)} gabarit(s) refusé(s) ou invalide(s).",
            tfind,
            [f"[{f.rule}] {f.location.label() if f.location else ''} : {f.message}" for f in tfind],
        )
    guide = bidder_guide(dossier, clausier, rendered)
    docs, sfind = parse_documents([*rendered, guide], _dossier_reader(dossier))
    errors = [f for f in sfind if f.severity == Severity.error]
    if errors:
        raise AssemblyRefused(
            f"assemblage impossible : {len(errors)} erreur(s) dans les pièces.",
            errors,
            [
                f"[{f.rule}] {f.location.label() if f.location else ''} : {f.message}"
                for f in errors
            ],
        )
    ids = [u.clause_id for r in rendered for u in r.uses]
    warnings = [f for f in check_findings if f.severity != Severity.info]
    return docs, warnings + sfind, ids


def assemble(
    dossier: Dossier,
    clausier: Clausier,
    out: Path,
    formats: Iterable[str] = FORMATS,
    draft: bool = False,
    allowed_root: Path | None = None,
    timeout: float = PANDOC_TIMEOUT_S,
    workers: int = 1,
) -> AssemblyResult:
    """Assemble the dossier into ``out`` (see the module docstring).

    Args:
        dossier: as read by :func:`tasks.dossier.reader.read_dossier` (working tree or revision).
        clausier: the clause library.
        out: output folder (checked by :func:`check_output_dir`).
        formats: subset of :data:`FORMATS`.
        draft: « PROJET » watermark on every page; the gate is not applied.
        allowed_root: the area outputs must stay in (default: current directory).
        timeout: seconds allowed to each Pandoc call.
        workers: conversions run at the same time (threads: Pandoc and Typst run
            outside the GIL); the flow uses Prefect's task runner instead.

    Raises:
        AssemblyRefused: gate or template findings (exit code 1 in the CLI).
        InputError: bad output folder, unknown format, conversion failure.
    """
    formats = list(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(
            f"format(s) inconnu(s) : {', '.join(bad) or '(aucun)'} ; formats possibles : "
            f"{', '.join(FORMATS)}."
        )
    out_dir = check_output_dir(out, Path(dossier.root), allowed_root or Path.cwd())
    docs, findings, ids = prepare(dossier, clausier, draft)
    epoch = source_date_epoch(dossier)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="cahier-ref-") as work:
            ctx = make_context(
                dossier.tender, clausier.version, draft, epoch, Path(work), staging, timeout
            )
            jobs = [(d, f) for d in docs for f in formats]
            if workers > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(max_workers=workers) as pool:
                    results = list(pool.map(lambda job: convert(job[0], job[1], ctx), jobs))
            else:
                results = [convert(d, f, ctx) for d, f in jobs]
            outputs = [o for r in results for o in r] + copy_sources(dossier, ctx)
            return finalize(dossier, clausier, ctx, outputs, out_dir, findings, formats, ids)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------- references


def build_reference_documents(dest: Path = REFERENCE_DIR) -> list[Path]:
    """(Re)generate ``reference.docx`` and ``reference.odt`` from Pandoc's defaults.

    Styles: A4, French language, sans-serif body, headings; header with the
    placeholders ``{acheteur}``, ``{reference}``, ``{objet}`` (replaced at assembly),
    footer « Page N sur M », and a « PROJET » watermark marked ``CAHIER-PROJET`` /
    ``CahierProjet`` that is removed unless ``--draft``. Designers may restyle the files
    in Word/LibreOffice, keeping the placeholders and markers intact.
    """
    import pypandoc

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base_docx = Path(tmp, "d.docx")
        base_odt = Path(tmp, "d.odt")
        base_docx.write_bytes(
            subprocess.run(
                [pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                capture_output=True,
                check=True,
            ).stdout
        )
        base_odt.write_bytes(
            subprocess.run(
                [pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.odt"],
                capture_output=True,
                check=True,
            ).stdout
        )
        docx = _build_reference_docx(base_docx)
        odt = _build_reference_odt(base_odt)
    (dest / "reference.docx").write_bytes(docx)
    (dest / "reference.odt").write_bytes(odt)
    return [dest / "reference.docx", dest / "reference.odt"]


_WATERMARK_VML = (
    '<w:p><w:pPr><w:pStyle w:val="Header"/></w:pPr><w:r><w:pict>'
    '<v:shapetype id="_x0000_t136" coordsize="21600,21600" o:spt="136" adj="10800" '
    'path="m@7,l@8,m@5,21600l@6,21600e"><v:path textpathok="t" o:connecttype="custom"/>'
    '<v:textpath on="t" fitshape="t"/></v:shapetype>'
    '<v:shape id="PowerPlusWaterMarkObject" o:spid="_x0000_s2049" type="#_x0000_t136" '
    'alt="CAHIER-PROJET" '
    'style="position:absolute;margin-left:0;margin-top:0;width:470pt;height:140pt;rotation:315;'
    "z-index:-251654144;mso-position-horizontal:center;mso-position-horizontal-relative:margin;"
    'mso-position-vertical:center;mso-position-vertical-relative:margin" o:allowincell="f" '
    'fillcolor="#d9d9d9" stroked="f"><v:fill opacity=".5"/>'
    '<v:textpath style="font-family:&quot;Arial&quot;;font-size:1pt" string="PROJET"/>'
    "</v:shape></w:pict></w:r></w:p>"
)


def _build_reference_docx(base: Path) -> bytes:
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    doc = Docx(str(base))
    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10.5)
    rpr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "fr-FR")
    rpr.append(lang)
    for name in ("Body Text", "First Paragraph", "Compact"):
        if name in [s.name for s in styles]:
            styles[name].font.name = "Arial"
    for name, size in (("Title", 20), ("Heading 1", 16), ("Heading 2", 14), ("Heading 3", 12)):
        s = styles[name]
        s.font.name = "Arial"
        s.font.size = Pt(size)
        s.font.color.rgb = RGBColor(0x00, 0x00, 0x91)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.2)
    sec.top_margin, sec.bottom_margin = Cm(2.6), Cm(2.2)
    header = sec.header
    header.is_linked_to_previous = False
    p1 = header.paragraphs[0]
    p1.text = "{acheteur} — Consultation n° {reference}"
    p2 = header.add_paragraph("{objet}")
    for p in (p1, p2):
        for r in p.runs:
            r.font.size = Pt(8)
    p2.runs[0].italic = True
    footer = sec.footer
    footer.is_linked_to_previous = False
    fp = footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def field(par, instr: str) -> None:
        run = par.add_run()
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), instr)
        r = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = "1"
        r.append(t)
        fld.append(r)
        run._r.addnext(fld)

    fp.add_run("Page ")
    field(fp, "PAGE")
    fp.add_run(" sur ")
    # the runs are appended in order: PAGE field then « sur » then NUMPAGES
    field(fp, "NUMPAGES")
    buf = io.BytesIO()
    doc.save(buf)
    data = buf.getvalue()

    def fix(name: str, content: bytes) -> bytes:
        if name.startswith("word/header"):
            text = content.decode("utf-8")
            if "{acheteur}" in text:
                for ns, uri in (
                    ("v", "urn:schemas-microsoft-com:vml"),
                    ("o", "urn:schemas-microsoft-com:office:office"),
                ):
                    if f"xmlns:{ns}=" not in text:
                        text = text.replace("<w:hdr ", f'<w:hdr xmlns:{ns}="{uri}" ', 1)
                text = text.replace("</w:hdr>", _WATERMARK_VML + "</w:hdr>")
            return text.encode("utf-8")
        return content

    return normalize_zip(data, None, fix)


def _build_reference_odt(base: Path) -> bytes:
    def fix(name: str, content: bytes) -> bytes:
        if name != "styles.xml":
            return content
        s = content.decode("utf-8")
        s = re.sub(r'fo:page-width="[^"]*"', 'fo:page-width="21cm"', s)
        s = re.sub(r'fo:page-height="[^"]*"', 'fo:page-height="29.7cm"', s)
        for side, v in (("top", "2cm"), ("bottom", "1.6cm"), ("left", "2.2cm"), ("right", "2.2cm")):
            s = re.sub(
                rf'(<style:page-layout-properties[^>]*?)fo:margin-{side}="[^"]*"',
                rf'\1fo:margin-{side}="{v}"',
                s,
                count=1,
                flags=re.S,
            )
        s = s.replace(
            "<style:header-style />",
            '<style:header-style><style:header-footer-properties fo:min-height="0.6cm" '
            'fo:margin-bottom="0.4cm" style:dynamic-spacing="true"/></style:header-style>',
        )
        auto = (
            '<style:style style:name="CahierHeader" style:family="paragraph" '
            'style:parent-style-name="Standard"><style:text-properties fo:font-size="8pt" '
            'fo:color="#444444"/></style:style>'
            '<style:style style:name="CahierProjet" style:family="paragraph" '
            'style:parent-style-name="Standard"><style:paragraph-properties fo:text-align="center"/>'
            '<style:text-properties fo:font-size="20pt" fo:font-weight="bold" fo:color="#b00000" '
            'fo:letter-spacing="0.2cm"/></style:style>'
        )
        s = s.replace("<office:automatic-styles>", "<office:automatic-styles>" + auto, 1)
        s = re.sub(
            r"<style:footer>.*?</style:footer>",
            '<style:header><text:p text:style-name="CahierProjet">PROJET — document de travail</text:p>'
            '<text:p text:style-name="CahierHeader">{acheteur} — Consultation n° {reference}</text:p>'
            '<text:p text:style-name="CahierHeader">{objet}</text:p></style:header>'
            '<style:footer><text:p text:style-name="MP1">Page <text:page-number '
            'text:select-page="current">1</text:page-number> sur <text:page-count>1</text:page-count>'
            "</text:p></style:footer>",
            s,
            count=1,
            flags=re.S,
        )
        # French by default (spell-checking, hyphenation, screen readers)
        s = re.sub(r'fo:language="[^"]*"', 'fo:language="fr"', s)
        s = re.sub(r'fo:country="[^"]*"', 'fo:country="FR"', s)
        return s.encode("utf-8")

    return normalize_zip(base.read_bytes(), None, fix)
