"""The command line on bad input: French message naming the file (and line), exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TENDER = """\
id: 2026-TEST-001
objet: Acquisition d'ordinateurs portables reconditionnés
codeCPV: "30213100"
procedure: "Appel d'offres ouvert"
dureeMois: 48
ccag: "Techniques de l'information et de la communication"
montant: 150000
acheteur: {id: "21330063500017", nom: "Commune de Test", type: collectivite}
categories: [hardware]
dateLancement: 2026-09-15
criteres:
  - {nom: Prix, poids: 70, type: prix}
  - {nom: Performance environnementale, poids: 30, type: environnement}
"""

CCAP = """\
# Cahier des clauses administratives particulières

## Article 1 – Objet

Le présent marché porte sur l'acquisition d'ordinateurs portables.

## Article 2 – Conditions d'exécution environnementales

{{ clause("ENV-COND-01") }}
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cahier", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


@pytest.fixture
def dossier(tmp_path: Path) -> Path:
    d = tmp_path / "2026-TEST-001"
    (d / "pieces").mkdir(parents=True)
    (d / "tender.yaml").write_text(TENDER, encoding="utf-8")
    (d / "pieces" / "ccap.md").write_text(CCAP, encoding="utf-8")
    return d


def assert_input_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in proc.stderr, proc.stderr


def test_check_runs_and_reports_in_french(dossier: Path):
    proc = run("check", str(dossier))
    assert proc.returncode in (0, 1), proc.stderr
    assert "Contrôle du dossier 2026-TEST-001" in proc.stdout
    assert "Bilan" in proc.stdout


def test_arguments_are_named_in_french_in_usage_help_and_errors():
    proc = run("assemble")
    assert_input_error(proc, "Argument manquant 'DOSSIER'", "assemble [OPTIONS] DOSSIER")
    assert "tender_dir" not in proc.stderr
    helps = run("check", "--help").stdout + run("clauses", "diff", "--help").stdout
    for english in ("paths", "{old}", " old ", " new "):
        assert english not in helps, (english, helps)
    assert "check [OPTIONS] DOSSIER…" in helps and "ANCIENNE [NOUVELLE]" in helps


def test_each_command_summary_is_one_line_in_the_main_help():
    lines = run("--help").stdout.splitlines()
    for cmd, end in (("demo", "dépôt Git jetable."), ("report", "promis et réalisés.")):
        line = next(ln for ln in lines if ln.startswith(f"│ {cmd} "))
        assert end in line, line  # not cut by the docstring's line break


def test_demo_refuses_a_non_empty_folder_before_starting_prefect(dossier: Path):
    proc = run("demo", "--dossier", str(dossier))
    assert_input_error(proc, "absent ou vide")
    assert "Prefect" not in proc.stdout, proc.stdout  # no server started for nothing


def test_malformed_yaml_names_file_and_line(dossier: Path):
    (dossier / "tender.yaml").write_text(
        TENDER.replace("dureeMois: 48", "dureeMois: [48"), encoding="utf-8"
    )
    assert_input_error(run("check", str(dossier)), "tender.yaml:", "YAML invalide")


def test_wrong_type_names_field_and_line(dossier: Path):
    (dossier / "tender.yaml").write_text(
        TENDER.replace("montant: 150000", "montant: beaucoup"), encoding="utf-8"
    )
    proc = run("check", str(dossier))
    assert_input_error(proc, "tender.yaml:7", "montant", "nombre")


def test_bad_siret(dossier: Path):
    (dossier / "tender.yaml").write_text(TENDER.replace("21330063500017", "2133"), encoding="utf-8")
    assert_input_error(run("check", str(dossier)), "tender.yaml:8", "SIRET")


def test_unknown_clause_id_in_piece(dossier: Path):
    (dossier / "pieces" / "ccap.md").write_text(
        CCAP.replace("ENV-COND-01", "ENV-XYZ-99"), encoding="utf-8"
    )
    assert_input_error(run("check", str(dossier)), "ccap.md:9", "ENV-XYZ-99", "inconnue")


def test_injection_in_clause_call_is_refused(dossier: Path):
    (dossier / "pieces" / "ccap.md").write_text(
        CCAP.replace('clause("ENV-COND-01")', "clause(''.__class__.__mro__)"), encoding="utf-8"
    )
    assert_input_error(run("check", str(dossier)), "ccap.md:9", "clause(")


def test_unknown_waiver_clause(dossier: Path):
    (dossier / "tender.yaml").write_text(
        TENDER + 'waivers:\n  - {clause: FOO-BAR-01, reason: "motif suffisamment long"}\n',
        encoding="utf-8",
    )
    assert_input_error(run("check", str(dossier)), "tender.yaml", "FOO-BAR-01")


def test_missing_tender_yaml(tmp_path: Path):
    (tmp_path / "vide").mkdir()
    proc = run("check", str(tmp_path / "vide"))
    assert_input_error(proc, "tender.yaml")


def test_nonexistent_path(tmp_path: Path):
    assert_input_error(run("check", str(tmp_path / "nulle-part")), "introuvable")


def test_empty_and_binary_pieces(dossier: Path):
    (dossier / "pieces" / "cctp.md").write_bytes(b"")
    assert_input_error(run("check", str(dossier)), "cctp.md", "vide")
    (dossier / "pieces" / "cctp.md").write_bytes(b"\x00\x01\x02binaire\x00" * 50)
    assert_input_error(run("check", str(dossier)), "cctp.md", "binaire")


def test_docx_that_is_not_a_zip(dossier: Path):
    (dossier / "pieces" / "cctp.docx").write_text("ceci n'est pas un docx", encoding="utf-8")
    assert_input_error(run("check", str(dossier)), "cctp.docx", "DOCX")


def test_latin1_piece_is_read(dossier: Path):
    (dossier / "pieces" / "cctp.md").write_bytes(
        "# CCTP\n\nSpécifications générales : éco-conception.\n".encode("latin-1")
    )
    proc = run("check", str(dossier), "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr


def test_symlink_escaping_the_dossier(dossier: Path, tmp_path: Path):
    secret = tmp_path / "secret.md"
    secret.write_text("secret", encoding="utf-8")
    os.symlink(secret, dossier / "pieces" / "annexe.md")
    assert_input_error(run("check", str(dossier)), "annexe.md")


def test_huge_piece_is_refused_clearly(dossier: Path):
    big = dossier / "pieces" / "cctp.md"
    with big.open("wb") as fh:
        line = ("Le titulaire livre des ordinateurs conformes au CCTP. " * 4 + "\n").encode()
        fh.write(line * (50 * 1024 * 1024 // len(line) + 1))
    assert_input_error(run("check", str(dossier)), "cctp.md", "volumineuse")


def test_bad_revision(dossier: Path):
    subprocess.run(["git", "init", "-q", str(dossier)], check=True)
    assert_input_error(run("check", str(dossier), "--rev", "n-existe-pas"), "n-existe-pas")


def test_output_formats_are_written_atomically(dossier: Path, tmp_path: Path):
    out = tmp_path / "rapport.json"
    proc = run("check", str(dossier), "--format", "json", "--output", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["tender"] == "2026-TEST-001"
    assert {f["clause"] for f in data["families"]} >= {"ENV-COND-01", "ENV-CRIT-01"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rapport.json.")]
    bad = run(
        "check", str(dossier), "--format", "json", "--output", str(tmp_path / "absent" / "r.json")
    )
    assert_input_error(bad, "introuvable")


def test_clauses_list_and_show():
    proc = run("clauses", "list")
    assert proc.returncode == 0 and "ENV-COND-01" in proc.stdout
    show = run("clauses", "show", "SOC-INSERT-01")
    assert show.returncode == 0 and "Fondement" in show.stdout and "L2112-2-1" in show.stdout
    assert_input_error(run("clauses", "show", "NOPE-01"), "inconnue")


def test_clauses_dossier_that_is_not_a_folder(tmp_path: Path):
    """--dossier naming nothing (or a file) is refused: its layers would be silently
    left out and the national clausier shown as if it were the effective one."""
    a_file = tmp_path / "tender.yaml"
    a_file.write_text("id: X\n", encoding="utf-8")
    for cmd in (["list"], ["show", "ENV-COND-01"], ["diff", "national", "effectif"]):
        for target in (tmp_path / "absent", a_file):
            assert_input_error(
                run("clauses", *cmd, "--dossier", str(target)), "--dossier", str(target)
            )


def test_declared_piece_missing(dossier: Path):
    (dossier / "tender.yaml").write_text(
        TENDER + 'pieces:\n  "Annexe 3.pdf": ccap\n', encoding="utf-8"
    )
    assert_input_error(run("check", str(dossier)), "tender.yaml", "Annexe 3.pdf")


def test_pre_commit_passes_files_of_one_dossier(dossier: Path):
    # pre-commit passes the touched files; each dossier is checked once.
    proc = run(
        "check", str(dossier / "tender.yaml"), str(dossier / "pieces" / "ccap.md"), "-f", "json"
    )
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert data["tender"] == "2026-TEST-001"


def test_pre_commit_hook_definition_runs_cahier_check():
    import yaml

    hooks = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    )
    hook = next(h for h in hooks if h["id"] == "cahier-check")
    assert hook["entry"] == "cahier check" and hook["pass_filenames"] is True
    import re

    rx = re.compile(hook["files"])
    assert rx.search("tenders/2026-X/pieces/ccap.md") and rx.search("tenders/2026-X/tender.yaml")
    assert not rx.search("README.md")


def test_rev_replays_the_same_answer_on_a_past_commit(dossier: Path):
    repo = dossier.parent

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=Acheteuse", "-c", "user.email=a@example.fr", "add", "-A")
    git("-c", "user.name=Acheteuse", "-c", "user.email=a@example.fr", "commit", "-qm", "v1")
    git("tag", "v1")
    before = json.loads(run("check", str(dossier), "-f", "json").stdout)
    # Later work removes the environmental clause and is committed, plus uncommitted edits.
    (dossier / "pieces" / "ccap.md").write_text(
        CCAP.replace('{{ clause("ENV-COND-01") }}', ""), encoding="utf-8"
    )
    git("-c", "user.name=Acheteuse", "-c", "user.email=a@example.fr", "commit", "-qam", "v2")
    (dossier / "tender.yaml").write_text("cassé: [", encoding="utf-8")
    replay = run("check", str(dossier), "--rev", "v1", "-f", "json")
    assert replay.returncode in (0, 1), replay.stderr
    after = json.loads(replay.stdout)
    assert after["commit"] and after["rev"] == "v1"
    assert after["families"] == before["families"]
    assert after["findings"] == before["findings"]
    now = json.loads(run("check", str(dossier), "--rev", "HEAD", "-f", "json").stdout)
    env = next(f for f in now["families"] if f["clause"] == "ENV-COND-01")
    assert env["status"] == "missing"


def test_incomplete_tender_is_lenient_from_a_revision(dossier: Path):
    """A draft tender.yaml (empty montant and ccag) committed to Git: ``--rev`` gives the
    findings that do not depend on the empty fields, as the working tree does, with the
    missing fields listed."""
    repo = dossier.parent
    draft = TENDER.replace("montant: 150000", "montant: null").replace(
        'ccag: "Techniques de l\'information et de la communication"', "ccag:"
    )
    (dossier / "tender.yaml").write_text(draft, encoding="utf-8")
    (dossier / "pieces" / "ccap.md").write_text(
        CCAP.replace('{{ clause("ENV-COND-01") }}', ""), encoding="utf-8"
    )
    who = ["-c", "user.name=Acheteuse", "-c", "user.email=a@example.fr"]
    for args in (["init", "-q"], [*who, "add", "-A"], [*who, "commit", "-qm", "brouillon"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    (dossier / "tender.yaml").write_text("cassé: [", encoding="utf-8")  # not read with --rev
    proc = run("check", str(dossier), "--rev", "HEAD", "-f", "json")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    report = json.loads(proc.stdout)
    incomplete = next(f for f in report["findings"] if f["rule"] == "tender-incomplet")
    assert "montant" in incomplete["message"] and "ccag" in incomplete["message"]
    assert incomplete["location"]["file"] == "tender.yaml" and incomplete["location"]["line"]
    env = next(f for f in report["families"] if f["clause"] == "ENV-COND-01")
    assert env["status"] == "missing"  # a finding that does not depend on the empty fields


def test_docx_with_tracked_changes_reported(dossier: Path):
    import zipfile

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = (
        "<w:p><w:r><w:t>Le titulaire remet un rapport annuel.</w:t></w:r></w:p>"
        '<w:p><w:del w:id="1" w:author="A"><w:r><w:delText>Critère environnemental : 10 %'
        "</w:delText></w:r></w:del></w:p>"
    )
    with zipfile.ZipFile(dossier / "pieces" / "cctp.docx", "w") as z:
        z.writestr(
            "word/document.xml", f'<w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>'
        )
    proc = run("check", str(dossier), "-f", "json")
    assert proc.returncode in (0, 1), proc.stderr
    found = [
        f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "suppression-en-attente"
    ]
    assert len(found) == 1 and found[0]["location"] == {"file": "pieces/cctp.docx", "line": 2}
    assert "« Critère environnemental : 10 % »" in found[0]["message"]


def test_scanned_pdf_is_no_text_layer_not_all_clauses_missing(dossier: Path):
    from pypdf import PdfWriter

    w = PdfWriter()
    for _ in range(3):
        w.add_blank_page(width=595, height=842)
    with (dossier / "pieces" / "cctp.pdf").open("wb") as fh:
        w.write(fh)
    # the CCAP is readable: the scanned CCTP is an error finding (fail closed), not exit 2
    proc = run("check", str(dossier), "-f", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    scanned = [f for f in report["findings"] if f["rule"] == "piece-sans-texte"]
    assert len(scanned) == 1 and scanned[0]["severity"] == "error"
    assert scanned[0]["location"]["file"] == "pieces/cctp.pdf"
    assert "numérisé" in scanned[0]["message"]
    # nothing readable at all: unusable input, exit 2, no traceback
    (dossier / "pieces" / "ccap.md").unlink()
    proc = run("check", str(dossier))
    assert_input_error(proc, "cctp.pdf", "pas de couche texte")
    assert "absente" not in proc.stdout


def test_encrypted_pdf(dossier: Path):
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=595, height=842)
    w.encrypt(user_password="secret", owner_password="owner")
    with (dossier / "pieces" / "rc.pdf").open("wb") as fh:
        w.write(fh)
    assert_input_error(run("check", str(dossier)), "rc.pdf", "chiffré")


def test_unknown_referent_role_names_line(dossier: Path):
    extra = "referents:\n  comptable:\n    - {nom: Jean Test, email: jean@example.fr}\n"
    (dossier / "tender.yaml").write_text(TENDER + extra, encoding="utf-8")
    assert_input_error(
        run("check", str(dossier)), "tender.yaml:15", "« referents.comptable »", "ou 'social'"
    )


def test_check_all_streams_one_line_per_dossier(dossier: Path, tmp_path: Path):
    import shutil

    root = dossier.parent
    shutil.copytree(dossier, root / "2026-TEST-002")
    broken = root / "2026-TEST-003"
    shutil.copytree(dossier, broken)
    (broken / "tender.yaml").write_text("id: [", encoding="utf-8")
    out = tmp_path / "resultats.jsonl"
    proc = run("check", "--all", str(root), "--output", str(out), "--workers", "1")
    assert proc.returncode == 2, proc.stderr
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    assert 2 in {x["exit_code"] for x in lines}
    bad = next(x for x in lines if x["exit_code"] == 2)
    assert "tender.yaml" in bad["message"] and "YAML invalide" in bad["message"]
    assert "3 dossier(s) contrôlé(s)" in proc.stdout


def test_sarif_uris_are_relative_to_the_repository_root(dossier: Path):
    proc = run("check", dossier.name, "-f", "sarif", cwd=dossier.parent)
    assert proc.returncode in (0, 1), proc.stderr
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for res in json.loads(proc.stdout)["runs"][0]["results"]
        for loc in res.get("locations", [])
    }
    assert uris and all(u.startswith("2026-TEST-001/") for u in uris), uris


def test_check_all_refuses_per_dossier_formats(dossier: Path):
    assert_input_error(run("check", "--all", str(dossier.parent), "-f", "junit"), "JSON Lines")


def test_check_all_that_would_check_nothing_is_refused(dossier: Path, tmp_path: Path):
    """An empty folder or a file under --all: exit 2, never « 0 dossier(s) » and exit 0
    (a pre-commit hook on a wrong path would pass silently)."""
    (tmp_path / "vide").mkdir()
    assert_input_error(run("check", "--all", str(tmp_path / "vide")), "aucun dossier")
    assert_input_error(
        run("check", "--all", str(dossier / "tender.yaml")), "pas un fichier", "tender.yaml"
    )


def test_check_all_says_how_many_dossiers_the_summary_leaves_out(dossier: Path):
    root = dossier.parent
    for n in range(12):  # 12 unusable dossiers beside the fixture one
        d = root / f"2026-TEST-1{n:02d}"
        (d / "pieces").mkdir(parents=True)
        (d / "tender.yaml").write_text("objet: [\n", encoding="utf-8")
    proc = run("check", "--all", str(root), "--workers", "1")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.count("YAML invalide") == 10, proc.stdout
    # the fixture dossier has errors too: 13 dossiers to list, 10 listed
    assert "… et 3 autre(s) dossier(s)" in proc.stdout and "-o resultats.jsonl" in proc.stdout


def test_impossible_date_and_duplicate_key(dossier: Path):
    (dossier / "tender.yaml").write_text(
        TENDER.replace("2026-09-15", "2026-02-30"), encoding="utf-8"
    )
    assert_input_error(run("check", str(dossier)), "tender.yaml:10", "n'existe pas")
    (dossier / "tender.yaml").write_text(TENDER + "montant: 12\n", encoding="utf-8")
    assert_input_error(run("check", str(dossier)), "tender.yaml:14", "en double", "ligne 7")


def test_infinite_amount_and_bad_siret_key(dossier: Path):
    (dossier / "tender.yaml").write_text(
        TENDER.replace("montant: 150000", "montant: .inf"), encoding="utf-8"
    )
    assert_input_error(run("check", str(dossier)), "tender.yaml:7", "montant")
    (dossier / "tender.yaml").write_text(
        TENDER.replace("21330063500017", "21330063500018"), encoding="utf-8"
    )
    assert_input_error(run("check", str(dossier)), "tender.yaml:8", "clé de contrôle")


def test_adapted_procedure_above_the_eu_threshold_is_flagged(dossier: Path):
    text = TENDER.replace("Appel d'offres ouvert", "Procédure adaptée").replace(
        "montant: 150000", "montant: 900000"
    )
    (dossier / "tender.yaml").write_text(text, encoding="utf-8")
    data = json.loads(run("check", str(dossier), "-f", "json").stdout)
    found = [f for f in data["findings"] if f["rule"] == "procedure-incoherente"]
    assert (
        found
        and found[0]["location"]["line"] == 4
        and "R2123-1" in found[0]["legal_basis"][0]["ref"]
    )


def test_main_registers_only_the_command_asked_for_and_behaves_the_same():
    """``cahier NAME …`` builds only NAME's module (Typer builds the parameters of every
    registered command at each call); help and usage errors are those of the full app."""
    from typer.main import get_command
    from typer.testing import CliRunner

    from cahier.cli import COMMAND_MODULES, app, build_app

    runner = CliRunner()
    for module in COMMAND_MODULES:
        for name in sorted(module.commands.names()):
            narrow = build_app(name)
            assert set(get_command(narrow).commands) == module.commands.names()
            for args in ([name, "--help"], [name, "--option-inconnue"]):
                full, alone = runner.invoke(app, args), runner.invoke(narrow, args)
                assert (alone.exit_code, alone.output) == (full.exit_code, full.output), args
    assert len(get_command(build_app("commande-inconnue")).commands) == len(
        set().union(*(m.commands.names() for m in COMMAND_MODULES))
    )


def test_output_named_by_the_user_folder_link_pipe_and_device(dossier: Path, tmp_path: Path):
    """``-o`` takes what the user names: a folder is refused in French (naming it, not a
    temporary file), a symbolic link is followed and kept, a named pipe without reader is
    an error instead of a wait without end, a full device says « disque plein »."""
    folder = tmp_path / "sorties"
    folder.mkdir()
    assert_input_error(run("check", str(dossier), "-f", "json", "-o", str(folder)), "dossier")
    target = tmp_path / "rapport.json"
    target.write_text("ancien\n", encoding="utf-8")
    link = tmp_path / "lien.json"
    link.symlink_to(target)
    proc = run("check", str(dossier), "-f", "json", "-o", str(link))
    assert proc.returncode in (0, 1), proc.stderr
    assert link.is_symlink() and json.loads(target.read_text(encoding="utf-8"))
    pipe = tmp_path / "tube"
    os.mkfifo(pipe)
    assert_input_error(run("check", str(dossier), "-f", "json", "-o", str(pipe)), "tube")
    assert pipe.exists() and not pipe.is_file()  # still a pipe, not replaced by a file
    if Path("/dev/full").exists():
        assert_input_error(run("check", str(dossier), "-f", "json", "-o", "/dev/full"), "disque")


def test_command_line_mistakes_are_told_in_french(dossier: Path):
    """Click's own parsing errors reach the user in French (cahier/i18n.py)."""
    cases = [
        (("audit", str(dossier), "--verify=1"), "ne prend pas de valeur"),
        (("check", str(dossier), "--format"), "demande une valeur"),
        (("check", str(dossier), "--nope"), "Option inconnue"),
        (("check", str(dossier), "--formt", "json"), "options possibles : --flow, --format"),
    ]
    for args, french in cases:
        proc = run(*args)
        assert proc.returncode == 2, proc.stderr
        assert french in proc.stderr, proc.stderr
        for english in ("does not take", "requires an argument", "No such option", "Possible"):
            assert english not in proc.stderr, proc.stderr


def test_server_misuse_is_refused_before_anything_starts(tmp_path: Path):
    """A port out of range or in use, or a second server on the same PREFECT_HOME: a
    French message naming --port or the running server, exit 2, nothing started (the
    running server's announcement is left as it was)."""
    import json
    import socket

    home = tmp_path / "prefect"
    home.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(home), "PYTHONIOENCODING": "utf-8"}

    def server(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cahier", "server", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    proc = server("--port", "99999")
    assert proc.returncode == 2 and "--port : 99999 n'est pas un port" in proc.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = server("--port", str(port))
        assert proc.returncode == 2 and f"le port {port} est déjà utilisé" in proc.stderr
    announced = home / "cahier-server.json"
    text = json.dumps({"api_url": "http://127.0.0.1:4200/api", "pid": os.getpid()})
    announced.write_text(text, encoding="utf-8")
    proc = server("--port", "4399")
    assert proc.returncode == 2 and "un serveur cahier tourne déjà" in proc.stderr
    assert announced.read_text(encoding="utf-8") == text
    assert "Traceback" not in proc.stderr
