"""``cahier import``: bring an existing DCE (DOCX, ODT, PDF, Markdown) into a dossier.

Each piece becomes a Markdown piece of ``pieces/``:

* DOCX/ODT: Pandoc (``--sandbox``) to Markdown (tables, lists and emphasis kept), then
  numbered headings restored on lines that :func:`tasks.dossier.reader.detect_heading`
  recognises (« ARTICLE 5 CLAUSES ENVIRONNEMENTALES », « 4.5 Insertion… »);
* PDF and Markdown/text: the normalised lines of :func:`tasks.dossier.reader.read_piece`, with
  its sections written as Markdown headings (level = depth of the article number + 1)
  and ``## Page N`` markers so that findings keep pointing at the original page;
* other files (spreadsheets…) are copied unchanged.

Jinja2 and fenced-div syntax found in the text is neutralised (an imported document is
text, never a template). tender.yaml is drafted from what the text states — objet, CPV
code, procedure, award criteria with weights and sub-criteria, maximum amount, duration,
CCAG, the buyer's SIRET — and every value it could not determine is left ``null`` with a
``# À COMPLÉTER : …`` comment: the draft is valid YAML but fails validation (``cahier
check`` exit 2) until completed.

Pieces are named after their kind (:func:`tasks.dossier.reader.piece_kind` on the file name,
else on the title lines of the piece): ``rc.md``, ``ccap.md``, ``bpu.md``, ``bpu-2.md``
for a second BPU; the original file name is kept in an HTML comment at the top of the
piece (dropped at assembly). A piece whose kind is not recognised keeps its name and is
reported in ``ImportResult.warnings``; a source given twice (same file or same content)
is refused.

The dossier is built in a temporary folder next to the destination and renamed into
place; an existing destination is never overwritten.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.dossier.document import PieceText
from tasks.dossier.normalize import fold, normalize_text
from tasks.dossier.reader import detect_heading, piece_kind, read_piece
from tasks.errors import InputError

__all__ = [
    "KIND_LABELS",
    "DraftTender",
    "ImportResult",
    "draft_tender",
    "import_dce",
    "to_markdown",
]

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CONVERTED = {".pdf", ".docx", ".odt", ".md", ".markdown", ".txt"}
_KIND_ORDER = {"ae": 0, "rc": 1, "ccap": 2, "cctp": 3}


#: French names of the piece kinds of :func:`tasks.dossier.reader.piece_kind`.
KIND_LABELS: dict[str, str] = {
    "rc": "règlement de la consultation (RC)",
    "ccap": "cahier des clauses administratives particulières (CCAP)",
    "cctp": "cahier des clauses techniques particulières (CCTP)",
    "ae": "acte d'engagement (AE)",
    "bpu": "bordereau des prix unitaires (BPU)",
    "dpgf": "décomposition du prix global et forfaitaire (DPGF)",
    "dpf": "décomposition du prix forfaitaire (DPF)",
    "dqe": "détail quantitatif estimatif (DQE)",
    "annexe": "annexe",
    "qr": "questions-réponses",
    "autre": "nature non reconnue",
}


@dataclass
class ImportResult:
    """The imported dossier: where, which source became which piece, what was read.

    ``pieces``: source file name → path in the dossier; ``kinds``: source file name →
    kind (rc, ccap… or ``autre``); ``warnings``: French lines for the buyer (pieces
    whose kind was not recognised or was read from their title).
    """

    path: Path
    pieces: dict[str, str]  # source file name -> path in the dossier
    found: list[str]
    missing: list[str]
    tender_yaml: str = ""
    kinds: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- Markdown

_JINJA = re.compile(r"\{(?=[{%#])")


def _safe(text: str) -> str:
    """Neutralise Jinja2 delimiters, fenced divs and a leading « # » of body text."""
    text = _JINJA.sub("{\u200b", text)
    if text.lstrip().startswith(":::"):
        text = "\\" + text.lstrip()
    if text.startswith("#"):
        text = "\\" + text
    return text


def _from_lines(piece: PieceText) -> str:
    out: list[str] = []
    page = None
    heading_at = {s.line_index: s for s in piece.sections}
    for i, line in enumerate(piece.lines):
        if line.page is not None and line.page != page:
            page = line.page
            out += ["", f"## Page {page}", ""]
        sec = heading_at.get(i)
        if sec is not None:
            level = min(sec.level + 1, 6) if sec.number else max(2, min(sec.level, 6))
            out += ["", "#" * level + " " + _safe(line.text).lstrip("\\"), ""]
        else:
            out.append(_safe(line.text))
    return "\n".join(out).strip() + "\n"


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)(\{[^}]*\})?")


def _restore_headings(markdown: str) -> str:
    """Numbered headings that Pandoc left as paragraphs become Markdown headings."""
    out: list[str] = []
    in_code = False
    for raw in markdown.splitlines():
        line = _IMAGE.sub("", raw).rstrip()
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if in_code or not line.strip() or _MD_HEADING.match(line) or line.lstrip()[:1] in "|+:>-*":
            out.append(_safe(line) if not _MD_HEADING.match(line) else line)
            continue
        plain = normalize_text(re.sub(r"\*\*|__|\\", "", line))
        h = detect_heading(plain) if plain else None
        if h is not None and h[0]:
            out += ["", "#" * min(h[2] + 1, 6) + " " + _safe(plain), ""]
        else:
            out.append(_safe(line))
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _pandoc_markdown(data: bytes, fmt: str, name: str) -> str:
    import pypandoc

    try:
        return pypandoc.convert_text(
            data,
            "markdown-raw_html-native_divs-native_spans-fenced_divs-bracketed_spans"
            "-header_attributes-link_attributes-smart",
            format=fmt,
            extra_args=["--sandbox", "--wrap=none"],
        )
    except (RuntimeError, OSError, ValueError) as exc:
        detail = str(exc).strip().splitlines()
        raise InputError(
            f"conversion impossible (Pandoc : {detail[-1][:200] if detail else 'erreur'}).", name
        ) from None


def to_markdown(name: str, data: bytes) -> tuple[str, PieceText]:
    """One legacy piece as Markdown, and the piece as the checker reads the original.

    Raises:
        InputError: an unreadable piece (see :func:`tasks.dossier.reader.read_piece`), a scanned
            PDF without text layer.
    """
    ext = Path(name).suffix.lower()
    if ext in (".docx", ".odt"):
        piece = read_piece(name, data)  # the reader's checks first (password, not an archive…)
        return _restore_headings(_pandoc_markdown(data, ext.lstrip("."), name)), piece
    piece = read_piece(name, data)
    if not piece.has_text_layer:
        raise InputError(
            "pas de couche texte : ce PDF est une image (document numérisé) ; faites-le passer "
            "par une reconnaissance de caractères (OCR) avant l'import.",
            name,
        )
    return _from_lines(piece), piece


# --------------------------------------------------------------------------- tender.yaml


@dataclass
class DraftTender:
    """Values read from the pieces (None: not found) and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


_OBJET = re.compile(
    r"^objet (?:de la consultation|du marche(?: public)?|de l'accord[- ]cadre|du present "
    r"(?:marche|accord[- ]cadre))\s*:\s*(?P<v>.{10,})$"
)
_OBJET_SENTENCE = re.compile(
    r"^(?:la (?:presente )?consultation|le present (?:marche|accord[- ]cadre)|l'accord[- ]cadre)"
    r" (?:a pour objet|porte sur)\b"
)
_CPV = re.compile(r"\bcpv\b\D{0,60}?(?P<v>\d(?:[\s.]?\d){7})(?:\s?-\s?\d)?\b")
_SIRET = re.compile(r"\bsiret\b\D{0,20}?(?P<v>\d(?:\s?\d){13})\b")
_PROCEDURES = [
    ("appel d'offres ouvert", "Appel d'offres ouvert"),
    ("appel d'offres restreint", "Appel d'offres restreint"),
    ("procedure adaptee", "Procédure adaptée"),
    ("procedure avec negociation", "Procédure avec négociation"),
    ("dialogue competitif", "Dialogue compétitif"),
]


def _ccag_patterns() -> dict[str, re.Pattern[str]]:
    """tender.yaml ``ccag`` value → what names it in a folded text, for the CCAGs of
    law.yaml that have a name of their own (``nom``), in law.yaml's order (ties: first)."""
    from tasks.clausier.library import shipped_law

    return {c.decp: re.compile(c.import_pattern()) for c in shipped_law().ccags if c.nom}


_AMOUNT = (
    r"(?P<v>\d{1,3}(?:[\s.]\d{3})+|\d{4,})(?:,\d{1,2})?\s?(?:€|euros?)(?:\s?(?:ht|hors taxes?))?"
)
_MAX = re.compile(r"montant (?:global )?maximum" + r".{0,160}?" + _AMOUNT)
_DUREE_UNIT = r"[^.]{0,60}?\b(?P<n>\d{1,3})\)?\s?(?P<u>mois|ans?\b|an\(s\)|annees?\b)"
_DUREE = [
    re.compile(r"duree (?:globale|totale)" + _DUREE_UNIT),
    re.compile(r"duree maximale (?:de l'accord[- ]cadre|du marche)" + _DUREE_UNIT),
    re.compile(
        r"duree (?:initiale |ferme )?(?:de l'accord[- ]cadre|du marche|initiale)" + _DUREE_UNIT
    ),
    re.compile(r"(?:conclue?|passee?) pour une duree" + _DUREE_UNIT),
]


def _first(
    pieces: list[PieceText], rx: re.Pattern[str]
) -> tuple[re.Match[str], PieceText, int] | None:
    for piece in pieces:
        for i, ln in enumerate(piece.lines):
            m = rx.search(ln.folded)
            if m:
                return m, piece, i
    return None


def _where(piece: PieceText, i: int) -> str:
    ln = piece.lines[i]
    return f"{piece.path}" + (
        f" p. {ln.page}" if ln.page else f":{ln.src_line}" if ln.src_line else ""
    )


def _cut(text: str) -> str:
    text = " ".join(text.split()).strip(" :;")
    return text[:300].rstrip()


def draft_tender(pieces: list[PieceText]) -> DraftTender:
    """Values of tender.yaml read from the pieces (AE first, then RC, CCAP, CCTP)."""
    ordered = sorted(pieces, key=lambda p: _KIND_ORDER.get(p.kind, 9))
    d = DraftTender()
    # objet
    hit = _first(ordered, _OBJET)
    if hit:
        m, piece, i = hit
        text = piece.lines[i].text
        value = text[text.index(":") + 1 :]
        nxt = piece.lines[i + 1].text if i + 1 < len(piece.lines) else ""
        if len(text) > 80 and nxt[:1].islower():
            value += " " + nxt
        d.values["objet"], d.sources["objet"] = _cut(value), _where(piece, i)
    else:
        hit = _first(ordered, _OBJET_SENTENCE)
        if hit:
            _, piece, i = hit
            parts = [piece.lines[j].text for j in range(i, min(i + 4, len(piece.lines)))]
            sentence = " ".join(parts).split(".")[0]
            sentence = re.sub(
                r"^.{0,60}?(?:a pour objet|porte sur)\s+(?:la r[ée]alisation de |l'acquisition de "
                r"|la fourniture de |l'ex[ée]cution de )?",
                "",
                sentence,
                flags=re.I,
            )
            sentence = sentence[:1].upper() + sentence[1:]
            d.values["objet"], d.sources["objet"] = _cut(sentence), _where(piece, i)
    hit = _first(ordered, _CPV)
    if hit:
        m, piece, i = hit
        d.values["codeCPV"], d.sources["codeCPV"] = (
            re.sub(r"\D", "", m.group("v")),
            _where(piece, i),
        )
    for needle, label in _PROCEDURES:
        hit = _first(ordered, re.compile(re.escape(needle)))
        if hit:
            d.values["procedure"], d.sources["procedure"] = label, _where(hit[1], hit[2])
            break
    counts: dict[str, int] = {}
    patterns = _ccag_patterns()
    for label, rx in patterns.items():
        counts[label] = sum(len(rx.findall(ln.folded)) for p in ordered for ln in p.lines)
    best = max(counts, key=lambda k: counts[k])
    if counts[best]:
        first = _first(ordered, patterns[best])
        where = _where(first[1], first[2]) + ", " if first else ""
        d.values["ccag"], d.sources["ccag"] = best, f"{where}{counts[best]} mention(s)"
    hit = _first(ordered, _SIRET)
    if hit:
        m, piece, i = hit
        d.values["siret"], d.sources["siret"] = re.sub(r"\D", "", m.group("v")), _where(piece, i)
    for piece in sorted(ordered, key=lambda p: p.kind != "ccap"):
        found = None
        for i, ln in enumerate(piece.lines):
            window = " ".join(x.folded for x in piece.lines[i : i + 3])
            if "montant maximum" in ln.folded:
                m = _MAX.search(window)
                if m:
                    found = (int(re.sub(r"\D", "", m.group("v"))), i)
                    break
        if found:
            d.values["montant"], d.sources["montant"] = found[0], _where(piece, found[1])
            break
    for rx in _DUREE:
        hit = _first(ordered, rx)
        if hit:
            m, piece, i = hit
            n = int(m.group("n"))
            d.values["dureeMois"] = n if m.group("u") == "mois" else 12 * n
            d.sources["dureeMois"] = _where(piece, i) + f" (« {_cut(piece.lines[i].text)[:90]} »)"
            break
    if _first(ordered, re.compile(r"accord[- ]cadre")):
        d.values["techniques"] = ["Accord-cadre"]
    if _first(ordered, re.compile(r"donnees a caractere personnel|\brgpd\b")):
        d.values["donneesPersonnelles"] = True
    _read_criteria(ordered, d)
    _read_more(ordered, d)
    return d


def _read_criteria(pieces: list[PieceText], d: DraftTender) -> None:
    """Award criteria as written (:mod:`tasks.check.criteria`): the first statement of
    the consultation's criteria, and each lot's own; problems kept as notes."""
    from tasks.check.criteria import read_criteria

    sets = read_criteria([p for p in pieces if p.kind not in ("ccap", "cctp")]) or read_criteria(
        pieces
    )
    if not sets:
        return
    main = next((s for s in sets if s.lot is None), None)
    per_lot: dict[int, object] = {}
    for s in sets:
        if s.lot is not None and s.lot not in per_lot:
            per_lot[s.lot] = s
    if main is None and per_lot:
        main = per_lot[min(per_lot)]
        if len({x.signature() for x in per_lot.values()}) == 1:
            per_lot = {}
    d.values["criteres"] = main.criteres
    d.sources["criteres"] = main.source.where() if main.source else main.file
    d.values["criteres_lots"] = per_lot
    notes = [
        f"{pb.message} ({pb.source.where() if pb.source else main.file})"
        for s in [main, *per_lot.values()]
        for pb in s.problems
    ]
    seen = {main.signature()}
    for s in sets:
        if s.lot is None and s.signature() not in seen:
            seen.add(s.signature())
            notes.append(
                f"autre énoncé des critères, différent, {s.source.where() if s.source else s.file} : "
                "vérifiez lequel fait foi"
            )
    d.values["criteres_notes"] = notes


_M_EUR = re.compile(
    r"(?P<v>\d{1,3}(?:[.,]\d{1,3})?)\s?(?:m€|millions? d.euros|millions? €|m euros)", re.I
)
_DEADLINE = re.compile(
    r"(?:date (?:et heure )?limite (?:de (?:reception|remise) )?(?:des (?:plis|offres))?|"
    r"remise des offres|reception des offres)\D{0,80}?(?P<d>\d{1,2})[/.](?P<m>\d{1,2})[/.](?P<y>\d{4})"
)
_BUYER_CUES = re.compile(
    r"(?:consultation est lancee par|pouvoir adjudicateur\s*:|nom (?:et adresse )?(?:officiel )?de "
    r"l.acheteur|identification (?:de l.acheteur|du pouvoir adjudicateur)|^acheteur\s*:|"
    r"entite adjudicatrice\s*:|organisme acheteur\s*:)\s*(?P<v>.*)$"
)
_NOT_ALLOTI = re.compile(
    r"n.est pas allotie?|pas d.allotissement|lot unique|marche non alloti|ne fait pas l.objet d.un allotissement"
)
_LOT_DEF = re.compile(
    r"^\s*(?:[-•*]\s*)?lot\s*(?:n\s?[°o]\s*)?(?P<n>\d{1,2})\s*[:–—-]\s*(?P<o>[^.]{5,160})", re.I
)


def _buyer_type(name: str) -> str | None:
    import yaml

    from tasks.clausier.library import default_library_path

    path = default_library_path() / "import.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    folded = " " + fold(name) + " "
    for entry in data.get("buyer_types", []):
        if any(w in folded for w in entry.get("words", [])):
            return entry.get("type")
    return None


def _read_more(pieces: list[PieceText], d: DraftTender) -> None:
    """Buyer name and type, deadline, lots, amounts in M€, CPV check digit."""
    # maximum amount written in millions (« 1,5 M€ HT »)
    if d.values.get("montant") is None or d.values.get("montant", 0) < 1000:
        pass
    for piece in sorted(pieces, key=lambda p: p.kind != "ccap"):
        for i, ln in enumerate(piece.lines):
            if "maximum" in ln.folded:
                m = _M_EUR.search(ln.folded)
                if m:
                    v = round(float(m.group("v").replace(",", ".")) * 1_000_000)
                    d.values["montant"], d.sources["montant"] = v, _where(piece, i)
                    break
        else:
            continue
        break
    # buyer name
    for piece in pieces:
        for i, ln in enumerate(piece.lines[:500]):
            m = _BUYER_CUES.search(ln.folded)
            if not m or re.search(r"\.{4,}|…{2,}", ln.text):
                continue
            rest = ln.text[len(ln.text) - len(m.group("v")) :].strip(" :") if m.group("v") else ""
            candidates = [(rest, i)] + [
                (piece.lines[j].text.strip(), j) for j in range(i + 1, min(len(piece.lines), i + 7))
            ]
            for value, j in candidates:
                mn = re.match(r"^(?:nom|d[ée]nomination|raison sociale)\s*:\s*(.+)$", value, re.I)
                if mn:
                    value = mn.group(1)
                elif (
                    not value
                    or value.endswith(":")
                    or re.match(
                        r"^(?:siret|siren|adresse|t[ée]l|code|n°|repr[ée]sent|-)", value, re.I
                    )
                    or len(value) < 4
                ):
                    continue
                d.values["acheteur_nom"] = _cut(value)[:160]
                d.sources["acheteur_nom"] = _where(piece, j)
                break
            if "acheteur_nom" in d.values:
                break
        if "acheteur_nom" in d.values:
            break
    if d.values.get("acheteur_nom"):
        kind = _buyer_type(d.values["acheteur_nom"])
        if kind:
            d.values["acheteur_type"] = kind
    # deadline for offers
    hit = _first(pieces, _DEADLINE)
    if hit is None:
        for piece in pieces:
            for i, ln in enumerate(piece.lines[:60]):
                if re.search(r"date limite|remise des offres", ln.folded):
                    window = " ".join(x.folded for x in piece.lines[i : i + 3])
                    m = re.search(r"(?P<d>\d{1,2})[/.](?P<m>\d{1,2})[/.](?P<y>\d{4})", window)
                    if m:
                        hit = (m, piece, i)
                        break
            if hit:
                break
    if hit:
        m, piece, i = hit
        try:
            import datetime as dt

            day = dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            d.values["dateLimiteOffres"] = day.isoformat()
            d.sources["dateLimiteOffres"] = _where(piece, i)
        except ValueError:
            pass
    # lots
    hit = _first(pieces, _NOT_ALLOTI)
    lots: dict[int, tuple[str, str]] = {}
    for piece in pieces:
        for i, ln in enumerate(piece.lines):
            m = _LOT_DEF.match(ln.text)
            if m and int(m.group("n")) not in lots and not re.search(r"\d\s?%|€", ln.text):
                lots[int(m.group("n"))] = (_cut(m.group("o")), _where(piece, i))
    if lots and len(lots) >= 2:
        d.values["lots"] = [{"numero": n, "objet": o} for n, (o, _w) in sorted(lots.items())]
        d.sources["lots"] = ", ".join(w for _o, w in (lots[n] for n in sorted(lots)))
    elif hit:
        d.values["lots"] = []
        d.sources["lots"] = _where(hit[1], hit[2]) + " (consultation non allotie)"
    # CPV check digit
    hit = _first(pieces, _CPV)
    if hit:
        m, piece, i = hit
        tail = piece.lines[i].folded[m.end("v") : m.end("v") + 4]
        if not re.match(r"\s?-\s?\d", tail):
            d.values["cpv_note"] = (
                f"le code CPV {m.group('v').replace(' ', '')} est écrit sans son chiffre de "
                f"contrôle ({_where(piece, i)}) : ajoutez-le (« -N ») d'après la nomenclature "
                "CPV (règlement (CE) n° 213/2008)"
            )


_CATEGORIES = [
    ("7226", ["services", "software"]),
    ("7241", ["cloud"]),
    ("7231", ["cloud"]),
    ("48", ["software"]),
    ("72", ["services"]),
    ("30", ["hardware"]),
    ("32", ["telecom"]),
    ("64", ["telecom"]),
]


def _q(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def render_tender_yaml(tender_id: str, draft: DraftTender) -> tuple[str, list[str], list[str]]:
    """The drafted tender.yaml text, the fields found and the fields to complete (French)."""
    v, src = draft.values, draft.sources
    found: list[str] = []
    missing: list[str] = []
    out = [
        "# tender.yaml rédigé par « cahier import » d'après les pièces importées.",
        "# Vérifiez chaque valeur lue (la source est indiquée) et complétez les champs",
        "# marqués « À COMPLÉTER » : tant qu'ils sont vides, « cahier check » les liste en erreur",
        "# (les autres constats sont donnés) et l'assemblage est refusé.",
        f"id: {_q(tender_id)}",
    ]

    def field_line(key: str, label: str, todo: str, fmt=_q) -> None:
        if v.get(key) is not None:
            out.append(f"{key}: {fmt(v[key])}    # lu : {src.get(key, '')}")
            found.append(label)
        else:
            out.append(f"{key}: null    # À COMPLÉTER : {todo}")
            missing.append(f"{label} ({key}) : {todo}")

    field_line("objet", "objet", "objet de la consultation (5 caractères au moins)")
    field_line("codeCPV", "code CPV", "code CPV principal (8 chiffres)", fmt=lambda x: _q(str(x)))
    field_line(
        "procedure", "procédure", "procédure (ex. « Appel d'offres ouvert », « Procédure adaptée »)"
    )
    out.append('nature: "Marché"')
    out.append(f"techniques: {_q(v.get('techniques', []))}")
    field_line("dureeMois", "durée", "durée totale en mois, reconductions comprises", fmt=str)
    if v.get("dureeMois") is not None:
        out[-1] += " — reconductions comprises ?"
    field_line(
        "ccag",
        "CCAG",
        "CCAG applicable (ex. « Techniques de l'information et de la communication »)",
    )
    field_line("montant", "montant", "montant maximum estimé sur toute la durée, € HT", fmt=str)
    if v.get("montant") is not None:
        out[-1] += " — toute durée, € HT ?"
    out.append("acheteur:")
    if v.get("siret"):
        out.append(f"  id: {_q(v['siret'])}    # lu : {src.get('siret', '')}")
        found.append("SIRET de l'acheteur")
    else:
        out.append("  id: null    # À COMPLÉTER : SIRET de l'acheteur (14 chiffres)")
        missing.append("SIRET de l'acheteur (acheteur.id)")
    if v.get("acheteur_nom"):
        out.append(f"  nom: {_q(v['acheteur_nom'])}    # lu : {src.get('acheteur_nom', '')}")
        found.append("nom de l'acheteur")
    else:
        out.append("  nom: null    # À COMPLÉTER : nom de l'acheteur")
        missing.append("nom de l'acheteur (acheteur.nom)")
    if v.get("acheteur_type"):
        out.append(
            f"  type: {v['acheteur_type']}    # déduit du nom de l'acheteur "
            "(clause_library/import.yaml) : vérifiez"
        )
        found.append("type d'acheteur (d'après son nom)")
    else:
        out.append(
            "  type: null    # À COMPLÉTER : etat, collectivite, groupement, etablissement_public, hopital, autre, prive"
        )
        missing.append("type d'acheteur (acheteur.type)")
    cpv = str(v.get("codeCPV") or "")
    cats = next((c for prefix, c in _CATEGORIES if cpv.startswith(prefix)), None)
    if cats:
        out.append(f"categories: {_q(cats)}    # déduit du code CPV : vérifiez")
        found.append("catégories (d'après le CPV)")
    else:
        out.append("categories: []    # À COMPLÉTER : hardware, software, services, cloud, telecom")
        missing.append("catégories d'achat (categories)")
    out.append("dateLancement: null    # À COMPLÉTER : date d'envoi de l'avis (AAAA-MM-JJ)")
    missing.append(
        "date de lancement (dateLancement) : date d'envoi de l'avis, rarement écrite dans les pièces"
    )
    if v.get("dateLimiteOffres"):
        out.append(
            f"dateLimiteOffres: {v['dateLimiteOffres']}    # lu : {src.get('dateLimiteOffres', '')}"
        )
        found.append("date limite de remise des offres")
    if "lots" in v:
        if v["lots"]:
            out.append(f"lots:    # lu : {src.get('lots', '')}")
            per_lot = v.get("criteres_lots") or {}
            for lot in v["lots"]:
                out.append(f"  - numero: {lot['numero']}")
                out.append(f"    objet: {_q(lot['objet'])}")
                if lot["numero"] in per_lot:
                    out.append("    criteres:")
                    out.extend(_criteria_lines(per_lot[lot["numero"]].criteres, "      "))
            found.append(f"lots ({len(v['lots'])})")
        else:
            out.append(f"lots: []    # lu : {src.get('lots', '')}")
            found.append("allotissement (non alloti)")
    if v.get("donneesPersonnelles"):
        out.append(
            "donneesPersonnelles: true    # les pièces parlent de données personnelles : vérifiez"
        )
    else:
        out.append(
            "donneesPersonnelles: false    # À COMPLÉTER : true si le titulaire traite des données personnelles"
        )
    out.append(
        "servicesNumeriques: false    # À COMPLÉTER : true si le marché livre un site, une application ou un logiciel (RGAA)"
    )
    crits = v.get("criteres") or []
    if crits:
        found.append("critères d'attribution et pondérations")
        out.append(f"criteres:    # lu : {src.get('criteres', '')}")
        out.extend(_criteria_lines(crits, "  "))
        for c in crits:
            for x in [c, *c.sous]:
                if x.poids is None:
                    missing.append(
                        f"pondération du critère « {x.nom} » (criteres) : illisible ou à compléter"
                    )
    else:
        out.append(
            "criteres: []    # À COMPLÉTER : critères d'attribution du RC (nom, poids en %, type)"
        )
        missing.append(
            "critères d'attribution (criteres) : aucun énoncé de critères pondérés trouvé"
        )
    for note in v.get("criteres_notes") or []:
        missing.append(f"critères d'attribution : {note}")
    if v.get("cpv_note"):
        missing.append(f"code CPV (codeCPV) : {v['cpv_note']}")
    return "\n".join(out) + "\n", found, missing


def _criteria_lines(crits: list, indent: str) -> list[str]:
    """tender.yaml lines of criteria read as written, each with where it was read."""
    out: list[str] = []
    for c in crits:
        out.append(f"{indent}- nom: {_q(c.nom)}    # lu : {c.source.where() if c.source else ''}")
        poids = "null" if c.poids is None else f"{round(c.poids, 2):g}"
        out.append(f"{indent}  poids: {poids}" + ("    # À COMPLÉTER" if c.poids is None else ""))
        if c.ecrit:
            out.append(f"{indent}  poidsEcrit: {_q(c.ecrit)}")
        if c.unite:
            out.append(f"{indent}  unite: {_q(c.unite)}")
        out.append(f"{indent}  type: {c.type}")
        if c.sous:
            out.append(f"{indent}  sousCriteres:")
            out.extend(_criteria_lines(c.sous, indent + "    "))
    return out


# --------------------------------------------------------------------------- import


def _out_names(sources: list[tuple[Path, str]]) -> dict[Path, str]:
    """Pieces are named after their kind: ``rc.md``, ``ccap.md``, ``bpu.md`` then
    ``bpu-2.md`` for a second BPU (in the order given); files that are not converted keep
    their extension (``dqe.xlsx``); a piece of unknown kind keeps its (slugified) name."""
    from slugify import slugify

    names: dict[Path, str] = {}
    used: set[str] = set()
    for path, kind in sources:
        converted = path.suffix.lower() in _CONVERTED
        ext = ".md" if converted else (path.suffix.lower() or "")
        stem = kind if kind != "autre" else (slugify(path.stem) or "piece")
        name, n = f"{stem}{ext}", 2
        while name in used:
            name = f"{stem}-{n}{ext}"
            n += 1
        used.add(name)
        names[path] = name
    return names


def _kind_from_title(piece: PieceText) -> tuple[str, str] | None:
    """Kind read from the first lines of a piece whose file name says nothing
    (« RÈGLEMENT DE LA CONSULTATION » on the cover page): ``(kind, line)`` or None."""
    from tasks.dossier.reader import _KIND_PHRASES

    for line in piece.lines[:25]:
        spaced = " ".join(re.findall(r"[a-z]+", line.folded))
        for phrase, kind in _KIND_PHRASES:
            if re.search(rf"\b{phrase}\b", spaced):
                return kind, _cut(line.text)[:80]
    return None


def _kind_from_content(piece: PieceText) -> tuple[str, str] | None:
    """Kind of a piece whose name and title say nothing (« Cahier des charges.pdf »,
    « CCP.docx », « DCE.pdf »), from the cues of ``clause_library/import.yaml``:
    ``(kind, « N repères »)`` or None when no kind stands out."""
    import yaml

    from tasks.clausier.library import default_library_path

    try:
        vocab = yaml.safe_load(
            (default_library_path() / "import.yaml").read_text(encoding="utf-8")
        ).get("piece_kinds", {})
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    text = " " + " ".join(" ".join(re.findall(r"[a-z0-9]+", ln.folded)) for ln in piece.lines) + " "
    counts = {k: sum(text.count(" " + c) for c in cues) for k, cues in vocab.items()}
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] < 3:
        return None
    if len(ranked) > 1 and ranked[0][1] < 1.5 * ranked[1][1]:
        return None
    return ranked[0][0], f"{ranked[0][1]} repères"


def _header(source: str, data: bytes) -> str:
    """The comment at the top of an imported piece: its original file (never published:
    assembly drops HTML comments)."""
    import hashlib

    # The piece is a Jinja2 template at assembly: a file name holding « {{ », « {% » or
    # « {# » must not become template code; braces are shown as parentheses.
    name = source.replace("--", "- -").replace("{", "(").replace("}", ")")
    return (
        f"<!-- Pièce importée par « cahier import » depuis « {name} » "
        f"(sha256 {hashlib.sha256(data).hexdigest()[:16]}…). -->\n\n"
    )


def _same_files(paths: list[Path]) -> None:
    """Refuse a source given twice (same file, or two files with the same content)."""
    import hashlib

    seen: dict[str, Path] = {}
    digests: dict[str, Path] = {}
    for p in paths:
        key = str(p.resolve())
        if key in seen:
            also = f" (aussi sous le nom « {seen[key]} »)" if str(seen[key]) != str(p) else ""
            raise InputError(
                f"fichier donné deux fois{also} : chaque pièce ne s'importe qu'une fois ; "
                "retirez le doublon de la commande.",
                str(p),
            )
        seen[key] = p
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if digest in digests:
            raise InputError(
                f"« {p.name} » a exactement le même contenu que « {digests[digest].name} » : "
                "chaque pièce ne s'importe qu'une fois ; retirez l'un des deux fichiers.",
                str(p),
            )
        digests[digest] = p


def import_dce(
    files: list[str | os.PathLike[str]], tender_id: str, dest: str | os.PathLike[str]
) -> ImportResult:
    """Import legacy pieces into ``<dest>/<tender_id>/`` and draft its tender.yaml.

    Raises:
        InputError: invalid identifier, missing or unreadable file, scanned PDF, an
            existing destination (never overwritten).
    """
    if not _ID_RE.match(tender_id):
        raise InputError(
            f"identifiant de consultation « {tender_id} » invalide : lettres, chiffres, points, "
            "tirets et soulignés seulement (ex. 2025-VSGP-INFOGERANCE)."
        )
    paths = [Path(f) for f in files]
    if not paths:
        raise InputError("aucun fichier à importer.")
    for p in paths:
        if not p.is_file():
            raise InputError("fichier introuvable.", str(p))
    _same_files(paths)
    target = Path(dest) / tender_id
    if target.exists() or target.is_symlink():
        raise InputError(
            "le dossier existe déjà : cahier import n'écrase jamais un dossier ; choisissez un "
            "autre identifiant ou une autre destination (--dest).",
            str(target),
        )
    warnings: list[str] = []
    read: dict[Path, tuple[str, PieceText]] = {}
    kinds: list[tuple[Path, str]] = []
    for p in paths:
        kind = piece_kind(p.name)
        if p.suffix.lower() in _CONVERTED:
            md, piece = to_markdown(p.name, p.read_bytes())
            read[p] = (md, piece)
            if kind == "autre":
                titled = _kind_from_title(piece)
                if titled:
                    kind = titled[0]
                    warnings.append(
                        f"« {p.name} » : nature lue dans son titre (« {titled[1]} ») : "
                        f"{KIND_LABELS.get(kind, kind)} ; vérifiez-la."
                    )
                else:
                    by_text = _kind_from_content(piece)
                    if by_text:
                        kind = by_text[0]
                        warnings.append(
                            f"« {p.name} » : nature déduite de son contenu ({by_text[1]}) : "
                            f"{KIND_LABELS.get(kind, kind)} ; vérifiez-la."
                        )
            piece.kind = kind
        kinds.append((p, kind))
    names = _out_names(kinds)
    for p, kind in kinds:
        if kind == "autre":
            warnings.append(
                f"« {p.name} » : nature de pièce non reconnue (ni d'après son nom ni d'après "
                f"son titre) ; importée comme pieces/{names[p]}, nature « autre ». Renommez-la "
                f"d'après sa nature (ex. ccap.md) ou déclarez-la dans tender.yaml : "
                f'pieces: {{"{names[p]}": ccap}} (rc, ccap, cctp, ae, bpu, dpgf, dqe, annexe, qr).'
            )
    by_kind: dict[str, list[str]] = {}
    for p, kind in kinds:
        by_kind.setdefault(kind, []).append(names[p])
    for kind, outs in by_kind.items():
        if kind not in ("autre", "annexe") and len(outs) > 1:
            warnings.append(
                f"{len(outs)} pièces reconnues comme {KIND_LABELS.get(kind, kind)} "
                f"({', '.join(outs)}) : s'il s'agit de la même pièce sous deux formats, "
                "gardez-en une seule ; sinon vérifiez leur nature."
            )
    converted: dict[str, str] = {}
    originals: list[PieceText] = []
    for p, _kind in kinds:
        if p in read:
            md, piece = read[p]
            originals.append(piece)
            converted[names[p]] = _header(p.name, p.read_bytes()) + md
    draft = draft_tender(originals)
    text, found, missing = render_tender_yaml(tender_id, draft)
    parent = Path(dest)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{tender_id}.", dir=parent))
    except OSError as exc:
        raise InputError(f"destination impossible à créer ({exc.strerror}).", str(parent)) from None
    try:
        (tmp / "pieces").mkdir()
        (tmp / "tender.yaml").write_text(text, encoding="utf-8")
        for p, _ in kinds:
            out = tmp / "pieces" / names[p]
            if names[p] in converted:
                out.write_text(converted[names[p]], encoding="utf-8")
            else:
                shutil.copyfile(p, out)
        tmp.chmod(0o755)
        if target.exists():
            raise InputError(
                "le dossier existe déjà (créé entre-temps) : rien n'a été écrit.", str(target)
            )
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ImportResult(
        path=target,
        pieces={p.name: f"pieces/{names[p]}" for p, _ in kinds},
        found=found,
        missing=missing,
        tender_yaml=text,
        kinds={p.name: kind for p, kind in kinds},
        warnings=warnings,
    )
