"""Execution follow-up, the plan: the vocabulary (``clause_library/followup.yaml``), the
commitments of the winner with their targets and due dates, and ``suivi/`` files.

:func:`build_plan` reads the execution clauses of the awarded dossier (parameter values
written in the CCAP/CCTP) and the winner's figured commitments, and gives one
:class:`Commitment` per indicator with its target, due dates (calendar months from the
notification, :func:`tasks.fmt.add_months`) and penalty. Public API:
:mod:`tasks.award.followup`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from tasks.dossier.model import LegalReference, Location, _Model
from tasks.dossier.yamlio import validate_yaml, validate_yaml_with_lines
from tasks.errors import InputError
from tasks.fmt import add_months

FOLLOWUP_DIR = "suivi"
PLAN_FILE = "suivi/plan.yaml"
REPORTS_DIR = "suivi/rapports"
VOCABULARY_FILE = "followup.yaml"
MAX_REPORT_BYTES = 2_000_000
MAX_REPORTS = 500

# --------------------------------------------------------------------------- vocabulary


class _ParamRef(_Model):
    parametre: str


class TargetSpec(_Model):
    parametre: str | None = None
    par_100k: bool = False
    offre: str | None = None


class DueSpec(_Model):
    periode_mois: int | _ParamRef | None = None
    mois_apres: int | _ParamRef | None = None
    delai_jours: int = Field(default=0, ge=0, le=365)
    jour: int | _ParamRef | None = None


class PenaltySpec(_Model):
    parametre: str
    par: Literal["unite_manquante", "jour_de_retard"]


class CommitmentSpec(_Model):
    indicateur: str
    mesure: Literal["somme", "ratio", "taux", "document"]
    numerateur: str | None = None
    denominateur: str | None = None
    cible: TargetSpec | None = None
    echeance: DueSpec
    penalite: PenaltySpec | None = None


class IndicatorSpec(_Model):
    libelle: str
    unite: str


class Vocabulary(_Model):
    """``clause_library/followup.yaml``."""

    indicateurs: dict[str, IndicatorSpec]
    engagements: dict[str, list[CommitmentSpec]]


def load_vocabulary(library_root: str | os.PathLike[str] | None = None) -> Vocabulary:
    """The follow-up vocabulary of the clausier (``followup.yaml``).

    Raises:
        InputError: missing or invalid file; an indicator used but not declared.
    """
    from tasks.clausier.library import default_library_path

    path = Path(library_root or default_library_path()) / VOCABULARY_FILE
    try:
        raw = path.read_bytes()
    except OSError:
        raise InputError("vocabulaire du suivi introuvable.", str(path)) from None
    voc, lines = validate_yaml_with_lines(Vocabulary, raw, str(path))
    for cid, specs in voc.engagements.items():
        for i, spec in enumerate(specs):
            for name in (spec.indicateur, spec.numerateur, spec.denominateur):
                if name and name not in voc.indicateurs:
                    raise InputError(
                        f"indicateur « {name} » non déclaré dans « indicateurs ».",
                        str(path),
                        lines.get(f"engagements.{cid}.{i}"),
                    )
    return voc


# --------------------------------------------------------------------------- plan


class DueDate(_Model):
    """One reporting period and the date its report is due."""

    debut: dt.date
    fin: dt.date
    echeance: dt.date


class Penalty(_Model):
    """The clause's penalty: amount (€ HT) per missing unit or per day late."""

    montant: float = Field(ge=0)
    par: Literal["unite_manquante", "jour_de_retard"]
    parametre: str


class Commitment(_Model):
    """One followed commitment: indicator, target, due dates and penalty.

    cible: % for ``ratio`` and ``taux``; units per 100 000 € HT invoiced when
    ``par_100k``; absent for ``document``.
    """

    id: str
    clause: str
    titre: str
    indicateur: str
    libelle: str
    unite: str
    mesure: Literal["somme", "ratio", "taux", "document"]
    numerateur: str | None = None
    denominateur: str | None = None
    cible: float | None = None
    par_100k: bool = False
    origine_cible: str | None = Field(default=None, description="d'où vient la cible")
    source: Location
    penalite: Penalty | None = None
    legal_basis: list[LegalReference] = Field(default_factory=list)
    echeances: list[DueDate]


class Holder(_Model):
    nom: str
    siret: str
    offre: str


class FollowupPlan(_Model):
    """``suivi/plan.yaml``: the winner's commitments, from the award to the contract's end."""

    tender: str
    titulaire: Holder
    montant: float = Field(gt=0, description="montant attribué, € HT")
    debut: dt.date = Field(description="date de notification")
    fin: dt.date = Field(description="fin du marché (notification + durée)")
    clausier_version: str
    engagements: list[Commitment]


def _value(spec: int | _ParamRef | None, params: dict[str, Any]) -> int | None:
    if spec is None:
        return None
    if isinstance(spec, _ParamRef):
        v = params.get(spec.parametre)
        return int(v) if isinstance(v, int | float) else None
    return int(spec)


def _due_dates(
    spec: DueSpec, params: dict[str, Any], start: dt.date, end: dt.date
) -> list[DueDate]:
    out: list[DueDate] = []
    once = _value(spec.mois_apres, params)
    if once is not None:
        due = add_months(start, once)
        return [DueDate(debut=start, fin=min(due, end), echeance=due)]
    months = _value(spec.periode_mois, params) or 12
    day = _value(spec.jour, params)
    if day:
        # Statements « avant le N de chaque mois » for the previous calendar month(s).
        p_start = start
        while p_start <= end and len(out) < 600:
            nxt = add_months(dt.date(p_start.year, p_start.month, 1), months)
            p_end = min(nxt - dt.timedelta(days=1), end)
            due = nxt.replace(day=min(day, calendar.monthrange(nxt.year, nxt.month)[1]))
            out.append(DueDate(debut=p_start, fin=p_end, echeance=due))
            p_start = nxt
        return out
    k = 0
    while True:
        p_start = add_months(start, k * months)
        if p_start > end or k > 600:
            break
        p_end = min(add_months(start, (k + 1) * months) - dt.timedelta(days=1), end)
        due = p_end + dt.timedelta(days=spec.delai_jours)
        out.append(DueDate(debut=p_start, fin=p_end, echeance=due))
        k += 1
    return out


def _clause_values(dossier, clausier) -> dict[str, tuple[dict[str, Any], Location]]:
    """Parameter values of every library clause written in the dossier, and where."""
    from tasks.clausier.render import (
        CLAUSE_CALL_RE,
        FENCE_CLOSE_RE,
        FENCE_OPEN_RE,
        fence_attrs,
        match_clause,
        parse_call_args,
    )

    out: dict[str, tuple[dict[str, Any], Location]] = {}
    for piece in dossier.pieces:
        src = piece.raw_source
        if not src:
            continue
        for m in CLAUSE_CALL_RE.finditer(src):
            line = src.count("\n", 0, m.start()) + 1
            cid, params = parse_call_args(m["args"], piece.path, line)
            clause = clausier.get(cid)
            if clause is None or cid in out:
                continue
            values = {n: p.default for n, p in clause.parameters.items()} | params
            out[cid] = (
                values,
                Location(file=piece.path, line=line, heading=piece.heading_at_src(line)),
            )
        lines = src.split("\n")
        for i, text in enumerate(lines):
            m = FENCE_OPEN_RE.match(text)
            if not m:
                continue
            cid = fence_attrs(m["attrs"]).get("id", "")
            clause = clausier.get(cid)
            if clause is None or cid in out:
                continue
            j = i + 1
            while j < len(lines) and not FENCE_CLOSE_RE.match(lines[j]):
                j += 1
            values = match_clause(clause, "\n".join(lines[i + 1 : j])) or {}
            defaults = {n: p.default for n, p in clause.parameters.items()}
            out[cid] = (
                defaults | values,
                Location(file=piece.path, line=i + 1, heading=piece.heading_at_src(i + 1)),
            )
    return out


def build_plan(dossier_path: str | os.PathLike[str], clausier=None) -> FollowupPlan:
    """The follow-up plan of an awarded dossier (nothing is written).

    Needs ``evaluation/evaluation.yaml`` with a winner and an ``attribution`` block
    (``dateNotification``); the contract ends ``dureeMois`` calendar months later
    (tender.yaml).

    Raises:
        InputError: no evaluation, no attribution, no winner (tie), unusable dossier.
    """
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    from .evaluation import read_evaluation

    root = Path(dossier_path)
    tender, ev, ev_file = read_evaluation(root)
    winner, amount = _winner(tender, ev, ev_file)
    lib = clausier or load_clausier(dossier=root)
    voc = load_vocabulary(lib.root)
    values = _clause_values(read_dossier(root), lib)
    start = ev.attribution.dateNotification
    end = add_months(start, tender.dureeMois) - dt.timedelta(days=1)
    commitments = [
        _commitment(cid, spec, values[cid], lib.get(cid), voc, winner, (start, end))
        for cid, specs in voc.engagements.items()
        if cid in values
        for spec in specs
    ]
    return FollowupPlan(
        tender=tender.id,
        titulaire=Holder(nom=winner.soumissionnaire, siret=winner.siret, offre=winner.id),
        montant=amount,
        debut=start,
        fin=end,
        clausier_version=lib.version,
        engagements=commitments,
    )


def _winner(tender: Any, ev: Any, ev_file: str) -> tuple[Any, float]:
    """The holder's offer and the contract's amount (€ HT: the attribution's, else the
    offer's price).

    Raises:
        InputError: no attribution block, or no winner (tie not settled).
    """
    from .evaluation import evaluate

    if ev.attribution is None:
        raise InputError(
            "pas de bloc « attribution » dans l'évaluation : le suivi d'exécution commence à la "
            "notification (dateNotification). Complétez l'attribution, puis relancez.",
            ev_file,
        )
    lot = evaluate(ev, tender).lots[0]
    winner_id = (ev.attribution.titulaires.get(lot.lot) or [lot.laureat])[0]
    if winner_id is None:
        raise InputError(
            f"aucun lauréat ({lot.why_no_winner()}) : le suivi ne sait pas quel titulaire suivre.",
            ev_file,
        )
    scored = next(o for o in lot.offres if o.id == winner_id)
    return next(o for o in ev.offres if o.id == winner_id), ev.attribution.montant or scored.prix


def _commitment(
    cid: str,
    spec: CommitmentSpec,
    written: tuple[dict[str, Any], Location],
    clause: Any,
    voc: Vocabulary,
    winner: Any,
    span: tuple[dt.date, dt.date],
) -> Commitment:
    """One commitment: the clause's indicator with its target (the higher of the value
    written in the dossier and the winner's offer), due dates and penalty."""
    from .evaluation import EVALUATION_FILE

    params, where = written
    target = origin = None
    if spec.cible is not None:
        if spec.cible.parametre is not None:
            v = params.get(spec.cible.parametre)
            if isinstance(v, int | float):
                target = float(v)
                origin = f"{cid} ({spec.cible.parametre}), {where.label()}"
        offered = winner.engagements.get(spec.cible.offre or "")
        if offered is not None and (target is None or offered > target):
            target = float(offered)
            origin = f"offre {winner.id} ({winner.soumissionnaire}), {EVALUATION_FILE}"
    penalty = None
    if spec.penalite is not None:
        amount = params.get(spec.penalite.parametre)
        if isinstance(amount, int | float):
            penalty = Penalty(
                montant=float(amount), par=spec.penalite.par, parametre=spec.penalite.parametre
            )
    ind = voc.indicateurs[spec.indicateur]
    return Commitment(
        id=f"{cid}/{spec.indicateur}",
        clause=cid,
        titre=clause.title if clause else cid,
        indicateur=spec.indicateur,
        libelle=ind.libelle,
        unite=ind.unite,
        mesure=spec.mesure,
        numerateur=spec.numerateur,
        denominateur=spec.denominateur,
        cible=target,
        par_100k=bool(spec.cible and spec.cible.par_100k),
        origine_cible=origin,
        source=where,
        penalite=penalty,
        legal_basis=clause.legal_basis if clause else [],
        echeances=_due_dates(spec.echeance, params, *span),
    )


def plan_yaml(plan: FollowupPlan) -> str:
    """The plan as commented YAML (French header, ISO dates)."""
    import yaml

    head = (
        f"# Plan de suivi d'exécution du marché {plan.tender} — écrit par « cahier followup plan ».\n"
        "# Engagements du titulaire tirés des clauses d'exécution du dossier et de son offre\n"
        "# (clause_library/followup.yaml) ; échéances comptées depuis la notification.\n"
        "# Les rapports d'exécution se déposent dans suivi/rapports/ (YAML ou CSV).\n"
    )
    data = plan.model_dump(mode="json", exclude_none=True)
    return head + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, width=100, default_flow_style=None
    )


def write_plan(
    dossier_path: str | os.PathLike[str], plan: FollowupPlan, force: bool = False
) -> Path:
    """Write ``suivi/plan.yaml`` atomically; an existing plan is kept unless ``force``.

    Raises:
        InputError: the plan exists (and ``force`` is false).
    """
    from tasks.dossier.files import write_atomic

    target = Path(dossier_path) / PLAN_FILE
    if target.exists() and not force:
        raise InputError(
            "le plan de suivi existe déjà : il n'est pas réécrit (les rapports s'y réfèrent). "
            "Relancez avec --remplacer pour le recalculer.",
            str(target),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, plan_yaml(plan))
    return target


def _suivi_files(dossier_path: str | os.PathLike[str], rev: str | None) -> dict[str, bytes]:
    """``suivi/`` of the dossier: relative path → bytes, from disk or from Git ``rev``
    (object database, no checkout). Bounded: 2 Mo per file, :data:`MAX_REPORTS` files."""
    root = Path(dossier_path)
    out: dict[str, bytes] = {}
    if rev is None:
        folder = root / FOLLOWUP_DIR
        if not folder.is_dir():
            return out
        real = root.resolve()
        files = [folder / "plan.yaml", *sorted((folder / "rapports").glob("*"))]
        for f in files:
            if not f.is_file() or f.suffix.lower() not in (".yaml", ".yml", ".csv"):
                continue
            if not f.resolve().is_relative_to(real):
                raise InputError("lien symbolique hors du dossier refusé.", str(f))
            if f.stat().st_size > MAX_REPORT_BYTES:
                raise InputError("fichier de plus de 2 Mo : découpez-le par période.", str(f))
            out[f.relative_to(root).as_posix()] = f.read_bytes()
            if len(out) > MAX_REPORTS:
                raise InputError(f"plus de {MAX_REPORTS} rapports : regroupez-les.", str(folder))
        return out
    from tasks.git import GitError, GitTimeout, Repo

    repo = Repo.discover(root, why="le suivi est lu à une révision (--rev)")
    prefix = repo.rel(root)
    prefix = f"{prefix}/" if prefix else ""

    def git(*args: str) -> bytes:
        try:
            return repo.run(*args)
        except GitTimeout:
            raise
        except GitError as exc:
            raise InputError(f"lecture Git impossible ({exc.detail}).", str(root)) from None

    listing = git("ls-tree", "-r", "-z", "--full-name", rev, "--", prefix + FOLLOWUP_DIR)
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        name = path.decode()
        rel = name[len(prefix) :] if prefix and name.startswith(prefix) else name
        if rel != PLAN_FILE and not (
            rel.startswith(REPORTS_DIR + "/") and rel.lower().endswith((".yaml", ".yml", ".csv"))
        ):
            continue
        if len(out) >= MAX_REPORTS:
            raise InputError(f"plus de {MAX_REPORTS} rapports : regroupez-les.", str(root))
        out[rel] = git("cat-file", "blob", meta.split()[2].decode())[: MAX_REPORT_BYTES + 1]
    return out


def _display(dossier_path: str | os.PathLike[str], rel: str, rev: str | None) -> str:
    path = os.path.join(os.fspath(dossier_path), rel)
    return f"{rev}:{path}" if rev else path


def read_plan(
    dossier_path: str | os.PathLike[str], rev: str | None = None, files: dict | None = None
) -> FollowupPlan:
    """Read ``suivi/plan.yaml`` (working tree, or Git revision ``rev``).

    Raises:
        InputError: missing (with the command that writes it) or invalid plan.
    """
    files = _suivi_files(dossier_path, rev) if files is None else files
    name = _display(dossier_path, PLAN_FILE, rev)
    if PLAN_FILE not in files:
        raise InputError(
            f"pas de plan de suivi : « cahier followup plan {dossier_path} » l'établit à partir "
            "de l'évaluation et des clauses d'exécution.",
            name,
        )
    return validate_yaml(FollowupPlan, files[PLAN_FILE], name)
