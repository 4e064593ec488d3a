"""Read a piece's bytes into a :class:`~tasks.dossier.blocks.DocumentModel`, cached.

:func:`read_model` dispatches on the extension (Markdown/text, PDF, DOCX, ODT, HTML) and
caches the model by the SHA-256 of the bytes: in memory for the process, and on disk for
the formats that are slow to read (PDF, DOCX, ODT) under
``load_settings().effective_cache_dir() / "models"`` (one JSON file per digest, written
atomically; a damaged entry is ignored and rewritten). The key also holds a digest of the
readers' source code, so a model read by another version of cahier is never reused. The
cache is an optimisation only: an unwritable cache folder is ignored. A piece whose
content is another known format than its extension says (:func:`sniff_format`: a DOCX
renamed .pdf) is refused with its real format and the name to give it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import OrderedDict
from pathlib import Path, PurePosixPath
from typing import Any

from tasks.errors import InputError

from .blocks import Block, Cell, DocumentModel, Loc, PageQuality, ReadingIssue, Span

__all__ = [
    "MODEL_VERSION",
    "clear_memory_cache",
    "model_from_json",
    "model_to_json",
    "read_model",
    "sniff_format",
]

#: Bump when the model or a reader changes: older cache entries are ignored.
MODEL_VERSION = 3
_MEMORY: OrderedDict[str, DocumentModel] = OrderedDict()
_MEMORY_MAX = 256
_DISK_FORMATS = frozenset({"pdf", "docx", "odt"})
_FORMATS = {
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".pdf": "pdf",
    ".docx": "docx",
    ".odt": "odt",
    ".html": "html",
    ".htm": "html",
}


def format_of(name: str) -> str | None:
    """Model format of a file name (md, txt, pdf, docx, odt, html), None if unsupported."""
    return _FORMATS.get(PurePosixPath(name).suffix.lower())


def clear_memory_cache() -> None:
    """Forget the in-memory models (benchmarks measure cold reads with it)."""
    _MEMORY.clear()


_cache_dir: Path | None = None
_READER_MODULES = (
    "blocks",
    "pdflines",
    "headings",
    "layout",
    "markup",
    "normalize",
    "ooxml",
    "odt",
    "docx",
    "pdf",
    "pdftables",
    "pdfgrid",
    "pdfflow",
    "quality",
    "parse",
)


def _code_digest() -> str:
    """Digest of the readers' source: a model read by other code is never reused."""
    global _code
    if _code is None:
        h = hashlib.sha256(str(MODEL_VERSION).encode())
        # PDF line numbers follow poppler's pdftotext when it is installed
        h.update(b"poppler" if shutil.which("pdftotext") else b"pdfium")
        here = Path(__file__).parent
        for mod in _READER_MODULES:
            try:
                h.update((here / f"{mod}.py").read_bytes())
            except OSError:
                h.update(mod.encode())
        _code = h.hexdigest()[:12]
    return _code


_code: str | None = None


def _default_cache_dir() -> Path | None:
    global _cache_dir
    if _cache_dir is None:
        try:
            from tasks.config.settings import load_settings

            _cache_dir = load_settings().effective_cache_dir() / "models"
        except InputError:
            return None
    return _cache_dir


# --------------------------------------------------------------------------- JSON


def _loc(d: list[Any]) -> Loc:
    return Loc(*d)


def _loc_out(loc: Loc) -> list[Any]:
    return [loc.page, loc.line, loc.para, loc.note]


def model_to_json(model: DocumentModel) -> bytes:
    """Compact JSON form of ``model`` (the disk cache format)."""
    import orjson

    blocks = [
        [
            b.kind,
            b.text,
            _loc_out(b.loc),
            [[s.text, _loc_out(s.loc)] for s in b.spans],
            b.level,
            b.number,
            b.title,
            [[[c.text, _loc_out(c.loc)] for c in row] for row in b.rows],
            sorted(b.roles),
            b.article,
            b.pending,
            b.pending_text,
            b.reliable,
            b.style,
        ]
        for b in model.blocks
    ]
    return orjson.dumps(
        {
            "version": MODEL_VERSION,
            "format": model.format,
            "sha256": model.sha256,
            "pages": model.pages,
            "has_text_layer": model.has_text_layer,
            "raw_source": model.raw_source,
            "quality": [
                [
                    q.page,
                    q.chars,
                    q.undecoded,
                    q.nul,
                    q.stripped_words,
                    q.words,
                    q.reliable,
                    q.reason,
                    q.examples,
                ]
                for q in model.quality
            ],
            "issues": [[i.code, i.message, _loc_out(i.loc), i.severity] for i in model.issues],
            "blocks": blocks,
        }
    )


def model_from_json(raw: bytes) -> DocumentModel | None:
    """The model stored by :func:`model_to_json`, None if damaged or of another version."""
    import orjson

    try:
        d = orjson.loads(raw)
        if d.get("version") != MODEL_VERSION:
            return None
        blocks = [
            Block(
                kind=b[0],
                text=b[1],
                loc=_loc(b[2]),
                spans=[Span(s[0], _loc(s[1])) for s in b[3]],
                level=b[4],
                number=b[5],
                title=b[6],
                rows=[[Cell(c[0], _loc(c[1])) for c in row] for row in b[7]],
                roles=set(b[8]),
                article=b[9],
                pending=b[10],
                pending_text=b[11],
                reliable=b[12],
                style=b[13],
            )
            for b in d["blocks"]
        ]
        return DocumentModel(
            format=d["format"],
            sha256=d["sha256"],
            blocks=blocks,
            quality=[PageQuality(*q) for q in d["quality"]],
            issues=[ReadingIssue(i[0], i[1], _loc(i[2]), i[3]) for i in d["issues"]],
            pages=d["pages"],
            has_text_layer=d["has_text_layer"],
            raw_source=d["raw_source"],
            version=MODEL_VERSION,
        )
    except (ValueError, KeyError, TypeError, IndexError):
        return None


# --------------------------------------------------------------------------- read


#: Formats recognised from the content (their extension: « . » + the key) → what a buyer
#: calls them.
_REAL_FORMATS = {
    "pdf": "PDF",
    "docx": "document Word (DOCX)",
    "odt": "document OpenDocument (ODT)",
    "xlsx": "classeur Excel (XLSX)",
    "ods": "classeur OpenDocument (ODS)",
}


def sniff_format(data: bytes) -> str | None:
    """The format of ``data`` read from its content (magic bytes, zip member names):
    a key of ``_REAL_FORMATS``, None when unknown or damaged."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if not data.startswith(b"PK\x03\x04"):
        return None
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                mime = zf.read("mimetype")[:100]
                if mime.endswith(b"opendocument.text"):
                    return "odt"
                if mime.endswith(b"opendocument.spreadsheet"):
                    return "ods"
    except (zipfile.BadZipFile, ValueError, OSError, KeyError):
        return None
    if "word/document.xml" in names:
        return "docx"
    return "xlsx" if "xl/workbook.xml" in names else None


def _check_disguised(name: str, data: bytes, fmt: str) -> None:
    """Refuse a piece whose content is another known format than its extension says
    (a DOCX renamed .pdf), naming the real format and the name to give it."""
    real = sniff_format(data)
    if real is None or real == fmt:
        return
    label, ext = _REAL_FORMATS[real], f".{real}"
    path = PurePosixPath(name)
    raise InputError(
        f"extension trompeuse : ce fichier « {path.suffix} » est en réalité un {label} ; "
        f"renommez-le en « {path.stem}{ext} ».",
        name,
    )


def _parse(name: str, data: bytes, fmt: str, sha: str) -> DocumentModel:
    _check_disguised(name, data, fmt)
    if fmt in ("md", "txt"):
        from .markup import read_text

        return read_text(name, data, sha, fmt)
    if fmt == "html":
        from .markup import read_html

        return read_html(name, data, sha)
    if fmt == "pdf":
        from .pdf import read_pdf

        return read_pdf(name, data, sha)
    if fmt == "docx":
        from .docx import read_docx

        return read_docx(name, data, sha)
    if fmt == "odt":
        from .odt import read_odt

        return read_odt(name, data, sha)
    raise ValueError(fmt)  # pragma: no cover - callers check format_of first


def read_model(
    name: str,
    data: bytes,
    *,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> DocumentModel:
    """The :class:`~tasks.dossier.blocks.DocumentModel` of piece ``name`` (its path
    relative to the dossier, used in messages) from its bytes.

    ``cache``: look up / store the model by SHA-256 (memory; disk for PDF/DOCX/ODT in
    ``cache_dir``, default ``load_settings().effective_cache_dir() / "models"``).

    Raises:
        InputError: unsupported extension, or the piece cannot be read at all (French
            message naming the file): binary text file, encrypted (user password) or
            damaged PDF, DOCX/ODT that is not a valid archive, oversized archive member,
            content of another format than the extension says (PDF, DOCX, ODT, XLSX, ODS).
    """
    fmt = format_of(name)
    if fmt is None:
        raise InputError(
            "format de pièce non pris en charge : déposez la pièce en Markdown, PDF, DOCX, "
            "ODT ou HTML.",
            name,
        )
    sha = hashlib.sha256(data).hexdigest()
    key = f"{sha}.{fmt}.{_code_digest()}"
    if cache:
        hit = _MEMORY.get(key)
        if hit is not None:
            _MEMORY.move_to_end(key)
            return hit
        folder = cache_dir or (_default_cache_dir() if fmt in _DISK_FORMATS else None)
        path = folder / f"{key}.json" if folder and fmt in _DISK_FORMATS else None
        if path is not None and path.is_file():
            try:
                model = model_from_json(path.read_bytes())
            except OSError:
                model = None
            if model is not None and model.sha256 == sha:
                _remember(key, model)
                return model
    model = _parse(name, data, fmt, sha)
    model.version = MODEL_VERSION
    if cache:
        _remember(key, model)
        if path is not None:
            _store(path, model)
    return model


def _remember(key: str, model: DocumentModel) -> None:
    _MEMORY[key] = model
    if len(_MEMORY) > _MEMORY_MAX:
        _MEMORY.popitem(last=False)


def _store(path: Path, model: DocumentModel) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(model_to_json(model))
        os.replace(tmp, path)
    except OSError:
        pass  # the cache is an optimisation: an unwritable folder is not an error
