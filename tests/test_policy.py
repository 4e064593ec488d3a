"""Policy layers (tasks/clausier/layers.py) and private buyers, on copies of the examples.

* the Région layer of examples/region-policy changes the verdict of a copy of the bundled
  example (errors citing « politique d'achat de la Région, art. N »), while the bundled
  example stays clean without it;
* a layer that loosens the law (lower level, wider bound, weight below law.yaml,
  redefined national id) is refused: French message naming the file and line, exit 2,
  no report written;
* layers stack, are read at a Git revision, and a tender's cahier.yaml cannot drop its
  organisation's layer;
* a private buyer: national obligations count as recommended (except RGPD and WEEE),
  its own layer binds it, no DECP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.check.checker import check_dossier
from tasks.clausier.library import load_clausier
from tasks.dossier.reader import read_dossier
from tasks.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
REGION = ROOT / "examples" / "region-policy"
PRIVE = ROOT / "examples" / "prive"
BUNDLED = ROOT / "tenders" / "2026-CD33-PC-001"


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch, tmp_path):
    monkeypatch.setenv("CAHIER_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.delenv("CAHIER_ORGANISATION", raising=False)


def _cli(*args: str, org: Path | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CAHIER_ORGANISATION", None)
    if org is not None:
        env["CAHIER_ORGANISATION"] = str(org)
    return subprocess.run(
        [sys.executable, "-m", "cahier", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _layer(folder: Path, body: str, clauses: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "politique.yaml").write_text(body, encoding="utf-8")
    for name, text in (clauses or {}).items():
        (folder / "clauses").mkdir(exist_ok=True)
        (folder / "clauses" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


HEAD = """\
id: test-layer
nom: Politique d'essai
citation: politique d'essai
version: "1"
source: {ref: "Décision d'essai"}
"""


def test_region_layer_changes_the_verdict_of_a_copy_of_the_bundled_example(tmp_path):
    copy = tmp_path / BUNDLED.name
    shutil.copytree(BUNDLED, copy)
    clean = _cli("check", str(copy))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    out = _cli("check", str(copy), "-f", "json", org=REGION)
    assert out.returncode == 1, out.stderr
    import json

    report = json.loads(out.stdout)
    assert "region-na 2026.1" in report["clausier_version"]
    errors = {(f["rule"], f["clause"]): f for f in report["findings"] if f["severity"] == "error"}
    weight = errors[("ponderation-politique", "ENV-CRIT-01")]
    assert "politique d'achat de la Région, art. 2" in weight["message"]
    assert "25\u00a0%" in weight["message"] and weight["location"]["file"] == "tender.yaml"
    insert = errors[("clause-parametre-invalide", "SOC-INSERT-01")]
    assert "art. 4" in insert["message"] and insert["location"]["line"]
    assert insert["legal_basis"][0]["ref"].startswith("politique d'achat de la Région, art. 4")
    # one finding per bad value, not a second one from the template lint
    assert not [f for f in report["findings"] if f["rule"] == "gabarit-invalide"]


def test_region_example_contract_is_clean_under_its_layer():
    d = REGION / "tenders" / "2026-RNA-LYC-005"
    lib = load_clausier(layers=[REGION / "politique-region"])
    report = check_dossier(read_dossier(d), lib)
    assert report.errors == 0, [f.message for f in report.findings]
    fam = {f.clause: f for f in report.families}
    assert fam["RNA-ESS-01"].status == "present"  # the layer's own clause, inserted


def test_region_example_without_its_organisation_says_how_to_declare_it():
    d = REGION / "tenders" / "2026-RNA-LYC-005"
    proc = _cli("check", str(d.relative_to(ROOT)))
    assert proc.returncode == 2, proc.stderr
    assert "« RNA-ESS-01 » inconnue" in proc.stderr and "ccap.md:" in proc.stderr
    assert "CAHIER_ORGANISATION" in proc.stderr, proc.stderr  # the way out, not only the fault
    # with layers declared, an unknown clause is unknown for another reason
    layered = load_clausier(layers=[REGION / "politique-region"])
    assert "CAHIER_ORGANISATION" not in layered.unknown("RNA-XYZ-01")


@pytest.mark.parametrize(
    ("body", "clauses", "expect", "line"),
    [
        (
            "niveaux:\n  - {clause: ENV-COND-01, level: recommended, article: art. 1}\n",
            None,
            "abaisse ENV-COND-01",
            7,
        ),
        (
            "parametres:\n  - {clause: SOC-INSERT-01, parametre: heures_par_100k, min: 5, article: art. 2}\n",
            None,
            "abaisse le minimum",
            7,
        ),
        ("ponderations:\n  environnement: {min: 5, article: art. 3}\n", None, "sous le minimum", 7),
    ],
)
def test_a_layer_that_loosens_the_law_is_refused(tmp_path, body, clauses, expect, line):
    layer = _layer(tmp_path / "couche", HEAD + body, clauses)
    org = tmp_path / "org"
    org.mkdir()
    (org / "cahier-organisation.yaml").write_text(f"policy:\n  layers: [{layer}]\n")
    out_file = tmp_path / "rapport.json"
    res = _cli("check", str(BUNDLED), "-f", "json", "-o", str(out_file), org=org)
    assert res.returncode == 2
    assert expect in res.stderr and f"politique.yaml:{line}" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not out_file.exists()


def test_a_layer_cannot_redefine_a_national_clause_id(tmp_path):
    text = (ROOT / "clause_library" / "clauses" / "ENV-COND-01.yaml").read_text(encoding="utf-8")
    layer = _layer(
        tmp_path / "couche",
        HEAD,
        {"ENV-COND-01": text.replace("level: mandatory", "level: recommended")},
    )
    with pytest.raises(InputError) as err:
        load_clausier(layers=[layer])
    assert "redéfinit la clause ENV-COND-01" in err.value.message
    assert err.value.file.endswith("clauses/ENV-COND-01.yaml") and err.value.line == 1


def test_layers_stack_and_an_upper_layer_only_tightens(tmp_path):
    low = _layer(
        tmp_path / "region", HEAD + "ponderations:\n  environnement: {min: 20, article: art. 2}\n"
    )
    high = _layer(
        tmp_path / "commune",
        HEAD.replace("test-layer", "commune").replace(
            "politique d'essai", "politique de la commune"
        )
        + "ponderations:\n  environnement: {min: 30, article: art. 9}\n",
    )
    lib = load_clausier(layers=[low, high])
    rule = lib.policy_weights["environnement"]
    assert rule.minimum == 30 and rule.provenance.label() == "politique de la commune, art. 9"
    with pytest.raises(InputError, match="ne peut que resserrer"):
        load_clausier(layers=[high, low])


def test_versioned_layer_read_at_a_git_revision(tmp_path):
    repo = tmp_path / "politiques"
    layer = _layer(
        repo / "region", HEAD + "ponderations:\n  environnement: {min: 25, article: art. 2}\n"
    )
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "v1"], check=True)
    subprocess.run([*git, "-C", str(repo), "tag", "v2026.1"], check=True)
    (layer / "politique.yaml").write_text(
        HEAD + "ponderations:\n  environnement: {min: 40, article: art. 2}\n", encoding="utf-8"
    )
    from tasks.config.settings import LayerSpec

    frozen = load_clausier(layers=[LayerSpec(path=layer, rev="v2026.1")])
    assert frozen.policy_weights["environnement"].minimum == 25
    assert "@" in frozen.version  # the commit read is named in every report
    assert load_clausier(layers=[layer]).policy_weights["environnement"].minimum == 40


def test_a_tender_cannot_drop_its_organisations_layer(tmp_path, monkeypatch):
    copy = tmp_path / BUNDLED.name
    shutil.copytree(BUNDLED, copy)
    (copy / "cahier.yaml").write_text("policy:\n  layers: []\n", encoding="utf-8")
    monkeypatch.setenv("CAHIER_ORGANISATION", str(REGION))
    lib = load_clausier(dossier=copy)
    assert [layer.meta.id for layer in lib.layers] == ["region-na"]


def test_private_buyer_national_obligations_become_recommendations(tmp_path):
    d = PRIVE / "tenders" / "2026-ASSO-PC-006"
    national = check_dossier(read_dossier(d), load_clausier(layers=[]))
    levels = {f.clause: f.level for f in national.families}
    assert levels["ENV-COND-01"] == "recommended"  # CCP L2112-2 binds public buyers only
    assert levels["DATA-GDPR-01"] == "mandatory"  # RGPD binds everyone (law.yaml)
    assert national.errors == 0
    own = load_clausier(layers=[PRIVE / "politique-association"])
    with_policy = check_dossier(read_dossier(d), own)
    assert {f.clause: f.level for f in with_policy.families}["ENV-COND-01"] == "mandatory"
    # Without the environmental criterion, a public buyer gets errors, a private one none.
    copy = tmp_path / "2026-ASSO-PC-006"
    shutil.copytree(d, copy)
    tender = (copy / "tender.yaml").read_text(encoding="utf-8")
    (copy / "tender.yaml").write_text(
        tender.replace("type: prive", "type: collectivite"), encoding="utf-8"
    )
    public = check_dossier(read_dossier(copy), load_clausier(layers=[]))
    assert {f.level for f in public.families if f.clause == "ENV-COND-01"} == {"mandatory"}


def test_private_buyer_decp_refused_with_file_and_line(tmp_path):
    copy = tmp_path / "2026-ASSO-PC-006"
    shutil.copytree(PRIVE / "tenders" / "2026-ASSO-PC-006", copy)
    out = tmp_path / "decp.json"
    res = _cli("decp", str(copy), "-o", str(out))
    assert res.returncode == 2
    assert "acheteur privé" in res.stderr and "tender.yaml:" in res.stderr, res.stderr
    line = int(res.stderr.split("tender.yaml:")[1].split()[0])
    assert "type: prive" in (copy / "tender.yaml").read_text().splitlines()[line - 1]
    assert not out.exists()


def test_clauses_commands_show_the_effective_clausier_and_origins():
    diff = _cli("clauses", "diff", "national", "effectif", org=REGION)
    assert diff.returncode == 0, diff.stderr
    assert "[paramètre] SOC-INSERT-01 : heures_par_100k borné à [35–1000]" in diff.stdout
    assert "art. 4 (" in diff.stdout and "politique.yaml:" in diff.stdout
    assert "[ajout] RNA-ESS-01" in diff.stdout
    show = _cli("clauses", "show", "SOC-INSERT-01", org=REGION)
    assert "politique d'achat de la Région, art. 4" in " ".join(show.stdout.split())
    national = _cli("clauses", "show", "SOC-INSERT-01", "--national", org=REGION)
    assert "Origine : national" in national.stdout


def test_private_and_layered_dossiers_render_with_their_bidder_guide():
    """Assembly's rendering and the « Guide de réponse » work the same for a private
    buyer; a clause tightened by a layer cites the layer's article in the guide."""
    from tasks.publish.guide import bidder_guide
    from tasks.publish.pieces import render_pieces

    for dossier, layer in (
        (PRIVE / "tenders" / "2026-ASSO-PC-006", PRIVE / "politique-association"),
        (REGION / "tenders" / "2026-RNA-LYC-005", REGION / "politique-region"),
    ):
        d = read_dossier(dossier)
        lib = load_clausier(layers=[layer])
        rendered, problems = render_pieces(d, lib)
        assert not problems and rendered
        guide = bidder_guide(d, lib, rendered).markdown
        assert "## Exigences responsables du dossier" in guide
    assert "politique d'achat de la Région, art. 4 (couche « region-na »" in guide
    assert "(RNA-ESS-01)" in guide


def test_a_layer_clause_gets_the_national_lint(tmp_path):
    text = (REGION / "politique-region" / "clauses" / "RNA-ESS-01.yaml").read_text(encoding="utf-8")
    bad = text.replace("{{ part_min }}", "{{ part_minimum }}")
    layer = _layer(tmp_path / "couche", HEAD, {"RNA-ESS-01": bad})
    with pytest.raises(InputError) as err:
        load_clausier(layers=[layer])
    assert "part_minimum" in err.value.message and err.value.line
    assert "text:" in bad.splitlines()[err.value.line - 1]
