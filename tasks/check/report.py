"""Check reports as text (rich, French), JSON, SARIF 2.1.0 and JUnit XML.

* JSON: ``{"tender", "commit", "clausier_version", "summary", "families": [...],
  "findings": [...]}`` — one family entry per clause with its status
  (present/edited/hand-written/waived/missing/not-applicable) and evidence locations.
* SARIF 2.1.0 (OASIS standard): one run, tool ``cahier`` with one rule per rule id,
  results with ``physicalLocation`` (file relative to the dossier, line) — for code
  scanning UIs and editors.
* JUnit XML: one test case per clause family and one per finding of other rules, so
  CI servers show the dossier's state as tests.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from tasks.dossier.model import CheckReport, FamilyStatus, Finding, Severity

__all__ = [
    "SEVERITY_FR",
    "STATUS_FR",
    "findings_table",
    "report_dict",
    "to_json",
    "to_junit",
    "to_markdown",
    "to_sarif",
    "to_text",
]

STATUS_FR = {
    FamilyStatus.present: "présente",
    FamilyStatus.edited: "modifiée",
    FamilyStatus.hand_written: "rédigée à la main",
    FamilyStatus.waived: "écartée (dérogation)",
    FamilyStatus.missing: "absente",
    FamilyStatus.unverifiable: "non vérifiable",
    FamilyStatus.not_applicable: "non applicable",
}
SEVERITY_FR = {Severity.error: "ERREUR", Severity.warning: "AVERTISSEMENT", Severity.info: "INFO"}
_SARIF_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}


def report_dict(report: CheckReport) -> dict[str, Any]:
    """The JSON-ready dict of a report (stable key order)."""
    return {
        "tender": report.tender,
        "dossier": report.dossier,
        "rev": report.rev,
        "commit": report.commit,
        "clausier_version": report.clausier_version,
        "rule_date": report.checked_at_rule_date.isoformat(),
        "summary": {
            "errors": report.errors,
            "warnings": report.warnings,
            "infos": sum(1 for f in report.findings if f.severity == Severity.info),
            "exit_code": report.exit_code,
        },
        "families": [f.model_dump(mode="json", exclude_none=True) for f in report.families],
        "findings": [f.model_dump(mode="json", exclude_none=True) for f in report.findings],
    }


def to_json(report: CheckReport) -> str:
    """JSON text (UTF-8, indented, French characters kept)."""
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"


def to_sarif(
    report: CheckReport, base_uri: str | None = None, uri_prefix: str | None = None
) -> str:
    """SARIF 2.1.0 log (validates against the OASIS sarif-schema-2.1.0.json).

    Args:
        base_uri: absolute URI of the dossier, recorded as ``originalUriBaseIds.DOSSIER``.
        uri_prefix: path of the dossier relative to the repository root (e.g.
            ``tenders/2026-DSI-014``), prepended to each file so that code-scanning tools
            (GitHub, GitLab) find ``tenders/2026-DSI-014/pieces/ccap.md``.
    """
    from .checker import RULES

    used = sorted({f.rule for f in report.findings} | set(RULES))
    rule_index = {r: i for i, r in enumerate(used)}
    results = []
    for f in report.findings:
        res: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": rule_index[f.rule],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message},
        }
        if f.location:
            region: dict[str, Any] = {}
            if f.location.line:
                region["startLine"] = f.location.line
            uri = f.location.file
            if uri_prefix and uri_prefix not in (".", ""):
                uri = f"{uri_prefix.rstrip('/')}/{uri}"
            phys: dict[str, Any] = {"artifactLocation": {"uri": uri}}
            if base_uri:
                phys["artifactLocation"]["uriBaseId"] = "DOSSIER"
            if region:
                phys["region"] = region
            loc: dict[str, Any] = {"physicalLocation": phys}
            if f.location.heading:
                loc["logicalLocations"] = [{"name": f.location.heading, "kind": "section"}]
            res["locations"] = [loc]
        props: dict[str, Any] = {}
        if f.clause:
            props["clause"] = f.clause
        if f.status:
            props["status"] = str(f.status)
        if f.location and f.location.page:
            props["page"] = f.location.page
        if f.legal_basis:
            props["legalBasis"] = [lb.ref for lb in f.legal_basis]
        if f.fix:
            props["fix"] = f.fix
        if props:
            res["properties"] = props
        results.append(res)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "cahier",
                "informationUri": "https://github.com/cahier-dce/cahier",
                "semanticVersion": _version(),
                "language": "fr",
                "rules": [{"id": r, "shortDescription": {"text": _rule_title(r)}} for r in used],
            }
        },
        "language": "fr",
        "results": results,
        "properties": {
            "tender": report.tender,
            "clausierVersion": report.clausier_version,
            "commit": report.commit,
        },
    }
    if base_uri:
        run["originalUriBaseIds"] = {"DOSSIER": {"uri": base_uri.rstrip("/") + "/"}}
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }
    return json.dumps(log, ensure_ascii=False, indent=2) + "\n"


def _rule_title(rule: str) -> str:
    from .checker import RULES

    return RULES.get(rule, rule)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cahier")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def to_junit(report: CheckReport) -> str:
    """JUnit XML: a ``testsuite`` per dossier; failures for error-level findings."""
    suite = ET.Element(
        "testsuite",
        name=f"cahier check {report.tender}",
        tests="0",
        failures="0",
        skipped="0",
    )
    tests = failures = skipped = 0
    by_clause: dict[str, list[Finding]] = {}
    others: list[Finding] = []
    for f in report.findings:
        (by_clause.setdefault(f.clause, []) if f.clause else others).append(f)
    for fam in report.families:
        tests += 1
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{report.tender}.clauses",
            name=f"{fam.clause} {fam.title}",
        )
        errs = [f for f in by_clause.get(fam.clause, []) if f.severity == Severity.error]
        if errs:
            failures += 1
            fail = ET.SubElement(case, "failure", message=errs[0].message, type=errs[0].rule)
            fail.text = "\n".join(
                f"{e.location.label() if e.location else ''} {e.message}" for e in errs
            )
        elif fam.status == FamilyStatus.not_applicable:
            skipped += 1
            ET.SubElement(case, "skipped", message="non applicable")
        else:
            out = ET.SubElement(case, "system-out")
            out.text = STATUS_FR[fam.status]
    for f in others + [
        f
        for f in report.findings
        if f.clause and f.clause not in {x.clause for x in report.families}
    ]:
        tests += 1
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{report.tender}.{f.rule}",
            name=f.location.label() if f.location else f.rule,
        )
        if f.severity == Severity.error:
            failures += 1
            ET.SubElement(case, "failure", message=f.message, type=f.rule)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{SEVERITY_FR[f.severity]} : {f.message}"
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_text(report: CheckReport, console: Any = None, show_fix: bool = True) -> None:
    """Print the French report with rich (to ``console`` or stdout)."""
    from rich.console import Console
    from rich.markup import escape

    con = console or Console()
    where = f" @ {report.commit[:10]}" if report.commit else ""
    con.print(
        f"[bold]Contrôle du dossier {report.tender}[/bold]{where} — clausier {report.clausier_version}, "
        f"règles en vigueur au {report.checked_at_rule_date:%d/%m/%Y}"
    )
    colors = {
        FamilyStatus.present: "green",
        FamilyStatus.edited: "yellow",
        FamilyStatus.hand_written: "cyan",
        FamilyStatus.waived: "magenta",
        FamilyStatus.missing: "red",
        FamilyStatus.unverifiable: "red",
        FamilyStatus.not_applicable: "dim",
    }
    # Plain aligned lines: a rich Table costs ~0.1 s to lay out, too much for a hook.
    con.print("\n[bold]Familles de clauses[/bold]")
    for fam in report.families:
        level = "oblig." if fam.level == "mandatory" else "recom."
        loc = fam.evidence[0].label() if fam.evidence else (fam.reason or "")
        c = colors[fam.status]
        status = f"{STATUS_FR[fam.status]:<22}"
        con.print(
            f"  {fam.clause:<17}{level:<8}[{c}]{status}[/{c}]{escape(loc)}",
            highlight=False,
            soft_wrap=True,
        )
    con.print()
    for f in report.findings:
        c = {"error": "red", "warning": "yellow", "info": "cyan"}[str(f.severity)]
        head = f"[{c}]{SEVERITY_FR[f.severity]}[/{c}] {escape('[' + f.rule + ']')}"
        if f.clause:
            head += f" {f.clause}"
        loc = f.location.label() if f.location else ""
        con.print(f"{head} {escape(loc)}", highlight=False)
        con.print(f"  {f.message}", highlight=False, markup=False)
        if f.legal_basis:
            con.print(
                "  Fondement : " + " ; ".join(lb.ref for lb in f.legal_basis),
                highlight=False,
                markup=False,
            )
        if show_fix and f.fix and f.severity == Severity.error:
            label = "Clause à insérer" if f.fix.startswith(":::") else "Correction"
            con.print(f"  {label} :", highlight=False)
            for line in f.fix.splitlines():
                con.print("    " + line, highlight=False, markup=False)
    verdict = (
        f"[red]{report.errors} erreur(s)[/red]" if report.errors else "[green]aucune erreur[/green]"
    )
    con.print(f"\nBilan : {verdict}, {report.warnings} avertissement(s).")


def to_markdown(report: CheckReport) -> str:
    """French Markdown report (Prefect artifact, review requests)."""
    lines = [
        f"# Contrôle du dossier {report.tender}",
        "",
        f"- Révision : `{report.commit or 'copie de travail'}`",
        f"- Clausier : {report.clausier_version} ; règles en vigueur au "
        f"{report.checked_at_rule_date:%d/%m/%Y}",
        f"- Bilan : **{report.errors} erreur(s)**, {report.warnings} avertissement(s)",
        "",
        "| Clause | Intitulé | Statut | Où |",
        "|---|---|---|---|",
    ]
    for fam in report.families:
        loc = fam.evidence[0].label() if fam.evidence else ""
        lines.append(f"| {fam.clause} | {fam.title} | {STATUS_FR[fam.status]} | {loc} |")
    lines += ["", "## Constats", ""]
    for f in report.findings:
        loc = f" — {f.location.label()}" if f.location else ""
        clause = f" {f.clause}" if f.clause else ""
        lines.append(f"- **{SEVERITY_FR[f.severity]}** `{f.rule}`{clause}{loc} : {f.message}")
    return "\n".join(lines) + "\n"


def findings_table(report: CheckReport) -> list[dict[str, Any]]:
    """Findings as rows (Prefect table artifact, CSV)."""
    return [
        {
            "gravite": SEVERITY_FR[f.severity],
            "regle": f.rule,
            "clause": f.clause or "",
            "fichier": f.location.file if f.location else "",
            "ligne": (f.location.line or "") if f.location else "",
            "page": (f.location.page or "") if f.location else "",
            "article": (f.location.heading or "") if f.location else "",
            "message": f.message,
        }
        for f in report.findings
    ]
