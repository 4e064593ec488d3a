"""Read a dossier (``tender.yaml`` + ``pieces/``) from disk or from a Git revision.

Every piece becomes a :class:`~tasks.dossier.document.PieceText`: normalised lines that keep
their origin (line of the file, page of the PDF) and the heading they belong to.

Formats: Markdown/text (UTF-8, or cp1252/Latin-1 accepted), DOCX/ODT (Pandoc, plain
output), PDF (pypdfium2, page by page; repeated headers/footers removed; scanned PDFs
flagged ``has_text_layer=False``). Other files (spreadsheets, images…) are returned
without lines. Every unusable input raises :class:`~tasks.errors.InputError` with a
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

from .document import Line, PieceText, Section
from .model import Tender
from .normalize import fold, join_hyphenated, normalize_text
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

_TEXT_EXT = {".md": "md", ".markdown": "md", ".txt": "txt"}
_PANDOC_EXT = {".docx": "docx", ".odt": "odt"}


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


# --------------------------------------------------------------------------- headings

_MD_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_PAGE_RE = re.compile(r"^\s{0,3}#{1,6}\s*page\s+(\d{1,5})\s*$", re.I)
_MD_ATTR_RE = re.compile(r"\s*\{[^}]*\}\s*$")
_ARTICLE_RE = re.compile(
    r"^(?:article|art\.)\s+(\d{1,3}(?:\.\d{1,3}){0,3})\.?(?=\s|$|[-–—:])\s*([-–—:.]\s*)?(.*)$",
    re.I,
)
_NUMBERED_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,2})(\.?)\s+(\S.*)$")
_MD_NUMBER_RE = re.compile(
    r"^(?:(?:article|art\.)\s+)?(\d{1,3}(?:\.\d{1,3}){0,3})\.?(?:\s*[-–—:.]\s*|\s+|$)(.*)$",
    re.I,
)
_TOC_RE = re.compile(r"\.{4,}|…{2,}|(?:\. ){3,}|_{4,}")
_TOC_END_RE = re.compile(r"(?:\.{4,}|…{2,})\s*\d{1,3}\s*$")
_TRAILING_PAGE_RE = re.compile(r"\s\d{1,3}$")
_NOT_TITLE_WORDS = frozenset(
    """
    mois jour jours an ans annee annees heure heures semaine semaines euro euros eur ht
    ttc janvier fevrier mars avril mai juin juillet aout septembre octobre novembre
    decembre rue avenue boulevard bd place allee chemin route impasse quai cedex bp cs
    mo go ko to km kg cm mm kwh mwh personnes jours/an etp points pages page fois
    """.split()
)


def _clean_title(title: str) -> str:
    return title.strip().rstrip(":").strip().strip("-–—").strip()


def _title_ok(title: str, *, need_upper_first: bool = True) -> bool:
    """Whether ``title`` (the text after a number) looks like a heading title."""
    if not title:
        return False
    if _TOC_RE.search(title) or _TRAILING_PAGE_RE.search(title):
        return False
    if title[-1] in ".;," and not title.endswith("etc."):
        return False
    words = title.split()
    first = words[0]
    # « 35 H par tranche », « 1 000 € »: the first word must be a word (two letters or
    # more, starting with a letter), capitalised unless a separator came before it
    if not first[0].isalpha() or sum(c.isalpha() for c in first) < 2:
        return False
    if need_upper_first and not first[0].isupper():
        return False
    word = re.sub(r"[^a-z/]", "", fold(first))
    if word in _NOT_TITLE_WORDS:
        return False
    return len(words) <= 18


def detect_heading(text: str) -> tuple[str | None, str, int] | None:
    """``(number, title, level)`` when the normalised line ``text`` is a numbered heading.

    Recognised: « ARTICLE 5 CLAUSES ENVIRONNEMENTALES », « Article 13.2 - Pénalités »,
    « 4.5 Insertion professionnelle : », « 4.5.1 Actions d'insertion : »,
    « 6.2 Jugement des offres », « 1. Objet de l'accord-cadre ». Rejected: table of
    contents lines (dotted leaders, trailing page number), amounts and durations
    (« 35 H par tranche », « 1 000 € », « 12 mois »), sentences, lines over 120
    characters, numbers deeper than three levels (« 16.1.4.2 »).
    """
    if not text or len(text) > 120 or not (text[0].isdigit() or text[0] in "Aa"):
        return None
    m = _ARTICLE_RE.match(text)
    if m:
        number, title = m.group(1), m.group(3).strip()
        if number.count(".") > 2:
            return None
        if not title:
            return number, "", number.count(".") + 1
        if not m.group(2) and not (title[0].isalpha() and title[0].isupper()):
            return None  # « Article 28 du règlement… » is a reference, not a heading
        if not _title_ok(title, need_upper_first=not m.group(2)):
            return None
        return number, _clean_title(title), number.count(".") + 1
    m = _NUMBERED_RE.match(text)
    if not m:
        return None
    number, dot, title = m.group(1), m.group(2), m.group(3).strip()
    if not _title_ok(title):
        return None
    level = number.count(".") + 1
    if level == 1 and not dot:
        # « 5 CLAUSES ENVIRONNEMENTALES » yes, « 1 Chef de projet » (a quantity) no
        letters = [c for c in title if c.isalpha()]
        if sum(c.isupper() for c in letters) < 0.6 * len(letters):
            return None
    return number, _clean_title(title), level


def _md_heading_parts(title: str) -> tuple[str | None, str]:
    """Split a Markdown heading title into (number, title)."""
    m = _MD_NUMBER_RE.match(title)
    if m and (m.group(2) or re.match(r"^(?:article|art\.)", title, re.I) or title.isdigit()):
        rest = m.group(2).strip()
        if not rest or rest[0].isalpha() or rest[0] in "«\"'(":
            return m.group(1), _clean_title(rest)
    return None, _clean_title(title)


# --------------------------------------------------------------------------- building


@dataclass(slots=True)
class _Raw:
    text: str
    src_line: int | None
    page: int | None
    md_level: int = 0  # Markdown « # » level, 0 when not a Markdown heading


_REPEAT_DIGITS_RE = re.compile(r"\d+")
_HAS_ALNUM_RE = re.compile(r"\w")
_EMPHASIS_RE = re.compile(r"\*\*|(?<!\w)__|__(?!\w)")


def _repeated_lines(texts: list[str], raws: list[_Raw], zone: int = 3) -> set[int]:
    """Indexes of page headers/footers: lines repeated (digits aside) among the first or
    last ``zone`` lines of more than half of the pages, when there are three pages or more.
    """
    pages: dict[int, list[int]] = {}
    for i, r in enumerate(raws):
        if r.page is not None:
            pages.setdefault(r.page, []).append(i)
    if len(pages) < 3:
        return set()
    candidates: dict[str, set[int]] = {}
    zones: dict[int, str] = {}
    for page, idx in pages.items():
        for i in idx[:zone] + idx[-zone:]:
            if i in zones:
                continue
            key = _REPEAT_DIGITS_RE.sub("#", fold(texts[i]))
            if len(key) < 3:
                continue
            zones[i] = key
            candidates.setdefault(key, set()).add(page)
    threshold = max(3, len(pages) // 2 + 1)
    repeated = {k for k, v in candidates.items() if len(v) >= threshold}
    return {i for i, k in zones.items() if k in repeated}


def _build(raws: list[_Raw], *, markdown: bool, paged: bool) -> tuple[list[Line], list[Section]]:
    texts: list[str] = []
    kept: list[_Raw] = []
    for r in raws:
        t = r.text
        if markdown and "**" in t:
            t = _EMPHASIS_RE.sub("", t)
        t = normalize_text(t)
        if not t or _HAS_ALNUM_RE.search(t) is None:
            continue
        texts.append(t)
        kept.append(r)
    if paged:
        drop = _repeated_lines(texts, kept)
        if drop:
            texts = [t for i, t in enumerate(texts) if i not in drop]
            kept = [r for i, r in enumerate(kept) if i not in drop]
    texts = join_hyphenated(texts)
    lines: list[Line] = []
    sections: list[Section] = []
    current = -1
    for k, (t, r) in enumerate(zip(texts, kept, strict=True)):
        if not t or not _HAS_ALNUM_RE.search(t):
            continue
        heading: tuple[str | None, str, int] | None = None
        if r.md_level:
            number, title = _md_heading_parts(t)
            heading = (number, title, r.md_level)
        else:
            heading = detect_heading(t)
            if heading and k + 1 < len(texts) and _TOC_END_RE.search(texts[k + 1]):
                heading = None  # a table-of-contents entry wrapped onto two lines
        if heading is not None:
            sections.append(Section(heading[0], heading[1], heading[2], len(lines)))
            current = len(sections) - 1
        lines.append(Line(t, fold(t), r.src_line, r.page, current))
    return lines, sections


# --------------------------------------------------------------------------- formats


def _decode_text(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:65536]:
        raise InputError(
            "fichier binaire : un texte (Markdown ou .txt) est attendu ; vérifiez "
            "l'extension du fichier ou exportez le document au bon format.",
            name,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _text_raws(text: str, *, markdown: bool) -> tuple[list[_Raw], bool]:
    raws: list[_Raw] = []
    page: int | None = None
    paged = False
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if markdown and line.lstrip().startswith("#"):
            pm = _MD_PAGE_RE.match(line)
            if pm:
                page = int(pm.group(1))
                paged = True
                continue
            hm = _MD_HEADING_RE.match(line)
            if hm and hm.group(2).strip():
                title = _MD_ATTR_RE.sub("", hm.group(2))
                raws.append(_Raw(title, n, page, len(hm.group(1))))
                continue
        raws.append(_Raw(line, n, page))
    return raws, paged


def _pandoc_plain(data: bytes, fmt: str, name: str) -> str:
    label = fmt.upper()
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"fichier {label} illisible : il est protégé par mot de passe ou au format "
            "Word 97-2003 ; enregistrez-le sans mot de passe au format .docx ou .odt.",
            name,
        )
    if not data.startswith(b"PK\x03\x04"):
        kind = "Office Open XML" if fmt == "docx" else "OpenDocument"
        raise InputError(
            f"fichier {label} illisible (ce n'est pas une archive {kind}) : "
            "vérifiez l'extension ou réenregistrez le document depuis votre traitement de texte.",
            name,
        )
    import pypandoc  # lazy: Pandoc is only needed for DOCX/ODT pieces

    try:
        return pypandoc.convert_text(
            data, "plain", format=fmt, extra_args=["--sandbox", "--wrap=none"]
        )
    except (RuntimeError, OSError, ValueError) as exc:
        detail = str(exc).strip().splitlines()
        reason = detail[-1][:200] if detail else "erreur inconnue"
        raise InputError(
            f"fichier {label} illisible (Pandoc : {reason}) : réenregistrez le document "
            "depuis votre traitement de texte.",
            name,
        ) from None


def _pdf_pages(data: bytes, name: str) -> list[str]:
    import pypdfium2 as pdfium  # lazy

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputError(
                "PDF chiffré (protégé par mot de passe) : déposez une version sans mot de passe.",
                name,
            ) from None
        raise InputError(
            "PDF illisible (fichier endommagé ou qui n'est pas un PDF) : exportez de "
            "nouveau le document en PDF.",
            name,
        ) from None
    try:
        pages: list[str] = []
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                textpage = page.get_textpage()
                try:
                    pages.append(textpage.get_text_range())
                finally:
                    textpage.close()
            finally:
                page.close()
        return pages
    except pdfium.PdfiumError:
        raise InputError(
            "PDF illisible (page endommagée) : exportez de nouveau le document en PDF.", name
        ) from None
    finally:
        pdf.close()


def read_piece(name: str, data: bytes, kind: str | None = None) -> PieceText:
    """Read one piece from its bytes; ``name`` is its path relative to the dossier.

    Raises:
        InputError: empty piece, binary content in a text file, DOCX/ODT that is not an
            archive, Pandoc failure, encrypted or damaged PDF.
    """
    kind = kind or piece_kind(name)
    ext = PurePosixPath(name).suffix.lower()
    if not data:
        raise InputError(
            "pièce vide : le fichier ne contient rien ; remplacez-le par le document "
            "complet ou retirez-le du dossier.",
            name,
        )
    if ext in _TEXT_EXT:
        fmt = _TEXT_EXT[ext]
        text = _decode_text(data, name)
        markdown = fmt == "md"
        raws, paged = _text_raws(text, markdown=markdown)
        lines, sections = _build(raws, markdown=markdown, paged=paged)
        return PieceText(name, kind, fmt, lines, sections, raw_source=text)
    if ext in _PANDOC_EXT:
        fmt = _PANDOC_EXT[ext]
        plain = _pandoc_plain(data, fmt, name)
        raws = [_Raw(t, n, None) for n, t in enumerate(plain.splitlines(), 1) if t.strip()]
        lines, sections = _build(raws, markdown=False, paged=False)
        return PieceText(name, kind, fmt, lines, sections)
    if ext == ".pdf":
        pages = _pdf_pages(data, name)
        visible = sum(len(t) - t.count(" ") - t.count("\r") - t.count("\n") for t in pages)
        if not pages or visible < 20 * len(pages):
            return PieceText(name, kind, "pdf", has_text_layer=False)
        raws = [
            _Raw(t, n, p)
            for p, page_text in enumerate(pages, 1)
            for n, t in enumerate(page_text.splitlines(), 1)
            if t.strip()
        ]
        lines, sections = _build(raws, markdown=False, paged=True)
        return PieceText(name, kind, "pdf", lines, sections)
    fmt = ext.lstrip(".") or "autre"
    return PieceText(name, kind, fmt)


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
        resolved = child.resolve()
        if not resolved.is_relative_to(root_res):
            raise _outside(rel)
        if resolved.is_dir():
            for sub in entries(child):
                if _skip(sub.name):
                    continue
                srel = sub.relative_to(root).as_posix()
                sres = sub.resolve()
                if not sres.is_relative_to(root_res):
                    raise _outside(srel)
                if sres.is_file():
                    yield srel, sres
        elif resolved.is_file():
            yield rel, resolved


def _read_from_disk(path: str | os.PathLike[str], max_bytes: int) -> Dossier:
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
    tender, tender_lines = validate_yaml_with_lines(Tender, raw, TENDER_FILE)
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
    return Dossier(display, tender, TENDER_FILE, pieces, tender_lines=tender_lines)


def _read_from_git(path: str | os.PathLike[str], rev: str, max_bytes: int) -> Dossier:
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
        tender, tender_lines = validate_yaml_with_lines(
            Tender, blob_bytes(TENDER_FILE, tender_blob), TENDER_FILE
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
        )


def read_dossier(
    path: str | os.PathLike[str], rev: str | None = None, *, max_piece_bytes: int = 20_000_000
) -> Dossier:
    """Read the dossier at ``path`` (``tender.yaml`` + ``pieces/``).

    With ``rev``, the dossier is read from that Git revision (commit sha, short sha, tag,
    branch) through the object database: no checkout, the working tree is not read.

    Raises:
        InputError: missing or invalid tender.yaml, no piece, unreadable piece, path
            outside the dossier, unknown revision, not a Git repository.
    """
    if rev is not None:
        dossier = _read_from_git(path, rev, max_piece_bytes)
    else:
        dossier = _read_from_disk(path, max_piece_bytes)
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
