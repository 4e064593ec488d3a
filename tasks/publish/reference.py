"""Generation of the bundled reference DOCX/ODT (styles, header placeholders, watermark)."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path

from tasks.publish.base import REFERENCE_DIR
from tasks.publish.convert import normalize_zip

# --------------------------------------------------------------------------- references


def build_reference_documents(dest: Path = REFERENCE_DIR) -> list[Path]:
    """(Re)generate ``reference.docx`` and ``reference.odt`` from Pandoc's defaults.

    Styles: A4, French language, sans-serif body, headings; header with the
    placeholders ``{acheteur}``, ``{reference}``, ``{objet}`` (replaced at assembly),
    footer « Page N sur M », and a « PROJET » watermark marked ``CAHIER-PROJET`` /
    ``CahierProjet`` that is removed unless ``--draft``. Designers may restyle the files
    in Word/LibreOffice, keeping the placeholders and markers intact.
    """
    import pypandoc

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base_docx = Path(tmp, "d.docx")
        base_odt = Path(tmp, "d.odt")
        print_default = [pypandoc.get_pandoc_path(), "--print-default-data-file"]
        for base in (base_docx, base_odt):
            name = f"reference{base.suffix}"
            base.write_bytes(
                subprocess.run([*print_default, name], capture_output=True, check=True).stdout
            )
        docx = _build_reference_docx(base_docx)
        odt = _build_reference_odt(base_odt)
    (dest / "reference.docx").write_bytes(docx)
    (dest / "reference.odt").write_bytes(odt)
    return [dest / "reference.docx", dest / "reference.odt"]


_WATERMARK_VML = (
    '<w:p><w:pPr><w:pStyle w:val="Header"/></w:pPr><w:r><w:pict>'
    '<v:shapetype id="_x0000_t136" coordsize="21600,21600" o:spt="136" adj="10800" '
    'path="m@7,l@8,m@5,21600l@6,21600e"><v:path textpathok="t" o:connecttype="custom"/>'
    '<v:textpath on="t" fitshape="t"/></v:shapetype>'
    '<v:shape id="PowerPlusWaterMarkObject" o:spid="_x0000_s2049" type="#_x0000_t136" '
    'alt="CAHIER-PROJET" '
    'style="position:absolute;margin-left:0;margin-top:0;width:470pt;height:140pt;rotation:315;'
    "z-index:-251654144;mso-position-horizontal:center;mso-position-horizontal-relative:margin;"
    'mso-position-vertical:center;mso-position-vertical-relative:margin" o:allowincell="f" '
    'fillcolor="#d9d9d9" stroked="f"><v:fill opacity=".5"/>'
    '<v:textpath style="font-family:&quot;Arial&quot;;font-size:1pt" string="PROJET"/>'
    "</v:shape></w:pict></w:r></w:p>"
)


def _build_reference_docx(base: Path) -> bytes:
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    doc = Docx(str(base))
    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10.5)
    rpr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "fr-FR")
    rpr.append(lang)
    for name in ("Body Text", "First Paragraph", "Compact"):
        if name in [s.name for s in styles]:
            styles[name].font.name = "Arial"
    for name, size in (("Title", 20), ("Heading 1", 16), ("Heading 2", 14), ("Heading 3", 12)):
        s = styles[name]
        s.font.name = "Arial"
        s.font.size = Pt(size)
        s.font.color.rgb = RGBColor(0x00, 0x00, 0x91)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.2)
    sec.top_margin, sec.bottom_margin = Cm(2.6), Cm(2.2)
    header = sec.header
    header.is_linked_to_previous = False
    p1 = header.paragraphs[0]
    p1.text = "{acheteur} — Consultation n° {reference}"
    p2 = header.add_paragraph("{objet}")
    for p in (p1, p2):
        for r in p.runs:
            r.font.size = Pt(8)
    p2.runs[0].italic = True
    footer = sec.footer
    footer.is_linked_to_previous = False
    fp = footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def field(par, instr: str) -> None:
        run = par.add_run()
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), instr)
        r = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = "1"
        r.append(t)
        fld.append(r)
        run._r.addnext(fld)

    fp.add_run("Page ")
    field(fp, "PAGE")
    fp.add_run(" sur ")
    # the runs are appended in order: PAGE field then « sur » then NUMPAGES
    field(fp, "NUMPAGES")
    buf = io.BytesIO()
    doc.save(buf)
    data = buf.getvalue()

    def fix(name: str, content: bytes) -> bytes:
        if name.startswith("word/header"):
            text = content.decode("utf-8")
            if "{acheteur}" in text:
                for ns, uri in (
                    ("v", "urn:schemas-microsoft-com:vml"),
                    ("o", "urn:schemas-microsoft-com:office:office"),
                ):
                    if f"xmlns:{ns}=" not in text:
                        text = text.replace("<w:hdr ", f'<w:hdr xmlns:{ns}="{uri}" ', 1)
                text = text.replace("</w:hdr>", _WATERMARK_VML + "</w:hdr>")
            return text.encode("utf-8")
        return content

    return normalize_zip(data, None, fix)


def _build_reference_odt(base: Path) -> bytes:
    def fix(name: str, content: bytes) -> bytes:
        if name != "styles.xml":
            return content
        s = content.decode("utf-8")
        s = re.sub(r'fo:page-width="[^"]*"', 'fo:page-width="21cm"', s)
        s = re.sub(r'fo:page-height="[^"]*"', 'fo:page-height="29.7cm"', s)
        for side, v in (("top", "2cm"), ("bottom", "1.6cm"), ("left", "2.2cm"), ("right", "2.2cm")):
            s = re.sub(
                rf'(<style:page-layout-properties[^>]*?)fo:margin-{side}="[^"]*"',
                rf'\1fo:margin-{side}="{v}"',
                s,
                count=1,
                flags=re.S,
            )
        s = s.replace(
            "<style:header-style />",
            '<style:header-style><style:header-footer-properties fo:min-height="0.6cm" '
            'fo:margin-bottom="0.4cm" style:dynamic-spacing="true"/></style:header-style>',
        )
        auto = (
            '<style:style style:name="CahierHeader" style:family="paragraph" '
            'style:parent-style-name="Standard"><style:text-properties fo:font-size="8pt" '
            'fo:color="#444444"/></style:style>'
            '<style:style style:name="CahierProjet" style:family="paragraph" '
            'style:parent-style-name="Standard"><style:paragraph-properties fo:text-align="center"/>'
            '<style:text-properties fo:font-size="20pt" fo:font-weight="bold" fo:color="#b00000" '
            'fo:letter-spacing="0.2cm"/></style:style>'
        )
        s = s.replace("<office:automatic-styles>", "<office:automatic-styles>" + auto, 1)
        s = re.sub(
            r"<style:footer>.*?</style:footer>",
            '<style:header><text:p text:style-name="CahierProjet">PROJET — document de travail</text:p>'
            '<text:p text:style-name="CahierHeader">{acheteur} — Consultation n° {reference}</text:p>'
            '<text:p text:style-name="CahierHeader">{objet}</text:p></style:header>'
            '<style:footer><text:p text:style-name="MP1">Page <text:page-number '
            'text:select-page="current">1</text:page-number> sur <text:page-count>1</text:page-count>'
            "</text:p></style:footer>",
            s,
            count=1,
            flags=re.S,
        )
        # French by default (spell-checking, hyphenation, screen readers)
        s = re.sub(r'fo:language="[^"]*"', 'fo:language="fr"', s)
        s = re.sub(r'fo:country="[^"]*"', 'fo:country="FR"', s)
        return s.encode("utf-8")

    return normalize_zip(base.read_bytes(), None, fix)
