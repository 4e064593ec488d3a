"""Bench of the batch check (tasks.check.batch.check_all): memory independent of the count, time.

    python bench/batch.py                      # 500 vs 2,000 dossiers: peak memory, time
    python bench/batch.py --prefect 1000       # + flow check-batch vs plain loop, same run
    python bench/batch.py --generate DIR --count 500   # only generate (scripts/scale-check.sh)

Dossiers are generated from tenders/2026-CD33-PC-001 (tender.yaml, rc.md, ccap.md, and the
cctp for one in three), each with its own id and amount. Peak memory is measured with
tracemalloc: with ``workers=1`` everything runs in the measured process (the checker's
bounded caches — ``lru_cache(maxsize=4096)`` in tasks/dossier/normalize.py and tasks/clausier/evidence.py —
fill up to their bound, so this peak grows with the first thousands of dossiers, then
stays); with ``workers=2`` the parent holds only the walk, the in-flight queue and the
output stream, so a result list kept in memory, or a walk that loads every path at once,
would show as growth there.
Not a unit test: numbers depend on the machine; read them side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SOURCE = ROOT / "tenders" / "2026-CD33-PC-001"


def generate(dest: Path, count: int) -> Path:
    """Write ``count`` small dossiers under ``dest`` (ids 2026-GEN-00001…)."""
    tender = (SOURCE / "tender.yaml").read_text(encoding="utf-8")
    pieces = {n: (SOURCE / "pieces" / n).read_bytes() for n in ("rc.md", "ccap.md", "cctp.md")}
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        tid = f"2026-GEN-{i:05d}"
        d = dest / f"{i // 1000:02d}" / tid
        (d / "pieces").mkdir(parents=True, exist_ok=True)
        text = re.sub(r"(?m)^id: .*$", f"id: {tid}", tender)
        text = re.sub(r"(?m)^montant: .*$", f"montant: {50_000 + (i * 7919) % 900_000}", text)
        (d / "tender.yaml").write_text(text, encoding="utf-8")
        for name, data in pieces.items():
            if name != "cctp.md" or i % 3 == 0:
                (d / "pieces" / name).write_bytes(data)
    return dest


def measure(root: Path, workers: int, trace: bool) -> tuple[float, float, int]:
    """(seconds, peak MiB or 0, dossiers) of check_all over ``root``."""
    from tasks.check.batch import check_all

    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    s = check_all(root, workers=workers, out=root.parent / f"results-{workers}.jsonl")
    elapsed = time.perf_counter() - t0
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return elapsed, peak, s.dossiers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generate", type=Path)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--sizes", default="500,2000")
    ap.add_argument("--prefect", type=int, default=0, help="dossiers for the Prefect comparison")
    ap.add_argument("--quick", action="store_true", help="skip the single-process run")
    args = ap.parse_args()
    if args.generate:
        generate(args.generate, args.count)
        print(f"{args.count} dossiers générés dans {args.generate}")
        return
    from tasks.clausier.library import load_clausier

    load_clausier()  # warm the clausier cache outside the measures
    work = Path(tempfile.mkdtemp(prefix="cahier-bench-"))
    try:
        print(
            f"{'dossiers':>9} {'pic, 1 processus (Mio)':>23} {'durée (s)':>10} "
            f"{'pic du parent, 2 processus (Mio)':>33} {'durée (s)':>10}"
        )
        for n in (int(x) for x in args.sizes.split(",")):
            root = generate(work / f"n{n}" / "tenders", n)
            # Warm-up on the first dossiers so that lazily built caches count in neither run.
            measure(next(iter(sorted(root.iterdir()))), 1, False)
            t1, peak1, count = (0.0, 0.0, n) if args.quick else measure(root, 1, True)
            t2, peak2, _ = measure(root, 2, True)
            print(f"{count:>9} {peak1:>23.1f} {t1:>10.1f} {peak2:>33.2f} {t2:>10.1f}")
        if args.prefect:
            os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
            from flows.batch import check_batch

            root = generate(work / "prefect" / "tenders", args.prefect)
            t0 = time.perf_counter()
            _, _, count = measure(root, 2, False)
            plain = time.perf_counter() - t0
            t0 = time.perf_counter()
            check_batch(str(root), workers=2)
            through = time.perf_counter() - t0
            print(
                f"{count} dossiers, 2 processus : boucle simple {plain:.1f} s ; flow Prefect "
                f"{through:.1f} s (×{through / plain:.2f}, démarrage du serveur éphémère compris)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
