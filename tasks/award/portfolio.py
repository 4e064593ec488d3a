"""Portfolio report: how responsible are the tenders of a repository, against the targets.

Size: just over 600 lines — the indicators of one report computed together; the HTML
page is in portfolio_page.py.

For each dossier under a folder (``tenders/`` by default), from its check report,
tender.yaml, review records and archives:

* the clause families present (library clause, edited, or hand-written equivalent —
  not waived nor missing), by category: environment, social, accessibility, data,
  durability;
* an environmental award criterion and its weight (% of the total, CCP L2152-7), a
  social criterion and its weight;
* a social clause (a clause of category *social* present), RGAA requirements
  (ACC-RGAA-01 present, among the dossiers where it applies: loi n° 2005-102 art. 47);
* the DECP considerations (``considerationsEnvironnementales`` /
  ``considerationsSociales`` ≠ « Pas de considération … », as in the DECP export);
* review turnaround: days between the reviewed commit and the review record
  (``reviews/*.yaml``);
* from the latest archive (``archive/<n>/evaluation.json``): whether the environmental
  and social criteria changed the winner of a lot.

Targets side by side: those **in force at the report's date**, read from
``clause_library/law.yaml`` (``targets``: value, dates in force, kind — plan or
obligation — and source); the plans that have ended by then are listed as ended
(``Portfolio.ended_plans``), never shown as current targets. (The PNAD 2022-2025 ended on
31/12/2025; from 21/08/2026 the law, CCP L2112-2 and L2152-7, requires an environmental
consideration in every contract.)

**Results of execution** (issue 17): for every dossier with a follow-up plan
(``suivi/plan.yaml``, :mod:`tasks.award.followup`), what was promised and what was
delivered at the report's date, per commitment, aggregated per tender, per buyer and per
clause family; exported as open data (:func:`open_data`: CSV + JSON + JSON Schema, no
personal data).

Rendering: CSV (one row per dossier) here; the indicators as French table rows (Prefect
table artifacts) and the self-contained HTML page in :mod:`tasks.award.portfolio_page`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from tasks.errors import InputError
from tasks.git import git_text, toplevel

__all__ = [
    "Indicator",
    "OpenDataRow",
    "Portfolio",
    "TenderFacts",
    "build_portfolio",
    "open_data",
    "open_data_schema",
    "result_groups",
    "tender_facts",
    "to_csv",
]

CATEGORIES = {
    "environment": "environnement",
    "social": "social",
    "accessibility": "accessibilité",
    "data": "données",
    "durability": "durabilité",
}
_PRESENT = {"present", "edited", "hand-written"}


@dataclass
class TenderFacts:
    """What the portfolio knows of one dossier (weights in % of the total score)."""

    tender: str
    dossier: str
    objet: str = ""
    dateLancement: str | None = None
    montant: float | None = None
    errors: int = 0
    families: list[str] = field(default_factory=list)
    categories: dict[str, bool] = field(default_factory=dict)
    env_criterion: bool = False
    env_weight: float = 0.0
    social_criterion: bool = False
    social_weight: float = 0.0
    social_clause: bool = False
    rgaa_applicable: bool = False
    rgaa: bool = False
    env_consideration: bool = False
    social_consideration: bool = False
    reviews: int = 0
    review_days: list[float] = field(default_factory=list)
    archived: bool = False
    responsible_decisive: bool | None = None
    acheteur: str = ""
    acheteur_type: str = ""
    acheteur_siret: str = ""
    results: list[dict[str, Any]] = field(default_factory=list)
    followup_date: str | None = None
    notes: list[str] = field(default_factory=list)
    message: str | None = None


@dataclass
class Indicator:
    """One line of the report: share (%) of the dossiers concerned, target when one exists."""

    key: str
    label: str
    count: int
    total: int
    value: float | None
    unit: str = "%"
    target: float | None = None
    source: str | None = None


@dataclass
class Portfolio:
    """Every dossier's facts and the indicators computed from them."""

    root: str
    since: str | None
    generated: str
    tenders: list[TenderFacts]
    indicators: list[Indicator]
    date: str = ""
    targets: list[dict[str, Any]] = field(default_factory=list)
    ended_plans: list[dict[str, Any]] = field(default_factory=list)
    clausier_version: str = ""


def _responsible_weight(criteres: list[Any], kind: str) -> float:
    total = 0.0
    for c in criteres:
        if str(c.type) == kind:
            total += c.poids
        else:
            total += _responsible_weight(c.sousCriteres, kind)
    return total


def _commit_time(top: Path, sha: str, cache: dict[str, dt.datetime | None]) -> dt.datetime | None:
    if sha not in cache:
        out = git_text(["show", "-s", "--format=%cI", sha], top, check=False).strip()
        cache[sha] = dt.datetime.fromisoformat(out) if out else None
    return cache[sha]


def _review_days(dossier: Path, cache: dict, notes: list[str]) -> list[float]:
    """Days from the reviewed commit to each review record; a record that cannot be read
    is left out and said in ``notes`` (French), never silently skipped."""
    folder = dossier / "reviews"
    if not folder.is_dir():
        return []
    top = toplevel(dossier)
    days = []
    for f in sorted(folder.glob("*.yaml")):
        try:
            rec = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            when = rec.get("time")
            when = when if isinstance(when, dt.datetime) else dt.datetime.fromisoformat(str(when))
        except (OSError, ValueError, yaml.YAMLError, AttributeError, RecursionError):
            notes.append(
                f"reviews/{f.name} : enregistrement de revue illisible (YAML invalide ou sans "
                "date « time ») : non compté dans les revues ni leur délai."
            )
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        start = _commit_time(top, str(rec.get("commit")), cache) if top else None
        if start is not None:
            days.append(round(max((when - start).total_seconds(), 0) / 86400, 2))
    return days


def _latest_archive(dossier: Path) -> dict | None:
    folder = dossier / "archive"
    if not folder.is_dir():
        return None
    from .archive_plan import is_archive_name

    numbers = sorted(int(p.name) for p in folder.iterdir() if is_archive_name(p.name))
    for n in reversed(numbers):
        try:
            return json.loads((folder / str(n) / "evaluation.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None


def tender_facts(
    dossier: str | os.PathLike[str], clausier: Any, git_cache: dict, on: dt.date | None = None
) -> TenderFacts:
    """The facts of one dossier (working tree); unusable input → ``message`` set; the
    execution results at ``on`` (default today) when the dossier has a follow-up plan.

    Never raises for a bad dossier: the portfolio reports it and goes on.
    """
    from tasks.check.checker import check_dossier
    from tasks.dossier.reader import read_dossier

    path = Path(dossier)
    try:
        d = read_dossier(path)
        report = check_dossier(d, clausier)
    except InputError as exc:
        return TenderFacts(tender=path.name, dossier=os.fspath(path), message=exc.render())
    t = d.tender
    present = [f for f in report.families if str(f.status) in _PRESENT]
    cats = {c: False for c in CATEGORIES}
    for f in present:
        clause = clausier.get(f.clause)
        if clause is not None:
            cats[clause.category] = True
    facts = TenderFacts(
        tender=t.id,
        dossier=os.fspath(path),
        objet=t.objet,
        dateLancement=t.dateLancement.isoformat(),
        montant=t.montant,
        errors=report.errors,
        families=sorted(f.clause for f in present),
        categories=cats,
        env_weight=_responsible_weight(t.criteres, "environnement"),
        social_weight=_responsible_weight(t.criteres, "social"),
        social_clause=cats["social"],
        acheteur=t.acheteur.nom,
        acheteur_type=str(t.acheteur.type),
        acheteur_siret=t.acheteur.id,
    )
    _followup_results(facts, path, clausier, on)
    facts.env_criterion = facts.env_weight > 0
    facts.social_criterion = facts.social_weight > 0
    rgaa = next((f for f in report.families if f.clause == "ACC-RGAA-01"), None)
    facts.rgaa_applicable = bool(rgaa and rgaa.applicable)
    facts.rgaa = bool(rgaa and str(rgaa.status) in _PRESENT)
    try:
        from .decp import NO_ENV, NO_SOCIAL, considerations

        soc, env = considerations(t, report, clausier)
        facts.social_consideration = soc != [NO_SOCIAL]
        facts.env_consideration = env != [NO_ENV]
    except ImportError:  # DECP export not available: same rule from families and criteria
        facts.social_consideration = cats["social"] or facts.social_criterion
        facts.env_consideration = cats["environment"] or facts.env_criterion
    facts.review_days = _review_days(path, git_cache, facts.notes)
    facts.reviews = len(facts.review_days)
    archive = _latest_archive(path)
    if archive is not None:
        facts.archived = True
        facts.responsible_decisive = any(
            bool(lot.get("criteresResponsablesDecisifs")) for lot in archive.get("lots", [])
        )
    return facts


def _followup_results(facts: TenderFacts, path: Path, clausier: Any, on: dt.date | None) -> None:
    """Promised vs delivered of each followed commitment (:mod:`tasks.award.followup`)."""
    from .followup import PLAN_FILE, check_followup

    if not (path / PLAN_FILE).is_file():
        return
    try:
        result = check_followup(path, on)
    except InputError as exc:
        facts.notes.append(f"suivi d'exécution non pris en compte : {exc.render()}")
        return
    facts.followup_date = result.date.isoformat()
    for prog in result.progress:
        if prog.promis is None:
            continue
        clause = clausier.get(prog.clause)
        facts.results.append(
            {
                "engagement": prog.engagement,
                "clause": prog.clause,
                "famille": CATEGORIES.get(clause.category, clause.category) if clause else "",
                "indicateur": prog.indicateur,
                "libelle": prog.libelle,
                "unite": prog.unite,
                "promis": prog.promis,
                "realise": prog.realise,
                "atteint": prog.atteint,
                "date_notification": result.plan.debut.isoformat(),
            }
        )


def _pct(n: int, total: int) -> float | None:
    return round(100 * n / total, 1) if total else None


def _indicators(rows: list[TenderFacts], targets: dict[str, Any] | None = None) -> list[Indicator]:
    """Shares and figures; ``targets``: law.yaml targets in force (indicator key →
    :class:`tasks.clausier.library.Target`)."""
    ok = [r for r in rows if r.message is None]
    return _share_indicators(ok, targets or {}) + _figure_indicators(ok)


def _share_indicators(ok: list[TenderFacts], targets: dict[str, Any]) -> list[Indicator]:
    """Shares (%) of the readable dossiers with each responsible feature, against the
    target in force when law.yaml has one."""
    from tasks.clausier.library import shipped_law

    law = shipped_law()  # legal sources of the indicators (law.yaml ``references``)

    def target_of(key: str) -> tuple[float | None, str | None]:
        t = targets.get(key)
        return (t.value, t.label + " — " + t.source) if t else (None, None)

    def share(key: str, label: str, pred, target=None, source=None, among=None) -> Indicator:
        base = [r for r in ok if among(r)] if among else ok
        c = sum(1 for r in base if pred(r))
        return Indicator(key, label, c, len(base), _pct(c, len(base)), "%", target, source)

    out = [
        share(
            "considerations-environnementales",
            "Marchés avec au moins une considération environnementale",
            lambda r: r.env_consideration,
            *target_of("considerations-environnementales"),
        ),
        share(
            "considerations-sociales",
            "Marchés avec au moins une considération sociale",
            lambda r: r.social_consideration,
            *target_of("considerations-sociales"),
        ),
        share(
            "critere-environnemental",
            "Marchés avec un critère d'attribution environnemental",
            lambda r: r.env_criterion,
            source=law.basis("ccp-L2152-7-climat").ref,
        ),
        share(
            "critere-social",
            "Marchés avec un critère d'attribution social",
            lambda r: r.social_criterion,
        ),
        share("clause-sociale", "Marchés avec une clause sociale", lambda r: r.social_clause),
        share(
            "rgaa",
            "Exigences RGAA (parmi les marchés où elles s'appliquent)",
            lambda r: r.rgaa,
            source=law.basis("loi-2005-102-art-47").ref,
            among=lambda r: r.rgaa_applicable,
        ),
    ]
    for cat, label in CATEGORIES.items():
        out.append(
            share(
                f"famille-{cat}",
                f"Marchés avec une clause de la famille « {label} »",
                lambda r, cat=cat: r.categories.get(cat, False),
            )
        )
    return out


def _figure_indicators(ok: list[TenderFacts]) -> list[Indicator]:
    """Mean environmental weight, median review delay, decisive responsible criteria and
    commitments met."""
    weights = [r.env_weight for r in ok if r.env_criterion]
    days = [d for r in ok for d in r.review_days]
    archived = [r for r in ok if r.archived]
    decisive = sum(1 for r in archived if r.responsible_decisive)
    followed = [c for r in ok for c in r.results if c["atteint"] is not None]
    met = sum(1 for c in followed if c["atteint"])
    return [
        Indicator(
            "poids-environnemental",
            "Poids moyen du critère environnemental, quand il existe",
            len(weights),
            len(ok),
            round(statistics.fmean(weights), 1) if weights else None,
            "% de la note",
        ),
        Indicator(
            "delai-revue",
            "Délai médian de revue par les référents",
            len(days),
            len(days),
            round(statistics.median(days), 1) if days else None,
            "jours",
        ),
        Indicator(
            "criteres-responsables-decisifs",
            "Évaluations où les critères environnementaux et sociaux ont changé le lauréat",
            decisive,
            len(archived),
            _pct(decisive, len(archived)),
        ),
        Indicator(
            "engagements-tenus",
            "Engagements d'exécution tenus (promis / réalisé, suivi des marchés)",
            met,
            len(followed),
            _pct(met, len(followed)),
        ),
    ]


def build_portfolio(
    root: str | os.PathLike[str] = "tenders",
    *,
    since: dt.date | None = None,
    clausier_path: str | os.PathLike[str] | None = None,
    on: dt.date | None = None,
) -> Portfolio:
    """Facts and indicators for every dossier under ``root`` launched on or after ``since``,
    at the report's date ``on`` (default today): targets in force that day (law.yaml) and
    execution results measured that day.

    Dossiers that cannot be read are listed with their French message and left out of
    the shares.

    Raises:
        InputError: ``root`` is not a folder.
    """
    from tasks.check.batch import iter_dossiers
    from tasks.clausier.library import load_clausier

    if not Path(root).is_dir():
        raise InputError("dossier des consultations introuvable.", os.fspath(root))
    lib = load_clausier(clausier_path)
    day = on or dt.date.today()
    in_force = {t.key: t for t in lib.law.targets_on(day)}
    cache: dict = {}
    rows = []
    for d in iter_dossiers(root):
        facts = tender_facts(d, lib, cache, day)
        if since and facts.dateLancement and facts.dateLancement < since.isoformat():
            continue
        rows.append(facts)
    return Portfolio(
        root=os.fspath(root),
        since=since.isoformat() if since else None,
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        tenders=rows,
        indicators=_indicators(rows, in_force),
        date=day.isoformat(),
        targets=[_target_row(t) for t in in_force.values()],
        ended_plans=_ended_plans(lib.law, day),
        clausier_version=lib.version,
    )


def _target_row(t: Any) -> dict[str, Any]:
    """A law.yaml target (:class:`tasks.clausier.library.Target`) as a French row."""
    return {
        "indicateur": t.key,
        "cible": t.value,
        "nature": "obligation légale" if t.kind == "obligation" else "plan (non contraignant)",
        "du": t.from_.isoformat(),
        "au": t.until.isoformat() if t.until else None,
        "libelle": t.label,
        "source": t.source,
    }


def _ended_plans(law: Any, day: dt.date) -> list[dict[str, Any]]:
    """The national plans of law.yaml that ended before ``day`` (one row per plan, its
    targets' labels listed), so that a report says they are over rather than show them."""
    plans: dict[str, dict[str, Any]] = {}
    for t in law.targets_ended(day):
        if t.kind != "plan":
            continue
        name = t.plan or t.source
        row = plans.setdefault(name, {"plan": name, "au": t.until.isoformat(), "cibles": []})
        row["cibles"].append(t.label)
    return list(plans.values())


# --------------------------------------------------------------------------- exports


CSV_COLUMNS = [
    "tender", "dossier", "objet", "dateLancement", "montant", "errors", "env_consideration",
    "social_consideration", "env_criterion", "env_weight", "social_criterion", "social_weight",
    "social_clause", "rgaa_applicable", "rgaa", "families", "reviews", "review_days_median",
    "archived", "responsible_decisive", "message",
]  # fmt: skip


def to_csv(p: Portfolio) -> str:
    """One row per dossier (UTF-8, comma-separated, booleans as 0/1, weights in %)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for t in p.tenders:
        row = asdict(t)
        row["families"] = " ".join(t.families)
        row["review_days_median"] = statistics.median(t.review_days) if t.review_days else ""
        for k, v in list(row.items()):
            if isinstance(v, bool):
                row[k] = int(v)
        w.writerow({k: row.get(k, "") for k in CSV_COLUMNS})
    return buf.getvalue()


# --------------------------------------------------------------------------- results


_ADDITIVE = {"heures", "appareils"}


def result_groups(p: Portfolio, by: str) -> list[dict[str, Any]]:
    """Execution results grouped ``by`` ``marche``, ``acheteur`` or ``famille``.

    Each group: commitments followed, met, share met (%), and for additive units
    (hours, devices) the sums promised and delivered.
    """
    groups: dict[str, dict[str, Any]] = {}
    for t in p.tenders:
        for r in t.results:
            key = {"marche": t.tender, "acheteur": t.acheteur, "famille": r["famille"]}[by]
            g = groups.setdefault(key, {by: key, "engagements": 0, "tenus": 0, "sommes": {}})
            if r["atteint"] is None:
                continue
            g["engagements"] += 1
            g["tenus"] += int(bool(r["atteint"]))
            if r["unite"] in _ADDITIVE:
                promised, delivered = g["sommes"].get(r["unite"], (0.0, 0.0))
                g["sommes"][r["unite"]] = (promised + r["promis"], delivered + (r["realise"] or 0))
    out = []
    for g in groups.values():
        g["part_tenus"] = _pct(g["tenus"], g["engagements"])
        out.append(g)
    return sorted(out, key=lambda g: str(g[by]))


class OpenDataRow(BaseModel):
    """One line of the open-data export of execution results: one followed commitment of
    one contract, measured at one date. No personal data: no person, no e-mail, no
    titulaire (a sole trader's name or SIRET would be personal data); a private buyer's
    SIRET is left out too. Units: ``unite`` (heures, appareils, %, document)."""

    marche: str = Field(description="identifiant du marché (id de tender.yaml)")
    acheteur_type: str = Field(description="etat, collectivite, groupement, …, prive")
    acheteur_siret: str | None = Field(
        description="SIRET de l'acheteur public (absent pour un acheteur privé)"
    )
    date_notification: str = Field(description="date de notification, AAAA-MM-JJ")
    date_mesure: str = Field(description="date à laquelle les rapports ont été mesurés")
    clause: str = Field(description="identifiant de la famille de clauses (clause-families.md)")
    famille: str = Field(description="catégorie : environnement, social, accessibilité, …")
    indicateur: str = Field(description="indicateur (clause_library/followup.yaml)")
    unite: str
    promis: float = Field(description="engagement à la date de mesure (cumul ou %)")
    realise: float | None = Field(description="réalisé à la date de mesure")
    atteint: bool | None
    clausier: str = Field(description="version du clausier (et des couches) utilisée")


def _open_rows(p: Portfolio) -> list[OpenDataRow]:
    rows = []
    for t in p.tenders:
        for r in t.results:
            rows.append(
                OpenDataRow(
                    marche=t.tender,
                    acheteur_type=t.acheteur_type,
                    acheteur_siret=None if t.acheteur_type == "prive" else t.acheteur_siret,
                    date_notification=r["date_notification"],
                    date_mesure=t.followup_date or p.date,
                    clause=r["clause"],
                    famille=r["famille"],
                    indicateur=r["indicateur"],
                    unite=r["unite"],
                    promis=r["promis"],
                    realise=r["realise"],
                    atteint=r["atteint"],
                    clausier=p.clausier_version,
                )
            )
    return rows


def open_data_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12, generated from :class:`OpenDataRow`) of the JSON export."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(list[OpenDataRow]).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Résultats d'exécution des clauses responsables (cahier)"
    schema["description"] = (
        "Un engagement d'exécution suivi par ligne : promis et réalisé à la date de mesure. "
        "Aucune donnée personnelle."
    )
    return schema


def open_data(p: Portfolio) -> tuple[str, str]:
    """The open-data export: ``(CSV, JSON)`` — CSV comma-separated, UTF-8, point decimal,
    booleans ``true``/``false``; JSON a list validated by :func:`open_data_schema`."""
    rows = _open_rows(p)
    buf = io.StringIO()
    names = list(OpenDataRow.model_fields)
    w = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    w.writeheader()
    for r in rows:
        d = r.model_dump()
        w.writerow(
            {
                k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v)
                for k, v in d.items()
            }
        )
    text = json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=2) + "\n"
    return buf.getvalue(), text
