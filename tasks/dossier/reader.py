"""Read a dossier (``tender.yaml`` + ``pieces/``) from disk or from a Git revision.

Every piece becomes a :class:`~tasks.dossier.document.PieceText`: normalised lines that keep
their origin (line of the file, page of the PDF) and the heading they belong to.

Formats: Markdown/text (UTF-8, or cp1252/Latin-1 accepted), DOCX/ODT (their XML read
directly), HTML, PDF (pypdfium2, page by page; repeated headers/footers removed; scanned
PDFs flagged ``has_text_layer=False``); see :mod:`tasks.dossier.blocks` for the document
model. Other files (spreadsheets, images…) are returned without lines. Every unusable input raises :class:`~tasks.errors.InputError` with a
French message; heavy libraries (GitPython, pypandoc, pypdfium2) are imported only when
needed.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tasks.errors import InputError

from .document import PieceText
from .headings import detect_heading
from .model import Tender
from .normalize import fold
from .parse import format_of, read_model
from .yamlio import validate_yaml_with_lines

__all__ = [
    "Dossier",
    "detect_heading",
    "piece_kind",
    "read_dossier",
    "read_piece",
]

TENDER_FILE = "tender.yaml"
PIECES_DIR = "pieces"


@dataclass
class Dossier:
    """A dossier as read: its tender description and its pieces."""

    root: str  # the dossier path as the user gave it (display)
    tender: Tender
    tender_file: str  # "tender.yaml"
    pieces: list[PieceText]
    commit: str | None = None  # full hex sha when read from a Git revision
    rev: str | None = None  # the revision as the user gave it
    tender_lines: dict[str, int] = field(default_factory=dict)  # "criteres.0" -> line
    #: tender.yaml fields left empty (read with ``allow_incomplete``, see tasks/dossier/incomplete.py)
    missing_fields: list[str] = field(default_factory=list)

    def line_of(self, path: str) -> int | None:
        """Line of a tender.yaml field path (``"criteres"``, ``"waivers.1"``), if known."""
        return self.tender_lines.get(path)


# --------------------------------------------------------------------------- kinds

_KIND_TOKENS = {
    "rc": "rc",
    "reglement": "rc",
    "ccap": "ccap",
    "cctp": "cctp",
    "ae": "ae",
    "atti": "ae",
    "attri": "ae",
    "engagement": "ae",
    "bpu": "bpu",
    "bordereau": "bpu",
    "dpgf": "dpgf",
    "dqe": "dqe",
    "dpf": "dpf",
    "annexe": "annexe",
    "annexes": "annexe",
    "qr": "qr",
    "faq": "qr",
}
#: Phrases of a file name (or of a title), folded, in order of precedence.
_KIND_PHRASES = [
    ("questions reponses", "qr"),
    ("question reponse", "qr"),
    ("questions et reponses", "qr"),
    ("reponses aux questions", "qr"),
    ("reglement de la consultation", "rc"),
    ("reglement de consultation", "rc"),
    ("acte d engagement", "ae"),
    ("clauses administratives particulieres", "ccap"),
    ("cahier des clauses administratives", "ccap"),
    ("clauses techniques particulieres", "cctp"),
    ("cahier des clauses techniques", "cctp"),
    ("cahier des charges techniques", "cctp"),
    ("bordereau des prix", "bpu"),
    ("bordereau de prix", "bpu"),
    ("detail quantitatif", "dqe"),
    ("detail estimatif", "dqe"),
    ("decomposition du prix global", "dpgf"),
    ("decomposition du prix forfaitaire", "dpf"),
]


def piece_kind(filename: str) -> str:
    """Kind of a piece from its file name (case- and accent-insensitive, whole words).

    Full names first (« Règlement de la consultation.pdf » → rc, « Cahier des clauses
    administratives particulières.pdf » → ccap, « Acte d'engagement.docx » → ae,
    « Bordereau des prix unitaires.pdf » → bpu, « Réponses aux questions.pdf » → qr),
    then abbreviations: « CCAP_2025 TMA AQUAREEL_vd.md » → ccap, « RC.pdf » → rc,
    « Q-R_DCE….md » → qr, « DQE.xlsx » → dqe; « source.md » or « arc.md » → autre
    (« rc » inside a word does not count). The first token that names a kind wins.
    """
    stem = PurePosixPath(filename.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    folded = fold(stem)
    tokens = re.findall(r"[a-z]+", folded)
    spaced = " ".join(tokens)
    for phrase, kind in _KIND_PHRASES:
        if re.search(rf"\b{phrase}\b", spaced):
            return kind
    for i, tok in enumerate(tokens):
        if tok == "q" and i + 1 < len(tokens) and tokens[i + 1] == "r":
            return "qr"
        if tok in _KIND_TOKENS:
            return _KIND_TOKENS[tok]
    return "autre"


# --------------------------------------------------------------------------- pieces


def read_piece(name: str, data: bytes, kind: str | None = None) -> PieceText:
    """Read one piece from its bytes; ``name`` is its path relative to the dossier.

    The piece is read into a :class:`~tasks.dossier.blocks.DocumentModel` (cached by the
    SHA-256 of ``data``, see :func:`~tasks.dossier.parse.read_model`), then viewed as
    lines (:meth:`PieceText.from_model`). Spreadsheets (XLSX, ODS) are read by
    :func:`tasks.dossier.sheets.read_sheet` (one line per row); files of other formats
    (images…) are returned without lines.

    Raises:
        InputError: empty piece, binary content in a text file, DOCX/ODT that is not an
            archive or is damaged, encrypted (user password) or damaged PDF.
    """
    kind = kind or piece_kind(name)
    ext = PurePosixPath(name).suffix.lower()
    if not data:
        raise InputError(
            "pièce vide : le fichier ne contient rien ; remplacez-le par le document "
            "complet ou retirez-le du dossier.",
            name,
        )
    from tasks.dossier.sheets import SHEET_EXT, read_sheet

    if ext in SHEET_EXT:
        return read_sheet(name, data, kind)
    if format_of(name) is None:
        fmt = ext.lstrip(".") or "autre"
        return PieceText(name, kind, fmt)
    return PieceText.from_model(name, kind, read_model(name, data))


# --------------------------------------------------------------------------- dossier


def _skip(name: str) -> bool:
    """Hidden files, Office lock files and editor backups are not pieces."""
    return name.startswith((".", "~$")) or name.endswith("~")


def _too_big(size: int, limit: int, name: str) -> None:
    if size > limit:
        raise InputError(
            f"pièce trop volumineuse ({size / 1e6:.0f} Mo, maximum {limit / 1e6:.0f} Mo) : "
            "allégez le document (images compressées) ou scindez-le.",
            name,
        )


def _outside(name: str) -> InputError:
    return InputError(
        "chemin hors du dossier : ce lien symbolique pointe en dehors du dossier de la "
        "consultation ; copiez le fichier dans le dossier au lieu de le lier.",
        name,
    )


def _check_name(rel: str) -> None:
    """A file name that is not valid UTF-8 (decoded by Python with surrogates) cannot be
    written in a report, a JSON document or a manifest: refuse it, showing its bytes."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise InputError(
            "nom de fichier illisible (octets non UTF-8, souvent un nom venu d'un ancien "
            "système ou d'une archive) : renommez le fichier avec des caractères ordinaires.",
            shown,
        ) from None


def _disk_files(root: Path, root_res: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, resolved path) of the piece files under ``pieces/``."""
    pieces = root / PIECES_DIR
    if pieces.is_symlink() and not pieces.resolve().is_relative_to(root_res):
        raise _outside(PIECES_DIR + "/")
    if not pieces.is_dir():
        raise InputError(
            "aucune pièce : le dossier ne contient pas de sous-dossier « pieces/ » ; "
            "déposez-y les pièces du DCE (RC, CCAP, CCTP…).",
            PIECES_DIR + "/",
        )

    def entries(folder: Path) -> list[Path]:
        return sorted(folder.iterdir(), key=lambda p: p.name)

    for child in entries(pieces):
        if _skip(child.name):
            continue
        rel = child.relative_to(root).as_posix()
        _check_name(rel)
        resolved = child.resolve()
        if not resolved.is_relative_to(root_res):
            raise _outside(rel)
        if resolved.is_dir():
            for sub in entries(child):
                if _skip(sub.name):
                    continue
                srel = sub.relative_to(root).as_posix()
                _check_name(srel)
                sres = sub.resolve()
                if not sres.is_relative_to(root_res):
                    raise _outside(srel)
                if sres.is_file():
                    yield srel, sres
        elif resolved.is_file():
            yield rel, resolved


def _read_from_disk(
    path: str | os.PathLike[str], max_bytes: int, allow_incomplete: bool = False
) -> Dossier:
    display = os.fspath(path)
    root = Path(path)
    if not root.exists():
        raise InputError(
            "dossier introuvable : vérifiez le chemin du dossier de la consultation.",
            display,
        )
    if not root.is_dir():
        raise InputError(
            "ce n'est pas un dossier : indiquez le dossier qui contient tender.yaml et pieces/.",
            display,
        )
    root_res = root.resolve()
    tender_path = root / TENDER_FILE
    if not tender_path.exists() and not tender_path.is_symlink():
        raise InputError(
            "tender.yaml manquant : créez ce fichier (description de la consultation) "
            "à la racine du dossier.",
            TENDER_FILE,
        )
    if not tender_path.resolve().is_relative_to(root_res):
        raise _outside(TENDER_FILE)
    try:
        raw = tender_path.read_bytes()
    except OSError as exc:
        raise InputError(f"tender.yaml illisible ({exc.strerror}).", TENDER_FILE) from None
    tender, tender_lines, missing = _load_tender(raw, allow_incomplete)
    pieces: list[PieceText] = []
    for rel, resolved in _disk_files(root, root_res):
        _too_big(resolved.stat().st_size, max_bytes, rel)
        try:
            data = resolved.read_bytes()
        except OSError as exc:
            raise InputError(f"pièce illisible ({exc.strerror}).", rel) from None
        pieces.append(read_piece(rel, data))
    if not pieces:
        raise InputError(
            "aucune pièce : le dossier « pieces/ » est vide ; déposez-y les pièces du DCE "
            "(RC, CCAP, CCTP…).",
            PIECES_DIR + "/",
        )
    return Dossier(
        display, tender, TENDER_FILE, pieces, tender_lines=tender_lines, missing_fields=missing
    )


def _load_tender(raw: bytes, allow_incomplete: bool) -> tuple[Tender, dict[str, int], list[str]]:
    """tender.yaml validated; with ``allow_incomplete``, a draft whose only problems are
    empty fields is read with stand-ins (tasks/dossier/incomplete.py)."""
    try:
        tender, lines = validate_yaml_with_lines(Tender, raw, TENDER_FILE)
        return tender, lines, []
    except InputError:
        if not allow_incomplete:
            raise
        from .incomplete import load_incomplete_tender

        got = load_incomplete_tender(raw, TENDER_FILE)
        if got is None:
            raise
        return got


def _read_from_git(
    path: str | os.PathLike[str], rev: str, max_bytes: int, allow_incomplete: bool = False
) -> Dossier:
    import git  # lazy: GitPython is only needed with --rev
    from gitdb.exc import BadName, BadObject

    display = os.fspath(path)
    absolute = Path(path).absolute()
    probe = absolute
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        repo = git.Repo(probe, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InputError(
            "ce dossier n'est pas dans un dépôt Git : l'option --rev demande un dossier "
            "suivi par Git (ou retirez --rev pour lire les fichiers tels quels).",
            display,
        ) from None
    with repo:
        workdir = repo.working_tree_dir
        if workdir is None:
            raise InputError("dépôt Git sans copie de travail (dépôt « bare »).", display)
        top = Path(workdir).resolve()
        try:
            rel = absolute.resolve().relative_to(top)
        except ValueError:
            raise InputError(f"le dossier est en dehors du dépôt Git {top}.", display) from None
        rel_posix = rel.as_posix()
        try:
            commit = repo.commit(rev)
        except (BadName, BadObject, ValueError, git.GitCommandError, IndexError):
            raise InputError(
                f"révision « {rev} » introuvable dans le dépôt {top} : indiquez un sha de "
                "commit, une étiquette ou une branche existants (voir « git log --oneline »).",
                display,
            ) from None
        short = commit.hexsha[:10]
        try:
            tree = commit.tree if rel_posix in ("", ".") else commit.tree / rel_posix
        except KeyError:
            tree = None
        if tree is None or tree.type != "tree":
            raise InputError(
                f"dossier « {rel_posix} » absent de la révision « {rev} » (commit {short}) : "
                "vérifiez la révision ou le chemin.",
                display,
            )

        def blob_bytes(name: str, obj: git.Blob, depth: int = 0) -> bytes:
            if obj.mode == 0o120000:  # symbolic link: stay inside the dossier
                target = obj.data_stream.read().decode("utf-8", "replace")
                joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
                if target.startswith("/") or joined == ".." or joined.startswith("../"):
                    raise _outside(name)
                if depth > 8:
                    raise _outside(name)
                try:
                    linked = tree / joined
                except KeyError:
                    raise InputError(
                        "lien symbolique cassé : la cible n'existe pas dans la révision.", name
                    ) from None
                if linked.type != "blob":
                    raise _outside(name)
                return blob_bytes(name, linked, depth + 1)
            _too_big(obj.size, max_bytes, name)
            return obj.data_stream.read()

        try:
            tender_blob = tree / TENDER_FILE
        except KeyError:
            raise InputError(
                f"tender.yaml absent de la révision « {rev} » (commit {short}).", TENDER_FILE
            ) from None
        if tender_blob.type != "blob":
            raise InputError("tender.yaml doit être un fichier.", TENDER_FILE)
        tender, tender_lines, missing = _load_tender(
            blob_bytes(TENDER_FILE, tender_blob), allow_incomplete
        )
        try:
            pieces_tree = tree / PIECES_DIR
        except KeyError:
            pieces_tree = None
        if pieces_tree is None or pieces_tree.type != "tree":
            raise InputError(
                f"aucune pièce : pas de sous-dossier « pieces/ » dans la révision « {rev} » "
                f"(commit {short}).",
                PIECES_DIR + "/",
            )
        pieces: list[PieceText] = []
        for obj in sorted(pieces_tree, key=lambda o: o.name):
            if _skip(obj.name):
                continue
            rel_name = f"{PIECES_DIR}/{obj.name}"
            if obj.type == "blob":
                pieces.append(read_piece(rel_name, blob_bytes(rel_name, obj)))
            elif obj.type == "tree":
                for sub in sorted(obj, key=lambda o: o.name):
                    if sub.type == "blob" and not _skip(sub.name):
                        srel = f"{rel_name}/{sub.name}"
                        pieces.append(read_piece(srel, blob_bytes(srel, sub)))
        if not pieces:
            raise InputError(
                f"aucune pièce : le dossier « pieces/ » est vide dans la révision « {rev} » "
                f"(commit {short}).",
                PIECES_DIR + "/",
            )
        return Dossier(
            display,
            tender,
            TENDER_FILE,
            pieces,
            commit=commit.hexsha,
            rev=rev,
            tender_lines=tender_lines,
            missing_fields=missing,
        )


def read_dossier(
    path: str | os.PathLike[str],
    rev: str | None = None,
    *,
    max_piece_bytes: int = 20_000_000,
    allow_incomplete: bool = False,
) -> Dossier:
    """Read the dossier at ``path`` (``tender.yaml`` + ``pieces/``).

    With ``rev``, the dossier is read from that Git revision (commit sha, short sha, tag,
    branch) through the object database: no checkout, the working tree is not read.
    With ``allow_incomplete`` (``cahier check`` only), a tender.yaml whose only problems
    are empty fields is read with conservative stand-ins and ``missing_fields`` lists
    them (:mod:`tasks.dossier.incomplete`).

    Raises:
        InputError: missing or invalid tender.yaml, no piece, unreadable piece, path
            outside the dossier, unknown revision, not a Git repository.
    """
    if rev is not None:
        dossier = _read_from_git(path, rev, max_piece_bytes, allow_incomplete)
    else:
        dossier = _read_from_disk(path, max_piece_bytes, allow_incomplete)
    return _apply_declared_kinds(dossier)


def _apply_declared_kinds(dossier: Dossier) -> Dossier:
    """Apply tender.yaml ``pieces`` (file name → kind); a declared file must exist."""
    declared = dossier.tender.pieces
    if not declared:
        return dossier
    by_name = {PurePosixPath(p.path).name: p for p in dossier.pieces}
    for name, kind in declared.items():
        piece = by_name.get(name) or next(
            (p for p in dossier.pieces if p.path.endswith("/" + name) or p.path == name), None
        )
        if piece is None:
            raise InputError(
                f"pièce « {name} » déclarée dans tender.yaml (pieces) mais absente du dossier "
                f"{PIECES_DIR}/.",
                dossier.tender_file,
            )
        piece.kind = kind.lower()
    return dossier
