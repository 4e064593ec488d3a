"""Assembly through Prefect, and the auditor's list of a tender's flow runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import approved_repository

pytestmark = pytest.mark.flow

ROOT = Path(__file__).resolve().parents[1]
CD33 = ROOT / "tenders" / "2026-CD33-PC-001"


def test_assemble_flow_then_audit_lists_the_tenders_runs(prefect_harness, tmp_path, monkeypatch):
    from prefect.settings import PREFECT_API_URL
    from typer.testing import CliRunner

    from cahier.cli import app
    from flows.assemble import assemble_tender
    from flows.check import check_tender
    from flows.runs import list_runs

    dossier = approved_repository(CD33, tmp_path)
    monkeypatch.chdir(tmp_path)
    report = check_tender(str(dossier))
    assert report.errors == 0
    result = assemble_tender(str(dossier), formats=["html"], out=str(tmp_path / "out" / "cd33"))
    html = [o for o in result.outputs if o.path.endswith(".html")]
    assert html and all((tmp_path / "out" / "cd33" / o.path).is_file() for o in html)
    assert "Performance environnementale" in (tmp_path / "out" / "cd33" / "rc.html").read_text(
        "utf-8"
    )

    runs = list_runs("2026-CD33-PC-001", dossier.name)
    names = {r["name"] for r in runs}
    assert {"controle-2026-cd33-pc-001", "assemblage-2026-cd33-pc-001"} <= names
    assert all(r["state"] == "Completed" for r in runs)

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    res = CliRunner().invoke(app, ["audit", str(dossier), "--sans-controles"])
    assert res.exit_code == 0, res.output
    assert "Exécutions Prefect" in res.output and "assemblage-2026-cd33-pc-001" in res.output
    shutil.rmtree(tmp_path / "out")


def test_archive_task_retries_when_another_commit_moved_the_branch(prefect_harness, monkeypatch):
    import flows.archive as fa
    from tasks.errors import ConcurrentWriteError

    calls = []

    def flaky(dossier, **kwargs):
        calls.append(dossier)
        if len(calls) == 1:
            raise ConcurrentWriteError("une autre validation a été écrite au même moment")
        return "archive-1"

    def failing(dossier, **kwargs):
        calls.append(dossier)
        raise ValueError("autre erreur")

    monkeypatch.setattr(fa, "create_archive", flaky)
    monkeypatch.setattr(fa.archive_task, "retry_delay_seconds", [0, 0, 0, 0])
    assert fa.archive_task("d", None, None, False) == "archive-1"
    assert len(calls) == 2
    calls.clear()
    monkeypatch.setattr(fa, "create_archive", failing)
    with pytest.raises(ValueError):
        fa.archive_task("d", None, None, False)
    assert len(calls) == 1  # other errors are not retried


def test_cahier_flow_records_json_parameters_as_fastapi_would(tmp_path):
    """Plain JSON parameters are recorded as jsonable_encoder records them, without
    importing it; any other value goes through Prefect's own serialisation."""
    from fastapi.encoders import jsonable_encoder

    from flows.runs import cahier_flow

    @cahier_flow(name="parametres")
    def parametres(a: str, b: int = 1, c: list | None = None, d: dict | None = None, p=None):
        return a

    plain = {"a": "é", "b": 2, "c": [1.5, None, True, ["x"]], "d": {"k": {"n": 0}}, "p": None}
    assert parametres.serialize_parameters(plain) == jsonable_encoder(plain)
    other = {"a": "x", "b": 1, "c": None, "d": None, "p": tmp_path}
    assert parametres.serialize_parameters(other) == jsonable_encoder(other)
    assert parametres.serialize_parameters(other)["p"] == str(tmp_path)
    import pickle

    import flows.runs

    assert pickle.loads(pickle.dumps(type(parametres))) is flows.runs.CahierFlow
    probe = (
        "import sys\n"
        "from flows.runs import cahier_flow\n"
        "f = cahier_flow(name='x')(lambda a, b=None: a)\n"
        "assert f.serialize_parameters({'a': 'x', 'b': [1, {'c': None}]}) == "
        "{'a': 'x', 'b': [1, {'c': None}]}\n"
        "print('fastapi' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
