"""Flow ``archive_tender``: evaluate → archive → DECP, with table artifacts.

The same functions as ``cahier evaluate``, ``cahier archive`` and ``cahier decp``;
Prefect adds the run record and two table artifacts keyed by the tender id (slugified):
``ranking-<id>`` (one row per offer) and ``sensitivity-<id>`` (per lot: winner, winner
without the environmental and social criteria, smallest weight change that alters the
winner).
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import dossier_flow, publish_artifact
from flows.runs import artifact_key, transient_retries
from tasks import fmt
from tasks.award.archive import ArchiveInfo, create_archive
from tasks.award.evaluation import EvaluationResult, evaluate, read_evaluation

__all__ = ["archive_tender", "artifact_key", "ranking_table", "sensitivity_table"]


def ranking_table(result: EvaluationResult) -> list[dict[str, object]]:
    """One row per offer: lot, rank, bidder, price (€ HT), points per criterion, total."""
    rows: list[dict[str, object]] = []
    for lot in result.lots:
        tops = [c for c in result.criteria_of(lot) if c.parent is None]
        for r in lot.offres:
            row: dict[str, object] = {
                "lot": lot.lot,
                "rang": r.rang if r.rang is not None else "écartée",
                "offre": r.id,
                "soumissionnaire": r.soumissionnaire,
                "prix € HT": round(r.prix, 2),
            }
            for c in tops:
                row[f"{c.code}. {c.nom} ({fmt.percent(c.poids)})"] = r.pointsCriteres.get(c.code)
            row["total"] = r.total
            row["anormalement basse"] = "oui" if r.anormalementBasse else "non"
            row["rang sans critères env./sociaux"] = r.rangSansResponsables
            rows.append(row)
    return rows


def sensitivity_table(result: EvaluationResult) -> list[dict[str, object]]:
    """Per lot: did the environmental and social criteria change the winner?"""
    return [
        {
            "lot": lot.lot,
            "lauréat": lot.laureat or "ex aequo",
            "poids env./social (%)": lot.poidsResponsables,
            "lauréat sans critères env./sociaux": lot.laureatSansResponsables or "—",
            "critères responsables décisifs": "oui" if lot.criteresResponsablesDecisifs else "non",
            "plus petit changement": lot.plusPetitChangement.message
            if lot.plusPetitChangement
            else "aucun transfert de pondération ne change le lauréat",
        }
        for lot in result.lots
    ]


@task(name="évaluer les offres", cache_policy=NO_CACHE)
def evaluate_task(dossier: str) -> EvaluationResult:
    tender, ev, _ = read_evaluation(dossier)
    return evaluate(ev, tender)


@task(name="publier le classement", cache_policy=NO_CACHE)
def publish_task(result: EvaluationResult) -> None:
    publish_artifact("ranking", result.tender, ranking_table(result))
    publish_artifact("sensitivity", result.tender, sensitivity_table(result))


@task(
    name="archiver",
    cache_policy=NO_CACHE,
    **transient_retries(),
)
def archive_task(
    dossier: str, assembly: str | None, clausier_path: str | None, draft: bool
) -> ArchiveInfo:
    return create_archive(
        dossier, assembly_manifest=assembly, clausier_path=clausier_path, draft=draft
    )


@dossier_flow("archive-tender", "archive")
def archive_tender(
    dossier: str,
    assembly: str | None = None,
    clausier_path: str | None = None,
    draft: bool = False,
) -> ArchiveInfo:
    """Evaluate the offers, publish the ranking and sensitivity, archive (with DECP).

    The DECP record is produced inside the archive (``decp.json``) when the evaluation
    has an ``attribution`` block. ``draft``: see :func:`tasks.award.archive.create_archive`
    (pending reviews or a draft assembly are accepted, the archive is marked draft).
    Returns the archive created (or the interrupted one this run finished).
    """
    logger = get_run_logger()
    from tasks.git import Repo

    if Repo.discover(dossier).deepen():  # a worker's shallow clone (prefect.yaml git_clone)
        logger.info("Clone superficiel : historique complet récupéré (git fetch --unshallow).")
    result = evaluate_task(dossier)
    publish_task(result)
    for lot in result.lots:
        logger.info(
            "Lot %d : lauréat %s ; sans critères environnementaux et sociaux : %s",
            lot.lot,
            lot.laureat or "ex aequo",
            lot.laureatSansResponsables or "—",
        )
    info = archive_task(dossier, assembly, clausier_path, draft)
    logger.info(
        "Archive n° %d %s (%s), étiquette %s, manifeste SHA-256 %s",
        info.numero,
        "interrompue, terminée" if info.recovered else "BROUILLON créée" if info.draft else "créée",
        info.path,
        info.tag,
        info.manifest_sha256,
    )
    return info
