"""``cahier clauses list|show|diff|check``: read and lint the clausier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail
from cahier.options import ClausierOpt
from tasks import fmt
from tasks.errors import CahierError, InputError

commands = CommandSet("clauses", help="Consulter le clausier.")

_DOSSIER_HELP = (
    "Dossier de consultation dont les paramètres (cahier.yaml) ajoutent des couches de "
    "politique à celles de l'organisation."
)
_NATIONAL_HELP = "Clausier national seul, sans les couches de politique locale."
_DossierOpt = Annotated[Path | None, typer.Option("--dossier", help=_DOSSIER_HELP)]
_NationalOpt = Annotated[bool, typer.Option("--national", help=_NATIONAL_HELP)]


def _require_dossier(dossier: Path | None) -> None:
    """Refuse a ``--dossier`` that is not a folder: its layers would be silently left out.

    Raises:
        InputError: not a folder (French, naming the path).
    """
    if dossier is not None and not dossier.is_dir():
        raise InputError(
            "--dossier : dossier de consultation introuvable (ou ce n'est pas un dossier) ; "
            "ses couches de politique (cahier.yaml) ne peuvent pas être lues ; donnez le "
            "dossier qui contient tender.yaml.",
            str(dossier),
        )


def _effective(clausier: Path | None, dossier: Path | None, national: bool):
    from tasks.clausier.library import load_clausier

    if national:
        return load_clausier(clausier, layers=[])
    _require_dossier(dossier)
    return load_clausier(clausier, dossier=dossier)


def _effective_or_exit(clausier: Path | None, dossier: Path | None, national: bool):
    """:func:`_effective`, exiting with its French message (code 2) on bad input."""
    try:
        return _effective(clausier, dossier, national)
    except CahierError as exc:
        fail(exc)


def _origin(lib, clause_id: str) -> str:
    """« national » or the layers' changes (« politique d'achat de la Région, art. 4 :
    heures_par_100k borné à [35–1000] »)."""
    provs = lib.origin(clause_id)
    if not provs:
        return "national"
    added = any(p.kind == "ajout" for p in provs)
    parts = [] if added else ["national"]
    for p in provs:
        parts.append(f"{p.label()} ({p.layer}) : {p.detail}")
    return " ; ".join(parts)


@commands.add("list")
def clauses_list(
    clausier: ClausierOpt = None,
    dossier: _DossierOpt = None,
    national: _NationalOpt = False,
) -> None:
    """Lister les clauses du clausier effectif (national + couches de politique) et leur origine."""
    from rich.console import Console
    from rich.table import Table

    lib = _effective_or_exit(clausier, dossier, national)
    table = Table(title=f"Clausier {lib.version} — {len(lib.clauses)} clauses")
    for col in ("Clause", "Version", "Intitulé", "Catégorie", "Niveau", "Pièce", "Référent"):
        table.add_column(col)
    if lib.layers:
        table.add_column("Origine")
    for c in lib.clauses.values():
        row = [
            c.id,
            str(c.version),
            c.title,
            c.category,
            "obligatoire" if c.level == "mandatory" else "recommandée",
            c.piece.upper(),
            c.review_role,
        ]
        if lib.layers:
            row.append(_origin(lib, c.id))
        table.add_row(*row)
    Console().print(table)
    for rule in lib.policy_weights.values():
        p = rule.provenance
        Console().print(
            f"Règle de la {p.label()} (couche « {p.layer} » {p.version}) : {p.detail}.",
            markup=False,
        )


@commands.add("show")
def clauses_show(
    clause_id: Annotated[str, typer.Argument(help="Identifiant, ex. ENV-COND-01.")],
    clausier: ClausierOpt = None,
    dossier: _DossierOpt = None,
    national: _NationalOpt = False,
) -> None:
    """Afficher une clause : fondement, applicabilité, paramètres, texte rendu, guide."""
    from rich.console import Console
    from rich.markdown import Markdown

    from tasks.clausier.render import render_clause

    try:
        lib = _effective(clausier, dossier, national)
        c = lib.get(clause_id.upper())
        if c is None:
            raise InputError(
                f"clause « {clause_id} » inconnue ; clauses disponibles : {', '.join(lib.clauses)}."
            )
        text = render_clause(c)
    except CahierError as exc:
        fail(exc)
        return
    con = Console()
    con.print(f"[bold]{c.id}[/bold] v{c.version} — {c.title}")
    con.print(f"Origine : {_origin(lib, c.id)}", markup=False)
    for p in lib.origin(c.id):
        rev = f", révision {p.rev}" if p.rev else ""
        where = f"{p.file}:{p.line}" if p.line else p.file
        con.print(f"  couche « {p.layer} » {p.version}{rev} — {where}", markup=False)
    con.print(
        f"Catégorie : {c.category} ; niveau : {'obligatoire' if c.level == 'mandatory' else 'recommandée'} ; pièce : {c.piece.upper()} ; référent : {c.review_role}"
    )
    con.print(
        "Fondement : "
        + " ; ".join(f"{lb.ref}" + (f" <{lb.url}>" if lb.url else "") for lb in c.legal_basis),
        markup=False,
    )
    con.print("S'applique : " + _applies(c.applies, lib), markup=False)
    _print_parameters(con, c.parameters)
    con.print("\nTexte :", style="bold")
    con.print(Markdown(text))
    con.print("\nGuide pour les candidats :", style="bold")
    con.print(c.bidder_guidance, markup=False)


def _applies(a, lib) -> str:
    """When a clause applies, in French (« catégories …; montant ≥ … »), or « à tous les
    marchés »."""
    cond = []
    if a.categories:
        cond.append("catégories " + ", ".join(a.categories))
    if a.buyer_types:
        cond.append("acheteurs " + ", ".join(a.buyer_types))
    if a.min_amount is not None:
        cond.append(
            "montant ≥ "
            + (
                "seuil européen"
                if a.min_amount == "eu_threshold"
                else fmt.amount(a.min_amount, decimals=0)
            )
        )
    if a.from_date is not None:
        cond.append(
            "consultations lancées à partir du "
            + (
                fmt.date_short(lib.law.climat_gate.date)
                if a.from_date == "climat_gate"
                else fmt.date_short(a.from_date)
            )
        )
    if a.requires:
        cond.append("si " + ", ".join(a.requires))
    return "; ".join(cond) if cond else "à tous les marchés"


def _print_parameters(con, parameters) -> None:
    """A clause's parameters: type, unit, default, bounds and description."""
    if not parameters:
        return
    con.print("Paramètres :")
    for name, p in parameters.items():
        bounds = ""
        if p.min is not None or p.max is not None:
            bounds = f" [{'' if p.min is None else f'{p.min:g}'}–{'' if p.max is None else f'{p.max:g}'}]"
        con.print(
            f"  {name} ({p.type}{', ' + p.unit if p.unit else ''}) = {p.default!r}{bounds} — {p.description}",
            markup=False,
        )


@commands.add("diff")
def clauses_diff(
    old: Annotated[
        str, typer.Argument(help="Ancienne version : révision Git ou dossier de clausier.")
    ],
    new: Annotated[
        str,
        typer.Argument(
            help="Nouvelle version : révision Git, dossier, ou « . » (copie de travail)."
        ),
    ] = ".",
    repo: Annotated[
        Path | None,
        typer.Option("--repo", help="Dépôt Git du clausier (défaut : celui de cahier)."),
    ] = None,
    dossier: Annotated[Path | None, typer.Option("--dossier", help=_DOSSIER_HELP)] = None,
) -> None:
    """Comparer deux versions du clausier (clauses ajoutées, retirées, modifiées) ; « national
    effectif » : ce que les couches de politique locale changent au clausier national."""
    from rich.console import Console

    from tasks.clausier.diff import diff_clausiers, load_side, to_text

    if (old, new) == ("national", "effectif"):
        _layers_diff(dossier)
        return
    try:
        a = load_side(old, repo)
        b = load_side(new, repo)
        result = diff_clausiers(a, b)
    except CahierError as exc:
        fail(exc)
        return
    to_text(result, Console())
    raise typer.Exit(1 if result.errors else 0)


@commands.add("check")
def clauses_check(
    clausier: Annotated[
        Path | None,
        typer.Option("--clausier", help="Clausier à vérifier (défaut : celui de cahier)."),
    ] = None,
) -> None:
    """Vérifier le clausier : schéma, variables des modèles, paramètres, motifs de reconnaissance."""
    from tasks.clausier.library import check_clausier

    problems = check_clausier(clausier)
    for p in problems:
        typer.echo(f"cahier : {p.render()}", err=True)
    if problems:
        raise typer.Exit(2)
    typer.echo("Clausier valide.")


def _layers_diff(dossier: Path | None) -> None:
    """``cahier clauses diff national effectif``: each layer's changes, in stacking order,
    with the article and the file and line they come from."""
    from tasks.clausier.layers import describe
    from tasks.clausier.library import load_clausier

    try:
        _require_dossier(dossier)
        lib = load_clausier(dossier=dossier)
    except CahierError as exc:
        fail(exc)
    if not lib.layers:
        typer.echo(
            "Aucune couche de politique : le clausier effectif est le clausier national "
            f"{lib.version} (paramètre policy.layers de l'organisation ou de cahier.yaml)."
        )
        return
    typer.echo(f"Clausier national {lib.national_version} → effectif {lib.version}")
    from tasks.clausier.layers import Composition

    comp = Composition(
        layers=list(lib.layers),
        origins={k: list(v) for k, v in lib.origins.items()},
        weights=dict(lib.policy_weights),
    )
    kinds = {"ajout": "ajout", "niveau": "niveau", "parametre": "paramètre", "ponderation": "règle"}
    current = None
    for p in describe(comp):
        if p.layer != current:
            layer = next(x for x in lib.layers if x.meta.id == p.layer)
            rev = f" (révision {p.rev})" if p.rev else ""
            typer.echo(f"\nCouche « {p.layer} » {p.version}{rev} — {layer.meta.nom}")
            typer.echo(f"  Source : {layer.meta.source.ref}")
            current = p.layer
        clause = next((cid for cid, provs in lib.origins.items() if p in provs), None)
        what = f"{clause} : " if clause else ""
        where = f"{p.file}:{p.line}" if p.line else p.file
        typer.echo(f"  [{kinds[p.kind]}] {what}{p.detail} — {p.article} ({where})")
