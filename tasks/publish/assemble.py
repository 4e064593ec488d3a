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

Modules of the package: ``pieces`` (rendering), ``guide`` (bidder guide), ``passes``
(AST passes), ``typography``, ``tools`` (Pandoc, Typst), ``convert`` (per-format
writing), ``package`` (output folder, manifest, zip), ``reference`` (bundled reference
documents); this module composes them and re-exports the public names.

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

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.clausier.library import Clausier
from tasks.clausier.templates import lint_templates
from tasks.dossier.model import Finding, Severity
from tasks.dossier.reader import Dossier
from tasks.errors import InputError
from tasks.publish.base import (
    FORMATS,
    PANDOC_TIMEOUT_S,
    REFERENCE_DIR,
    RULES,
    AssemblyRefused,
)
from tasks.publish.convert import (
    AssemblyContext,
    OutputFile,
    convert,
    make_context,
    source_date_epoch,
)
from tasks.publish.guide import bidder_guide
from tasks.publish.look import load_look
from tasks.publish.package import (
    AssemblyResult,
    _dossier_reader,
    check_output_dir,
    copy_sources,
    finalize,
    zip_name_for,
)
from tasks.publish.passes import Document, parse_documents
from tasks.publish.pieces import RenderedPiece, render_piece, render_pieces
from tasks.publish.reference import build_reference_documents
from tasks.publish.typography import french_text, french_typography

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
    "check_formats",
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
    "prepare",
    "render_piece",
    "render_pieces",
    "review_gate",
    "source_date_epoch",
    "staged_context",
    "zip_name_for",
]

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
    # « non vérifiable » blocks like an error, even for a recommended clause (fail closed)
    errors = [
        f
        for f in report.findings
        if f.severity == Severity.error or f.rule == "clause-non-verifiable"
    ]
    reasons = [
        f"[{f.rule}] {f.location.label() + ' : ' if f.location else ''}{f.message}" for f in errors
    ]
    pending = review_gate(dossier)
    reasons += pending
    if reasons:
        # what to do for each cause: errors are fixed in the pieces, reviews decided by referents
        todo = (["corrigez les erreurs (cahier check)"] if errors else []) + (
            ["faites décider les référents (cahier review plan, puis cahier review approve)"]
            if pending
            else []
        )
        raise AssemblyRefused(
            f"assemblage refusé : {len(errors)} erreur(s) au contrôle"
            + (f", {len(pending)} revue(s) en attente" if pending else "")
            + f" ; {', '.join(todo)} ou assemblez un projet avec --draft.",
            errors,
            reasons,
        )
    return report.findings


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

    def where(f: Finding) -> tuple:
        return (
            f.rule,
            f.location.file if f.location else None,
            f.location.line if f.location else None,
        )

    seen = {where(f) for f in warnings}  # e.g. titre-vide: said once, by the check
    return docs, warnings + [f for f in sfind if where(f) not in seen], ids


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
        allowed_root: the area outputs must stay in (default: none — an ``out`` the
            user typed is the user's choice; see :func:`check_output_dir`).
        timeout: seconds allowed to each Pandoc call.
        workers: conversions run at the same time (threads: Pandoc and Typst run
            outside the GIL); the flow uses Prefect's task runner instead.

    Raises:
        AssemblyRefused: gate or template findings (exit code 1 in the CLI).
        InputError: bad output folder, unknown format, conversion failure.
    """
    formats = check_formats(formats)
    out_dir = check_output_dir(out, Path(dossier.root), allowed_root)
    docs, findings, ids = prepare(dossier, clausier, draft)
    with staged_context(dossier, clausier, draft, out_dir, timeout) as ctx:
        jobs = [(d, f) for d in docs for f in formats]
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(lambda job: convert(job[0], job[1], ctx), jobs))
        else:
            results = [convert(d, f, ctx) for d, f in jobs]
        outputs = [o for r in results for o in r] + copy_sources(dossier, ctx)
        return finalize(dossier, clausier, ctx, outputs, out_dir, findings, formats, ids)


def check_formats(formats: Iterable[str]) -> list[str]:
    """``formats`` without repeats, in order.

    Raises:
        InputError: none given, or one not in :data:`FORMATS` (French message).
    """
    formats = list(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(
            f"format(s) inconnu(s) : {', '.join(bad) or '(aucun)'} ; formats possibles : "
            f"{', '.join(FORMATS)}."
        )
    return formats


@contextmanager
def staged_context(
    dossier: Dossier,
    clausier: Clausier,
    draft: bool,
    out_dir: Path,
    timeout: float = PANDOC_TIMEOUT_S,
) -> Iterator[AssemblyContext]:
    """The context of one assembly (:func:`make_context`, the dossier's look): outputs
    are staged in a temporary folder beside ``out_dir``, which :func:`finalize` moves
    into place and which is removed on the way out whatever happens; reference
    documents are built in a temporary work folder."""
    look = load_look(Path(dossier.root))
    epoch = source_date_epoch(dossier)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="cahier-ref-") as work:
            yield make_context(
                dossier.tender, clausier.version, draft, epoch, Path(work), staging, timeout, look
            )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
