"""Warm runner of ``cahier server``: the commands that run Prefect flows start in a
process that has already imported Prefect.

``import prefect`` costs ~1.4 s of CPU, more than a whole ``cahier check``; paid by
every ``cahier lifecycle`` it made the orchestrator cost more than the work it
orchestrates (issue « premier lancement »: lifecycle with a local server ≤ 3 × the
check). ``cahier server`` therefore starts this runner beside the Prefect server: one
process that imports the third-party libraries of a flow run (:data:`PRELOAD`: Prefect's
engine, pydantic, Typer, Jinja2…) and none of cahier's modules, then waits on a Unix
socket in PREFECT_HOME (:func:`socket_path`, mode 0600).

A command of :data:`COMMANDS` whose local server announces a runner
(``"runner"`` in ``PREFECT_HOME/cahier-server.json``) sends it its arguments, working
folder, environment, ``sys.path`` and its three standard streams (file descriptors
passed with ``SCM_RIGHTS``); the runner forks, and the child runs the command exactly as
the user's process would — cahier's modules imported fresh from the client's
``sys.path``, output written straight to the user's terminal, Ctrl-C forwarded — and
sends back the exit code. The flow runs are ordinary Prefect flow runs on the local
server.

Fails closed to the ordinary path: the client runs the command itself when the runner
is absent or does not answer, when the peer is another user (``SO_PEERCRED``), or when
the runner was started with other Python, cahier code, ``HOME`` or ``PREFECT_*``
variables than the client's (:func:`_mismatch`: Prefect reads its settings once, at
import). ``CAHIER_WARM=0`` disables it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import struct
import sys
import threading
from pathlib import Path

__all__ = ["COMMANDS", "PRELOAD", "delegate", "serve", "socket_path", "wants_runner"]

#: Commands that import Prefect and run flows here (``cahier lifecycle``, ``cahier demo``;
#: ``cahier check`` only with ``--flow``).
COMMANDS = frozenset({"lifecycle", "demo"})


def wants_runner(argv: list[str]) -> bool:
    """Whether ``cahier ARGV`` imports Prefect (then the runner is worth asking)."""
    return bool(argv) and (argv[0] in COMMANDS or (argv[0] == "check" and "--flow" in argv))


#: Third-party modules imported once by the runner (a module missing is skipped).
PRELOAD = (
    "prefect",
    "prefect.flows",
    "prefect.tasks",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.artifacts",
    "prefect.runtime",
    "prefect.client.orchestration",
    "prefect.settings",
    "pydantic",
    "pydantic_settings",
    "yaml",
    "jinja2.sandbox",
    "typer",
    "rich.console",
    "httpx",
    "babel.numbers",
    "babel.dates",
)

#: Variables prefect_session sets itself for a local server: they may differ.
_SESSION_VARS = {
    "PREFECT_API_URL",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY",
}
#: cahier's top-level packages: never kept from the runner, always imported fresh.
_OWN = ("cahier", "tasks", "flows", "clause_library")
_CODE_ROOT = Path(__file__).resolve().parents[1]
_MAX_REQUEST = 4 * 1024 * 1024


def socket_path(home: Path) -> Path:
    """``<PREFECT_HOME>/cahier-runner.sock``."""
    return home / "cahier-runner.sock"


def _identity(env: dict[str, str]) -> dict[str, object]:
    """What must be equal in the runner and the client for a run to be the same."""
    return {
        "python": sys.executable,
        "code": os.fspath(_CODE_ROOT),
        "home": env.get("HOME", ""),
        "prefect": {
            k: v for k, v in env.items() if k.startswith("PREFECT_") and k not in _SESSION_VARS
        },
    }


def _mismatch(mine: dict[str, object], theirs: dict[str, object]) -> str | None:
    """The first difference between two identities (French), or None."""
    names = {"python": "interpréteur Python", "code": "code de cahier", "home": "HOME"}
    for key, label in names.items():
        if mine[key] != theirs.get(key):
            return f"{label} différent"
    if mine["prefect"] != theirs.get("prefect"):
        return "variables PREFECT_* différentes"
    return None


# --------------------------------------------------------------------------- framing


def _send(conn: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    """One frame: 4-byte length, then JSON; ``fds`` ride with the length."""
    data = json.dumps(message).encode()
    header = struct.pack("!I", len(data))
    if fds:
        socket.send_fds(conn, [header], fds)
        conn.sendall(data)
    else:
        conn.sendall(header + data)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _recv(conn: socket.socket) -> dict:
    (size,) = struct.unpack("!I", _recv_exact(conn, 4))
    if size > _MAX_REQUEST:
        raise ValueError("message trop long")
    return json.loads(_recv_exact(conn, size))


# --------------------------------------------------------------------------- runner


def serve(path: Path) -> None:
    """Preload :data:`PRELOAD`, listen on ``path`` (0600) and fork a child per request.

    Runs until SIGTERM/SIGINT; removes its socket on the way out.
    """
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    mine = _identity(dict(os.environ))
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(os.fspath(path))
    finally:
        os.umask(old)
    server.listen(16)
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    owner = os.getpid()
    try:
        while True:
            try:
                conn, _ = server.accept()
            except InterruptedError:
                continue
            pid = os.fork()
            if pid == 0:
                try:
                    server.close()
                    _child(conn, mine)  # never returns
                finally:
                    os._exit(2)  # a child never unwinds into the runner's loop
            conn.close()
    except KeyboardInterrupt:
        pass
    finally:
        # only the runner itself withdraws its socket: a process forked from it (a
        # request's child, or a process that child forks without exec) leaving through
        # here would otherwise remove the socket of a runner that is still serving
        if os.getpid() == owner:
            with contextlib.suppress(OSError):
                path.unlink()


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _child(conn: socket.socket, mine: dict[str, object]) -> None:
    """Run one request in this forked child and leave with its exit code."""
    code = 2
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        if uid != os.getuid():
            os._exit(2)  # another user: no answer at all
        raw, fds, _flags, _addr = socket.recv_fds(conn, 4, 3)
        if not raw or len(fds) != 3:
            os._exit(2)
        (size,) = struct.unpack("!I", raw + _recv_exact(conn, 4 - len(raw)))
        if size > _MAX_REQUEST:
            os._exit(2)
        request = json.loads(_recv_exact(conn, size))
        why = _mismatch(mine, request["identity"])
        if why:
            _send(conn, {"refused": why})
            os._exit(0)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        _adopt(request)
        _send(conn, {"pid": os.getpid()})
        threading.Thread(target=_watch, args=(conn,), daemon=True).start()
        code = _run(request["argv"])
    except BaseException:
        code = 2
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(Exception):
            _send(conn, {"exit": code})
        os._exit(code)


def _adopt(request: dict) -> None:
    """Become the client: its folder, environment, path, streams; cahier's own modules
    forgotten so that they are imported from the client's path."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ["CAHIER_WARM"] = "0"  # this process runs the command: never delegate it again
    sys.path[:] = request["path"]
    sys.argv = ["cahier", *request["argv"]]
    for name in [m for m in sys.modules if m.split(".")[0] in _OWN]:
        del sys.modules[name]
    encoding = request.get("encoding") or "utf-8"
    sys.stdin = open(0, encoding=encoding, closefd=False)
    sys.stdout = open(1, "w", encoding=encoding, closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding=encoding, closefd=False, buffering=1)


def _watch(conn: socket.socket) -> None:
    """The client went away (killed, terminal closed): interrupt the run."""
    with contextlib.suppress(OSError):
        while conn.recv(64):
            pass
    os.kill(os.getpid(), signal.SIGINT)


def _run(argv: list[str]) -> int:
    from cahier.cli import main

    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return 130
    return 0


# --------------------------------------------------------------------------- client


def delegate(path: Path, argv: list[str]) -> int | None:
    """Run ``cahier ARGV`` in the runner listening on ``path``; its exit code, or None
    when the runner is absent, refuses (other identity) or does not answer in 5 s — the
    caller then runs the command itself. Ctrl-C and SIGTERM are forwarded to the run."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(5)
    try:
        conn.connect(os.fspath(path))
        request = {
            "argv": argv,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "path": sys.path,
            "encoding": getattr(sys.stdout, "encoding", None),
            "identity": _identity(dict(os.environ)),
        }
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        _send(conn, request, [0, 1, 2])
        first = _recv(conn)
    except (OSError, EOFError, ValueError):
        conn.close()
        return None
    if "pid" not in first:
        conn.close()
        return None
    pid = int(first["pid"])
    conn.settimeout(None)

    def forward(signum, _frame) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    saved = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return int(_recv(conn)["exit"])
    except (OSError, EOFError, ValueError, KeyError):
        print(
            "cahier : l'exécution par le runner de « cahier server » s'est interrompue sans "
            "code de sortie ; relancez la commande avec CAHIER_WARM=0 pour l'exécuter ici.",
            file=sys.stderr,
        )
        return 2
    finally:
        conn.close()
        for sig, handler in saved.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # python -m flows.warm SOCKET
    serve(Path(sys.argv[1]))
