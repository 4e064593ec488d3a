"""The one settings object (tasks/config/settings.py): precedence, trust settings that a
repository can only tighten, standard variables, French errors with the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.config import load_settings
from tasks.errors import InputError


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in (
        "CAHIER_CONFIG",
        "CAHIER_ORGANISATION",
        "SOURCE_DATE_EPOCH",
        "PREFECT_API_URL",
        "CAHIER_GIT_TIMEOUT_S",
        "CAHIER_PREFECT__API_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def _layers(tmp: Path, user: str, org: str, tender: str) -> tuple[Path, Path]:
    org_dir = tmp / "org"
    org_dir.mkdir()
    (org_dir / "cahier-organisation.yaml").write_text(org, encoding="utf-8")
    user_file = tmp / "user.yaml"
    user_file.write_text(f"organisation: {org_dir}\n" + user, encoding="utf-8")
    dossier = tmp / "tenders" / "T1"
    dossier.mkdir(parents=True)
    (dossier / "cahier.yaml").write_text(tender, encoding="utf-8")
    return user_file, dossier


def test_precedence_user_over_tender_over_organisation(clean_env: Path):
    user_file, dossier = _layers(
        clean_env,
        user="git_timeout_s: 30\n",
        org="git_timeout_s: 10\nlook:\n  logo: logo-org.png\ncache_dir: cache-org\n",
        tender="look:\n  logo: logo-t.png\n",
    )
    s = load_settings(dossier, user_file=user_file)
    assert s.git_timeout_s == 30  # the user's own file wins
    assert s.look.logo == dossier / "logo-t.png"  # the tender over its organisation
    assert s.cache_dir == clean_env / "org" / "cache-org"  # relative to the org's file
    assert s.sources == [
        user_file,
        clean_env / "org" / "cahier-organisation.yaml",
        dossier / "cahier.yaml",
    ]


def test_organisation_named_but_absent_is_refused(clean_env: Path, monkeypatch: pytest.MonkeyPatch):
    """A named organisation without its file is an error, never silently dropped (its
    witnesses and policy would no longer apply)."""
    user_file, dossier = _layers(clean_env, user="", org="git_timeout_s: 10\n", tender="")
    assert load_settings(dossier, user_file=user_file).git_timeout_s == 10
    (clean_env / "org" / "cahier-organisation.yaml").unlink()
    with pytest.raises(InputError, match=r"organisation introuvable : « organisation » de") as e:
        load_settings(dossier, user_file=user_file)
    assert e.value.file == str(clean_env / "org" / "cahier-organisation.yaml")
    monkeypatch.setenv("CAHIER_ORGANISATION", str(clean_env / "ailleurs"))
    with pytest.raises(InputError, match="la variable CAHIER_ORGANISATION désigne"):
        load_settings(dossier, user_file=user_file)


def test_trust_settings_only_tightened_by_a_repository(clean_env: Path):
    user_file, dossier = _layers(
        clean_env,
        user="signatures:\n  policy: signature-obligatoire\n",
        org="",
        tender="signatures:\n  policy: declaratif\n",
    )
    assert load_settings(dossier, user_file=user_file).signatures.policy == "signature-obligatoire"
    (user_file).write_text(
        f"organisation: {clean_env / 'org'}\nsignatures:\n  policy: declaratif\n", encoding="utf-8"
    )
    (dossier / "cahier.yaml").write_text(
        "signatures:\n  policy: signature-obligatoire\n", encoding="utf-8"
    )
    assert load_settings(dossier, user_file=user_file).signatures.policy == "signature-obligatoire"


def test_environment_and_standard_variables(clean_env: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CAHIER_GIT_TIMEOUT_S", "45")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4242/api")
    s = load_settings()
    assert s.git_timeout_s == 45
    assert s.source_date_epoch == 1767225600
    assert s.prefect.api_url == "http://127.0.0.1:4242/api"


def test_nothing_outside_the_dossier_is_read_unless_declared(clean_env: Path):
    # An organisation file lying around is not read unless the user's configuration
    # names its folder.
    (clean_env / "cahier-organisation.yaml").write_text("git_timeout_s: 5\n", encoding="utf-8")
    assert load_settings().git_timeout_s == 120
    assert load_settings().sources == []


def test_invalid_value_is_a_french_error_naming_the_file(clean_env: Path):
    bad = clean_env / "user.yaml"
    bad.write_text("git_timeout_s: -3\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_settings(user_file=bad)
    assert exc.value.file == str(bad)
    assert "git_timeout_s" in exc.value.message and "configuration invalide" in exc.value.message


def test_error_names_the_field_as_written_with_its_file_and_line(clean_env: Path):
    """A policy layer of the wrong form: the field as the user wrote it (no pydantic union
    tag such as « LayerSpec »), in the file that holds it, at its line."""
    user_file, dossier = _layers(
        clean_env, user="", org="", tender="look:\n  logo: x.png\npolicy:\n  layers:\n    - 42\n"
    )
    with pytest.raises(InputError) as e:
        load_settings(dossier, user_file=user_file)
    assert "champ « policy.layers.0 »" in e.value.message
    assert "LayerSpec" not in e.value.message and "lax-or-strict" not in e.value.message
    assert (e.value.file, e.value.line) == (str(dossier / "cahier.yaml"), 5)
    # the error is in the organisation's file, read before the tender's
    (dossier / "cahier.yaml").write_text("look:\n  logo: x.png\n", encoding="utf-8")
    org = clean_env / "org" / "cahier-organisation.yaml"
    org.write_text("policy:\n  layers:\n    - fichier: 3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"champ « policy\.layers\.0\.path »") as e:
        load_settings(dossier, user_file=user_file)
    assert (e.value.file, e.value.line) == (str(org), 3)
