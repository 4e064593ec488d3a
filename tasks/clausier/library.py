"""Loading the clausier: clause files, the law in force and the library version.

Size: just over 600 lines — the loader and the validated models of clausier.yaml and
law.yaml.

Layout (``clause_library/``)::

    clausier.yaml          version of the library (recorded in every report)
    law.yaml               dates and thresholds by period (never in code)
    recognition.yaml       vocabulary shared by the recognition of hand-written clauses
    clauses/<ID>.yaml      one clause per file (model :class:`tasks.dossier.model.Clause`)

All YAML is loaded safely and validated; a bad file raises
:class:`~tasks.errors.InputError` naming the file and line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from tasks.clausier.recognition import Vocabulary
from tasks.dossier.model import Clause, LegalReference, _Model
from tasks.dossier.yamlio import validate_yaml
from tasks.errors import InputError

__all__ = [
    "Ccag",
    "Clausier",
    "DecpPublication",
    "EuThreshold",
    "Law",
    "default_library_path",
    "load_clausier",
    "shipped_law",
]


class EuThreshold(_Model):
    """EU procurement thresholds (€ HT) for one period (« seuils de procédure formalisée »)."""

    from_: dt.date = Field(alias="from")
    until: dt.date
    fournitures_services_etat: float
    fournitures_services: float
    travaux: float
    source: str
    verified: bool = False


class ClimatGate(_Model):
    """Loi Climat et Résilience art. 35 entry date (décret 2022-767: 2026-08-21)."""

    date: dt.date
    legal_basis: list[LegalReference]


class DecpPublication(_Model):
    """Publication of the essential data (DECP) on data.gouv.fr: every contract of
    ``publication_threshold`` € HT or more, within ``publication_delay_months`` calendar
    months of its notification (CCP L2196-2, R2196-1; arrêtés du 22 décembre 2022)."""

    publication_threshold: float = Field(gt=0)
    publication_delay_months: int = Field(gt=0)
    publication_delay_label: str
    from_: dt.date = Field(alias="from")
    legal_basis: list[LegalReference] = Field(min_length=1)
    verified: bool = False

    def citation(self) -> str:
        """The first legal basis as cited in a message (« Code de la commande publique,
        art. L2196-2 et R2196-1 »)."""
        return self.legal_basis[0].ref


class Ccag(_Model):
    """One cahier des clauses administratives générales: ``id`` (``tic``), ``decp`` (the
    value of tender.yaml ``ccag``, DECP wording), ``sigle`` (« CCAG-TIC »), ``cite``: a
    regular expression of what follows « CCAG » in a folded text, ``nom``: one of its full
    name alone (None when the word alone is ambiguous, e.g. « travaux »)."""

    id: str = Field(pattern=r"^[a-z]+$")
    decp: str
    sigle: str
    cite: str
    nom: str | None = None
    source: str | None = None

    @field_validator("cite", "nom")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expression régulière invalide ({exc})") from None
        return value

    def import_pattern(self) -> str:
        """What names this CCAG in an imported DCE: « CCAG-TIC », « CCAG/TIC » or its name."""
        acronym = rf"ccag[\s/-]*{re.escape(self.id)}\b"
        return f"{acronym}|{self.nom}" if self.nom else acronym


class Weights(_Model):
    environmental_min_recommended: float = 10
    social_min_recommended: float = 10


class RgaaVersion(_Model):
    """The RGAA version in force from a date (décret n° 2019-768; référentiel DINUM)."""

    from_: dt.date = Field(alias="from")
    version: str
    source: str
    verified: bool = False


class PrivateBuyers(_Model):
    """What binds a private buyer (company, association) among the mandatory clauses.

    The Code de la commande publique binds public buyers only (CCP L2, L1210-1): for a
    private buyer, a national ``mandatory`` clause counts as recommended, except the
    clauses listed in ``mandatory_for_all`` whose source binds everyone (RGPD art. 28,
    code de l'environnement R543-172 ff.).
    """

    mandatory_for_all: list[str] = Field(default=[])
    source: str


class Target(_Model):
    """A target for the share of contracts with a responsible consideration, in force
    from ``from`` to ``until`` (inclusive; open-ended when ``until`` is absent).

    key: the portfolio indicator it applies to; value: % of the contracts; kind:
    ``plan`` (non-binding national plan, named by ``plan``) or ``obligation`` (the law).
    """

    key: str
    value: float = Field(ge=0, le=100)
    from_: dt.date = Field(alias="from")
    until: dt.date | None = None
    kind: Literal["plan", "obligation"]
    plan: str | None = None
    label: str
    source: str
    verified: bool = False


class Law(_Model):
    """law.yaml: the legal values by period, applied at the tender's dateLancement."""

    climat_gate: ClimatGate
    decp: DecpPublication
    ccags: list[Ccag] = Field(min_length=1)
    references: dict[str, LegalReference] = Field(default_factory=dict)
    eu_thresholds: list[EuThreshold]
    rgaa_version: str
    rgaa_versions: list[RgaaVersion] = Field(default=[])
    weights: Weights = Field(default_factory=Weights)
    private_buyers: PrivateBuyers | None = None
    targets: list[Target] = Field(default=[])

    def targets_on(self, on: dt.date) -> list[Target]:
        """Targets in force on ``on`` (a plan that has ended is not returned)."""
        return [t for t in self.targets if t.from_ <= on and (t.until is None or on <= t.until)]

    def basis(self, key: str) -> LegalReference:
        """The legal reference ``key`` of law.yaml ``references`` (cited by a finding).

        Raises:
            InputError: no such key in law.yaml (names the file and the key to add).
        """
        try:
            return self.references[key]
        except KeyError:
            raise InputError(
                f"référence légale « {key} » absente de la section « references » : "
                "ajoutez-la (ref, url).",
                "clause_library/law.yaml",
            ) from None

    def ccag(self, decp_value: str) -> Ccag | None:
        """The CCAG whose tender.yaml / DECP value is ``decp_value`` (None: « Pas de CCAG »)."""
        return next((c for c in self.ccags if c.decp == decp_value), None)

    def ccag_cited_pattern(self) -> str:
        """One regular expression of a CCAG cited in a folded text, one named group per
        CCAG id (``(?P<tic>…)``)."""
        groups = "|".join(f"(?P<{c.id}>{c.cite})" for c in self.ccags)
        return rf"\bccag[\s-]*(?:{groups})"

    def targets_ended(self, on: dt.date) -> list[Target]:
        """Targets whose period ended before ``on`` (an ended plan, to be named as such)."""
        return [t for t in self.targets if t.until is not None and t.until < on]

    def rgaa_version_on(self, on: dt.date) -> str:
        """RGAA version in force on ``on`` (latest period started), else ``rgaa_version``."""
        started = [v for v in self.rgaa_versions if v.from_ <= on]
        return max(started, key=lambda v: v.from_).version if started else self.rgaa_version

    def eu_threshold(self, on: dt.date, central_state: bool) -> EuThreshold | None:
        """Thresholds in force on ``on`` (None when law.yaml has no period for it)."""
        for period in self.eu_thresholds:
            if period.from_ <= on <= period.until:
                return period
        return None

    def supplies_services_threshold(self, on: dt.date, central_state: bool) -> float | None:
        """EU threshold for supplies and services in € HT on ``on``.

        Central State authorities have the lower threshold (Directive 2014/24/UE,
        art. 4 b; avis annexé au CCP).
        """
        period = self.eu_threshold(on, central_state)
        if period is None:
            return None
        return period.fournitures_services_etat if central_state else period.fournitures_services


class LibraryRelease(_Model):
    """One release of the clausier: version, date and the clause versions it carries."""

    version: str
    date: dt.date
    note: str | None = None
    clauses: dict[str, int] = Field(default={})


class _ClausierMeta(_Model):
    version: str
    title: str
    changelog: list[LibraryRelease] = Field(default=[])


@dataclass(frozen=True)
class Clausier:
    """The loaded library: version, law and clauses by id (sorted by id).

    With policy layers (:mod:`tasks.clausier.layers`): ``clauses`` is the effective
    clausier, ``version`` names the national version and each layer's
    (« 2026.11.0 + region-na 2026.1 »), ``origins`` says which layer added or changed a
    clause (id → changes, lowest layer first) and ``policy_weights`` the layers' minimum
    weights of the responsible award criteria (criterion type → rule).
    """

    root: Path
    version: str
    law: Law
    clauses: dict[str, Clause]
    changelog: tuple[LibraryRelease, ...] = ()
    national_version: str | None = None
    layers: tuple[Any, ...] = ()
    origins: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    policy_weights: dict[str, Any] = field(default_factory=dict)
    vocabulary: Vocabulary | None = None

    def get(self, clause_id: str) -> Clause | None:
        return self.clauses.get(clause_id)

    def unknown(self, clause_id: str) -> str:
        """French message for ``clause_id`` absent from this clausier, with the way out:
        without policy layers, a local policy's clause needs its organisation declared."""
        hint = (
            ""
            if self.layers
            else " ; une clause d'une politique d'achat locale demande de déclarer "
            "l'organisation (CAHIER_ORGANISATION=DOSSIER, voir docs/policy.md)"
        )
        return (
            f"clause « {clause_id} » inconnue du clausier {self.version} "
            f"(voir « cahier clauses list »){hint}."
        )

    def origin(self, clause_id: str) -> tuple[Any, ...]:
        """The layer changes (:class:`tasks.clausier.layers.Provenance`) of a clause."""
        return self.origins.get(clause_id, ())


def default_library_path() -> Path:
    """The clausier shipped with cahier (the ``clause_library`` package folder)."""
    import clause_library

    return Path(clause_library.__file__).resolve().parent


def shipped_law() -> Law:
    """law.yaml of the clausier shipped with cahier, validated once (the national
    clausier's, from the same cache: nothing is parsed twice).

    Raises:
        InputError: law.yaml missing or malformed (French message naming the file and
            the line of the faulty field).
    """
    return load_clausier(default_library_path(), layers=[]).law


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("fichier du clausier introuvable.", str(path)) from None


class _Snapshot(_Model):
    """The validated clausier as JSON: what the on-disk cache holds."""

    meta: _ClausierMeta
    law: Law
    clauses: list[Clause]
    vocabulary: Vocabulary


def _from_snapshot(base: Path, snap: _Snapshot) -> Clausier:
    return Clausier(
        root=base,
        version=snap.meta.version,
        law=snap.law,
        clauses={c.id: c for c in snap.clauses},
        changelog=tuple(snap.meta.changelog),
        vocabulary=snap.vocabulary,
    )


def _snapshot_of(clausier: Clausier) -> _Snapshot:
    return _Snapshot(
        meta=_ClausierMeta(version=clausier.version, title="", changelog=list(clausier.changelog)),
        law=clausier.law,
        clauses=list(clausier.clauses.values()),
        vocabulary=clausier.vocabulary,
    )


@lru_cache(maxsize=8)
def _load_cached(root: str, stamp: tuple[tuple[str, int, int], ...]) -> Clausier:
    """Validated clausier; the validated form is cached as JSON on disk, keyed by the
    files' paths, sizes and modification times (YAML construction costs ~0.1 s, a JSON
    snapshot validated by pydantic-core a few ms; :mod:`tasks.clausier.snapshot`)."""
    from .snapshot import cached_model

    base = Path(root)
    snap = cached_model(
        _Snapshot, "clausier", (root, stamp), lambda: _snapshot_of(_load_yaml_files(base))
    )
    return _from_snapshot(base, snap)


def _load_yaml_files(base: Path) -> Clausier:
    meta = validate_yaml(_ClausierMeta, _read(base / "clausier.yaml"), str(base / "clausier.yaml"))
    law = validate_yaml(Law, _read(base / "law.yaml"), str(base / "law.yaml"))
    vocabulary = validate_yaml(
        Vocabulary, _read(base / "recognition.yaml"), str(base / "recognition.yaml")
    )
    clauses: dict[str, Clause] = {}
    for path in sorted((base / "clauses").glob("*.yaml")):
        clause = validate_yaml(Clause, path.read_bytes(), str(path))
        if path.stem != clause.id:
            raise InputError(
                f"le fichier doit s'appeler {clause.id}.yaml (identifiant de la clause).",
                str(path),
                1,
            )
        clauses[clause.id] = clause
    return Clausier(
        root=base,
        version=meta.version,
        law=law,
        clauses=clauses,
        changelog=tuple(meta.changelog),
        vocabulary=vocabulary,
    )


def load_clausier(
    root: str | Path | None = None,
    *,
    dossier: str | Path | None = None,
    layers: list[Any] | None = None,
) -> Clausier:
    """Load and validate the clausier at ``root`` (default: the shipped one), with the
    policy layers stacked over it.

    Layers: ``layers`` when given (``[]`` for the national clausier alone), else those
    of the settings of ``dossier`` — or of the organisation when ``dossier`` is None —
    (:func:`tasks.config.load_settings`, ``policy.layers``; see
    :mod:`tasks.clausier.layers`).

    Cached per process while no file changes (modification times are part of the key).

    Raises:
        InputError: a missing or invalid file (French message, file and line), a layer
            that loosens the law or redefines a clause.
    """
    national = _load_national(root)
    if layers is None:
        from tasks.config.settings import load_settings

        layers = list(load_settings(Path(dossier) if dossier else None).policy.layers)
    if not layers:
        return national
    return _compose(national, tuple(layers))


_COMPOSED: dict[tuple, Clausier] = {}


def _layer_stamp(spec: Any) -> tuple:
    """Key of a layer as it is now: folder, revision, and its files' sizes and times
    (a layer read at a revision is keyed by the revision's name and the folder's HEAD)."""
    path = Path(getattr(spec, "path", spec))
    rev = getattr(spec, "rev", None)
    files = [path / "politique.yaml", *sorted((path / "clauses").glob("*.yaml"))]
    stamp = tuple(
        (f.name, st.st_size, st.st_mtime_ns) for f in files if f.exists() for st in [f.stat()]
    )
    return (str(path.resolve()), rev, stamp if rev is None else None)


def _compose(national: Clausier, specs: tuple[Any, ...]) -> Clausier:
    """National clausier + layers; cached per process while no file changes (a layer
    read at a Git revision is read again each time: the revision may be a branch)."""
    key = (
        str(national.root),
        national.version,
        id(national),
        tuple(_layer_stamp(s) for s in specs),
    )
    cacheable = all(getattr(s, "rev", None) is None for s in specs)
    if cacheable and key in _COMPOSED:
        return _COMPOSED[key]
    composed = _compose_now(national, specs)
    if cacheable:
        if len(_COMPOSED) > 16:
            _COMPOSED.clear()
        _COMPOSED[key] = composed
    return composed


def _compose_now(national: Clausier, specs: tuple[Any, ...]) -> Clausier:
    from .layers import apply_layers, read_layer

    read = []
    for spec in specs:
        path = getattr(spec, "path", spec)
        rev = getattr(spec, "rev", None)
        read.append(read_layer(path, rev))
    weights = {
        "environnement": national.law.weights.environmental_min_recommended,
        "social": national.law.weights.social_min_recommended,
    }
    clauses, comp = apply_layers(national.clauses, weights, read)
    return Clausier(
        root=national.root,
        version=" + ".join([national.version, *(layer.label for layer in read)]),
        law=national.law,
        clauses=clauses,
        changelog=national.changelog,
        national_version=national.version,
        layers=tuple(read),
        origins={k: tuple(v) for k, v in comp.origins.items()},
        policy_weights=dict(comp.weights),
        vocabulary=national.vocabulary,
    )


#: root → national clausier, while :func:`pinned` holds (None: stamp at each load)
_PINNED: dict[str, Clausier] | None = None


@contextmanager
def pinned() -> Iterator[None]:
    """Within the block, the national clausier of a root is stamped and loaded once:
    a batch (``cahier check --all``) checks every dossier against the same clausier,
    the one in place when it started, instead of stating its ~20 files again for each
    dossier (~0.3 ms). Processes forked inside the block keep the pin."""
    global _PINNED
    old, _PINNED = _PINNED, {}
    try:
        yield
    finally:
        _PINNED = old


def _load_national(root: str | Path | None = None) -> Clausier:
    base = Path(root) if root else default_library_path()
    pins = _PINNED
    if pins is not None:
        got = pins.get(str(base))
        if got is None:
            got = pins[str(base)] = _stamped_national(base)
        return got
    return _stamped_national(base)


def _stamped_national(base: Path) -> Clausier:
    if not (base / "clausier.yaml").is_file():
        raise InputError("ce dossier n'est pas un clausier (clausier.yaml absent).", str(base))
    files = [
        base / "clausier.yaml",
        base / "law.yaml",
        base / "recognition.yaml",
        *sorted((base / "clauses").glob("*.yaml")),
    ]
    stamp = tuple(
        (f.name, st.st_size, st.st_mtime_ns) for f in files if f.exists() for st in [f.stat()]
    )
    return _load_cached(str(base), stamp)


def check_clausier(root: str | Path | None = None) -> list[InputError]:
    """Lint the clausier beyond its schema: every problem as a located French error.

    Checks, for every clause file: the schema (via :func:`load_clausier`, first error
    only since loading stops there), the template's variables (only the clause's own
    parameters: an unknown name is an error), inclusions (``include``/``import``/
    ``extends`` are forbidden: clauses are self-contained, so no circular include can
    exist), rendering with the defaults in the sandbox, defaults within their bounds, and
    the evidence cues (at most three words each, tasks/clausier/recognition.py).

    Returns:
        The problems found (empty when the clausier is sound).
    """
    from .recognition import cue_problems

    try:
        lib = load_clausier(root, layers=[])
    except InputError as exc:
        return [exc]
    problems: list[InputError] = []
    for cid, clause in lib.clauses.items():
        problems.extend(lint_clause(clause, str(lib.root / "clauses" / f"{cid}.yaml")))
    vocab_file = str(lib.root / "recognition.yaml")
    voc = lib.vocabulary
    if voc is not None:
        m = voc.mentions
        lists = [*m.negation, *m.applicable_texts, *m.question, *m.legal_text]
        lists.extend(voc.contract_piece_names)
        lists.extend(voc.sanctions)
        for name in (
            "criterion",
            "weight",
            "actor",
            "bidder",
            "modal",
            "requirement",
            "possibility",
            "model_clause",
        ):
            lists.extend(getattr(voc.acts, name))
        for cue in lists:
            why = cue_problems(cue)
            if why:
                problems.append(InputError(f"{why}.", vocab_file))
    return problems


def lint_clause(clause: Clause, file: str) -> list[InputError]:
    """The problems of one clause beyond its schema (see :func:`check_clausier`): template
    syntax and variables, inclusions, rendering with the defaults, evidence cues."""
    from jinja2 import TemplateSyntaxError, meta, nodes

    from .recognition import cue_problems
    from .render import render_clause, sandbox, validate_params

    problems: list[InputError] = []
    env = sandbox()
    try:
        ast = env.parse(clause.text)
    except TemplateSyntaxError as exc:
        problems.append(
            InputError(f"champ « text » : modèle Jinja2 invalide ({exc.message}).", file)
        )
        return problems
    unknown = sorted(meta.find_undeclared_variables(ast) - set(clause.parameters))
    if unknown:
        problems.append(
            InputError(
                f"champ « text » : variable(s) {', '.join(unknown)} inconnue(s) ; seuls les "
                f"paramètres de la clause sont utilisables ({', '.join(clause.parameters) or 'aucun'}).",
                file,
            )
        )
    includes = any(ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)))
    if includes:
        problems.append(
            InputError(
                "champ « text » : inclusion d'un autre modèle interdite (une clause se suffit "
                "à elle-même).",
                file,
            )
        )
    try:
        validate_params(clause, {}, file)
        if not unknown and not includes:
            render_clause(clause, {}, file)
    except InputError as exc:
        problems.append(InputError(f"paramètres par défaut : {exc.message}", file))
    ev = clause.evidence
    cues = [*ev.negative, *(c for g in ev.any for concept in g.all for c in concept.split("|"))]
    for cue in cues:
        why = cue_problems(cue.strip())
        if why:
            problems.append(InputError(f"champ « evidence » : {why}.", file))
    if not ev.acts:
        problems.append(
            InputError(
                "champ « evidence » : « acts » manquant (criterion, obligation, "
                "specification ou model_clause).",
                file,
            )
        )
    return problems
