"""The ``cahier`` command line (Typer), assembled explicitly from one module per
command group (no module scanning):

=============  ===========================================================
module          commands
=============  ===========================================================
check           ``cahier check``
clauses         ``cahier clauses list|show|diff|check``
new             ``cahier new``
import_         ``cahier import``
review          ``cahier review plan|status|approve|request-changes``
assemble        ``cahier assemble``
evaluate        ``cahier evaluate``
archive         ``cahier archive``
decp            ``cahier decp``
audit           ``cahier audit``
demo            ``cahier demo``
lifecycle       ``cahier lifecycle``
report          ``cahier report``
followup        ``cahier followup plan|check``
server          ``cahier server``
=============  ===========================================================

Exit codes: 0 no error-level finding, 1 error-level findings, 2 unusable input (a
French message naming the file and line, never a traceback). Help and usage errors
are French (:mod:`cahier.i18n`). Prefect and the heavy libraries are imported inside
the commands: ``cahier check`` runs from pre-commit hooks and must answer fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cahier import (
    archive,
    assemble,
    audit,
    check,
    clauses,
    decp,
    demo,
    evaluate,
    followup,
    i18n,
    import_,
    lifecycle,
    new,
    report,
    review,
    server,
)
from flows.warm import wants_runner
from tasks.errors import CahierError, os_reason

__all__ = ["COMMAND_MODULES", "app", "build_app", "main"]

#: Registration order is the order of ``cahier --help``.
COMMAND_MODULES = (
    demo,
    check,
    new,
    import_,
    clauses,
    review,
    assemble,
    evaluate,
    archive,
    decp,
    audit,
    lifecycle,
    report,
    followup,
    server,
)


def build_app(only: str | None = None) -> typer.Typer:
    """The ``cahier`` Typer application with every command module registered.

    ``only``: a top-level command or group name — only the module that declares it is
    registered (Typer builds every registered command's parameters at each call, ~30 ms
    for all of them); the application stays a group, so ``cahier NAME …`` parses, helps
    and fails exactly as with every module registered. An unknown name registers all.
    """
    i18n.install()
    application = typer.Typer(
        name="cahier",
        help="Rédaction et contrôle de DCE numériques responsables.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        cls=i18n.FrenchGroup,
    )
    modules = [m for m in COMMAND_MODULES if only in m.commands.names()] or COMMAND_MODULES
    for module in modules:
        module.commands.register(application)
    if len(modules) == 1:
        application.callback()(_group)  # one command alone would become the root command
    return application


def _run_warm(argv: list[str]) -> int | None:
    """Run a command that imports Prefect in the warm runner of ``cahier server``
    (:mod:`flows.warm`) when the local server announces one; its exit code, or None to
    run it here (no runner, ``CAHIER_WARM=0``, another identity, a configuration error
    that the command itself will report)."""
    import os

    if os.environ.get("CAHIER_WARM", "1").strip().lower() in ("0", "false", "non", "no"):
        return None
    from flows.warm import delegate
    from tasks.config.settings import load_settings

    try:
        prefect = load_settings().prefect
        local = None if prefect.api_url else prefect.local_server()
    except CahierError:
        return None
    runner = (local or {}).get("runner")
    return delegate(Path(runner), argv) if isinstance(runner, str) else None


def _quiet_collector(argv: list[str]) -> bool:
    """Whether ``cahier ARGV`` is a check run here (the pre-commit hook's command), which
    runs with the cycle collector quieted (:func:`tasks.collector.quiet`); ``--flow``
    (Prefect's threads and event loop) keeps the default."""
    return bool(argv) and argv[0] == "check" and "--flow" not in argv


def _group() -> None:
    """Rédaction et contrôle de DCE numériques responsables."""


app = build_app()


def main() -> None:
    """Console-script entry point.

    Commands turn bad input into exit code 2 themselves; this is the safety net for any
    cahier error or system error that escapes one: never a traceback.
    """
    if wants_runner(sys.argv[1:]):
        code = _run_warm(sys.argv[1:])
        if code is not None:
            sys.exit(code)
    if _quiet_collector(sys.argv[1:]):
        from tasks.collector import quiet

        quiet()
    try:
        build_app(sys.argv[1] if len(sys.argv) > 1 else None)(standalone_mode=True)
    except CahierError as exc:
        typer.echo(f"cahier : {exc.render()}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except OSError as exc:
        where = f"{exc.filename} : " if getattr(exc, "filename", None) else ""
        typer.echo(f"cahier : {where}{os_reason(exc)}.", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
