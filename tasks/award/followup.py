"""Execution follow-up: what the winner committed to, and what the contract delivered.

After the award, :func:`build_plan` turns the execution clauses of the dossier (the
parameter values written in the CCAP/CCTP: insertion hours per 100 000 € HT, share of
refurbished devices, report periodicity…) and the winner's figured commitments
(``engagements`` of its offer in ``evaluation/evaluation.yaml``) into a follow-up plan,
``suivi/plan.yaml``: one commitment per indicator with its target, its due dates (from
the notification date and the clause's periodicity) and the clause's penalty. The
vocabulary — which clause yields which indicator, how it is measured, when it falls
due — is data: ``clause_library/followup.yaml``.

Execution reports, ``suivi/rapports/*.yaml`` or ``*.csv`` (:class:`ExecutionReport`),
committed by the titulaire or the buyer, are checked against the plan by
:func:`check_followup`: a shortfall (``suivi-ecart``), a late report
(``suivi-rapport-en-retard``) or a missing one (``suivi-rapport-manquant``) is a
:class:`~tasks.dossier.model.Finding` citing the clause, its place in the dossier and
its penalty. Bad input — a negative count, hours dated outside the contract, a
certificate for another contract — raises :class:`~tasks.errors.InputError` naming the
file and line (exit code 2); nothing is written.

Amounts are in € HT, shares in %, periods in months, delays in days.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from tasks.dossier.model import Finding, LegalReference, Location, Severity, _Model
from tasks.dossier.yamlio import validate_yaml, validate_yaml_with_lines
from tasks.errors import InputError

__all__ = [
    "FOLLOWUP_DIR",
    "PLAN_FILE",
    "Commitment",
    "DueDate",
    "ExecutionReport",
    "FollowupPlan",
    "FollowupResult",
    "Progress",
    "build_plan",
    "check_followup",
    "load_vocabulary",
    "plan_yaml",
    "read_plan",
    "read_reports",
    "review_items",
    "write_plan",
]

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


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


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
        due = _add_months(start, once)
        return [DueDate(debut=start, fin=min(due, end), echeance=due)]
    months = _value(spec.periode_mois, params) or 12
    day = _value(spec.jour, params)
    if day:
        # Statements « avant le N de chaque mois » for the previous calendar month(s).
        p_start = start
        while p_start <= end and len(out) < 600:
            nxt = _add_months(dt.date(p_start.year, p_start.month, 1), months)
            p_end = min(nxt - dt.timedelta(days=1), end)
            due = nxt.replace(day=min(day, calendar.monthrange(nxt.year, nxt.month)[1]))
            out.append(DueDate(debut=p_start, fin=p_end, echeance=due))
            p_start = nxt
        return out
    k = 0
    while True:
        p_start = _add_months(start, k * months)
        if p_start > end or k > 600:
            break
        p_end = min(_add_months(start, (k + 1) * months) - dt.timedelta(days=1), end)
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
    (``dateNotification``); the contract ends ``dureeMois`` later (tender.yaml).

    Raises:
        InputError: no evaluation, no attribution, no winner (tie), unusable dossier.
    """
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    from .evaluation import EVALUATION_FILE, evaluate, read_evaluation

    root = Path(dossier_path)
    tender, ev, ev_file = read_evaluation(root)
    if ev.attribution is None:
        raise InputError(
            "pas de bloc « attribution » dans l'évaluation : le suivi d'exécution commence à la "
            "notification (dateNotification). Complétez l'attribution, puis relancez.",
            ev_file,
        )
    result = evaluate(ev, tender)
    lot = result.lots[0]
    winner_id = (ev.attribution.titulaires.get(lot.lot) or [lot.laureat])[0]
    if winner_id is None:
        raise InputError(
            "aucun lauréat (égalité non départagée) : le suivi ne sait pas quel titulaire suivre.",
            ev_file,
        )
    winner = next(o for o in ev.offres if o.id == winner_id)
    scored = next(o for o in lot.offres if o.id == winner_id)
    amount = ev.attribution.montant or scored.prix
    lib = clausier or load_clausier(dossier=root)
    dossier = read_dossier(root)
    voc = load_vocabulary(lib.root)
    values = _clause_values(dossier, lib)
    start = ev.attribution.dateNotification
    end = _add_months(start, tender.dureeMois) - dt.timedelta(days=1)
    commitments: list[Commitment] = []
    for cid, specs in voc.engagements.items():
        if cid not in values:
            continue
        params, where = values[cid]
        clause = lib.get(cid)
        for spec in specs:
            ind = voc.indicateurs[spec.indicateur]
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
                amount_p = params.get(spec.penalite.parametre)
                if isinstance(amount_p, int | float):
                    penalty = Penalty(
                        montant=float(amount_p),
                        par=spec.penalite.par,
                        parametre=spec.penalite.parametre,
                    )
            commitments.append(
                Commitment(
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
                    echeances=_due_dates(spec.echeance, params, start, end),
                )
            )
    return FollowupPlan(
        tender=tender.id,
        titulaire=Holder(nom=winner.soumissionnaire, siret=winner.siret, offre=winner.id),
        montant=amount,
        debut=start,
        fin=end,
        clausier_version=lib.version,
        engagements=commitments,
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
    import subprocess

    def git(*args: str) -> bytes:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, timeout=60, check=False
        )
        if proc.returncode != 0:
            raise InputError(
                f"lecture Git impossible ({proc.stderr.decode(errors='replace').strip()}).",
                str(root),
            )
        return proc.stdout

    listing = git("ls-tree", "-r", "-z", "--full-name", rev, "--", FOLLOWUP_DIR)
    prefix = git("rev-parse", "--show-prefix").decode().strip()
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


# --------------------------------------------------------------------------- reports


class Period(_Model):
    debut: dt.date
    fin: dt.date


class HoursLine(_Model):
    """Hours done on one date (detail of ``heures_insertion``)."""

    date: dt.date
    heures: float = Field(ge=0, allow_inf_nan=False)


class Certificate(_Model):
    """A supporting document: its indicator, reference, date and the contract it is for."""

    indicateur: str
    reference: str = Field(min_length=1)
    contrat: str = Field(min_length=1, description="identifiant du marché (id de tender.yaml)")
    date: dt.date


#: A count, hours or a share for a period: finite, never negative.
Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ExecutionReport(_Model):
    """``suivi/rapports/<name>.yaml``: one execution report for one period.

    valeurs: indicator → count or % for the period (never negative); montant_facture:
    € HT invoiced over the period (insertion hours are due per 100 000 € HT invoiced).
    """

    contrat: str = Field(min_length=1)
    periode: Period
    remis_le: dt.date
    auteur: str | None = None
    montant_facture: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    valeurs: dict[str, Quantity] = Field(default_factory=dict)
    heures: list[HoursLine] = Field(default_factory=list)
    documents: list[Certificate] = Field(default_factory=list)


class StoredReport(_Model):
    file: str
    report: ExecutionReport
    lines: dict[str, int] = Field(default_factory=dict)


_CSV_COLUMNS = ("contrat", "periode_debut", "periode_fin", "remis_le", "indicateur", "valeur")


def _csv_number(text: str, file: str, line: int) -> float:
    s = text.strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        x = float(s)
    except ValueError:
        raise InputError(f"valeur « {text} » : un nombre est attendu.", file, line) from None
    if x != x or x in (float("inf"), float("-inf")):
        raise InputError(f"valeur « {text} » : un nombre fini est attendu.", file, line)
    if x < 0:
        raise InputError(
            f"valeur {text} négative : une quantité réalisée ne peut pas être négative.",
            file,
            line,
        )
    return x


def _parse_csv(raw: bytes, file: str) -> tuple[ExecutionReport, dict[str, int]]:
    """CSV: one row per value; columns contrat, periode_debut, periode_fin, remis_le,
    indicateur, valeur, and optionally reference and date (for a document or dated
    hours). ``;`` or ``,`` separated, UTF-8 (BOM accepted), decimal comma accepted."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("fichier CSV non UTF-8 : enregistrez-le en UTF-8.", file) from None
    delim = ";" if text.split("\n", 1)[0].count(";") >= 1 else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delim)
    cols = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in _CSV_COLUMNS if c not in cols]
    if missing:
        raise InputError(
            f"colonnes manquantes : {', '.join(missing)} (attendues : {', '.join(_CSV_COLUMNS)}, "
            "puis facultativement reference et date).",
            file,
            1,
        )
    head: dict[str, str] | None = None
    data: dict[str, Any] = {"valeurs": {}, "heures": [], "documents": []}
    lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue
        meta = {k: row[k] for k in ("contrat", "periode_debut", "periode_fin", "remis_le")}
        if head is None:
            head = meta
            lines["contrat"] = line
        elif meta != head:
            raise InputError(
                "toutes les lignes d'un rapport portent le même contrat, la même période et la "
                "même date de remise : faites un fichier par période.",
                file,
                line,
            )
        ind = row["indicateur"]
        if ind == "montant_facture":
            data["montant_facture"] = _csv_number(row["valeur"], file, line)
            continue
        if row.get("reference"):
            lines[f"documents.{len(data['documents'])}"] = line
            data["documents"].append(
                {
                    "indicateur": ind,
                    "reference": row["reference"],
                    "contrat": row.get("contrat_justificatif") or row["contrat"],
                    "date": row.get("date") or row["periode_fin"],
                }
            )
            continue
        value = _csv_number(row["valeur"], file, line)
        if ind == "heures_insertion" and row.get("date"):
            lines[f"heures.{len(data['heures'])}"] = line
            data["heures"].append({"date": row["date"], "heures": value})
        lines[f"valeurs.{ind}"] = line
        data["valeurs"][ind] = data["valeurs"].get(ind, 0.0) + value
    if head is None:
        raise InputError("rapport CSV vide.", file, 1)
    data.update(
        contrat=head["contrat"],
        periode={"debut": head["periode_debut"], "fin": head["periode_fin"]},
        remis_le=head["remis_le"],
    )
    try:
        return ExecutionReport.model_validate(data), lines
    except Exception as exc:  # pydantic ValidationError: same French wording as YAML
        from pydantic import ValidationError

        from tasks.dossier.yamlio import french_error

        if not isinstance(exc, ValidationError):
            raise
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ()))
        raise InputError(
            f"champ « {field} » : {french_error(err)}.", file, lines.get("contrat")
        ) from None


def read_reports(
    dossier_path: str | os.PathLike[str],
    plan: FollowupPlan,
    rev: str | None = None,
    files: dict | None = None,
) -> list[StoredReport]:
    """Every report of ``suivi/rapports/``, validated against the plan's contract.

    Raises:
        InputError: invalid file (file, line, field); a negative count; dated hours
            outside the contract; a report or certificate for another contract; a
            period outside the contract; a file too large or too many files.
    """
    files = _suivi_files(dossier_path, rev) if files is None else files
    out: list[StoredReport] = []
    for rel in sorted(k for k in files if k != PLAN_FILE):
        raw = files[rel]
        name = _display(dossier_path, rel, rev)
        if len(raw) > MAX_REPORT_BYTES:
            raise InputError("rapport de plus de 2 Mo : découpez-le par période.", name)
        if rel.lower().endswith(".csv"):
            report, lines = _parse_csv(raw, name)
        else:
            report, lines = validate_yaml_with_lines(ExecutionReport, raw, name)
        _validate_report(report, lines, plan, name)
        out.append(StoredReport(file=name, report=report, lines=lines))
    return out


def _validate_report(
    r: ExecutionReport, lines: dict[str, int], plan: FollowupPlan, file: str
) -> None:
    def where(key: str) -> int | None:
        return lines.get(key) or lines.get(key.rsplit(".", 1)[0])

    if r.contrat != plan.tender:
        raise InputError(
            f"rapport du contrat « {r.contrat} », pas de celui-ci ({plan.tender}) : déposez-le "
            "dans le dossier de son marché.",
            file,
            where("contrat"),
        )
    if r.periode.fin < r.periode.debut:
        raise InputError("période inversée : la fin précède le début.", file, where("periode"))
    if r.periode.debut < plan.debut or r.periode.fin > plan.fin:
        raise InputError(
            f"période du {r.periode.debut:%d/%m/%Y} au {r.periode.fin:%d/%m/%Y} hors du marché "
            f"(du {plan.debut:%d/%m/%Y} au {plan.fin:%d/%m/%Y}).",
            file,
            where("periode"),
        )
    for i, h in enumerate(r.heures):
        if not (plan.debut <= h.date <= plan.fin) or not (
            r.periode.debut <= h.date <= r.periode.fin
        ):
            raise InputError(
                f"heures datées du {h.date:%d/%m/%Y}, hors du marché ({plan.debut:%d/%m/%Y} – "
                f"{plan.fin:%d/%m/%Y}) ou de la période du rapport ({r.periode.debut:%d/%m/%Y} – "
                f"{r.periode.fin:%d/%m/%Y}) : seules les heures réalisées pour ce marché, dans "
                "la période, comptent.",
                file,
                where(f"heures.{i}"),
            )
    if r.heures:
        total = sum(h.heures for h in r.heures)
        declared = r.valeurs.get("heures_insertion")
        if declared is not None and abs(declared - total) > 1e-6:
            raise InputError(
                f"heures_insertion vaut {declared:g} mais le détail daté totalise {total:g} heures.",
                file,
                where("valeurs.heures_insertion"),
            )
    for i, d in enumerate(r.documents):
        if d.contrat != plan.tender:
            raise InputError(
                f"justificatif « {d.reference} » établi pour le contrat « {d.contrat} », pas pour "
                f"celui-ci ({plan.tender}) : il ne peut pas être retenu.",
                file,
                where(f"documents.{i}"),
            )
        if not (plan.debut <= d.date <= plan.fin + dt.timedelta(days=365)):
            raise InputError(
                f"justificatif « {d.reference} » daté du {d.date:%d/%m/%Y}, hors du marché.",
                file,
                where(f"documents.{i}"),
            )
    if r.remis_le < r.periode.fin and r.remis_le < r.periode.debut:
        raise InputError("rapport remis avant le début de sa période.", file, where("remis_le"))


# --------------------------------------------------------------------------- checking


class Progress(_Model):
    """Promised vs delivered for one commitment at the date of the check.

    promis / realise: units (hours) for ``somme``; % for ``ratio`` and ``taux``;
    number of due documents and documents received for ``document``.
    """

    engagement: str
    clause: str
    indicateur: str
    libelle: str
    unite: str
    promis: float | None
    realise: float | None
    atteint: bool | None


class FollowupResult(_Model):
    """The check of one contract's follow-up at one date."""

    tender: str
    date: dt.date
    plan: FollowupPlan
    reports: list[str]
    progress: list[Progress]
    findings: list[Finding]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == Severity.error)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def _fr(x: float) -> str:
    return f"{x:,.1f}".replace(",", "\u202f").replace(".", ",").replace(",0", "")


def _covering(reports: list[StoredReport], due: DueDate) -> list[StoredReport]:
    return [
        s for s in reports if s.report.periode.debut <= due.fin and s.report.periode.fin >= due.fin
    ]


def check_followup(
    dossier_path: str | os.PathLike[str], on: dt.date | None = None, rev: str | None = None
) -> FollowupResult:
    """Check the execution reports of a dossier against its follow-up plan on ``on``
    (default: today).

    Rules: ``suivi-rapport-manquant`` (error) — a report due on or before ``on`` is
    absent; ``suivi-rapport-en-retard`` (warning) — handed in after its due date, with
    the penalty per day late when the clause has one; ``suivi-ecart`` (error) — the
    delivered quantity or share is below the commitment (cumulated to the latest
    report; insertion hours per 100 000 € HT invoiced), with the penalty per missing
    unit when the clause has one. Each finding cites the clause, its place in the
    dossier and its legal basis.

    Raises:
        InputError: no plan, invalid report (see :func:`read_reports`).
    """
    on = on or dt.date.today()
    files = _suivi_files(dossier_path, rev)
    plan = read_plan(dossier_path, rev, files)
    stored = read_reports(dossier_path, plan, rev, files)
    findings: list[Finding] = []
    progress: list[Progress] = []
    plan_file = PLAN_FILE
    for c in plan.engagements:
        due_now = [d for d in c.echeances if d.echeance <= on]
        relevant = [s for s in stored if _measures(s.report, c)]
        src = c.source.label()
        penalty = c.penalite
        for due in due_now:
            cover = [s for s in _covering(relevant, due)]
            if not cover:
                findings.append(
                    Finding(
                        rule="suivi-rapport-manquant",
                        clause=c.clause,
                        severity=Severity.error,
                        location=Location(file=plan_file, heading=c.id),
                        message=(
                            f"{c.libelle} : aucun rapport pour la période du "
                            f"{due.debut:%d/%m/%Y} au {due.fin:%d/%m/%Y}, attendu le "
                            f"{due.echeance:%d/%m/%Y} ({c.clause}, {src})."
                            + (
                                f" Pénalité prévue : {_fr(penalty.montant)} € HT par jour de "
                                "retard."
                                if penalty and penalty.par == "jour_de_retard"
                                else ""
                            )
                        ),
                        fix=(
                            "Demandez le rapport au titulaire (mise en demeure) et déposez-le "
                            f"dans {REPORTS_DIR}/."
                        ),
                        legal_basis=c.legal_basis,
                    )
                )
                continue
            first = min(cover, key=lambda s: s.report.remis_le)
            late = (first.report.remis_le - due.echeance).days
            if late > 0:
                amount = (
                    f" Pénalité encourue : {late} jour(s) × {_fr(penalty.montant)} € HT = "
                    f"{_fr(late * penalty.montant)} € HT."
                    if penalty and penalty.par == "jour_de_retard"
                    else ""
                )
                findings.append(
                    Finding(
                        rule="suivi-rapport-en-retard",
                        clause=c.clause,
                        severity=Severity.warning,
                        location=Location(
                            file=first.file,
                            line=first.lines.get("remis_le") or first.lines.get("contrat"),
                        ),
                        message=(
                            f"{c.libelle} : rapport de la période du {due.debut:%d/%m/%Y} au "
                            f"{due.fin:%d/%m/%Y} remis le {first.report.remis_le:%d/%m/%Y}, "
                            f"{late} jour(s) après l'échéance du {due.echeance:%d/%m/%Y} "
                            f"({c.clause}, {src}).{amount}"
                        ),
                        legal_basis=c.legal_basis,
                    )
                )
        prog, finding = _shortfall(c, relevant, plan, on)
        progress.append(prog)
        if finding is not None:
            findings.append(finding)
    order = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}
    findings.sort(key=lambda f: (order[f.severity], f.clause or "", f.message))
    return FollowupResult(
        tender=plan.tender,
        date=on,
        plan=plan,
        reports=[s.file for s in stored],
        progress=progress,
        findings=findings,
    )


def _measures(r: ExecutionReport, c: Commitment) -> bool:
    if c.mesure == "document":
        return any(d.indicateur == c.indicateur for d in r.documents)
    if c.mesure == "ratio":
        return c.denominateur in r.valeurs
    return c.indicateur in r.valeurs


def _shortfall(
    c: Commitment, reports: list[StoredReport], plan: FollowupPlan, on: dt.date
) -> tuple[Progress, Finding | None]:
    base = dict(
        engagement=c.id, clause=c.clause, indicateur=c.indicateur, libelle=c.libelle, unite=c.unite
    )
    if not reports:
        return Progress(**base, promis=c.cible, realise=None, atteint=None), None
    last = max(reports, key=lambda s: s.report.periode.fin)
    key = c.numerateur if c.mesure == "ratio" else c.indicateur
    loc = Location(
        file=last.file, line=last.lines.get(f"valeurs.{key}") or last.lines.get("valeurs")
    )
    promised = delivered = None
    missing_units = 0.0
    if c.mesure == "document":
        due = [d for d in c.echeances if d.echeance <= on]
        promised = float(len(due))
        delivered = float(sum(1 for d in due if _covering(reports, d)))
        met = (delivered >= promised) if due else None  # nothing due yet: not judged
        return Progress(**base, promis=promised, realise=delivered, atteint=met), None
    if c.cible is None:
        return Progress(**base, promis=None, realise=None, atteint=None), None
    if c.mesure == "somme":
        delivered = sum(s.report.valeurs.get(c.indicateur, 0.0) for s in reports)
        if c.par_100k:
            invoiced = sum(s.report.montant_facture or 0.0 for s in reports)
            if not any(s.report.montant_facture is not None for s in reports):
                span = (plan.fin - plan.debut).days or 1
                elapsed = (last.report.periode.fin - plan.debut).days + 1
                invoiced = plan.montant * min(1.0, elapsed / span)
            promised = c.cible * invoiced / 100_000
        else:
            promised = c.cible
        missing_units = max(0.0, promised - delivered)
        ok = delivered + 1e-9 >= promised
        unit = c.unite
        shown = f"{_fr(delivered)} {unit} réalisées sur {_fr(promised)} dues"
    elif c.mesure == "ratio":
        num = sum(s.report.valeurs.get(c.numerateur or "", 0.0) for s in reports)
        den = sum(s.report.valeurs.get(c.denominateur or "", 0.0) for s in reports)
        delivered = round(100 * num / den, 1) if den else 0.0
        promised = c.cible
        ok = delivered + 1e-9 >= promised
        shown = f"{_fr(delivered)} % ({_fr(num)} sur {_fr(den)}) pour un engagement de {_fr(promised)} %"
    else:  # taux
        delivered = last.report.valeurs.get(c.indicateur, 0.0)
        promised = c.cible
        ok = delivered + 1e-9 >= promised
        shown = f"{_fr(delivered)} % pour un engagement de {_fr(promised)} %"
    prog = Progress(**base, promis=round(promised, 2), realise=round(delivered, 2), atteint=ok)
    if ok:
        return prog, None
    pen = ""
    if c.penalite and c.penalite.par == "unite_manquante" and missing_units > 0:
        pen = (
            f" Pénalité prévue : {_fr(missing_units)} {c.unite} × {_fr(c.penalite.montant)} € HT "
            f"= {_fr(missing_units * c.penalite.montant)} € HT, sauf cause exonératoire."
        )
    origin = f" ; cible : {c.origine_cible}" if c.origine_cible else ""
    return prog, Finding(
        rule="suivi-ecart",
        clause=c.clause,
        severity=Severity.error,
        location=loc,
        message=(
            f"{c.libelle} au {last.report.periode.fin:%d/%m/%Y} : {shown} ({c.clause}, "
            f"{c.source.label()}{origin}).{pen}"
        ),
        fix=(
            "Demandez au titulaire un plan de rattrapage ; le référent décide de la pénalité "
            "(cahier review) au vu des justificatifs."
        ),
        legal_basis=c.legal_basis,
    )


# --------------------------------------------------------------------------- review


def review_items(dossier, clausier, on: dt.date | None = None) -> list[Any]:
    """Follow-up findings of a dossier as review items for the clause's referent
    (:class:`tasks.review.reviews.ReviewItem`, kind ``suivi-ecart``): a shortfall or a
    missing report is reviewed like a flagged clause — the referent approves the
    penalty or the exonerating cause. Digest: the finding's message (so an approval
    lapses when a new report changes the figures). None when the dossier has no plan."""
    import hashlib

    from tasks.review.reviews import ReviewItem

    root = Path(dossier.root)
    rev = dossier.commit if dossier.rev is not None else None
    files = _suivi_files(root, rev)
    if PLAN_FILE not in files:
        return []
    result = check_followup(root, on, rev)
    items: list[ReviewItem] = []
    seen: dict[str, int] = {}
    for f in result.findings:
        if f.severity != Severity.error or not f.clause:
            continue
        clause = clausier.get(f.clause)
        if clause is None:
            continue
        base = f"{f.clause}@{PLAN_FILE}"
        n = seen.get(base, 0) + 1
        seen[base] = n
        text = f"{f.rule} : {f.message}"
        items.append(
            ReviewItem(
                id=base + (f"#{n}" if n > 1 else ""),
                role=clause.review_role,
                kind="suivi-ecart",
                clause=f.clause,
                title=clause.title,
                clause_version=clause.version,
                clausier_version=clausier.version,
                location=f.location or Location(file=PLAN_FILE),
                digest=hashlib.sha256(text.encode()).hexdigest(),
                text=text,
            )
        )
    return items


def iter_followups(root: str | os.PathLike[str]) -> Iterable[Path]:
    """Dossiers under ``root`` that have a follow-up plan."""
    for plan in sorted(Path(root).glob(f"**/{PLAN_FILE}")):
        yield plan.parent.parent
