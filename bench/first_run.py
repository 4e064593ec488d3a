"""Benchmark of the first run and every run after (issue « premier lancement »).

Measures, in fresh processes on one PREFECT_HOME (alternating, medians):

* ``cahier check DOSSIER`` alone, and the bare import floor of its libraries;
* a no-op Prefect flow through cahier's server selection (``flows.server``), i.e. what
  any command that needs Prefect pays before its own work;
* ``cahier lifecycle DOSSIER`` on a Git copy of the example — without a server (embedded
  server started by the command) and with a local server announced in
  ``PREFECT_HOME/cahier-server.json`` (as ``cahier server`` does);
* ``cahier demo``: total and per-step wall times.

Goals (issue): lifecycle with a server ≤ 3 × check; without, ≤ no-op flow + 20 %;
check ≤ 1.5 × floor.

Conditions: every child process may write its bytecode, into a cache folder of the bench
(``PYTHONPYCACHEPREFIX``, ``PYTHONDONTWRITEBYTECODE`` removed), filled by the warm-up
runs — as after ``pip install``, which compiles the package. Without it (a shell with
``PYTHONDONTWRITEBYTECODE=1``) each cahier command compiled its project modules (70 for a check) from
source at every run while the floor's libraries came from their installed ``.pyc``: the
check paid ~0.12 s CPU the floor did not. CPU times (user + system of the child, less
sensitive to a shared machine than wall times) are printed beside the wall times.

Figures of issue 14's first pass (load 3–6). Before = 7f1a738, after = heartbeats off
(flows/server.py); lifecycle and check alternated, medians of 4, local server running:

=======================================  ======================  ======================
measure                                  before                  after
=======================================  ======================  ======================
lifecycle, local server (wall)           3.30 s                  2.93 s
lifecycle, local server (CPU of client)  2.63 s                  2.63 s
check (wall / CPU)                       0.61 / 0.59 s           0.62 / 0.59 s
floor (wall / CPU)                       0.32 / 0.28 s           (same)
lifecycle / check (wall)                 × 5.4                   × 4.7
check / floor (CPU)                      × 2.1                   × 2.1
check CPU with PYTHONDONTWRITEBYTECODE   0.68 s (× 2.4)          (condition removed)
=======================================  ======================  ======================

Second pass (load 2.5–3 from other sessions: wall times drift by ± 30 % from one bench
run to the next, so each « before → after » is an interleaved A/B of fresh processes,
before and after alternating, CPU medians of 6 to 12; each tree's own code on the path —
``python -m`` puts the working directory first, so each run starts in its tree).
Lifecycle: before = af3a8db, on one local server and one Git copy of the example, check
cached (as in this bench after its first run). Check: before = main without the two
check commits (57d62f3, 4854832), same other code:

=======================================  ======================  ======================
measure                                  before                  after
=======================================  ======================  ======================
lifecycle, local server (CPU of client)  3.16 s                  2.29 s
lifecycle, local server (wall)           3.64 s                  2.79 s
check (CPU)                              0.67 s                  0.64 s
floor (CPU)                              0.30 s                  (same)
lifecycle / check (CPU)                  × 4.7                   × 3.6
check / floor (CPU)                      × 2.2                   × 2.1
=======================================  ======================  ======================

This bench, after (``--runs 3``, load ~2.8): check 0.66 s CPU (floor 0.35 s, × 1.9),
lifecycle with a local server 2.42 s CPU (× 3.7 of the check; wall × 4.2, the server
sharing the two loaded cores), lifecycle without a server × 1.02 of the no-op flow (goal
≤ × 1.2 kept), demo 36 s (Prefect ready in 12 s; check 2.8 s, reviews 9.4 s, assembly
9.3 s, evaluation and archive 1.1 s, audit 0.1 s).

Third pass (idle machine, ``--runs 3``): the warm runner of ``cahier server``
(flows/warm.py) — the lifecycle runs in a fork of a process that already imported
Prefect. Lifecycle with the local server 0.99 s wall (× 1.7 of the check, 0.58 s; the
client itself 0.27 s CPU, the run's CPU is the runner's child's), 2.28 s without the
runner (``CAHIER_WARM=0``, × 3.9); check × 1.9 of the floor (0.58 / 0.31 s CPU).

Fourth pass (idle machine, ``--runs 3``, 2026-12-05): ``cahier check DOSSIER`` runs with
Python's cycle collector quieted (tasks/collector.py: what is imported frozen, young
generation of 50 000 objects; same peak memory on the 93-page AMF DCE):
check 0.40–0.42 s CPU, × 1.78–1.82 of the floor (0.22–0.23 s) — goal × 1.5 still unmet:
what a check adds to the floor (~0.18 s CPU) is spread over its ~50 project modules'
imports (~0.07 s: module-level regular expressions ~0.02 s, dataclasses ~0.01 s, pydantic
models ~0.01 s) and the work itself on the example's five pieces (reading ~0.025 s,
checking and recognition ~0.06 s, the report ~0.01 s), none above a few milliseconds.
The warm runner lost its socket when a request's forked process unwound through the
runner's loop (with ``--runs 3`` every lifecycle after the first ran without it, 1.5 s):
fixed, the lifecycle with the local server is 0.58–0.64 s wall (× 1.4–1.5 of the check),
0.19 s CPU in the client.

What the second pass removed from the lifecycle: the review gate read the dossier from Git
and checked it again (~0.3 s CPU) — the check step now makes the review plan from its own
reading and check, cached with it, and the gate takes it; Prefect imported FastAPI to
record the flow run's parameters (~0.15 s; ``flows.runs.cahier_flow``); the run asked the
API for its own deployment (``prefect.runtime.deployment.id``: a second client, ~0.1 s
wall); the waiting review runs were looked up (a task and a query) when the run could not
wait anyway; ``flows.check`` imported the checker even when the check came from the
cache (~0.1 s); the health probe of the local server loaded a certificate store for an
``http://`` URL. From the check: rules.yaml and law.yaml composed by the pure-Python YAML
loader at every run (~12–45 ms; now a JSON snapshot, ``tasks/clausier/snapshot.py``),
Typer building the parameters of all 22 commands at each call (~21 ms; only the command
asked for is registered). The « Typer TypeAdapters 0.05 s » of the first pass is mostly
pydantic's first schema build, paid by the check's own models anyway; the adapters
themselves cost ~3 ms.

What remains, measured: ``import prefect`` ~1.35–1.45 s CPU (× 2.2 of the check alone:
a lifecycle ≤ 3 × check leaves ~0.5 s for Python, cahier's imports and the flow); the
server selection (``prefect_session``: Prefect's ``temporary_settings`` copy ~0.05 s,
its logging set-up ~0.07 s); 17 HTTP requests of Prefect's engine per run (flow and flow
run creation, states, two artifacts, result storage checks, logs, the events client's
version check and CSRF token); the review gate's reading of the review records in Git
(~0.1 s, 16 Git calls in all per run). The check beyond the floor (~0.33 s CPU): its
modules' imports (~0.1 s: pydantic models of ``tasks.dossier.model``, regular expressions
of ``criteria_text``, ``normalize``, ``headings``), reading (~0.06 s), checking and
recognition (~0.09 s), the report (~0.02 s).

Usage::

    python bench/first_run.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tenders" / "2026-CD33-PC-001"
#: The libraries a check really needs: YAML, the Jinja2 sandbox, Typer and rich's
#: console, pydantic models and the one pydantic-settings ``Settings`` (house rule:
#: configuration is read only through it). simplemma is not in it: its lemmas are
#: cached on disk (tasks/clausier/lemmas.py), so a warm check does not load it.
FLOOR = (
    "import yaml, jinja2.sandbox, typer, rich.console, rich.markup, pydantic_settings; "
    "from pydantic import BaseModel, ConfigDict, Field, ValidationError"
)
NOOP = (
    "from flows.server import prefect_session\n"
    "with prefect_session(fallback=True):\n"
    "    from prefect import flow\n"
    "    flow(name='noop')(lambda: 1)()\n"
)


#: CPU seconds (user + system) of the last child process run by :func:`_run`.
_LAST_CPU = [0.0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    t0, c0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    _LAST_CPU[0] = _children_cpu() - c0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"échec de {' '.join(cmd)} ({proc.returncode}) : {proc.stderr[-800:]}")
    return elapsed, proc.stdout


def _repo(base: Path) -> Path:
    repo = base / "depot"
    dossier = repo / "tenders" / EXAMPLE.name
    shutil.copytree(EXAMPLE, dossier, ignore=shutil.ignore_patterns("reviews", "archive"))
    ident = {
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.fr",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.fr",
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-qm", "Dossier"],
    ):
        subprocess.run(["git", *args], cwd=repo, env={**os.environ, **ident}, check=True)
    return dossier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    py = sys.executable
    base = Path(tempfile.mkdtemp(prefix="cahier-bench-"))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "PREFECT_HOME": str(base / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PYTHONPYCACHEPREFIX": str(base / "pycache"),
    }
    env.pop("PREFECT_API_URL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    dossier = _repo(base)
    check = [py, "-m", "cahier", "check", str(EXAMPLE)]
    floor = [py, "-c", FLOOR]
    noop = [py, "-c", NOOP]
    life = [py, "-m", "cahier", "lifecycle", str(dossier)]
    _run(noop, env)  # creates the Prefect database (migrations) once
    _run(check, env)
    _run(floor, env)
    times: dict[str, list[float]] = {
        k: [] for k in ("check", "floor", "check_cpu", "floor_cpu", "noop", "lifecycle")
    }
    for _ in range(args.runs):
        times["check"].append(_run(check, env)[0])
        times["check_cpu"].append(_LAST_CPU[0])
        times["floor"].append(_run(floor, env)[0])
        times["floor_cpu"].append(_LAST_CPU[0])
        times["noop"].append(_run(noop, env)[0])
        times["lifecycle"].append(_run(life, env, cwd=base)[0])
    # A local server, announced as « cahier server » does.
    port = 4391
    server = subprocess.Popen(
        [
            py,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        import httpx

        api = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(api + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        # The warm runner, as « cahier server » starts it (flows/warm.py).
        sock = base / "prefect" / "cahier-runner.sock"
        runner = subprocess.Popen(
            [py, "-m", "flows.warm", str(sock)],
            env={**env, "PREFECT_API_URL": api},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        while not sock.exists() and runner.poll() is None:
            time.sleep(0.1)
        (base / "prefect" / "cahier-server.json").write_text(
            json.dumps({"api_url": api, "pid": server.pid, "runner": str(sock)}),
            encoding="utf-8",
        )
        cold = {**env, "CAHIER_WARM": "0"}
        _run(life, env, cwd=base)
        _run(life, cold, cwd=base)
        for key in ("lifecycle_server", "lifecycle_server_cpu", "lifecycle_cold", "cold_cpu"):
            times[key] = []
        for _ in range(args.runs):
            times["lifecycle_server"].append(_run(life, env, cwd=base)[0])
            times["lifecycle_server_cpu"].append(_LAST_CPU[0])
            times["lifecycle_cold"].append(_run(life, cold, cwd=base)[0])
            times["cold_cpu"].append(_LAST_CPU[0])
        os.killpg(runner.pid, signal.SIGTERM)
        runner.wait(30)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    result: dict[str, object] = {k: round(statistics.median(v), 3) for k, v in times.items()}
    result["check_vs_floor"] = round(result["check"] / result["floor"], 2)
    result["check_vs_floor_cpu"] = round(result["check_cpu"] / result["floor_cpu"], 2)
    result["lifecycle_server_vs_check"] = round(result["lifecycle_server"] / result["check"], 2)
    result["lifecycle_server_vs_check_cpu"] = round(
        result["lifecycle_server_cpu"] / result["check_cpu"], 2
    )
    result["lifecycle_cold_vs_check"] = round(result["lifecycle_cold"] / result["check"], 2)
    result["lifecycle_vs_noop"] = round(result["lifecycle"] / result["noop"], 2)
    if not args.no_demo:
        t, out = _run([py, "-m", "cahier", "demo"], env, cwd=base)
        result["demo_total"] = round(t, 1)
        steps = re.finditer(r"^(\d)\. (.+?) — ([\d.]+) s$", out, re.M)
        result["demo_steps"] = {m[2][:40]: float(m[3]) for m in steps}
        start = re.search(r"prêt en ([\d.]+) s", out)
        result["demo_prefect_start"] = float(start[1]) if start else None
    shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(
        f"cahier check                     : {result['check']:.2f} s (plancher des imports {result['floor']:.2f} s, × {result['check_vs_floor']})"
    )
    print(
        f"  en temps CPU                   : {result['check_cpu']:.2f} s (plancher {result['floor_cpu']:.2f} s, × {result['check_vs_floor_cpu']})"
    )
    print(f"flow vide (sélection + serveur)  : {result['noop']:.2f} s")
    print(
        f"cahier lifecycle, sans serveur   : {result['lifecycle']:.2f} s (× {result['lifecycle_vs_noop']} du flow vide)"
    )
    print(
        f"cahier lifecycle, serveur local  : {result['lifecycle_server']:.2f} s (× {result['lifecycle_server_vs_check']} du contrôle)"
    )
    print(
        f"  en temps CPU (client seul)     : {result['lifecycle_server_cpu']:.2f} s (× {result['lifecycle_server_vs_check_cpu']} du contrôle ; le run s'exécute dans le runner)"
    )
    print(
        f"  sans le runner (CAHIER_WARM=0) : {result['lifecycle_cold']:.2f} s (× {result['lifecycle_cold_vs_check']} du contrôle ; CPU {result['cold_cpu']:.2f} s)"
    )
    if "demo_total" in result:
        print(
            f"cahier demo                      : {result['demo_total']} s (Prefect prêt en {result['demo_prefect_start']} s)"
        )
        for name, s in result["demo_steps"].items():
            print(f"  {name:<40} {s:6.1f} s")


if __name__ == "__main__":
    main()
