"""``cahier evaluate``, ``cahier archive``, ``cahier decp`` and ``cahier audit``.

Exit codes: 0 done (``audit --verify``: every archive intact), 1 ``audit --verify``
found an altered file, a deleted tag or a rewritten commit (the first one is named),
2 unusable input (French message with file and line), never a traceback.
Heavy imports stay inside the commands (``cahier check`` must remain fast).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cahier.cli import _fail, app, find_dossier, write_atomic
from tasks.errors import InputError


class EvalFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


def _dossier(path: Path) -> Path:
    if not path.exists():
        raise InputError("chemin introuvable.", str(path))
    return path if (path / "tender.yaml").is_file() else find_dossier(path)


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}".replace(".", ",")


def print_evaluation(result, console) -> None:
    """Ranking, sensitivity and alerts as rich tables (French)."""
    from rich.table import Table

    tops = [c for c in result.criteres if c.parent is None]
    for lot in result.lots:
        table = Table(title=f"Lot {lot.lot} — {lot.objet[:80]} — {lot.offresRecues} offre(s)")
        table.add_column("Rang", no_wrap=True)
        table.add_column("Offre", no_wrap=True)
        table.add_column("Soumissionnaire")
        table.add_column("Prix € HT", justify="right", no_wrap=True)
        for c in tops:
            table.add_column(f"{c.code} ({c.poids:g})", justify="right", no_wrap=True)
        table.add_column("Total", justify="right", no_wrap=True)
        table.add_column("Rang sans env./soc.", justify="right")
        for r in lot.offres:
            table.add_row(
                str(r.rang) if r.rang else "écartée",
                r.id
                + (" (variante)" if r.variante else "")
                + (" ⚠ OAB" if r.anormalementBasse else ""),
                r.soumissionnaire,
                f"{r.prix:,.0f}".replace(",", " "),
                *[_num(r.pointsCriteres.get(c.code)) for c in tops],
                _num(r.total),
                str(r.rangSansResponsables or ""),
            )
        console.print(table)
        console.print(
            "Critères : " + " ; ".join(f"{c.code}. {c.nom} ({c.poids:g} %)" for c in tops),
            markup=False,
        )
        if lot.laureat:
            console.print(f"Offre la mieux classée : [bold]{lot.laureat}[/bold].")
        if lot.poidsResponsables:
            if lot.laureatSansResponsables is None:
                console.print(
                    "Sans les critères environnementaux et sociaux : pas de lauréat unique."
                )
            elif lot.criteresResponsablesDecisifs:
                console.print(
                    f"Les critères environnementaux et sociaux ({lot.poidsResponsables:g} %) ont "
                    f"changé le résultat : sans eux, l'offre {lot.laureatSansResponsables} "
                    "serait classée première (pondérations restantes ramenées à 100)."
                )
            else:
                console.print(
                    f"Sans les critères environnementaux et sociaux ({lot.poidsResponsables:g} %), "
                    "la même offre serait classée première."
                )
        if lot.plusPetitChangement:
            console.print("Plus petit changement de pondération qui modifierait le lauréat :")
            console.print("  " + lot.plusPetitChangement.message, markup=False)
    for a in result.alertes:
        console.print(f"[yellow]Alerte[/yellow] : {a.message}", markup=True, highlight=False)


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text`` atomically; never overwrite an existing file.

    Raises:
        InputError: the file exists (left untouched) or its folder cannot be written.
    """
    from tasks.dossier.files import create_new

    if path.exists():
        raise InputError(
            "le fichier existe déjà et n'est jamais écrasé : renommez-le ou choisissez un autre "
            "fichier (-o modele.yaml) pour obtenir le modèle.",
            str(path),
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        create_new(path, text)  # fails if the file appeared meanwhile: no overwrite, ever
    except FileExistsError:
        raise InputError("le fichier existe déjà et n'est jamais écrasé.", str(path)) from None
    except OSError as exc:
        raise InputError(f"écriture impossible : {exc.strerror or exc}.", str(path)) from None


@app.command(
    epilog="Sans evaluation/evaluation.yaml : « cahier evaluate DOSSIER --modele » écrit un "
    "modèle commenté (critères et pondérations repris de tender.yaml, formules de prix, "
    "échelle des notes, une offre à compléter) ; un fichier existant n'est jamais écrasé."
)
def evaluate(
    tender_dir: Annotated[Path, typer.Argument(help="Dossier de la consultation.")],
    fmt: Annotated[
        EvalFormat, typer.Option("--format", "-f", help="text, json ou csv.")
    ] = EvalFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Écrire le résultat dans ce fichier.")
    ] = None,
    template: Annotated[
        bool,
        typer.Option(
            "--modele",
            help="Écrire un modèle commenté de evaluation/evaluation.yaml (ou dans -o), tiré de "
            "tender.yaml ; jamais d'écrasement.",
        ),
    ] = False,
) -> None:
    """Noter et classer les offres (evaluation/evaluation.yaml) ; sensibilité aux critères responsables.

    evaluation.yaml : tender (id), dateAnalyse, evaluateurs (nom), echelle (min, max,
    ancres), criteres par numéro du RC (« 1 », « 2.1 »… : poids du RC, formule
    pmin_sur_p / ecart_relatif / min_max pour le prix), departage, offres (id,
    soumissionnaire, siret, lot, prix en € HT ou lignes du BPU, notes : note +
    justification), attribution (données DECP). CSV : séparateur « ; », virgule
    décimale, UTF-8 avec BOM (Excel).
    """
    from tasks.award.evaluation import evaluate as run
    from tasks.award.evaluation import read_evaluation, to_csv

    if template:
        _write_template(tender_dir, output)
        return
    try:
        tender, ev, _ = read_evaluation(_dossier(tender_dir))
        result = run(ev, tender)
        if fmt == EvalFormat.text and output is None:
            from rich.console import Console

            print_evaluation(result, Console())
            return
        if fmt == EvalFormat.csv:
            text = to_csv(result)
        elif fmt == EvalFormat.json:
            text = result.model_dump_json(indent=2) + "\n"
        else:
            from io import StringIO

            from rich.console import Console

            buf = StringIO()
            print_evaluation(result, Console(file=buf, width=140, no_color=True))
            text = buf.getvalue()
        if output is None:
            sys.stdout.write(text)
        else:
            write_atomic(output, text)
    except InputError as exc:
        _fail(exc)


def _write_template(tender_dir: Path, output: Path | None) -> None:
    from tasks.award.evaluation import EVALUATION_FILE, evaluation_template
    from tasks.dossier.model import Tender
    from tasks.dossier.yamlio import validate_yaml

    try:
        d = _dossier(tender_dir)
        tender = validate_yaml(Tender, (d / "tender.yaml").read_bytes(), str(d / "tender.yaml"))
        target = output if output is not None else d / EVALUATION_FILE
        _write_new(target, evaluation_template(tender))
    except InputError as exc:
        _fail(exc)
        return
    typer.echo(
        f"Modèle d'évaluation écrit : {target}\n"
        "Remplacez chaque « À COMPLÉTER » (évaluateurs, offres, prix en € HT, notes motivées), "
        f"puis : cahier evaluate {tender_dir}"
    )


@app.command()
def archive(
    tender_dir: Annotated[
        Path, typer.Argument(help="Dossier de la consultation (dans un dépôt Git).")
    ],
    assembly: Annotated[
        Path | None,
        typer.Option(
            "--assemblage", help="Manifeste d'assemblage (défaut : out/<id>/manifest.json)."
        ),
    ] = None,
    draft: Annotated[
        bool,
        typer.Option(
            "--brouillon",
            help="Archive brouillon : acceptée même si des revues de référents manquent ou si "
            "l'assemblage est un projet (--draft) ; le manifeste l'indique (draft: true).",
        ),
    ] = False,
    clausier: Annotated[
        Path | None, typer.Option("--clausier", help="Clausier à utiliser.")
    ] = None,
) -> None:
    """Figer l'évaluation validée dans archive/<n>/ : commit + étiquette annotée, chaîne de hachage."""
    from tasks.award.archive import create_archive

    try:
        info = create_archive(
            _dossier(tender_dir), assembly_manifest=assembly, clausier_path=clausier, draft=draft
        )
    except InputError as exc:
        _fail(exc)
        return
    if info.recovered:
        typer.echo(
            f"Archive n° {info.numero} interrompue, terminée (aucune nouvelle archive) : "
            f"{info.path}"
        )
    elif info.draft:
        typer.echo(f"Archive n° {info.numero} BROUILLON (non définitive) créée : {info.path}")
    else:
        typer.echo(f"Archive n° {info.numero} créée : {info.path}")
    typer.echo(
        f"  commit {info.commit}\n  étiquette {info.tag}\n"
        f"  manifeste SHA-256 {info.manifest_sha256}"
    )


@app.command()
def decp(
    tender_dir: Annotated[Path, typer.Argument(help="Dossier de la consultation.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Fichier JSON à écrire.")
    ] = None,
    clausier: Annotated[
        Path | None, typer.Option("--clausier", help="Clausier à utiliser.")
    ] = None,
) -> None:
    """Données essentielles (DECP v2.0.3, JSON validé par le schéma officiel)."""
    from tasks.award.decp import build_decp, consistency_issues, to_json
    from tasks.award.evaluation import evaluate as run
    from tasks.award.evaluation import read_evaluation
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    try:
        d = _dossier(tender_dir)
        dossier = read_dossier(d)
        if str(dossier.tender.acheteur.type) == "prive":
            from tasks.award.decp import PRIVATE_BUYER

            raise InputError(
                PRIVATE_BUYER, str(Path(d) / dossier.tender_file), dossier.line_of("acheteur.type")
            )
        tender, ev, efile = read_evaluation(d)
        result = run(ev, tender)
        lib = load_clausier(clausier, dossier=d)
        report = check_dossier(dossier, lib)
        doc = build_decp(tender, ev, result, report, lib, efile)
        for issue in consistency_issues(doc):
            typer.echo(f"cahier : {issue.level} : {issue.path} : {issue.message}", err=True)
        text = to_json(doc)
        if output is None:
            sys.stdout.write(text)
        else:
            write_atomic(output, text)
    except InputError as exc:
        _fail(exc)


@app.command()
def audit(
    tender_dir: Annotated[
        Path, typer.Argument(help="Dossier de la consultation (dans un dépôt Git).")
    ],
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Recalculer les empreintes, la chaîne et les étiquettes."),
    ] = False,
    no_checks: Annotated[
        bool, typer.Option("--sans-controles", help="Ne pas rejouer le contrôle à chaque commit.")
    ] = False,
) -> None:
    """Chronologie du dossier (rédaction, contrôles, revues, archives) ; --verify : intégrité."""
    from rich.console import Console

    con = Console()
    try:
        d = _dossier(tender_dir)
        if verify:
            from tasks.award.audit import verify as run_verify

            numbers, problems = run_verify(d)
            if not problems:
                con.print(
                    f"{len(numbers)} archive(s) vérifiée(s) : empreintes, chaîne et étiquettes "
                    "intactes."
                    if numbers
                    else "Aucune archive pour ce dossier.",
                    markup=False,
                )
                return
            first = problems[0]
            typer.echo(f"cahier : altération détectée : {first.render()}", err=True)
            for p in problems[1:]:
                typer.echo(f"  {p.render()}", err=True)
            raise typer.Exit(1)
        from tasks.award.audit import timeline

        for e in timeline(d, run_checks=not no_checks):
            who = f" — {e.author}" if e.author else ""
            sha = f" {e.commit[:10]}" if e.commit else ""
            when = e.when.astimezone()  # one time zone for the whole timeline
            con.print(f"{when:%Y-%m-%d %H:%M} [{e.kind}]{sha}{who} : {e.summary}", markup=False)
            for line in e.details:
                con.print(f"    {line}", markup=False)
        _print_flow_runs(con, d)
    except InputError as exc:
        _fail(exc)


def _print_flow_runs(con, dossier: Path) -> None:
    """The tender's Prefect flow runs, when a server is configured (PREFECT_API_URL)."""
    import os

    if not os.environ.get("PREFECT_API_URL"):
        con.print("Exécutions Prefect : aucun serveur configuré (PREFECT_API_URL).", markup=False)
        return
    from flows.runs import list_runs
    from tasks.dossier.reader import read_dossier

    tender_id = read_dossier(dossier).tender.id
    try:
        runs = list_runs(tender_id, Path(dossier).name)
    except Exception as exc:  # unreachable server: the Git timeline stands on its own
        con.print(f"Exécutions Prefect : serveur injoignable ({type(exc).__name__}).", markup=False)
        return
    con.print(f"Exécutions Prefect ({len(runs)}) :", markup=False)
    for r in runs:
        when = f"{r['start']:%Y-%m-%d %H:%M}" if r["start"] else "—"
        con.print(f"  {when} [{r['flow']}] {r['name']} : {r['state']} ({r['id']})", markup=False)
