"""cahier's one exception hierarchy.

Every error cahier raises on purpose is a :class:`CahierError`: it carries a French
message (ending with what to do), the file and line when known, and the exit code the
CLI uses. The CLI prints ``cahier : fichier:ligne : message`` and exits with
:attr:`CahierError.exit_code`, never a traceback. Orchestrators (Prefect flows) decide
retries **by type**: only a :class:`TransientError` is worth another attempt.

::

    CahierError
    ├── InputError             unusable input: a file, a revision, a YAML value (exit 2)
    ├── GitError               a Git command failed for another reason than the input (exit 2)
    ├── ToolError              Pandoc, Typst, PDFium… failed or exceeded its limits (exit 2)
    └── TransientError         the same call may succeed later (exit 2; flows retry it)
        ├── ConcurrentWriteError   another write moved the branch meanwhile: nothing done
        └── RepositoryLocked       .git/index.lock is held by another Git command

Each library's errors are mapped to these classes, in French, in one place: YAML and
pydantic in :mod:`tasks.dossier.yamlio`, Git in :mod:`tasks.git` (the Git layer),
Pandoc and Typst in :mod:`tasks.publish`, the CLI library in :mod:`cahier.i18n`.
"""

from __future__ import annotations

__all__ = [
    "CahierError",
    "ConcurrentWriteError",
    "GitError",
    "InputError",
    "RepositoryLocked",
    "ToolError",
    "TransientError",
]


class CahierError(Exception):
    """Base class of cahier's own errors.

    Attributes:
        message: French message for the buyer, ending with what to do.
        file: the file concerned (path relative to the dossier or repository), or None.
        line: 1-based line number in that file, or None.
        exit_code: the CLI's exit code for this error (2: nothing usable was done).
    """

    exit_code: int = 2

    def __init__(self, message: str = "", file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        """``fichier:ligne : message`` (the form editors and CI understand)."""
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + " : "
        return where + self.message


class InputError(CahierError):
    """Unusable input (file, revision, YAML, piece): exit code 2."""


class GitError(CahierError):
    """A Git command failed for a reason that is not the user's input (repository
    corrupt, Git missing, timeout). ``command``: the Git arguments, for the log."""

    def __init__(
        self,
        message: str,
        file: str | None = None,
        line: int | None = None,
        *,
        command: list[str] | None = None,
    ):
        self.command = command or []
        super().__init__(message, file, line)


class ToolError(CahierError):
    """An external tool (Pandoc, Typst, PDFium…) failed, timed out or exceeded its
    memory or output limit. ``tool``: its name."""

    def __init__(
        self,
        message: str,
        file: str | None = None,
        line: int | None = None,
        *,
        tool: str = "",
    ):
        self.tool = tool
        super().__init__(message, file, line)


class TransientError(CahierError):
    """A condition that may be gone on the next attempt: orchestrators retry it (and
    only it), the CLI says to run the command again."""


class ConcurrentWriteError(TransientError):
    """Another archive, review record or commit moved the branch meanwhile: nothing was
    written; a new attempt works on the latest state."""


class RepositoryLocked(TransientError):
    """``.git/index.lock`` exists: another Git command runs (or crashed) in the
    repository."""


#: French reasons of the system errors a user meets (errno name → reason).
_OS_REASONS = {
    "EACCES": "permission refusée",
    "EPERM": "opération non permise",
    "ENOENT": "fichier ou dossier introuvable",
    "ENOTDIR": "un élément du chemin n'est pas un dossier",
    "EISDIR": "c'est un dossier, pas un fichier",
    "EEXIST": "le fichier existe déjà",
    "ENOSPC": "disque plein",
    "EDQUOT": "quota disque dépassé",
    "EROFS": "système de fichiers en lecture seule",
    "ENAMETOOLONG": "nom de fichier trop long",
    "ELOOP": "lien symbolique en boucle",
    "EMFILE": "trop de fichiers ouverts",
    "EXDEV": "déplacement impossible entre deux disques",
    "EBUSY": "fichier occupé",
    "ETXTBSY": "fichier occupé",
    "EIO": "erreur d'entrée-sortie du disque",
    "ENXIO": "périphérique absent (un tube nommé sans lecteur ?)",
    "EINVAL": "argument invalide pour ce fichier",
}


def os_reason(exc: OSError) -> str:
    """The reason of a system error in French (« permission refusée », « disque
    plein »…), never the system's English text."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    return _OS_REASONS.get(name, f"erreur système {name or exc.errno}".strip())
