"""Constants and errors shared by the assembly modules (formats, rule ids, titles)."""

from __future__ import annotations

from pathlib import Path

from tasks.clausier.rules import rule_severity, rule_titles
from tasks.dossier.model import Finding, Location, Severity
from tasks.errors import InputError

#: Output formats, in the order they are produced.
FORMATS: tuple[str, ...] = ("docx", "odt", "html", "pdf")

#: Reference documents and Pandoc templates (clause_library/templates/reference/).
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "clause_library" / "templates" / "reference"

#: Rule ids of assembly findings and their French titles (``clause_library/rules.yaml``,
#: section ``assemblage``).
RULES: dict[str, str] = rule_titles("assemblage")

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
    "markdown-raw_tex-raw_attribute-implicit_figures-tex_math_single_backslash"
    "-tex_math_double_backslash-latex_macros-citations-yaml_metadata_block"
)


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


def _finding(
    rule: str, piece: str, line: int | None, message: str, sev: Severity | None = None
) -> Finding:
    """An assembly finding; its severity, unless given, from rules.yaml (``assemblage``)."""
    return Finding(
        rule=rule,
        severity=sev or rule_severity(rule, section="assemblage"),
        location=Location(file=piece, line=line),
        message=message,
    )
