"""Shared fixtures: the real cases of ../shared/cases/real (skipped when absent)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

# The ephemeral Prefect server's telemetry locks SQLite (docs/architecture.md, « Pièges Prefect »).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = ROOT.parent / "shared" / "cases" / "real"
REAL_TENDERS = Path(__file__).resolve().parent / "real_cases"


@pytest.fixture(scope="session")
def shared_real() -> Path:
    """../shared/cases/real, or skip the test when the shared folder is absent."""
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/cases/real absent : cas réels non disponibles")
    return SHARED_REAL


@pytest.fixture(scope="session")
def real_dossier(shared_real: Path, tmp_path_factory: pytest.TempPathFactory):
    """Build a dossier in tmp_path from a real case: our tender.yaml + the real pieces.

    The real files are copied into the temporary folder only (never into the project).
    ``overrides`` replace top-level fields of tender.yaml (e.g. a later dateLancement).
    """

    def build(case: str, exclude: tuple[str, ...] = (), **overrides) -> Path:
        src = shared_real / case
        if not src.is_dir():
            pytest.skip(f"cas réel {case} absent")
        dossier = tmp_path_factory.mktemp("real") / case
        (dossier / "pieces").mkdir(parents=True)
        data = yaml.safe_load((REAL_TENDERS / case / "tender.yaml").read_text(encoding="utf-8"))
        data.update(overrides)
        (dossier / "tender.yaml").write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        for f in sorted(src.iterdir()):
            if f.is_file() and f.name not in exclude:
                shutil.copyfile(f, dossier / "pieces" / f.name)
        return dossier

    return build


def approved_repository(src: Path, base: Path) -> Path:
    """Copy the dossier ``src`` into a new Git repository under ``base``, commit it and
    record an approval by the first declared referent of every role with items.

    Returns the dossier path inside that repository (``base/repo/tenders/<id>``).
    """
    import subprocess

    from tasks.review.reviews import plan_for, record_review

    repo = base / "repo"
    dossier = repo / "tenders" / src.name
    shutil.copytree(src, dossier, ignore=shutil.ignore_patterns("reviews", "evaluation", "archive"))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Acheteuse",
        "GIT_AUTHOR_EMAIL": "achat@example.fr",
        "GIT_COMMITTER_NAME": "Acheteuse",
        "GIT_COMMITTER_EMAIL": "achat@example.fr",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "Dossier"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)
    plan = plan_for(dossier)
    for role in plan.roles():
        person = plan.referents[role][0]
        record_review(dossier, role, "approve", person.email, "Vu, conforme.")
    return dossier


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory):
    """One temporary Prefect server (SQLite) for all flow tests of the session.

    Starting it costs ~20 s: every ``@pytest.mark.flow`` test shares it. Results are
    persisted under a temporary folder (suspend/resume needs persisted results).
    """
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with prefect_test_harness(server_startup_timeout=120):
        with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}):
            yield


#: Markers that run only when selected with ``-m`` (``.ci/run`` selects them after the
#: README's test command): the tamper corpus and the scale check on PostgreSQL.
ON_DEMAND = {
    "tamper": "corpus d'attaques : lancer « pytest -m tamper »",
    "scale": "contrôle d'échelle (PostgreSQL, serveur Prefect, workers) : lancer « pytest -m scale »",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked with an :data:`ON_DEMAND` marker run only when ``-m`` names it."""
    markexpr = config.getoption("markexpr", "") or ""
    for marker, reason in ON_DEMAND.items():
        if marker in markexpr:
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
