"""Markdown → sanitised Pandoc AST: one parse, then Python passes (sanitising, typography, structure)."""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from tasks.dossier.model import Finding, Severity
from tasks.publish.base import _MD_READER, PANDOC_TIMEOUT_S, PIECE_TITLES, _finding
from tasks.publish.pieces import RenderedPiece
from tasks.publish.tools import _pandoc
from tasks.publish.typography import _apply_typography, french_text, french_typography


@dataclass
class Document:
    """One document to write: a piece or the guide, as a sanitised Pandoc AST."""

    source: str  # "pieces/ccap.md" or "guide-de-reponse"
    stem: str
    title: list[dict]  # Pandoc inlines
    title_text: str
    ast: dict  # {"pandoc-api-version", "meta", "blocks"}
    images: dict[str, bytes] = field(default_factory=dict)  # "img-<sha>.png" → bytes


def _walk(value: Any, fn: Callable[[dict], Any]) -> Any:
    """Bottom-up rewrite of a Pandoc JSON value; ``fn`` returns a node, None (drop) or a list."""
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            new = _walk(item, fn)
            if isinstance(item, dict) and "t" in item:
                if new is None:
                    continue
                if isinstance(new, list):
                    out.extend(new)
                    continue
            out.append(new)
        return out
    if isinstance(value, dict):
        if "c" in value:
            value = {**value, "c": _walk(value["c"], fn)}
        return fn(value) if "t" in value else value
    return value


def _stringify(inlines: Any) -> str:
    parts: list[str] = []

    def fn(node: dict) -> dict:
        t = node["t"]
        if t == "Str":
            parts.append(node["c"])
        elif t in ("Space", "SoftBreak", "LineBreak"):
            parts.append(" ")
        elif t in ("Code", "Math"):
            parts.append(node["c"][-1])
        return node

    _walk(copy.deepcopy(inlines), fn)
    return "".join(parts).strip()


_ALLOWED_SCHEMES = ("http://", "https://", "mailto:", "tel:", "#")
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
_BR_RE = re.compile(r"^\s*<br\s*/?>\s*$", re.I)


def _source_line(source: str, needle: str) -> int | None:
    i = source.find(needle) if needle else -1
    return source.count("\n", 0, i) + 1 if i >= 0 else None


def _sanitize(
    doc_source: str,
    markdown: str,
    ast: dict,
    read_file: Callable[[str], bytes | None],
) -> tuple[dict, dict[str, bytes], list[Finding]]:
    """Drop raw HTML/LaTeX, file links and images from outside the dossier; embed images."""
    findings: list[Finding] = []
    images: dict[str, bytes] = {}
    base = posixpath.dirname(doc_source)

    def fn(node: dict) -> Any:
        t = node["t"]
        if t in ("RawInline", "RawBlock"):
            fmt, text = node["c"]
            if t == "RawInline" and fmt == "html" and _BR_RE.match(text):
                return {"t": "LineBreak"}
            if fmt == "html" and text.lstrip().startswith("<!--"):
                return None  # drafting comments are never published
            findings.append(
                _finding(
                    "contenu-brut-ignore",
                    doc_source,
                    _source_line(markdown, text.strip()[:40]),
                    f"code {fmt.upper()} brut ignoré (« {text.strip()[:60]} ») : écrivez en "
                    "Markdown ; les pièces publiées ne contiennent pas de code brut.",
                    Severity.warning,
                )
            )
            return None
        if t == "Link":
            url = node["c"][2][0]
            if not url.startswith(_ALLOWED_SCHEMES) and (
                ":" in url.split("/", 1)[0] or url.startswith(("/", "\\", "~"))
            ):
                findings.append(
                    _finding(
                        "lien-fichier-local",
                        doc_source,
                        _source_line(markdown, url),
                        f"lien vers « {url[:80]} » retiré (fichier local ou schéma non autorisé).",
                        Severity.warning,
                    )
                )
                return {"t": "Span", "c": [["", [], []], node["c"][1]]}
            return node
        if t == "Image":
            attr, alt, (url, title) = node["c"]
            if not _stringify(alt):
                findings.append(
                    _finding(
                        "image-sans-alternative",
                        doc_source,
                        _source_line(markdown, url),
                        f"image « {url[:80]} » sans texte de remplacement : écrivez "
                        "![description de l'image](fichier.png) (RGAA critère 1.1, PDF/UA-1).",
                    )
                )
                return None
            data: bytes | None = None
            ext = PurePosixPath(url.split("?")[0]).suffix.lower()
            rel = posixpath.normpath(posixpath.join(base, url)) if url else ""
            local = (
                url
                and ":" not in url.split("/", 1)[0]
                and not url.startswith(("/", "\\", "~"))
                and not rel.startswith("..")
                and ext in _IMAGE_TYPES
            )
            if local:
                data = read_file(rel)
            if data is None:
                findings.append(
                    _finding(
                        "image-hors-dossier",
                        doc_source,
                        _source_line(markdown, url),
                        f"image « {url[:80]} » ignorée : seules les images PNG, JPEG ou GIF "
                        "placées dans le dossier de la consultation sont incluses.",
                        Severity.warning,
                    )
                )
                return {"t": "Span", "c": [["", [], []], alt]}
            name = f"img-{hashlib.sha256(data).hexdigest()[:16]}{ext}"
            images[name] = data
            return {"t": "Image", "c": [attr, alt, [f"cahier-image:{name}", title]]}
        return node

    blocks = _walk(ast["blocks"], fn)
    return {**ast, "blocks": blocks}, images, findings


def _structure(blocks: list[dict], default_title: str) -> tuple[list[dict], list[dict], str]:
    """Title from the single leading H1 (else the default), headings shifted so that the
    title is the only level 1 and no level is skipped (RGAA 9.1, PDF/UA-1)."""
    headers = [i for i, b in enumerate(blocks) if b["t"] == "Header"]
    h1 = [i for i in headers if blocks[i]["c"][0] == 1]
    title: list[dict]
    shift = 1
    if h1 and h1[0] == headers[0] and len(h1) == 1:
        title = blocks[h1[0]]["c"][2]
        blocks = blocks[: h1[0]] + blocks[h1[0] + 1 :]
        shift = 0
    else:
        title = [{"t": "Str", "c": default_title}]
    prev = 1
    out = []
    for b in blocks:
        if b["t"] == "Header":
            level = min(max(b["c"][0] + shift, 2), prev + 1, 6)
            prev = level
            b = {"t": "Header", "c": [level, b["c"][1], b["c"][2]]}
        out.append(b)
    return out, title, _stringify(title)


def parse_documents(
    pieces: list[RenderedPiece],
    read_file: Callable[[str], bytes | None],
    timeout: float = PANDOC_TIMEOUT_S,
) -> tuple[list[Document], list[Finding]]:
    """Markdown → sanitised Pandoc ASTs, in one Pandoc call for all pieces.

    Each piece is wrapped in a div ``#cahier-doc-N``; if a piece's own fences break
    that structure, the pieces are parsed one by one instead.

    Returns:
        the documents (same order) and the sanitising findings (warnings, or errors for
        images without alternative text).
    """
    wrapped = "\n\n".join(
        f"::: {{#cahier-doc-{i}}}\n\n{p.markdown.rstrip()}\n\n:::" for i, p in enumerate(pieces)
    )
    raw = json.loads(_pandoc(["-f", _MD_READER, "-t", "json"], wrapped.encode("utf-8"), timeout))
    blocks = raw["blocks"]
    ok = len(blocks) == len(pieces) and all(
        b["t"] == "Div" and b["c"][0][0] == f"cahier-doc-{i}" for i, b in enumerate(blocks)
    )
    bodies: list[list[dict]] = []
    if ok:
        bodies = [b["c"][1] for b in blocks]
    else:
        for p in pieces:
            one = _pandoc(
                ["-f", _MD_READER, "-t", "json"], p.markdown.encode("utf-8"), timeout, p.path
            )
            bodies.append(json.loads(one)["blocks"])
    docs: list[Document] = []
    findings: list[Finding] = []
    for p, body in zip(pieces, bodies, strict=True):
        ast = {"pandoc-api-version": raw["pandoc-api-version"], "meta": {}, "blocks": body}
        ast, images, f = _sanitize(p.path, p.markdown, ast, read_file)
        findings.extend(f)
        blocks2 = _walk(ast["blocks"], _apply_typography)
        default = french_text(PIECE_TITLES.get(p.kind, PurePosixPath(p.path).stem))
        blocks2, title, title_text = _structure(blocks2, default)
        ast["blocks"] = blocks2
        docs.append(Document(p.path, p.stem, french_typography(title), title_text, ast, images))
    return docs, findings
