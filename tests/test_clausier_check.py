"""``cahier clauses check``: a broken clause file is named with its field, in French."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tasks.clausier.library import check_clausier, default_library_path


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    dst = tmp_path / "clausier"
    shutil.copytree(
        default_library_path(), dst, ignore=shutil.ignore_patterns("templates", "__pycache__")
    )
    return dst


def edit(lib: Path, cid: str, **fields) -> Path:
    path = lib / "clauses" / f"{cid}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cahier", *args], capture_output=True, text=True)


def test_shipped_clausier_is_sound():
    assert check_clausier() == []


def test_wrong_field_names_file_line_and_field(lib: Path):
    path = edit(lib, "PROG-01", level="obligatoire")
    proc = run("clauses", "check", "--clausier", str(lib))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{path}:" in proc.stderr and "« level »" in proc.stderr


def test_duplicate_id_is_refused(lib: Path):
    shutil.copy(lib / "clauses" / "PROG-01.yaml", lib / "clauses" / "PROG-02.yaml")
    [problem] = check_clausier(lib)
    assert problem.file.endswith("PROG-02.yaml") and "PROG-01.yaml" in problem.message


def test_unknown_parameter_in_template(lib: Path):
    data = yaml.safe_load((lib / "clauses" / "PROG-01.yaml").read_text(encoding="utf-8"))
    edit(lib, "PROG-01", text=data["text"] + "\nDélai : {{ delai_inconnu }} jours.")
    [problem] = check_clausier(lib)
    assert "delai_inconnu" in problem.message and "« text »" in problem.message


def test_default_out_of_bounds(lib: Path):
    data = yaml.safe_load((lib / "clauses" / "PROG-01.yaml").read_text(encoding="utf-8"))
    name, spec = next((n, p) for n, p in data["parameters"].items() if p.get("max") is not None)
    spec["default"] = spec["max"] + 1
    edit(lib, "PROG-01", parameters=data["parameters"])
    [problem] = check_clausier(lib)
    assert name in problem.message and "maximum" in problem.message


def test_include_is_refused_so_no_circular_include(lib: Path):
    data = yaml.safe_load((lib / "clauses" / "PROG-01.yaml").read_text(encoding="utf-8"))
    edit(lib, "PROG-01", text='{% include "PROG-01.yaml" %}\n' + data["text"])
    problems = check_clausier(lib)
    assert any("inclusion" in p.message for p in problems)


def test_cue_of_more_than_three_words_is_refused(lib: Path):
    data = yaml.safe_load((lib / "clauses" / "PROG-01.yaml").read_text(encoding="utf-8"))
    data["evidence"]["any"][0]["all"][0] = "clause progrès | le titulaire informe l'acheteur"
    edit(lib, "PROG-01", evidence=data["evidence"])
    [problem] = check_clausier(lib)
    assert "3 mots consécutifs au plus" in problem.message
    assert problem.file.endswith("PROG-01.yaml")


def test_evidence_without_act_is_refused(lib: Path):
    data = yaml.safe_load((lib / "clauses" / "PROG-01.yaml").read_text(encoding="utf-8"))
    del data["evidence"]["acts"]
    edit(lib, "PROG-01", evidence=data["evidence"])
    [problem] = check_clausier(lib)
    assert "acts" in problem.message


def test_on_disk_cache_follows_edits(lib: Path, tmp_path: Path, monkeypatch):
    from tasks.clausier.library import load_clausier

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = load_clausier(lib)
    assert list((tmp_path / "cache" / "cahier").glob("clausier-*.json"))
    edit(lib, "PROG-01", title="Clause de progrès (titre modifié)")
    assert load_clausier(lib).get("PROG-01").title == "Clause de progrès (titre modifié)"
    assert first.get("PROG-01").title != "Clause de progrès (titre modifié)"
