"""Library clauses written in the Markdown pieces: ``clause("ID", …)`` calls and fenced
divs (``::: {.clause data-id="ID" data-version="N"}``).

:func:`scan_library_clauses` returns, per clause id, its status (``present`` or
``edited``), where it stands and the version it claims, with the findings on the blocks
themselves: parameters out of the clausier's (or a policy layer's) bounds, an unknown or
outdated version, a text edited by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.clausier.library import Clausier
from tasks.clausier.render import (
    CLAUSE_CALL_RE,
    FENCE_CLOSE_RE,
    FENCE_OPEN_RE,
    clause_block,
    clause_param_errors,
    fence_attrs,
    match_clause,
    parse_call_args,
    validate_params,
)
from tasks.clausier.rules import rule_severity
from tasks.dossier.document import PieceText
from tasks.dossier.model import Clause, FamilyStatus, Finding, Location, Severity
from tasks.errors import InputError

__all__ = ["Found", "clause_finding", "scan_library_clauses"]


@dataclass
class Found:
    """A library clause found in the pieces: its status, where, and the version it claims."""

    status: FamilyStatus
    locations: list[Location]
    version: int | None = None


class _Scan:
    """What the scan of the pieces has gathered so far."""

    def __init__(self, clausier: Clausier) -> None:
        self.clausier = clausier
        self.found: dict[str, Found] = {}
        self.findings: list[Finding] = []

    def add(self, cid: str, status: FamilyStatus, loc: Location, version: int | None) -> None:
        """One more place of clause ``cid``; an edited block makes the whole clause edited."""
        cur = self.found.get(cid)
        if cur is None:
            self.found[cid] = Found(status, [loc], version)
            return
        cur.locations.append(loc)
        if status == FamilyStatus.edited:
            cur.status = FamilyStatus.edited


def scan_library_clauses(
    pieces: list[PieceText], clausier: Clausier
) -> tuple[dict[str, Found], list[Finding]]:
    """``clause()`` calls and fenced divs in Markdown pieces.

    Returns:
        ``(found, findings)``: the clauses found by id, and the findings on their blocks.

    Raises:
        InputError: an unknown clause id (call or fenced div), parameters a call cannot
            take (:func:`tasks.clausier.render.validate_params`).
    """
    scan = _Scan(clausier)
    for piece in pieces:
        src = piece.raw_source
        if not src:
            continue
        _scan_calls(scan, piece, src)
        _scan_fences(scan, piece, src)
    return scan.found, scan.findings


# ----------------------------------------------------------------- clause() calls


def _scan_calls(scan: _Scan, piece: PieceText, src: str) -> None:
    """Each ``clause("ID", …)`` call: a known clause whose parameters hold."""
    clausier = scan.clausier
    for m in CLAUSE_CALL_RE.finditer(src):
        line = src.count("\n", 0, m.start()) + 1
        cid, params = parse_call_args(m["args"], piece.path, line)
        clause = clausier.get(cid)
        if clause is None:
            raise InputError(
                clausier.unknown(cid),
                piece.path,
                line,
            )
        loc = Location(file=piece.path, line=line, heading=piece.heading_at_src(line))
        _check_call_params(scan, clause, params, loc)
        scan.add(cid, FamilyStatus.present, loc, clause.version)


def _check_call_params(scan: _Scan, clause: Clause, params: dict, loc: Location) -> None:
    """Parameters a policy layer tightened are a finding when out of the layer's bounds
    (the call stays valid against the clausier's own bounds); the others must hold."""
    where = f"{loc.file}:{loc.line}"
    tightened = {
        prov.parameter
        for prov in scan.clausier.origin(clause.id)
        if prov.kind == "parametre" and prov.parameter in clause.parameters
    }
    if not tightened:
        validate_params(clause, params, where)
        return
    merged = {n: params.get(n, clause.parameters[n].default) for n in tightened}
    bad = clause_param_errors(clause, merged)
    if not bad:
        validate_params(clause, params, where)
        return
    scan.findings.append(
        _out_of_bounds(clause, FamilyStatus.present, loc, bad, "de la politique d'achat")
    )
    loose = {
        n: (p.model_copy(update={"min": None, "max": None}) if n in tightened else p)
        for n, p in clause.parameters.items()
    }
    validate_params(clause.model_copy(update={"parameters": loose}), params, where)


def clause_finding(
    rule: str,
    clause: Clause,
    severity: Severity,
    status: FamilyStatus,
    location: Location | None,
    message: str,
    *,
    with_fix: bool = True,
) -> Finding:
    """A finding about one clause of the clausier: its legal basis, and its library block
    as the fix (unless ``with_fix`` is false)."""
    return Finding(
        rule=rule,
        clause=clause.id,
        severity=severity,
        status=status,
        location=location,
        message=message,
        fix=clause_block(clause) if with_fix else None,
        legal_basis=clause.legal_basis,
    )


def _out_of_bounds(
    clause: Clause, status: FamilyStatus, loc: Location, bad: list[str], whose: str
) -> Finding:
    """``clause-parametre-invalide``: values out of the bounds of ``whose``."""
    message = (
        f"La clause {clause.id} (« {clause.title} ») porte des valeurs hors "
        f"des bornes {whose} : {' ; '.join(bad)}."
    )
    return clause_finding(
        "clause-parametre-invalide",
        clause,
        rule_severity("clause-parametre-invalide"),
        status,
        loc,
        message,
    )


# ----------------------------------------------------------------- fenced divs


def _fenced_blocks(src: str):
    """``(start index, attributes, body)`` of each fenced div of a Markdown source."""
    if ":::" not in src:  # every fence opens with « ::: » (FENCE_OPEN_RE)
        return
    lines = src.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE_OPEN_RE.match(lines[i])
        if not m:
            i += 1
            continue
        start = j = i
        j += 1
        while j < len(lines) and not FENCE_CLOSE_RE.match(lines[j]):
            j += 1
        yield start, fence_attrs(m["attrs"]), "\n".join(lines[start + 1 : j])
        i = j + 1


def _scan_fences(scan: _Scan, piece: PieceText, src: str) -> None:
    """Each fenced div: a known clause, its text compared with the library's rendering."""
    clausier = scan.clausier
    for start, attrs, body in _fenced_blocks(src):
        cid = attrs.get("id", "")
        clause = clausier.get(cid)
        loc = Location(file=piece.path, line=start + 1, heading=piece.heading_at_src(start + 1))
        if clause is None:
            raise InputError(
                f"bloc de clause « {cid or '(sans data-id)'} » inconnu du clausier "
                f"{clausier.version}.",
                piece.path,
                start + 1,
            )
        try:
            version = int(attrs.get("version", "0"))
        except ValueError:
            version = 0
        values = match_clause(clause, body)
        bad = clause_param_errors(clause, values) if values is not None else []
        status = FamilyStatus.present if values is not None and not bad else FamilyStatus.edited
        scan.add(cid, status, loc, version)
        if bad:
            scan.findings.append(_out_of_bounds(clause, status, loc, bad, "du clausier"))
        scan.findings.extend(_version_findings(clause, clausier, version, status, loc))
        if values is None:
            scan.findings.append(_edited(clause, loc))


def _version_findings(
    clause: Clause, clausier: Clausier, version: int, status: FamilyStatus, loc: Location
) -> list[Finding]:
    """A block claiming a version newer than the clausier's, or an outdated one."""
    cid = clause.id
    if version > clause.version:
        message = (
            f"La clause {cid} se dit en version {version}, que le clausier "
            f"{clausier.version} ne connaît pas (dernière version : "
            f"{clause.version}) : utilisez-vous un clausier plus récent ?"
        )
        rule, with_fix = "clause-version-inconnue", False
    elif version and version < clause.version:
        message = (
            f"La clause {cid} est en version {version} ; le clausier "
            f"{clausier.version} contient la version {clause.version}. "
            "Mettez-la à jour (le référent validera la nouvelle rédaction)."
        )
        rule, with_fix = "clause-version-perimee", True
    else:
        return []
    return [
        clause_finding(rule, clause, rule_severity(rule), status, loc, message, with_fix=with_fix)
    ]


def _edited(clause: Clause, loc: Location) -> Finding:
    """``clause-modifiee``: the block's text is not the library's rendering."""
    message = (
        f"Le texte de la clause {clause.id} (« {clause.title} ») a été modifié par "
        f"rapport au clausier : la modification doit être validée par le "
        f"référent {clause.review_role}."
    )
    return clause_finding(
        "clause-modifiee",
        clause,
        rule_severity("clause-modifiee"),
        FamilyStatus.edited,
        loc,
        message,
    )
