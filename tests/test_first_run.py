"""The first run: ``cahier demo`` (whole life of the example), Prefect server selection
and start-up without traceback, demonstration reviews that never count elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _settings(tmp_path: Path, **env: str):
    from tasks.config.settings import load_settings

    old = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME", *env)}
    os.environ.pop("PREFECT_API_URL", None)
    os.environ["PREFECT_HOME"] = str(tmp_path)
    os.environ.update(env)
    try:
        return load_settings(user_file=tmp_path / "absent.yaml")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_server_file_of_cahier_server_is_used_while_its_process_lives(tmp_path: Path):
    settings = _settings(tmp_path)
    assert settings.prefect.server() == ("ephemere", None)
    server_file = tmp_path / "cahier-server.json"
    # A live process (this one) announced a server: every command uses it.
    server_file.write_text(json.dumps({"api_url": "http://127.0.0.1:4999/api", "pid": os.getpid()}))
    assert settings.prefect.server() == ("local", "http://127.0.0.1:4999/api")
    # A dead process: the file is stale, the ephemeral server is used.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    server_file.write_text(json.dumps({"api_url": "http://127.0.0.1:4999/api", "pid": dead.pid}))
    assert settings.prefect.server() == ("ephemere", None)
    server_file.write_text("{pas du json")
    assert settings.prefect.server() == ("ephemere", None)
    # PREFECT_API_URL wins over the file.
    configured = _settings(tmp_path, PREFECT_API_URL="http://10.0.0.1:4200/api")
    assert configured.prefect.server() == ("configure", "http://10.0.0.1:4200/api")


SCRIPT = """
import sys
from flows.server import PrefectUnavailable, prefect_session
try:
    with prefect_session() as s:
        print("démarré", s.kind)
except PrefectUnavailable as exc:
    print(exc.render(), file=sys.stderr)
    sys.exit(2)
"""


def _run_session(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PYTHONIOENCODING": "utf-8",
        **env,
    }
    full.pop("PREFECT_API_URL", None) if "PREFECT_API_URL" not in env else None
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=full, timeout=60
    )


def test_slow_start_is_retried_once_then_french_message_with_the_fix(tmp_path: Path):
    # 1 s is less than the ephemeral server ever needs here: both attempts time out.
    proc = _run_session(tmp_path, CAHIER_PREFECT__STARTUP_TIMEOUT_S="1")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "n'a pas démarré en 1 s (deux essais" in proc.stderr
    assert "cahier server" in proc.stderr and "PREFECT_API_URL" in proc.stderr
    assert "database is locked" not in proc.stderr + proc.stdout


def test_unreachable_configured_server_is_a_french_message(tmp_path: Path):
    proc = _run_session(tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "serveur Prefect injoignable (http://127.0.0.1:9/api)" in proc.stderr
    assert "cahier server" in proc.stderr


HEARTBEAT = """
from flows.server import prefect_session
from prefect.settings import get_current_settings
with prefect_session(start=False):
    print(get_current_settings().flows.heartbeat_frequency)
"""


def test_runs_of_the_command_skip_heartbeats_unless_the_user_sets_them(tmp_path: Path):
    # A flow run ends by joining its heartbeat thread (up to 1 s): off for the command's
    # own runs, unless PREFECT_FLOWS_HEARTBEAT_FREQUENCY says otherwise.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(tmp_path)}
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
    run = [sys.executable, "-c", HEARTBEAT]
    off = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert off.stdout.strip() == "None", off.stderr
    env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = "60"
    kept = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert kept.stdout.strip() == "60", kept.stderr


@pytest.mark.flow
def test_demo_runs_the_whole_life_and_its_approvals_count_nowhere_else(
    prefect_harness, tmp_path: Path
):
    from flows.demo import run_demo
    from tasks.award.audit import timeline
    from tasks.review.reviews import review_gate, review_status

    result = run_demo(tmp_path / "demo")
    titles = [s.title for s in result.steps]
    assert len(titles) == 6 and titles[1].startswith("Contrôle")
    assert all(s.seconds >= 0 for s in result.steps)
    for key in ("pdf", "guide", "archive", "decp"):
        assert result.outputs[key].exists(), key
    assert result.outputs["pdf"].read_bytes().startswith(b"%PDF")
    decp = json.loads(result.outputs["decp"].read_text(encoding="utf-8"))
    assert decp  # validated against the official schema by the archive step
    # No witness outside the throwaway repository: the audit step never says a bare « intactes ».
    audit_lines = " ".join(result.steps[-1].details)
    assert "non prouvé contre une réécriture complète" in audit_lines

    # The demonstration's approvals say what they are, in status and audit.
    entries = review_status(result.dossier)
    assert entries and all(e.status == "approved" and e.demonstration for e in entries)
    assert "démonstration (non probante)" in entries[0].message()
    events = timeline(result.dossier, run_checks=False)
    assert any(
        "démonstration (non probante)" in " ".join(map(str, vars(e).values())) for e in events
    )

    # A clone of the throwaway repository is not it: the approvals do not count there.
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(result.dossier.parents[1]), str(clone)],
        check=True,
        capture_output=True,
    )
    copied = clone / "tenders" / result.dossier.name
    after = review_status(copied)
    assert after and all(e.status == "pending" for e in after)
    assert "ne compte que dans le dépôt" in after[0].message()
    assert review_gate(copied)


@pytest.mark.flow
def test_refused_answer_is_french_and_unanswered_review_expires_as_completed_run(
    prefect_harness, tmp_path: Path
):
    import asyncio
    import contextvars
    import threading
    import time

    from flows.demo import make_demo_repository
    from flows.review import await_review, find_waiting_runs, resume_waiting_run
    from tasks.errors import InputError

    dossier = make_demo_repository(tmp_path / "demo")
    box: dict = {}
    ctx = contextvars.copy_context()

    def target() -> None:
        box["result"] = asyncio.run(
            await_review(str(dossier), "environnement", timeout_days=10 / 86400, poll_seconds=1)
        )

    th = threading.Thread(target=lambda: ctx.run(target), daemon=True)
    th.start()
    deadline = time.monotonic() + 60
    runs: list = []
    while time.monotonic() < deadline and not runs:
        runs = [
            r
            for r in asyncio.run(find_waiting_runs("2026-CD33-PC-001", "environnement"))
            if r.state.state_details.run_input_keyset
        ]
        time.sleep(0.3)
    assert runs, "aucun run de revue en pause"
    with pytest.raises(InputError) as err:
        resume_waiting_run(
            str(runs[0].id), {"decision": "peut-être", "comment": "", "nom": "X", "email": "x"}
        )
    message = err.value.render()
    assert "réponse refusée" in message and "« approve » ou « request-changes »" in message
    th.join(90)
    assert box["result"]["decision"] == "expiree"
    assert "Revue expirée" in box["result"]["message"]

    async def state() -> str:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            return (await client.read_flow_run(runs[0].id)).state.type.value

    assert asyncio.run(state()) == "COMPLETED"


@pytest.mark.flow
def test_lifecycle_pending_review_exits_0_with_report_strict_exits_1(
    prefect_harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from prefect.settings import PREFECT_API_URL
    from test_lifecycle import EXAMPLE, make_repo
    from typer.testing import CliRunner

    from cahier.cli import app

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    monkeypatch.chdir(tmp_path)
    dossier = make_repo(tmp_path) / "tenders" / EXAMPLE.name
    r = CliRunner().invoke(app, ["lifecycle", str(dossier)])
    assert r.exit_code == 0, r.output
    assert "revues des référents en attente" in r.output
    assert "cahier review approve" in r.output and "Traceback" not in r.output
    strict = CliRunner().invoke(app, ["lifecycle", str(dossier), "--strict"])
    assert strict.exit_code == 1
    assert "--strict" in strict.output


def test_prefect_side_errors_become_french_others_pass_through():
    import httpx

    from flows.server import PrefectUnavailable, prefect_errors
    from tasks.errors import InputError

    with pytest.raises(PrefectUnavailable) as err:
        with prefect_errors("cycle de vie"):
            httpx.get("http://127.0.0.1:9/api/health", timeout=2)
    assert "cycle de vie interrompu par le serveur Prefect (ConnectError" in err.value.render()
    assert "cahier server" in err.value.render()
    with pytest.raises(InputError):  # cahier's own errors are unchanged
        with prefect_errors("x"):
            raise InputError("déjà en français")
    with pytest.raises(ZeroDivisionError):  # not Prefect's: a bug stays a bug
        with prefect_errors("x"):
            1 / 0  # noqa: B018


def test_bad_prefect_setting_is_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tasks.config.settings import load_settings
    from tasks.errors import InputError

    monkeypatch.setenv("CAHIER_PREFECT__STARTUP_TIMEOUT_S", "abc")
    with pytest.raises(InputError) as err:
        load_settings(user_file=tmp_path / "absent.yaml")
    assert "prefect.startup_timeout_s" in err.value.render()
    assert "un nombre est attendu" in err.value.render()
    assert "Input should" not in err.value.render()
