"""Accessibility validators of the assembled documents (used by the tests and the bench).

- HTML: axe-core (the copy shipped by the ``axe-playwright-python`` package) in Debian's
  headless Chromium driven by Playwright, with exactly the tags :data:`AXE_TAGS`
  (WCAG 2.0 and 2.1, levels A and AA) and no rule disabled.
- PDF: the ``pdfua`` package (machine-checkable subset of PDF/UA-1, ISO 14289-1, on
  pikepdf) plus :func:`pdf_structure` (cahier's own checks: tagged, structure tree,
  French ``/Lang``, title shown, PDF/UA identifier, every figure and formula with
  ``/Alt``, tables with header cells, one H1, every font embedded).
- DOCX/ODT: :func:`docx_problems` / :func:`odt_problems`: title, language, heading
  styles, table header rows, alternative text of images (and formulas in ODT).

Each returns an :class:`Audit` (rules run, pages audited, violations in French or as
the validator states them). ``pdfua``, ``playwright`` and ``axe-playwright-python``
are test dependencies, imported only when their validator runs.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "AXE_TAGS",
    "CHROMIUM",
    "Audit",
    "audit_docx",
    "audit_html",
    "audit_odt",
    "audit_outputs",
    "audit_pdf",
    "docx_problems",
    "odt_problems",
    "pdf_structure",
]

#: axe-core tags run: WCAG 2.0 and 2.1, levels A and AA — nothing else, nothing disabled.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]

#: cahier's own PDF structure checks (rule id → what it checks).
PDF_RULES = {
    "balise": "document balisé (/MarkInfo /Marked true) avec arbre de structure",
    "langue": "langue du document en français (/Lang fr…)",
    "titre": "titre dans les métadonnées XMP et affiché (/DisplayDocTitle)",
    "pdfua-id": "identifiant PDF/UA-1 dans les métadonnées XMP (pdfuaid:part 1)",
    "figure-alt": "chaque /Figure a un texte de remplacement /Alt",
    "formule-alt": "chaque /Formula a un texte de remplacement /Alt",
    "tableau-entetes": "chaque /Table a des cellules d'en-tête /TH",
    "titre-unique": "un seul titre de niveau 1 (/H1)",
    "titre-non-vide": "chaque titre /H1…/H6 marque du contenu (un /MCID)",
    "polices": "toutes les polices incorporées",
}
OFFICE_RULES = ("titre", "langue", "styles-titres", "entetes-tableaux", "alternatives")


@dataclass
class Audit:
    """One validator on one file.

    file: the file audited; validator: « axe-core 4.x », « pdfua 0.1.3 », « cahier-pdf »,
    « cahier-docx », « cahier-odt »; rules: rules run; pages: pages audited (PDF pages,
    1 per HTML or office document); violations: one line each (rule: message); skipped:
    rules the validator reported it could not evaluate (never counted as passed).
    """

    file: str
    validator: str
    rules: int
    pages: int
    violations: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # rules the validator could not run


# --------------------------------------------------------------------------- HTML


@contextmanager
def chromium_page(chromium: Path = CHROMIUM) -> Iterator:
    """A page of Debian's headless Chromium (no browser download), French locale."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(locale="fr-FR", viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def audit_html(paths: Iterable[Path], chromium: Path = CHROMIUM) -> list[Audit]:
    """axe-core with :data:`AXE_TAGS` on each HTML file (one browser for all)."""
    import json

    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    version = re.search(r"axe v([\d.]+)", axe.axe_script[:200])
    name = f"axe-core {version[1] if version else ''}".strip()
    options = {"runOnly": {"type": "tag", "values": list(AXE_TAGS)}, "resultTypes": ["violations"]}
    audits: list[Audit] = []
    with chromium_page(chromium) as page:
        for path in paths:
            page.goto(Path(path).resolve().as_uri())
            page.evaluate(axe.axe_script)
            res = page.evaluate(f"axe.run(document, {json.dumps(options)})")
            rules = sum(
                len(res.get(k, [])) for k in ("violations", "passes", "incomplete", "inapplicable")
            )
            violations = [
                f"{v['id']} ({v.get('impact')}) : {v['help']} — "
                + ", ".join(" ".join(n.get("target", [])) for n in v.get("nodes", [])[:3])
                for v in res.get("violations", [])
            ]
            audits.append(Audit(str(path), name, rules, 1, violations))
    return audits


# --------------------------------------------------------------------------- PDF


def _struct_elements(root) -> Iterator:
    import pikepdf

    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > 200 or not isinstance(node, pikepdf.Dictionary):
            continue
        if "/S" in node:
            yield node
        kids = node.get("/K")
        if isinstance(kids, pikepdf.Array):
            stack.extend((k, depth + 1) for k in kids)
        elif isinstance(kids, pikepdf.Dictionary):
            stack.append((kids, depth + 1))


def _marks_content(node, depth: int = 0) -> bool:
    """True when the structure element's /K chain reaches a marked-content id."""
    import pikepdf

    if depth > 50 or not isinstance(node, pikepdf.Dictionary):
        return False
    kid = node.get("/K")
    items = list(kid) if isinstance(kid, pikepdf.Array) else [kid]
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            return True
        if isinstance(item, pikepdf.Dictionary):
            if item.get("/Type") == "/MCR" or _marks_content(item, depth + 1):
                return True
    return False


def pdf_structure(path: Path) -> tuple[list[str], int]:
    """cahier's own PDF/UA structure checks (:data:`PDF_RULES`): ``(violations, pages)``."""
    import pikepdf

    out: list[str] = []
    with pikepdf.open(path) as pdf:
        pages = len(pdf.pages)
        root = pdf.Root
        mark = root.get("/MarkInfo")
        tree = root.get("/StructTreeRoot")
        if not (isinstance(mark, pikepdf.Dictionary) and bool(mark.get("/Marked"))) or tree is None:
            out.append("balise : document non balisé ou sans arbre de structure")
        if not str(root.get("/Lang", "")).lower().startswith("fr"):
            out.append(f"langue : /Lang « {root.get('/Lang', '')} » au lieu du français")
        meta = pdf.open_metadata()
        prefs = root.get("/ViewerPreferences")
        if not str(meta.get("dc:title", "")).strip() or not (
            isinstance(prefs, pikepdf.Dictionary) and bool(prefs.get("/DisplayDocTitle"))
        ):
            out.append("titre : titre absent des métadonnées ou non affiché")
        if str(meta.get("pdfuaid:part", "")) != "1":
            out.append("pdfua-id : identifiant PDF/UA-1 absent des métadonnées XMP")
        counts = {"/H1": 0}
        tables = 0
        if tree is not None:
            for el in _struct_elements(tree):
                s = str(el.S)
                if s == "/H1":
                    counts["/H1"] += 1
                if re.fullmatch(r"/H[1-6]", s) and not _marks_content(el):
                    out.append(f"titre-non-vide : titre {s[1:]} vide")
                if s in ("/Figure", "/Formula") and not str(el.get("/Alt", "")).strip():
                    rule = "figure-alt" if s == "/Figure" else "formule-alt"
                    out.append(f"{rule} : {s[1:]} sans texte de remplacement")
                if s == "/Table":
                    tables += 1
                    if not any(str(k.S) == "/TH" for k in _struct_elements(el) if k is not el):
                        out.append("tableau-entetes : tableau sans cellule d'en-tête (/TH)")
        if counts["/H1"] != 1:
            out.append(f"titre-unique : {counts['/H1']} titre(s) de niveau 1 au lieu d'un")
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                if not any(k in obj for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    out.append(f"polices : police {obj.get('/FontName')} non incorporée")
    return out, pages


def audit_pdf(path: Path) -> list[Audit]:
    """The ``pdfua`` validator and :func:`pdf_structure` on one PDF (two audits)."""
    import pdfua

    report = pdfua.validate(str(path))
    pdfua_violations = [
        f"{f.rule_id} ({f.severity.name.lower()}) : {f.message}"
        for f in report.findings
        if f.severity >= pdfua.Severity.WARNING
    ]
    skipped = [f"{o.rule_id} : {o.skipped_reason}" for o in report.outcomes if o.skipped_reason]
    own, pages = pdf_structure(path)
    ran = len(report.outcomes) - len(skipped)
    return [
        Audit(str(path), f"pdfua {pdfua.__version__}", ran, pages, pdfua_violations, skipped),
        Audit(str(path), "cahier-pdf", len(PDF_RULES), pages, own),
    ]


# --------------------------------------------------------------------------- DOCX / ODT


def _parts(path: Path, *names: str) -> list[str]:
    """The text (UTF-8) of the members ``names`` of the zip package ``path``."""
    with zipfile.ZipFile(path) as z:
        return [z.read(name).decode("utf-8") for name in names]


def _title_and_language(meta: str, langs: set[str], is_french: Callable[[str], bool]) -> list[str]:
    """A DOCX or ODT's title (``dc:title`` of ``meta``) and text languages (``langs``,
    each checked lowercased by ``is_french``)."""
    out: list[str] = []
    title = re.search(r"<dc:title>([^<]*)</dc:title>", meta)
    if not title or not title[1].strip():
        out.append("titre : propriété Titre du document vide")
    if not langs or not all(is_french(lang.lower()) for lang in langs):
        out.append(f"langue : langue du texte {sorted(langs) or 'absente'} au lieu du français")
    return out


def docx_problems(path: Path) -> list[str]:
    """Title, language, heading styles, table header rows, image alternatives and formula
    titles (content control ``w:alias`` around each OMML formula) (DOCX)."""
    core, doc, styles = _parts(path, "docProps/core.xml", "word/document.xml", "word/styles.xml")
    langs = set(re.findall(r'<w:lang [^>]*w:val="([^"]+)"', styles + doc))
    out = _title_and_language(core, langs, lambda lang: lang.startswith("fr"))
    heading_ids = {
        m[1]
        for m in re.finditer(
            r'<w:style [^>]*w:styleId="([^"]+)"[^>]*>\s*<w:name w:val="(?:heading \d|Title)"',
            styles,
            re.I,
        )
    }
    used = re.findall(r'<w:pStyle w:val="([^"]+)"', doc)
    if not any(u in heading_ids for u in used):
        out.append("styles-titres : aucun paragraphe en style Titre ou Titre N")
    for i, table in enumerate(re.findall(r"<w:tbl>.*?</w:tbl>", doc, re.S), 1):
        first_row = re.search(r"<w:tr[ >].*?</w:tr>", table, re.S)
        if not first_row or "<w:tblHeader" not in first_row[0]:
            out.append(f"entetes-tableaux : tableau {i} sans ligne d'en-tête répétée")
    for m in re.finditer(r"<wp:docPr ([^>]*?)(/>|>(.*?)</wp:docPr>)", doc, re.S):
        descr = re.search(r'descr="([^"]*)"', m[1])
        decorative = m[3] and "adec:decorative" in m[3]
        if not (descr and descr[1].strip()) and not decorative:
            out.append("alternatives : image sans texte de remplacement ni marque décorative")
    titled = 0
    for m in re.finditer(r"<w:sdt>(.*?)</w:sdt>", doc, re.S):
        if re.search(r'<w:alias w:val="[^"]*\S[^"]*"/>', m[1]) and "<m:oMath" in m[1]:
            titled += m[1].count("<m:oMathPara>") or m[1].count("<m:oMath>")
    formulas = doc.count("<m:oMathPara>") + len(
        re.findall(r"<m:oMath>", re.sub(r"<m:oMathPara>.*?</m:oMathPara>", "", doc, flags=re.S))
    )
    if titled < formulas:
        out.append(
            f"alternatives : {formulas - titled} formule(s) sans titre de contrôle de contenu "
            "(lecture française)"
        )
    return out


def odt_problems(path: Path) -> list[str]:
    """Title, language, heading styles, table header rows, image and formula titles (ODT)."""
    meta, content, styles = _parts(path, "meta.xml", "content.xml", "styles.xml")
    langs = set(re.findall(r'fo:language="([^"]+)"', styles + content))
    out = _title_and_language(meta, langs, lambda lang: lang in ("fr", "zxx"))
    if "<text:h " not in content:
        out.append("styles-titres : aucun titre (text:h avec niveau de plan)")
    for i, table in enumerate(re.findall(r"<table:table .*?</table:table>", content, re.S), 1):
        if "<table:table-header-rows>" not in table:
            out.append(f"entetes-tableaux : tableau {i} sans ligne d'en-tête")
    for m in re.finditer(r"<draw:frame ([^>]*)>(.*?)</draw:frame>", content, re.S):
        inner = m[2]
        if "<draw:image" in inner or "<draw:object" in inner:
            decorative = 'loext:decorative="true"' in m[1]
            if "<svg:title>" not in inner and not decorative:
                what = "formule" if "<draw:object" in inner else "image"
                out.append(f"alternatives : {what} sans titre (svg:title)")
    return out


def audit_docx(path: Path) -> Audit:
    return Audit(str(path), "cahier-docx", len(OFFICE_RULES), 1, docx_problems(path))


def audit_odt(path: Path) -> Audit:
    return Audit(str(path), "cahier-odt", len(OFFICE_RULES), 1, odt_problems(path))


def audit_outputs(out_dir: Path, html: bool = True) -> list[Audit]:
    """Every validator on every DOCX, ODT, HTML and PDF (``archive/`` included) of an
    assembly folder."""
    files = sorted(p for p in Path(out_dir).rglob("*") if p.is_file() and "sources" not in p.parts)
    audits: list[Audit] = []
    for p in files:
        if p.suffix == ".docx":
            audits.append(audit_docx(p))
        elif p.suffix == ".odt":
            audits.append(audit_odt(p))
        elif p.suffix == ".pdf":
            audits.extend(audit_pdf(p))
    if html:
        audits.extend(audit_html([p for p in files if p.suffix == ".html"]))
    return audits
