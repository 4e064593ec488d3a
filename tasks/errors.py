"""Errors that the CLI turns into a French message and exit code 2.

Every error raised by cahier for bad input is an :class:`InputError`: it carries the
file (as the user named it), the line when one is known, and a French message that
says what to do. The CLI prints ``fichier:ligne: message`` and exits with code 2,
never a traceback.
"""

from __future__ import annotations

__all__ = ["CahierError", "InputError"]


class CahierError(Exception):
    """Base class of cahier's own errors."""


class InputError(CahierError):
    """Unusable input (file, revision, YAML, piece): exit code 2.

    Attributes:
        message: French message for the buyer, ending with what to do.
        file: the file concerned (path relative to the dossier or repository), or None.
        line: 1-based line number in that file, or None.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        """``fichier:ligne: message`` (the form editors and CI understand)."""
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + " : "
        return where + self.message
