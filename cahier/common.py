"""What every command module shares: explicit command sets, the French exit on bad
input, atomic report writing and finding the dossier a path belongs to.

Exit codes of every command: 0 done, 1 findings or checks that failed, 2 unusable input
(a French message naming the file and line, never a traceback).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import typer

from tasks.errors import CahierError, InputError, os_reason

__all__ = [
    "CommandSet",
    "dossier_of",
    "fail",
    "fail_os",
    "find_dossier",
    "iso_date",
    "write_atomic",
    "write_output",
]


class CommandSet:
    """The commands of one CLI module, registered explicitly by :mod:`cahier.cli`.

    ``group``: the sub-command name (``cahier review …``), or None for top-level
    commands. Commands are plain functions decorated with :meth:`add`; nothing is
    registered until :meth:`register` is called (no module scanning).
    """

    def __init__(self, group: str | None = None, help: str | None = None):
        self.group = group
        self.help = help
        self._commands: list[tuple[Callable[..., Any], str | None, dict[str, Any]]] = []

    def add(
        self, name: str | None = None, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: declare ``fn`` as a command (``name`` defaults to the function's)."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._commands.append((fn, name, kwargs))
            return fn

        return deco

    def names(self) -> set[str]:
        """The top-level names these commands answer to: the group's, else each
        command's (Typer's: the function name, lower case, ``_`` → ``-``)."""
        if self.group:
            return {self.group}
        return {name or fn.__name__.lower().replace("_", "-") for fn, name, _ in self._commands}

    def register(self, app: typer.Typer) -> None:
        """Add these commands to ``app`` (in a sub-group when :attr:`group` is set)."""
        from cahier.i18n import FrenchCommand, FrenchGroup

        target = app
        if self.group:
            target = typer.Typer(help=self.help, no_args_is_help=True, cls=FrenchGroup)
        for fn, name, kwargs in self._commands:
            target.command(name, cls=FrenchCommand, **kwargs)(fn)
        if self.group:
            app.add_typer(target, name=self.group)


def fail(exc: CahierError) -> NoReturn:
    """Print ``cahier : fichier:ligne : message`` on stderr and exit with the error's
    code (2 for unusable input)."""
    typer.echo(f"cahier : {exc.render()}", err=True)
    raise typer.Exit(getattr(exc, "exit_code", 2))


def fail_os(exc: OSError, what: str) -> NoReturn:
    """Exit (code 2) on a system error: « {what} impossible : <reason>. », naming the
    file when the system names one."""
    fail(InputError(f"{what} impossible : {os_reason(exc)}.", getattr(exc, "filename", None)))


def iso_date(value: str | None, message: str) -> dt.date | None:
    """An ISO date option (``AAAA-MM-JJ``), or None when not given.

    Raises:
        InputError: ``message`` (``{value}`` replaced by the value given).
    """
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(message.format(value=value)) from None


def write_output(text: str, output: Path | None) -> None:
    """Write a report on stdout, or atomically to ``output`` (exit 2 when the folder of
    ``output`` does not exist)."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomic(output, text)
    except CahierError as exc:
        fail(exc)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename.

    A crash or a full disk never leaves a half-written report behind.

    Raises:
        InputError: the output folder does not exist.
    """
    path = _output_target(Path(path))
    if path.exists() and not path.is_file():  # a named pipe, a device (/dev/stdout)
        _write_into(path, text)
        return
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError("dossier de sortie introuvable.", str(path))
    from tasks.dossier.files import write_atomic as write

    try:
        write(path, text)
    except OSError as exc:
        raise InputError(f"écriture impossible : {os_reason(exc)}.", str(path)) from None


def _output_target(path: Path) -> Path:
    """Where an output named by the user goes: a symbolic link is followed (the link
    stays, its target is written); a folder is refused."""
    if path.is_symlink():
        try:
            path = path.resolve()
        except (RuntimeError, OSError):
            raise InputError(
                "lien symbolique en boucle : indiquez un fichier.", str(path)
            ) from None
    if path.is_dir():
        raise InputError(
            "c'est un dossier : indiquez un nom de fichier (par exemple "
            f"« {path / 'rapport.json'} »).",
            str(path),
        )
    return path


def _write_into(path: Path, text: str) -> None:
    """Write into an existing special file (a named pipe waits for its reader; without
    one, a French error rather than a wait without end)."""
    import fcntl

    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise InputError(f"écriture impossible : {os_reason(exc)}.", str(path)) from None


def find_dossier(path: Path) -> Path:
    """The dossier (folder holding tender.yaml) that ``path`` is or lies in.

    Raises:
        InputError: no tender.yaml in ``path`` or above it.
    """
    p = path.resolve()
    for candidate in [p, *p.parents]:
        tender = candidate / "tender.yaml"
        if tender.is_file():
            return candidate
        if tender.is_symlink():  # a link that leads nowhere, or back to itself
            raise InputError(
                "tender.yaml est un lien symbolique cassé ou en boucle : remplacez-le par "
                "le fichier.",
                str(tender),
            )
    raise InputError(
        "aucun tender.yaml trouvé : ce chemin n'est pas dans un dossier de consultation.", str(path)
    )


def dossier_of(path: Path) -> Path:
    """``path`` if it is a dossier, else the dossier it lies in.

    Raises:
        InputError: the path does not exist or is not in a dossier.
    """
    if not path.exists():
        raise InputError("chemin introuvable.", str(path))
    return path if (path / "tender.yaml").is_file() else find_dossier(path)
