"""French help and usage errors for the command line: the one place where the CLI
library's (Typer's) English texts are mapped to French.

Typer renders help with rich panels whose titles, « [default: …] », « Usage: », the
``--help`` option's text, type tags (``<bool>``, ``<str>``…) and usage errors are
English. :class:`FrenchGroup` and :class:`FrenchCommand` (passed as ``cls`` by
:class:`cahier.common.CommandSet`) and :func:`install` replace them with French.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import typing
from pathlib import Path
from typing import Any

from typer import core as typer_core

__all__ = ["FrenchCommand", "FrenchGroup", "install", "translate"]

HELP_TEXT = "Afficher cette aide et quitter."

#: Typer/Click messages (exact English text or prefix) → French.
MESSAGES: dict[str, str] = {
    "Usage:": "Utilisation :",
    "Usage: ": "Utilisation : ",
    "Missing argument": "Argument manquant",
    "Missing option": "Option manquante",
    "Missing command.": "Commande manquante.",
    "No such command": "Commande inconnue",
    "No such option:": "Option inconnue :",
    "No such option": "Option inconnue",
    "Did you mean": "Vouliez-vous dire",
    "Possible options:": "options possibles :",
    "Invalid value for": "Valeur invalide pour",
    "Value error, ": "",
    "Input should be greater than or equal to": "la valeur doit être supérieure ou égale à",
    "Input should be greater than": "la valeur doit être supérieure à",
    "Input should be less than or equal to": "la valeur doit être inférieure ou égale à",
    "Input should be less than": "la valeur doit être inférieure à",
    "Input should be a valid integer, unable to parse string as an integer": "un nombre entier est attendu",
    "Input should be a valid integer": "un nombre entier est attendu",
    "Input should be a valid number, unable to parse string as a number": "un nombre est attendu",
    "Input should be a valid number": "un nombre est attendu",
    "Input should be a valid boolean": "un booléen est attendu (oui/non)",
    "Input should be a valid date": "une date AAAA-MM-JJ est attendue",
    "Input should be": "la valeur doit être",
    "Path does not exist": "le chemin n'existe pas",
    "'?": "' ?",
    "Got unexpected extra argument": "Argument en trop",
    "Got unexpected extra arguments": "Arguments en trop",
    "requires an argument.": "demande une valeur.",
    "does not take a value.": "ne prend pas de valeur (c'est un interrupteur : écrivez-le seul).",
    "Option '": "L'option '",
    "is not one of": "n'est pas parmi",
    "is not a valid integer.": "n'est pas un nombre entier valide.",
    "is not a valid float.": "n'est pas un nombre décimal valide.",
    "is not a valid boolean.": "n'est pas un booléen valide (oui/non, true/false).",
    "does not exist.": "n'existe pas.",
    "is not in the range": "n'est pas dans l'intervalle",
    "Try": "Essayer",
    "for help": "pour l'aide",
    "Error": "Erreur",
    "Aborted!": "Interrompu.",
}

_TYPES = {
    "bool": None,  # a flag: no tag
    "str": "TEXTE",
    "int": "ENTIER",
    "float": "NOMBRE",
    "Path": "CHEMIN",
    "date": "DATE",
    "datetime": "DATE",
}


def translate(text: str) -> str:
    """``text`` with every known English fragment of :data:`MESSAGES` in French."""
    for en in sorted(MESSAGES, key=len, reverse=True):
        if en in text:
            text = text.replace(en, MESSAGES[en])
    return text


def _french_type(param: Any, ctx: Any) -> str | None:
    metavar = getattr(param, "metavar", None)
    if metavar:
        return metavar
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    ann = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    many = False
    origin = typing.get_origin(ann)
    if origin in (list, tuple):
        many = True
        args = typing.get_args(ann)
        ann = args[0] if args else str
    if typing.get_origin(ann) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        ann = args[0] if args else str
    choices = getattr(ann, "__members__", None)
    if choices:
        label = "|".join(str(m.value) for m in ann)  # an Enum: its values
    elif isinstance(ann, type) and issubclass(ann, Path):
        label = "CHEMIN"
    else:
        name = getattr(ann, "__name__", None) or str(ann)
        if name == "bool":
            return None
        label = _TYPES.get(name, "VALEUR")
    return label + ("…" if many else "")


def _install_param_types() -> None:
    def option_type(self: Any, ctx: Any) -> str | None:
        return _french_type(self, ctx)

    typer_core.TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    typer_core.TyperArgument.display_type_rich = option_type  # type: ignore[method-assign]


#: French names of the commands' arguments, shown on the usage line, in the help panel and
#: in « Argument manquant » (the Python parameter names otherwise); others: upper case.
ARGUMENT_NAMES = {
    "paths": "DOSSIER",
    "tender_dir": "DOSSIER",
    "tender": "DOSSIER",
    "tender_id": "IDENTIFIANT",
    "files": "FICHIER",
    "clause_id": "CLAUSE",
    "old": "ANCIENNE",
    "new": "NOUVELLE",
    "root": "RACINE",
}


def _install_argument_names() -> None:
    def display_name_raw(self: Any) -> str:
        if self.metavar is not None:
            return self.metavar
        return ARGUMENT_NAMES.get(self.name or "", (self.name or "").upper())

    def usage_name(self: Any) -> str:  # click's style: DOSSIER, [RACINE], CHEMIN…
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return name + ("…" if self.nargs != 1 else "")

    typer_core.TyperArgument.display_name_raw = property(display_name_raw)  # type: ignore[method-assign, assignment]
    typer_core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]


class _FrenchHelp:
    def get_help_option(self, ctx: Any) -> Any:
        opt = super().get_help_option(ctx)  # type: ignore[misc]
        if opt is not None:
            opt.help = HELP_TEXT
        return opt

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix="Utilisation : ")


class FrenchCommand(_FrenchHelp, typer_core.TyperCommand):
    """A Typer command whose help option and usage errors read in French."""


class FrenchGroup(_FrenchHelp, typer_core.TyperGroup):
    """A Typer group whose help option and usage errors read in French."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subcommand_metavar = "COMMANDE [ARGUMENTS]…"


def _french_error(exc: Any) -> None:
    """Typer's error panel with the message translated (usage errors: exit 2)."""
    original = exc.format_message
    exc.format_message = lambda: translate(original())
    _rich_format_error[0](exc)


#: Typer's own ``rich_format_error``, kept when :func:`_patch_rich_utils` replaces it.
_rich_format_error: list[Any] = []

_installed = False


def _patch_rich_utils(rich_utils: Any) -> None:
    """French titles and markers in ``typer.rich_utils`` (once it is imported)."""
    if getattr(rich_utils, "_cahier_french", False):
        return
    rich_utils.ARGUMENTS_PANEL_TITLE = "Arguments"
    rich_utils.OPTIONS_PANEL_TITLE = "Options"
    rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
    rich_utils.ERRORS_PANEL_TITLE = "Erreur"
    rich_utils.DEFAULT_STRING = "[défaut : {}]"
    rich_utils.ENVVAR_STRING = "[variable d'environnement : {}]"
    rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
    rich_utils.DEPRECATED_STRING = "(obsolète) "
    rich_utils.RICH_HELP = "Essayer [blue]« {command_path} {help_option} »[/] pour l'aide."
    rich_utils.ABORTED_TEXT = "Interrompu."
    _rich_format_error[:] = [rich_utils.rich_format_error]
    rich_utils.rich_format_error = _french_error
    rich_utils._cahier_french = True


class _RichUtilsHook(importlib.abc.MetaPathFinder):
    """Patches ``typer.rich_utils`` when Typer imports it: Typer loads it lazily (help,
    errors), and rich's Markdown/pretty machinery costs ~0.2 s that ``cahier check``
    does not need on a normal run."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "typer.rich_utils":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def patched(module: Any) -> None:
            exec_module(module)
            _patch_rich_utils(module)

        loader.exec_module = patched  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Put Typer's panel titles, default/required markers, usage prefix and type tags
    in French (idempotent; called once by :func:`cahier.cli.main` and the app)."""
    global _installed
    if _installed:
        return
    module = sys.modules.get("typer.rich_utils")
    if module is not None:
        _patch_rich_utils(module)
    else:
        sys.meta_path.insert(0, _RichUtilsHook())
    _install_param_types()
    _install_argument_names()
    _installed = True
