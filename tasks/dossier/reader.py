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

import functools
import os
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tasks import fmt
from tasks.errors import InputError, os_reason

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
        InputError: empty piece (no byte, or no text once read), binary content in a
            text file, DOCX/ODT that is not an archive or is damaged, encrypted (user
            password) or damaged PDF.
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
        return _not_blank(read_sheet(name, data, kind))
    if format_of(name) is None:
        fmt = ext.lstrip(".") or "autre"
        return PieceText(name, kind, fmt)
    return _not_blank(PieceText.from_model(name, kind, read_model(name, data)))


def _not_blank(piece: PieceText) -> PieceText:
    """Refuse a piece whose reading holds no text at all (only spaces, empty cells,
    images or empty fields): read as empty, it would turn into « clause absente »
    errors. A PDF without a text layer (scanned) is not refused here: the check reports it
    as « pièce sans couche texte » (``piece-sans-texte``, an error: non vérifiable).

    Raises:
        InputError: no line with text (French, naming the piece).
    """
    if piece.has_text_layer and not any(ln.text.strip() for ln in piece.lines):
        raise InputError(
            "pièce vide : aucun texte lisible (seulement des espaces, des cellules ou des "
            "champs vides, ou des images) ; remplacez-la par le document complet, en "
            "texte, ou retirez-la du dossier.",
            piece.path,
        )
    return piece


# --------------------------------------------------------------------------- dossier


def _skip(name: str) -> bool:
    """Hidden files, Office lock files and editor backups are not pieces."""
    return name.startswith((".", "~$")) or name.endswith("~")


def _too_big(size: int, limit: int, name: str) -> None:
    if size > limit:
        raise InputError(
            f"pièce trop volumineuse ({fmt.number(size)} octets, maximum "
            f"{fmt.number(limit)} octets) : "
            "allégez le document (images compressées) ou scindez-le.",
            name,
        )


def _outside(name: str) -> InputError:
    return InputError(
        "chemin hors du dossier : ce lien symbolique pointe en dehors du dossier de la "
        "consultation ; copiez le fichier dans le dossier au lieu de le lier.",
        name,
    )


def _resolved(path: Path, rel: str) -> Path:
    """``path`` with every symbolic link followed; a link that leads back to itself is
    refused in French (``rel``: its name in the dossier)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python < 3.13: RuntimeError; later: OSError ELOOP
        raise InputError(
            "lien symbolique en boucle : ce lien mène, de lien en lien, à lui-même ; "
            "remplacez-le par le fichier qu'il devait désigner.",
            rel,
        ) from None


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


#: One entry of a dossier folder: (path relative to the dossier, "file" | "dir" | other,
#: what reads its bytes).
Entry = tuple[str, str, Callable[[], bytes]]


class _DiskTree:
    """The dossier as files on disk: links are followed only inside the dossier.

    Raises:
        InputError: the folder does not exist or is not a folder.
    """

    commit: str | None = None
    rev: str | None = None
    no_pieces = (
        "aucune pièce : le dossier « pieces/ » est vide ; déposez-y les pièces du DCE "
        "(RC, CCAP, CCTP…)."
    )

    def __init__(self, path: str | os.PathLike[str], max_bytes: int) -> None:
        self.display = os.fspath(path)
        self.root = Path(path)
        self.max_bytes = max_bytes
        if not self.root.exists():
            raise InputError(
                "dossier introuvable : vérifiez le chemin du dossier de la consultation.",
                self.display,
            )
        if not self.root.is_dir():
            raise InputError(
                "ce n'est pas un dossier : indiquez le dossier qui contient tender.yaml et "
                "pieces/.",
                self.display,
            )
        self.root_res = _resolved(self.root, self.display)

    def tender(self) -> bytes:
        tender_path = self.root / TENDER_FILE
        if not tender_path.exists() and not tender_path.is_symlink():
            raise InputError(
                "tender.yaml manquant : créez ce fichier (description de la consultation) "
                "à la racine du dossier.",
                TENDER_FILE,
            )
        if not _resolved(tender_path, TENDER_FILE).is_relative_to(self.root_res):
            raise _outside(TENDER_FILE)
        try:
            return tender_path.read_bytes()
        except OSError as exc:
            raise InputError(f"tender.yaml illisible ({os_reason(exc)}).", TENDER_FILE) from None

    def check_pieces(self) -> None:
        pieces = self.root / PIECES_DIR
        if pieces.is_symlink() and not _resolved(pieces, PIECES_DIR + "/").is_relative_to(
            self.root_res
        ):
            raise _outside(PIECES_DIR + "/")
        if not pieces.is_dir():
            raise InputError(
                "aucune pièce : le dossier ne contient pas de sous-dossier « pieces/ » ; "
                "déposez-y les pièces du DCE (RC, CCAP, CCTP…).",
                PIECES_DIR + "/",
            )

    def entries(self, folder: str) -> Iterator[Entry]:
        for child in sorted((self.root / folder).iterdir(), key=lambda p: p.name):
            if _skip(child.name):
                continue
            rel = child.relative_to(self.root).as_posix()
            _check_name(rel)
            resolved = _resolved(child, rel)
            if not resolved.is_relative_to(self.root_res):
                raise _outside(rel)
            kind = "dir" if resolved.is_dir() else "file" if resolved.is_file() else "other"
            yield rel, kind, functools.partial(self._read, rel, resolved)

    def _read(self, rel: str, resolved: Path) -> bytes:
        _too_big(resolved.stat().st_size, self.max_bytes, rel)
        try:
            return resolved.read_bytes()
        except OSError as exc:
            raise InputError(f"pièce illisible ({os_reason(exc)}).", rel) from None


class _GitTree:
    """The dossier as committed in a Git revision (read through :mod:`tasks.git`, from
    the object database: no checkout); symbolic links are followed inside the dossier.

    Raises:
        InputError: not in a Git working tree, folder outside the repository, unknown
            revision, folder absent from the revision.
    """

    def __init__(self, path: str | os.PathLike[str], rev: str, max_bytes: int) -> None:
        self.display = os.fspath(path)
        self.rev = rev
        self.max_bytes = max_bytes
        self.repo = _git_repo(Path(path).absolute(), self.display)
        self.base = self.repo.rel(Path(path).absolute())
        commit = self.repo.rev(rev)
        if commit is None:
            raise InputError(
                f"révision « {rev} » introuvable dans le dépôt {self.repo.top} : indiquez un "
                "sha de commit, une étiquette ou une branche existants (voir « git log "
                "--oneline »).",
                self.display,
            )
        self.commit = commit
        self.where = f"la révision « {rev} » (commit {commit[:10]})"
        if self._type("") != "tree":
            untracked = (
                Path(path).is_dir()
                and not self.repo.run("ls-files", "--", self.base or ".", check=False).strip()
            )
            raise InputError(
                f"dossier « {self.base or '.'} » absent de {self.where} : "
                + (
                    "il n'a jamais été commité ; enregistrez-le dans le dépôt "
                    f"(git add {self.base or '.'} puis git commit)."
                    if untracked
                    else "vérifiez la révision ou le chemin."
                ),
                self.display,
            )
        self.no_pieces = f"aucune pièce : le dossier « pieces/ » est vide dans {self.where}."

    def _spec(self, rel: str) -> str:
        path = posixpath.join(self.base, rel) if rel else self.base
        return f"{self.commit}:{path}" if path else f"{self.commit}^{{tree}}"

    def _type(self, rel: str) -> str:
        """``tree``, ``blob``, … of ``rel`` in the dossier at the revision, "" if absent."""
        return self.repo.run("cat-file", "-t", self._spec(rel), check=False).decode().strip()

    def _lookup(self, rel: str) -> tuple[str, str, str] | None:
        """(mode, type, sha) of ``rel`` in the dossier at the revision, or None."""
        folder, name = posixpath.split(rel)
        for mode, typ, sha, entry in self._list(folder):
            if entry == name:
                return mode, typ, sha
        return None

    def _list(self, folder: str) -> list[tuple[str, str, str, str]]:
        path = posixpath.join(self.base, folder) if folder else self.base
        return self.repo.tree(self.commit, path)

    def tender(self) -> bytes:
        found = self._lookup(TENDER_FILE)
        if found is None:
            raise InputError(f"tender.yaml absent de {self.where}.", TENDER_FILE)
        mode, typ, sha = found
        if typ != "blob":
            raise InputError("tender.yaml doit être un fichier.", TENDER_FILE)
        return self._blob(TENDER_FILE, mode, sha)

    def check_pieces(self) -> None:
        if self._type(PIECES_DIR) != "tree":
            raise InputError(
                f"aucune pièce : pas de sous-dossier « pieces/ » dans {self.where}.",
                PIECES_DIR + "/",
            )

    def entries(self, folder: str) -> Iterator[Entry]:
        for mode, typ, sha, name in sorted(self._list(folder), key=lambda e: e[3]):
            if _skip(name):
                continue
            rel = f"{folder}/{name}"
            kind = {"blob": "file", "tree": "dir"}.get(typ, typ)
            yield rel, kind, functools.partial(self._blob, rel, mode, sha)

    def _blob(self, name: str, mode: str, sha: str, depth: int = 0) -> bytes:
        """Bytes of a blob; a symbolic link is followed when it stays in the dossier."""
        if mode == "120000":
            target = (self.repo.blobs([sha])[0] or b"").decode("utf-8", "replace")
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            if target.startswith("/") or joined == ".." or joined.startswith("../"):
                raise _outside(name)
            if depth > 8:
                raise _outside(name)
            linked = self._lookup(joined)
            if linked is None:
                raise InputError(
                    "lien symbolique cassé : la cible n'existe pas dans la révision.", name
                )
            if linked[1] != "blob":
                raise _outside(name)
            return self._blob(name, linked[0], linked[2], depth + 1)
        _too_big(int(self.repo.text("cat-file", "-s", sha).strip()), self.max_bytes, name)
        return self.repo.blobs([sha])[0] or b""


def _git_repo(absolute: Path, display: str):
    """The Git working tree holding ``absolute`` (or its nearest existing parent: the
    folder may exist only in the revision).

    Raises:
        InputError: not in a Git working tree, or a bare repository.
    """
    from tasks.git import NotARepository, Repo, git_text

    probe = absolute
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return Repo.discover(probe)
    except NotARepository:
        folder = probe if probe.is_dir() else probe.parent
        bare = git_text(["rev-parse", "--is-bare-repository"], folder, check=False)
        if bare.strip() == "true":
            raise InputError("dépôt Git sans copie de travail (dépôt « bare »).", display) from None
        raise InputError(
            "ce dossier n'est pas dans un dépôt Git : l'option --rev demande un dossier "
            "suivi par Git (ou retirez --rev pour lire les fichiers tels quels).",
            display,
        ) from None


def _piece_files(tree: _DiskTree | _GitTree) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """The piece files of ``pieces/`` and of its sub-folders (one level), by name."""
    tree.check_pieces()
    for rel, kind, read in tree.entries(PIECES_DIR):
        if kind == "dir":
            for srel, skind, sread in tree.entries(rel):
                if skind == "file":
                    yield srel, sread
        elif kind == "file":
            yield rel, read


def _read_tree(tree: _DiskTree | _GitTree, allow_incomplete: bool) -> Dossier:
    """The dossier of ``tree``: tender.yaml validated, then every piece read.

    Raises:
        InputError: invalid tender.yaml, no piece, unreadable piece (see the trees).
    """
    tender, tender_lines, missing = _load_tender(tree.tender(), allow_incomplete)
    pieces = [read_piece(rel, read()) for rel, read in _piece_files(tree)]
    if not pieces:
        raise InputError(tree.no_pieces, PIECES_DIR + "/")
    return Dossier(
        tree.display,
        tender,
        TENDER_FILE,
        pieces,
        commit=tree.commit,
        rev=tree.rev,
        tender_lines=tender_lines,
        missing_fields=missing,
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
    tree = (
        _GitTree(path, rev, max_piece_bytes)
        if rev is not None
        else _DiskTree(path, max_piece_bytes)
    )
    return _apply_declared_kinds(_read_tree(tree, allow_incomplete))


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
