"""The review plan: the items a referent must look at, each with a stable id and the
digest of the article that holds it (selection: :mod:`tasks.review.reviews`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

from tasks.dossier.model import CheckReport, FamilyStatus, Location, Person
from tasks.dossier.normalize import normalize_text
from tasks.dossier.reader import Dossier

from .gitpaths import _require_dossier
from .model import ROLES, ReviewItem, ReviewPlan
from .referents import load_referents


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _line_index(piece, loc: Location) -> int | None:
    best = None
    for i, line in enumerate(piece.lines):
        if loc.page is not None and line.page is not None and line.page != loc.page:
            if line.page > loc.page:
                break
            continue
        if line.src_line is None or loc.line is None:
            continue
        if line.src_line == loc.line:
            return i
        if line.src_line < loc.line:
            best = i
        elif best is not None:
            break
    return best


def _markup_sections(piece) -> list[int]:
    """Indexes of the sections that are Markdown headings (« ## … ») of the piece source."""
    if not piece.raw_source:
        return []
    src = piece.raw_source.splitlines()
    out = []
    for k, sec in enumerate(piece.sections):
        n = piece.lines[sec.line_index].src_line
        if n is not None and 0 < n <= len(src) and src[n - 1].lstrip().startswith("#"):
            out.append(k)
    return out


def _span(piece, index: int) -> tuple[int, int]:
    """``(start, end)`` line indexes of the section holding line ``index``, sub-sections
    included: from its heading down to the next heading of the same or a higher level.

    In a Markdown piece only Markdown headings (« # ») bound the span: a numbered
    paragraph that looks like a heading (« 10. Aucune réversibilité n'est due ») stays
    inside its article. In other formats (DOCX, ODT, PDF: headings detected from their
    numbers) a following heading belongs to the span when its level is deeper or its
    number extends the section's (« 8.1 » under « 8 »). Lines before the first heading
    form their own span.
    """
    sections = piece.sections
    markup = _markup_sections(piece)
    candidates = markup if markup else list(range(len(sections)))
    sec = piece.lines[index].section
    enclosing = [k for k in candidates if k <= sec]
    if not enclosing:  # before the first heading (of the kind that bounds spans)
        end = sections[candidates[0]].line_index if candidates else len(piece.lines)
        return 0, end
    start = enclosing[-1]
    head = sections[start]
    end = len(piece.lines)
    for k in candidates:
        if k <= start:
            continue
        s = sections[k]
        nested = s.level > head.level or (
            not markup and bool(head.number and s.number and s.number.startswith(head.number + "."))
        )
        if not nested:
            end = s.line_index
            break
    return head.line_index, end


def _section_text(piece, index: int | None) -> str:
    if index is None:
        return ""
    start, end = _span(piece, index)
    return "\n".join(normalize_text(ln.text) for ln in piece.lines[start:end])


def _call_rendering(piece, clausier, cid: str, line: int | None) -> str:
    """Rendered text of the ``clause("cid", …)`` call at ``line`` of the piece source."""
    from tasks.clausier.render import CLAUSE_CALL_RE, parse_call_args, render_clause

    src = piece.raw_source or ""
    clause = clausier.get(cid)
    if clause is None or line is None:
        return ""
    for m in CLAUSE_CALL_RE.finditer(src):
        at = src.count("\n", 0, m.start()) + 1
        if at != line:
            continue
        call_id, params = parse_call_args(m["args"], piece.path, at)
        if call_id == cid:
            return normalize_text(render_clause(clause, params, f"{piece.path}:{at}"))
    return ""


def build_plan(
    report: CheckReport,
    dossier: Dossier,
    clausier,
    referents: dict[str, list[Person]] | None = None,
) -> ReviewPlan:
    """The review plan of a checked dossier (selection documented in the module docstring).

    Args:
        report: the check of ``dossier`` (:func:`tasks.check.checker.check_dossier`).
        dossier: the dossier as read (working tree or revision).
        clausier: the clause library used for the check.
        referents: role → people (:func:`load_referents`), shown in the plan.

    Returns:
        A :class:`ReviewPlan` whose items are sorted by role then id.
    """
    pieces = {p.path: p for p in dossier.pieces}
    waivers = {w.clause: w for w in dossier.tender.waivers}
    families = {f.clause: f for f in report.families}
    items: dict[str, ReviewItem] = {}
    seen_per_file: dict[tuple[str, str], int] = {}
    for kind, cid, loc, role in _flagged(report, dossier, clausier, waivers):
        clause = clausier.get(cid)
        if clause is None:
            continue
        text = _item_text(kind, cid, loc, pieces, waivers, clausier)
        if text is None:
            continue
        n = seen_per_file.get((cid, loc.file), 0) + 1  # « #2 »: second occurrence in a file
        seen_per_file[(cid, loc.file)] = n
        iid = f"{cid}@{loc.file}" + (f"#{n}" if n > 1 else "")
        fam = families.get(cid)
        items[iid] = ReviewItem(
            id=iid,
            role=role or clause.review_role,
            kind=kind,
            clause=cid,
            title=clause.title,
            clause_version=(fam.version if fam else None) or clause.version,
            clausier_version=report.clausier_version,
            location=loc,
            digest=_digest(text),
            text=text,
        )
    for extra in _source_items(dossier, clausier):  # items of the rooms above (follow-up…)
        items.setdefault(extra.id, extra)
    ordered = sorted(items.values(), key=lambda i: (ROLES.index(i.role), i.id))
    return ReviewPlan(
        tender=report.tender,
        dossier=report.dossier,
        commit=report.commit,
        clausier_version=report.clausier_version,
        items=ordered,
        referents={r: p for r, p in (referents or {}).items() if r in ROLES},
    )


def _flagged(
    report: CheckReport, dossier: Dossier, clausier, waivers: dict
) -> Iterator[tuple[str, str, Location, str | None]]:
    """(kind, clause id, location, role or None for the clause's own) of every item the
    check flags, in the order of the report's families (selection: module docstring)."""
    edited_at = {
        (f.clause, f.location.file, f.location.line)
        for f in report.findings
        if f.rule == "clause-modifiee" and f.clause and f.location
    }
    for fam in report.families:
        clause = clausier.get(fam.clause)
        if clause is None:
            continue
        sensitive = clause.review_always
        if fam.status in (FamilyStatus.present, FamilyStatus.edited):
            for loc in fam.evidence:
                if (fam.clause, loc.file, loc.line) in edited_at:
                    yield "clause-modifiee", fam.clause, loc, None
                elif sensitive:
                    yield "clause-sensible", fam.clause, loc, None
        elif fam.status == FamilyStatus.hand_written and fam.evidence:
            yield "clause-redigee-main", fam.clause, fam.evidence[0], None
        elif fam.status == FamilyStatus.waived and fam.clause in waivers:
            mandatory = fam.applicable and clause.level == "mandatory"
            loc = fam.evidence[0] if fam.evidence else Location(file=dossier.tender_file)
            yield "derogation", fam.clause, loc, "juridique" if mandatory else None


def _item_text(
    kind: str, cid: str, loc: Location, pieces: dict, waivers: dict, clausier
) -> str | None:
    """The normalised text an item's digest covers (module docstring); None when its
    piece is not in the dossier."""
    if kind == "derogation":
        w = waivers[cid]
        return f"Dérogation : {cid}\nMotif : {normalize_text(' '.join(w.reason.split()))}"
    piece = pieces.get(loc.file)
    if piece is None:
        return None
    text = _section_text(piece, _line_index(piece, loc))
    if kind != "clause-redigee-main" and piece.raw_source:
        rendered = _call_rendering(piece, clausier, cid, loc.line)
        if rendered:
            text += "\n\n" + rendered
    return text


def _source_items(dossier: Dossier, clausier) -> Iterator[ReviewItem]:
    """Items of the registered sources (:data:`tasks.review.sources.ITEM_SOURCES`)."""
    from importlib import import_module

    from .sources import ITEM_SOURCES

    for spec in ITEM_SOURCES:
        module, _, name = spec.partition(":")
        yield from getattr(import_module(module), name)(dossier, clausier)


def plan_for(
    dossier_path: str | os.PathLike[str],
    rev: str | None = None,
    clausier_path=None,
    *,
    report: CheckReport | None = None,
    dossier: Dossier | None = None,
) -> ReviewPlan:
    """Read, check and plan the dossier at ``dossier_path`` (working tree or ``rev``).

    ``report`` and ``dossier``: what a caller has already read and checked — the same
    dossier, at the same ``rev``, with the same clausier — so that it is neither read
    nor checked a second time (the lifecycle's review gate after its check step). Each
    one missing is computed as without them; given, they are trusted as they are.

    Raises:
        InputError: unusable dossier (see :func:`tasks.dossier.reader.read_dossier`).
    """
    from tasks.clausier.library import load_clausier

    _require_dossier(dossier_path)
    if dossier is None:
        from tasks.dossier.reader import read_dossier

        dossier = read_dossier(dossier_path, rev=rev)
    lib = load_clausier(clausier_path, dossier=dossier_path)
    if report is None:
        from tasks.check.checker import check_dossier

        report = check_dossier(dossier, lib)
    return build_plan(report, dossier, lib, load_referents(dossier, dossier_path, rev))
