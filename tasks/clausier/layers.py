"""Local policy layers stacked over the national clausier (Région, collectivité, company).

A layer is a folder — or a folder of a Git repository read at a revision, without
checkout — named in the organisation's settings (``policy.layers`` of
:func:`tasks.config.load_settings`). It holds::

    politique.yaml      what the layer is and what it changes (model :class:`LayerFile`)
    clauses/<ID>.yaml   clauses of its own (model :class:`tasks.dossier.model.Clause`)

A layer is a thin overlay: it may **add** clauses (new ids only), **raise** a
recommended family to mandatory (``niveaux``), **tighten** a parameter's bounds
(``parametres``: a higher ``min``, a lower ``max``) and add **its own rules** on the
award criteria (``ponderations``: a minimum weight, % of the total score, for the
environmental or social criterion). It never loosens the law: lowering a level,
widening a bound, a weight below law.yaml's recommendation or redefining a clause id
of a lower layer is refused (:class:`~tasks.errors.InputError`, file and line).

Layers stack in the order given (national → Région → collectivité); each change is
recorded as a :class:`Provenance` so that a finding can say where its rule comes from
(« politique d'achat de la Région, art. 3 »).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import Field

from tasks import fmt
from tasks.dossier.model import Clause, LegalReference, _Model
from tasks.dossier.yamlio import validate_yaml_with_lines
from tasks.errors import InputError

__all__ = [
    "LAYER_FILE",
    "Composition",
    "Layer",
    "LayerFile",
    "PolicyWeight",
    "Provenance",
    "apply_layers",
    "describe",
    "read_layer",
]

LAYER_FILE = "politique.yaml"
_LEVELS = ("recommended", "mandatory")
_LEVEL_FR = {"recommended": "recommandée", "mandatory": "obligatoire"}
_WEIGHT_KINDS = {"environnement": "environmental", "social": "social"}


class LevelChange(_Model):
    """A family made mandatory by the layer (never the reverse)."""

    clause: str
    level: Literal["recommended", "mandatory"]
    article: str = Field(min_length=1, description="article de la politique, ex. « art. 3 »")
    motif: str | None = None


class ParameterBound(_Model):
    """A parameter's bounds tightened by the layer (``min`` up, ``max`` down)."""

    clause: str
    parametre: str
    min: float | None = None
    max: float | None = None
    article: str = Field(min_length=1)


class WeightRule(_Model):
    """Minimum weight (% of the total score) of a responsible award criterion."""

    min: float = Field(ge=0, le=100)
    article: str = Field(min_length=1)


class LayerFile(_Model):
    """``politique.yaml``: a local purchasing policy (SPASER, company policy).

    ``citation`` is the short name findings use (« politique d'achat de la Région »);
    ``source`` the act that adopted it (deliberation, decision).
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    nom: str = Field(min_length=3)
    citation: str = Field(min_length=3)
    version: str = Field(min_length=1)
    source: LegalReference
    niveaux: list[LevelChange] = Field(default=[])
    parametres: list[ParameterBound] = Field(default=[])
    ponderations: dict[Literal["environnement", "social"], WeightRule] = Field(default={})


@dataclass(frozen=True)
class Provenance:
    """Where one piece of the effective clausier comes from.

    kind: ``ajout`` (clause added), ``niveau``, ``parametre``, ``ponderation``.
    """

    layer: str
    citation: str
    version: str
    article: str
    kind: str
    detail: str
    file: str
    line: int | None = None
    rev: str | None = None
    parameter: str | None = None  # the parameter whose bounds a ``parametre`` change tightens

    def label(self) -> str:
        """« politique d'achat de la Région, art. 3 »."""
        return f"{self.citation}, {self.article}"

    def reference(self, source: LegalReference | None = None) -> LegalReference:
        """The legal-basis entry of a finding whose rule comes from this layer."""
        ver = f"{self.version}" + (f", révision {self.rev}" if self.rev else "")
        return LegalReference(
            ref=f"{self.label()} (couche « {self.layer} » {ver})",
            url=source.url if source else None,
        )


@dataclass(frozen=True)
class PolicyWeight:
    """A layer's minimum weight (% of the total score) for one criterion type."""

    minimum: float
    provenance: Provenance


@dataclass(frozen=True)
class Layer:
    """One layer as read: its description, clauses and where it was read from."""

    meta: LayerFile
    clauses: dict[str, tuple[Clause, str]]  # id → (clause, file)
    lines: dict[str, int]
    file: str
    rev: str | None = None
    commit: str | None = None

    @property
    def label(self) -> str:
        return f"{self.meta.id} {self.meta.version}" + (
            f" @{self.commit[:10]}" if self.commit else ""
        )


@dataclass
class Composition:
    """The effective clausier's extra knowledge: layers, origins, policy weights."""

    layers: list[Layer] = field(default_factory=list)
    origins: dict[str, list[Provenance]] = field(default_factory=dict)
    weights: dict[str, PolicyWeight] = field(default_factory=dict)


# --------------------------------------------------------------------------- reading


def _git_files(repo_path: Path, rev: str) -> tuple[dict[str, bytes], str, str]:
    """Files of the layer folder at ``rev`` (read through :mod:`tasks.git`, no checkout):
    name → bytes, the commit and the folder."""
    from tasks.git import Repo

    try:
        repo = Repo.discover(repo_path)
    except InputError:
        raise InputError(
            f"couche de politique : pas de dépôt Git pour lire la révision « {rev} ». "
            "Indiquez une copie de travail Git, ou retirez « rev » des paramètres.",
            str(repo_path),
        ) from None
    sub = repo.rel(repo_path)
    commit = repo.rev(rev)
    if commit is None:
        raise InputError(
            f"couche de politique : révision « {rev} » introuvable dans {repo.top} (voir "
            "« git log --oneline »).",
            str(repo_path),
        )
    entries = repo.tree(commit, sub, recursive=True)
    if sub and not entries:
        raise InputError(f"couche de politique absente de la révision « {rev} ».", str(repo_path))
    wanted: list[tuple[str, str]] = []
    for _mode, typ, sha, name in entries:
        full = f"{sub}/{name}" if sub else name
        if typ == "blob" and (full.endswith(f"/{LAYER_FILE}") or "/clauses/" in f"/{full}"):
            if len(wanted) > 2000:
                raise InputError("couche de politique trop grande.", str(repo_path))
            wanted.append((name, sha))
    data = repo.blobs([sha for _name, sha in wanted])
    return {name: blob or b"" for (name, _sha), blob in zip(wanted, data, strict=True)}, commit, sub


def _disk_files(folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    meta = folder / LAYER_FILE
    if meta.is_file():
        files[LAYER_FILE] = meta.read_bytes()
    cdir = folder / "clauses"
    if cdir.is_dir():
        for f in sorted(cdir.glob("*.yaml")):
            if f.is_symlink() and not f.resolve().is_relative_to(folder.resolve()):
                raise InputError("lien symbolique hors de la couche refusé.", str(f))
            files[f"clauses/{f.name}"] = f.read_bytes()
    return files


def read_layer(path: str | os.PathLike[str], rev: str | None = None) -> Layer:
    """Read and validate one layer (folder, or folder of a Git repository at ``rev``).

    Raises:
        InputError: no ``politique.yaml``, invalid YAML or field (file and line), a clause
            file not named after its id.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(
            "couche de politique introuvable : le dossier nommé dans les paramètres "
            "(policy.layers) n'existe pas.",
            str(folder),
        )
    commit = None
    if rev:
        files, commit, _sub = _git_files(folder, rev)
        prefix = f"{rev}:"
    else:
        files = _disk_files(folder)
        prefix = ""
    meta_name = f"{prefix}{folder / LAYER_FILE}"
    if LAYER_FILE not in files:
        raise InputError(
            f"couche de politique sans {LAYER_FILE} : ce fichier décrit la politique (id, nom, "
            "citation, version, source) et ce qu'elle change.",
            str(folder),
        )
    meta, lines = validate_yaml_with_lines(LayerFile, files[LAYER_FILE], meta_name)
    clauses: dict[str, tuple[Clause, str]] = {}
    for name in sorted(n for n in files if n.startswith("clauses/") and n.endswith(".yaml")):
        fname = f"{prefix}{folder / name}"
        clause, clines = validate_yaml_with_lines(Clause, files[name], fname)
        from .library import lint_clause

        problems = lint_clause(clause, fname)
        if problems:  # the same lint as the national clausier (cahier clauses check)
            first = problems[0]
            field = "text" if "« text »" in first.message else "evidence"
            raise InputError(first.message, fname, clines.get(field))
        if Path(name).stem != clause.id:
            raise InputError(
                f"le fichier doit s'appeler {clause.id}.yaml (identifiant de la clause).", fname, 1
            )
        clauses[clause.id] = (clause, fname)
    return Layer(meta=meta, clauses=clauses, lines=lines, file=meta_name, rev=rev, commit=commit)


# --------------------------------------------------------------------------- composing


def apply_layers(
    clauses: dict[str, Clause],
    law_weights: dict[str, float],
    layers: list[Layer],
) -> tuple[dict[str, Clause], Composition]:
    """Stack ``layers`` (lowest first) over ``clauses`` (the national clausier).

    Args:
        clauses: national clauses by id.
        law_weights: law.yaml's recommended minimum weights (% of the total score), by
            criterion type (``environnement``, ``social``).
        layers: as read by :func:`read_layer`, national → Région → collectivité.

    Returns:
        The effective clauses (sorted by id) and the :class:`Composition` (origins of
        every change, policy weights).

    Raises:
        InputError: a layer loosens the law or a lower layer (lower level, wider bound,
            weight below the law's recommendation or a lower layer's minimum), redefines a
            clause id, or names an unknown clause or parameter — file and line given.
    """
    out = dict(clauses)
    comp = Composition(layers=list(layers))
    for layer in layers:
        _add_clauses(layer, out, comp, set(clauses))
        _raise_levels(layer, out, comp)
        for i, pb in enumerate(layer.meta.parametres):
            _tighten_parameter(layer, i, pb, out, comp)
        _raise_weights(layer, law_weights, comp)
    return dict(sorted(out.items())), comp


def _provenance(
    layer: Layer, kind: str, article: str, detail: str, line: int | None, file: str | None = None
) -> Provenance:
    """Where a change comes from: the layer, its article, file and line, its commit."""
    m = layer.meta
    return Provenance(
        layer=m.id,
        citation=m.citation,
        version=m.version,
        article=article,
        kind=kind,
        detail=detail,
        file=file or layer.file,
        line=line,
        rev=layer.commit[:10] if layer.commit else None,
    )


def _add_clauses(
    layer: Layer, out: dict[str, Clause], comp: Composition, national: set[str]
) -> None:
    """The layer's own clauses: new ids only (a layer never redefines a clause)."""
    m = layer.meta
    for cid, (clause, fname) in layer.clauses.items():
        if cid in out:
            owner = "du clausier national" if cid in national else "d'une couche inférieure"
            raise InputError(
                f"la couche « {m.id} » redéfinit la clause {cid}, qui est une clause "
                f"{owner} : une couche ne peut qu'ajouter des clauses d'identifiant nouveau "
                "(ou rendre obligatoire une famille et resserrer ses paramètres dans "
                f"{LAYER_FILE}). Renommez la clause (ex. {m.id.split('-')[0].upper()}-…-01).",
                fname,
                1,
            )
        out[cid] = clause
        comp.origins.setdefault(cid, []).append(
            _provenance(layer, "ajout", "clause propre", "clause ajoutée par la couche", 1, fname)
        )


def _raise_levels(layer: Layer, out: dict[str, Clause], comp: Composition) -> None:
    """``niveaux``: a recommended clause made mandatory, never the reverse."""
    m = layer.meta
    for i, ch in enumerate(m.niveaux):
        line = layer.lines.get(f"niveaux.{i}")
        cur = out.get(ch.clause)
        if cur is None:
            raise InputError(
                f"niveaux : clause « {ch.clause} » inconnue (voir « cahier clauses list »).",
                layer.file,
                line,
            )
        if _LEVELS.index(ch.level) < _LEVELS.index(cur.level):
            raise InputError(
                f"niveaux : la couche « {m.id} » abaisse {ch.clause} de « "
                f"{_LEVEL_FR[cur.level]} » à « {_LEVEL_FR[ch.level]} ». Une politique locale "
                "peut rendre obligatoire une clause recommandée, jamais l'inverse : une "
                f"obligation ({'; '.join(lb.ref for lb in cur.legal_basis[:2])}) ne se "
                "lève que par une dérogation motivée dans tender.yaml (waivers).",
                layer.file,
                line,
            )
        if ch.level == "mandatory":
            # Recorded even when the national clausier already says mandatory: the
            # layer's own policy then binds a private buyer too.
            out[ch.clause] = cur.model_copy(update={"level": ch.level})
            detail = (
                f"{_LEVEL_FR[cur.level]} → {_LEVEL_FR[ch.level]}"
                if ch.level != cur.level
                else "obligatoire (repris par la politique)"
            )
            comp.origins.setdefault(ch.clause, []).append(
                _provenance(layer, "niveau", ch.article, detail, line)
            )


def _numeric_parameter(layer: Layer, pb, cur: Clause | None, line: int | None):
    """The numeric parameter ``pb`` tightens (file and line of the layer on error)."""
    if cur is None:
        raise InputError(
            f"parametres : clause « {pb.clause} » inconnue (voir « cahier clauses list »).",
            layer.file,
            line,
        )
    p = cur.parameters.get(pb.parametre)
    if p is None:
        raise InputError(
            f"parametres : la clause {pb.clause} n'a pas de paramètre « {pb.parametre} » "
            f"(paramètres : {', '.join(cur.parameters) or 'aucun'}).",
            layer.file,
            line,
        )
    if p.type not in ("int", "float"):
        raise InputError(
            f"parametres : « {pb.parametre} » de {pb.clause} n'est pas un nombre ; seules "
            "les bornes numériques se resserrent.",
            layer.file,
            line,
        )
    if pb.min is None and pb.max is None:
        raise InputError("parametres : indiquez « min » ou « max ».", layer.file, line)
    return p


def _tightened_bounds(layer: Layer, i: int, pb, p, line: int | None):
    """``(min, max)`` after the layer: only a higher minimum or a lower maximum."""
    m = layer.meta
    if pb.min is not None and p.min is not None and pb.min < p.min:
        raise InputError(
            f"parametres : la couche « {m.id} » abaisse le minimum de « {pb.parametre} » "
            f"({pb.clause}) de {p.min:g} à {pb.min:g} : une politique locale peut "
            "seulement resserrer les bornes du clausier (minimum plus haut, maximum plus "
            "bas).",
            layer.file,
            layer.lines.get(f"parametres.{i}.min", line),
        )
    if pb.max is not None and p.max is not None and pb.max > p.max:
        raise InputError(
            f"parametres : la couche « {m.id} » relève le maximum de « {pb.parametre} » "
            f"({pb.clause}) de {p.max:g} à {pb.max:g} : une politique locale peut "
            "seulement resserrer les bornes du clausier.",
            layer.file,
            layer.lines.get(f"parametres.{i}.max", line),
        )
    lo = pb.min if pb.min is not None else p.min
    hi = pb.max if pb.max is not None else p.max
    if lo is not None and hi is not None and lo > hi:
        raise InputError(
            f"parametres : bornes vides pour « {pb.parametre} » ({pb.clause}) : minimum "
            f"{lo:g} > maximum {hi:g}.",
            layer.file,
            line,
        )
    return lo, hi


def _clamped_default(p, lo, hi):
    """The parameter's default brought within the new bounds."""
    default = p.default
    if isinstance(default, int | float) and not isinstance(default, bool):
        if lo is not None and default < lo:
            default = lo
        if hi is not None and default > hi:
            default = hi
        if p.type == "int":
            default = int(default)
    return default


def _tighten_parameter(layer: Layer, i: int, pb, out: dict[str, Clause], comp: Composition):
    """``parametres.i``: a numeric parameter's bounds tightened, its default clamped."""
    line = layer.lines.get(f"parametres.{i}")
    cur = out.get(pb.clause)
    p = _numeric_parameter(layer, pb, cur, line)
    lo, hi = _tightened_bounds(layer, i, pb, p, line)
    newp = p.model_copy(update={"min": lo, "max": hi, "default": _clamped_default(p, lo, hi)})
    out[pb.clause] = cur.model_copy(update={"parameters": {**cur.parameters, pb.parametre: newp}})
    span = f"{'' if lo is None else f'{lo:g}'}–{'' if hi is None else f'{hi:g}'}"
    detail = f"{pb.parametre} borné à [{span}]" + (f" {p.unit}" if p.unit else "")
    comp.origins.setdefault(pb.clause, []).append(
        replace(_provenance(layer, "parametre", pb.article, detail, line), parameter=pb.parametre)
    )


def _raise_weights(layer: Layer, law_weights: dict[str, float], comp: Composition) -> None:
    """``ponderations``: minimum weights (%) of responsible criteria, never below the
    law's recommendation (law.yaml) nor a lower layer's minimum."""
    m = layer.meta
    for kind, rule in m.ponderations.items():
        line = layer.lines.get(f"ponderations.{kind}")
        floor = law_weights.get(kind, 0.0)
        lower = comp.weights.get(kind)
        if lower is not None and rule.min < lower.minimum:
            raise InputError(
                f"ponderations : la couche « {m.id} » fixe le critère {kind} à {fmt.percent(rule.min)} "
                f"au moins, sous les {fmt.percent(lower.minimum)} de la couche « "
                f"{lower.provenance.layer} » ({lower.provenance.label()}) : une couche "
                "supérieure ne peut que resserrer.",
                layer.file,
                line,
            )
        if rule.min < floor:
            raise InputError(
                f"ponderations : {fmt.percent(rule.min)} pour le critère {kind} est sous le minimum "
                f"recommandé de {fmt.percent(floor)} (clause_library/law.yaml, guide des achats "
                "numériques responsables) : une politique locale ne peut que resserrer.",
                layer.file,
                line,
            )
        comp.weights[kind] = PolicyWeight(
            minimum=max(rule.min, floor),
            provenance=_provenance(
                layer,
                "ponderation",
                rule.article,
                f"critère {kind} ≥ {fmt.percent(rule.min)} de la note",
                line,
            ),
        )


def describe(comp: Composition) -> list[Provenance]:
    """Every change of the composition, in layer order (for ``cahier clauses diff``)."""
    seen: list[Provenance] = []
    for provs in comp.origins.values():
        seen.extend(provs)
    seen.extend(w.provenance for w in comp.weights.values())
    order = {layer.meta.id: i for i, layer in enumerate(comp.layers)}
    return sorted(seen, key=lambda p: (order.get(p.layer, 0), p.kind, p.detail))
