"""Review runs through Prefect (temporary local server): pause with a typed form, resume.

The runs here have no deployment, so they *pause* in-process (the suspend path needs a
deployment and a worker; the same loop and keys are used, see docs/reviews.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
from pathlib import Path

import pytest
from test_review import DRAFT, ENV, SOC, git, make_repo

pytestmark = pytest.mark.flow
SECRETARIAT = "secretariat.achats@villenave-sur-dronne.example.fr"


@pytest.fixture(scope="module")
def harness(prefect_harness):
    """The session's shared Prefect test server (tests/conftest.py)."""
    yield


def start(dossier: Path, role: str) -> tuple[threading.Thread, dict]:
    """Run ``await_review`` in a thread (with the harness settings); returns its result box."""
    from flows.review import await_review

    box: dict = {}
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["result"] = asyncio.run(await_review(str(dossier), role, poll_seconds=1))
        except BaseException as exc:  # surfaced by the test
            box["error"] = exc

    th = threading.Thread(target=lambda: ctx.run(target), daemon=True)
    th.start()
    return th, box


def wait_for_pause(tender_id: str, role: str, key: str, box: dict, timeout: float = 60):
    """The waiting run once it is paused under ``key`` and its input schema is saved."""
    from flows.review import find_waiting_runs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "error" in box:
            raise box["error"]
        runs = asyncio.run(find_waiting_runs(tender_id, role))
        if runs and runs[0].state.state_details.pause_key == key:
            return runs[0]
        time.sleep(0.3)
    raise AssertionError(f"aucun run en pause sous la clé {key}")


def test_pause_form_resume_and_cli(harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL
    from typer.testing import CliRunner

    from cahier.cli import app
    from flows.review import remind_reviews
    from tasks.review.reviews import read_records, review_status

    draft = make_repo(tmp_path, DRAFT) / "tenders" / "2026-DRAFT-003"
    repo = draft.parents[1]

    # 1. The social review run pauses with a slugified key and a typed form.
    th, box = start(draft, "social")
    run = wait_for_pause("2026-DRAFT-003", "social", "revue-2026-draft-003-social-1", box)
    keyset = run.state.state_details.run_input_keyset

    async def schema() -> str:
        async with get_client() as client:
            return await client.read_flow_run_input(run.id, keyset["schema"])

    fields = json.loads(asyncio.run(schema()))["properties"]
    assert {"decision", "comment", "nom", "email"} <= set(fields)
    assert fields["decision"].get("enum") == ["approve", "request-changes"] or "anyOf" in str(
        fields["decision"]
    )

    # A form with a missing field is rejected by the server; the run keeps waiting.
    with pytest.raises(RuntimeError):
        resume_flow_run(run.id, run_input={"decision": "approve", "comment": "", "nom": "X"})
    # A person who is not the social referent is refused: the run waits again (key -2).
    resume_flow_run(
        run.id,
        run_input={"decision": "approve", "comment": "OK", "nom": "Lucie Fabre", "email": ENV},
    )
    run = wait_for_pause("2026-DRAFT-003", "social", "revue-2026-draft-003-social-2", box)
    # The secretariat fills the form for Romain: recorded as such (form identities are
    # declarative: the Prefect UI has no authentication).
    resume_flow_run(
        run.id,
        run_input={
            "decision": "approve",
            "comment": "Clause d'insertion rédigée à la main : conforme.",
            "nom": "Romain Delpech",
            "email": SOC,
            "saisi_par_nom": "Secrétariat achats",
            "saisi_par_email": SECRETARIAT,
        },
    )
    th.join(60)
    assert "error" not in box, box.get("error")
    assert box["result"]["decision"] == "approve"
    head = git(repo, "log", "-1", "--format=%an|%ae")
    assert head.strip() == f"Romain Delpech|{SOC}"
    social = next(s for s in read_records(draft) if s.record.role == "social").record
    assert social.recorded_by.email == SECRETARIAT and social.reviewer.email == SOC
    entry = next(e for e in review_status(draft) if e.item.clause == "SOC-INSERT-01")
    assert entry.status == "approved"
    assert "enregistrée par Secrétariat achats" in entry.message()

    # 2. The environment run waits; the CLI records the decision and resumes it.
    th, box = start(draft, "environnement")
    run = wait_for_pause(
        "2026-DRAFT-003", "environnement", "revue-2026-draft-003-environnement-1", box
    )
    reminders = asyncio.run(remind_reviews(str(draft), reminder_days=0))
    assert any("environnement" in r and ENV in r for r in reminders)
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    monkeypatch.chdir(repo)
    r = CliRunner().invoke(
        app,
        ["review", "approve", "2026-DRAFT-003", "--role", "environnement",
         "--comment", "Dérogation et reprise DEEE validées", "--reviewer-email", ENV,
         "--pour-le-compte-de"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"Run Prefect {run.id} repris" in r.output
    th.join(60)
    assert "error" not in box, box.get("error")
    env_records = [s for s in read_records(draft) if s.record.role == "environnement"]
    assert len(env_records) == 1 and env_records[0].record.flow_run == str(run.id)
    assert env_records[0].record.recorded_by.email == "acheteuse@example.fr"
    assert box["result"]["path"] == env_records[0].path  # not recorded twice
    assert {e.status for e in review_status(draft)} == {"approved"}
    assert git(repo, "status", "--porcelain") == ""
