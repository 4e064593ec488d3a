"""Reading dossiers and pieces: formats, errors, Git revisions, real DCEs."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.dossier.document import PieceText
from tasks.dossier.reader import Dossier, detect_heading, piece_kind, read_dossier, read_piece
from tasks.errors import InputError

REAL = Path(__file__).resolve().parents[2] / "shared" / "cases" / "real"

TENDER = """\
id: 2026-TEST-001
objet: Acquisition d'ordinateurs portables
codeCPV: "30213100"
procedure: "Appel d'offres ouvert"
dureeMois: 48
ccag: "Techniques de l'information et de la communication"
montant: 300000
acheteur: {id: "21330063500017", nom: "Commune de Test", type: collectivite}
categories: [hardware]
dateLancement: 2026-09-15
"""

CCAP_MD = """\
# CCAP — Acquisition d'ordinateurs portables

## Article 4 – Exécution

4.5 Insertion professionnelle :

Le titulaire réalise une action d’insertion :

    ▫ Lot unique : 35 H par tranche de 100 000 € de commandes facturées

ARTICLE 5 CLAUSES ENVIRONNEMENTALES

Le titulaire fournit des ordinateurs conformes à l’écolabel\u00a0TCO Certified.
"""


def make_dossier(root: Path, pieces: dict[str, bytes | str], tender: str = TENDER) -> Path:
    """A dossier folder: tender.yaml + pieces/<name> for each piece."""
    (root / "pieces").mkdir(parents=True, exist_ok=True)
    (root / "tender.yaml").write_text(tender, encoding="utf-8")
    for name, content in pieces.items():
        path = root / "pieces" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return root


def make_pdf(pages: list[list[str]]) -> bytes:
    """A small PDF with one text line per string (Helvetica, WinAnsi encoding)."""
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    for i, lines in enumerate(pages):
        ops = [b"BT /F1 11 Tf 14 TL 50 800 Td"]
        for line in lines:
            esc = line.encode("cp1252").replace(b"\\", b"\\\\")
            esc = esc.replace(b"(", b"\\(").replace(b")", b"\\)")
            ops.append(b"(" + esc + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF file of ``objects`` (numbered from 1, the catalog first) with its xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for num, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % num + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def rc_pdf_pages() -> list[list[str]]:
    pages = []
    for n in range(1, 6):
        body = [f"Texte propre à la page {'ABCDE'[n - 1] * n} du règlement."]
        if n == 3:
            body = [
                "6.2 Jugement des offres",
                "Les critères sont pondérés de la manière suivante :",
                "Critère environnemental 10%",
                "Le sous-critère sera jugé sur la démarche d'éco-",
                "conception du candidat.",
            ]
        pages.append(
            ["Procédure : 26TEST01", f"Règlement de la consultation Page {n} sur 5", *body]
        )
    return pages


# --------------------------------------------------------------------------- kinds


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("CCAP_2025 TMA AQUAREEL_vd.md", "ccap"),
        ("RC.pdf", "rc"),
        ("rc.md", "rc"),
        ("AE_2025_TMA AQUAREEL_vd.md", "ae"),
        ("BPU_Aquareel_2025_vd.odt", "bpu"),
        ("DPF_Aquareel_2025_vd.md", "dpf"),
        ("DQE.xlsx", "dqe"),
        ("DPGF lot 1.xlsx", "dpgf"),
        ("Q-R_DCE_TMA_AQUAREEL_2025-2.md", "qr"),
        ("CCTP_Aquareel_2025_vd.md", "cctp"),
        ("Annexe 1 - planning.pdf", "annexe"),
        ("Reglement de la consultation.pdf", "rc"),
        ("Règlement_de_la_consultation.docx", "rc"),
        ("Acte d'engagement.docx", "ae"),
        ("source.md", "autre"),
        ("arc-en-ciel.md", "autre"),
        ("ressources.txt", "autre"),
        ("pieces/sub/ccap-v2.md", "ccap"),
        # full names, as buyers save them (user trial), accents and apostrophes optional
        ("Règlement de la consultation.pdf", "rc"),
        ("Cahier des clauses administratives particulières.pdf", "ccap"),
        ("CCTP - cahier des clauses techniques.docx", "cctp"),
        ("Acte d'engagement.docx", "ae"),
        ("Acte d\u2019engagement.docx", "ae"),
        ("Bordereau des prix unitaires.pdf", "bpu"),
        ("Cahier des clauses techniques.pdf", "cctp"),
        ("CAHIER DES CLAUSES ADMINISTRATIVES.pdf", "ccap"),
        ("Reglement de consultation.odt", "rc"),
        ("Réponses aux questions des candidats.pdf", "qr"),
        ("Questions et réponses n°2.pdf", "qr"),
        ("Bordereau de prix.xlsx", "bpu"),
        ("Détail estimatif.xlsx", "dqe"),
        ("ATTRI1.docx", "ae"),
        ("cahier des charges techniques.docx", "cctp"),
    ],
)
def test_piece_kind(name: str, kind: str) -> None:
    assert piece_kind(name) == kind


def test_piece_kind_ignores_unicode_form() -> None:
    import unicodedata

    name = "Règlement de la consultation.pdf"
    assert piece_kind(unicodedata.normalize("NFD", name)) == "rc"  # macOS file names


# --------------------------------------------------------------------------- headings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ARTICLE 5 CLAUSES ENVIRONNEMENTALES", ("5", "CLAUSES ENVIRONNEMENTALES", 1)),
        ("Article 13.2 - Pénalités", ("13.2", "Pénalités", 2)),
        ("Article 7 : conditions d'exécution", ("7", "conditions d'exécution", 1)),
        ("4.5 Insertion professionnelle :", ("4.5", "Insertion professionnelle", 2)),
        ("4.5.1 Actions d'insertion :", ("4.5.1", "Actions d'insertion", 3)),
        ("6.2 Jugement des offres", ("6.2", "Jugement des offres", 2)),
        ("1. Objet de l'accord-cadre", ("1", "Objet de l'accord-cadre", 1)),
        ("5 CLAUSES ENVIRONNEMENTALES", ("5", "CLAUSES ENVIRONNEMENTALES", 1)),
        ("ARTICLE 12", ("12", "", 1)),
    ],
)
def test_detect_heading(text: str, expected: tuple[str, str, int]) -> None:
    assert detect_heading(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "35 H par tranche de 100 000 € de commandes facturées",
        "1 000 € HT",
        "12 mois à compter de la notification",
        "4.5 Insertion professionnelle ........................ 12",
        "4.5 Insertion professionnelle :......................",
        "3.1 Durée de l'accord-cadre 5",  # Pandoc table of contents
        "Article 28 du règlement (UE) 2016/679 du Parlement européen",
        "16.1.4.2 Modalités particulières",
        "2. Le candidat remet son offre avant la date limite.",
        "1 Chef de projet",
        "28 rue de la Redoute",
        "15 Septembre 2026",
        "2025 Rapport annuel",
        "Le titulaire respecte l'article 5.",
        "- 4.5 Insertion professionnelle",
        "4.5 " + "Très long titre " * 10,
    ],
)
def test_not_a_heading(text: str) -> None:
    assert detect_heading(text) is None


# --------------------------------------------------------------------------- text pieces


def test_markdown_piece_lines_sections_and_source_lines() -> None:
    piece = read_piece("pieces/CCAP.md", CCAP_MD.encode())
    assert isinstance(piece, PieceText)
    assert (piece.kind, piece.format, piece.raw_source) == ("ccap", "md", CCAP_MD)
    by_text = {ln.text: ln for ln in piece.lines}
    # blank lines dropped, source line numbers kept
    bullet = by_text["- Lot unique : 35 H par tranche de 100 000 € de commandes facturées"]
    assert bullet.src_line == 9
    assert bullet.folded == "- lot unique : 35 h par tranche de 100 000 € de commandes facturees"
    assert piece.heading_of(piece.lines.index(bullet)) == "Article 4.5 — Insertion professionnelle"
    eco = by_text["Le titulaire fournit des ordinateurs conformes à l'écolabel TCO Certified."]
    assert eco.src_line == 13
    assert piece.heading_of(piece.lines.index(eco)) == "Article 5 — CLAUSES ENVIRONNEMENTALES"
    secs = [(s.number, s.title, s.level) for s in piece.sections]
    assert secs == [
        (None, "CCAP — Acquisition d'ordinateurs portables", 1),
        ("4", "Exécution", 2),
        ("4.5", "Insertion professionnelle", 2),
        ("5", "CLAUSES ENVIRONNEMENTALES", 1),
    ]
    # the heading line itself belongs to its section, the « # » are gone
    assert piece.lines[piece.sections[1].line_index].text == "Article 4 – Exécution"
    assert piece.section_numbers() == {"4", "4.5", "5"}


def test_markdown_page_markers_and_repeated_headers() -> None:
    parts = ["# RC converti", ""]
    words = ["Objet", "Durée", "Prix", "Critères"]
    for n in range(1, 5):
        parts += [f"## Page {n}", "", "Commune de Test — RC 2026", ""]
        parts += [f"{words[n - 1]} : texte de la page.", "", f"Page {n} / 4", "", "---", ""]
    parts.insert(-2, "Critère environnemental : 10 %")
    piece = read_piece("pieces/RC.md", "\n".join(parts).encode())
    texts = [ln.text for ln in piece.lines]
    assert "Commune de Test — RC 2026" not in texts
    assert not any(t.startswith("Page ") for t in texts)
    assert [s.title for s in piece.sections] == ["RC converti"]  # « ## Page N » not a heading
    content = {ln.text: ln for ln in piece.lines}
    assert content["Prix : texte de la page."].page == 3
    assert content["Critère environnemental : 10 %"].page == 4
    assert content["RC converti"].page is None
    src = "\n".join(parts).splitlines()
    for ln in piece.lines:
        assert ln.text in src[ln.src_line - 1]


def test_dehyphenation_keeps_first_fragment_line() -> None:
    text = "La démarche d'éco-\nconception est exigée.\nLe procès-\nverbal de l'accord-\ncadre.\n"
    piece = read_piece("pieces/CCTP.md", text.encode())
    assert [(ln.text, ln.src_line) for ln in piece.lines] == [
        ("La démarche d'écoconception", 1),
        ("est exigée.", 2),
        ("Le procès-verbal", 3),
        ("de l'accord-cadre.", 4),
    ]


def test_latin1_and_cp1252_files_are_read() -> None:
    text = "Clause d'insertion : 35 heures, réemploi, éco-conception, Œuvre à côté"
    piece = read_piece("pieces/CCAP.txt", text.encode("cp1252"))
    assert piece.lines[0].text == text
    assert piece.raw_source == text
    piece = read_piece("pieces/CCAP.md", "Critère écologique : déchets".encode("latin-1"))
    assert piece.lines[0].text == "Critère écologique : déchets"
    # cp1252 curly apostrophe (0x92) comes out as a straight one
    piece = read_piece("pieces/RC.md", b"l\x92offre \xe9conomiquement")
    assert piece.lines[0].text == "l'offre économiquement"


def test_bom_and_utf16_files() -> None:
    piece = read_piece("pieces/rc.md", "\ufeff# Règlement\nCritère prix".encode())
    assert piece.raw_source == "# Règlement\nCritère prix"
    assert piece.sections[0].title == "Règlement"
    piece = read_piece(
        "pieces/rc.txt", "Critère prix 60 %\r\nCritère environnement".encode("utf-16")
    )
    assert [ln.text for ln in piece.lines] == ["Critère prix 60 %", "Critère environnement"]


def test_bad_pieces_raise_input_error() -> None:
    with pytest.raises(InputError, match="pièce vide") as exc:
        read_piece("pieces/CCAP.md", b"")
    assert exc.value.file == "pieces/CCAP.md"
    with pytest.raises(InputError, match="fichier binaire"):
        read_piece("pieces/CCAP.md", b"PK\x03\x04\x00\x00garbage\x00")
    with pytest.raises(
        InputError, match=r"fichier DOCX illisible \(ce n'est pas une archive Office Open XML\)"
    ):
        read_piece("pieces/AE.docx", b"Ceci est un texte renomme en .docx")
    with pytest.raises(InputError, match="ODT illisible"):
        read_piece("pieces/BPU.odt", b"plain text")
    with pytest.raises(InputError, match="Word 97-2003"):
        read_piece("pieces/AE.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(InputError, match="PDF illisible"):
        read_piece("pieces/RC.pdf", b"%PDF-1.4 tronque")


def test_unsupported_formats_give_empty_pieces() -> None:
    # spreadsheets are read (tests/test_completeness.py); a damaged one is refused
    with pytest.raises(InputError, match="tableur"):
        read_piece("pieces/DQE.xlsx", b"PK\x03\x04 spreadsheet")
    piece = read_piece("pieces/logo.png", b"\x89PNG\r\n")
    assert (piece.format, piece.lines, piece.has_text_layer) == ("png", [], True)


# --------------------------------------------------------------------------- PDF / DOCX


def test_pdf_pages_headers_and_sections() -> None:
    piece = read_piece("pieces/RC.pdf", make_pdf(rc_pdf_pages()))
    assert (piece.kind, piece.format, piece.has_text_layer) == ("rc", "pdf", True)
    texts = [ln.text for ln in piece.lines]
    assert not any("Procédure : 26TEST01" in t or "Page 3 sur 5" in t for t in texts)
    crit = next(ln for ln in piece.lines if "Critère environnemental" in ln.text)
    assert (crit.page, crit.src_line) == (3, 5)
    assert "10%" in crit.text
    assert piece.heading_of(piece.lines.index(crit)) == "Article 6.2 — Jugement des offres"
    assert "6.2" in piece.section_numbers()
    # pdfium joins a line ending with a hyphen to the next one (U+FFFE marker)
    assert "Le sous-critère sera jugé sur la démarche d'écoconception du candidat." in texts
    assert "Texte propre à la page DDDD du règlement." in texts


def test_encrypted_pdf() -> None:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="secret", owner_password="owner")
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(InputError, match=r"PDF chiffré \(protégé par mot de passe\)") as exc:
        read_piece("pieces/RC.pdf", buf.getvalue())
    assert exc.value.file == "pieces/RC.pdf"


def test_scanned_pdf_has_no_text_layer() -> None:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    for _ in range(3):
        writer.add_blank_page(595, 842)
    buf = io.BytesIO()
    writer.write(buf)
    piece = read_piece("pieces/CCAP.pdf", buf.getvalue())
    assert piece.has_text_layer is False
    assert piece.lines == []
    # a page number on each page is not a text layer either
    piece = read_piece("pieces/CCAP.pdf", make_pdf([[f"{n}"] for n in range(1, 4)]))
    assert piece.has_text_layer is False


def test_docx_through_pandoc() -> None:
    docx = pytest.importorskip("docx")
    doc = docx.Document()
    doc.add_heading("5. Clauses environnementales", level=1)
    doc.add_paragraph("Le titulaire fournit un rapport annuel d’écoconception.")
    doc.add_heading("6. Données personnelles", level=1)
    doc.add_paragraph("Conformément à l’article 28 du RGPD, le titulaire est sous-traitant.")
    buf = io.BytesIO()
    doc.save(buf)
    piece = read_piece("pieces/CCAP.docx", buf.getvalue())
    assert (piece.kind, piece.format) == ("ccap", "docx")
    assert [(s.number, s.title) for s in piece.sections] == [
        ("5", "Clauses environnementales"),
        ("6", "Données personnelles"),
    ]
    rgpd = next(ln for ln in piece.lines if "article 28" in ln.folded)
    assert rgpd.text.startswith("Conformément à l'article 28")
    assert piece.heading_of(piece.lines.index(rgpd)) == "Article 6 — Données personnelles"
    assert rgpd.src_line is not None and rgpd.page is None


# --------------------------------------------------------------------------- dossiers


def test_read_dossier(tmp_path: Path) -> None:
    root = make_dossier(
        tmp_path / "dce",
        {
            "CCAP.md": CCAP_MD,
            "RC.pdf": make_pdf(rc_pdf_pages()),
            "annexes/Annexe 1.md": "Annexe : planning",
            "annexes/deep/ignored.md": "trop profond",
            ".DS_Store": b"\x00\x01",
            "~$CCAP.docx": b"lock",
        },
    )
    dossier = read_dossier(root)
    assert isinstance(dossier, Dossier)
    assert dossier.root == str(root)
    assert (dossier.tender_file, dossier.commit, dossier.rev) == ("tender.yaml", None, None)
    assert dossier.tender.acheteur.nom == "Commune de Test"
    assert [(p.path, p.kind) for p in dossier.pieces] == [
        ("pieces/CCAP.md", "ccap"),
        ("pieces/RC.pdf", "rc"),
        ("pieces/annexes/Annexe 1.md", "annexe"),
    ]


def test_dossier_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="dossier introuvable"):
        read_dossier(tmp_path / "absent")
    root = tmp_path / "dce"
    root.mkdir()
    with pytest.raises(InputError, match=r"tender\.yaml manquant") as exc:
        read_dossier(root)
    assert exc.value.file == "tender.yaml"
    (root / "tender.yaml").write_text(TENDER, encoding="utf-8")
    with pytest.raises(InputError, match="aucune pièce"):
        read_dossier(root)
    (root / "pieces").mkdir()
    with pytest.raises(InputError, match="aucune pièce"):
        read_dossier(root)
    (root / "pieces" / "CCAP.md").write_bytes(b"")
    with pytest.raises(InputError, match="pièce vide") as exc:
        read_dossier(root)
    assert exc.value.file == "pieces/CCAP.md"
    (root / "pieces" / "CCAP.md").write_text("x" * 3_000_000)
    with pytest.raises(InputError, match=r"pièce trop volumineuse") as exc:
        read_dossier(root, max_piece_bytes=1_000_000)
    # exact sizes: « 20 Mo, maximum 20 Mo » hid a piece 20 bytes over the limit
    assert "(3\u202f000\u202f000 octets, maximum 1\u202f000\u202f000 octets)" in exc.value.message


def test_malformed_tender_yaml(tmp_path: Path) -> None:
    root = make_dossier(tmp_path / "a", {"CCAP.md": CCAP_MD}, tender="id: [ouvert\nobjet: x\n")
    with pytest.raises(InputError, match="YAML invalide") as exc:
        read_dossier(root)
    assert exc.value.file == "tender.yaml" and exc.value.line is not None
    bad = TENDER.replace("montant: 300000", "montant: beaucoup")
    root = make_dossier(tmp_path / "b", {"CCAP.md": CCAP_MD}, tender=bad)
    with pytest.raises(InputError, match="montant") as exc:
        read_dossier(root)
    assert (exc.value.file, exc.value.line) == ("tender.yaml", 7)


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_symlink_outside_dossier_is_rejected(tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("données hors du dossier")
    root = make_dossier(tmp_path / "dce", {"CCAP.md": CCAP_MD})
    (root / "pieces" / "RC.md").symlink_to(secret)
    with pytest.raises(InputError, match="chemin hors du dossier") as exc:
        read_dossier(root)
    assert exc.value.file == "pieces/RC.md"
    # a link that stays inside the dossier is fine
    (root / "pieces" / "RC.md").unlink()
    (root / "pieces" / "RC.md").symlink_to(root / "pieces" / "CCAP.md")
    assert len(read_dossier(root).pieces) == 2
    # pieces/ itself linked outside
    other = make_dossier(tmp_path / "other", {"CCAP.md": CCAP_MD})
    shutil.rmtree(other / "pieces")
    (other / "pieces").symlink_to(root / "pieces")
    with pytest.raises(InputError, match="chemin hors du dossier"):
        read_dossier(other)
    # tender.yaml linked outside
    (root / "tender.yaml").unlink()
    (root / "tender.yaml").symlink_to(other / "tender.yaml")
    with pytest.raises(InputError, match="chemin hors du dossier") as exc:
        read_dossier(root)
    assert exc.value.file == "tender.yaml"


# --------------------------------------------------------------------------- git


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> dict[str, object]:
    top = tmp_path / "repo"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    (top / "README.md").write_text("dépôt de test")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "init")
    empty = git(top, "rev-parse", "HEAD")
    root = make_dossier(top / "consultations" / "dce", {"CCAP.md": "Version 1 du CCAP"})
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "v1")
    v1 = git(top, "rev-parse", "HEAD")
    git(top, "tag", "v1")
    git(top, "branch", "ancienne")
    (root / "pieces" / "CCAP.md").write_text("Version 2 du CCAP")
    (root / "pieces" / "RC.md").write_text("Règlement v2")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "v2")
    v2 = git(top, "rev-parse", "HEAD")
    # uncommitted edits in the working tree must not be seen with a revision
    (root / "pieces" / "CCAP.md").write_text("Brouillon non commité")
    (root / "tender.yaml").write_text("pas: [du yaml")
    return {"top": top, "root": root, "empty": empty, "v1": v1, "v2": v2}


def _texts(d: Dossier) -> dict[str, list[str]]:
    return {p.path: [ln.text for ln in p.lines] for p in d.pieces}


def test_read_from_git_revisions(repo: dict[str, object]) -> None:
    root, v1, v2 = repo["root"], str(repo["v1"]), str(repo["v2"])
    assert isinstance(root, Path)
    for rev in (v1, v1[:8], "v1", "ancienne", "HEAD~1"):
        d = read_dossier(root, rev=rev)
        assert _texts(d) == {"pieces/CCAP.md": ["Version 1 du CCAP"]}, rev
        assert (d.commit, d.rev, d.root) == (v1, rev, str(root))
        assert d.tender.id == "2026-TEST-001"
    d = read_dossier(root, rev="main")
    assert d.commit == v2
    assert _texts(d) == {"pieces/CCAP.md": ["Version 2 du CCAP"], "pieces/RC.md": ["Règlement v2"]}
    # relative path from inside the repository
    cwd = os.getcwd()
    try:
        os.chdir(root.parent)
        assert read_dossier("dce", rev="v1").commit == v1
    finally:
        os.chdir(cwd)
    # without a revision, the working tree is read (and its broken tender.yaml seen)
    with pytest.raises(InputError, match="YAML invalide"):
        read_dossier(root)


def test_git_errors(repo: dict[str, object], tmp_path: Path) -> None:
    root = repo["root"]
    assert isinstance(root, Path)
    with pytest.raises(InputError, match="révision « nope » introuvable dans le dépôt"):
        read_dossier(root, rev="nope")
    with pytest.raises(InputError, match="révision « 0123456789abcdef » introuvable"):
        read_dossier(root, rev="0123456789abcdef")
    with pytest.raises(InputError, match="absent de la révision") as exc:
        read_dossier(root, rev=str(repo["empty"]))
    assert "git add" not in exc.value.message  # committed later: the revision is the cause
    # a dossier never committed: the way out is to commit it, not to check the revision
    fresh = make_dossier(root.parent / "nouveau", {"CCAP.md": CCAP_MD})
    with pytest.raises(InputError, match="jamais été commité") as exc:
        read_dossier(fresh, rev="HEAD")
    assert "git add" in exc.value.message
    outside = make_dossier(tmp_path / "hors-depot", {"CCAP.md": CCAP_MD})
    with pytest.raises(InputError, match="pas dans un dépôt Git"):
        read_dossier(outside, rev="HEAD")


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_git_symlink_outside_dossier(repo: dict[str, object]) -> None:
    top, root = repo["top"], repo["root"]
    assert isinstance(top, Path) and isinstance(root, Path)
    (root / "pieces" / "CCAP.md").write_text("Version 3")
    (root / "tender.yaml").write_text(TENDER)
    (root / "pieces" / "lien.md").symlink_to("CCAP.md")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "lien interne")
    d = read_dossier(root, rev="HEAD")
    assert _texts(d)["pieces/lien.md"] == ["Version 3"]
    (root / "pieces" / "evil.md").symlink_to("../../../README.md")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "lien externe")
    with pytest.raises(InputError, match="chemin hors du dossier") as exc:
        read_dossier(root, rev="HEAD")
    assert exc.value.file == "pieces/evil.md"


def test_reading_without_rev_does_not_import_git(tmp_path: Path) -> None:
    root = make_dossier(tmp_path / "dce", {"CCAP.md": CCAP_MD})
    code = (
        "import sys; from tasks.dossier.reader import read_dossier; "
        f"read_dossier({str(root)!r}); "
        "print('git' in sys.modules, 'pypandoc' in sys.modules, 'pypdfium2' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.split() == ["False", "False", "False"]


# --------------------------------------------------------------------------- real DCEs


def real(*parts: str) -> Path:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real case absent: {path}")
    return path


@pytest.mark.real
def test_real_vsgp_rc_pdf() -> None:
    path = real("vsgp-infogerance-2025", "RC.pdf")
    piece = read_piece("pieces/RC.pdf", path.read_bytes())
    assert piece.kind == "rc" and piece.has_text_layer
    page8 = [ln for ln in piece.lines if ln.page == 8]
    crit = next(ln for ln in page8 if "Critère environnementale" in ln.text)
    assert "10%" in crit.text
    assert not any("Règlement de la consultation Page" in ln.text for ln in piece.lines)
    assert not any(ln.text == "Procédure : 25TIC06" for ln in piece.lines)
    assert "6.2" in piece.section_numbers()
    assert piece.heading_of(piece.lines.index(crit)) == "Article 6.2 — Jugement des offres"
    # pdfium's hyphen marker: « sous\ufffecritère » → « sous-critère »
    assert any("Ce sous-critère sera jugé" in ln.text for ln in page8)


@pytest.mark.real
def test_real_vsgp_ccap_pdf_pages_and_sections() -> None:
    data = real("vsgp-infogerance-2025", "CCAP.pdf").read_bytes()
    piece = read_piece("pieces/CCAP.pdf", data)
    assert max(ln.page or 0 for ln in piece.lines) == 38
    assert {"4", "18.3", "23"} <= piece.section_numbers()
    assert any("article 28" in ln.folded for ln in piece.lines)


@pytest.mark.real
def test_real_vsgp_ae_docx() -> None:
    piece = read_piece("pieces/AE.docx", real("vsgp-infogerance-2025", "AE.docx").read_bytes())
    assert (piece.kind, piece.format) == ("ae", "docx")
    assert any("article 28" in ln.folded for ln in piece.lines)
    assert not any("\uf0a8" in ln.text or "\u25fb" in ln.text for ln in piece.lines)


@pytest.mark.real
def test_real_aquareel_ccap_md() -> None:
    path = real("aquareel-tma-scv-2025", "CCAP_2025 TMA AQUAREEL_vd.md")
    piece = read_piece("pieces/" + path.name, path.read_bytes())
    assert piece.kind == "ccap"
    sec = next(s for s in piece.sections if s.number == "4.5")
    assert sec.title == "Insertion professionnelle" and sec.level == 2
    assert piece.lines[sec.line_index].src_line == 301
    line = next(ln for ln in piece.lines if "35 H par tranche de 100 000 €" in ln.text)
    assert (line.src_line, line.page) == (320, 5)
    assert piece.heading_of(piece.lines.index(line)) == "Article 4.5.1 — Actions d'insertion"
    # table of contents entries are not sections: each number appears once
    numbers = [s.number for s in piece.sections if s.number]
    assert numbers.count("4.5") == 1 and numbers.count("13.2") == 1
    assert {"5", "13.2", "13.3", "20"} <= set(numbers)
    # words cut at line ends are rejoined, true compounds keep their hyphen
    texts = " ".join(ln.text for ln in piece.lines)
    assert "procès-verbal" in texts and "plate-forme" in texts


@pytest.mark.real
def test_real_aquareel_dossier(tmp_path: Path) -> None:
    src = real("aquareel-tma-scv-2025")
    root = make_dossier(tmp_path / "aquareel", {})
    for f in src.iterdir():
        shutil.copy(f, root / "pieces" / f.name)
    d = read_dossier(root)
    kinds = {p.path.split("/")[-1]: p.kind for p in d.pieces}
    assert kinds["Q-R_DCE_TMA_AQUAREEL_2025-2.md"] == "qr"
    assert kinds["BPU_Aquareel_2025_vd.odt"] == "bpu"
    assert all(p.lines for p in d.pieces)
    odt = next(p for p in d.pieces if p.format == "odt")
    assert any("tranche ferme" in ln.folded for ln in odt.lines)
