"""``cahier evaluate``: score and rank the bids (evaluation/evaluation.yaml)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, dossier_of, fail, write_output
from cahier.options import Dossier, OutputOpt
from tasks import fmt
from tasks.errors import CahierError, InputError, os_reason

commands = CommandSet()


class EvalFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


def _num(x: float | None) -> str:
    return "" if x is None else fmt.number(x, 2)


def print_evaluation(result, console) -> None:
    """Ranking, sensitivity and alerts as rich tables (French)."""
    from rich.table import Table

    for lot in result.lots:
        tops = [c for c in result.criteria_of(lot) if c.parent is None]
        table = Table(title=f"Lot {lot.lot} — {lot.objet[:80]} — {lot.offresRecues} offre(s)")
        table.add_column("Rang", no_wrap=True)
        table.add_column("Offre", no_wrap=True)
        table.add_column("Soumissionnaire")
        table.add_column("Prix € HT", justify="right", no_wrap=True)
        for c in tops:
            table.add_column(f"{c.code} ({fmt.number(c.poids)})", justify="right", no_wrap=True)
        table.add_column("Total", justify="right", no_wrap=True)
        table.add_column("Rang sans env./soc.", justify="right")
        for r in lot.offres:
            table.add_row(
                str(r.rang) if r.rang else "écartée",
                r.id
                + (" (variante)" if r.variante else "")
                + (" ⚠ OAB" if r.anormalementBasse else ""),
                r.soumissionnaire,
                fmt.number(r.prix, 0),
                *[_num(r.pointsCriteres.get(c.code)) for c in tops],
                _num(r.total),
                str(r.rangSansResponsables or ""),
            )
        console.print(table)
        console.print(
            "Critères : " + " ; ".join(f"{c.code}. {c.nom} ({fmt.percent(c.poids)})" for c in tops),
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
                    f"Les critères environnementaux et sociaux ({fmt.percent(lot.poidsResponsables)}) ont "
                    f"changé le résultat : sans eux, l'offre {lot.laureatSansResponsables} "
                    "serait classée première (pondérations restantes ramenées à 100)."
                )
            else:
                console.print(
                    f"Sans les critères environnementaux et sociaux ({fmt.percent(lot.poidsResponsables)}), "
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
        raise InputError(f"écriture impossible : {os_reason(exc)}.", str(path)) from None


@commands.add(
    epilog="Sans evaluation/evaluation.yaml : « cahier evaluate DOSSIER --modele » écrit un "
    "modèle commenté (critères et pondérations repris de tender.yaml, formules de prix, "
    "échelle des notes, une offre à compléter) ; un fichier existant n'est jamais écrasé."
)
def evaluate(
    tender_dir: Dossier,
    fmt: Annotated[
        EvalFormat, typer.Option("--format", "-f", help="text, json ou csv.")
    ] = EvalFormat.text,
    output: OutputOpt = None,
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
    pmin_sur_p / ecart_relatif / min_max pour le prix), departage, lots (méthodes et
    departage des lots qui ont leurs propres critères dans tender.yaml), offres (id,
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
        tender, ev, _ = read_evaluation(dossier_of(tender_dir))
        result = run(ev, tender)
        if fmt == EvalFormat.text and output is None:
            from rich.console import Console

            print_evaluation(result, Console())
            return
        if fmt == EvalFormat.csv:
            text = to_csv(result)
        elif fmt == EvalFormat.json:
            from tasks.dossier.model import json_text

            text = json_text(result)
        else:
            from io import StringIO

            from rich.console import Console

            buf = StringIO()
            print_evaluation(result, Console(file=buf, width=140, no_color=True))
            text = buf.getvalue()
        write_output(text, output)
    except CahierError as exc:
        fail(exc)


def _write_template(tender_dir: Path, output: Path | None) -> None:
    from tasks.award.evaluation import EVALUATION_FILE, evaluation_template
    from tasks.dossier.model import Tender
    from tasks.dossier.yamlio import validate_yaml

    try:
        d = dossier_of(tender_dir)
        tender = validate_yaml(Tender, (d / "tender.yaml").read_bytes(), str(d / "tender.yaml"))
        target = output if output is not None else d / EVALUATION_FILE
        _write_new(target, evaluation_template(tender))
    except CahierError as exc:
        fail(exc)
        return
    typer.echo(
        f"Modèle d'évaluation écrit : {target}\n"
        "Remplacez chaque « À COMPLÉTER » (évaluateurs, offres, prix en € HT, notes motivées), "
        f"puis : cahier evaluate {tender_dir}"
    )
