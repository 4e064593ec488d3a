"""Recognition benchmark: the checker's evidence against a human reader's labels.

For every document of ``../shared/cases/real/labels.yaml``:

* a DCE case (``kind: dce``) is checked as a dossier: ``tests/real_cases/<case>/tender.yaml``
  plus the real pieces (copied into a temporary folder, never into the project); a family
  is *found* when its status is present, edited or hand-written;
* a clause bank (``kind: clause_bank``, the MiNumEco guides) is read as a single piece and
  every clause's evidence is applied with its piece filter removed (a guide is neither a
  RC nor a CCTP).

Labels marked ``uncertain: true`` are left out. Per family and overall: true positives,
false positives, false negatives, precision = TP / (TP + FP), recall = TP / (TP + FN).

Usage::

    python bench/recognition.py [--json] [--details]

Exit code 2 when ../shared/cases/real is absent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

SHARED_CASES = ROOT.parent / "shared" / "cases"
LABELS = SHARED_CASES / "real" / "labels.yaml"
REAL_TENDERS = ROOT / "tests" / "real_cases"

__all__ = ["Score", "measure", "predictions"]


@dataclass
class Score:
    """Counts for one family (or the total) and the documents behind each error."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    fp_docs: list[str] = field(default_factory=list)
    fn_docs: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _dce_found(case: str, entry: dict, shared: Path) -> set[str]:
    """Families the checker finds in a real DCE read as a dossier."""
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.model import FamilyStatus
    from tasks.dossier.reader import read_dossier

    tender = REAL_TENDERS / case / "tender.yaml"
    if not tender.is_file():
        raise SystemExit(f"tender.yaml manquant pour le cas {case} : {tender}")
    with tempfile.TemporaryDirectory() as tmp:
        dossier = Path(tmp) / case
        (dossier / "pieces").mkdir(parents=True)
        shutil.copyfile(tender, dossier / "tender.yaml")
        for rel in entry.get("pieces", []):
            src = shared / rel
            if src.is_file():
                shutil.copyfile(src, dossier / "pieces" / src.name)
        report = check_dossier(read_dossier(dossier), load_clausier())
    found = (FamilyStatus.present, FamilyStatus.edited, FamilyStatus.hand_written)
    return {f.clause for f in report.families if f.status in found}


def _bank_found(entry: dict, shared: Path) -> set[str]:
    """Families whose evidence (piece filter removed) matches a clause bank."""
    from tasks.clausier.evidence import find_evidence
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_piece

    out: set[str] = set()
    lib = load_clausier()
    for rel in entry.get("pieces", []):
        src = shared / rel
        piece = read_piece(src.name, src.read_bytes(), kind="autre")
        for cid, clause in lib.clauses.items():
            evidence = clause.evidence.model_copy(update={"pieces": []})
            if find_evidence([piece], evidence, limit=1):
                out.add(cid)
    return out


def predictions(shared: Path = SHARED_CASES) -> dict[str, tuple[set[str], dict]]:
    """``{document: (families found, labels of the document)}`` for every labelled case."""
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))["cases"]
    out: dict[str, tuple[set[str], dict]] = {}
    for case, entry in labels.items():
        if entry.get("kind") == "dce":
            found = _dce_found(case, entry, shared)
        else:
            found = _bank_found(entry, shared)
        out[case] = (found, entry.get("families", {}))
    return out


def measure(shared: Path = SHARED_CASES) -> tuple[dict[str, Score], Score]:
    """Per-family scores and the overall score, uncertain labels excluded."""
    per: dict[str, Score] = {}
    total = Score()
    for doc, (found, families) in predictions(shared).items():
        for cid, label in families.items():
            if label.get("uncertain"):
                continue
            s = per.setdefault(cid, Score())
            truth, pred = bool(label.get("present")), cid in found
            if truth and pred:
                s.tp += 1
                total.tp += 1
            elif pred:
                s.fp += 1
                total.fp += 1
                s.fp_docs.append(doc)
            elif truth:
                s.fn += 1
                total.fn += 1
                s.fn_docs.append(doc)
    return dict(sorted(per.items())), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="résultat en JSON")
    parser.add_argument("--details", action="store_true", help="documents en erreur")
    args = parser.parse_args()
    if not LABELS.is_file():
        print(f"étiquettes introuvables : {LABELS}", file=sys.stderr)
        raise SystemExit(2)
    per, total = measure()
    if args.json:
        rows = {
            cid: {"tp": s.tp, "fp": s.fp, "fn": s.fn, "precision": s.precision, "recall": s.recall}
            for cid, s in per.items()
        }
        rows["TOTAL"] = {
            "tp": total.tp,
            "fp": total.fp,
            "fn": total.fn,
            "precision": total.precision,
            "recall": total.recall,
        }
        print(json.dumps(rows, indent=2))
        return
    print(f"{'famille':18} {'VP':>3} {'FP':>3} {'FN':>3} {'précision':>9} {'rappel':>7}")
    for cid, s in per.items():
        line = f"{cid:18} {s.tp:3} {s.fp:3} {s.fn:3} {s.precision:9.2f} {s.recall:7.2f}"
        if args.details and (s.fp_docs or s.fn_docs):
            line += f"  FP={s.fp_docs} FN={s.fn_docs}"
        print(line)
    print(
        f"{'TOTAL':18} {total.tp:3} {total.fp:3} {total.fn:3} "
        f"{total.precision:9.2f} {total.recall:7.2f}"
    )
    print(
        "(étiquettes incertaines exclues ; VP/FP/FN : vrais positifs, faux positifs, faux négatifs)"
    )


if __name__ == "__main__":
    main()
