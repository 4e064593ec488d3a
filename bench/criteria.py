"""Criteria and import benchmark: award criteria and tender.yaml metadata against the labels.

For every case of ``../shared/cases/real/labels.yaml`` and ``labels-more.yaml`` whose
``criteria`` list is not empty, the pieces are read (:func:`tasks.check.criteria.read_criteria`)
and the set that best matches the labels is scored:

* **names**: a labelled criterion is found when a read criterion's folded name shares
  ≥ 60 % of its words (« (unnamed in RC) » labels: matched by position);
* **weights**: the top-level weight equals the label's (« 70 % », « 10% minimum »; a
  placeholder « …% », « X% » must be read as *no* weight);
* **sub-weights**: each sub-criterion's weight in % of the total equals the label's
  (``global_equivalent`` when the label gives one, else its weight);
* **units**: the written unit (« % », « sur 100 ») agrees with the label's ``unit``;
* **lots**: per-lot criteria (``per_lot_criteria``) — no labelled case has lots yet.

A document is *exact* when every weight and sub-weight is. Then every DCE of
``labels-more.yaml`` with a ``metadata`` block is imported (``cahier import`` into a
temporary folder) and each field the pieces state (label value not null) is compared with
the drafted tender.yaml: buyer name, SIRET, objet, CPV, procedure, maximum amount,
duration, CCAG, offer deadline, launch date, lots. Fields the labels mark null count as
*spurious* when the draft fills them.

Usage::

    python bench/criteria.py [--json] [--details]

``bench/recognition.py`` prints these figures too. Exit code 2 when the labels are absent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED_CASES = ROOT.parent / "shared" / "cases"
LABEL_FILES = ("labels.yaml", "labels-more.yaml")

__all__ = ["CriteriaScore", "MetadataScore", "measure_criteria", "measure_metadata"]


@dataclass
class CriteriaScore:
    """Counts over the labelled criteria; ``docs_exact`` / ``docs`` documents exact."""

    docs: int = 0
    docs_exact: int = 0
    names: int = 0
    names_ok: int = 0
    weights: int = 0
    weights_ok: int = 0
    subs: int = 0
    subs_ok: int = 0
    units: int = 0
    units_ok: int = 0
    lots: int = 0
    lots_ok: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def weight_rate(self) -> float:
        return self.docs_exact / self.docs if self.docs else 1.0


@dataclass
class MetadataScore:
    """Fields stated in the pieces and equal in the draft; spurious values."""

    stated: int = 0
    equal: int = 0
    spurious: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.equal / self.stated if self.stated else 1.0


def _fold(s: str) -> str:
    from tasks.dossier.normalize import fold

    return fold(s)


def _words(s: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", _fold(s)) if len(w) > 2}


def _label_weight(w: object) -> float | None:
    """« 70 % », « 10% minimum * », « 50 » → number; « …% », « X% » → None."""
    m = re.search(r"\d+(?:[.,]\d+)?", str(w))
    return float(m.group(0).replace(",", ".")) if m else None


def _unit_kind(unit: str | None) -> str | None:
    if not unit:
        return None
    u = _fold(unit)
    if "sur 100" in u or "/100" in u:
        return "sur 100"
    if "point" in u:
        return "points"
    if "coef" in u:
        return "coefficient"
    if "%" in u:
        return "%"
    return None


def _cases(shared: Path) -> list[tuple[str, dict]]:
    out = []
    for name in LABEL_FILES:
        path = shared / "real" / name
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            out.extend((case, entry) for case, entry in (data.get("cases") or {}).items())
    return out


def _read_sets(entry: dict, shared: Path):
    from tasks.check.criteria import read_criteria
    from tasks.dossier.reader import read_piece

    pieces = []
    for rel in entry.get("pieces", []):
        p = shared / rel
        piece = read_piece(p.name, p.read_bytes())
        if entry.get("kind") != "dce":
            piece.kind = "avis"  # a clause bank is read as a whole
        pieces.append(piece)
    return read_criteria(pieces)


def _name_ok(label: str, read: str) -> bool:
    if label.startswith("(unnamed"):
        return True
    label = re.sub(r"\([^)]*\)", "", label)  # « (critère d'évaluation des offres) »
    lw, rw = _words(re.sub(r"^(?:sous-)?crit[eè]re \d+ ?: ?", "", label, flags=re.I)), _words(read)
    return bool(lw) and len(lw & rw) >= 0.6 * len(lw)


def _score_set(labels: list[dict], cs) -> tuple[dict[str, tuple[int, int]], bool]:
    """(counts per aspect: (labelled, ok)), exact."""
    counts = {k: [0, 0] for k in ("names", "weights", "subs", "units")}
    read = list(cs.criteres) if cs else []
    exact = True
    for i, lab in enumerate(labels):
        match = next((c for c in read if _name_ok(lab["name"], c.nom)), None)
        if match is None and i < len(read) and lab["name"].startswith("(unnamed"):
            match = read[i]
        counts["names"][0] += 1
        counts["weights"][0] += 1
        if match is not None:
            counts["names"][1] += 1
        want = _label_weight(lab.get("weight"))
        got = match.poids if match is not None else None
        ok = match is not None and (
            (want is None and got is None)
            or (want is not None and got is not None and abs(want - got) < 0.01)
        )
        counts["weights"][1] += ok
        exact &= ok
        if lab.get("unit"):
            counts["units"][0] += 1
            counts["units"][1] += match is not None and _unit_kind(lab["unit"]) == _unit_kind(
                match.unite
            )
        subs = lab.get("sub") or []
        for j, sl in enumerate(subs):
            counts["subs"][0] += 1
            want = _label_weight(sl.get("global_equivalent") or sl.get("weight"))
            cand = None
            if match is not None and not sl["name"].startswith("(unnamed"):
                cand = next((s for s in match.sous if _name_ok(sl["name"], s.nom)), None)
            if match is not None and cand is None and j < len(match.sous):
                cand = match.sous[j]
            ok = (
                cand is not None
                and cand.poids is not None
                and want is not None
                and abs(cand.poids - want) < 0.01
            )
            counts["subs"][1] += ok
            exact &= ok
            if sl.get("unit"):
                counts["units"][0] += 1
                counts["units"][1] += cand is not None and _unit_kind(sl["unit"]) == _unit_kind(
                    cand.unite
                )
        if match is not None and len(match.sous) != len(subs):
            exact = False
    return {k: (v[0], v[1]) for k, v in counts.items()}, exact


def measure_criteria(shared: Path = SHARED_CASES) -> CriteriaScore:
    """Score the criteria of every labelled case (see the module docstring)."""
    score = CriteriaScore()
    for case, entry in _cases(shared):
        labels = entry.get("criteria") or []
        if not labels:
            continue
        sets = _read_sets(entry, shared)
        best, best_counts, best_exact = None, None, False
        for cs in sets or [None]:
            counts, exact = _score_set(labels, cs)
            key = (exact, counts["weights"][1] + counts["subs"][1], counts["names"][1])
            if best_counts is None or key > best[0]:
                best, best_counts, best_exact = (key, cs), counts, exact
        score.docs += 1
        score.docs_exact += best_exact
        for k, attr in (
            ("names", "names"),
            ("weights", "weights"),
            ("subs", "subs"),
            ("units", "units"),
        ):
            setattr(score, attr, getattr(score, attr) + best_counts[k][0])
            setattr(score, attr + "_ok", getattr(score, attr + "_ok") + best_counts[k][1])
        per_lot = entry.get("per_lot_criteria")
        if per_lot:
            score.lots += len(per_lot)
            lots_read = {cs.lot for cs in sets if cs.lot is not None}
            score.lots_ok += sum(1 for lot in per_lot if int(_label_weight(lot) or -1) in lots_read)
        if not best_exact:
            score.errors.append(case)
    return score


# --------------------------------------------------------------------------- metadata


def _months(text: str) -> set[int]:
    words = {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6}
    out: set[int] = set()
    for n, unit in re.findall(
        r"(\d+|\b(?:un|une|deux|trois|quatre|cinq|six)\b)[- ]?(years?|ans?|annees?|months?|mois)",
        _fold(text),
    ):
        v = int(n) if n.isdigit() else words[n]
        out.add(v if unit.startswith(("month", "mois")) else 12 * v)
    return out


def _compare(field_: str, label: object, draft: dict) -> bool | None:
    """True/False when the label states the field; None when not comparable."""
    lab = str(label)
    if field_ == "buyer":
        got = (draft.get("acheteur") or {}).get("nom") or ""
        gw, lw = _words(got), _words(lab)
        return bool(gw) and len(gw & lw) >= 0.6 * len(gw)
    if field_ == "siret":
        return re.sub(r"\D", "", lab) == str((draft.get("acheteur") or {}).get("id") or "")
    if field_ == "object":
        got = _words(draft.get("objet") or "")
        lw = _words(lab)
        return bool(got) and len(got & lw) >= 0.8 * len(lw)
    if field_ == "cpv":
        return re.sub(r"\D", "", lab)[:8] == str(draft.get("codeCPV") or "")[:8]
    if field_ == "procedure":
        return bool(draft.get("procedure")) and _fold(draft["procedure"]) in _fold(lab)
    if field_ == "amount":
        return draft.get("montant") is not None and abs(float(draft["montant"]) - float(label)) < 1
    if field_ == "duration":
        return draft.get("dureeMois") in _months(lab)
    if field_ == "ccag":
        got = _fold(draft.get("ccag") or "")
        return ("tic" in _fold(lab) and "information" in got) or (bool(got) and got in _fold(lab))
    if field_ == "deadline":
        return str(draft.get("dateLimiteOffres") or "") == lab[:10]
    if field_ == "launch_date":
        return str(draft.get("dateLancement") or "") == lab[:10]
    if field_ == "lots":
        got = draft.get("lots")
        if re.search(r"\bnone\b|single lot|non allotie?", _fold(lab)):
            return got == []
        n = len(re.findall(r"\blot \d+", _fold(lab)))
        return bool(got) and (n == 0 or len(got) == n)
    return None


_FIELDS = {
    "buyer": ("buyer",),
    "siret": ("siret",),
    "object": ("object",),
    "cpv": ("cpv",),
    "procedure": ("procedure",),
    "amount": ("amount", "maximum_eur_ht"),
    "duration": ("duration",),
    "ccag": ("ccag",),
    "deadline": ("deadline",),
    "launch_date": ("launch_date",),
    "lots": ("lots",),
}
_DRAFT_KEYS = {
    "buyer": lambda d: (d.get("acheteur") or {}).get("nom"),
    "siret": lambda d: (d.get("acheteur") or {}).get("id"),
    "object": lambda d: d.get("objet"),
    "cpv": lambda d: d.get("codeCPV"),
    "procedure": lambda d: d.get("procedure"),
    "amount": lambda d: d.get("montant"),
    "duration": lambda d: d.get("dureeMois"),
    "ccag": lambda d: d.get("ccag"),
    "deadline": lambda d: d.get("dateLimiteOffres"),
    "launch_date": lambda d: d.get("dateLancement"),
    "lots": lambda d: d.get("lots") if d.get("lots") else None,
}


def _label_value(meta: dict, path: tuple[str, ...]) -> object:
    cur: object = meta
    for k in path:
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur.get("value") if isinstance(cur, dict) else cur


def measure_metadata(shared: Path = SHARED_CASES) -> MetadataScore:
    """Import every labelled DCE and compare the drafted tender.yaml with the labels."""
    from tasks.drafting.importer import import_dce

    score = MetadataScore()
    for case, entry in _cases(shared):
        meta = entry.get("metadata")
        if not meta or entry.get("kind") not in ("dce", "template"):
            continue
        files = [shared / rel for rel in entry.get("pieces", [])]
        with tempfile.TemporaryDirectory() as tmp:
            result = import_dce(files, "BENCH", tmp)
            draft = yaml.safe_load(result.tender_yaml) or {}
        for name, path in _FIELDS.items():
            label = _label_value(meta, path)
            value = _DRAFT_KEYS[name](draft)
            if label is None or re.fullmatch(r"(?:xx+|.*placeholder.*)", _fold(str(label))):
                if label is None and value not in (None, [], ""):
                    score.spurious += 1
                    score.errors.append(f"{case}: {name} rempli ({value!r}) mais non énoncé")
                continue
            score.stated += 1
            ok = _compare(name, label, draft)
            score.equal += bool(ok)
            if not ok:
                score.errors.append(f"{case}: {name} = {value!r}, étiquette {str(label)[:80]!r}")
    return score


def report(shared: Path = SHARED_CASES) -> dict:
    """Both scores as a dict (for --json and bench/recognition.py)."""
    c = measure_criteria(shared)
    m = measure_metadata(shared)
    return {
        "criteria": {
            "documents": c.docs,
            "documents_exact": c.docs_exact,
            "names": [c.names_ok, c.names],
            "weights": [c.weights_ok, c.weights],
            "sub_weights": [c.subs_ok, c.subs],
            "units": [c.units_ok, c.units],
            "lots": [c.lots_ok, c.lots],
            "not_exact": c.errors,
        },
        "metadata": {
            "stated": m.stated,
            "equal": m.equal,
            "rate": m.rate,
            "spurious": m.spurious,
            "errors": m.errors,
        },
    }


def print_report(data: dict, details: bool = False) -> None:
    c, m = data["criteria"], data["metadata"]
    print(
        f"critères : {c['documents_exact']}/{c['documents']} documents aux pondérations exactes ; "
        f"noms {c['names'][0]}/{c['names'][1]}, poids {c['weights'][0]}/{c['weights'][1]}, "
        f"sous-poids {c['sub_weights'][0]}/{c['sub_weights'][1]}, unités {c['units'][0]}/{c['units'][1]}, "
        f"lots {c['lots'][0]}/{c['lots'][1]}"
    )
    print(
        f"import : {m['equal']}/{m['stated']} champs énoncés égaux aux étiquettes "
        f"({m['rate']:.0%}), {m['spurious']} valeur(s) remplie(s) sans être énoncée(s)"
    )
    if details:
        for e in c["not_exact"]:
            print(f"  critères inexacts : {e}")
        for e in m["errors"]:
            print(f"  import : {e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="résultat en JSON")
    parser.add_argument("--details", action="store_true", help="écarts")
    args = parser.parse_args()
    if not (SHARED_CASES / "real" / "labels.yaml").is_file():
        print(f"étiquettes introuvables : {SHARED_CASES / 'real'}", file=sys.stderr)
        raise SystemExit(2)
    data = report()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print_report(data, args.details)


if __name__ == "__main__":
    main()
