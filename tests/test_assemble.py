"""Assembly: open what was written (DOCX, ODT, HTML, PDF), reproducibility, gate, security."""

from __future__ import annotations

import io
import json
import re
import shutil
import unicodedata
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pikepdf
import pypandoc
import pypdf
import pytest
import yaml
from conftest import approved_repository
from docx import Document as Docx

from tasks.clausier.library import load_clausier
from tasks.clausier.render import CLAUSE_CALL_RE, clause_block, parse_call_args
from tasks.dossier.document import PieceText
from tasks.dossier.reader import read_dossier
from tasks.errors import InputError
from tasks.publish.assemble import (
    AssemblyRefused,
    assemble,
    check_output_dir,
    french_typography,
    render_piece,
)

ROOT = Path(__file__).resolve().parents[1]
CD33 = ROOT / "tenders" / "2026-CD33-PC-001"


def key(text: str) -> str:
    """Letters and digits only (NFKC, lower case): layout, NBSP and list markers ignored."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def clause_paragraphs(markdown_source: str, lib) -> list[str]:
    """The paragraphs of every clause() call of a piece, as plain text without list markers."""
    out = []
    for m in CLAUSE_CALL_RE.finditer(markdown_source):
        cid, params = parse_call_args(m["args"], "piece", 1)
        plain = pypandoc.convert_text(
            clause_block(lib.get(cid), params),
            "plain",
            format="markdown",
            extra_args=["--wrap=none"],
        )
        for line in plain.splitlines():
            line = re.sub(r"^\s*(?:\d+\.|[a-z]\)|[-*])\s+", "", line).strip()
            if len(key(line)) > 12:
                out.append(line)
    return out


@pytest.fixture(scope="module")
def lib():
    return load_clausier()


@pytest.fixture(scope="module")
def cd33(tmp_path_factory, lib):
    """The example dossier assembled twice into the same folder (second run = reproducibility)."""
    if not (CD33 / "tender.yaml").is_file():
        pytest.skip("dossier d'exemple 2026-CD33-PC-001 absent")
    area = tmp_path_factory.mktemp("area")
    out = area / "out" / "cd33"
    # A final assembly needs the referents' approvals, recorded in Git.
    approved = approved_repository(CD33, area)
    dossier = read_dossier(approved)
    first = assemble(dossier, lib, out, allowed_root=area, workers=4)
    saved = {o.path: (out / o.path).read_bytes() for o in first.outputs}
    # second run: the formats whose bytes must not change (PDF checked too when cheap)
    second = assemble(read_dossier(approved), lib, out, allowed_root=area, workers=4)
    return dossier, first, second, saved, out


def test_manifest_hashes_every_input_and_output(cd33):
    dossier, _, _second, _, out = cd33
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    paths = {i["path"] for i in m["inputs"]}
    assert "tender.yaml" in paths
    assert {p.path for p in dossier.pieces} <= paths
    assert "clause_library/clauses/ENV-COND-01.yaml" in paths
    assert "clause_library/templates/reference/reference.docx" in paths
    import hashlib

    for o in m["outputs"]:
        assert hashlib.sha256((out / o["path"]).read_bytes()).hexdigest() == o["sha256"]
    assert hashlib.sha256((out / m["zip"]["path"]).read_bytes()).hexdigest() == m["zip"]["sha256"]
    assert m["tools"]["pandoc"] and m["tools"]["typst"]
    assert m["clausier_version"]
    assert m["git"]["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", m["git"]["commit"])
    formats = {o["format"] for o in m["outputs"]}
    assert formats == {"docx", "odt", "html", "pdf", "pdfa"}
    # the zip holds the publishable pieces, not the archive copies
    names = zipfile.ZipFile(out / m["zip"]["path"]).namelist()
    assert (
        "ccap.pdf" in names
        and "ccap.odt" in names
        and not any(n.startswith("archive/") for n in names)
    )


def test_second_run_is_byte_identical_and_manifest_says_so(cd33):
    _, first, second, saved, out = cd33
    for o in second.outputs:
        if o.format in ("docx", "odt", "html", "pdf"):
            assert (out / o.path).read_bytes() == saved[o.path], o.path
    repro = second.manifest["reproducibility"]
    assert repro["previous_manifest"] and repro["all_identical"] and not repro["different"]
    assert first.manifest["reproducibility"] == {"previous_manifest": False}


def test_docx_has_headings_header_and_clause_texts(cd33, lib):
    dossier, _, _, _, out = cd33
    ccap = next(p for p in dossier.pieces if p.kind == "ccap")
    doc = Docx(str(out / "ccap.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert any("Article 7" in h for h in headings)
    assert doc.core_properties.title.startswith("Cahier des clauses administratives")
    body = key("\n".join(p.text for p in doc.paragraphs))
    paras = clause_paragraphs(ccap.raw_source, lib)
    assert paras
    for para in paras:
        assert key(para) in body, para
    header = " ".join(p.text for p in doc.sections[0].header.paragraphs)
    assert dossier.tender.id in header and "ordinateurs portables" in header
    assert "PROJET" not in (out / "ccap.docx").read_bytes().decode("latin-1")
    footer_xml = doc.sections[0].footer._element.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml


def test_odt_has_headings_and_clause_texts(cd33, lib):
    from odf import teletype
    from odf import text as odftext
    from odf.opendocument import load

    dossier, _, _, _, out = cd33
    cctp = next(p for p in dossier.pieces if p.kind == "cctp")
    odt = load(str(out / "cctp.odt"))
    heads = [teletype.extractText(h) for h in odt.getElementsByType(odftext.H)]
    assert len(heads) >= 3
    plain = key(pypandoc.convert_file(str(out / "cctp.odt"), "plain", extra_args=["--wrap=none"]))
    for para in clause_paragraphs(cctp.raw_source, lib):
        assert key(para) in plain, para
    styles = zipfile.ZipFile(out / "cctp.odt").read("styles.xml").decode()
    assert dossier.tender.id in styles and "text:page-number" in styles
    assert "{objet}" not in styles and "PROJET" not in styles


def test_pdf_is_tagged_titled_french_and_contains_every_clause(cd33, lib):
    dossier, _, _, _, out = cd33
    t = dossier.tender
    for piece in dossier.pieces:
        stem = Path(piece.path).stem
        pdf = pikepdf.open(out / f"{stem}.pdf")
        assert "/StructTreeRoot" in pdf.Root
        assert str(pdf.Root.Lang).startswith("fr")
        assert bool(pdf.Root.MarkInfo.Marked)
        assert str(pdf.docinfo["/Title"]).strip()
        with pdf.open_metadata() as xmp:
            assert xmp.get("pdfuaid:part") == "1"
        reader = pypdf.PdfReader(out / f"{stem}.pdf")
        text = ""
        for page in reader.pages:
            k = key(page.extract_text())
            for noise in (t.acheteur.nom, f"Consultation n° {t.id}", t.objet):
                k = k.replace(key(noise), "")
            text += re.sub(r"page\d+sur\d+", "", k)
        for para in clause_paragraphs(piece.raw_source or "", lib):
            assert key(para) in text, (stem, para)
    archive = pikepdf.open(out / "archive" / "ccap.pdf")
    with archive.open_metadata() as xmp:
        assert xmp.get("pdfaid:part") == "2" and xmp.get("pdfaid:conformance") == "B"


class _Lint(HTMLParser):
    def __init__(self):
        super().__init__()
        self.lang = None
        self.headings: list[int] = []
        self.tags: list[str] = []
        self.tables = 0
        self.rows_first_cell: list[str] = []
        self._in_table = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = a.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "table":
            self.tables += 1
            self._in_table = True
        if tag in ("td", "th") and self._in_table:
            self.rows_first_cell.append(tag)
            self._in_table = False


def lint_html(html: str) -> list[str]:
    p = _Lint()
    p.feed(html)
    problems = []
    if p.lang != "fr":
        problems.append("lang")
    if p.headings.count(1) != 1 or p.headings[0] != 1:
        problems.append("h1")
    for a, b in zip(p.headings, p.headings[1:], strict=False):
        if b > a + 1:
            problems.append(f"h{a}->h{b}")
    if any(c != "th" for c in p.rows_first_cell):
        problems.append("table without th")
    for landmark in ("header", "main", "footer"):
        if landmark not in p.tags:
            problems.append(landmark)
    return problems


def test_html_passes_accessibility_lint_and_french_typography(cd33):
    dossier, _, _, _, out = cd33
    for piece in dossier.pieces:
        html = (out / f"{Path(piece.path).stem}.html").read_text(encoding="utf-8")
        assert lint_html(html) == [], piece.path
    html = (out / "bpu.html").read_text(encoding="utf-8")
    assert "<th" in html
    body = (out / "ccap.html").read_text(encoding="utf-8").split("<main", 1)[1]
    text = re.sub(r"<[^>]+>", "", body)
    assert "\u202f;" in text or "\u00a0:" in text
    assert not re.search(r"\w ;|« \w|\w »", text)
    assert 'class="clause"' in body and 'data-id="ENV-COND-01"' in body


def test_lint_catches_bad_html():
    assert "h1" in lint_html('<html lang="fr"><main><h1>a</h1><h1>b</h1></main></html>')
    assert "h2->h4" in lint_html('<html lang="fr"><h1>a</h1><h2>b</h2><h4>c</h4></html>')
    assert "table without th" in lint_html(
        "<html lang='fr'><h1>x</h1><table><tr><td>1</td></tr></table>"
    )


def test_bidder_guide_lists_clauses_weights_and_guidance(cd33, lib):
    _dossier, _, _, _, out = cd33
    doc = Docx(str(out / "guide-de-reponse.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = " ".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "Guide de réponse" in doc.core_properties.title
    assert "Performance environnementale" in cells and "20\u202f%" in cells
    env = lib.get("ENV-COND-01")
    assert key(env.title) in key(text)
    assert key(env.bidder_guidance[:80]) in key(text)
    assert "Non notée" in text
    assert "Notée au titre du critère" in text  # ENV-CRIT-01 feeds the environmental criterion


def test_french_typography_rules():
    def run(*words):
        nodes = []
        for w in words:
            nodes += [{"t": "Str", "c": w}, {"t": "Space"}]
        return "".join(n["c"] if n["t"] == "Str" else " " for n in french_typography(nodes[:-1]))

    assert run("Qui", "?") == "Qui\u202f?"
    assert run("Article", ":", "objet") == "Article\u00a0: objet"
    assert run("«", "Projet", "»") == "«\u202fProjet\u202f»"  # U+202F inside « » (issue 15)
    assert run("«Projet»") == "«\u202fProjet\u202f»"
    assert run("offre:", "prix") == "offre\u00a0: prix"  # glued colon
    assert run("(voir):") == "(voir)\u00a0:"
    assert run("heure", "10:30", "https://x.fr/a?b") == "heure 10:30 https://x.fr/a?b"
    assert run("vite!") == "vite\u202f!"
    assert run("50", "€", "HT") == "50\u00a0€ HT"
    assert run("10", "%", "du", "prix") == "10\u202f% du prix"
    assert run("5%,", "20€.") == "5\u202f%, 20\u00a0€."
    assert run("marché", "n°", "12") == "marché n°\u00a012"
    assert run("N°12") == "N°\u00a012"
    assert run("l'acheteur", "aujourd'hui") == "l’acheteur aujourd’hui"
    assert run("https://x.fr/a%20b", "mél@x.fr") == "https://x.fr/a%20b mél@x.fr"
    assert run("«", "*Projet*", "»") == "«\u202f*Projet*\u202f»"


# --------------------------------------------------------------------------- tmp dossiers


def make_dossier(base: Path, pieces: dict[str, str], **tender) -> Path:
    data = yaml.safe_load((CD33 / "tender.yaml").read_text(encoding="utf-8"))
    data.update(tender)
    d = base / "dossier"
    (d / "pieces").mkdir(parents=True)
    (d / "tender.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    for name, text in pieces.items():
        (d / "pieces" / name).write_text(text, encoding="utf-8")
    return d


def piece(src: str) -> PieceText:
    return PieceText("pieces/ccap.md", "ccap", "md", raw_source=src)


@pytest.mark.parametrize(
    "src",
    [
        "# CCAP\n\n{{ ''.__class__.__mro__ }}\n",
        "# CCAP\n\n{% import os %}\n",
        "# CCAP\n\n{{ cycler.__init__.__globals__.os.popen('touch /tmp/cahier-pwned').read() }}\n",
        "# CCAP\n\n{{ joiner.__init__.__globals__['os'] }}\n",
        "# CCAP\n\n{{ ''|attr('__class__') }}\n",
        "# CCAP\n\n{{ namespace() }}\n",
        "# CCAP\n\n{% include '/etc/passwd' %}\n",
        "# CCAP\n\n{{ 'x' * 100000000 }}\n",
    ],
)
def test_template_injection_is_a_finding_not_execution(src, lib):
    tender = read_dossier(CD33).tender if CD33.is_dir() else None
    rendered, findings = render_piece(piece(src), lib, tender)
    assert rendered is None
    assert findings and findings[0].rule == "gabarit-non-sur"
    assert findings[0].location.file == "pieces/ccap.md" and findings[0].location.line == 3
    assert not Path("/tmp/cahier-pwned").exists()


def test_template_errors_are_located_findings(lib):
    tender = read_dossier(CD33).tender
    cases = {
        "# A\n\ntexte\n\n{{ inconnue }}\n": 5,
        '# A\n\n{{ clause("NOPE-01") }}\n': 3,
        '# A\n\n\n{{ clause("ENV-COND-01", penalite_jour=-5) }}\n': 4,
        "# A\n\n{% if %}\n": 3,
    }
    for src, line in cases.items():
        rendered, findings = render_piece(piece(src), lib, tender)
        assert rendered is None
        assert findings[0].rule == "gabarit-invalide", src
        assert findings[0].location.line == line, (src, findings[0])
    ok, none = render_piece(piece('# A {#a}\n\n{{ clause("PROG-01") }}\n'), lib, tender)
    assert not none and 'data-id="PROG-01"' in ok.markdown and "{#a}" in ok.markdown


def _all_output_text(out: Path) -> str:
    chunks = []
    for f in out.rglob("*"):
        if not f.is_file():
            continue
        data = f.read_bytes()
        chunks.append(data.decode("latin-1"))
        if data[:2] == b"PK":
            z = zipfile.ZipFile(io.BytesIO(data))
            for n in z.namelist():
                chunks.append(z.read(n).decode("latin-1"))
        if f.suffix == ".pdf":
            chunks += [p.extract_text() for p in pypdf.PdfReader(f).pages]
    return "\n".join(chunks)


def test_local_files_never_leak_into_outputs(tmp_path, lib):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENU-4242", encoding="utf-8")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\nSECRET-CONTENU-4242")
    src = (
        "# CCAP\n\n"
        "![fichier système](/etc/passwd)\n\n"
        f"![mot de passe]({secret})\n\n"
        "![image](../../secret.png)\n\n"
        f'<img src="file://{secret}">\n\n'
        f"\\input{{{secret}}} et \\include{{/etc/passwd}}\n\n"
        f"[lien](file://{secret})\n\n"
        '```{=typst}\n#read("/etc/passwd")\n```\n\n'
        "Texte « normal » ; fin.\n"
    )
    d = make_dossier(tmp_path, {"ccap.md": src})
    out = tmp_path / "out"
    result = assemble(read_dossier(d), lib, out, draft=True, allowed_root=tmp_path)
    text = _all_output_text(out)
    assert "SECRET-CONTENU-4242" not in text
    assert "root:x:0:0" not in text
    rules = {f.rule for f in result.findings}
    assert {"image-hors-dossier", "contenu-brut-ignore", "lien-fichier-local"} <= rules
    # draft: watermark on every page of the PDF, in the DOCX header, on the HTML page
    reader = pypdf.PdfReader(out / "ccap.pdf")
    assert all("PROJET" in p.extract_text() for p in reader.pages)
    assert "PROJET" in zipfile.ZipFile(out / "ccap.docx").read("word/header1.xml").decode()
    assert "PROJET" in (out / "ccap.html").read_text(encoding="utf-8")
    # an image without alternative text is refused (RGAA 1.1, PDF/UA-1)
    (d / "pieces" / "ccap.md").write_text("# CCAP\n\n![](/etc/passwd)\n", encoding="utf-8")
    with pytest.raises(AssemblyRefused) as exc:
        assemble(read_dossier(d), lib, out, draft=True, allowed_root=tmp_path)
    assert exc.value.findings[0].rule == "image-sans-alternative"


def test_gate_refuses_errors_and_says_which(tmp_path, lib):
    d = make_dossier(tmp_path, {"ccap.md": "# CCAP\n\nAucune clause.\n"})
    out = tmp_path / "out"
    with pytest.raises(AssemblyRefused) as exc:
        assemble(read_dossier(d), lib, out, formats=["html"], allowed_root=tmp_path)
    assert any("clause-manquante" in r for r in exc.value.reasons)
    assert "cahier check" in exc.value.message
    assert not out.exists()
    assemble(read_dossier(d), lib, out, formats=["html"], draft=True, allowed_root=tmp_path)
    assert (out / "ccap.html").is_file()


def test_injection_refuses_assembly_and_writes_nothing(tmp_path, lib):
    d = make_dossier(tmp_path, {"ccap.md": "# CCAP\n\n{{ ''.__class__.__mro__ }}\n"})
    out = tmp_path / "out"
    with pytest.raises(AssemblyRefused) as exc:
        assemble(read_dossier(d), lib, out, draft=True, allowed_root=tmp_path)
    assert exc.value.findings[0].rule == "gabarit-non-sur"
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


def test_huge_table_renders_and_timeout_fails_cleanly(tmp_path, lib):
    rows = "\n".join(f"| {i} | Poste {i} de maintenance | {i * 3} |" for i in range(700))
    d = make_dossier(
        tmp_path, {"bpu.md": f"# BPU\n\n| N° | Poste | Prix |\n|---|---|---|\n{rows}\n"}
    )
    out = tmp_path / "out"
    assemble(read_dossier(d), lib, out, formats=["pdf"], draft=True, allowed_root=tmp_path)
    reader = pypdf.PdfReader(out / "bpu.pdf")
    assert len(reader.pages) > 10  # the table breaks across pages instead of being cut
    assert "Poste 699 de maintenance" in reader.pages[-1].extract_text()
    with pytest.raises(InputError) as exc:
        assemble(read_dossier(d), lib, tmp_path / "o2", ["html"], True, tmp_path, timeout=0.01)
    assert "trop longue" in exc.value.message or "Pandoc" in exc.value.message


def test_output_dir_rules(tmp_path):
    d = make_dossier(tmp_path, {"ccap.md": "# CCAP\n"})
    with pytest.raises(InputError, match="dossier de la consultation"):
        check_output_dir(d / "out", d, tmp_path)
    with pytest.raises(InputError, match="dossier de la consultation"):
        check_output_dir(tmp_path, d, tmp_path)
    # A caller that confines outputs (allowed_root) still gets the refusal ...
    with pytest.raises(InputError, match="hors de la zone"):
        check_output_dir(Path("/tmp/ailleurs"), d, tmp_path / "zone")
    # ... but a folder the user typed is the user's choice, outside the current
    # directory too (issue 14: every command's -o/--out accepts any path the same way).
    elsewhere = tmp_path / "ailleurs" / "dce"
    assert check_output_dir(elsewhere, d) == elsewhere.resolve()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="non vide"):
        check_output_dir(foreign, d, tmp_path)
    assert (
        check_output_dir(tmp_path / "out" / "x", d, tmp_path) == (tmp_path / "out" / "x").resolve()
    )


def test_cli_assemble_exit_codes(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cahier.cli import app

    d = make_dossier(tmp_path, {"ccap.md": "# CCAP\n\nAucune clause.\n"})
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["assemble", str(d), "--formats", "html"])
    assert r.exit_code == 1 and "clause-manquante" in r.output
    r = runner.invoke(app, ["assemble", str(d), "--formats", "html", "--out", str(d / "x")])
    assert r.exit_code == 2
    r = runner.invoke(app, ["assemble", str(d), "--formats", "html,rtf", "--draft"])
    assert r.exit_code == 2 and "rtf" in r.output
    r = runner.invoke(app, ["assemble", str(d), "--formats", "html", "--draft"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "2026-CD33-PC-001" / "ccap.html").is_file()
    shutil.rmtree(tmp_path / "out")
    # --out outside the current directory: accepted like every command's -o/--out
    sub = tmp_path / "ici"
    sub.mkdir()
    monkeypatch.chdir(sub)
    elsewhere = tmp_path / "ailleurs"
    r = runner.invoke(
        app, ["assemble", str(d), "--formats", "html", "--draft", "--out", str(elsewhere)]
    )
    assert r.exit_code == 0, r.output
    assert (elsewhere / "ccap.html").is_file() and not any(sub.iterdir())


def test_gate_refuses_a_lapsed_review_and_says_which(tmp_path, lib):
    if not (CD33 / "tender.yaml").is_file():
        pytest.skip("dossier d'exemple 2026-CD33-PC-001 absent")
    import subprocess

    d = approved_repository(CD33, tmp_path)
    tender = d / "tender.yaml"
    # The waived clause's reason changes after its approval: the approval lapses.
    text = tender.read_text(encoding="utf-8").replace("Le prix est jugé", "Le prix sera jugé", 1)
    assert "Le prix sera jugé" in text
    tender.write_text(text, encoding="utf-8")
    subprocess.run(
        [
            "git",
            "-C",
            str(d),
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@example.fr",
            "commit",
            "-qam",
            "motif",
        ],
        check=True,
    )
    out = tmp_path / "out"
    with pytest.raises(AssemblyRefused) as exc:
        assemble(read_dossier(d), lib, out, formats=["html"], allowed_root=tmp_path)
    assert any("COST-LCC-01" in r for r in exc.value.reasons), exc.value.reasons
    # the way out named is the referents' decision, not a check that finds nothing to fix
    assert "cahier review" in exc.value.message and "cahier check" not in exc.value.message
    assert not out.exists()


# --------------------------------------------------------------------------- drafts, area, typography


def test_draft_is_named_apart_and_a_final_assembly_replaces_it(cd33, lib):
    dossier, *_ = cd33
    area = Path(dossier.root).parents[2]  # approved_repository(): <area>/repo/tenders/<id>
    out = area / "out" / "melange"
    tid = dossier.tender.id
    draft = assemble(
        read_dossier(dossier.root), lib, out, ["html", "docx"], draft=True, allowed_root=area
    )
    assert draft.zip_path.name == f"{tid}-dce-PROJET.zip" and draft.manifest["draft"] is True
    assert 'class="projet"' in (out / "ccap.html").read_text(encoding="utf-8")
    assert not (out / f"{tid}-dce.zip").exists()
    final = assemble(read_dossier(dossier.root), lib, out, ["html"], allowed_root=area)
    assert final.zip_path.name == f"{tid}-dce.zip" and final.manifest["draft"] is False
    # nothing of the draft is left: the folder holds exactly what the manifest lists
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    listed = sorted([o["path"] for o in final.manifest["outputs"]] + [f"{tid}-dce.zip"])
    assert on_disk == sorted([*listed, "manifest.json"])
    assert 'class="projet"' not in (out / "ccap.html").read_text(encoding="utf-8")
    names = zipfile.ZipFile(out / f"{tid}-dce.zip").namelist()
    assert not any(n.endswith(".docx") for n in names)


def test_output_area_is_explained_in_help_and_error(tmp_path, monkeypatch):
    """Issue 14: a --out the user types is accepted anywhere (like every command's
    -o/--out); the help says so and what stays refused. A caller that confines outputs
    (allowed_root) still gets a French refusal naming the area."""
    from typer.testing import CliRunner

    from cahier.cli import app

    d = make_dossier(tmp_path, {"ccap.md": "# CCAP\n"})
    zone = tmp_path / "zone"
    zone.mkdir()
    with pytest.raises(InputError) as exc:
        check_output_dir(Path("/tmp/ailleurs"), d, zone)
    msg = exc.value.message
    assert f"hors de la zone autorisée ({zone.resolve()})" in msg
    assert f"choisissez un dossier sous {zone.resolve()}" in msg  # how
    monkeypatch.setenv("COLUMNS", "200")
    r = CliRunner().invoke(app, ["assemble", "--help"])
    help_text = " ".join(r.output.replace("│", " ").split())
    assert "où vous voulez sur le disque, hors du dossier de la consultation" in help_text
    assert "-o" in help_text


def test_french_spaces_around_euro_percent_and_numero_in_html_and_docx(tmp_path, lib):
    src = (
        "# CCAP\n\n"
        "Pénalité de 50 € HT par jour de retard, plafonnée à 10 % du montant du bon de "
        "commande n° 12 ; l'avance est de 5%.\n"
    )
    acheteur = yaml.safe_load((CD33 / "tender.yaml").read_text(encoding="utf-8"))["acheteur"]
    acheteur["nom"] = "Département de l'Isère"
    d = make_dossier(tmp_path, {"ccap.md": src}, acheteur=acheteur)
    out = tmp_path / "out"
    assemble(read_dossier(d), lib, out, ["html", "docx", "odt"], draft=True, allowed_root=tmp_path)
    html = (out / "ccap.html").read_text(encoding="utf-8")
    body = re.sub(r"<[^>]+>", "", html.split("<main", 1)[1])
    docx_text = "\n".join(p.text for p in Docx(str(out / "ccap.docx")).paragraphs)
    for text in (body, docx_text):
        assert "50\u00a0€ HT" in text and "10\u202f%" in text and "n°\u00a012" in text
        assert "5\u202f%" in text and "l’avance" in text
        assert not re.search(r"\d [€%]|n° \d", text)
    # page headers: same curly apostrophe as the body, n° kept with the reference
    header = zipfile.ZipFile(out / "ccap.docx").read("word/header1.xml").decode()
    assert "Département de l’Isère" in header and "l'Isère" not in header
    assert "n°\u00a0" in header and "n° " not in header
    styles = zipfile.ZipFile(out / "ccap.odt").read("styles.xml").decode()
    assert "Département de l’Isère" in styles and "l'Isère" not in styles
    head = html.split("<main", 1)[0]
    assert "Département de l’Isère" in head and "Consultation n°\u00a0" in head


def test_pandoc_stopped_by_the_user_is_an_interruption_not_a_bad_piece(monkeypatch):
    """Ctrl-C reaches Pandoc too: its death by SIGINT is the user's interruption
    (« Interrompu. »), never « conversion Pandoc impossible » blaming the piece."""
    import signal
    import subprocess
    import threading

    from tasks.publish import tools

    real = subprocess.Popen

    def popen(*a, **k):  # the real Pandoc, interrupted as a Ctrl-C would
        proc = real(*a, **k)
        threading.Timer(0.05, proc.send_signal, (signal.SIGINT,)).start()
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen)
    with pytest.raises(KeyboardInterrupt):  # 16 MB of input: still reading at 50 ms
        tools._pandoc(["-f", "markdown", "-t", "html"], b"# Titre\n" * 2_000_000, where="p.md")
