"""cahier's one configuration object.

Every setting that cahier reads from outside the dossier's own pieces comes through
:func:`load_settings`; no other module reads configuration files or ``CAHIER_*``
environment variables. Layers, from the lowest precedence to the highest:

1. defaults written here;
2. the **organisation**: ``cahier-organisation.yaml`` in the folder (or Git working
   copy) that the user's configuration names in ``organisation`` (or
   ``CAHIER_ORGANISATION``) — the organisation's look, policy layers, witnesses;
3. the **tender**: ``cahier.yaml`` beside ``tender.yaml`` (look and policy of one
   tender);
4. the **user's or verifier's** configuration outside any repository —
   ``$CAHIER_CONFIG``, else ``$XDG_CONFIG_HOME/cahier/config.yaml`` (default
   ``~/.config/cahier/config.yaml``) — and ``CAHIER_*`` environment variables
   (nested fields with ``__``, e.g. ``CAHIER_PREFECT__API_URL``).

Trust settings (``signatures``, ``witnesses``) are the verifier's: a value written in
the organisation's or the tender's file can only tighten them (see
:meth:`Settings.merge_trust`), never loosen them. Relative paths in a file are resolved
against that file's folder.

Errors: :class:`tasks.errors.InputError` (French, with file and line) for unreadable
YAML or a value of the wrong form.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasks.errors import InputError, os_reason
from tasks.memo import BoundedMemo

__all__ = [
    "LayerSpec",
    "LookSettings",
    "PolicySettings",
    "PrefectSettings",
    "Settings",
    "SignatureSettings",
    "WitnessSettings",
    "load_settings",
    "user_config_path",
]

ORGANISATION_FILE = "cahier-organisation.yaml"
TENDER_FILE = "cahier.yaml"

#: Signature policies, from the loosest to the strictest (order matters: tightening
#: moves right).
SIGNATURE_POLICIES = ("declaratif", "signature-si-cle", "signature-obligatoire")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignatureSettings(_Section):
    """Signed review commits (issue « confiance »).

    policy: ``declaratif`` — unsigned records count, shown as declarative;
    ``signature-si-cle`` — sign when the referent has a key, unsigned stays declarative;
    ``signature-obligatoire`` — only commits verified by ``git verify-commit`` against
    ``allowed_signers`` count. allowed_signers: Git's ``gpg.ssh.allowedSignersFile``.
    """

    policy: Literal["declaratif", "signature-si-cle", "signature-obligatoire"] = "declaratif"
    allowed_signers: Path | None = None


class WitnessSettings(_Section):
    """One archive witness controlled by someone other than the buyer.

    kind: ``fichier`` (append-only file), ``git`` (a remote URL or path), ``prefect``
    (the API URL of a team Prefect server run by IT: one artifact per archive, see
    :mod:`tasks.award.witness_prefect`; the buyer's own server — embedded, or on their
    ``PREFECT_HOME`` — is refused). target: the path or URL.
    """

    kind: Literal["fichier", "git", "prefect"]
    target: str
    #: Set by :func:`load_settings`, never read from a file: True for a witness of the
    #: verifier's configuration (their file, ``CAHIER_WITNESSES``), False for one added by
    #: a repository or organisation file (the buyer's): archives are written to both, but
    #: only the verifier's prove anything against a rewrite (issue 13, Build 3).
    verificateur: bool = False


class LookSettings(_Section):
    """The organisation's look for assembly: reference DOCX/ODT, Typst template, logo,
    font folders (paths; confined by the assembly to the dossier and the organisation's
    folder, see :mod:`tasks.publish.look`). logo_alt: the logo's alternative text
    (default « Logo de <acheteur> »); font: the font family of the PDF body text (e.g.
    « Marianne »), looked for in Typst's embedded fonts and ``font_dirs``."""

    reference_docx: Path | None = None
    reference_odt: Path | None = None
    typst_template: Path | None = None
    logo: Path | None = None
    logo_alt: str | None = Field(default=None, max_length=300)
    font: str | None = Field(default=None, max_length=100)
    font_dirs: list[Path] = Field(default=[])


class LayerSpec(_Section):
    """One policy layer read from a Git working copy at a revision (tag, commit,
    branch), without checkout: a versioned layer (see :mod:`tasks.clausier.layers`)."""

    path: Path
    rev: str | None = Field(default=None, min_length=1)


class PolicySettings(_Section):
    """Local policy layers stacked over the national clausier, lowest first: a folder
    (path), or ``{path, rev}`` for a Git working copy read at a revision.

    The organisation's layers come first, then the user's, then the tender's
    (``cahier.yaml``): a file may add layers, never remove a lower file's (a tender
    cannot drop its Région's policy).
    """

    layers: list[LayerSpec | Path] = Field(default=[])


class PrefectSettings(_Section):
    """Which Prefect server cahier uses, in this order (:meth:`server`):

    1. ``api_url`` (``CAHIER_PREFECT__API_URL``, else Prefect's own ``PREFECT_API_URL``);
    2. the local server that ``cahier server`` announced in ``<home>/cahier-server.json``
       (:data:`SERVER_FILE`) while its process is alive — read from the file, never by
       probing ports;
    3. Prefect's ephemeral server (SQLite in ``home``), started by cahier with
       ``startup_timeout_s`` seconds and one retry.

    home: Prefect's home folder (``PREFECT_HOME``, default ``~/.prefect``).
    """

    api_url: str | None = None
    home: Path | None = None
    startup_timeout_s: float = Field(default=90.0, gt=0, le=600)

    def effective_home(self) -> Path:
        """``home``, else ``~/.prefect`` (Prefect's default)."""
        return Path(self.home or Path("~/.prefect")).expanduser()

    def server_file(self) -> Path:
        """``<home>/cahier-server.json``: written by ``cahier server``, read by the others."""
        return self.effective_home() / SERVER_FILE

    def local_server(self) -> dict[str, Any] | None:
        """The server announced by ``cahier server`` (``{"api_url", "pid", "started"}``)
        when the file is readable and its process is alive; else None."""
        import json

        try:
            info = json.loads(self.server_file().read_text(encoding="utf-8"))
            pid, url = int(info["pid"]), str(info["api_url"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return {**info, "api_url": url, "pid": pid}

    def server(self) -> tuple[str, str | None]:
        """``(kind, api_url)``: ``("configure", url)``, ``("local", url)`` or
        ``("ephemere", None)`` (see the class docstring for the order)."""
        if self.api_url:
            return "configure", self.api_url
        local = self.local_server()
        if local:
            return "local", local["api_url"]
        return "ephemere", None


#: File of the local server written by ``cahier server`` in PREFECT_HOME.
SERVER_FILE = "cahier-server.json"


class Settings(BaseSettings):
    """The effective configuration (see the module docstring for precedence).

    sources: the files that were read, lowest precedence first (shown by the CLI and
    the audit so that nothing read from outside the dossier is hidden).
    """

    model_config = SettingsConfigDict(
        env_prefix="CAHIER_", env_nested_delimiter="__", extra="forbid"
    )

    organisation: Path | None = None
    signatures: SignatureSettings = Field(default_factory=SignatureSettings)
    witnesses: list[WitnessSettings] = Field(default=[])
    look: LookSettings = Field(default_factory=LookSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)
    cache_dir: Path | None = None
    #: Seconds allowed for one Git call (``CAHIER_GIT_TIMEOUT_S``).
    git_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    #: Date written in assembled outputs (Unix time; the reproducible-builds standard
    #: variable ``SOURCE_DATE_EPOCH``), else the date of the commit assembled.
    source_date_epoch: int | None = Field(default=None, ge=0)
    sources: list[Path] = Field(default=[])

    def effective_cache_dir(self) -> Path:
        """Folder of cahier's caches: ``cache_dir``, else ``$XDG_CACHE_HOME/cahier``,
        else ``~/.cache/cahier``."""
        if self.cache_dir:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "cahier"


def user_config_path() -> Path:
    """``$CAHIER_CONFIG``, else ``$XDG_CONFIG_HOME/cahier/config.yaml``."""
    explicit = os.environ.get("CAHIER_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "cahier" / "config.yaml"


_PATH_FIELDS = {
    ("organisation",),
    ("signatures", "allowed_signers"),
    ("look", "reference_docx"),
    ("look", "reference_odt"),
    ("look", "typst_template"),
    ("look", "logo"),
    ("cache_dir",),
}


def _read_layer(path: Path) -> dict[str, Any]:
    from tasks.dossier.yamlio import load_yaml

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"lecture impossible ({os_reason(exc)}).", str(path)) from None
    data, _node = load_yaml(raw, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            "le fichier de configuration doit être un dictionnaire YAML.", str(path), 1
        )
    base = path.parent
    data = dict(data)
    for keys in _PATH_FIELDS:
        holder = data
        for k in keys[:-1]:
            holder = holder.get(k) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get(keys[-1]), str):
            holder[keys[-1]] = str((base / holder[keys[-1]]).expanduser())
    look = data.get("look")
    if isinstance(look, dict) and isinstance(look.get("font_dirs"), list):
        look["font_dirs"] = [str(base / p) if isinstance(p, str) else p for p in look["font_dirs"]]
    policy = data.get("policy")
    if isinstance(policy, dict) and isinstance(policy.get("layers"), list):
        layers = []
        for p in policy["layers"]:
            if isinstance(p, str):
                p = str((base / p).expanduser())
            elif isinstance(p, dict) and isinstance(p.get("path"), str):
                p = {**p, "path": str((base / p["path"]).expanduser())}
            layers.append(p)
        policy["layers"] = layers
    return data


def _stack_layers(*files: dict[str, Any]) -> list[Any] | None:
    """Policy layers of every file, lowest first, without duplicates (files add layers;
    none removes another's)."""
    out: list[Any] = []
    found = False
    for data in files:
        policy = data.get("policy")
        if isinstance(policy, dict) and isinstance(policy.get("layers"), list):
            found = True
            for layer in policy["layers"]:
                if layer not in out:
                    out.append(layer)
    return out if found else None


def _merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    out = dict(low)
    for k, v in high.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _check_repo_signatures(layer: dict[str, Any], path: Path | None) -> None:
    """A signature policy written in a repository file is validated, not dropped: a
    misspelt « signature-obligatoir » silently ignored would let unsigned approvals
    count (fail closed).

    Raises:
        InputError: the ``signatures`` section is not a valid :class:`SignatureSettings`.
    """
    if "signatures" not in layer:
        return
    try:
        SignatureSettings.model_validate(layer["signatures"] or {})
    except ValidationError as exc:
        from tasks.dossier.yamlio import data_loc, field_path

        err = exc.errors()[0]
        loc = ("signatures", *data_loc(err.get("loc", ())))
        where, line = _locate([path] if path else [], loc)
        raise InputError(
            f"configuration invalide : champ « {field_path(loc)} » ({_french(err)}) ; une "
            "politique de signature mal écrite n'est jamais ignorée.",
            where or "configuration",
            line,
        ) from None


def _tighten_trust(verifier: dict[str, Any], repo: dict[str, Any]) -> dict[str, Any]:
    """Trust fields from a repository file may only tighten the verifier's."""
    out: dict[str, Any] = {}
    sig_v = dict(verifier.get("signatures") or {})
    sig_r = repo.get("signatures") or {}
    if isinstance(sig_r, dict) and sig_r.get("policy") in SIGNATURE_POLICIES:
        cur = sig_v.get("policy", "declaratif")
        if cur not in SIGNATURE_POLICIES or SIGNATURE_POLICIES.index(
            sig_r["policy"]
        ) > SIGNATURE_POLICIES.index(cur):
            sig_v["policy"] = sig_r["policy"]
    if sig_v:
        out["signatures"] = sig_v
    # Witnesses: a repository may add witnesses, never remove the verifier's.
    # Only the verifier's witnesses prove anything (``verificateur``); a repository's
    # cannot claim to be one.
    wit = [
        {**w, "verificateur": True} if isinstance(w, dict) else w
        for w in verifier.get("witnesses") or []
    ]
    mine = {(w.get("kind"), w.get("target")) for w in wit if isinstance(w, dict)}
    for w in repo.get("witnesses") or []:
        if isinstance(w, dict):
            if (w.get("kind"), w.get("target")) in mine:
                continue
            w = {**w, "verificateur": False}
        if w not in wit:
            wit.append(w)
    if wit:
        out["witnesses"] = wit
    return out


@lru_cache(maxsize=1)
def _env_only() -> type[BaseSettings]:
    """The settings class that reads only the trust variables (built once: a pydantic
    class costs ~1 ms to build, and settings are loaded once per dossier of a batch)."""

    class _EnvOnly(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix="CAHIER_", env_nested_delimiter="__", extra="ignore"
        )
        signatures: SignatureSettings = Field(default_factory=SignatureSettings)
        witnesses: list[WitnessSettings] = Field(default=[])

    return _EnvOnly


def _env_key() -> tuple[tuple[str, str], ...]:
    """The ``CAHIER_*`` variables as they are now (pydantic-settings matches their names
    whatever the case): the key of what :class:`Settings` reads from the environment."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k[:7].upper() == "CAHIER_"))


#: (fields given, CAHIER_* variables) → the Settings built from them; and the trust
#: fields read from those variables. Building a Settings reads the whole environment
#: again (~0.6 ms): a batch loads the settings once per dossier with the same inputs.
_BUILT: BoundedMemo[tuple[str, tuple], Settings] = BoundedMemo(256)
_ENV_TRUST: BoundedMemo[tuple, dict[str, Any]] = BoundedMemo(64)


def _env_trust(env: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Trust fields set by ``CAHIER_SIGNATURES__*`` / ``CAHIER_WITNESSES`` variables
    (``env``: :func:`_env_key`, the values as they are now)."""
    got = _ENV_TRUST.get(env)
    if got is not None:
        return dict(got)
    try:
        found = _env_only()().model_dump(mode="json", exclude_defaults=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _field(err)
        raise InputError(
            f"configuration invalide : variable CAHIER_ du champ « {field} » "
            f"({_french(err)}). Corriger la valeur ou la supprimer.",
            "configuration (variables CAHIER_*)",
        ) from None
    _ENV_TRUST.put(env, found)
    return dict(found)


def load_settings(dossier: Path | None = None, *, user_file: Path | None = None) -> Settings:
    """Build the effective :class:`Settings` for ``dossier`` (a tender folder) or for no
    dossier at all.

    Reads, and only reads: the user's file (``user_file`` or :func:`user_config_path`),
    the organisation's ``cahier-organisation.yaml`` in the folder it names, the tender's
    ``cahier.yaml``, and ``CAHIER_*`` environment variables. The files and the
    variables are read at each call; the same values give the same object (shared:
    read-only).

    Raises:
        InputError: a file is not valid YAML or holds a value of the wrong form
            (French message naming the file and the field); the organisation folder
            named has no ``cahier-organisation.yaml`` (its policy and witnesses would be
            silently dropped).
    """
    sources: list[Path] = []
    user_path = user_file or user_config_path()
    user: dict[str, Any] = {}
    if user_path.is_file():
        user = _read_layer(user_path)
        sources.append(user_path)
    org_dir = os.environ.get("CAHIER_ORGANISATION") or user.get("organisation")
    org: dict[str, Any] = {}
    if org_dir:
        org_path = Path(str(org_dir)) / ORGANISATION_FILE
        if not org_path.is_file():  # named, so its policy and witnesses must apply
            named_by = (
                "la variable CAHIER_ORGANISATION"
                if os.environ.get("CAHIER_ORGANISATION")
                else f"« organisation » de {user_path}"
            )
            raise InputError(
                f"organisation introuvable : {named_by} désigne le dossier {org_dir}, qui ne "
                f"contient pas de {ORGANISATION_FILE} ; ses règles (politique, témoins, "
                "signatures) ne peuvent pas être appliquées. Corrigez le chemin, ou retirez "
                "ce réglage si l'organisation n'en a pas.",
                str(org_path),
            )
        org = _read_layer(org_path)
        sources.append(org_path)
    tender: dict[str, Any] = {}
    if dossier is not None and (Path(dossier) / TENDER_FILE).is_file():
        tender_path = Path(dossier) / TENDER_FILE
        tender = _read_layer(tender_path)
        sources.append(tender_path)
    for layer, path in (
        (org, org_path if org else None),
        (tender, tender_path if tender else None),
    ):
        _check_repo_signatures(layer, path)
    repo_layers = _merge(org, tender)
    trust_keys = ("signatures", "witnesses")
    merged = _merge(
        {k: v for k, v in repo_layers.items() if k not in trust_keys},
        {k: v for k, v in user.items() if k not in trust_keys},
    )
    # The verifier's trust settings: their file, then CAHIER_* variables over it (the
    # variables are read here because explicit values passed to Settings would hide them).
    env = _env_key()
    env_trust = _env_trust(env)
    verifier = _merge({k: v for k, v in user.items() if k in trust_keys}, env_trust)
    merged.update(_tighten_trust(verifier, repo_layers))
    stacked = _stack_layers(org, user, tender)
    if stacked is not None:
        merged["policy"] = {**(merged.get("policy") or {}), "layers": stacked}
    merged["sources"] = sources
    # The reproducible-builds standard variable (https://reproducible-builds.org/specs/source-date-epoch/).
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit() and "source_date_epoch" not in merged:
        merged["source_date_epoch"] = int(epoch)
    # Prefect's own variables name the server and its home when cahier's do not.
    prefect = merged.setdefault("prefect", {})
    if isinstance(prefect, dict):
        if (
            not prefect.get("api_url")
            and os.environ.get("PREFECT_API_URL")
            and not os.environ.get("CAHIER_PREFECT__API_URL")
        ):
            prefect["api_url"] = os.environ["PREFECT_API_URL"]
        if (
            not prefect.get("home")
            and os.environ.get("PREFECT_HOME")
            and not os.environ.get("CAHIER_PREFECT__HOME")
        ):
            prefect["home"] = os.environ["PREFECT_HOME"]
    key = (json.dumps(merged, sort_keys=True, default=str), env)
    built = _BUILT.get(key)
    if built is not None:
        return built
    try:
        return _BUILT.put(key, Settings(**merged))
    except ValidationError as exc:
        from tasks.dossier.yamlio import data_loc

        err = exc.errors()[0]
        where, line = _locate(sources, data_loc(err.get("loc", ())))
        raise InputError(
            f"configuration invalide : champ « {_field(err)} » ({_french(err)}). "
            "Corriger la valeur ou la supprimer.",
            where or "configuration (variables CAHIER_*)",
            line,
        ) from None


def _field(err: dict[str, Any]) -> str:
    """The field of a pydantic error as written in the YAML (no union tags)."""
    from tasks.dossier.yamlio import field_path

    return field_path(err.get("loc", ()))


def _locate(sources: list[Path], loc: tuple[Any, ...]) -> tuple[str | None, int | None]:
    """The file (the last of ``sources`` that holds the top key of ``loc``; else the last
    read) and the line of the field ``loc`` in it, for an error message."""
    from tasks.dossier.yamlio import line_of, load_yaml

    for path in reversed(sources):
        try:
            data, node = load_yaml(path.read_bytes(), str(path))
        except (OSError, InputError):
            continue
        if isinstance(data, dict) and loc and loc[0] in data:
            return str(path), line_of(node, loc)
    return (str(sources[-1]) if sources else None), None


def _french(err: dict[str, Any]) -> str:
    """A pydantic error in French (the one mapping: :func:`tasks.dossier.yamlio.french_error`)."""
    from tasks.dossier.yamlio import french_error

    return french_error(err)
