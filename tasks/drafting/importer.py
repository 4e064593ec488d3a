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
_CCAGS = [
    (
        r"ccag[\s/-]*tic\b|techniques de l'information et de la communication",
        "Techniques de l'information et de la communication",
    ),
    (
        r"ccag[\s/-]*fcs\b|fournitures courantes et (?:de )?services",
        "Fournitures courantes et services",
    ),
    (r"ccag[\s/-]*pi\b|prestations intellectuelles", "Prestations intellectuelles"),
    (r"ccag[\s/-]*mi\b|marches industriels", "Marchés industriels"),
]
_AMOUNT = (
    r"(?P<v>\d{1,3}(?:[\s.]\d{3})+|\d{4,})(?:,\d{1,2})?\s?(?:€|euros?)(?:\s?(?:ht|hors taxes?))?"
)
_MAX = re.compile(r"montant (?:global )?maximum" + r".{0,160}?" + _AMOUNT)
_DUREE_UNIT = r"[^.]{0,60}?\b(?P<n>\d{1,3})\s?(?P<u>mois|ans?\b|an\(s\))"
_DUREE = [
    re.compile(r"duree (?:globale|totale)" + _DUREE_UNIT),
    re.compile(r"duree maximale (?:de l'accord[- ]cadre|du marche)" + _DUREE_UNIT),
    re.compile(
        r"duree (?:initiale |ferme )?(?:de l'accord[- ]cadre|du marche|initiale)" + _DUREE_UNIT
    ),
]
_PCT = r"(?P<w>\d{1,3}(?:[.,]\d+)?)\s?%"
_NAME_PCT = re.compile(r"^(?P<name>[A-ZÀ-Ý][^%]{1,70}?)\s*:?\s*" + _PCT + r"$")
_ONLY_PCT = re.compile(r"^" + _PCT + r"$")
_SUB = re.compile(
    r"^sous[- ]crit[eè]re\s*(?:(?:n°\s*)?\d+\s*[:.–-]?|:)\s*(?P<name>[^.:]{3,90})", re.I
)
_NAME_ONLY = re.compile(r"^[A-ZÀ-Ý][^.;,%]{2,58}\s*:?$")
_NOT_NAMES = re.compile(r"^(?:definition|crit[eè]res?\s+pond|dont\b|note\b|sous)", re.I)


def _criterion_type(name: str, parent: str | None = None) -> str:
    f = fold(name)
    for pattern, kind in (
        (r"\bprix\b|\bmontant\b|\bdpgf\b|\bdqe\b|\bbpu\b", "prix"),
        (r"\bcout\b", "cout"),
        (r"environn|carbone|energ|ecolog|durable", "environnement"),
        (r"social|insertion", "social"),
        (r"\bdelai", "delai"),
        (r"techni|qualit|valeur|methodolog|competen|organisation", "technique"),
    ):
        if re.search(pattern, f):
            return kind
    return parent or "autre"


def _name_from(sub: dict[str, Any], block: list[str], *, first: bool) -> bool:
    """Name a price sub-criterion after the pricing document its text mentions."""
    acr = re.findall(r"\b(DPGF|DQE|BPU|DPF)\b", " ".join(block))
    if not acr:
        return False
    doc = acr[0] if first else acr[-1]
    sub["nom"] = f"Montant total {'de la' if doc in ('DPGF', 'DPF') else 'du'} {doc}"
    return True


def _criteria(pieces: list[PieceText]) -> tuple[list[dict[str, Any]], str | None]:
    """Award criteria of the RC's « jugement des offres » section: weights in %,
    sub-criteria under their parent while their weights fit in it."""
    for piece in sorted(pieces, key=lambda p: p.kind != "rc"):
        secs = [
            i
            for i, s in enumerate(piece.sections)
            if re.search(
                r"jugement des offres|criteres? d'attribution|choix de l'offre", fold(s.title)
            )
        ]
        for si in secs:
            lines = [ln for ln in piece.lines if ln.section == si]
            tops: list[dict[str, Any]] = []
            pending_name: str | None = None
            pending_sub: str | None = None
            block: list[str] = []
            unnamed: dict[str, Any] | None = None
            for ln in lines:
                t = ln.text.strip()
                m_sub = _SUB.match(t)
                m_full = _NAME_PCT.match(t)
                m_only = _ONLY_PCT.match(t)
                if m_sub and not m_full:
                    pending_sub = m_sub.group("name").strip(" -–")
                    continue
                if m_full or m_only:
                    w = float((m_full or m_only).group("w").replace(",", "."))
                    name = m_full.group("name").strip(" :-–") if m_full else None
                    cur = tops[-1] if tops else None
                    fits = (
                        cur is not None
                        and sum(s["poids"] for s in cur["sousCriteres"]) + w <= cur["poids"] + 1e-6
                    )
                    is_sub = fits and (
                        m_only is not None or (name and _SUB.match(name)) or pending_sub
                    )
                    if unnamed is not None:
                        _name_from(unnamed, block, first=True)
                        unnamed = None
                    if is_sub and cur is not None:
                        sub_name = pending_sub or name
                        sub = {"nom": sub_name, "poids": w, "type": cur["type"]}
                        if not sub_name and not _name_from(sub, block, first=False):
                            unnamed = sub  # named from the lines that follow its weight
                        cur["sousCriteres"].append(sub)
                    else:
                        top_name = name or pending_name or f"Critère {len(tops) + 1}"
                        tops.append(
                            {
                                "nom": top_name,
                                "poids": w,
                                "type": _criterion_type(top_name),
                                "sousCriteres": [],
                            }
                        )
                    pending_name, pending_sub, block = None, None, []
                    continue
                if _NAME_ONLY.match(t) and not _NOT_NAMES.match(t):
                    pending_name = t.rstrip(" :")
                block.append(t)
            if unnamed is not None:
                _name_from(unnamed, block, first=True)
            for c in tops:
                for i, sub in enumerate(c["sousCriteres"], 1):
                    sub["nom"] = sub["nom"] or f"Sous-critère {i}"
                    sub["type"] = _criterion_type(sub["nom"], c["type"])
            total = sum(c["poids"] for c in tops)
            if tops and abs(total - 100) < 0.01:
                for c in tops:
                    if (
                        c["sousCriteres"]
                        and abs(sum(s["poids"] for s in c["sousCriteres"]) - c["poids"]) > 0.01
                    ):
                        c["sousCriteres"] = []
                where = f"{piece.path} — {piece.sections[si].label()}"
                return tops, where
    return [], None


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
    for pattern, label in _CCAGS:
        rx = re.compile(pattern)
        counts[label] = sum(len(rx.findall(ln.folded)) for p in ordered for ln in p.lines)
    best = max(counts, key=lambda k: counts[k])
    if counts[best]:
        d.values["ccag"], d.sources["ccag"] = best, f"{counts[best]} mention(s)"
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
    criteres, where = _criteria(ordered)
    if criteres:
        d.values["criteres"], d.sources["criteres"] = criteres, where or ""
    return d


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
        "# marqués « À COMPLÉTER » : tant qu'ils sont vides, « cahier check » refuse le dossier.",
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
    out.append("  nom: null    # À COMPLÉTER : nom de l'acheteur")
    missing.append("nom de l'acheteur (acheteur.nom)")
    out.append(
        "  type: null    # À COMPLÉTER : etat, collectivite, groupement, etablissement_public, hopital, autre"
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
    missing.append("date de lancement (dateLancement)")
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
        for c in crits:
            out.append(f"  - nom: {_q(c['nom'])}")
            out.append(f"    poids: {c['poids']:g}")
            out.append(f"    type: {c['type']}")
            if c["sousCriteres"]:
                out.append("    sousCriteres:")
                for s in c["sousCriteres"]:
                    out.append(
                        f"      - {{nom: {_q(s['nom'])}, poids: {s['poids']:g}, type: {s['type']}}}"
                    )
    else:
        out.append(
            "criteres: []    # À COMPLÉTER : critères d'attribution du RC (nom, poids en %, type)"
        )
        missing.append("critères d'attribution (criteres) : aucun RC lisible")
    return "\n".join(out) + "\n", found, missing


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


def _header(source: str, data: bytes) -> str:
    """The comment at the top of an imported piece: its original file (never published:
    assembly drops HTML comments)."""
    import hashlib

    name = source.replace("--", "- -")
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
