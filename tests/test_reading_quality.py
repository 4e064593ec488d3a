"""Reading you can trust, or a finding that says why not: extraction quality of PDF pages
(fixtures built here: /ToUnicode stripped, ligatures decoded as NUL), PDF passwords,
pending tracked changes, comments and empty content controls in DOCX/ODT."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tasks.dossier.parse import read_model
from tasks.dossier.quality import assess
from tasks.dossier.reader import read_piece
from tasks.errors import InputError

P1 = (
    "Le présent marché porte sur la maintenance applicative. Le titulaire remet un rapport "
    "mensuel détaillé de son activité, des délais constatés et des pénalités appliquées."
)
P2 = (
    "Le titulaire s'engage à l'efficacité énergétique et à la certification officielle des "
    "équipements fournis ; les critères sont vérifiés chaque année, afin de fiabiliser le "
    "profil de consommation, sur justificatifs officiels."
)


def _pdf(second_font: str = "New Computer Modern") -> bytes:
    typst = pytest.importorskip("typst")
    src = (
        '#set text(lang: "fr")\n= Article 1 - Objet\n' + P1 + "\n#pagebreak()\n"
        f'#text(font: "{second_font}")[= Article 2 - Clauses environnementales\n{P2}]\n'
    )
    return typst.compile(src.encode())


def _patch_page2_font(pdf: bytes, fn) -> bytes:
    """Apply ``fn(font, pdf)`` to the fonts used only on page 2 (New Computer Modern)."""
    pikepdf = pytest.importorskip("pikepdf")
    doc = pikepdf.open(io.BytesIO(pdf))
    for page in doc.pages:
        for _name, font in page.Resources.Font.items():
            if "NewCM" in str(font.get("/BaseFont")):
                fn(font, doc)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_clean_pdf_is_reliable() -> None:
    m = read_model("pieces/cctp.pdf", _pdf(), cache=False)
    assert m.is_reliable() and not m.issues
    assert [b.number for b in m.headings()] == ["1", "2"]


def test_pdf_without_tounicode_flagged_on_its_page() -> None:
    def strip(font, _doc) -> None:
        del font["/ToUnicode"]

    m = read_model("pieces/cctp.pdf", _patch_page2_font(_pdf(), strip), cache=False)
    assert m.unreliable_pages() == [2]
    q2 = m.quality[1]
    assert q2.undecoded > 50 and "non décodé" in q2.reason
    issue = next(i for i in m.issues if i.code == "texte-non-fiable")
    assert issue.loc.page == 2 and issue.message.startswith("texte non fiable, page 2 :")
    # page 1 stays trustworthy; nothing of page 2 counts as reliable text
    assert all(b.reliable for b in m.blocks if b.loc.page == 1)
    assert not any(b.reliable for b in m.blocks if b.loc.page == 2)
    piece = read_piece("pieces/cctp.pdf", _patch_page2_font(_pdf(), strip))
    assert {ln.page for ln in piece.lines if not ln.reliable} <= {2}


def test_pdf_with_nul_ligatures_flagged_on_its_page() -> None:
    def nul(font, doc) -> None:
        cmap = font.ToUnicode.read_bytes().decode("latin-1")
        # every ligature glyph (ff, fi, fl, ffi…) decoded as U+0000
        cmap = re.sub(r"<(?:0066){1,2}00(?:69|6C|66)>", "<0000>", cmap)
        font.ToUnicode = doc.make_stream(cmap.encode("latin-1"))

    m = read_model("pieces/cctp.pdf", _patch_page2_font(_pdf(), nul), cache=False)
    assert m.unreliable_pages() == [2]
    assert m.quality[1].nul >= 3 and "ligatures" in m.quality[1].reason


def test_words_stripped_of_accents() -> None:
    q = assess(
        "Le Critre de slection et le rfrentiel gnral du march sont dfinis par la "
        "procdure ; les pnalits sont prvues.",
        3,
    )
    assert not q.reliable and q.stripped_words >= 5
    assert "Critre" in q.examples and "privé(s) de leurs accents" in q.reason
    ok = assess("Le critère de sélection et le référentiel général du marché sont définis.", 3)
    assert ok.reliable


def test_pdf_passwords() -> None:
    pikepdf = pytest.importorskip("pikepdf")
    doc = pikepdf.open(io.BytesIO(_pdf()))
    owner_only = io.BytesIO()
    doc.save(owner_only, encryption=pikepdf.Encryption(owner="proprio", user="", R=6))
    m = read_model("pieces/rc.pdf", owner_only.getvalue(), cache=False)
    assert [b.number for b in m.headings()] == ["1", "2"]  # permissions only: read
    user = io.BytesIO()
    doc.save(user, encryption=pikepdf.Encryption(owner="proprio", user="lecteur", R=6))
    with pytest.raises(InputError, match="mot de passe") as exc:
        read_model("pieces/rc.pdf", user.getvalue(), cache=False)
    assert exc.value.file == "pieces/rc.pdf"


# --------------------------------------------------------------------------- DOCX

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx(
    body: str, comments: str | None = None, doctype: str = "", footnotes: str | None = None
) -> bytes:
    doc = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{doctype}'
        f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", doc)
        if footnotes:
            z.writestr(
                "word/footnotes.xml", f'<w:footnotes xmlns:w="{W_NS}">{footnotes}</w:footnotes>'
            )
        if comments:
            z.writestr("word/comments.xml", f'<w:comments xmlns:w="{W_NS}">{comments}</w:comments>')
    return buf.getvalue()


def _p(inner: str) -> str:
    return f"<w:p>{inner}</w:p>"


def _r(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


TRACKED = "".join(
    [
        _p(
            '<w:pPr><w:outlineLvl w:val="0"/></w:pPr>' + _r("Article 5 – Clauses environnementales")
        ),
        _p(
            _r("Le titulaire remet un rapport annuel.")
            + '<w:ins w:id="1" w:author="A"><w:r><w:t> Il reprend les emballages.</w:t></w:r></w:ins>'
        ),
        _p(
            '<w:ins w:id="2" w:author="A"><w:r><w:t>Le titulaire réduit de 30 % les '
            "émissions de gaz à effet de serre.</w:t></w:r></w:ins>"
        ),
        _p(
            '<w:del w:id="3" w:author="A"><w:r><w:delText>Critère environnemental : 10 %'
            "</w:delText></w:r></w:del>"
        ),
        _p(_r("Nom du titulaire : ") + '<w:commentReference w:id="7"/>'),
        "<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>"
        + _p(_r("Cliquez ou appuyez ici pour entrer du texte."))
        + "</w:sdtContent></w:sdt>",
        "<w:tbl><w:tr><w:tc>"
        + _p(_r("CPV :"))
        + "</w:tc><w:tc>"
        + _p(_r("72510000-3"))
        + "</w:tc></w:tr></w:tbl>",
    ]
)
COMMENT = f'<w:comment w:id="7" w:author="B">{_p(_r("À vérifier avec la DAJ"))}</w:comment>'


def test_docx_tracked_changes_comments_and_placeholders() -> None:
    m = read_model("pieces/ccap.docx", _docx(TRACKED, COMMENT), cache=False)
    by_para = {b.loc.para: b for b in m.blocks}
    assert by_para[1].kind == "heading" and by_para[1].number == "5"
    # accepted text only; the pending insertion is kept apart and flagged
    assert by_para[2].text == "Le titulaire remet un rapport annuel."
    assert by_para[2].pending == "mixed" and "emballages" in by_para[2].pending_text
    assert by_para[3].text == "" and by_para[3].pending == "insertion"
    assert "30 %" in by_para[3].pending_text
    # the pending deletion stays visible as such
    assert by_para[4].pending == "deletion" and "10 %" in by_para[4].pending_text
    # an empty content control is empty
    assert by_para[6].kind == "form_field" and by_para[6].text == ""
    assert "placeholder" in by_para[6].roles
    assert "Cliquez" not in " ".join(b.text for b in m.blocks)
    # a table keeps rows × cells with each cell's paragraph
    table = next(b for b in m.blocks if b.kind == "table")
    assert [[c.text for c in r] for r in table.rows] == [["CPV :", "72510000-3"]]
    assert [c.loc.para for c in table.rows[0]] == [7, 8]
    codes = [(i.code, i.loc.para) for i in m.issues]
    assert codes == [
        ("modification-non-acceptee", 2),
        ("modification-non-acceptee", 3),
        ("suppression-en-attente", 4),
        ("commentaire", 5),
    ]
    dele = next(i for i in m.issues if i.code == "suppression-en-attente")
    assert dele.message.startswith("suppression en attente, paragraphe 4 : « Critère")
    # the line view (what the checker reads) holds no pending text
    piece = read_piece("pieces/ccap.docx", _docx(TRACKED, COMMENT))
    text = " ".join(ln.text for ln in piece.lines)
    assert "émissions" not in text and "emballages" not in text and "10 %" not in text
    assert "| CPV : | 72510000-3 |" in text


def test_docx_bad_archives() -> None:
    with pytest.raises(InputError, match="archive endommagée"):
        read_model("pieces/ae.docx", b"PK\x03\x04" + b"\x00" * 200, cache=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/other.xml", "<x/>")
    with pytest.raises(InputError, match=r"word/document\.xml"):
        read_model("pieces/ae.docx", buf.getvalue(), cache=False)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b" " * 120_000_000)
    with pytest.raises(InputError, match="décompressée ferait 120 Mo"):
        read_model("pieces/ae.docx", bomb.getvalue(), cache=False)
    # an external entity is never resolved (no file read, no network)
    xxe = _docx(_p(_r("&xxe;")), doctype='<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
    m = read_model("pieces/ae.docx", xxe, cache=False)
    assert "root" not in " ".join(b.text for b in m.blocks)


# --------------------------------------------------------------------------- ODT

ODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)
ODT_BODY = """
<text:tracked-changes>
  <text:changed-region text:id="ct1"><text:insertion/></text:changed-region>
  <text:changed-region text:id="ct2"><text:deletion>
    <text:p>Critère environnemental : 10 %</text:p></text:deletion></text:changed-region>
</text:tracked-changes>
<text:h text:outline-level="1">Article 5 - Clauses environnementales</text:h>
<text:p>Le titulaire remet un rapport annuel.<text:change-start text:change-id="ct1"/> Il
 reprend les emballages.<text:change-end text:change-id="ct1"/></text:p>
<text:p><text:change text:change-id="ct2"/></text:p>
<text:p>Délai<office:annotation><dc:creator>B</dc:creator><text:p>À revoir</text:p>
</office:annotation> : 30 jours.</text:p>
<text:list><text:list-item><text:p>- Code de la commande publique</text:p></text:list-item></text:list>
"""


def _odt(body: str) -> bytes:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODT_NS}>'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
    return buf.getvalue()


def test_odt_tracked_changes_and_comments() -> None:
    m = read_model("pieces/ccap.odt", _odt(ODT_BODY), cache=False)
    # para 1 is the deleted paragraph stored in text:tracked-changes (content.xml order)
    head = m.headings()[0]
    assert (head.number, head.loc.para) == ("5", 2)
    rapport = next(b for b in m.blocks if b.text.startswith("Le titulaire"))
    assert rapport.text == "Le titulaire remet un rapport annuel."
    assert "emballages" in rapport.pending_text
    deleted = next(b for b in m.blocks if b.pending == "deletion")
    assert "10 %" in deleted.pending_text and deleted.loc.para == 4
    delai = next(b for b in m.blocks if b.text.startswith("Délai"))
    assert delai.text == "Délai : 30 jours." and delai.loc.para == 5
    assert [i.code for i in m.issues] == [
        "modification-non-acceptee",
        "suppression-en-attente",
        "commentaire",
    ]
    item = next(b for b in m.blocks if b.kind == "list_item")
    assert item.loc.para == 7 and "applicable_texts" in item.roles


def test_docx_footnotes_are_read() -> None:
    body = (
        _p('<w:pPr><w:outlineLvl w:val="0"/></w:pPr>' + _r("Article 7 - Environnement"))
        + _p(
            _r("Le titulaire reprend les emballages.")
            + '<w:r><w:footnoteReference w:id="2"/></w:r>'
        )
        + _p('<w:pPr><w:outlineLvl w:val="0"/></w:pPr>' + _r("Article 8 - Prix"))
    )
    notes = (
        '<w:footnote w:type="separator" w:id="-1">'
        + _p(_r(""))
        + "</w:footnote>"
        + '<w:footnote w:id="2">'
        + _p(_r("Au sens de l'article L541-10 du code de l'environnement."))
        + "</w:footnote>"
    )
    m = read_model("pieces/ccap.docx", _docx(body, footnotes=notes), cache=False)
    note = next(b for b in m.blocks if "note" in b.roles)
    assert note.text.startswith("Au sens de l'article L541-10") and note.loc.note == 2
    assert m.article_of(m.blocks.index(note)).number == "7"


def test_odt_encrypted_or_damaged() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            "<manifest:file-entry><manifest:encryption-data/></manifest:file-entry></manifest:manifest>",
        )
        z.writestr("content.xml", b"\x00\x01binary")
    with pytest.raises(InputError, match="ODT chiffré") as exc:
        read_model("pieces/cctp.odt", buf.getvalue(), cache=False)
    assert exc.value.file == "pieces/cctp.odt"
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("content.xml", "<office:document-content><text:p>Le titulaire")
    with pytest.raises(InputError, match=r"XML de « content\.xml » invalide, ligne 1"):
        read_model("pieces/cctp.odt", broken.getvalue(), cache=False)


# --------------------------------------------------------------------------- hidden text

_HIDDEN_CLAUSE = "Le titulaire reprend les équipements usagés en vue de leur réemploi."


def _hidden_findings(name: str, data: bytes) -> tuple[list[str], list]:
    from tasks.check.reading import reading_findings

    piece = read_piece(name, data)
    return [ln.text for ln in piece.lines], reading_findings([piece])


def test_hidden_text_is_reported_and_never_counted() -> None:
    """Text a bidder cannot see (DOCX w:vanish, ODT display:none span, HTML hidden or
    display:none) is not the piece's text: never in its lines, always a warning."""
    docx = _docx(
        _p(_r("Article 5 - Conditions d'exécution"))
        + _p(
            _r("Le titulaire livre. ")
            + f"<w:r><w:rPr><w:vanish/></w:rPr><w:t>{_HIDDEN_CLAUSE}</w:t></w:r>"
        )
        + _p('<w:r><w:rPr><w:vanish w:val="0"/></w:rPr><w:t>Texte visible.</w:t></w:r>')
    )
    odt_ns = ODT_NS + ' xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {odt_ns}>'
        '<office:automatic-styles><style:style style:name="T1" style:family="text">'
        '<style:text-properties text:display="none"/></style:style></office:automatic-styles>'
        "<office:body><office:text><text:p>Le titulaire livre. "
        f'<text:span text:style-name="T1">{_HIDDEN_CLAUSE}</text:span></text:p>'
        "<text:p>Texte visible.</text:p></office:text></office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
    page = (
        "<html><body><h1>Article 5 - Conditions</h1>\n<p>Le titulaire livre.</p>\n"
        f'<p style="color: red; display : none">{_HIDDEN_CLAUSE}</p>\n'
        f'<div hidden><p style="display:none">{_HIDDEN_CLAUSE}</p></div>\n<p>Texte visible.</p></body></html>'
    ).encode()
    for name, data, where in (
        ("pieces/ccap.docx", docx, [2]),
        ("pieces/ccap.odt", buf.getvalue(), [1]),
        ("pieces/ccap.html", page, [3, 4]),
    ):
        lines, findings = _hidden_findings(name, data)
        assert not any("réemploi" in t for t in lines), (name, lines)
        assert "Texte visible." in lines, (name, lines)
        masked = [f for f in findings if f.rule == "texte-masque"]
        assert [f.location.line for f in masked] == where, (name, findings)
        assert all(f.severity == "warning" and "réemploi" in f.message for f in masked)


def test_utf8_read_as_windows_1252_is_unreliable_and_says_so() -> None:
    """« exÃ©cution » (UTF-8 saved again as Windows-1252): the piece is « non fiable »
    with the cause and a word as found, not « mots privés de leurs accents »."""
    good = (
        "# Article 5 - Conditions d'exécution\n\nLe titulaire reprend les équipements "
        "usagés en vue de leur réemploi ; il remet un rapport détaillé à la personne "
        "publique.\n"
    )
    garbled = good.encode("utf-8").decode("cp1252", errors="replace").encode("utf-8")
    q = assess(garbled.decode("utf-8"), None)
    assert not q.reliable
    assert "mal décodé" in q.reason and "« d'exÃ©cution »" in q.reason
    assert "privé(s) de leurs accents" not in q.reason
    assert assess(good, None).reliable  # the same text, well decoded
    assert assess("São Paulo, Ã la carte.", None).reliable  # « ã », « Ã » + space: not mojibake
