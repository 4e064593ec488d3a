"""Benchmark: median wall time of ``cahier check`` on the example dossier vs the floor.

The floor is a bare Python process that only imports the third-party libraries that
``cahier check`` imports (pydantic, PyYAML, Jinja2, typer, rich): the part of the
time cahier cannot remove. Both are measured in the same run, alternating, so that
machine load affects them alike.

Usage::

    python bench/check.py [--runs 15] [--dossier tenders/2026-CD33-PC-001]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = (
    "import yaml, jinja2.sandbox, typer, rich.console, rich.markup; "
    "from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator"
)


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"échec de {' '.join(cmd)} : {proc.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--dossier", default="tenders/2026-CD33-PC-001")
    parser.add_argument("--json", action="store_true", help="résultat en JSON")
    args = parser.parse_args()
    cahier = shutil.which("cahier", path=str(Path(sys.executable).parent)) or "cahier"
    check = [cahier, "check", args.dossier]
    floor = [sys.executable, "-c", FLOOR]
    _time(check), _time(floor)  # warm-up: bytecode compiled, files in page cache
    t_check, t_floor = [], []
    for _ in range(args.runs):
        t_check.append(_time(check))
        t_floor.append(_time(floor))
    result = {
        "dossier": args.dossier,
        "runs": args.runs,
        "check_median_s": round(statistics.median(t_check), 4),
        "floor_median_s": round(statistics.median(t_floor), 4),
    }
    result["overhead_s"] = round(result["check_median_s"] - result["floor_median_s"], 4)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"cahier check {args.dossier} : médiane {result['check_median_s'] * 1000:.0f} ms")
        print(f"plancher (imports seuls)      : médiane {result['floor_median_s'] * 1000:.0f} ms")
        print(
            f"surcoût propre à cahier       : {result['overhead_s'] * 1000:.0f} ms ({args.runs} mesures)"
        )


if __name__ == "__main__":
    main()
