"""Markdown → sanitised Pandoc AST: one parse, then Python passes (sanitising, typography, structure)."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from tasks.dossier.model import Finding
from tasks.publish.base import _MD_READER, PANDOC_TIMEOUT_S, PIECE_TITLES, _finding
from tasks.publish.media import DECORATIVE_CLASS, IMAGE_TYPES, image_type
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
    subtitle: list[dict] | None = None  # Pandoc inlines (front matter « subtitle »)
    has_media: bool = True  # any image or formula (False: the media pass is skipped)


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

    _walk(inlines, fn)  # builds new containers, never changes ``inlines``
    return "".join(parts).strip()


_ALLOWED_SCHEMES = ("http://", "https://", "mailto:", "tel:", "#")
_BR_RE = re.compile(r"^\s*<br\s*/?>\s*$", re.I)


_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


@lru_cache(maxsize=1)
def _private_symbols() -> tuple[dict[str, str], str]:
    """``clause_library/vocabulary/symboles-prives.yaml``: look-alikes and the default."""
    import yaml

    path = Path(__file__).resolve().parents[2] / "clause_library" / "vocabulary"
    data = yaml.safe_load((path / "symboles-prives.yaml").read_text(encoding="utf-8"))
    return dict(data["remplacements"]), str(data["defaut"])


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
    s = _Sanitizer(doc_source, markdown, read_file)
    blocks = _walk(ast["blocks"], s.node)
    return {**ast, "blocks": blocks}, s.images, s.findings


class _Sanitizer:
    """One piece's walk: what it drops or replaces, the images it embeds, its findings."""

    def __init__(
        self, doc_source: str, markdown: str, read_file: Callable[[str], bytes | None]
    ) -> None:
        self.doc_source = doc_source
        self.markdown = markdown
        self.read_file = read_file
        self.base = posixpath.dirname(doc_source)
        self.images: dict[str, bytes] = {}
        self.findings: list[Finding] = []
        self.unknown: set[str] = set()

    def warn(self, rule: str, needle: str, message: str) -> None:
        """A finding of ``rule`` located at ``needle`` (severity from rules.yaml)."""
        line = _source_line(self.markdown, needle)
        self.findings.append(_finding(rule, self.doc_source, line, message))

    def node(self, node: dict) -> Any:
        t = node["t"]
        if t == "Str" and _PRIVATE_USE.search(node["c"]):
            return {"t": "Str", "c": self.private(node["c"])}
        if t in ("Code", "CodeBlock") and _PRIVATE_USE.search(node["c"][1]):
            return {"t": t, "c": [node["c"][0], self.private(node["c"][1])]}
        if t in ("RawInline", "RawBlock"):
            return self.raw(t, *node["c"])
        if t == "Link":
            return self.link(node)
        if t == "Image":
            return self.image(node)
        return node

    def private(self, text: str) -> str:
        """Symbol/Wingdings characters (Unicode private use area) → their Unicode look-alike."""
        table, default = _private_symbols()

        def one(m: re.Match[str]) -> str:
            ch = m[0]
            if ch not in table and ch not in self.unknown:
                self.unknown.add(ch)
                self.warn(
                    "caractere-prive",
                    ch,
                    f"caractère U+{ord(ch):04X} d'une police Symbol/Wingdings, sans "
                    f"équivalent connu : remplacé par « {default} » ; écrivez le caractère "
                    "voulu (•, ✓, ☐…) dans la pièce.",
                )
            return table.get(ch, default)

        return _PRIVATE_USE.sub(one, text)

    def raw(self, t: str, fmt: str, text: str) -> Any:
        """Raw HTML/LaTeX: a ``<br>`` becomes a line break, comments vanish, the rest is
        dropped with a finding."""
        if t == "RawInline" and fmt == "html" and _BR_RE.match(text):
            return {"t": "LineBreak"}
        if fmt == "html" and text.lstrip().startswith("<!--"):
            return None  # drafting comments are never published
        self.warn(
            "contenu-brut-ignore",
            text.strip()[:40],
            f"code {fmt.upper()} brut ignoré (« {text.strip()[:60]} ») : écrivez en "
            "Markdown ; les pièces publiées ne contiennent pas de code brut.",
        )
        return None

    def link(self, node: dict) -> Any:
        """A link to a local file or with a scheme not allowed keeps its text only."""
        url = node["c"][2][0]
        if url.startswith(_ALLOWED_SCHEMES) or not (
            ":" in url.split("/", 1)[0] or url.startswith(("/", "\\", "~"))
        ):
            return node
        self.warn(
            "lien-fichier-local",
            url,
            f"lien vers « {url[:80]} » retiré (fichier local ou schéma non autorisé).",
        )
        return {"t": "Span", "c": [["", [], []], node["c"][1]]}

    def image(self, node: dict) -> Any:
        """An image with its alternative (or marked decorative), read from the dossier,
        of a safe type, embedded by content hash; otherwise dropped with a finding."""
        attr, alt, (url, title) = node["c"]
        needle = url or "!["
        decorative = DECORATIVE_CLASS in attr[1]
        if not decorative and not _stringify(alt):
            self.warn(
                "image-sans-alternative",
                needle,
                f"image « {url[:80]} » sans texte de remplacement : écrivez "
                "![description de l'image](fichier.png), ou ![](fichier.png){.decoratif} "
                "pour une image purement décorative (RGAA critère 1.1, PDF/UA-1 §7.3).",
            )
            return None
        ext = PurePosixPath(url.split("?")[0]).suffix.lower()
        rel = posixpath.normpath(posixpath.join(self.base, url)) if url else ""
        data = self.local_image(url, rel, ext)
        if data is None:
            self.warn(
                "image-hors-dossier",
                needle,
                f"image « {url[:80]} » ignorée (absente, hors du dossier ou d'un format "
                "non accepté) : placez une image PNG, JPEG, GIF ou SVG dans le dossier de la "
                "consultation et écrivez son chemin relatif à la pièce.",
            )
            return {"t": "Span", "c": [["", [], []], [] if decorative else alt]}
        problem = image_type(rel, data)
        if problem:
            self.warn(
                "image-non-sure",
                needle,
                f"image « {url[:80]} » refusée : {problem}. Remplacez-la par une image PNG, "
                "JPEG ou un SVG sans script ni ressource externe.",
            )
            return None
        name = f"img-{hashlib.sha256(data).hexdigest()[:16]}{ext}"
        self.images[name] = data
        return {"t": "Image", "c": [attr, alt, [f"cahier-image:{name}", title]]}

    def local_image(self, url: str, rel: str, ext: str) -> bytes | None:
        """The bytes of an image inside the dossier (relative path, accepted type)."""
        local = (
            url
            and ":" not in url.split("/", 1)[0]
            and not url.startswith(("/", "\\", "~"))
            and not rel.startswith("..")
            and ext in IMAGE_TYPES
        )
        return self.read_file(rel) if local else None


_FRONT_MATTER = re.compile(
    r"\A(?:\ufeff)?---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S
)
_EMPTY_HEADING = re.compile(r"(?m)^ {0,3}#{1,6}[ \t]*#*[ \t]*$")


def split_front_matter(source: str, markdown: str) -> tuple[dict[str, Any], str, list[Finding]]:
    """Take the YAML front matter (``---`` … ``---`` at the top) out of ``markdown``.

    Returns:
        ``(metadata, markdown without it, findings)``: the front matter's lines become
        blank lines, so that line numbers of findings stay those of the source; only
        ``title`` and ``subtitle`` are used. Unreadable YAML is a warning
        ``entete-invalide`` (file, line) and the block is dropped all the same: a front
        matter is never printed.
    """
    from tasks.dossier.yamlio import load_yaml
    from tasks.errors import InputError

    m = _FRONT_MATTER.match(markdown)
    if not m:
        return {}, markdown, []
    blank = "\n" * m[0].count("\n")
    rest = blank + markdown[m.end() :]
    try:
        data, _node = load_yaml(m["body"], source)
    except InputError as exc:
        line = exc.line + 1 if exc.line else 1
        return (
            {},
            rest,
            [
                _finding(
                    "entete-invalide",
                    source,
                    line,
                    f"en-tête YAML illisible ({exc.message}) : il est ignoré ; corrigez-le pour "
                    "que le titre et le sous-titre soient repris.",
                )
            ],
        )
    meta = {
        k: " ".join(str(data[k]).split())
        for k in ("title", "subtitle")
        if isinstance(data, dict)
        and isinstance(data.get(k), str | int | float)
        and str(data[k]).strip()
    }
    return meta, rest, []


def _inlines(text: str) -> list[dict]:
    out: list[dict] = []
    for i, word in enumerate(text.split()):
        if i:
            out.append({"t": "Space"})
        out.append({"t": "Str", "c": word})
    return out


def _has_image(inlines: list[dict]) -> bool:
    found: list[bool] = []
    _walk(inlines, lambda n: found.append(n["t"] in ("Image", "Math")) or n)
    return any(found)


def _structure(
    blocks: list[dict],
    default_title: str,
    source: str = "",
    markdown: str = "",
    front_title: str | None = None,
) -> tuple[list[dict], list[dict], str, list[Finding]]:
    """Title and heading levels (RGAA 9.1, PDF/UA-1 §7.4).

    The title is the front matter's ``title``, else the single leading H1, else
    ``default_title``; a leading H1 equal to the front matter's title is that title. The
    other headings are shifted so that the title is the only level 1 and no level is
    skipped. Empty headings are dropped (warning ``titre-vide``, file and line); changed
    levels are reported once per document (info ``titres-renumerotes``).

    Returns:
        ``(blocks, title inlines, title text, findings)``.
    """
    blocks, findings = _drop_empty_headings(blocks, source, markdown)
    blocks, title, shift = _title(blocks, default_title, front_title)
    out, renumbered = _renumber(blocks, shift, source, markdown)
    return out, title, _stringify(title), findings + renumbered


def _drop_empty_headings(
    blocks: list[dict], source: str, markdown: str
) -> tuple[list[dict], list[Finding]]:
    """Headings without text (nor image) dropped, each a ``titre-vide`` warning located at
    its ``#`` line of the Markdown source."""
    empty_lines = [
        markdown.count("\n", 0, m.start()) + 1 for m in _EMPTY_HEADING.finditer(markdown)
    ]
    kept: list[dict] = []
    findings: list[Finding] = []
    for b in blocks:
        if b["t"] == "Header" and not _stringify(b["c"][2]) and not _has_image(b["c"][2]):
            n = len(findings)
            findings.append(
                _finding(
                    "titre-vide",
                    source,
                    empty_lines[n] if n < len(empty_lines) else None,
                    "titre vide retiré : donnez-lui un intitulé ou supprimez la ligne « # » "
                    "(RGAA critère 9.1, PDF/UA-1 §7.4).",
                )
            )
            continue
        kept.append(b)
    return kept, findings


def _title(
    blocks: list[dict], default_title: str, front_title: str | None
) -> tuple[list[dict], list[dict], int]:
    """``(blocks, title inlines, shift)``: the title (front matter, else the single leading
    H1 taken out of the blocks, else ``default_title``) and how much the other headings
    go down (1 while an H1 stays among them)."""
    headers = [i for i, b in enumerate(blocks) if b["t"] == "Header"]
    h1 = [i for i in headers if blocks[i]["c"][0] == 1]
    leading = h1[0] if h1 and h1[0] == headers[0] and len(h1) == 1 else None
    if front_title is not None:
        if leading is not None and _key(_stringify(blocks[leading]["c"][2])) == _key(front_title):
            return blocks[:leading] + blocks[leading + 1 :], _inlines(front_title), 0
        return blocks, _inlines(front_title), 1
    if leading is not None:
        return blocks[:leading] + blocks[leading + 1 :], blocks[leading]["c"][2], 0
    return blocks, [{"t": "Str", "c": default_title}], 1


def _renumber(
    blocks: list[dict], shift: int, source: str, markdown: str
) -> tuple[list[dict], list[Finding]]:
    """Heading levels shifted by ``shift``, from 2 to 6 with no level skipped; one
    ``titres-renumerotes`` info when any level changed."""
    prev = 1
    out = []
    changed: list[tuple[str, int, int]] = []
    for b in blocks:
        if b["t"] == "Header":
            level = min(max(b["c"][0] + shift, 2), prev + 1, 6)
            prev = level
            if level != b["c"][0]:
                changed.append((_stringify(b["c"][2]), b["c"][0], level))
            b = {"t": "Header", "c": [level, b["c"][1], b["c"][2]]}
        out.append(b)
    if not changed:
        return out, []
    text, old, new = changed[0]
    return out, [
        _finding(
            "titres-renumerotes",
            source,
            _heading_line(markdown, text),
            f"{len(changed)} titre(s) renuméroté(s) pour que le titre du document soit le "
            f"seul de niveau 1 et qu'aucun niveau ne soit sauté (premier : « {text[:60]} », "
            f"niveau {old} → {new}) ; vérifiez la hiérarchie des titres (RGAA critère 9.1).",
        )
    ]


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.replace("\u2019", "'")).lower()


def _heading_line(markdown: str, text: str) -> int | None:
    words = text.split()
    if not words:
        return None
    rx = re.compile(r"(?m)^ {0,3}#{1,6}[ \t]+.*" + re.escape(words[0]))
    m = rx.search(markdown)
    return markdown.count("\n", 0, m.start()) + 1 if m else None


def parse_documents(
    pieces: list[RenderedPiece],
    read_file: Callable[[str], bytes | None],
    timeout: float = PANDOC_TIMEOUT_S,
) -> tuple[list[Document], list[Finding]]:
    """:func:`_parse_documents`; a document tree too deep to walk (hundreds of nested
    quotes or lists, which ``cahier check`` reports as ``imbrication-excessive``) is
    refused in French instead of a recursion error.

    Raises:
        InputError: the pieces nest too deeply; Pandoc errors (see :func:`_pandoc`).
    """
    try:
        return _parse_documents(pieces, read_file, timeout)
    except RecursionError:
        from tasks.check.accessibility import MAX_NESTING, nesting_depth
        from tasks.errors import InputError

        where = next(
            (
                (p.path, n)
                for p in pieces
                for n, line in enumerate(p.markdown.splitlines(), 1)
                if nesting_depth(line) > MAX_NESTING
            ),
            (", ".join(p.path for p in pieces), None),
        )
        raise InputError(
            "citations ou listes imbriquées trop profondément pour être assemblées : "
            "réduisez l'imbrication (voir « cahier check », règle imbrication-excessive).",
            *where,
        ) from None


def _parse_documents(
    pieces: list[RenderedPiece],
    read_file: Callable[[str], bytes | None],
    timeout: float = PANDOC_TIMEOUT_S,
) -> tuple[list[Document], list[Finding]]:
    """Markdown → sanitised Pandoc ASTs, in one Pandoc call for all pieces.

    Each piece's YAML front matter is taken out first (:func:`split_front_matter`: title
    and subtitle used, never printed); each piece is wrapped in a div ``#cahier-doc-N``;
    if a piece's own fences break that structure, the pieces are parsed one by one.

    Returns:
        the documents (same order) and the findings: sanitising warnings, errors for
        images without alternative text or refused, ``titre-vide``, ``titres-renumerotes``.
    """
    fronts = [split_front_matter(p.path, p.markdown) for p in pieces]
    sources = [f[1] for f in fronts]
    wrapped = "\n\n".join(
        f"::: {{#cahier-doc-{i}}}\n\n{md.rstrip()}\n\n:::" for i, md in enumerate(sources)
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
        for p, md in zip(pieces, sources, strict=True):
            one = _pandoc(["-f", _MD_READER, "-t", "json"], md.encode("utf-8"), timeout, p.path)
            bodies.append(json.loads(one)["blocks"])
    docs: list[Document] = []
    findings: list[Finding] = []
    for p, body, (meta, md, ffind) in zip(pieces, bodies, fronts, strict=True):
        findings.extend(ffind)
        ast = {"pandoc-api-version": raw["pandoc-api-version"], "meta": {}, "blocks": body}
        ast, images, f = _sanitize(p.path, md, ast, read_file)
        findings.extend(f)
        blocks2 = _walk(ast["blocks"], _apply_typography)
        default = french_text(PIECE_TITLES.get(p.kind, PurePosixPath(p.path).stem))
        blocks2, title, title_text, sfind = _structure(
            blocks2, default, p.path, md, meta.get("title")
        )
        findings.extend(sfind)
        ast["blocks"] = blocks2
        subtitle = french_typography(_inlines(meta["subtitle"])) if "subtitle" in meta else None
        docs.append(
            Document(
                p.path,
                p.stem,
                french_typography(title),
                french_text(title_text),
                ast,
                images,
                subtitle,
                bool(images) or _contains(blocks2, "Math"),
            )
        )
    return docs, findings


def _contains(value: Any, kind: str) -> bool:
    """True when a Pandoc JSON value holds a node of type ``kind`` (early exit)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if v.get("t") == kind:
                return True
            if "c" in v:
                stack.append(v["c"])
        elif isinstance(v, list):
            stack.extend(v)
    return False
