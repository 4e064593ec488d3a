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

The steps live in :mod:`tasks.drafting.importer_markdown` (pieces as Markdown),
:mod:`tasks.drafting.importer_draft` (values read) and :mod:`tasks.drafting.importer_yaml`
(tender.yaml text); this module keeps the public names.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tasks.dossier.document import PieceText
from tasks.dossier.files import new_folder
from tasks.dossier.model import check_tender_id
from tasks.dossier.reader import piece_kind
from tasks.drafting.importer_draft import DraftTender, _cut, draft_tender
from tasks.drafting.importer_markdown import to_markdown
from tasks.drafting.importer_vocab import import_vocab
from tasks.drafting.importer_yaml import render_tender_yaml
from tasks.errors import InputError

__all__ = [
    "KIND_LABELS",
    "DraftTender",
    "ImportResult",
    "draft_tender",
    "import_dce",
    "render_tender_yaml",
    "to_markdown",
]

_CONVERTED = {".pdf", ".docx", ".odt", ".md", ".markdown", ".txt"}
#: What cahier import takes: the pieces it converts, and spreadsheets copied as they are
#: (a BPU, DQE or DPGF, read by tasks.dossier.sheets).
_IMPORTED = _CONVERTED | {".xlsx", ".ods"}


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
    vocab = import_vocab().piece_kinds
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

    Steps: check the request (identifier, files, destination); read and type each piece
    (by name, else title, else content); name the pieces after their kind; draft
    tender.yaml; write the dossier in a temporary folder renamed into place.

    Raises:
        InputError: invalid identifier, missing or unreadable file, scanned PDF, an
            existing destination (never overwritten).
    """
    paths = [Path(f) for f in files]
    target = _check_request(paths, tender_id, dest)
    read, kinds, warnings = _read_sources(paths)
    names = _out_names(kinds)
    warnings += _kind_warnings(kinds, names)
    converted: dict[str, str] = {}
    originals: list[PieceText] = []
    for p, _kind in kinds:
        if p in read:
            md, piece = read[p]
            originals.append(piece)
            converted[names[p]] = _header(p.name, p.read_bytes()) + md
    draft = draft_tender(originals)
    text, found, missing = render_tender_yaml(tender_id, draft)
    _write_dossier(Path(dest), tender_id, text, kinds, names, converted)
    return ImportResult(
        path=target,
        pieces={p.name: f"pieces/{names[p]}" for p, _ in kinds},
        found=found,
        missing=missing,
        tender_yaml=text,
        kinds={p.name: kind for p, kind in kinds},
        warnings=warnings,
    )


def _check_request(paths: list[Path], tender_id: str, dest: str | os.PathLike[str]) -> Path:
    """The dossier's path, after checking the identifier, the files (present, each once)
    and that the destination does not exist. Raises InputError (French)."""
    check_tender_id(tender_id, "2025-VSGP-INFOGERANCE")
    if not paths:
        raise InputError("aucun fichier à importer.")
    for p in paths:
        if p.is_dir():
            raise InputError(
                "c'est un dossier : donnez les fichiers des pièces, par exemple "
                f"« cahier import {p}/* --tender {tender_id} ».",
                str(p),
            )
        if not p.exists():
            raise InputError("fichier introuvable.", str(p))
        if not p.is_file():
            raise InputError(
                "ce n'est pas un fichier ordinaire (tube, périphérique…) : donnez le fichier "
                "de la pièce.",
                str(p),
            )
        if p.suffix.lower() not in _IMPORTED:
            raise InputError(
                f"format « {p.suffix or 'sans extension'} » non pris en charge par cahier "
                "import : donnez les pièces en PDF, DOCX, ODT, Markdown ou texte (et les "
                "bordereaux en XLSX ou ODS) ; une image numérisée s'importe convertie en PDF.",
                str(p),
            )
    _same_files(paths)
    target = Path(dest) / tender_id
    if target.exists() or target.is_symlink():
        raise InputError(
            "le dossier existe déjà : cahier import n'écrase jamais un dossier ; choisissez un "
            "autre identifiant ou une autre destination (--dest).",
            str(target),
        )
    return target


def _read_sources(
    paths: list[Path],
) -> tuple[dict[Path, tuple[str, PieceText]], list[tuple[Path, str]], list[str]]:
    """Each source converted to Markdown (when it is a text piece) and typed: by its name,
    else its title, else its content (with a French warning saying so)."""
    warnings: list[str] = []
    read: dict[Path, tuple[str, PieceText]] = {}
    kinds: list[tuple[Path, str]] = []
    for p in paths:
        kind = piece_kind(p.name)
        if p.suffix.lower() in _CONVERTED:
            md, piece = to_markdown(p.name, p.read_bytes())
            read[p] = (md, piece)
            if kind == "autre":
                kind, warning = _guess_kind(p, piece)
                if warning:
                    warnings.append(warning)
            piece.kind = kind
        kinds.append((p, kind))
    return read, kinds, warnings


def _guess_kind(p: Path, piece: PieceText) -> tuple[str, str | None]:
    """The kind of a piece whose name says nothing, from its title then its content, and
    the warning that says how it was read (``("autre", None)`` when neither tells)."""
    titled = _kind_from_title(piece)
    if titled:
        kind = titled[0]
        return kind, (
            f"« {p.name} » : nature lue dans son titre (« {titled[1]} ») : "
            f"{KIND_LABELS.get(kind, kind)} ; vérifiez-la."
        )
    by_text = _kind_from_content(piece)
    if by_text:
        kind = by_text[0]
        return kind, (
            f"« {p.name} » : nature déduite de son contenu ({by_text[1]}) : "
            f"{KIND_LABELS.get(kind, kind)} ; vérifiez-la."
        )
    return "autre", None


def _kind_warnings(kinds: list[tuple[Path, str]], names: dict[Path, str]) -> Iterator[str]:
    """French warnings: pieces of unknown kind, then several pieces of one kind."""
    for p, kind in kinds:
        if kind == "autre":
            yield (
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
            yield (
                f"{len(outs)} pièces reconnues comme {KIND_LABELS.get(kind, kind)} "
                f"({', '.join(outs)}) : s'il s'agit de la même pièce sous deux formats, "
                "gardez-en une seule ; sinon vérifiez leur nature."
            )


def _write_dossier(
    parent: Path,
    tender_id: str,
    text: str,
    kinds: list[tuple[Path, str]],
    names: dict[Path, str],
    converted: dict[str, str],
) -> None:
    """Write tender.yaml and the pieces in a temporary folder of ``parent``, then rename it
    to ``parent/tender_id``; nothing is left behind on failure, an existing dossier is
    never overwritten (InputError)."""
    with new_folder(parent, tender_id) as tmp:
        (tmp / "pieces").mkdir()
        (tmp / "tender.yaml").write_text(text, encoding="utf-8")
        for p, _ in kinds:
            out = tmp / "pieces" / names[p]
            if names[p] in converted:
                out.write_text(converted[names[p]], encoding="utf-8")
            else:
                shutil.copyfile(p, out)
