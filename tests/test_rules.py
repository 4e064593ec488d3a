"""clause_library/rules.yaml: every rule id the code emits is declared, every declared rule
is emitted somewhere, findings take their severity and legal basis from it, and a bad file
is refused in French with its file and line."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from tasks.clausier.rules import load_rules, rule_basis, rule_severity
from tasks.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "clause_library"
REAL = Path("/work/shared/cases/real")  # imported when present (never copied here)


def _real_dossiers(tmp: Path) -> list[Path]:
    """The real DCEs of the shared cases, imported (``cahier import``) into ``tmp``."""
    from tasks.drafting.importer import import_dce

    out = []
    if not REAL.is_dir():
        return out
    for case in sorted(p for p in REAL.iterdir() if p.is_dir()):
        files = sorted(
            f for f in case.rglob("*") if f.suffix.lower() in (".pdf", ".docx", ".odt", ".md")
        )
        try:
            out.append(import_dce(files, case.name, tmp / "real").path)
        except InputError:
            continue
    return out


@pytest.fixture(scope="module")
def emitted() -> list[dict]:
    """The findings (JSON form) of the example dossiers, of the hostile corpus and of the
    real DCEs (imported, when the shared cases are present)."""
    from typer.testing import CliRunner

    from cahier.cli import app
    from tests.test_hostile import CASES, EXAMPLE

    findings: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        dossiers = []
        for ex in sorted((ROOT / "tenders").iterdir()):
            dossiers.append(Path(shutil.copytree(ex, Path(tmp) / ex.name)))
        for case, (make, _needle) in sorted(CASES.items()):
            d = Path(tmp) / case / EXAMPLE.name
            shutil.copytree(EXAMPLE, d, ignore=shutil.ignore_patterns("evaluation"))
            make(d)
            dossiers.append(d)
        dossiers += _real_dossiers(Path(tmp))
        for d in dossiers:
            result = CliRunner().invoke(app, ["check", str(d), "--format", "json"])
            if result.exit_code == 1:
                findings.extend(json.loads(result.output)["findings"])
    assert len(findings) > 20
    return findings


def test_every_emitted_rule_is_declared_with_its_severity_and_basis(emitted):
    book = load_rules()
    undeclared = sorted({f["rule"] for f in emitted} - set(book.controle))
    assert not undeclared, f"règles émises mais absentes de rules.yaml : {undeclared}"
    for f in emitted:
        rule = book.controle[f["rule"]]
        allowed = {rule.gravite, *rule.contextes.values()}
        assert f["severity"] in allowed, (f["rule"], f["severity"], allowed)
        if rule.base and not f.get("clause"):
            refs = [lb["ref"] for lb in f.get("legal_basis") or []]
            assert rule_basis(f["rule"])[0].ref in refs, (f["rule"], refs)


def _sources(*folders: str) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8")
        for folder in folders
        for p in sorted((ROOT / folder).rglob("*.py"))
        if p.name != "rules.py"
    )


@pytest.mark.parametrize(
    ("section", "folders"),
    [
        ("controle", ("tasks/check", "tasks/clausier")),
        ("assemblage", ("tasks/publish",)),
        ("suivi", ("tasks/award",)),
    ],
)
def test_every_declared_rule_is_emitted_by_the_code(section, folders):
    code = _sources(*folders)
    unused = [
        rid for rid in getattr(load_rules(), section) if not re.search(rf'"{re.escape(rid)}"', code)
    ]
    assert not unused, f"règles déclarées que le code n'émet pas ({section}) : {unused}"


#: Where the code names a rule: ``rule="…"``, and the first rule argument of the helpers
#: that make findings (``_finding("…"``, ``warn("…"``, ``refuse(key, "…"``…).
_EMITTED = re.compile(
    r'\brule="(?P<a>[a-z]+(?:-[a-z]+)+)"'
    r'|\b(?:_finding|warn|clause_finding|_error)\(\s*"(?P<b>[a-z]+(?:-[a-z]+)+)"'
    r'|\brefuse\(\s*[^,()]+,\s*"(?P<c>[a-z]+(?:-[a-z]+)+)"'
)


@pytest.mark.parametrize(
    ("section", "folders"),
    [
        ("controle", ("tasks/check",)),
        ("assemblage", ("tasks/publish",)),
        ("suivi", ("tasks/award",)),
    ],
)
def test_every_rule_named_in_the_code_is_declared(section, folders):
    named = {next(g for g in m.groups() if g) for m in _EMITTED.finditer(_sources(*folders))}
    assert len(named) >= 3
    undeclared = sorted(named - set(getattr(load_rules(), section)))
    assert not undeclared, f"règles nommées dans le code, absentes de rules.yaml : {undeclared}"


def test_severity_follows_the_named_context():
    assert str(rule_severity("clause-manquante")) == "error"
    assert str(rule_severity("clause-manquante", "piece-absente")) == "warning"
    assert str(rule_severity("clause-recommandee-absente", "piece-absente")) == "info"
    assert str(rule_severity("critere-sans-condition")) == "warning"
    assert str(rule_severity("critere-sans-condition", "climat")) == "error"
    # a context the rule does not name leaves its default
    assert str(rule_severity("prix-seul", "recommandee")) == "error"
    with pytest.raises(InputError, match="non déclarée"):
        rule_severity("regle-inventee")


def _library_with(tmp_path: Path, text: str) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(LIBRARY / "law.yaml", lib / "law.yaml")
    (lib / "rules.yaml").write_text(text, encoding="utf-8")
    return lib


#: The head of one rule of rules.yaml, to which a test adds its own lines.
_PRIX_SEUL = 'controle:\n  prix-seul:\n    titre: "Prix seul"\n'


def _refusal(tmp_path: Path, text: str) -> str:
    """The message of the InputError that loading ``text`` as rules.yaml raises."""
    with pytest.raises(InputError) as exc:
        load_rules(_library_with(tmp_path, text))
    return str(exc.value)


def test_a_bad_severity_is_refused_in_french_with_file_and_line(tmp_path):
    text = _refusal(tmp_path, _PRIX_SEUL + "    gravite: grave\n")
    assert "rules.yaml" in text and ":4" in text, text
    assert "grave" in text


def test_an_unknown_legal_basis_is_refused_with_its_line(tmp_path):
    text = _refusal(tmp_path, _PRIX_SEUL + "    gravite: error\n    base: ccp-inexistant\n")
    assert "ccp-inexistant" in text and "law.yaml" in text and ":5" in text, text


def test_clause_ids_of_rules_are_data_and_must_exist(tmp_path):
    """The families a rule reads (Climat pairing, weights) come from rules.yaml; an id
    that is not a clause of the clausier is refused with its line."""
    from tasks.clausier.rules import rule_clause

    assert rule_clause("critere-sans-condition", "condition") == "ENV-COND-01"
    assert rule_clause("ponderation-politique", "social") == "SOC-CRIT-01"
    with pytest.raises(InputError, match="aucune clause déclarée pour le rôle"):
        rule_clause("prix-seul", "critere")
    text = _refusal(
        tmp_path, _PRIX_SEUL + "    gravite: error\n    clauses: {critere: ENV-CRIT-99}\n"
    )
    assert "ENV-CRIT-99" in text and ":5" in text, text


def test_validated_rules_are_kept_as_a_snapshot_that_follows_edits(tmp_path, monkeypatch):
    """rules.yaml is validated once into a JSON snapshot of the cache folder; an edit of
    rules.yaml, of law.yaml or of the clause files is seen at once, a bad edit is still
    refused with its line (tasks/clausier/snapshot.py)."""
    import os

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lib = _library_with(
        tmp_path, 'controle:\n  prix-seul:\n    titre: "Prix seul"\n    gravite: error\n'
    )
    (lib / "clauses").mkdir()
    assert load_rules.__wrapped__(lib).controle["prix-seul"].gravite == "error"
    [snap] = (tmp_path / "cache" / "cahier").glob("rules-*.json")
    assert load_rules.__wrapped__(lib).controle["prix-seul"].titre == "Prix seul"
    rules = lib / "rules.yaml"
    rules.write_text(rules.read_text("utf-8").replace("error", "warning"), encoding="utf-8")
    os.utime(rules, ns=(1, 1))  # same size, another time: another snapshot
    assert load_rules.__wrapped__(lib).controle["prix-seul"].gravite == "warning"
    rules.write_text(rules.read_text("utf-8") + "    base: ccp-inexistant\n", encoding="utf-8")
    with pytest.raises(InputError, match="ccp-inexistant"):
        load_rules.__wrapped__(lib)
    import yaml

    law = yaml.safe_load((lib / "law.yaml").read_text("utf-8"))
    law["references"]["ccp-inexistant"] = {"ref": "Article ajouté"}
    (lib / "law.yaml").write_text(yaml.safe_dump(law, allow_unicode=True), encoding="utf-8")
    assert load_rules.__wrapped__(lib).controle["prix-seul"].base == "ccp-inexistant"
    assert len(list(snap.parent.glob("rules-*.json"))) == 3
