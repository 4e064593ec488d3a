"""A referent decides in the Prefect UI, in a real headless Chromium (issue 4).

A real ``prefect server start`` (UI on, SQLite and PREFECT_HOME in a temporary folder)
serves both UIs Prefect ships: the default one (``/v2``, where « Resume » sits in the
run's menu) and the one of the links Prefect logs (``/runs/flow-run/<id>``, with a
« Resume » button). For each, an ``await-review`` run of the example dossier
2026-DINUM-WEB-002 pauses for a role; Debian's Chromium, driven by Playwright (no
browser download), opens the run, checks that the form renders every field of
:class:`flows.review.ReviewInput` with its French title, fills it as the declared
referent, submits, and the review record appears in Git under the referent's name.

Needs ``/usr/bin/chromium`` (scripts/install-chromium.sh) and the ``playwright`` Python
package; skipped when either is missing.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = [pytest.mark.flow, pytest.mark.ui]

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "tenders" / "2026-DINUM-WEB-002"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium tries to reach Google's services,
# which a closed network refuses (and which a test has no business calling).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 90  # a cold `prefect server start` (migrations, UI copy) takes ~20 s
UI_TIMEOUT_MS = 20_000
RUN_END_S = 45

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} absent : installez Chromium (bash scripts/install-chromium.sh)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="paquet Python playwright absent (pip install playwright)"
)
expect = sync_api.expect


# --------------------------------------------------------------------------- helpers


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def make_repo(base: Path) -> Path:
    """A Git repository holding a copy of 2026-DINUM-WEB-002 committed by the buyer.

    Returns the dossier folder. The buyer (not a referent) authors the commit that
    declares the referents, as the four-eyes rule requires.
    """
    if not (WEB / "tender.yaml").is_file():
        pytest.skip(f"dossier d'exemple {WEB.name} absent")
    repo = base / "depot"
    shutil.copytree(WEB, repo / "tenders" / WEB.name, ignore=shutil.ignore_patterns("reviews"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Acheteuse")
    git(repo, "config", "user.email", "acheteuse@dinum.example.fr")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Dossier initial")
    return repo / "tenders" / WEB.name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drain_prefect_workers() -> None:
    """Flush and stop Prefect's log and event workers (they keep the API URL they began with)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


class Server:
    """A ``prefect server start`` subprocess with its UI; ``url`` without trailing slash."""

    def __init__(self, url: str, storage: Path) -> None:
        self.url = url
        self.api = f"{url}/api"
        self.storage = storage

    @contextmanager
    def settings(self) -> Iterator[None]:
        """Prefect client settings pointing at this server (in the current context)."""
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_LOCAL_STORAGE_PATH,
            PREFECT_UI_URL,
            temporary_settings,
        )

        with temporary_settings(
            {
                PREFECT_API_URL: self.api,
                PREFECT_UI_URL: self.url,
                PREFECT_LOCAL_STORAGE_PATH: self.storage,
            }
        ):
            yield


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real Prefect server serving the UI on a free loopback port, stopped at the end."""
    base = tmp_path_factory.mktemp("prefect-ui")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(base / "home"),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{base / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="true",
        PREFECT_API_URL=f"{url}/api",
    )
    log_path = base / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port), "--ui"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"le serveur Prefect s'est arrêté :\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"serveur Prefect non prêt en {SERVER_START_S} s :\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.3)
        # The UI bundles ship inside the prefect wheel and are served at the root.
        page = httpx.get(
            f"{url}/", headers={"Accept": "text/html"}, follow_redirects=True, timeout=10
        )
        assert page.status_code == 200 and "<html" in page.text.lower(), (
            "interface Prefect non servie"
        )
        settings = httpx.get(f"{url}/ui-settings", timeout=10).json()
        assert {"v1", "v2"} <= set(settings["available_uis"]), settings
        drain_prefect_workers()  # new workers will pick this server up
        yield Server(url, base / "results")
    finally:
        try:
            drain_prefect_workers()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)


def start_review(server: Server, dossier: Path, role: str) -> tuple[threading.Thread, dict]:
    """Run ``await_review(dossier, role)`` in a thread against ``server``; its result box."""
    from flows.review import await_review

    box: dict = {}

    def target() -> None:
        try:
            with server.settings():
                box["result"] = asyncio.run(await_review(str(dossier), role, poll_seconds=1))
        except BaseException as exc:  # surfaced by the test
            box["error"] = exc

    th = threading.Thread(target=target, daemon=True, name=f"revue-{role}")
    th.start()
    return th, box


def wait_for_pause(server: Server, role: str, box: dict, timeout: float = 60):
    """The ``await-review`` run of ``role`` once paused for its first form."""
    from flows.review import find_waiting_runs, review_key

    key = review_key("2026-DINUM-WEB-002", role)
    deadline = time.monotonic() + timeout
    with server.settings():
        while time.monotonic() < deadline:
            if "error" in box:
                raise box["error"]
            runs = asyncio.run(find_waiting_runs("2026-DINUM-WEB-002", role))
            if runs and runs[0].state.state_details.pause_key == key:
                keyset = runs[0].state.state_details.run_input_keyset
                if keyset and keyset.get("schema"):
                    return runs[0]
            time.sleep(0.3)
    raise AssertionError(f"aucun run de revue {role} en pause sous la clé {key}")


@contextmanager
def chromium(profile: Path) -> Iterator:
    """A page of Debian's headless Chromium with a fresh profile (no browser download)."""
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 2000},  # the whole form fits the dialog
            locale="fr-FR",
        )
        try:
            ctx.set_default_timeout(UI_TIMEOUT_MS)
            yield ctx.pages[0] if ctx.pages else ctx.new_page()
        finally:
            ctx.close()


def form_fields() -> dict[str, tuple[str, str | None]]:
    """``{field: (title, description)}`` of the review form, as declared on ReviewInput."""
    from flows.review import ReviewInput

    return {
        name: (info.title or name, info.description)
        for name, info in ReviewInput.model_fields.items()
    }


def label_re(title: str) -> re.Pattern[str]:
    """The label the UI shows for a field: its title, « (Optional) » when not required."""
    return re.compile(rf"^\s*{re.escape(title)}(\s*\(Optional\))?\s*$")


def control_for(dialog, title: str):
    """The control a ``<label for=…>`` showing ``title`` points to (default UI).

    Not ``get_by_label``: the enum's button carries its own ``aria-label``.
    """
    label = dialog.locator("label").filter(has_text=label_re(title))
    expect(label).to_have_count(1)
    return dialog.locator(f"[id='{label.get_attribute('for')}']")


def check_recorded(dossier: Path, role: str, run_id: str, box: dict, referent, comment: str):
    """The thread ended with the record, committed in Git with the referent as author."""
    assert "error" not in box, f"le run de revue a échoué : {box.get('error')!r}"
    result = box["result"]
    assert result["decision"] == "approve", result
    repo = dossier.parents[1]
    path = result["path"]
    assert re.fullmatch(rf"tenders/{WEB.name}/reviews/[^/]+-{role}\.yaml", path), path
    author = git(repo, "log", "-1", "--format=%an|%ae", "--", path).strip()
    assert author == f"{referent.nom}|{referent.email}"
    assert git(repo, "rev-parse", "HEAD").strip() == result["commit"]
    record = yaml.safe_load(git(repo, "show", f"HEAD:{path}"))
    assert record["role"] == role and record["decision"] == "approve"
    assert record["reviewer"]["email"] == referent.email
    assert record["comment"] == comment  # accents and punctuation survive the browser
    assert record["flow_run"] == run_id
    assert git(repo, "status", "--porcelain") == ""  # nothing half-written, index clean


def check_status(dossier: Path, role: str, referent) -> None:
    """``cahier review status`` shows the role's items approved by the referent, the rest pending."""
    from tasks.review.reviews import plan_for

    plan = plan_for(dossier)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    out = subprocess.run(
        [sys.executable, "-m", "cahier", "review", "status", str(dossier), "--no-diff"],
        cwd=dossier.parents[1], capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr  # other roles still pending
    lines = out.stdout.splitlines()
    for item in plan.items:
        line = next((ln for ln in lines if item.label() in ln), None)
        assert line is not None, f"{item.label()} absent de :\n{out.stdout}"
        if item.role == role:
            assert line.startswith("[approuvé]"), line
            assert f"approuvé par {referent.nom} <{referent.email}>" in line, line
        else:
            assert line.startswith("[en attente]"), line


# --------------------------------------------------------------------------- tests


def test_referent_approves_from_run_link(ui_server: Server, tmp_path: Path):
    """The link Prefect logs (« View at …/runs/flow-run/<id> »): « Resume » button, form."""
    from tasks.review.reviews import plan_for

    dossier = make_repo(tmp_path)
    role = "donnees"
    plan = plan_for(dossier)
    referent = plan.referents[role][0]  # Nadia Haddad, declared in tender.yaml
    th, box = start_review(ui_server, dossier, role)
    run = wait_for_pause(ui_server, role, box)
    comment = "Clauses RGPD (art. 28), réversibilité et SecNumCloud : conformes."
    shot = tmp_path / "formulaire-lien-du-run.png"

    with chromium(tmp_path / "chromium-profile") as page:
        page.goto(f"{ui_server.url}/runs/flow-run/{run.id}")
        page.get_by_text(run.name).first.wait_for()
        page.get_by_role("button", name="Resume").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Resume Flow Run").wait_for()
        # The referent sees exactly what to review: every item of the role.
        for item in plan.for_role(role):
            dialog.get_by_text(item.clause).first.wait_for(state="attached")
        # Every field of the RunInput, under its French title, with its description.
        fields = form_fields()
        props = dialog.locator(".schema-form-property")
        expect(props).to_have_count(len(fields))
        labels = [
            t.strip() for t in dialog.locator(".schema-form-property__label").all_inner_texts()
        ]
        controls = {}
        for name, (title, description) in fields.items():
            prop = props.filter(
                has=page.locator(".schema-form-property__label", has_text=label_re(title))
            )
            assert prop.count() == 1, f"champ {name} (« {title} ») non rendu : {labels}"
            if description:
                assert description in prop.inner_text(), (name, prop.inner_text())
            controls[name] = prop
        # decision: an enum rendered as a select (opened from the keyboard: a mouse click
        # on this UI's select does not open it in headless Chromium).
        select = controls["decision"].locator("button.p-select-button__control")
        select.press("ArrowDown")
        page.get_by_role("option", name="request-changes", exact=True).wait_for()
        page.get_by_role("option", name="approve", exact=True).click()
        assert select.inner_text().strip() == "approve"
        for name in ("comment", "nom", "email", "saisi_par_nom", "saisi_par_email"):
            assert controls[name].locator("textarea").count() == 1, name
        controls["comment"].locator("textarea").fill(comment)
        controls["nom"].locator("textarea").fill(referent.nom)
        controls["email"].locator("textarea").fill(referent.email)
        dialog.screenshot(path=str(shot))
        dialog.get_by_role("button", name="Submit").click()
        dialog.wait_for(state="hidden")

    th.join(RUN_END_S)
    assert not th.is_alive(), "le run de revue n'a pas repris après l'envoi du formulaire"
    assert shot.stat().st_size > 0
    check_recorded(dossier, role, str(run.id), box, referent, comment)
    check_status(dossier, role, referent)


def test_referent_approves_from_default_ui(ui_server: Server, tmp_path: Path):
    """The default UI (/ → /v2): Runs list → the waiting run → menu « Resume » → form."""
    from tasks.review.reviews import plan_for

    dossier = make_repo(tmp_path)
    role = "accessibilite"
    plan = plan_for(dossier)
    referent = plan.referents[role][0]  # Amélie Rousseau, declared in tender.yaml
    th, box = start_review(ui_server, dossier, role)
    run = wait_for_pause(ui_server, role, box)
    comment = "Exigences RGAA 4.1 et déclaration d'accessibilité : conformes."
    shot = tmp_path / "formulaire-interface-par-defaut.png"

    with chromium(tmp_path / "chromium-profile") as page:
        page.goto(f"{ui_server.url}/")
        page.wait_for_url(re.compile(r"/v2/"))
        page.get_by_role("link", name="Runs", exact=True).click()
        page.get_by_role("link", name=run.name, exact=True).click()
        page.wait_for_url(re.compile(rf"/v2/runs/flow-run/{run.id}"))
        page.get_by_role("button", name="Open menu").first.click()
        page.get_by_role("menuitem", name="Resume").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Resume Flow Run").wait_for()
        for item in plan.for_role(role):
            dialog.get_by_text(item.clause).first.wait_for(state="attached")
        # Every field of the RunInput, labelled (label for=) with its French title.
        fields = form_fields()
        expect(dialog.locator("label")).to_have_count(len(fields))
        labels = [t.strip() for t in dialog.locator("label").all_inner_texts()]
        for name, (title, description) in fields.items():
            assert any(label_re(title).match(t) for t in labels), (
                f"champ {name} (« {title} ») non rendu : {labels}"
            )
            if description:
                assert dialog.get_by_text(description).count() >= 1, (name, description)
        controls = {name: control_for(dialog, title) for name, (title, _) in fields.items()}
        decision = controls["decision"]  # an enum: a combobox listing its values
        decision.click()
        page.get_by_role("option", name="request-changes", exact=True).wait_for()
        page.get_by_role("option", name="approve", exact=True).click()
        expect(decision).to_have_text("approve")
        for name in ("comment", "nom", "email", "saisi_par_nom", "saisi_par_email"):
            assert controls[name].evaluate("e => e.tagName") == "TEXTAREA", name
        controls["comment"].fill(comment)
        controls["nom"].fill(referent.nom)
        controls["email"].fill(referent.email)
        dialog.screenshot(path=str(shot))
        dialog.get_by_role("button", name="Resume").click()
        dialog.wait_for(state="hidden")

    th.join(RUN_END_S)
    assert not th.is_alive(), "le run de revue n'a pas repris après l'envoi du formulaire"
    assert shot.stat().st_size > 0
    check_recorded(dossier, role, str(run.id), box, referent, comment)
    check_status(dossier, role, referent)
