"""Flow ``portfolio-report``: the portfolio report as files and Prefect table artifacts.

Builds :func:`tasks.award.portfolio.build_portfolio` over the dossiers of a folder, writes
``rapport.html`` (charts, plotly inlined) and ``rapport.csv`` atomically, and publishes
two table artifacts: the indicators against the targets in force (law.yaml)
(``portefeuille-indicateurs``) and one row per tender (``portefeuille-marches``).
Scheduled weekly in prefect.yaml.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks import fmt
from tasks.award.portfolio import Portfolio, build_portfolio, to_csv
from tasks.award.portfolio_page import indicator_rows, to_html
from tasks.dossier.files import write_atomic

__all__ = ["portfolio_report"]


def _write(path: Path, text: str) -> None:
    write_atomic(path, text)


@task(name="analyser le portefeuille", cache_policy=NO_CACHE)
def build_task(root: str, since: str | None) -> Portfolio:
    return build_portfolio(root, since=dt.date.fromisoformat(since) if since else None)


@task(name="écrire le rapport", cache_policy=NO_CACHE)
def write_task(p: Portfolio, out: str) -> list[str]:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "rapport.html", to_html(p))
    _write(folder / "rapport.csv", to_csv(p))
    return [os.fspath(folder / "rapport.html"), os.fspath(folder / "rapport.csv")]


@task(name="publier les indicateurs", cache_policy=NO_CACHE)
def publish_task(p: Portfolio) -> None:
    create_table_artifact(
        table=indicator_rows(p),
        key="portefeuille-indicateurs",
        description="Achats numériques responsables : indicateurs, cibles en vigueur (law.yaml) et engagements d'exécution",
    )
    create_table_artifact(
        table=[
            {
                "consultation": t.tender,
                "lancement": t.dateLancement or "",
                "considération environnementale": "oui" if t.env_consideration else "non",
                "considération sociale": "oui" if t.social_consideration else "non",
                "critère environnemental (%)": t.env_weight,
                "critère social (%)": t.social_weight,
                "RGAA": ("oui" if t.rgaa else "non") if t.rgaa_applicable else "sans objet",
                "revues": t.reviews,
                "motif d'exclusion": t.message or "",
            }
            for t in p.tenders
        ]
        or [{"consultation": "aucune"}],
        key="portefeuille-marches",
        description="Un marché par ligne",
    )


@flow(name="portfolio-report", log_prints=False)
def portfolio_report(
    root: str = "tenders", since: str | None = None, out: str = "out/rapport"
) -> dict[str, Any]:
    """Portfolio report of the dossiers under ``root`` launched since ``since`` (AAAA-MM-JJ).

    Returns:
        ``{"tenders": n, "files": [html, csv], "indicators": [rows]}``.
    """
    logger = get_run_logger()
    p = build_task(root, since)
    files = write_task(p, out)
    publish_task(p)
    first = p.indicators[:2]
    logger.info(
        "%d marché(s) : %s.",
        len(p.tenders),
        " ; ".join(f"{i.label} {fmt.percent(i.value, 1) if i.value is not None else '—'} "
                   f"(cible {fmt.percent(i.target)})" for i in first if i.target is not None),
    )  # fmt: skip
    return {"tenders": len(p.tenders), "files": files, "indicators": indicator_rows(p)}
