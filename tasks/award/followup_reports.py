"""Execution follow-up, the reports: ``suivi/rapports/*.yaml`` or ``*.csv`` read and
validated against the plan's contract (:class:`ExecutionReport`). Bad input raises
:class:`~tasks.errors.InputError` naming the file and line. Public API:
:mod:`tasks.award.followup`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
from typing import Annotated, Any

from pydantic import Field

from tasks import fmt
from tasks.dossier.model import _Model
from tasks.dossier.yamlio import validate_yaml_with_lines
from tasks.errors import InputError

from .followup_plan import (
    MAX_REPORT_BYTES,
    PLAN_FILE,
    FollowupPlan,
    Vocabulary,
    _display,
    _suivi_files,
    load_vocabulary,
)


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

        from tasks.dossier.yamlio import field_path, french_error

        if not isinstance(exc, ValidationError):
            raise
        err = exc.errors()[0]
        field = field_path(err.get("loc", ()))
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
            period outside the contract; a file too large or too many files; an unknown
            indicator; a ratio's numerator above its denominator; two reports whose
            periods overlap.
    """
    files = _suivi_files(dossier_path, rev) if files is None else files
    vocab: Vocabulary | None = None  # read once, when there is a report
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
        vocab = vocab or load_vocabulary()
        _known_indicators(report, lines, name, vocab)
        out.append(StoredReport(file=name, report=report, lines=lines))
    _no_overlap(out)
    return out


def _known_indicators(
    r: ExecutionReport, lines: dict[str, int], file: str, vocab: Vocabulary
) -> None:
    """Every indicator of ``valeurs`` is one of ``clause_library/followup.yaml``, and a
    ratio's numerator never exceeds its denominator in one report (« 30 appareils
    reconditionnés sur 0 livrés »): a misspelt or contradictory figure is refused, never
    dropped nor counted.

    Raises:
        InputError: unknown indicator, or numerator above denominator (file and line).
    """
    for key in r.valeurs:
        if key not in vocab.indicateurs:
            known = ", ".join(sorted(vocab.indicateurs))
            raise InputError(
                f"indicateur « {key} » inconnu : il ne serait compté nulle part ; indicateurs "
                f"suivis : {known}.",
                file,
                lines.get(f"valeurs.{key}") or lines.get("valeurs"),
            )
    for specs in vocab.engagements.values():
        for spec in specs:
            num, den = spec.numerateur, spec.denominateur
            if num in r.valeurs and den in r.valeurs and r.valeurs[num] > r.valeurs[den]:
                raise InputError(
                    f"{num} ({fmt.number(r.valeurs[num])}) dépasse {den} "
                    f"({fmt.number(r.valeurs[den])}) pour la même période : une part ne peut "
                    "pas dépasser 100 % ; corrigez les valeurs du rapport.",
                    file,
                    lines.get(f"valeurs.{num}") or lines.get("valeurs"),
                )


def _no_overlap(reports: list[StoredReport]) -> None:
    """Two reports never cover the same days: their figures would be added twice.

    Raises:
        InputError: periods that overlap (the later file, naming the other).
    """
    day = fmt.date_short
    ordered = sorted(reports, key=lambda s: (s.report.periode.debut, s.file))
    for prev, cur in itertools.pairwise(ordered):
        if cur.report.periode.debut <= prev.report.periode.fin:
            raise InputError(
                f"période du {day(cur.report.periode.debut)} au {day(cur.report.periode.fin)} "
                f"qui recouvre celle de {prev.file} ({day(prev.report.periode.debut)} – "
                f"{day(prev.report.periode.fin)}) : ses valeurs seraient comptées deux fois ; "
                "fusionnez les deux rapports en un seul par période, ou corrigez les dates.",
                cur.file,
                cur.lines.get("periode") or cur.lines.get("periode.debut"),
            )


def _validate_report(
    r: ExecutionReport, lines: dict[str, int], plan: FollowupPlan, file: str
) -> None:
    """Raise InputError (file, line of the field) when the report is for another contract,
    its period or dated hours fall outside the contract, its hours do not add up, or a
    certificate is for another contract or outside it."""

    def refuse(message: str, key: str) -> None:
        raise InputError(message, file, lines.get(key) or lines.get(key.rsplit(".", 1)[0]))

    day = fmt.date_short
    contract = f"du {day(plan.debut)} au {day(plan.fin)}"
    if r.contrat != plan.tender:
        refuse(
            f"rapport du contrat « {r.contrat} », pas de celui-ci ({plan.tender}) : déposez-le "
            "dans le dossier de son marché.",
            "contrat",
        )
    if r.periode.fin < r.periode.debut:
        refuse("période inversée : la fin précède le début.", "periode")
    if r.periode.debut < plan.debut or r.periode.fin > plan.fin:
        refuse(
            f"période du {day(r.periode.debut)} au {day(r.periode.fin)} hors du marché "
            f"({contract}).",
            "periode",
        )
    for i, h in enumerate(r.heures):
        in_period = r.periode.debut <= h.date <= r.periode.fin
        if not (plan.debut <= h.date <= plan.fin) or not in_period:
            refuse(
                f"heures datées du {day(h.date)}, hors du marché ({day(plan.debut)} – "
                f"{day(plan.fin)}) ou de la période du rapport ({day(r.periode.debut)} – "
                f"{day(r.periode.fin)}) : seules les heures réalisées pour ce marché, dans "
                "la période, comptent.",
                f"heures.{i}",
            )
    declared = r.valeurs.get("heures_insertion")
    total = sum(h.heures for h in r.heures)
    if r.heures and declared is not None and abs(declared - total) > 1e-6:
        refuse(
            f"heures_insertion vaut {fmt.number(declared)} mais le détail daté totalise "
            f"{fmt.number(total)} heures.",
            "valeurs.heures_insertion",
        )
    for i, d in enumerate(r.documents):
        if d.contrat != plan.tender:
            refuse(
                f"justificatif « {d.reference} » établi pour le contrat « {d.contrat} », pas pour "
                f"celui-ci ({plan.tender}) : il ne peut pas être retenu.",
                f"documents.{i}",
            )
        if not (plan.debut <= d.date <= plan.fin + dt.timedelta(days=365)):
            refuse(f"justificatif « {d.reference} » daté du {day(d.date)}, hors du marché.",
                   f"documents.{i}")  # fmt: skip
    if r.remis_le < r.periode.fin and r.remis_le < r.periode.debut:
        refuse("rapport remis avant le début de sa période.", "remis_le")
