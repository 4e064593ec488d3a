"""Per-document conversions (DOCX, ODT, HTML, PDF) and the assembly context."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.dossier.model import Finding, Tender
from tasks.dossier.reader import Dossier
from tasks.errors import InputError
from tasks.publish.base import FORMATS, PANDOC_TIMEOUT_S, REFERENCE_DIR
from tasks.publish.fonts import embedded_fonts, font_findings, typst_prelude
from tasks.publish.look import Look
from tasks.publish.mathalt import math_alt
from tasks.publish.media import (
    DECORATIVE_CLASS,
    IMAGE_TYPES,
    html_math_alttext,
    office_alt_texts,
    rewrite_media,
)
from tasks.publish.passes import Document, _stringify, _walk
from tasks.publish.tools import _pandoc, typst_compile_many
from tasks.publish.typography import NBSP, french_text


@dataclass
class AssemblyContext:
    """Everything a conversion needs, shared by all documents of one assembly."""

    tender: Tender
    clausier_version: str
    draft: bool
    epoch: int  # source date (seconds since 1970, UTC)
    workdir: Path  # temporary folder: per-tender reference documents
    staging: Path  # where outputs are written before being moved into place
    reference_docx: Path
    reference_odt: Path
    timeout: float = PANDOC_TIMEOUT_S
    look: Look = field(default_factory=Look)
    typst_template: Path = REFERENCE_DIR / "cahier.typ"

    @property
    def date(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.epoch, dt.UTC)


def source_date_epoch(dossier: Dossier) -> int:
    """The date written in the outputs: ``SOURCE_DATE_EPOCH`` if set, else the date of the
    commit read (``--rev``), else of HEAD of the dossier's repository, else 2000-01-01.
    """
    from tasks.config import load_settings

    epoch = load_settings().source_date_epoch
    if epoch is not None:
        return epoch
    info = _git_info(dossier)
    if info.get("date"):
        return int(info["date"])
    return 946684800


def _git_info(dossier: Dossier) -> dict[str, Any]:
    """The dossier's commit (the one read with ``--rev``, else HEAD): ``commit`` (sha),
    ``rev``, ``date`` (committer date, seconds since the epoch) and ``dirty`` (working tree
    only: uncommitted changes under the dossier). Outside Git, ``commit`` and ``rev``."""
    from tasks.git import Repo

    try:
        repo = Repo.discover(dossier.root)
    except InputError:  # not in a Git working tree
        return {"commit": dossier.commit, "rev": dossier.rev}
    sha = repo.rev(dossier.commit or "HEAD")
    if sha is None:  # a repository without commits yet
        return {"commit": dossier.commit, "rev": dossier.rev}
    dirty = None
    if not dossier.commit:
        rel = repo.rel(dossier.root) or "."
        dirty = bool(repo.text("status", "--porcelain", "--", rel).strip())
    return {
        "commit": sha,
        "rev": dossier.rev,
        "date": int(repo.text("show", "-s", "--format=%ct", sha).strip()),
        "dirty": dirty,
    }


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def normalize_zip(
    data: bytes, epoch: int | None = None, fix: Callable[[str, bytes], bytes] | None = None
) -> bytes:
    """Rewrite a zip (DOCX, ODT) deterministically: same entry order, fixed dates,
    fixed permissions; ``mimetype`` stays first and stored (ODF 1.3 §3.3).
    ``fix(name, data)`` may rewrite entries (dates in docProps/meta.xml).
    """
    date = _FIXED_ZIP_DATE
    if epoch is not None:
        d = dt.datetime.fromtimestamp(max(epoch, 315532800), dt.UTC)
        date = (d.year, d.month, d.day, d.hour, d.minute, d.second - d.second % 2)
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if fix is not None:
                content = fix(info.filename, content)
            zi = zipfile.ZipInfo(info.filename, date_time=date)
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            zi.compress_type = (
                zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            )
            dst.writestr(zi, content)
    return buf.getvalue()


def _customize_reference(path: Path, tender: Tender, draft: bool) -> bytes:
    """The stored reference document with the tender's header and the draft watermark."""
    values = {
        "{reference}": _xml_escape(tender.id),
        "{objet}": _xml_escape(french_text(tender.objet)),
        "{acheteur}": _xml_escape(french_text(tender.acheteur.nom)),
    }

    def fix(name: str, content: bytes) -> bytes:
        if not (name.startswith(("word/header", "word/footer")) or name == "styles.xml"):
            return content
        text = content.decode("utf-8").replace("n° {reference}", "n°" + NBSP + "{reference}")
        for k, v in values.items():
            text = text.replace(k, v)
        if not draft:
            # the watermark paragraph/shape is delimited by the PROJET markers
            text = re.sub(
                r"<w:p>(?:(?!<w:p[ >]).)*?CAHIER-PROJET(?:(?!</w:p>).)*?</w:p>",
                "",
                text,
                flags=re.S,
            )
            text = re.sub(
                r"<text:p text:style-name=\"CahierProjet\">.*?</text:p>", "", text, flags=re.S
            )
        return text.encode("utf-8")

    return normalize_zip(path.read_bytes(), None, fix)


def make_context(
    tender: Tender,
    clausier_version: str,
    draft: bool,
    epoch: int,
    workdir: Path,
    staging: Path,
    timeout: float = PANDOC_TIMEOUT_S,
    look: Look | None = None,
) -> AssemblyContext:
    """Prepare the per-tender reference documents and Typst template in ``workdir``:
    the buyer's (``look``, already checked by :func:`tasks.publish.look.resolve_look`)
    or cahier's, with the tender's header placeholders filled in."""
    look = look or Look()
    docx = workdir / "reference.docx"
    odt = workdir / "reference.odt"
    docx_src = look.reference_docx or REFERENCE_DIR / "reference.docx"
    odt_src = look.reference_odt or REFERENCE_DIR / "reference.odt"
    docx.write_bytes(_customize_reference(docx_src, tender, draft))
    odt.write_bytes(_customize_reference(odt_src, tender, draft))
    template = REFERENCE_DIR / "cahier.typ"
    if look.typst_template is not None:
        template = workdir / "template.typ"
        template.write_bytes(look.typst_template.read_bytes())
    if look.logo is not None and not look.logo_alt:
        look.logo_alt = french_text(f"Logo de {tender.acheteur.nom}")
    return AssemblyContext(
        tender, clausier_version, draft, epoch, workdir, staging, docx, odt, timeout, look, template
    )


# --------------------------------------------------------------------------- convert


@dataclass
class OutputFile:
    """One file written by the assembly (path relative to the output folder)."""

    path: str
    source: str
    format: str  # docx, odt, html, pdf, pdfa, source
    sha256: str
    bytes: int
    publish: bool = True
    fonts: list[str] = field(default_factory=list)  # PDF: fonts embedded (BaseFont)
    findings: list[Finding] = field(default_factory=list)  # e.g. font fallbacks


def _meta_string(s: str) -> dict:
    return {"t": "MetaString", "c": s}


def _doc_ast(doc: Document, ctx: AssemblyContext, fmt: str) -> bytes:
    """The document's AST as Pandoc JSON for ``fmt``: images and formulas placed with
    their alternative text (:func:`tasks.publish.media.rewrite_media`), metadata set."""
    t = ctx.tender
    d = ctx.date
    blocks = doc.ast["blocks"]
    if doc.has_media:  # _walk builds new nodes: the shared AST is never changed
        blocks = _walk(blocks, rewrite_media(fmt, doc.images))
    meta = {
        "title": {"t": "MetaInlines", "c": doc.title},
        "pagetitle": _meta_string(doc.title_text),
        "lang": _meta_string("fr-FR"),
        "subject": _meta_string(french_text(t.objet)),
        "author": {"t": "MetaList", "c": [_meta_string(french_text(t.acheteur.nom))]},
        "cahier-reference": _meta_string(t.id),
        "cahier-objet": _meta_string(french_text(t.objet)),
        "cahier-acheteur": _meta_string(french_text(t.acheteur.nom)),
        "cahier-clausier": _meta_string(ctx.clausier_version),
        "cahier-draft": {"t": "MetaBool", "c": ctx.draft},
        "cahier-year": _meta_string(str(d.year)),
        "cahier-month": _meta_string(str(d.month)),
        "cahier-day": _meta_string(str(d.day)),
    }
    if doc.subtitle:
        meta["subtitle"] = {"t": "MetaInlines", "c": doc.subtitle}
    if fmt == "html" and ctx.look.logo is not None:
        name, data = ctx.look.logo
        mime = IMAGE_TYPES[Path(name).suffix]
        meta["cahier-logo"] = _meta_string(f"data:{mime};base64,{base64.b64encode(data).decode()}")
        meta["cahier-logo-alt"] = _meta_string(ctx.look.logo_alt or "")
    return json.dumps(
        {"pandoc-api-version": doc.ast["pandoc-api-version"], "meta": meta, "blocks": blocks},
        ensure_ascii=False,
    ).encode("utf-8")


def _alt_texts(doc: Document) -> tuple[list[str], list[str | None]]:
    """French readings of the formulas and alternative texts of the images (None when
    decorative), in document order."""
    formulas: list[str] = []
    images: list[str | None] = []

    def fn(node: dict) -> dict:
        if node["t"] == "Math":
            formulas.append(math_alt(node["c"][1]))
        elif node["t"] == "Image":
            decorative = DECORATIVE_CLASS in node["c"][0][1]
            images.append(None if decorative else _stringify(node["c"][1]))
        return node

    if doc.has_media:
        _walk(doc.ast["blocks"], fn)
    return formulas, images


def _office_dates(epoch: int) -> Callable[[str, bytes], bytes]:
    stamp = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def fix(name: str, content: bytes) -> bytes:
        if name in ("docProps/core.xml", "meta.xml"):
            return content.replace(b"1970-01-01T00:00:00Z", stamp.encode())
        return content

    return fix


def _write(ctx: AssemblyContext, name: str, data: bytes) -> Path:
    path = ctx.staging / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _out(
    ctx: AssemblyContext,
    name: str,
    source: str,
    fmt: str,
    data: bytes,
    publish: bool = True,
    fonts: list[str] | None = None,
    findings: list[Finding] | None = None,
) -> OutputFile:
    _write(ctx, name, data)
    digest = hashlib.sha256(data).hexdigest()
    return OutputFile(name, source, fmt, digest, len(data), publish, fonts or [], findings or [])


def convert(doc: Document, fmt: str, ctx: AssemblyContext) -> list[OutputFile]:
    """Write ``doc`` in ``fmt`` into the staging folder; ``pdf`` gives the PDF/UA-1
    file and its PDF/A-2b archive copy (``archive/<stem>.pdf``).

    Raises:
        InputError: Pandoc or Typst failed or timed out.
    """
    ref_tmpl = REFERENCE_DIR
    if fmt in ("docx", "odt"):
        ast = _doc_ast(doc, ctx, fmt)
        ref = ctx.reference_docx if fmt == "docx" else ctx.reference_odt
        data = _pandoc(
            ["-f", "json", "-t", fmt, "--reference-doc", str(ref), "-o", "-"],
            ast,
            ctx.timeout,
            doc.source,
        )
        dates = _office_dates(ctx.epoch)
        formulas, images = _alt_texts(doc)
        titles = office_alt_texts(fmt, formulas, images)
        data = normalize_zip(data, ctx.epoch, lambda n, c: titles(n, dates(n, c)))
        return [_out(ctx, f"{doc.stem}.{fmt}", doc.source, fmt, data)]
    if fmt == "html":
        ast = _doc_ast(doc, ctx, fmt)
        data = _pandoc(
            [
                "-f",
                "json",
                "-t",
                "html5",
                "-s",
                "--template",
                str(ref_tmpl / "cahier.html"),
                "--toc",
                "--toc-depth=3",
                "--wrap=none",
                "--mathml",
            ],
            ast,
            ctx.timeout,
            doc.source,
        )
        data = html_math_alttext(data.decode("utf-8")).encode("utf-8")
        return [_out(ctx, f"{doc.stem}.html", doc.source, "html", data)]
    if fmt == "pdf":
        ast = _doc_ast(doc, ctx, fmt)
        src = _pandoc(
            ["-f", "json", "-t", "typst", "-s", "--template", str(ctx.typst_template)],
            ast,
            ctx.timeout,
            doc.source,
        )
        images = dict(doc.images)
        prelude = typst_prelude(ctx.look)
        if ctx.look.logo is not None:
            images[ctx.look.logo[0]] = ctx.look.logo[1]
        fonts = {name: data for name, _family, data in ctx.look.fonts}
        (pdf, archive), warnings = typst_compile_many(
            prelude + src, images, [["ua-1"], ["a-2b", "ua-1"]], doc.source, ctx.epoch, fonts
        )
        embedded = embedded_fonts(pdf)
        found = font_findings(warnings, embedded, doc.source)
        return [
            _out(ctx, f"{doc.stem}.pdf", doc.source, "pdf", pdf, fonts=embedded, findings=found),
            _out(ctx, f"archive/{doc.stem}.pdf", doc.source, "pdfa", archive, publish=False),
        ]
    raise InputError(f"format « {fmt} » inconnu : formats possibles {', '.join(FORMATS)}.")
