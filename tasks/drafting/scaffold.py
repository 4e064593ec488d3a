"""``cahier new``: a new dossier from the templates of one purchase type.

Templates live in ``clause_library/templates/<type>/`` (``tender.yaml``, ``rc.md``,
``ccap.md``, ``cctp.md``). They are Jinja2 templates rendered in a sandbox
(:class:`jinja2.sandbox.SandboxedEnvironment`, ``StrictUndefined``) with:

* the scaffold values: ``tender_id``, ``type``, ``equipement``, ``acheteur``
  (``nom``, ``siret``, ``type``), ``montant`` (€ HT), ``date_lancement``,
  ``procedure`` (from the EU threshold in force, law.yaml), ``seuil_ue`` (€ HT),
  ``law`` (law.yaml) and, in the pieces, ``tender`` (the rendered tender.yaml, as
  :class:`~tasks.dossier.model.Tender`);
* ``applies("ID")``: whether a clause applies to the tender (same rule as the checker,
  :func:`tasks.check.checker.is_applicable`, values of law.yaml on ``dateLancement``);
* ``clause("ID", k=v…)``: writes the call ``{{ clause("ID", k=v…) }}`` into the piece
  (parameters checked against the clause's types and bounds now, rendered at assembly);
* ``article()``: the next article number (« 1 », « 2 »…) and ``art()``: the next
  sub-article number of the current article (« 7.1 », « 7.2 »…), so that articles kept
  by ``{% if applies(…) %}`` are numbered without gaps;
* ``note("…")``: a drafting note ``{## … ##}`` for the buyer (a Jinja2 comment with
  the assembly's delimiters, tasks/publish/assemble.py: dropped from the documents);
* filters ``q`` (YAML/JSON double-quoted string) and ``euros`` (« 300 000 »).

In the pieces, every printed value is inserted literally (:func:`literal_text`): an
objet or a buyer name holding ``{{ … }}`` is not evaluated at assembly. Only the
helpers ``clause()`` and ``note()`` write template text on purpose.

The tender.yaml template is rendered twice: once to learn the tender's facts, then with
``applies()`` answering for that tender (waivers and criteria may depend on it).

The dossier is built in a temporary folder next to the destination, checked, then
renamed into place: an existing destination is never overwritten and an interrupted
run leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from tasks import fmt
from tasks.clausier.library import Clausier, load_clausier
from tasks.dossier.files import new_folder
from tasks.dossier.model import (
    SIRET_RE,
    BuyerType,
    CheckReport,
    Tender,
    check_tender_id,
    siret_ok,
)
from tasks.errors import InputError

__all__ = [
    "EQUIPEMENTS",
    "PURCHASE_TYPES",
    "ScaffoldRequest",
    "ScaffoldResult",
    "literal_text",
    "parse_montant",
    "render_dossier",
    "scaffold",
    "templates_root",
]

#: Purchase types and the template folder of each (clause_library/templates/<type>/).
PURCHASE_TYPES: dict[str, str] = {
    "materiel": "matériel informatique (postes de travail, impression, smartphones, serveurs)",
    "logiciel": "logiciels et services logiciels (licences, SaaS)",
    "prestations": "prestations intellectuelles informatiques (développement, TMA)",
    "hebergement": "hébergement et services d'informatique en nuage",
    "telecom": "services et équipements de télécommunications",
}
#: Kinds of hardware of the ``materiel`` template.
EQUIPEMENTS: dict[str, str] = {
    "postes": "postes de travail (ordinateurs fixes et portables)",
    "impression": "matériels d'impression (imprimantes, multifonctions)",
    "smartphones": "smartphones et tablettes",
    "serveurs": "serveurs et matériels de centre de données",
}
PIECES = ("rc.md", "ccap.md", "cctp.md")


@dataclass(frozen=True)
class ScaffoldRequest:
    """What ``cahier new`` was asked for (values as typed by the buyer).

    ``montant`` in € HT (estimated maximum over the whole duration, R2121-1 CCP), finite
    and positive; ``date_lancement`` decides which law.yaml values apply (EU threshold,
    2026-08-21 gate); ``equipement`` only for ``type="materiel"`` (default ``postes``);
    ``objet`` and ``acheteur`` are the buyer's text, inserted literally in the pieces.
    """

    tender_id: str
    type: str
    acheteur: str
    siret: str
    buyer_type: str
    montant: float = 100_000
    date_lancement: dt.date | None = None
    equipement: str | None = None  # materiel only; default "postes"
    objet: str | None = None


@dataclass
class ScaffoldResult:
    """The dossier written: path, files, library clauses placed, waivers, check report."""

    path: Path
    files: list[str]
    clauses: dict[str, list[str]]  # piece -> clause ids, in order
    waivers: list[str]
    procedure: str
    report: CheckReport | None = None
    notes: list[str] = field(default_factory=list)


def templates_root(clausier: Clausier) -> Path:
    """``<clausier>/templates``."""
    return clausier.root / "templates"


# --------------------------------------------------------------------------- checks


_AMOUNT_RE = re.compile(r"^\d+(?:[.,]\d+)?$")


def parse_montant(text: str) -> float:
    """An amount in € HT as typed by a buyer: « 150000 », « 150 000 », « 150 000,50 ».

    Raises:
        InputError: not a number, not finite (« inf », « nan »), zero or negative.
    """
    compact = re.sub(r"[\s\u00a0\u202f]", "", text).removesuffix("€")
    if not _AMOUNT_RE.match(compact):
        raise InputError(
            f"montant « {text} » invalide : un montant positif en € HT est attendu, en "
            "chiffres (ex. 150000 ou « 150 000,50 »)."
        )
    value = float(compact.replace(",", "."))
    if not (math.isfinite(value) and value > 0):
        raise InputError(
            f"montant « {text} » invalide : un montant positif en € HT est attendu (montant "
            "maximum estimé sur toute la durée, article R2121-1 du code de la commande publique)."
        )
    return value


def _check_montant(value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InputError(
            f"montant « {value:g} » invalide : un montant positif et fini en € HT est attendu "
            "(montant maximum estimé sur toute la durée, article R2121-1 du code de la "
            "commande publique)."
        )


def _validate(req: ScaffoldRequest) -> tuple[str, BuyerType, dt.date]:
    check_tender_id(req.tender_id)
    if req.type not in PURCHASE_TYPES:
        raise InputError(
            f"type d'achat « {req.type} » inconnu ; types possibles : {', '.join(PURCHASE_TYPES)}."
        )
    if req.equipement is not None and req.type != "materiel":
        raise InputError(
            f"--equipement « {req.equipement} » ne s'applique qu'au type d'achat « materiel » "
            f"(type demandé : « {req.type} ») : retirez --equipement ou choisissez "
            "--type materiel."
        )
    if req.equipement is not None and req.equipement not in EQUIPEMENTS:
        raise InputError(
            f"équipement « {req.equipement} » inconnu ; valeurs possibles : "
            f"{', '.join(EQUIPEMENTS)}."
        )
    siret = re.sub(r"\s", "", req.siret)
    if not SIRET_RE.match(siret):
        raise InputError(
            f"SIRET « {req.siret} » invalide : 14 chiffres attendus (numéro SIRET de l'acheteur)."
        )
    if not siret_ok(siret):
        raise InputError(
            f"--siret « {req.siret} » invalide : la clé de contrôle (formule de Luhn, INSEE) ne "
            "correspond pas ; vérifiez le numéro sur l'annuaire des entreprises."
        )
    try:
        buyer = BuyerType(req.buyer_type)
    except ValueError:
        raise InputError(
            f"type d'acheteur « {req.buyer_type} » inconnu ; valeurs possibles : "
            f"{', '.join(b.value for b in BuyerType)}."
        ) from None
    if not req.acheteur.strip():
        raise InputError("nom de l'acheteur vide : indiquez-le avec --acheteur.")
    _check_montant(req.montant)
    if req.objet is not None and len(req.objet.strip()) < 5:
        raise InputError(
            "objet trop court : décrivez l'objet de la consultation (5 caractères au moins)."
        )
    return siret, buyer, req.date_lancement or dt.date.today()


# --------------------------------------------------------------------------- rendering


def _q(value: Any) -> str:
    """A double-quoted YAML scalar (JSON string syntax, UTF-8 kept)."""
    return json.dumps(str(value), ensure_ascii=False)


def _euros(value: float) -> str:
    """« 300 000 » (narrow no-break space between thousands, no decimals when whole)."""
    return fmt.number(value, 0 if float(value).is_integer() else 2)


class _Jinja(str):
    """Template text a helper writes on purpose (``{{ clause(…) }}``, ``{## note ##}``)."""


_DELIMITER = re.compile(r"\{(?=[{%#])")
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~^])")


def literal_text(text: str) -> str:
    """Text that assembly renders as itself, as typed by the buyer.

    Markdown's inline signs (``* _ ` [ ] < > | ~ ^ \\``) are backslash-escaped, and each
    ``{`` opening a Jinja2 delimiter (``{{``, ``{%``, ``{#``) becomes ``{{ "{" }}``:
    « Objet {{ 7*7 }} » comes out as « Objet {{ 7*7 }} », not « Objet 49 ».
    """
    return _DELIMITER.sub('{{ "{" }}', _MARKDOWN.sub(r"\\\1", text))


def _finalize_piece(value: Any) -> Any:
    """Values printed into a piece are inserted literally, except helpers' template text."""
    if isinstance(value, _Jinja) or not isinstance(value, str):
        return value
    return literal_text(value)


def _environment(piece: bool = False) -> SandboxedEnvironment:
    """Sandbox for the templates; ``piece``: printed values are escaped for assembly."""
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize_piece if piece else None,
    )
    env.filters["q"] = _q
    env.filters["euros"] = _euros
    return env


def _read_template(folder: Path, name: str) -> str:
    path = folder / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("gabarit manquant dans le clausier.", str(path)) from None


def _render(env: SandboxedEnvironment, source: str, name: str, context: dict[str, Any]) -> str:
    try:
        return env.from_string(source).render(**context)
    except InputError as exc:
        if exc.file is None:
            exc.file = name
            exc.args = (exc.render(),)
        raise
    except TemplateSyntaxError as exc:
        from tasks.clausier.templates import syntax_message

        line, message = syntax_message(exc, source, env)
        raise InputError(f"gabarit invalide : {message}", name, line) from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(f"gabarit invalide : {exc}", name, line) from None


def _call_text(clause_id: str, params: dict[str, Any]) -> str:
    def lit(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        return repr(v)

    args = "".join(f", {k}={lit(v)}" for k, v in params.items())
    return _Jinja('{{ clause("' + clause_id + '"' + args + ") }}")


def _helpers(
    clausier: Clausier, tender: Tender | None, where: str, placed: list[str]
) -> dict[str, Callable[..., Any]]:
    from tasks.check.checker import is_applicable
    from tasks.clausier.render import validate_params

    counters: dict[str, int] = {}
    top = [0]

    def applies(clause_id: str) -> bool:
        clause = clausier.get(clause_id)
        if clause is None:
            raise InputError(
                f"clause « {clause_id} » inconnue du clausier {clausier.version}.", where
            )
        if tender is None:
            return True
        return is_applicable(clause, tender, clausier)[0]

    def clause(clause_id: str, **params: Any) -> str:
        c = clausier.get(clause_id)
        if c is None:
            raise InputError(
                f"clause « {clause_id} » inconnue du clausier {clausier.version}.", where
            )
        if any(p.kind == "parametre" for p in clausier.origin(clause_id)):
            # The organisation's policy layer tightened a bound: the template's national
            # value is raised (or lowered) to the policy's bound.
            for name, value in list(params.items()):
                spec = c.parameters.get(name)
                if spec is None or isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                if spec.min is not None and value < spec.min:
                    params[name] = type(value)(spec.min)
                if spec.max is not None and value > spec.max:
                    params[name] = type(value)(spec.max)
        validate_params(c, params, where)
        placed.append(clause_id)
        return _call_text(clause_id, params)

    def article() -> str:
        top[0] += 1
        return str(top[0])

    def art(number: int | str | None = None) -> str:
        key = str(number if number is not None else top[0])
        counters[key] = counters.get(key, 0) + 1
        return f"{key}.{counters[key]}"

    def note(text: str) -> str:
        return _Jinja("{## " + " ".join(str(text).split()).replace("##}", "# #}") + " ##}")

    return {"applies": applies, "clause": clause, "article": article, "art": art, "note": note}


def render_dossier(
    req: ScaffoldRequest, clausier: Clausier | None = None
) -> tuple[dict[str, str], ScaffoldResult]:
    """The files of a new dossier (relative path → text), without writing anything.

    Raises:
        InputError: invalid identifier, SIRET, type, amount; no EU threshold in law.yaml
            for the launch date; a template error (file and line of the template).
    """
    from tasks.dossier.yamlio import validate_yaml

    lib = clausier or load_clausier()
    siret, buyer, launch = _validate(req)
    threshold = lib.law.supplies_services_threshold(launch, buyer == BuyerType.etat)
    if threshold is None:
        raise InputError(
            f"law.yaml ne donne pas les seuils européens en vigueur le {launch:%d/%m/%Y} : "
            "ajoutez la période correspondante (eu_thresholds) ou choisissez une autre date "
            "de lancement.",
            str(lib.root / "law.yaml"),
        )
    procedure = "Appel d'offres ouvert" if req.montant >= threshold else "Procédure adaptée"
    folder = templates_root(lib) / req.type
    env = _environment()
    piece_env = _environment(piece=True)
    base: dict[str, Any] = {
        "tender_id": req.tender_id,
        "type": req.type,
        "equipement": req.equipement or "postes",
        "acheteur": {"nom": " ".join(req.acheteur.split()), "siret": siret, "type": buyer.value},
        "montant": int(req.montant) if float(req.montant).is_integer() else float(req.montant),
        "date_lancement": launch.isoformat(),
        "procedure": procedure,
        "seuil_ue": threshold,
        "objet_demande": " ".join(req.objet.split()) if req.objet else None,
        "law": lib.law,
        "rgaa_version": lib.law.rgaa_version_on(launch),
    }
    yaml_src = _read_template(folder, "tender.yaml")
    yaml_name = f"templates/{req.type}/tender.yaml"
    # Pass 1: the tender's facts; pass 2: waivers and criteria that depend on applicability.
    first = _render(env, yaml_src, yaml_name, {**base, **_helpers(lib, None, yaml_name, [])})
    tender0 = validate_yaml(Tender, first, yaml_name)
    tender_text = _render(
        env, yaml_src, yaml_name, {**base, **_helpers(lib, tender0, yaml_name, [])}
    )
    tender = validate_yaml(Tender, tender_text, yaml_name)
    files = {"tender.yaml": tender_text}
    placed_by_piece: dict[str, list[str]] = {}
    for name in PIECES:
        where = f"templates/{req.type}/{name}"
        placed: list[str] = []
        ctx = {**base, "tender": tender, **_helpers(lib, tender, where, placed)}
        text = _render(piece_env, _read_template(folder, name), where, ctx)
        files[f"pieces/{name}"] = re.sub(r"\n{3,}", "\n\n", text)
        placed_by_piece[name] = placed
    # Every piece the RC or the CCAP lists as part of the DCE is created (AE, BPU, DQE…).
    for name, text in _listed_piece_files(files, templates_root(lib), piece_env, base, tender):
        files[f"pieces/{name}"] = text
    result = ScaffoldResult(
        path=Path(req.tender_id),
        files=sorted(files),
        clauses=placed_by_piece,
        waivers=[w.clause for w in tender.waivers],
        procedure=procedure,
    )
    return files, result


def _listed_piece_files(
    files: dict[str, str], root: Path, env: SandboxedEnvironment, base: dict, tender: Tender
) -> list[tuple[str, str]]:
    """(file name, text) of the pieces listed by the rendered RC/CCAP that the template
    does not provide, from ``templates/pieces/<kind>.md``."""
    from tasks.check.completeness import listed_pieces
    from tasks.dossier.reader import read_piece

    pieces = [
        read_piece(rel.removeprefix("pieces/"), text.encode("utf-8"))
        for rel, text in files.items()
        if rel.startswith("pieces/")
    ]
    have = {p.kind for p in pieces}
    out: list[tuple[str, str]] = []
    for lp in listed_pieces(pieces):
        if lp.kind in have:
            continue
        src = root / "pieces" / f"{lp.kind}.md"
        if not src.is_file():
            continue
        where = f"templates/pieces/{lp.kind}.md"
        text = _render(env, src.read_text(encoding="utf-8"), where, {**base, "tender": tender})
        out.append((f"{lp.kind}.md", re.sub(r"\n{3,}", "\n\n", text)))
        have.add(lp.kind)
    return out


def scaffold(
    req: ScaffoldRequest, dest: str | os.PathLike[str], clausier: Clausier | None = None
) -> ScaffoldResult:
    """Write a new dossier ``<dest>/<tender_id>/`` and check it.

    Args:
        req: what to create.
        dest: the folder that receives the dossier (created if missing).
        clausier: the library (default: the shipped one).

    Returns:
        The result, with the check report of the new dossier.

    Raises:
        InputError: invalid request (see :func:`render_dossier`), an existing
            destination (never overwritten), a destination that cannot be written.
    """
    from tasks.check.checker import check_dossier
    from tasks.dossier.reader import read_dossier

    lib = clausier or load_clausier()
    files, result = render_dossier(req, lib)
    parent = Path(dest)
    target = parent / req.tender_id
    if target.exists() or target.is_symlink():
        raise InputError(
            "le dossier existe déjà : cahier new n'écrase jamais un dossier ; choisissez un autre "
            "identifiant ou une autre destination (--dest).",
            str(target),
        )
    if parent.exists() and not parent.is_dir():
        raise InputError("la destination n'est pas un dossier.", str(parent))
    with new_folder(parent, req.tender_id) as tmp:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        tmp.chmod(0o755)
        report = check_dossier(read_dossier(tmp), lib)
    report.dossier = str(target)
    result.path = target
    result.report = report
    return result
