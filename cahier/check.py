"""``cahier check``: check one or more dossiers (or ``--all`` of a repository)."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cahier.common import CommandSet, fail, fail_os, find_dossier, write_output
from cahier.options import ClausierOpt
from tasks.errors import CahierError, InputError

commands = CommandSet()


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"


@commands.add()
def check(
    paths: Annotated[
        list[Path], typer.Argument(help="Dossier(s) de consultation, ou fichiers d'un dossier.")
    ],
    rev: Annotated[
        str | None, typer.Option("--rev", help="Révision Git (commit, tag, branche) à contrôler.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Format du rapport.")] = Format.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Écrire le rapport dans ce fichier.")
    ] = None,
    flow: Annotated[
        bool, typer.Option("--flow", help="Exécuter le contrôle comme flow Prefect (artefacts).")
    ] = False,
    clausier: ClausierOpt = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all", help="Contrôler tous les dossiers sous les chemins donnés (dépôt entier)."
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processus en parallèle avec --all.")
    ] = 2,
) -> None:
    """Contrôler un dossier de consultation (DCE) : clauses responsables, critères, rédaction."""
    if all_:
        if fmt not in (Format.text, Format.json):
            fail(
                InputError(
                    f"avec --all, le détail par dossier est écrit en JSON Lines (-f json) ; "
                    f"le format {fmt.value} s'obtient dossier par dossier (cahier check DOSSIER "
                    f"-f {fmt.value})."
                )
            )
        _check_all(paths, rev, output, workers, clausier, stream_json=fmt == Format.json)
        return
    try:
        reports = [_check_one(t, rev, flow, clausier) for t in _targets(paths, rev)]
    except CahierError as exc:
        fail(exc)
        return
    except OSError as exc:
        fail_os(exc, "lecture")
    if fmt == Format.text and output is None:
        from rich.console import Console

        from tasks.check.report import to_text

        con = Console()
        for r in reports:
            to_text(r, con)
    else:
        write_output(_rendered(reports, fmt), output)
    raise typer.Exit(max((r.exit_code for r in reports), default=0))


def _targets(paths: list[Path], rev: str | None) -> list[str]:
    """The dossiers to check: each path as given with ``--rev``; else the dossier holding
    each path (a file or a folder below it), once each.

    Raises:
        InputError: a path that does not exist, or is in no dossier.
    """
    if rev is not None:
        return [str(p) for p in paths]
    dossiers: list[Path] = []
    for p in paths:
        if not p.exists():
            raise InputError("chemin introuvable.", str(p))
        d = find_dossier(p) if p.is_file() or not (p / "tender.yaml").is_file() else p
        if d not in dossiers:
            dossiers.append(d)
    return [str(d) for d in dossiers]


def _check_one(target: str, rev: str | None, flow: bool, clausier: Path | None):
    """The report of one dossier, checked in-process or as a Prefect flow."""
    if flow:
        # The ephemeral server's telemetry locks SQLite (docs/architecture.md, « Pièges Prefect »).
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        # On a loaded laptop the ephemeral server may need more than 20 s to start.
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
        from flows.check import check_tender

        return check_tender(target, rev=rev, clausier_path=str(clausier) if clausier else None)
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    lib = load_clausier(clausier, dossier=target)
    dossier = read_dossier(target, rev=rev, allow_incomplete=True)
    return check_dossier(dossier, lib)


def _rendered(reports: list, fmt: Format) -> str:
    """The reports as one text in ``fmt`` (plain text 110 columns wide, JSON array or
    object, one SARIF log, JUnit documents one after the other)."""
    from tasks.check.report import to_json, to_junit, to_text

    if fmt == Format.text:
        from io import StringIO

        from rich.console import Console

        buf = StringIO()
        con = Console(file=buf, width=110, no_color=True)
        for r in reports:
            to_text(r, con)
        return buf.getvalue()
    if fmt == Format.sarif:
        return _sarif(reports)
    render = {Format.json: to_json, Format.junit: to_junit}[fmt]
    if len(reports) == 1:
        return render(reports[0])
    if fmt == Format.json:
        import json

        return json.dumps([json.loads(to_json(r)) for r in reports], ensure_ascii=False, indent=2)
    return "".join(render(r) for r in reports)


def _check_all(
    roots: list[Path],
    rev: str | None,
    output: Path | None,
    workers: int,
    clausier: Path | None,
    stream_json: bool = False,
) -> None:
    """``cahier check --all``: every dossier under each root, with a progress bar.

    Results stream to ``--output`` as JSON Lines (one line per dossier); memory does not
    grow with the number of dossiers (tasks.check.batch).
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from tasks.check.batch import check_all, count_dossiers

    err = Console(stderr=True)
    worst = 0
    try:
        for root in roots:
            if rev is None and not root.exists():
                raise InputError("chemin introuvable.", str(root))
            if rev is None and not root.is_dir():
                raise InputError(
                    "--all attend un dossier (le dépôt, ou un dossier de consultations), "
                    "pas un fichier ; pour une seule pièce, contrôlez son dossier sans --all.",
                    str(root),
                )
            total = count_dossiers(root, rev=rev)
            if total == 0:  # a pre-commit hook or CI job that checks nothing must not pass
                raise InputError(
                    "aucun dossier de consultation (tender.yaml) sous ce chemin"
                    + (f" à la révision {rev}" if rev else "")
                    + " : rien n'a été contrôlé ; vérifiez le chemin (--all contrôle chaque "
                    "dossier qui contient un tender.yaml).",
                    str(root),
                )
            with Progress(
                TextColumn("Contrôle de [bold]{task.description}[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[errs]} en erreur"),
                TimeRemainingColumn(),
                console=err,
                transient=False,
            ) as bar:
                job = bar.add_task(str(root), total=total, errs=0)
                errs = 0

                def advance(res, job=job) -> None:
                    nonlocal errs
                    errs += res.exit_code != 0
                    bar.update(job, advance=1, errs=errs)
                    if stream_json and output is None:
                        import dataclasses
                        import json

                        sys.stdout.write(
                            json.dumps(dataclasses.asdict(res), ensure_ascii=False) + "\n"
                        )

                summary = check_all(
                    root,
                    rev=rev,
                    workers=workers,
                    on_result=advance,
                    out=output,
                    clausier_path=str(clausier) if clausier else None,
                )
            _print_summary(summary, to_err=stream_json and output is None)
            worst = max(worst, summary.exit_code)
    except CahierError as exc:
        fail(exc)
    raise typer.Exit(worst)


def _print_summary(summary, *, to_err: bool) -> None:
    """The totals of one root of ``check --all``, its worst dossiers (ten at most, and how
    many more), and where the per-dossier detail is; on stderr when stdout carries the
    JSON Lines (``to_err``)."""
    typer.echo(
        f"{summary.dossiers} dossier(s) contrôlé(s) en {summary.seconds:.1f} s : "
        f"{summary.clean} sans erreur, {summary.with_errors} avec erreurs, "
        f"{summary.unusable} inutilisable(s) ; {summary.errors} erreur(s), "
        f"{summary.warnings} avertissement(s).",
        err=to_err,
    )
    shown = summary.worst[:10]
    for w in shown:
        detail = w.get("message") or f"{w.get('errors')} erreur(s)"
        typer.echo(f"  {w.get('dossier')} : {detail}", err=to_err)
    hidden = summary.with_errors + summary.unusable - len(shown)
    if hidden > 0:  # say the list is cut, and where the whole of it is
        typer.echo(
            f"  … et {hidden} autre(s) dossier(s) en erreur ou inutilisable(s)"
            + ("" if summary.out else " : liste complète avec -o resultats.jsonl")
            + ".",
            err=to_err,
        )
    if summary.out:
        typer.echo(f"Détail par dossier : {summary.out}", err=to_err)


def _sarif(reports: list) -> str:
    """One SARIF log (one run per dossier), file URIs relative to the current folder
    (the repository root in CI) so that code-scanning tools find the files."""
    import json

    from tasks.check.report import to_sarif

    logs = []
    for r in reports:
        root = Path(r.dossier)
        try:
            prefix = os.path.relpath(root.resolve(), Path.cwd()).replace(os.sep, "/")
        except ValueError:  # another drive (Windows)
            prefix = root.as_posix()
        if prefix.startswith(".."):
            prefix = root.resolve().as_posix()
        logs.append(json.loads(to_sarif(r, uri_prefix=prefix)))
    merged = logs[0]
    for extra in logs[1:]:
        merged["runs"].extend(extra["runs"])
    return json.dumps(merged, ensure_ascii=False, indent=2) + "\n"
