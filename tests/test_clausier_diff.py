"""``cahier clauses diff``: changes between two clausiers and the versioning rules.

A clause whose meaning changes (text, parameters, applicability, level, piece) must get
a new version and a changelog line; the diff reports it as an error otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest
import yaml
from typer.testing import CliRunner

from cahier.cli import app
from tasks.clausier.diff import diff_clausiers, load_folder, load_revision
from tasks.clausier.library import default_library_path
from tasks.errors import InputError

runner = CliRunner()
LIB = default_library_path()


def _copy(dst: Path) -> Path:
    (dst / "clauses").mkdir(parents=True)
    shutil.copyfile(LIB / "clausier.yaml", dst / "clausier.yaml")
    for f in (LIB / "clauses").glob("*.yaml"):
        shutil.copyfile(f, dst / "clauses" / f.name)
    return dst


def _edit(root: Path, cid: str, **changes) -> None:
    path = root / "clauses" / f"{cid}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Path, Path]:
    return _copy(tmp_path / "old"), _copy(tmp_path / "new")


def _rules(result) -> list[tuple[str, str | None]]:
    return [(i.rule, i.clause) for i in result.issues]


def test_identical_clausiers_have_no_difference(sides):
    old, new = sides
    result = diff_clausiers(load_folder(old), load_folder(new))
    assert not (result.added or result.removed or result.changed or result.issues)


def test_text_change_without_version_bump_is_an_error(sides):
    old, new = sides
    data = yaml.safe_load((old / "clauses" / "ENV-COND-01.yaml").read_text(encoding="utf-8"))
    _edit(new, "ENV-COND-01", text=data["text"].replace("{{ frequence_rapport_mois }}", "6", 1))
    result = diff_clausiers(load_folder(old), load_folder(new))
    assert ("version-non-incrementee", "ENV-COND-01") in _rules(result)
    assert result.errors
    change = next(c for c in result.changed if c.id == "ENV-COND-01")
    text = next(f for f in change.fields if f.name == "text")
    assert text.diff and "-" in text.diff and "+" in text.diff and "6" in text.diff


def test_bump_without_changelog_line_is_an_error(sides):
    old, new = sides
    _edit(new, "SOC-INSERT-01", level="recommended", version=2)
    result = diff_clausiers(load_folder(old), load_folder(new))
    assert ("changelog-manquant", "SOC-INSERT-01") in _rules(result)
    assert ("version-non-incrementee", "SOC-INSERT-01") not in _rules(result)


def test_bump_with_changelog_passes_but_library_version_should_change(sides):
    old, new = sides
    data = yaml.safe_load((old / "clauses" / "OPEN-01.yaml").read_text(encoding="utf-8"))
    _edit(
        new,
        "OPEN-01",
        text=data["text"] + "\nLe titulaire publie le code sur une forge publique.",
        version=data["version"] + 1,
        changelog=[*data["changelog"], f"{data['version'] + 1} — publication sur une forge"],
    )
    result = diff_clausiers(load_folder(old), load_folder(new))
    assert not result.errors, result.issues
    assert _rules(result) == [("version-clausier-inchangee", None)]
    meta = new / "clausier.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace('version: "2026.11.0"', 'version: "2026.12.0"', 1),
        "utf-8",
    )
    # A new library version without its changelog entry is reported…
    assert ("changelog-clausier-incomplet", None) in _rules(
        diff_clausiers(load_folder(old), load_folder(new))
    )
    # …and accepted once the entry lists the clause's new version.
    doc = yaml.safe_load(meta.read_text(encoding="utf-8"))
    clauses = dict(doc["changelog"][-1]["clauses"], **{"OPEN-01": data["version"] + 1})
    doc["changelog"].append(
        {"version": "2026.12.0", "date": "2026-12-15", "note": "OPEN-01 v2", "clauses": clauses}
    )
    meta.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    assert not diff_clausiers(load_folder(old), load_folder(new)).issues


def test_cosmetic_change_needs_no_bump(sides):
    old, new = sides
    _edit(new, "LABEL-01", title="Label environnemental exigé ou équivalent")
    result = diff_clausiers(load_folder(old), load_folder(new))
    assert not result.issues
    assert [f.name for f in result.changed[0].fields] == ["title"]


def test_version_going_down_and_added_removed(sides):
    old, new = sides
    _edit(new, "PROG-01", version=1)
    (new / "clauses" / "OPEN-01.yaml").unlink()
    result = diff_clausiers(load_folder(old), load_folder(new))
    assert ("version-en-baisse", "PROG-01") in _rules(result)
    assert result.removed == ["OPEN-01"]
    back = diff_clausiers(load_folder(new), load_folder(old))
    assert back.added == ["OPEN-01"]


def test_invalid_clause_file_names_file_and_field(sides):
    _old, new = sides
    _edit(new, "DATA-REV-01", level="obligatoire")
    with pytest.raises(InputError) as exc:
        load_folder(new)
    assert exc.value.file.endswith("DATA-REV-01.yaml") and "level" in exc.value.message


def test_git_revisions_read_from_blobs(tmp_path: Path):
    repo_dir = tmp_path / "depot"
    lib = _copy(repo_dir / "clause_library")
    repo = git.Repo.init(repo_dir)
    with repo:
        repo.index.add(["clause_library"])
        author = git.Actor("Test", "test@example.org")
        repo.index.commit("clausier v1", author=author, committer=author)
        _edit(lib, "ECO-RGESN-01", level="mandatory")
        repo.index.add(["clause_library"])
        repo.index.commit("ECO-RGESN-01 obligatoire", author=author, committer=author)
        (lib / "clauses" / "ECO-RGESN-01.yaml").unlink()  # uncommitted: not read from HEAD
    old = load_revision("HEAD~1", repo_dir)
    new = load_revision("HEAD", repo_dir)
    result = diff_clausiers(old, new)
    assert ("version-non-incrementee", "ECO-RGESN-01") in _rules(result)
    assert "ECO-RGESN-01" in new.clauses
    with pytest.raises(InputError) as exc:
        load_revision("v9.9", repo_dir)
    assert "introuvable" in exc.value.message


def test_cli_exit_codes(sides):
    old, new = sides
    same = runner.invoke(app, ["clauses", "diff", str(old), str(new)])
    assert same.exit_code == 0 and "Aucune différence" in same.output
    _edit(new, "ENV-SPEC-01", piece="ccap")
    bad = runner.invoke(app, ["clauses", "diff", str(old), str(new)])
    assert bad.exit_code == 1
    assert "ENV-SPEC-01" in bad.output and "version-non-incrementee" in bad.output
    missing = runner.invoke(app, ["clauses", "diff", str(old / "absent"), str(new)])
    assert missing.exit_code == 2 and "introuvable" in missing.output
