"""Publication (issue 15): images, formulas, front matter and French typography in every
format, and the located findings of bad pieces. Validators: tests/test_validators.py."""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest
import yaml
from docx import Document as Docx

from tasks.check.checker import check_dossier
from tasks.clausier.library import load_clausier
from tasks.dossier.reader import read_dossier
from tasks.publish.assemble import AssemblyRefused, assemble
from tasks.publish.mathalt import math_alt

ROOT = Path(__file__).resolve().parents[1]
CD33 = ROOT / "tenders" / "2026-CD33-PC-001"
NNBSP, NBSP = "\u202f", "\u00a0"

ANNEXE = """---
title: Annexe financière
subtitle: Méthode de notation du prix
---

# Annexe financière

![Logo du Département de la Gironde](images/logo.png)

![](images/filet.png){.decoratif}

## Notation du prix

La note de prix est $N = 10 \\times \\frac{P_{min}}{P}$ où "P" est le prix de l'offre:
elle est arrondie au centième.

$$N = 10 \\times \\frac{P_{min}}{P}$$

| Critère | Pondération |
|---|---|
| Prix | 40 % |
| Valeur technique | 40 % |
| Performance environnementale | 20 % |

Dépôt avant 12:30 sur <https://marches.example.fr/a:b>; le code `a:b;c` reste tel quel.

##

#### Sous-critères

Fin de l'annexe.
"""


def png(width: int, height: int, rgb: tuple[int, int, int] = (0, 0, 145)) -> bytes:
    """A valid PNG of one colour (no image library needed)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_dossier(base: Path, pieces: dict[str, str], files: dict[str, bytes] | None = None):
    data = yaml.safe_load((CD33 / "tender.yaml").read_text(encoding="utf-8"))
    d = base / "dossier"
    (d / "pieces").mkdir(parents=True)
    (d / "tender.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    for name, text in pieces.items():
        (d / "pieces" / name).write_text(text, encoding="utf-8")
    for name, blob in (files or {}).items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(blob)
    return d


@pytest.fixture(scope="module")
def lib():
    return load_clausier()


@pytest.fixture(scope="module")
def annexe(tmp_path_factory, lib):
    """A piece with a logo, a decorative rule, formulas, a criteria table, front matter,
    straight quotes, a glued colon and an empty heading, assembled in every format."""
    if not (CD33 / "tender.yaml").is_file():
        pytest.skip("dossier d'exemple 2026-CD33-PC-001 absent")
    base = tmp_path_factory.mktemp("pub")
    d = make_dossier(
        base,
        {"annexe.md": ANNEXE},
        {"pieces/images/logo.png": png(60, 30), "pieces/images/filet.png": png(200, 2)},
    )
    out = base / "out"
    result = assemble(read_dossier(d), lib, out, draft=True, allowed_root=base, workers=2)
    return d, out, result


def test_math_alt_reads_formulas_in_french():
    assert math_alt(r"N = 10 \times \frac{P_{min}}{P}") == "N égale 10 fois P min sur P"
    assert math_alt(r"x^2 + y^3") == "x au carré plus y au cube"
    assert math_alt(r"\sqrt{a} \leq 1.5") == "racine carrée de a inférieur ou égal à 1,5"
    assert "quotient" in math_alt(r"\frac{P - P_{min}}{P_{min}}")
    assert math_alt("{" * 500).startswith("formule")  # bounded, never an exception


def test_pdf_carries_image_and_formula_alternatives(annexe):
    _d, out, _ = annexe
    with pikepdf.open(out / "annexe.pdf") as pdf:
        alts: dict[str, list[str]] = {}

        def walk(node, depth=0):
            if depth > 60 or not isinstance(node, pikepdf.Dictionary):
                return
            s = node.get("/S")
            if s is not None and "/Alt" in node:
                alts.setdefault(str(s), []).append(str(node.Alt))
            kids = node.get("/K")
            if isinstance(kids, pikepdf.Array):
                for k in kids:
                    walk(k, depth + 1)
            elif isinstance(kids, pikepdf.Dictionary):
                walk(kids, depth + 1)

        walk(pdf.Root.StructTreeRoot)
        assert str(pdf.Root.Lang) == "fr-FR"
        assert "Annexe financière" in str(pdf.docinfo.get("/Title"))
    assert alts.get("/Figure") == ["Logo du Département de la Gironde"]  # decorative: artifact
    assert alts.get("/Formula") == ["N égale 10 fois P min sur P"] * 2  # inline + display


def test_html_has_mathml_alttext_images_and_no_front_matter(annexe):
    _d, out, _ = annexe
    html = (out / "annexe.html").read_text(encoding="utf-8")
    main = html.split("<main", 1)[1]
    assert main.count('<math alttext="N égale 10 fois P min sur P"') == 2
    assert 'alt="Logo du Département de la Gironde"' in main
    assert re.search(r'<img src="data:image/png;base64,[^"]+" alt="" />', main)  # decorative
    assert "title:" not in html and "subtitle:" not in html and "$" not in main
    assert main.count("<h1") == 1 and "Méthode de notation du prix" in main
    assert "<title>Annexe financière" in html


def test_docx_and_odt_have_math_alt_texts_and_title(annexe):
    _d, out, _ = annexe
    doc = Docx(str(out / "annexe.docx"))
    assert doc.core_properties.title == "Annexe financière"
    xml = zipfile.ZipFile(out / "annexe.docx").read("word/document.xml").decode()
    assert xml.count("<m:oMath>") >= 2  # OMML, inline and display
    # OMML has no alt field: each formula sits in a content control titled in French
    assert xml.count('<w:alias w:val="N égale 10 fois P min sur P"/>') == 2
    assert xml.count('<w:tag w:val="cahier-formule"/>') == 2
    assert 'descr="Logo du Département de la Gironde"' in xml
    assert "adec:decorative" in xml and "data:image" not in xml
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "title:" not in text and "Méthode de notation du prix" in text
    content = zipfile.ZipFile(out / "annexe.odt").read("content.xml").decode()
    assert content.count("<svg:title>N égale 10 fois P min sur P</svg:title>") == 2
    assert "<svg:title>Logo du Département de la Gironde</svg:title>" in content
    assert 'loext:decorative="true"' in content
    assert "title:" not in content


def _texts(out: Path) -> dict[str, str]:
    import pypdf

    html = (out / "annexe.html").read_text(encoding="utf-8").split("<main", 1)[1]
    return {
        "html": re.sub(r"<[^>]+>", "", re.sub(r"<math.*?</math>", "", html, flags=re.S)),
        "docx": "\n".join(p.text for p in Docx(str(out / "annexe.docx")).paragraphs),
        "odt": re.sub(
            r"<[^>]+>", "", zipfile.ZipFile(out / "annexe.odt").read("content.xml").decode()
        ),
        "pdf": "\n".join(p.extract_text() for p in pypdf.PdfReader(out / "annexe.pdf").pages),
    }


def test_french_typography_in_every_format_but_not_in_code_urls_or_times(annexe):
    _d, out, _ = annexe
    for fmt, text in _texts(out).items():
        flat = text.replace("\n", " ")
        if fmt != "pdf":  # pypdf does not keep U+202F/U+00A0 as such
            assert f"«{NNBSP}P{NNBSP}»" in flat, fmt
            assert f"offre{NBSP}:" in flat, fmt
            assert f"a:b{NNBSP};" not in flat, fmt
        assert "“" not in flat and '"P"' not in flat, fmt
        assert "12:30" in flat and "https://marches.example.fr/a:b" in flat, fmt
        assert "a:b;c" in flat, fmt  # inline code untouched


def test_empty_heading_and_renumbering_are_located_findings(annexe, lib):
    d, _out, result = annexe
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["titre-vide"].location.line == 27
    assert by_rule["titres-renumerotes"].severity.value == "info"
    report = check_dossier(read_dossier(d), lib)
    empty = [f for f in report.findings if f.rule == "titre-vide"]
    assert [(f.location.file, f.location.line) for f in empty] == [("pieces/annexe.md", 27)]
    assert not [f for f in report.findings if f.rule == "image-sans-alternative"]


def test_check_locates_image_without_alternative(tmp_path, lib):
    src = "# CCTP\n\n```\n![](pas-une-image.png)\n```\n\nLogo : ![](images/logo.png) fin.\n"
    d = make_dossier(tmp_path, {"cctp.md": src}, {"pieces/images/logo.png": png(4, 4)})
    report = check_dossier(read_dossier(d), lib)
    found = [f for f in report.findings if f.rule == "image-sans-alternative"]
    assert [(f.location.line, f.severity.value) for f in found] == [(7, "error")]
    assert "{.decoratif}" in found[0].message and "RGAA" in found[0].message


SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
SVG_EXTERNAL = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    b'<image xlink:href="file:///etc/passwd"/></svg>'
)


@pytest.mark.parametrize(
    ("markdown", "files", "rule", "severity"),
    [
        ("![Schéma](images/s.svg)", {"pieces/images/s.svg": SVG_SCRIPT}, "image-non-sure", "error"),
        (
            "![Schéma](images/s.svg)",
            {"pieces/images/s.svg": SVG_EXTERNAL},
            "image-non-sure",
            "error",
        ),
        (
            "![Logo](images/faux.png)",
            {"pieces/images/faux.png": b"MZ\x90\x00"},
            "image-non-sure",
            "error",
        ),
        ("![Mot de passe](../../../../etc/passwd.png)", {}, "image-hors-dossier", "warning"),
        ("![Logo](images/absent.png)", {}, "image-hors-dossier", "warning"),
    ],
)
def test_bad_images_are_located_findings_and_nothing_outside_is_read(
    tmp_path, lib, markdown, files, rule, severity
):
    src = f"# CCAP\n\nTexte.\n\n{markdown}\n"
    d = make_dossier(tmp_path, {"ccap.md": src}, files)
    out = tmp_path / "out"
    if severity == "error":
        with pytest.raises(AssemblyRefused) as exc:
            assemble(read_dossier(d), lib, out, ["html"], draft=True, allowed_root=tmp_path)
        f = exc.value.findings[0]
        assert not out.exists()  # nothing half-written
    else:
        res = assemble(read_dossier(d), lib, out, ["html"], draft=True, allowed_root=tmp_path)
        f = next(f for f in res.findings if f.rule == rule)
        assert "root:" not in (out / "ccap.html").read_text(encoding="utf-8")
    assert (f.rule, f.severity.value) == (rule, severity)
    assert (f.location.file, f.location.line) == ("pieces/ccap.md", 5)
    assert re.search(r"[éèàç]", f.message)  # French


def test_safe_svg_is_embedded_with_its_alternative(tmp_path, lib):
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20">'
        b'<rect width="40" height="20" fill="#000091"/></svg>'
    )
    d = make_dossier(
        tmp_path, {"ccap.md": "# CCAP\n\n![Logo vectoriel](logo.svg)\n"}, {"pieces/logo.svg": svg}
    )
    out = tmp_path / "out"
    assemble(read_dossier(d), lib, out, ["html", "pdf"], draft=True, allowed_root=tmp_path)
    assert 'alt="Logo vectoriel"' in (out / "ccap.html").read_text(encoding="utf-8")
    with pikepdf.open(out / "ccap.pdf") as pdf:
        assert _has_alt(pdf, "Logo vectoriel")


def _has_alt(pdf, text: str) -> bool:
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary) and "/Alt" in obj and str(obj.Alt) == text:
            return True
    return False


# --------------------------------------------------------------------------- the buyer's look

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def look_dossier(base: Path, look: dict, files: dict[str, bytes]) -> Path:
    d = make_dossier(base, {"ccap.md": "# CCAP\n\nLe titulaire « s'engage » : oui.\n"}, files)
    (d / "cahier.yaml").write_text(yaml.safe_dump({"look": look}), encoding="utf-8")
    return d


def test_buyer_font_and_logo_are_embedded_and_recorded(tmp_path, lib, monkeypatch):
    if not DEJAVU.is_file():
        pytest.skip("police DejaVu Sans (paquet Debian fonts-dejavu-core) absente")
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    d = look_dossier(
        tmp_path,
        {"font": "DejaVu Sans", "font_dirs": ["apparence/polices"], "logo": "apparence/logo.png"},
        {"apparence/polices/DejaVuSans.ttf": DEJAVU.read_bytes(), "apparence/logo.png": png(8, 4)},
    )
    out = tmp_path / "out"
    res = assemble(read_dossier(d), lib, out, ["html", "pdf"], draft=True, allowed_root=tmp_path)
    with pikepdf.open(out / "ccap.pdf") as pdf:
        descriptors = [
            o
            for o in pdf.objects
            if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/FontDescriptor"
        ]
        dejavu = [o for o in descriptors if "DejaVuSans" in str(o.FontName)]
        assert dejavu and all("/FontFile2" in o or "/FontFile3" in o for o in dejavu)
        assert _has_alt(pdf, "Logo de " + _acheteur(d).replace("'", "’"))
    entry = next(o for o in res.manifest["outputs"] if o["path"] == "ccap.pdf")
    assert "DejaVuSans" in entry["fonts"]
    assert res.manifest["look"]["font_files"] == [
        {"file": "DejaVuSans.ttf", "family": "DejaVu Sans"}
    ]
    looked = {i["path"] for i in res.manifest["inputs"] if i["path"].startswith("look/")}
    assert looked == {
        "look/dossier:apparence/polices/DejaVuSans.ttf",
        "look/dossier:apparence/logo.png",
    }
    html = (out / "ccap.html").read_text(encoding="utf-8")
    assert f'alt="Logo de {_acheteur(d)}"' in html.replace("’", "'")
    assert not [f for f in res.findings if f.rule == "police-introuvable"]


def _acheteur(d: Path) -> str:
    return yaml.safe_load((d / "tender.yaml").read_text(encoding="utf-8"))["acheteur"]["nom"]


def test_missing_font_is_a_french_warning_naming_the_replacement(tmp_path, lib, monkeypatch):
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    d = look_dossier(tmp_path, {"font": "Marianne"}, {})
    out = tmp_path / "out"
    res = assemble(read_dossier(d), lib, out, ["pdf"], draft=True, allowed_root=tmp_path)
    warn = [f for f in res.findings if f.rule == "police-introuvable"]
    assert warn and warn[0].severity.value == "warning"
    assert "« marianne » introuvable, remplacée par « LibertinusSerif »" in warn[0].message


@pytest.mark.parametrize(
    ("look", "files", "rule", "where"),
    [
        (
            {"font_dirs": ["polices"]},
            {"polices/Marianne-Regular.ttf": b"<html>pas une police"},
            "police-invalide",
            "cahier.yaml",
        ),
        ({"logo": "/etc/hostname"}, {}, "apparence-refusee", "cahier.yaml"),
        (
            {"logo": "logo.png"},
            {"logo.png": b"GIF89a-ce-n-est-pas-un-png"},
            "apparence-refusee",
            "cahier.yaml",
        ),
        (
            {"reference_docx": "modele.docx"},
            {"modele.docx": b"pas un zip"},
            "apparence-refusee",
            "cahier.yaml",
        ),
        (
            {"typst_template": "gabarit.typ"},
            {"gabarit.typ": b'#set page(paper: "a4")\n#let secret = read("/etc/passwd")\n$body$\n'},
            "gabarit-typst-non-sur",
            "dossier:gabarit.typ",
        ),
    ],
)
def test_bad_look_is_refused_with_a_located_french_finding(
    tmp_path, lib, monkeypatch, look, files, rule, where
):
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    d = look_dossier(tmp_path, look, files)
    out = tmp_path / "out"
    with pytest.raises(AssemblyRefused) as exc:
        assemble(read_dossier(d), lib, out, ["pdf"], draft=True, allowed_root=tmp_path)
    f = exc.value.findings[0]
    assert f.rule == rule and f.location.file.endswith(where) and f.location.line == 2
    assert not out.exists()


def test_symlink_out_of_the_dossier_is_refused(tmp_path, lib, monkeypatch):
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    (outside / "logo.png").write_bytes(png(4, 4))
    d = look_dossier(tmp_path / "t", {"logo": "logo.png"}, {})
    (d / "logo.png").symlink_to(outside / "logo.png")
    with pytest.raises(AssemblyRefused) as exc:
        assemble(read_dossier(d), lib, tmp_path / "out", ["pdf"], draft=True, allowed_root=tmp_path)
    assert exc.value.findings[0].rule == "apparence-refusee"
    assert "hors du dossier" in exc.value.findings[0].message


def test_organisation_look_is_read_from_its_folder(tmp_path, lib, monkeypatch):
    """Fonts declared by the organisation (outside the dossier) are allowed; the same
    folder declared by a tender's cahier.yaml outside both is not."""
    if not DEJAVU.is_file():
        pytest.skip("police DejaVu Sans (paquet Debian fonts-dejavu-core) absente")
    org = tmp_path / "organisation"
    (org / "polices").mkdir(parents=True)
    (org / "polices" / "DejaVuSans.ttf").write_bytes(DEJAVU.read_bytes())
    (org / "cahier-organisation.yaml").write_text(
        "look:\n  font: DejaVu Sans\n  font_dirs: [polices]\n", encoding="utf-8"
    )
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("CAHIER_ORGANISATION", str(org))
    d = make_dossier(tmp_path / "t", {"ccap.md": "# CCAP\n\nTexte.\n"})
    out = tmp_path / "out"
    res = assemble(read_dossier(d), lib, out, ["pdf"], draft=True, allowed_root=tmp_path)
    assert (
        "DejaVuSans" in next(o for o in res.manifest["outputs"] if o["path"] == "ccap.pdf")["fonts"]
    )
    assert {"path": "look/organisation:polices/DejaVuSans.ttf"}.items() <= next(
        i for i in res.manifest["inputs"] if i["path"].startswith("look/")
    ).items()
    monkeypatch.delenv("CAHIER_ORGANISATION")
    (d / "cahier.yaml").write_text(f"look:\n  font_dirs: [{org / 'polices'}]\n", encoding="utf-8")
    with pytest.raises(AssemblyRefused) as exc:
        assemble(read_dossier(d), lib, out, ["pdf"], draft=True, allowed_root=tmp_path)
    assert exc.value.findings[0].rule == "apparence-refusee"


def test_private_use_symbols_are_replaced_at_output_only(tmp_path, lib):
    src = "# CCAP\n\n\uf0fc Coché, \uf0a7 puce, \uf0e9 inconnu.\n"
    d = make_dossier(tmp_path, {"ccap.md": src})
    out = tmp_path / "out"
    res = assemble(read_dossier(d), lib, out, ["html", "pdf"], draft=True, allowed_root=tmp_path)
    html = (out / "ccap.html").read_text(encoding="utf-8")
    assert "✓ Coché" in html and "▪ puce" in html and "□ inconnu" in html
    (f,) = [f for f in res.findings if f.rule == "caractere-prive"]
    assert (f.location.line, f.severity.value) == (3, "warning") and "U+F0E9" in f.message
    assert "\uf0fc" in (d / "pieces" / "ccap.md").read_text(encoding="utf-8")  # source kept


def test_docx_validator_flags_a_formula_without_its_french_title(annexe, tmp_path):
    import re

    from tasks.publish.validators import docx_problems

    _d, out, _ = annexe
    assert not [p for p in docx_problems(out / "annexe.docx") if "formule" in p]
    bare = tmp_path / "sans-titres.docx"
    with zipfile.ZipFile(out / "annexe.docx") as src, zipfile.ZipFile(bare, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                text = re.sub(r"<w:sdt><w:sdtPr>.*?</w:sdtPr><w:sdtContent>", "", text)
                data = text.replace("</w:sdtContent></w:sdt>", "").encode("utf-8")
            dst.writestr(item, data)
    assert any("2 formule(s) sans titre" in p for p in docx_problems(bare))
