"""Benchmark: what policy layers and the execution follow-up cost.

Measured in one process (no interpreter start-up), median of ``--runs`` calls, after a
warm-up: loading the clausier alone and with the Région layer of examples/region-policy
(settings read, layer read, validated, linted and stacked), checking a copy of the bundled
example with each, building the follow-up plan of the Région's contract and checking its
two execution reports.

Usage::

    python bench/policy.py [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGION = ROOT / "examples" / "region-policy"
CONTRACT = REGION / "tenders" / "2026-RNA-LYC-005"
BUNDLED = ROOT / "tenders" / "2026-CD33-PC-001"


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="résultat en JSON")
    args = parser.parse_args()

    from tasks.award.followup import build_plan, check_followup
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    layer = [REGION / "politique-region"]
    dossier = read_dossier(BUNDLED)
    national = load_clausier(layers=[])
    layered = load_clausier(layers=layer)
    result = {
        "runs": args.runs,
        "load_national_ms": _median_ms(lambda: load_clausier(layers=[]), args.runs),
        "load_with_layer_ms": _median_ms(lambda: load_clausier(layers=layer), args.runs),
        "check_national_ms": _median_ms(lambda: check_dossier(dossier, national), args.runs),
        "check_with_layer_ms": _median_ms(lambda: check_dossier(dossier, layered), args.runs),
        "followup_plan_ms": _median_ms(lambda: build_plan(CONTRACT, layered), args.runs),
        "followup_check_ms": _median_ms(
            lambda: check_followup(CONTRACT, dt.date(2027, 3, 15)), args.runs
        ),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"Couches de politique et suivi d'exécution — médianes sur {args.runs} appels :")
    labels = {
        "load_national_ms": "chargement du clausier national",
        "load_with_layer_ms": "chargement avec la couche de la Région",
        "check_national_ms": "contrôle de l'exemple, clausier national",
        "check_with_layer_ms": "contrôle de l'exemple, avec la couche",
        "followup_plan_ms": "plan de suivi du marché de la Région",
        "followup_check_ms": "contrôle de ses deux rapports d'exécution",
    }
    for key, label in labels.items():
        print(f"  {label:<45} {result[key]:>8.2f} ms".replace(".", ","))


if __name__ == "__main__":
    main()
