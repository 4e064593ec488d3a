"""What the flows share: the decorator of a flow over one dossier (runs named after
the dossier folder) and the artifacts they publish (keyed by kind and tender, described
in French).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.runs import artifact_key, cahier_flow, dossier_run_name

__all__ = ["ARTIFACTS", "dossier_flow", "publish_artifact"]

# kind → French description of the artifact; ``{subject}`` is the tender id (the
# repository folder for ``check-batch``), other fields are passed by name.
ARTIFACTS: dict[str, str] = {
    "check-report": "Contrôle du dossier {subject}",
    "check-findings": "Constats du contrôle du dossier {subject}",
    "assembly": "Assemblage du dossier {subject}",
    "ranking": "Classement des offres — {subject}",
    "sensitivity": "Sensibilité aux critères environnementaux et sociaux — {subject}",
    "check-batch": "Contrôle de tous les dossiers de {root}",
    "suivi-engagements": "Suivi d'exécution de {subject} au {date:%d/%m/%Y}",
    "suivi-constats": "Écarts, retards et rapports manquants de {subject}",
}


def dossier_flow(name: str, run_kind: str) -> Callable[[Callable[..., Any]], Any]:
    """Prefect ``@flow`` named ``name`` over one dossier: each run is named
    ``<run_kind>-<dossier folder>`` (:func:`flows.runs.dossier_run_name`, which the
    auditor's timeline relies on); ``print`` is not logged; plain JSON parameters are
    recorded without FastAPI (:func:`flows.runs.cahier_flow`)."""
    return cahier_flow(
        name=name, flow_run_name=partial(dossier_run_name, run_kind), log_prints=False
    )


def publish_artifact(
    kind: str, subject: str, content: str | list[dict[str, Any]], **fields: Any
) -> None:
    """Publish ``content`` as the run's artifact keyed ``<kind>-<subject>`` (slugified,
    :func:`flows.runs.artifact_key`): Markdown when a string, else a table (one dict a
    row). Its description is ``ARTIFACTS[kind]`` filled with ``subject`` and ``fields``."""
    key = artifact_key(kind, subject)
    description = ARTIFACTS[kind].format(subject=subject, **fields)
    if isinstance(content, str):
        create_markdown_artifact(markdown=content, key=key, description=description)
    else:
        create_table_artifact(table=content, key=key, description=description)
