"""A generated corpus of hostile inputs, each run through ``cahier check`` in-process.

Every variant of the bundled example must end with a French message naming the file
(and the line or field when there is one): exit code 2 when nothing usable can be read,
or a located finding with exit code 1 — never exit 0, never a traceback, never an
English message from a library, nothing written into the dossier, within 20 s.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tenders" / "2026-CD33-PC-001"

#: Library texts that must never reach the user.
ENGLISH = (
    "Traceback",
    "Input should",
    "Keys should",
    "Field required",
    "Extra inputs",
    "could not find expected",
    "mapping values are not allowed",
    "unexpected char",
    "No filter named",
    "access to attribute",
    "Error:",
    "Exception",
    "is not a valid",
    "heading title is empty",
    "cannot start any token",
    "tab character",
    "not allowed in this context",
    "did not find expected",
    "control characters are not allowed",
    "ZeroDivisionError",
    "division by zero",
    "unsupported operand",
    "has no element",
    "maximum recursion",
    "codec can't",
    "datetime.date",
    "invalid_key",
)


def _set(dossier: Path, key: str, value: str) -> None:
    path = dossier / "tender.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    out = [f"{key}: {value}" if ln.startswith(f"{key}:") else ln for ln in lines]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _append(dossier: Path, text: str) -> None:
    with (dossier / "tender.yaml").open("a", encoding="utf-8") as f:
        f.write(text)


def _tender_bytes(data: bytes) -> Callable[[Path], None]:
    return lambda d: (d / "tender.yaml").write_bytes(data)


def _piece(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda d: (d / "pieces" / name).write_bytes(data)


def _bad_xlsx(d: Path) -> None:
    """A workbook whose only cell has an impossible reference (« ZZZZZZ99999999 »)."""
    import openpyxl

    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Prix"
    wb.save(buf)
    members = {}
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        for n in z.namelist():
            members[n] = z.read(n)
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = members[sheet].replace(b'r="A1"', b'r="ZZZZZZ99999999"')
    (d / "pieces" / "bpu.xlsx").write_bytes(_zip(members))


def _bad_ods(d: Path) -> None:
    """A spreadsheet whose row repeat count is not a number."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="BPU")
    row = TableRow(numberrowsrepeated="abc")
    cell = TableCell()
    cell.addElement(P(text="Prix"))
    row.addElement(cell)
    table.addElement(row)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    (d / "pieces" / "bpu.ods").write_bytes(buf.getvalue())


def _ccap_append(text: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        with (d / "pieces" / "ccap.md").open("a", encoding="utf-8") as f:
            f.write(text)

    return make


def _alias_bomb() -> bytes:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(8):
        prev, cur = chr(97 + i), chr(98 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def _zip(members: dict[str, bytes], *, level: int = 9) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _docx_bomb(d: Path) -> None:
    # 400 MB of spaces in word/document.xml: ~400 KB compressed.
    body = b"<w:document xmlns:w='x'><w:body>" + b" " * 400_000_000 + b"</w:body></w:document>"
    data = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": body}, level=1)
    (d / "pieces" / "annexe.docx").write_bytes(data)


def _pdf(d: Path, kind: str) -> None:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    out = d / "pieces" / "annexe.pdf"
    if kind == "encrypted":
        pdf.save(out, encryption=pikepdf.Encryption(owner="o", user="secret", R=6))
    else:
        pdf.save(out)


def _symlink(name: str, target: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        link = d / name
        if link.exists():
            link.unlink()
        link.symlink_to(target)

    return make


def _outside_tender(d: Path) -> None:
    outside = d.parent / "ailleurs.yaml"
    shutil.copyfile(d / "tender.yaml", outside)
    (d / "tender.yaml").unlink()
    (d / "tender.yaml").symlink_to(outside)


def _non_utf8_name(d: Path) -> None:
    name = os.fsencode(d / "pieces") + b"/annexe-\xff.md"
    with open(name, "wb") as f:
        f.write(b"# Annexe\n\nTexte.\n")


#: id → (what to do to the dossier, text the message must hold: the file or field).
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "yaml-tabulation": (
        lambda d: (d / "tender.yaml").write_text(
            (d / "tender.yaml").read_text("utf-8").replace("\n  ", "\n\t", 1), "utf-8"
        ),
        "tender.yaml:",
    ),
    "yaml-arobase": (lambda d: _set(d, "objet", "@Ordinateurs"), "tender.yaml:"),
    "yaml-tiret-mal-place": (lambda d: _append(d, "- Ordinateurs\n"), "tender.yaml:"),
    "yaml-caractere-controle": (lambda d: _set(d, "objet", "Ordinateurs\x07"), "tender.yaml:"),
    "yaml-guillemet-ouvert": (lambda d: _set(d, "objet", '"Ordinateurs'), "tender.yaml:"),
    "yaml-cle-en-double": (lambda d: _append(d, "objet: Autre objet\n"), "tender.yaml:"),
    "yaml-alias-bomb": (_tender_bytes(_alias_bomb()), "tender.yaml:"),
    "yaml-alias-recursif": (_tender_bytes(b"a: &a [*a]\n"), "tender.yaml:1"),
    "yaml-cle-on": (lambda d: _append(d, "on: push\n"), "« on »"),
    "yaml-montant-francais": (lambda d: _set(d, "montant", "262 000,50 €"), "262000.50"),
    "yaml-booleen-invalide": (
        lambda d: _append(d, "donneesPersonnelles: peut-être\n"),
        "donneesPersonnelles",
    ),
    "yaml-date-inexistante": (lambda d: _set(d, "dateLancement", "2026-02-30"), "tender.yaml:"),
    "yaml-liste": (_tender_bytes(b"- a\n- b\n"), "tender.yaml"),
    "yaml-vide": (_tender_bytes(b""), "tender.yaml"),
    "yaml-binaire": (_tender_bytes(b"\x00\x01\x02PK\x03\x04"), "tender.yaml"),
    "yaml-latin1": (
        _tender_bytes((EXAMPLE / "tender.yaml").read_text("utf-8").encode("latin-1", "replace")),
        "tender.yaml:",
    ),
    "yaml-enorme": (lambda d: _append(d, "#" + "x" * 6_000_000 + "\n"), "tender.yaml"),
    "yaml-cle-nombre": (lambda d: _append(d, "5: x\n"), "tender.yaml:"),
    "yaml-virgule-decimale": (
        lambda d: _append(d, "extra: {prixUnitaire: 310,5}\n"),
        "310.5",
    ),
    "yaml-type-montant": (lambda d: _set(d, "montant", "[1, 2]"), "montant"),
    "yaml-ccag-inconnu": (lambda d: _set(d, "ccag", "CCAG-XYZ"), "ccag"),
    "piece-nul": (_piece("annexe.md", b"# Annexe\x00\x00\n"), "annexe.md"),
    "piece-gabarit-injection": (_ccap_append("\n{{ ''.__class__.__mro__ }}\n"), "ccap.md:"),
    "piece-gabarit-boucle": (
        _ccap_append(
            '\n{% for a in "x"*99999 %}{% for b in "x"*99999 %}{% endfor %}{% endfor %}\n'
        ),
        "ccap.md:",
    ),
    "piece-gabarit-attr": (_ccap_append('\n{{ tender|attr("objet") }}\n'), "ccap.md:"),
    "piece-gabarit-largeur": (_ccap_append('\n{{ "x"|center(999999999) }}\n'), "ccap.md:"),
    "piece-gabarit-syntaxe": (_ccap_append('\n{{ clause("ENV-COND-01"\n'), "ccap.md:"),
    "piece-lien-hors-dossier": (_symlink("pieces/annexe.md", "/etc/passwd"), "annexe.md"),
    "tender-lien-hors-dossier": (_outside_tender, "tender.yaml"),
    "montant-absurde": (lambda d: _set(d, "montant", "1" + "0" * 27), "tender.yaml:"),
    "duree-absurde": (lambda d: _set(d, "dureeMois", "1" + "0" * 40), "tender.yaml:"),
    "piece-gabarit-division-par-zero": (_ccap_append("\n{{ 1/0 }}\n"), "ccap.md:"),
    "piece-gabarit-types": (_ccap_append("\n{{ tender.objet|int + 'a' }}\n"), "ccap.md:"),
    "piece-gabarit-element-absent": (_ccap_append("\n{{ tender.criteres[99].nom }}\n"), "ccap.md:"),
    "piece-gabarit-recursion": (
        _ccap_append("\n{% macro f(n) %}{{ f(n+1) }}{% endmacro %}{{ f(0) }}\n"),
        "ccap.md:",
    ),
    "xlsx-reference-impossible": (_bad_xlsx, "bpu.xlsx"),
    "ods-repetition-non-numerique": (_bad_ods, "bpu.ods"),
    "montant-booleen": (lambda d: _set(d, "montant", "true"), "tender.yaml:"),
    "duree-booleen": (lambda d: _set(d, "dureeMois", "true"), "tender.yaml:"),
    "id-trop-long": (lambda d: _set(d, "id", "A" * 300), "tender.yaml:"),
    "date-lancement-an-1": (lambda d: _set(d, "dateLancement", "0001-01-01"), "tender.yaml:"),
    "yaml-cle-date": (lambda d: _append(d, "2026-01-01: x\n"), "« 2026-01-01 » invalide"),
    "yaml-cle-vide": (lambda d: _append(d, "~: x\n"), "clé « ~ »"),
    "piece-caractere-controle": (_ccap_append("\nTexte \x1b[31m rouge\n"), "ccap.md:"),
    "piece-citations-imbriquees": (_ccap_append("\n\n" + ">" * 500 + " x\n"), "ccap.md:"),
    "piece-lien-en-boucle": (_symlink("pieces/annexe.md", "annexe.md"), "pieces/annexe.md"),
    "tender-lien-en-boucle": (_symlink("tender.yaml", "tender.yaml"), "tender.yaml"),
    "piece-nom-non-utf8": (_non_utf8_name, "annexe-"),
    "pdf-corrompu": (
        _piece("annexe.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF"),
        "annexe.pdf",
    ),
    "pdf-chiffre": (lambda d: _pdf(d, "encrypted"), "annexe.pdf"),
    "pdf-numerise-sans-texte": (lambda d: _pdf(d, "blank"), "annexe.pdf"),
    "docx-corrompu": (_piece("annexe.docx", b"PK\x03\x04 pas un zip"), "annexe.docx"),
    "docx-bombe-zip": (_docx_bomb, "annexe.docx"),
    "odt-sans-contenu": (_piece("annexe.odt", _zip({"mimetype": b"x"})), "annexe.odt"),
    "piece-enorme": (_piece("annexe.md", b"# Annexe\n\n" + b"Texte. " * 9_000_000), "annexe.md"),
}


def _snapshot(root: Path) -> dict[bytes, tuple[int, int]]:
    out = {}
    for dirpath, _dirs, files in os.walk(os.fsencode(root)):
        for f in files:
            p = os.path.join(dirpath, f)
            st = os.lstat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def runner():
    from typer.testing import CliRunner

    from cahier.cli import app

    return lambda args: CliRunner().invoke(app, args)


#: Cases also run with ``--format json`` (a JSON writer meets the name or the finding).
JSON_CASES = ("piece-nom-non-utf8", "yaml-cle-on", "piece-gabarit-boucle", "pdf-chiffre")


@pytest.mark.parametrize(
    ("case", "fmt"), [(c, "text") for c in sorted(CASES)] + [(c, "json") for c in JSON_CASES]
)
def test_hostile_input_ends_in_french_located_message(case, fmt, runner, tmp_path: Path):
    make, needle = CASES[case]
    dossier = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(EXAMPLE, dossier, ignore=shutil.ignore_patterns("evaluation"))
    make(dossier)
    before = _snapshot(tmp_path)
    t0 = time.monotonic()
    result = runner(["check", str(dossier), "--format", fmt])
    elapsed = time.monotonic() - t0
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (1, 2), (result.exit_code, output[-2000:])
    if fmt == "json" and result.exit_code == 1:
        doc = json.dumps(json.loads(output), ensure_ascii=False)  # a whole document
        needle = needle.rstrip(":")
        assert '"line": ' in doc
        output = doc
    assert needle in output, output[-2000:]
    for word in ENGLISH:
        assert word not in output, (word, output[-2000:])
    assert _snapshot(tmp_path) == before, "le contrôle a écrit dans le dossier"
    assert elapsed < 20, f"{elapsed:.1f} s"


ASSEMBLY_CASES = {
    "boucle": ('{% for a in "x"*99999 %}{% for b in "x"*99999 %}{% endfor %}{% endfor %}', 1),
    "attr": ('{{ tender|attr("objet") }}', 1),
    "imbrication": ("\n" + ">" * 500 + " x", 2),
    "division-par-zero": ("{{ 1/0 }}", 1),
    "encodage": ("{{ tender.objet.encode('ascii') }}", 1),
    "largeur": ('{{ "%099999999d" % 1 }}', 1),
    "lecture-de-fichier": (
        '![mot de passe](/etc/passwd)\n\n```{=typst}\n#read("/etc/passwd")\n```',
        0,
    ),
}


@pytest.mark.parametrize("case", sorted(ASSEMBLY_CASES))
def test_hostile_piece_at_assembly_is_refused_or_neutralised(
    case, runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """In a Prefect-free assembly (``--draft``, HTML only): bounded in time, a located
    French finding, and no file of the machine read into the documents."""
    source, code = ASSEMBLY_CASES[case]
    dossier = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(EXAMPLE, dossier, ignore=shutil.ignore_patterns("evaluation"))
    with (dossier / "pieces" / "ccap.md").open("a", encoding="utf-8") as f:
        f.write("\n" + source + "\n")
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    t0 = time.monotonic()
    result = runner(["assemble", str(dossier), "--draft", "--formats", "html", "--out", "out"])
    assert time.monotonic() - t0 < 60
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == code, result.output[-1500:]
    assert "pieces/ccap.md:" in result.output
    for word in ENGLISH:
        assert word not in result.output
    if code:
        assert not out.exists() or not any(out.iterdir()), "assemblage refusé mais écrit"
    else:
        html = (out / "ccap.html").read_text(encoding="utf-8")
        assert "root:x:0" not in html and "image-hors-dossier" in result.output


def test_evaluation_symlink_out_of_dossier_is_not_followed(runner, tmp_path: Path):
    dossier = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(EXAMPLE, dossier)
    secret = tmp_path / "secret.yaml"
    secret.write_text("motDePasse: « ne pas citer »\n", encoding="utf-8")
    (dossier / "evaluation" / "evaluation.yaml").unlink()
    (dossier / "evaluation" / "evaluation.yaml").symlink_to(secret)
    result = runner(["evaluate", str(dossier)])
    assert result.exit_code == 2
    assert "hors du dossier" in result.output and "evaluation.yaml" in result.output
    assert "ne pas citer" not in result.output and "motDePasse" not in result.output


def test_imported_file_name_never_becomes_template_code():
    from tasks.clausier.templates import lint_templates
    from tasks.dossier.document import PieceText
    from tasks.drafting.importer import _header

    header = _header('CCAP {{ "x"*99 }} {% for a in b %} {#c#}.pdf', b"data")
    assert "{{" not in header and "{%" not in header and "{#" not in header
    piece = PieceText("pieces/ccap.md", "ccap", "md", raw_source=header + "# CCAP\n")
    assert lint_templates([piece]) == []


_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


@pytest.mark.parametrize(
    "name,data",
    [
        ("rc.md", b"\n   \n\t\n"),
        ("annexe.txt", b"    \n"),
        (
            "annexe.docx",
            _zip(
                {
                    "word/document.xml": b"<w:document " + _W + b"><w:body><w:p/><w:p>"
                    b'<w:r><w:t xml:space="preserve">   </w:t></w:r></w:p></w:body></w:document>'
                }
            ),
        ),
    ],
)
def test_blank_piece_is_refused_never_read_as_missing_clauses(
    name: str, data: bytes, runner, tmp_path: Path
):
    """A piece with bytes but no text once read is « pièce vide » (exit 2), like an
    empty file: read as empty it gave « clause manquante » errors against it."""
    dossier = tmp_path / "2026-CD33-PC-001"
    shutil.copytree(EXAMPLE, dossier, ignore=shutil.ignore_patterns("evaluation"))
    (dossier / "pieces" / name).write_bytes(data)
    result = runner(["check", str(dossier)])
    assert result.exit_code == 2, result.output[-1500:]
    assert f"pieces/{name} : pièce vide : aucun texte lisible" in result.output
    assert "clause-manquante" not in result.output
