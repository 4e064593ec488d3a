"""Recognition benchmark: the clausier's evidence against a careful reader's labels.

Reads ``../shared/cases/real/labels.yaml`` and ``labels-more.yaml``. Every labelled
document is read with the project's reader (kind from the file name, as ``cahier check``
does; a clause bank's pages are read as kind ``autre``) and every family's evidence is
applied to all its pieces with :class:`tasks.clausier.recognition.Recognizer` — the
engine ``cahier check`` uses. A family is *found* when it has at least one hit.

Figures (labels marked ``uncertain: true`` are left out):

* per family and overall: true/false positives, false negatives, precision, recall;
* location: for each true positive, whether the best hit is on the page (PDF), line
  (Markdown, the hit's block contains the line; when the label cites an article heading,
  a block of that article) or paragraph (DOCX/ODT) of one of the label's supporting
  evidence items;
* speed: reading (cold) and recognition on the read pieces (warm), per document;
* perturbations (``--perturb``): every supporting evidence quote of a present family is
  altered — one inserted adjective, a gender/number change, an abbreviation, a synonym,
  one typo, the heading renumbered in five styles — inside its own section of the real
  document; recall = altered sections still recognised / sections recognised unaltered.

Usage::

    python bench/recognition.py [--json] [--details] [--perturb]

Exit code 2 when ../shared/cases/real is absent.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

SHARED_CASES = ROOT.parent / "shared" / "cases"
LABEL_FILES = ("labels.yaml", "labels-more.yaml")

__all__ = ["Score", "measure", "perturbation_recall"]


@dataclass
class Score:
    """Counts for one family (or the total) and the documents behind each error."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    located: int = 0  # true positives whose best hit is where a label points
    strict: int = 0  # … on the labelled line itself (a cited heading's article not counted)
    locatable: int = 0  # true positives whose labels give a comparable location
    fp_docs: list[str] = field(default_factory=list)
    fn_docs: list[str] = field(default_factory=list)
    misplaced: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def location(self) -> float:
        return self.located / self.locatable if self.locatable else 1.0


def load_labels(shared: Path = SHARED_CASES) -> dict[str, dict]:
    """``{case: entry}`` from both label files (a later file adds cases)."""
    out: dict[str, dict] = {}
    for name in LABEL_FILES:
        path = shared / "real" / name
        if path.is_file():
            out.update(yaml.safe_load(path.read_text(encoding="utf-8"))["cases"])
    return out


def read_case(entry: dict, shared: Path) -> tuple[list, float]:
    """The case's pieces read by the project's reader, and the reading time (s) of the
    first (cold) reading; later calls reuse the pieces."""
    key = (str(shared), entry.get("kind"), tuple(entry.get("pieces", [])))
    got = _READ.get(key)
    if got is None:
        got = _READ[key] = _read_case(entry, shared)
    return got


_READ: dict[tuple, tuple[list, float]] = {}


def _read_case(entry: dict, shared: Path) -> tuple[list, float]:
    from tasks.dossier.reader import piece_kind, read_piece

    bank = entry.get("kind") == "clause_bank"
    pieces = []
    t0 = time.perf_counter()
    for rel in entry.get("pieces", []):
        src = shared / rel
        if not src.is_file() or src.suffix.lower() in (".xlsx", ".json"):
            continue
        kind = "autre" if bank else piece_kind(src.name)
        pieces.append(read_piece(src.name, src.read_bytes(), kind=kind))
    return pieces, time.perf_counter() - t0


def _label_locs(label: dict) -> list[tuple[str, str, int]]:
    """Supporting evidence items as (file name, unit, number): unit L, p or para."""
    out = []
    for ev in label.get("evidence") or []:
        if ev.get("kind"):
            continue  # mention_only, related, context: not where the clause is
        name = Path(ev.get("file", "")).name
        loc = str(ev.get("loc", ""))
        m = re.match(r"(L|p\.|para )(\d+)", loc)
        if m:
            out.append((name, m.group(1).strip(". "), int(m.group(2))))
        if ev.get("pdf_page") and not loc.startswith("p."):
            out.append((name, "page-md", int(ev["pdf_page"])))
    return out


def _in_labelled_article(hit, src_line: int) -> bool:
    """The label cites an article heading (line ``src_line``) and the hit is a block of
    that article (or of one of its sub-articles): the label points at the article."""
    piece = hit.piece
    for si, sec in enumerate(piece.sections):
        if piece.lines[sec.line_index].src_line != src_line:
            continue
        sec_hit = piece.lines[hit.start].section
        if sec_hit == si:
            return True
        # a sub-article: sections after si, deeper, before the next one at si's level
        for sj in range(si + 1, len(piece.sections)):
            if piece.sections[sj].level <= sec.level:
                break
            if sj == sec_hit:
                return True
    return False


def _on_label(hit, locs: list[tuple[str, str, int]], article: bool = True) -> bool | None:
    """True/False when comparable; None when the labels give no comparable unit."""
    piece = hit.piece
    name = Path(piece.path).name
    comparable = False
    lines = piece.lines[hit.start : hit.end + 1]
    for fname, unit, num in locs:
        if fname != name:
            continue
        if unit == "L" and piece.format in ("md", "txt"):
            comparable = True
            if any(ln.src_line == num for ln in lines):
                return True
            if article and _in_labelled_article(hit, num):
                return True
        elif unit == "p" and piece.format == "pdf":
            comparable = True
            if any(ln.page == num for ln in lines):
                return True
        elif unit == "para" and piece.format in ("docx", "odt"):
            # the reader gives DOCX/ODT lines the paragraph index as their line
            comparable = True
            if any(ln.src_line == num for ln in lines):
                return True
    return False if comparable else None


def measure(shared: Path = SHARED_CASES) -> tuple[dict[str, Score], Score, dict]:
    """Per-family scores, the overall score and timings, uncertain labels excluded."""
    from tasks.clausier.library import load_clausier
    from tasks.clausier.recognition import Recognizer

    lib = load_clausier()
    per: dict[str, Score] = {}
    total = Score()
    timings: dict[str, dict[str, float]] = {}
    for doc, entry in load_labels(shared).items():
        pieces, t_read = read_case(entry, shared)
        t0 = time.perf_counter()
        rec = Recognizer(lib.vocabulary)
        rec.prepare(c.evidence for c in lib.clauses.values())  # as cahier check does
        found = {cid: rec.find(pieces, c.evidence) for cid, c in lib.clauses.items()}
        timings[doc] = {
            "read_s": t_read,
            "recognise_s": time.perf_counter() - t0,
            "words": sum(len(ln.text.split()) for p in pieces for ln in p.lines),
        }
        for cid, label in (entry.get("families") or {}).items():
            if label.get("uncertain") or cid not in lib.clauses:
                continue
            s = per.setdefault(cid, Score())
            truth, hits = bool(label.get("present")), found.get(cid) or []
            if truth and hits:
                s.tp += 1
                total.tp += 1
                where = _on_label(hits[0], _label_locs(label))
                if _on_label(hits[0], _label_locs(label), article=False):
                    s.strict += 1
                    total.strict += 1
                if where is not None:
                    s.locatable += 1
                    total.locatable += 1
                    if where:
                        s.located += 1
                        total.located += 1
                    else:
                        h = hits[0]
                        ln = h.piece.lines[h.index]
                        s.misplaced.append(
                            f"{doc}@{Path(h.piece.path).name}:{ln.page or ''}/{ln.src_line}"
                        )
            elif hits:
                s.fp += 1
                total.fp += 1
                h = hits[0]
                ln = h.piece.lines[h.index]
                s.fp_docs.append(f"{doc}@{Path(h.piece.path).name}:{ln.page or ''}/{ln.src_line}")
            elif truth:
                s.fn += 1
                total.fn += 1
                s.fn_docs.append(doc)
    return dict(sorted(per.items())), total, timings


# --------------------------------------------------------------------------- perturbations

# Alterations a buyer's own wording brings; the vocabulary used to build them is the
# bench's own (never read by the engine), except the abbreviation and synonym tables,
# which the engine is asked to honour.
_ADJECTIVES = ("nouvelles", "précises", "suivantes", "principales", "contractuelles")
_RENUMBER = (
    "Article {n} : {t}",
    "{n} - {t}",
    "{roman}.{n}) {t}",
    "{n}. {t}",
    "ARTICLE {n} – {t}",
)


def _roman(n: int) -> str:
    vals = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for v, s in vals:
        while n >= v:
            out += s
            n -= v
    return out or "I"


def _perturbations(text: str, vocab, rnd: random.Random) -> dict[str, str]:
    """Altered versions of one quote (only those that change it)."""
    words = text.split(" ")
    out: dict[str, str] = {}
    long_idx = [i for i, w in enumerate(words) if len(w.strip(".,;:()«»")) >= 5]
    # 1. inserted adjective after the first long noun-like word
    if long_idx:
        i = long_idx[0]
        out["adjectif"] = " ".join([*words[: i + 1], rnd.choice(_ADJECTIVES), *words[i + 1 :]])
    # 2. gender / number change: plural ↔ singular on the long words
    alt = []
    for w in words:
        core = w.rstrip(".,;:)")
        tail = w[len(core) :]
        if len(core) >= 5 and core.isalpha():
            if core.endswith("s") and not core.endswith("ss"):
                alt.append(core[:-1] + tail)
            elif core.endswith("e"):
                alt.append(core + "s" + tail)
            else:
                alt.append(core + "s" + tail)
        else:
            alt.append(w)
    if alt != words:
        out["genre-nombre"] = " ".join(alt)
    # 3. abbreviation: an expansion of the clausier's table replaced by its abbreviation
    low = text.lower()
    for abbr, expansion in vocab.abbreviations.items():
        if len(expansion.split()) == 1 and re.search(rf"\b{re.escape(expansion)}\w*", low):
            out["abreviation"] = re.sub(
                rf"(?i)\b{re.escape(expansion)}\w*", abbr.upper() + ".", text, count=1
            )
            break
    # 4. synonym from the clausier's synonym sets
    for group in vocab.synonyms:
        for w in group:
            if re.search(rf"(?i)\b{re.escape(w)}\b", text):
                other = next(x for x in group if x != w)
                out["synonyme"] = re.sub(rf"(?i)\b{re.escape(w)}\b", other, text, count=1)
                break
        if "synonyme" in out:
            break
    # 5. one typo (a letter swapped for another) in the longest word
    if long_idx:
        i = max(long_idx, key=lambda j: len(words[j]))
        w = words[i]
        k = len(w) // 2
        letter = "e" if w[k] != "e" else "a"
        typo = w[:k] + letter + w[k + 1 :]
        out["faute"] = " ".join([*words[:i], typo, *words[i + 1 :]])
    return {k: v for k, v in out.items() if v != text}


def _section_piece(piece, at: int, text: str, heading: str | None):
    """The section of ``piece`` holding line ``at``, as a piece of its own, with that
    line replaced by ``text`` and the heading by ``heading`` (when given)."""
    from tasks.dossier.document import Line, PieceText, Section
    from tasks.dossier.normalize import fold

    sec = piece.lines[at].section
    lines = [ln for ln in piece.lines if ln.section == sec]
    head = piece.sections[sec] if sec >= 0 else None
    new: list[Line] = []
    secs: list[Section] = []
    if head is not None:
        title = heading or piece.lines[head.line_index].text
        new.append(Line(title, fold(title), 1, None, 0))
        secs.append(Section(head.number, head.title, head.level, 0))
    for ln in lines:
        if head is not None and ln is piece.lines[head.line_index]:
            continue
        t = text if ln is piece.lines[at] else ln.text
        new.append(Line(t, fold(t), ln.src_line, ln.page, 0 if secs else -1))
    return PieceText(piece.path, piece.kind, piece.format, new, secs)


def perturbation_recall(shared: Path = SHARED_CASES) -> dict[str, tuple[int, int]]:
    """``{alteration: (recognised, baseline)}`` over every supporting evidence quote.

    For each supporting quote of a present family, the section of the real document
    that holds it is cut out (heading + body, as read by the reader); when the family is
    recognised in that section unaltered (the baseline), the quote is altered in place
    and the section searched again.
    """
    from tasks.clausier.library import load_clausier
    from tasks.clausier.recognition import Recognizer
    from tasks.dossier.document import PieceText
    from tasks.dossier.normalize import fold
    from tasks.dossier.reader import read_piece

    lib = load_clausier()
    vocab = lib.vocabulary
    rnd = random.Random(11)
    counts: dict[str, list[int]] = {}
    for _doc, entry in load_labels(shared).items():
        pieces, _ = read_case(entry, shared)
        by_name = {Path(p.path).name: p for p in pieces}
        for cid, label in (entry.get("families") or {}).items():
            if not label.get("present") or label.get("uncertain") or cid not in lib.clauses:
                continue
            evidence = lib.clauses[cid].evidence
            for ev in label.get("evidence") or []:
                if ev.get("kind") or not ev.get("quote"):
                    continue
                piece = by_name.get(Path(ev.get("file", "")).name)
                if piece is None:
                    continue
                quote = " ".join(str(ev["quote"]).split())
                key = fold(quote[:40])
                at = next((i for i, ln in enumerate(piece.lines) if key[:25] in ln.folded), None)
                if at is None:
                    continue
                head = (
                    piece.sections[piece.lines[at].section]
                    if piece.lines[at].section >= 0
                    else None
                )

                def build(text: str, heading: str | None, piece=piece, at=at) -> PieceText:
                    return _section_piece(piece, at, text, heading)

                rec = Recognizer(vocab)
                original = piece.lines[at].text
                if not rec.find([build(original, None)], evidence, limit=1):
                    continue
                variants = _perturbations(original, vocab, rnd)
                if head is not None and head.number:
                    nums = [int(x) for x in re.findall(r"\d+", head.number)] or [1]
                    for si, style in enumerate(_RENUMBER):
                        variants[f"titre-{si + 1}"] = (
                            original,
                            style.format(
                                n=head.number.strip("."), t=head.title, roman=_roman(nums[0])
                            ),
                        )
                for name, variant in variants.items():
                    c = counts.setdefault(name, [0, 0])
                    c[1] += 1
                    if isinstance(variant, tuple):
                        # the renumbered heading goes through the reader, as a text piece
                        sec = build(*variant)
                        raw = "\n".join(ln.text for ln in sec.lines) + "\n"
                        test = read_piece("section.txt", raw.encode(), kind=piece.kind)
                    else:
                        test = build(variant, None)
                    if Recognizer(vocab).find([test], evidence, limit=1):
                        c[0] += 1
    return {k: (v[0], v[1]) for k, v in sorted(counts.items())}


_TENDER = """\
id: 2022-011
objet: Développement et maintenance d'applications
codeCPV: "72267000"
procedure: "Appel d'offres ouvert"
dureeMois: 48
ccag: "Techniques de l'information et de la communication"
montant: 1500000
acheteur: {id: "13000626100015", nom: "Autorité des marchés financiers", type: etat}
categories: [services, software]
dateLancement: 2026-09-15
"""


def check_speed(shared: Path = SHARED_CASES, case: str = "amf-2022-011-sharepoint") -> dict:
    """Seconds of ``check_dossier`` on a real DCE whose models are cached (reading
    excluded): recognition of the 26 families and every other finding, one core."""
    import shutil
    import tempfile

    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    lib = load_clausier()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / case
        (d / "pieces").mkdir(parents=True)
        (d / "tender.yaml").write_text(_TENDER, encoding="utf-8")
        for f in sorted((shared / "real" / case).iterdir()):
            shutil.copyfile(f, d / "pieces" / f.name)
        dossier = read_dossier(d)  # models read (and cached)
        check_dossier(dossier, lib)  # warm: lemmatiser loaded, clausier compiled
        runs = []
        for _ in range(3):
            dossier = read_dossier(d)  # from the model cache
            t0 = time.perf_counter()
            check_dossier(dossier, lib)
            runs.append(time.perf_counter() - t0)
    return {"case": case, "check_s": min(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="résultat en JSON")
    parser.add_argument("--details", action="store_true", help="documents en erreur")
    parser.add_argument("--perturb", action="store_true", help="banc des perturbations")
    args = parser.parse_args()
    if not (SHARED_CASES / "real" / "labels.yaml").is_file():
        print(f"étiquettes introuvables : {SHARED_CASES / 'real'}", file=sys.stderr)
        raise SystemExit(2)
    per, total, timings = measure()
    perturbed = perturbation_recall() if args.perturb else {}
    if args.json:
        rows = {
            cid: {
                "tp": s.tp,
                "fp": s.fp,
                "fn": s.fn,
                "precision": s.precision,
                "recall": s.recall,
                "location": s.location,
            }
            for cid, s in per.items()
        }
        rows["TOTAL"] = {
            "tp": total.tp,
            "fp": total.fp,
            "fn": total.fn,
            "precision": total.precision,
            "recall": total.recall,
            "location": total.location,
            "located": total.located,
            "located_strict": total.strict,
            "locatable": total.locatable,
        }
        print(
            json.dumps({"families": rows, "timings": timings, "perturbations": perturbed}, indent=2)
        )
        return
    print(
        f"{'famille':18} {'VP':>3} {'FP':>3} {'FN':>3} {'précision':>9} {'rappel':>7} {'lieu':>6}"
    )
    for cid, s in per.items():
        line = (
            f"{cid:18} {s.tp:3} {s.fp:3} {s.fn:3} {s.precision:9.2f} {s.recall:7.2f} "
            f"{s.located:>2}/{s.locatable:<2}"
        )
        if args.details and (s.fp_docs or s.fn_docs or s.misplaced):
            line += f"  FP={s.fp_docs} FN={s.fn_docs} lieu={s.misplaced}"
        print(line)
    print(
        f"{'TOTAL':18} {total.tp:3} {total.fp:3} {total.fn:3} "
        f"{total.precision:9.2f} {total.recall:7.2f} {total.located:>2}/{total.locatable:<2}"
    )
    print(
        f"lieu strict (la ligne, la page ou le paragraphe étiquetés eux-mêmes) : "
        f"{total.strict}/{total.locatable}"
    )
    print(
        "(étiquettes incertaines exclues ; VP/FP/FN : vrais positifs, faux positifs, faux "
        "négatifs ; lieu : meilleur bloc à l'endroit d'une preuve de l'étiquette / comparables)"
    )
    print("\nvitesse (lecture à froid, reconnaissance des 26 familles) :")
    for doc, t in timings.items():
        print(
            f"  {doc[:60]:60} {t['words']:>6} mots  lecture {t['read_s']:.2f} s  "
            f"reconnaissance {t['recognise_s']:.3f} s"
        )
    speed = check_speed()
    print(
        f"\ncontrôle complet (reconnaissance et constats) sur le modèle en cache de "
        f"{speed['case']} : {speed['check_s']:.2f} s"
    )
    if perturbed:
        tot = [sum(v[0] for v in perturbed.values()), sum(v[1] for v in perturbed.values())]
        print("\nperturbations (reconnues / reconnues sans perturbation) :")
        for name, (ok, n) in perturbed.items():
            print(f"  {name:14} {ok:>4}/{n:<4} {ok / n if n else 1:.2f}")
        print(f"  {'TOTAL':14} {tot[0]:>4}/{tot[1]:<4} {tot[0] / tot[1] if tot[1] else 1:.2f}")
    _criteria_figures(args.details)


def _criteria_figures(details: bool) -> None:
    """Award criteria and import metadata against the labels (bench/criteria.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "criteria_bench", Path(__file__).with_name("criteria.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.print_report(module.report(SHARED_CASES), details)


if __name__ == "__main__":
    main()
