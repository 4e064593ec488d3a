"""Benchmark: a full DCE assembly vs the bare Pandoc and Typst calls on the same inputs,
then the accessibility validators on what was written.

« Full » is :func:`tasks.publish.assemble.assemble` on the example dossier as a draft
(``--draft``: the bundled example's reviews are pending, and a draft does the same
conversions plus the « PROJET » watermark): check, Jinja2 rendering, bidder guide, one
Pandoc parse, sanitising, typography, images and formulas with their alternatives,
DOCX/ODT/HTML/Typst writing, both PDFs (PDF/UA-1 and PDF/A-2b) in one Typst child
process, zip normalisation, manifest and zip. « Bare » is, on the same rendered Markdown
(guide included), only ``pandoc --sandbox`` to docx, odt, html (standalone, MathML) and
typst (standalone), then the same two ``typst.compile`` calls in process: the part
cahier cannot remove. Both run sequentially (one worker), alternating, in the same
process; the validators are excluded from both timings (goal: overhead ≤ 25 %).

Then every output is audited once (tasks/publish/validators.py): axe-core (tags
wcag2a, wcag2aa, wcag21a, wcag21aa) in Debian's headless Chromium for HTML, pdfua and
cahier's structure checks for PDF, cahier's DOCX/ODT checker; the rules run, pages
audited and violations are printed.

Usage::

    python bench/assemble.py [--runs 5] [--dossier tenders/2026-CD33-PC-001] [--json]
                             [--no-validators]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.clausier.library import load_clausier  # noqa: E402
from tasks.dossier.reader import read_dossier  # noqa: E402
from tasks.publish.assemble import assemble, bidder_guide, render_pieces  # noqa: E402


def bare(markdowns: list[str], tmp: Path) -> None:
    """Pandoc to the four formats and the two Typst compilations, nothing else."""
    import pypandoc
    import typst

    exe = pypandoc.get_pandoc_path()
    for i, md in enumerate(markdowns):
        data = md.encode("utf-8")
        for args in (
            ["-t", "docx", "-o", "-"],
            ["-t", "odt", "-o", "-"],
            ["-t", "html5", "-s", "--mathml", "-M", "title=x", "-M", "lang=fr"],
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


def validate(out: Path) -> dict:
    """Every validator on every output: per validator, files, rules, pages, violations."""
    from tasks.publish.validators import audit_outputs

    figures: dict[str, dict] = defaultdict(
        lambda: {"files": 0, "rules": 0, "pages": 0, "violations": 0, "skipped": []}
    )
    start = time.perf_counter()
    for a in audit_outputs(out):
        f = figures[a.validator]
        f["files"] += 1
        f["rules"] = max(f["rules"], a.rules)
        f["pages"] += a.pages
        f["violations"] += len(a.violations)
        f["skipped"] = sorted(set(f["skipped"]) | {s.split(" ", 1)[0] for s in a.skipped})
    return {"seconds": round(time.perf_counter() - start, 1), "validators": dict(figures)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dossier", default=str(ROOT / "tenders" / "2026-CD33-PC-001"))
    parser.add_argument("--json", action="store_true", help="résultat en JSON")
    parser.add_argument(
        "--no-validators", action="store_true", help="mesurer sans lancer les validateurs"
    )
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
        out = area / "out"

        def full(workers: int = 1) -> None:
            assemble(
                read_dossier(args.dossier), lib, out, draft=True, allowed_root=area, workers=workers
            )

        bare(markdowns, area)  # warm-up
        full()
        for _ in range(args.runs):
            s = time.perf_counter()
            full()
            t_full.append(time.perf_counter() - s)
            s = time.perf_counter()
            bare(markdowns, area)
            t_bare.append(time.perf_counter() - s)
            s = time.perf_counter()
            full(workers=4)
            t_par.append(time.perf_counter() - s)
        audit = None if args.no_validators else validate(out)
    full_s, floor = statistics.median(t_full), statistics.median(t_bare)
    result = {
        "dossier": args.dossier,
        "documents": len(markdowns),
        "runs": args.runs,
        "assemble_median_s": round(full_s, 3),
        "bare_pandoc_typst_median_s": round(floor, 3),
        "ratio": round(full_s / floor, 3),
        "overhead_pct": round(100 * (full_s - floor) / floor, 1),
        "assemble_4_workers_median_s": round(statistics.median(t_par), 3),
        "audit": audit,
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(
        f"Assemblage complet : {result['assemble_median_s']} s ; appels Pandoc + Typst nus : "
        f"{result['bare_pandoc_typst_median_s']} s ; rapport {result['ratio']} — surcoût "
        f"{result['overhead_pct']} % (objectif ≤ 25 %, validateurs exclus) ; avec 4 conversions "
        f"simultanées : {result['assemble_4_workers_median_s']} s"
    )
    if audit:
        print(f"Validateurs ({audit['seconds']} s, hors mesure) :")
        for name, f in audit["validators"].items():
            skipped = (
                f" ; règle(s) non évaluée(s) par l'outil : {', '.join(f['skipped'])}"
                if f["skipped"]
                else ""
            )
            print(
                f"  {name} : {f['files']} fichier(s), {f['rules']} règles, {f['pages']} page(s) "
                f"auditée(s), {f['violations']} violation(s){skipped}"
            )


if __name__ == "__main__":
    main()
