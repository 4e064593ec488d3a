"""Benchmark: reading pieces into the document model (tasks/dossier/blocks.py).

Figures printed (one core: run it with ``taskset -c 0`` to pin it):

* cold parse of the visible AMF DCE (../shared/cases/real/amf-2022-011-sharepoint: RC +
  CCAP + CCTP, 93 PDF pages), in a fresh process (imports included) and in-process
  without any cache — target ≤ 5 s;
* warm reads: from the in-memory cache, and from the disk cache (JSON by SHA-256 under
  the cache folder of the settings) in a fresh process;
* the table detectors alone on the AMF pages: ruled (PDFium path objects,
  tasks/dossier/pdftables.py) and without rules (aligned text, tasks/dossier/pdfgrid.py),
  per page;
* every real piece of ../shared/cases/real by format: pages/paragraphs, blocks,
  headings, tables (a table continued over pages counts once), time, pages flagged
  « texte non fiable » (0 expected);
* a 300-page PDF generated with Typst (bad-input budget): time and peak memory;
* small inputs (pre-commit budget): a Markdown dossier of three 20 KB pieces read cold and
  again (in-memory cache) — target < 0.1 s warm — and ``fold`` per line — target ≤ 25 µs.

Usage::

    python bench/reading.py [--runs 3] [--no-large]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "cases" / "real"
AMF = REAL / "amf-2022-011-sharepoint"
sys.path.insert(0, str(ROOT))

CHILD = """
import sys, time
t = time.perf_counter()
from pathlib import Path
from tasks.dossier.parse import read_model
for f in sorted(Path(sys.argv[1]).iterdir()):
    if f.suffix.lower() == ".pdf":
        read_model(f.name, f.read_bytes(), cache=sys.argv[2] == "1", cache_dir=Path(sys.argv[3]))
print(time.perf_counter() - t)
"""


def _child(cache: bool, cache_dir: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(AMF), "1" if cache else "0", str(cache_dir)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return float(out.stdout.strip().splitlines()[-1])


def amf(runs: int) -> None:
    from tasks.dossier.parse import clear_memory_cache, read_model

    files = sorted(f for f in AMF.iterdir() if f.suffix.lower() == ".pdf")
    data = [(f.name, f.read_bytes()) for f in files]
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        fresh = [_child(False, cache_dir) for _ in range(runs)]
        cold = []
        for _ in range(runs):
            clear_memory_cache()
            t = time.perf_counter()
            models = [read_model(n, d, cache=False) for n, d in data]
            cold.append(time.perf_counter() - t)
        pages = sum(m.pages or 0 for m in models)
        words = sum(len(b.text.split()) for m in models for b in m.blocks)
        for n, d in data:  # fill the memory and disk caches
            read_model(n, d, cache_dir=cache_dir)
        t = time.perf_counter()
        for n, d in data:
            read_model(n, d, cache_dir=cache_dir)
        memory = time.perf_counter() - t
        disk = [_child(True, cache_dir) for _ in range(runs)]
    print(f"AMF 2022-011 (RC + CCAP + CCTP) : {pages} pages, {words} mots")
    print(f"  lecture à froid, processus neuf (imports compris) : {statistics.median(fresh):.2f} s")
    print(
        f"  lecture à froid, sans cache                       : {statistics.median(cold):.2f} s"
        "  (objectif ≤ 5 s)"
    )
    print(f"  cache disque, processus neuf (imports compris)    : {statistics.median(disk):.2f} s")
    print(f"  cache mémoire                                     : {memory * 1000:.2f} ms")


def table_cost() -> None:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    from tasks.dossier.pdfgrid import page_grid_tables
    from tasks.dossier.pdftables import page_tables

    ruled_s = grid_s = 0.0
    pages = found_ruled = found_grid = 0
    for f in sorted(AMF.iterdir()):
        if f.suffix.lower() != ".pdf":
            continue
        pdf = pdfium.PdfDocument(f.read_bytes())
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            t = time.perf_counter()
            ruled = page_tables(page, textpage)
            t2 = time.perf_counter()
            grid = page_grid_tables(raw, textpage, ruled)
            grid_s += time.perf_counter() - t2
            ruled_s += t2 - t
            pages += 1
            found_ruled += len(ruled)
            found_grid += len(grid)
        pdf.close()
    print(
        f"  tableaux (par page) : réglés {ruled_s / pages * 1000:.1f} ms ({found_ruled}), "
        f"sans règles {grid_s / pages * 1000:.1f} ms ({found_grid})"
    )
    import typst

    cells = ", ".join(f"[R{r}C{c}]" for r in range(70) for c in range(10))
    src = (
        "#set page(width: 40cm, height: 60cm)\n#set text(size: 8pt)\n"
        f"#table(columns: 10, stroke: none, inset: 4pt, {cells})"
    )
    pdf = pdfium.PdfDocument(typst.compile(src.encode()))
    textpage = pdf[0].get_textpage()
    t = time.perf_counter()
    (dense,) = page_grid_tables(raw, textpage, [])
    print(
        f"  page d'un tableau sans règles de {len(dense.rows)} × {len(dense.rows[0])} : "
        f"{(time.perf_counter() - t) * 1000:.0f} ms"
    )


def real_pieces() -> None:
    from tasks.dossier.parse import format_of, read_model

    print("Pièces réelles (../shared/cases/real) :")
    flagged = 0
    for f in sorted(REAL.rglob("*")):
        if not f.is_file() or format_of(f.name) is None or f.parent == REAL:
            continue
        t = time.perf_counter()
        m = read_model(f.name, f.read_bytes(), cache=False)
        dt = time.perf_counter() - t
        flagged += len(m.unreliable_pages())
        size = f"{m.pages} p." if m.pages else f"{len(m.blocks)} blocs"
        tables = sum(b.kind == "table" for b in m.blocks)
        print(
            f"  {f.parent.name[:22]:22} {f.name[:34]:34} {m.format:4} {size:>10} "
            f"{len(m.headings()):4} titres {tables:3} tabl. {dt:6.2f} s  "
            f"non fiables : {m.unreliable_pages()}"
        )
    print(f"  pages signalées « texte non fiable » : {flagged} (attendu : 0)")


def large_pdf(pages: int = 300) -> None:
    import typst

    from tasks.dossier.parse import read_model

    sentences = [
        "Le titulaire exécute les prestations conformément au présent cahier.",
        "Il remet chaque mois un rapport d'activité détaillé au pouvoir adjudicateur.",
        "Les pénalités sont appliquées sans mise en demeure préalable.",
        "La réception est prononcée après vérification de service régulier.",
        "Les prix sont révisés annuellement selon l'indice Syntec.",
        "Le titulaire garantit la reprise des données en fin de marché.",
        "Les livrables sont fournis dans des formats ouverts et documentés.",
    ]
    titles = ["Exécution des prestations", "Pénalités", "Réception", "Prix", "Garanties"]
    src = [
        '#set page(header: [CCAP — Accord-cadre 2026-014], numbering: "1")',
        '#set text(lang: "fr")',
    ]
    for i in range(1, pages + 1):
        body = " ".join(sentences[(i + k) % 7] for k in range(14))
        src.append(f"= Article {i} - {titles[i % 5]}\n{body}\n#pagebreak()")
    pdf = typst.compile("\n".join(src).encode())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    m = read_model("pieces/ccap-300.pdf", pdf, cache=False)
    dt = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"PDF de {m.pages} pages ({len(pdf) / 1e6:.1f} Mo) : {dt:.2f} s, "
        f"{len(m.headings())} titres, mémoire de pointe +{(after - before) / 1024:.0f} Mo"
    )


def small_inputs() -> None:
    from tasks.dossier.normalize import fold, normalize_text
    from tasks.dossier.reader import read_dossier

    example = ROOT / "tenders" / "2026-CD33-PC-001"
    body = (example / "pieces" / "ccap.md").read_text(encoding="utf-8")
    body = body * max(1, 20_000 // max(1, len(body)))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dce"
        (root / "pieces").mkdir(parents=True)
        (root / "tender.yaml").write_bytes((example / "tender.yaml").read_bytes())
        for i in range(3):
            (root / "pieces" / f"CCTP{i}.md").write_text(body, encoding="utf-8")
        t = time.perf_counter()
        read_dossier(root)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        read_dossier(root)
        warm = time.perf_counter() - t
    print(
        f"Dossier Markdown 3 × {len(body) // 1000} Ko : lecture {cold * 1000:.0f} ms, "
        f"relecture {warm * 1000:.1f} ms (objectif < 100 ms)"
    )
    line = normalize_text("Le titulaire s’engage à réaliser 35 heures d’insertion par tranche.")
    t = time.perf_counter()
    for _ in range(20_000):
        fold(line)
    print(f"fold : {(time.perf_counter() - t) / 20_000 * 1e6:.1f} µs par ligne (objectif ≤ 25 µs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-large", action="store_true")
    args = ap.parse_args()
    small_inputs()
    if not AMF.is_dir():
        raise SystemExit("../shared/cases/real absent : rien à mesurer")
    amf(args.runs)
    table_cost()
    real_pieces()
    if not args.no_large:
        large_pdf()


if __name__ == "__main__":
    main()
