"""Benchmark: a full DCE assembly vs the bare Pandoc and Typst calls on the same inputs.

« Full » is :func:`tasks.publish.assemble.assemble` on the example dossier: gate (check), Jinja2
rendering, bidder guide, one Pandoc parse, sanitising and typography, DOCX/ODT/HTML/
Typst writing, two Typst compilations (PDF/UA-1 and PDF/A-2b), zip normalisation,
manifest and zip. « Bare » is, on the same rendered Markdown (guide included), only
``pandoc --sandbox`` to docx, odt, html (standalone) and typst (standalone), then the
same two ``typst.compile`` calls: the part cahier cannot remove. Both run sequentially
(one worker), alternating, in the same process; the goal is an overhead under 25 %.

Usage::

    python bench/assemble.py [--runs 5] [--dossier tenders/2026-CD33-PC-001]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.clausier.library import load_clausier  # noqa: E402
from tasks.dossier.reader import read_dossier  # noqa: E402
from tasks.publish.assemble import assemble, bidder_guide, render_pieces  # noqa: E402


def bare(markdowns: list[str], tmp: Path) -> None:
    import pypandoc
    import typst

    exe = pypandoc.get_pandoc_path()
    for i, md in enumerate(markdowns):
        data = md.encode("utf-8")
        for args in (
            ["-t", "docx", "-o", "-"],
            ["-t", "odt", "-o", "-"],
            ["-t", "html5", "-s", "-M", "title=x", "-M", "lang=fr"],
        ):
            subprocess.run([exe, "--sandbox", *args], input=data, capture_output=True, check=True)
        typ = subprocess.run(
            [exe, "--sandbox", "-t", "typst", "-s", "-M", "title=x", "-M", "lang=fr"],
            input=data,
            capture_output=True,
            check=True,
        ).stdout
        src = tmp / f"p{i}.typ"
        src.write_bytes(typ)
        typst.compile(str(src), root=str(tmp), ignore_system_fonts=True, pdf_standards=["ua-1"])
        typst.compile(
            str(src), root=str(tmp), ignore_system_fonts=True, pdf_standards=["a-2b", "ua-1"]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dossier", default=str(ROOT / "tenders" / "2026-CD33-PC-001"))
    parser.add_argument("--json", action="store_true", help="résultat en JSON")
    args = parser.parse_args()
    lib = load_clausier()
    dossier = read_dossier(args.dossier)
    rendered, findings = render_pieces(dossier, lib)
    if findings:
        raise SystemExit(f"gabarits invalides : {findings}")
    markdowns = [r.markdown for r in rendered] + [bidder_guide(dossier, lib, rendered).markdown]
    t_full, t_bare, t_par = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        area = Path(tmp)
        bare(markdowns, area)  # warm-up
        assemble(dossier, lib, area / "out", allowed_root=area)
        for _ in range(args.runs):
            s = time.perf_counter()
            assemble(read_dossier(args.dossier), lib, area / "out", allowed_root=area)
            t_full.append(time.perf_counter() - s)
            s = time.perf_counter()
            bare(markdowns, area)
            t_bare.append(time.perf_counter() - s)
            s = time.perf_counter()
            assemble(read_dossier(args.dossier), lib, area / "out", allowed_root=area, workers=4)
            t_par.append(time.perf_counter() - s)
    full, floor = statistics.median(t_full), statistics.median(t_bare)
    result = {
        "dossier": args.dossier,
        "documents": len(markdowns),
        "runs": args.runs,
        "assemble_median_s": round(full, 3),
        "bare_pandoc_typst_median_s": round(floor, 3),
        "overhead_pct": round(100 * (full - floor) / floor, 1),
        "assemble_4_workers_median_s": round(statistics.median(t_par), 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"Assemblage complet : {result['assemble_median_s']} s ; appels Pandoc + Typst nus : "
            f"{result['bare_pandoc_typst_median_s']} s ; surcoût {result['overhead_pct']} % "
            f"(objectif < 25 %) ; avec 4 conversions simultanées : "
            f"{result['assemble_4_workers_median_s']} s"
        )


if __name__ == "__main__":
    main()
