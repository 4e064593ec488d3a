"""The warm runner of ``cahier server`` (flows/warm.py), as real processes.

A command that runs Prefect flows is executed by a fork of a process that has already
imported Prefect: the client never imports it, the output reaches the client's own
streams, the exit code is the command's; the runner refuses another identity (the
client then runs the command itself) and another user cannot reach it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.warm import delegate, socket_path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tenders" / "2026-CD33-PC-001"

#: A client that runs the cahier command line, then says whether it imported Prefect.
CLIENT = (
    "import sys\n"
    "from cahier.cli import main\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    print('PREFECT-IMPORTED', 'prefect' in sys.modules, file=sys.stderr)\n"
    "    raise\n"
)


@pytest.fixture
def runner(tmp_path: Path):
    """A runner on a fresh PREFECT_HOME; yields (home, socket, environment)."""
    home = tmp_path / "prefect"
    home.mkdir()
    sock = socket_path(home)
    env = {**os.environ, "PREFECT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    env.pop("CAHIER_WARM", None)
    proc = subprocess.Popen([sys.executable, "-m", "flows.warm", str(sock)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 90
    while not sock.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "runner did not start"
        time.sleep(0.1)
    assert sock.stat().st_mode & 0o777 == 0o600
    yield home, sock, env, proc
    proc.terminate()
    proc.wait(90)  # a loaded machine may still be importing Prefect in the runner
    assert not sock.exists()  # removed on the way out


def _client(env: dict[str, str], *argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CLIENT, *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _dossier(tmp_path: Path, error: bool = False) -> Path:
    repo = tmp_path / "achats"
    shutil.copytree(EXAMPLE, repo / EXAMPLE.name, ignore=shutil.ignore_patterns("evaluation"))
    if error:  # a draft: no amount (« tender-incomplet », an error)
        tender = repo / EXAMPLE.name / "tender.yaml"
        text = tender.read_text(encoding="utf-8")
        tender.write_text(text.replace("\nmontant: 300000", "\nmontant: null"), encoding="utf-8")
    git = ["git", "-c", "user.name=A", "-c", "user.email=a@example.fr"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "Dossier"], cwd=repo, check=True)
    return repo / EXAMPLE.name


def test_runner_answers_with_the_commands_output_and_exit_code(
    runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home, sock, env, proc = runner
    monkeypatch.setenv("PREFECT_HOME", env["PREFECT_HOME"])
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    good, bad = _dossier(tmp_path / "a"), _dossier(tmp_path / "b", error=True)
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as fo, err.open("w") as fe:
        saved = os.dup(1), os.dup(2)
        os.dup2(fo.fileno(), 1)
        os.dup2(fe.fileno(), 2)
        try:
            codes = [delegate(sock, ["check", str(d)]) for d in (good, bad, tmp_path / "rien")]
        finally:
            for fd, copy in enumerate(saved, start=1):
                os.dup2(copy, fd)
                os.close(copy)
    # The runner's child wrote on this process's stdout and stderr (passed with
    # SCM_RIGHTS).
    text = out.read_text(encoding="utf-8")
    assert codes == [0, 1, 2], text
    assert "Bilan : aucune erreur" in text and "Bilan : 1 erreur(s)" in text
    assert "rien : chemin introuvable" in err.read_text(encoding="utf-8")
    # Another identity (a PREFECT_ variable the runner did not have): refused, the
    # client runs the command itself.
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "DEBUG")
    assert delegate(sock, ["check", str(good)]) is None
    monkeypatch.delenv("PREFECT_LOGGING_LEVEL")
    # No runner: None, nothing raised.
    assert delegate(home / "absent.sock", ["check", str(good)]) is None
    assert proc.poll() is None  # the runner survives all of it


def test_another_user_cannot_reach_the_runner(runner):
    if os.getuid() != 0:
        pytest.skip("needs root to run a client as another user")
    sock = runner[1]
    code = (
        "import os, socket, sys\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        f"    s.connect({str(sock)!r})\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__); sys.exit(0)\n"
        "print('CONNECTED')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "PermissionError", out.stdout + out.stderr


@pytest.mark.flow
def test_lifecycle_runs_in_the_runner_on_the_local_server(prefect_harness, runner, tmp_path):
    """``cahier lifecycle`` with a local server announcing a runner: the report and exit
    code of the ordinary path, the flow run on the server, Prefect never imported by the
    client; with CAHIER_WARM=0 the client runs it itself."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.settings import PREFECT_API_URL

    home, sock, env, proc = runner
    api = PREFECT_API_URL.value()
    (home / "cahier-server.json").write_text(
        json.dumps({"api_url": api, "pid": proc.pid, "runner": str(sock)}), encoding="utf-8"
    )
    dossier = _dossier(tmp_path)

    def lifecycle_runs() -> int:
        with get_client(sync_client=True) as client:
            flt = FlowFilter(name=FlowFilterName(any_=["lifecycle"]))
            return len(client.read_flow_runs(flow_filter=flt))

    before = lifecycle_runs()
    res = _client(env, "lifecycle", str(dossier), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "serveur Prefect local de « cahier server »" in res.stdout
    assert "revues des référents en attente" in res.stdout
    assert "PREFECT-IMPORTED False" in res.stderr
    assert lifecycle_runs() == before + 1
    # The same without the runner: same outcome, Prefect imported here.
    res = _client({**env, "CAHIER_WARM": "0"}, "lifecycle", str(dossier), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "revues des référents en attente" in res.stdout
    assert "PREFECT-IMPORTED True" in res.stderr


@pytest.mark.flow
def test_cahier_server_starts_announces_and_withdraws_its_runner(tmp_path: Path):
    """``cahier server``: Prefect server, deployments, worker and runner; a lifecycle run
    by another command goes through the runner; SIGTERM withdraws the announce and the
    socket."""
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    watched = tmp_path / "surveille"
    subprocess.run(["git", "init", "-q", str(watched)], check=True)
    home = tmp_path / "prefect"
    env = {**os.environ, "PREFECT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.update(CAHIER_TENDER_REPO=str(watched), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    for name in ("PREFECT_API_URL", "CAHIER_WARM"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "cahier", "server", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    announce = home / "cahier-server.json"
    try:
        deadline = time.monotonic() + 240
        while not announce.exists():
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
            time.sleep(0.5)
        info = json.loads(announce.read_text(encoding="utf-8"))
        assert info["api_url"] == f"http://127.0.0.1:{port}/api"
        assert info["runner"] == str(socket_path(home)) and socket_path(home).exists()
        res = _client(env, "lifecycle", str(_dossier(tmp_path)), cwd=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"(http://127.0.0.1:{port}/api)" in res.stdout
        assert "PREFECT-IMPORTED False" in res.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        finally:
            with contextlib.suppress(ProcessLookupError):  # nothing left behind
                os.killpg(server.pid, signal.SIGKILL)
    assert not announce.exists() and not socket_path(home).exists()


def test_a_request_that_unwinds_never_removes_the_runners_socket(tmp_path: Path):
    """A request's process is a fork of the runner: if it (or a process it forks without
    exec) left through the runner's own loop, it used to remove the socket of a runner
    still serving, and every later command silently ran without it. Here each request
    unwinds with KeyboardInterrupt; the runner keeps its socket and answers the next."""
    sock = tmp_path / "runner.sock"
    script = (
        "import sys, flows.warm as w\n"
        "def unwind(conn, mine):\n"
        "    raise KeyboardInterrupt\n"
        "w._child = unwind\n"
        "w.PRELOAD = ()\n"
        "w.serve(__import__('pathlib').Path(sys.argv[1]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script, str(sock)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "runner did not start"
            time.sleep(0.05)
        for _ in range(3):
            assert delegate(sock, ["--help"]) is None  # the child answered nothing
            time.sleep(0.2)
            assert sock.exists() and proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(20)
    assert not sock.exists()  # the runner itself still withdraws it
