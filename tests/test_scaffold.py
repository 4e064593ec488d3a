"""``cahier new``: a dossier per purchase type that checks clean, with the clauses that apply.

Every scaffolded dossier is checked with the real checker: no error, no warning, every
applicable clause of the clausier present (or waived with a reason), no clause placed
where it does not apply, each clause in the piece the clausier assigns to it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cahier.cli import app
from tasks.check.checker import is_applicable
from tasks.clausier.library import load_clausier
from tasks.dossier.model import BuyerType, FamilyStatus
from tasks.dossier.reader import read_dossier
from tasks.drafting.scaffold import PURCHASE_TYPES, ScaffoldRequest, render_dossier, scaffold
from tasks.errors import InputError

SIRET = "21330063500017"
AFTER_GATE = dt.date(2026, 12, 1)
BEFORE_GATE = dt.date(2026, 3, 2)

runner = CliRunner()


def _request(kind: str, **kw) -> ScaffoldRequest:
    base = dict(
        tender_id=f"2026-TEST-{kind.upper()}",
        type=kind,
        acheteur="Commune de Test",
        siret=SIRET,
        buyer_type="collectivite",
        montant=300_000,
        date_lancement=AFTER_GATE,
    )
    base.update(kw)
    return ScaffoldRequest(**base)


CASES = [
    *[(k, {}) for k in PURCHASE_TYPES],
    ("materiel", {"equipement": "serveurs", "buyer_type": "etat", "montant": 90_000}),
    ("materiel", {"equipement": "smartphones", "buyer_type": "hopital"}),
    ("materiel", {"equipement": "impression", "date_lancement": BEFORE_GATE}),
    ("logiciel", {"buyer_type": "etat", "montant": 139_000}),
    ("prestations", {"buyer_type": "etablissement_public", "montant": 2_000_000}),
    ("hebergement", {"buyer_type": "groupement", "date_lancement": BEFORE_GATE}),
    ("telecom", {"buyer_type": "autre", "montant": 50_000}),
]


@pytest.mark.parametrize(("kind", "kw"), CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_scaffold_checks_clean_with_the_applicable_clauses(tmp_path: Path, kind: str, kw: dict):
    lib = load_clausier()
    req = _request(kind, **kw)
    result = scaffold(req, tmp_path, lib)
    report = result.report
    assert report is not None
    assert report.exit_code == 0 and report.errors == 0, [f.message for f in report.findings]
    assert report.warnings == 0, [f.message for f in report.findings if f.severity == "warning"]
    dossier = read_dossier(result.path)
    tender = dossier.tender
    placed = {cid: piece for piece, ids in result.clauses.items() for cid in ids}
    waived = {w.clause for w in tender.waivers}
    for fam in report.families:
        clause = lib.get(fam.clause)
        applicable, _ = is_applicable(clause, tender, lib)
        if applicable:
            assert fam.status in (FamilyStatus.present, FamilyStatus.waived), (
                fam.clause,
                fam.status,
            )
        if fam.clause in placed:
            assert placed[fam.clause] == f"{clause.piece}.md", fam.clause
            assert fam.status == FamilyStatus.present
    for cid in placed:
        cl = lib.get(cid)
        # ENV-COND-01 accompanies an environmental criterion even before the gate (RC/CCAP coherence)
        assert is_applicable(cl, tender, lib)[0] or cid == "ENV-COND-01", cid
    assert not (waived & set(placed))
    # the rules depend on the law in force at dateLancement (law.yaml)
    threshold = lib.law.supplies_services_threshold(
        tender.dateLancement, tender.acheteur.type == BuyerType.etat
    )
    after_gate = tender.dateLancement >= lib.law.climat_gate.date
    assert ("SOC-INSERT-01" in placed) == (tender.montant >= threshold and after_gate)
    assert tender.procedure == (
        "Appel d'offres ouvert" if tender.montant >= threshold else "Procédure adaptée"
    )
    assert ("ACC-RGAA-01" in placed) == tender.servicesNumeriques
    assert ("ENV-CRIT-01" in placed) == after_gate
    # no template leftovers the checker would flag, and the RGAA version comes from law.yaml
    for name in ("rc.md", "ccap.md", "cctp.md"):
        text = (result.path / "pieces" / name).read_text(encoding="utf-8")
        assert "@@" not in text and "[PRÉCISER" not in text
    if "ACC-RGAA-01" in placed:
        cctp = (result.path / "pieces" / "cctp.md").read_text(encoding="utf-8")
        assert f'rgaa_version="{lib.law.rgaa_version}"' in cctp


def test_articles_are_numbered_without_gaps(tmp_path: Path):
    result = scaffold(_request("materiel", buyer_type="hopital", montant=50_000), tmp_path)
    dossier = read_dossier(result.path)
    for piece in dossier.pieces:
        tops = [int(s.number) for s in piece.sections if s.number and "." not in s.number]
        assert tops == list(range(1, len(tops) + 1)), (piece.path, tops)


def test_rc_weights_match_tender_yaml(tmp_path: Path):
    result = scaffold(_request("prestations"), tmp_path)
    rc = (result.path / "pieces" / "rc.md").read_text(encoding="utf-8")
    tender = read_dossier(result.path).tender
    for c in tender.criteres:
        assert f" {c.nom} | {c.poids:g} % |" in rc
    assert {c.type for c in tender.criteres} >= {"prix", "environnement", "social"}


def test_scaffolded_pieces_render_for_assembly(tmp_path: Path):
    from tasks.publish.assemble import render_pieces

    result = scaffold(_request("hebergement", buyer_type="etat"), tmp_path)
    rendered, findings = render_pieces(read_dossier(result.path), load_clausier())
    assert not findings, [f.message for f in findings]
    ccap = next(r for r in rendered if r.path.endswith("ccap.md"))
    assert 'data-id="ENV-COND-01"' in ccap.markdown
    assert "{##" not in ccap.markdown and "Décrivez" not in ccap.markdown  # notes dropped


def test_render_only_writes_nothing(tmp_path: Path):
    files, _result = render_dossier(_request("telecom"))
    assert {"tender.yaml", "pieces/rc.md", "pieces/ccap.md", "pieces/cctp.md"} <= set(files)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("kind", ["materiel", "telecom", "prestations", "logiciel", "hebergement"])
def test_new_creates_every_piece_its_rc_lists(kind: str):
    from tasks.check.completeness import listed_pieces, missing_listed_pieces
    from tasks.dossier.reader import read_piece

    files, _result = render_dossier(_request(kind))
    pieces = [
        read_piece(rel.removeprefix("pieces/"), text.encode())
        for rel, text in files.items()
        if rel.startswith("pieces/")
    ]
    listed = {lp.kind for lp in listed_pieces(pieces)}
    assert {"ae", "ccap", "cctp"} <= listed  # every template's RC lists its AE
    assert missing_listed_pieces(pieces) == []
    assert "pieces/ae.md" in files


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("siret", "1234", "SIRET"),
        ("tender_id", "../evasion", "identifiant"),
        ("type", "travaux", "type d'achat"),
        ("buyer_type", "ministere", "type d'acheteur"),
        ("montant", 0, "montant"),
        ("equipement", "tablettes", "équipement"),
    ],
)
def test_bad_request_is_refused_in_french(tmp_path: Path, field: str, value, needle: str):
    with pytest.raises(InputError) as exc:
        scaffold(_request("materiel", **{field: value}), tmp_path)
    assert needle in exc.value.message
    assert not any(tmp_path.iterdir())


def test_no_eu_threshold_for_the_date_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError) as exc:
        scaffold(_request("logiciel", date_lancement=dt.date(2031, 1, 1)), tmp_path)
    assert "law.yaml" in exc.value.message


def _cli(*args: str):
    return runner.invoke(app, list(args))


def test_cli_new_then_check(tmp_path: Path):
    res = _cli(
        "new", "2026-CLI-001", "--type", "logiciel", "--acheteur", "Région Test",
        "--siret", "233 500 016 00016", "--buyer-type", "collectivite", "--montant", "250000",
        "--date-lancement", "2026-12-01", "--dest", str(tmp_path),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Dossier créé" in res.output and "0 erreur(s)" in res.output
    assert "ACC-RGAA-01" in res.output
    check = _cli("check", str(tmp_path / "2026-CLI-001"))
    assert check.exit_code == 0, check.output
    assert [p.name for p in tmp_path.iterdir()] == ["2026-CLI-001"]  # no temporary left


def test_cli_refuses_existing_destination_and_keeps_it(tmp_path: Path):
    target = tmp_path / "2026-CLI-002"
    target.mkdir()
    (target / "notes.txt").write_text("travail en cours", encoding="utf-8")
    res = _cli(
        "new", "2026-CLI-002", "--type", "telecom", "--acheteur", "Commune", "--siret", SIRET,
        "--buyer-type", "collectivite", "--dest", str(tmp_path),
    )  # fmt: skip
    assert res.exit_code == 2
    assert "existe déjà" in res.output and "Traceback" not in res.output
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["2026-CLI-002"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--siret", "12345678901234X"], "SIRET"),
        (["--date-lancement", "01/12/2026"], "AAAA-MM-JJ"),
        # 14 digits but a wrong check key: the option is named, not the template's line
        (["--siret", "21330063500018"], "--siret"),
    ],
)
def test_cli_bad_input_exit_2(tmp_path: Path, args: list[str], needle: str):
    base = {"--siret": SIRET, "--date-lancement": "2026-12-01"}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    flat = [x for kv in base.items() for x in kv]
    res = _cli(
        "new", "2026-CLI-003", "--type", "materiel", "--acheteur", "Commune",
        "--buyer-type", "collectivite", "--dest", str(tmp_path), *flat,
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert needle in res.output and "templates/" not in res.output
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- user-supplied values


@pytest.mark.parametrize("montant", ["inf", "nan", "-5", "0", "1e400", "deux cents"])
def test_cli_refuses_non_finite_or_non_positive_amounts(tmp_path: Path, montant: str):
    res = _cli(
        "new", "2026-CLI-004", "--type", "logiciel", "--acheteur", "Commune", "--siret", SIRET,
        "--buyer-type", "collectivite", "--montant", montant, "--dest", str(tmp_path),
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert f"montant « {montant} » invalide" in res.output and "€ HT" in res.output
    assert "Traceback" not in res.output and not any(tmp_path.iterdir())


def test_request_with_infinite_amount_is_refused(tmp_path: Path):
    with pytest.raises(InputError) as exc:
        scaffold(_request("logiciel", montant=float("inf")), tmp_path)
    assert "montant" in exc.value.message
    assert not any(tmp_path.iterdir())


def test_cli_accepts_french_amounts(tmp_path: Path):
    res = _cli(
        "new", "2026-CLI-005", "--type", "logiciel", "--acheteur", "Commune", "--siret", SIRET,
        "--buyer-type", "collectivite", "--montant", "150 000,50", "--date-lancement",
        "2026-12-01", "--dest", str(tmp_path),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert read_dossier(tmp_path / "2026-CLI-005").tender.montant == 150_000.5


def test_user_text_is_inserted_literally(tmp_path: Path):
    import pypandoc

    from tasks.publish.assemble import render_pieces

    objet = "Logiciel de gestion {{ 7*7 }} {% if x %} des *archives* [v2]"
    result = scaffold(
        _request("logiciel", objet=objet, acheteur="Mairie {{ 6*7 }} d_Aval", buyer_type="etat"),
        tmp_path,
    )
    dossier = read_dossier(result.path)
    assert dossier.tender.objet == objet  # tender.yaml keeps the text as typed
    rendered, findings = render_pieces(dossier, load_clausier())
    assert not findings, [f.message for f in findings]
    ccap = next(r for r in rendered if r.path.endswith("ccap.md"))
    plain = pypandoc.convert_text(
        ccap.markdown, "plain", format="markdown", extra_args=["--wrap=none"]
    )
    assert objet in plain and "Mairie {{ 6*7 }} d_Aval" in plain
    assert "gestion 49" not in plain and "Mairie 42" not in plain


@pytest.mark.parametrize("kind", ["logiciel", "prestations", "hebergement", "telecom"])
def test_equipement_is_refused_outside_hardware(tmp_path: Path, kind: str):
    with pytest.raises(InputError) as exc:
        scaffold(_request(kind, equipement="serveurs"), tmp_path)
    assert "--equipement" in exc.value.message and "materiel" in exc.value.message
    res = _cli(
        "new", "2026-CLI-006", "--type", kind, "--equipement", "postes", "--acheteur", "Commune",
        "--siret", SIRET, "--buyer-type", "collectivite", "--dest", str(tmp_path),
    )  # fmt: skip
    assert res.exit_code == 2 and "ne s'applique qu'au type" in res.output
    assert not any(tmp_path.iterdir())


def test_over_long_id_names_the_id_not_a_template(tmp_path):
    """The id typed by the user is refused as such (not as a field of an internal
    template file the user does not have)."""
    import pytest

    from tasks.dossier.model import check_tender_id
    from tasks.errors import InputError

    with pytest.raises(InputError, match=r"trop long \(300 caractères ; au plus 100\)") as e:
        check_tender_id("x" * 300)
    assert e.value.file is None
    check_tender_id("x" * 100)
