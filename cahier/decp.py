"""``cahier decp``: essential data of the contract (DECP v2.0.3, validated)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, dossier_of, fail, write_output
from cahier.options import ClausierOpt, Dossier
from tasks.errors import CahierError, InputError

commands = CommandSet()


@commands.add()
def decp(
    tender_dir: Dossier,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Fichier JSON à écrire.")
    ] = None,
    clausier: ClausierOpt = None,
) -> None:
    """Données essentielles (DECP v2.0.3, JSON validé par le schéma officiel)."""
    from tasks.award.decp import build_decp, consistency_issues, to_json
    from tasks.award.evaluation import evaluate as run
    from tasks.award.evaluation import read_evaluation
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    try:
        d = dossier_of(tender_dir)
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
        write_output(text, output)
    except CahierError as exc:
        fail(exc)
