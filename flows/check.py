"""Flow ``check_tender``: the same checker as ``cahier check``, with Prefect artifacts.

Reads the dossier (working tree or Git revision), loads the clausier, checks, and
publishes a Markdown artifact (the French report) and a table artifact (the
findings), both keyed by the tender id (slugified: Prefect keys accept lowercase
letters, digits and dashes only).
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import dossier_flow, publish_artifact
from flows.runs import artifact_key
from tasks.dossier.model import CheckReport

__all__ = ["artifact_key", "check_tender"]

# The checker and the readers are imported by the tasks that use them: a flow that only
# publishes a report (the lifecycle's, when its check comes from the cache) does not
# pay for importing them (~0.1 s CPU).


@task(name="lire le dossier", cache_policy=NO_CACHE)
def read_task(dossier: str, rev: str | None = None, *, allow_incomplete: bool = False):
    """:func:`tasks.dossier.reader.read_dossier` as a task."""
    from tasks.dossier.reader import read_dossier

    return read_dossier(dossier, rev, allow_incomplete=allow_incomplete)


@task(name="charger le clausier", cache_policy=NO_CACHE)
def clausier_task(root: str | None = None, *, dossier: str | None = None):
    """:func:`tasks.clausier.library.load_clausier` as a task."""
    from tasks.clausier.library import load_clausier

    return load_clausier(root, dossier=dossier)


@task(name="contrôler le dossier", cache_policy=NO_CACHE)
def check_task(dossier, clausier) -> CheckReport:
    """:func:`tasks.check.checker.check_dossier` as a task."""
    from tasks.check.checker import check_dossier

    return check_dossier(dossier, clausier)


@task(name="publier le rapport", cache_policy=NO_CACHE)
def publish_task(report: CheckReport) -> None:
    from tasks.check.report import findings_table, to_markdown

    publish_artifact("check-report", report.tender, to_markdown(report))
    findings = findings_table(report) or [{"message": "aucun constat"}]
    publish_artifact("check-findings", report.tender, findings)


@dossier_flow("check-tender", "controle")
def check_tender(
    dossier: str, rev: str | None = None, clausier_path: str | None = None
) -> CheckReport:
    """Check one dossier and publish the report as artifacts; returns the report.

    Args:
        dossier: path of the dossier (folder holding tender.yaml), in a Git
            repository when ``rev`` is given.
        rev: Git revision (commit, tag, branch) or None for the working tree.
        clausier_path: another clause library folder (default: the shipped one).
    """
    logger = get_run_logger()
    # lenient like ``cahier check``: an incomplete tender.yaml still gets the findings
    # that do not depend on its empty fields (tasks/dossier/incomplete.py)
    d = read_task(dossier, rev, allow_incomplete=True)
    lib = clausier_task(clausier_path, dossier=dossier)
    report = check_task(d, lib)
    publish_task(report)
    logger.info(
        "Dossier %s : %d erreur(s), %d avertissement(s) (clausier %s)",
        report.tender,
        report.errors,
        report.warnings,
        report.clausier_version,
    )
    return report
