"""Writing files so that a crash never leaves a half-written one.

Both functions write to a temporary file in the destination folder, flush it, then
either rename it over the destination (:func:`write_atomic`) or hard-link it to a name
that must not exist yet (:func:`create_new`): a reader sees the old file or the whole
new one, never a part. :func:`new_folder` does the same for a whole dossier folder.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.errors import InputError, os_reason

__all__ = ["create_new", "new_folder", "write_atomic"]


def _mode_for(path: Path) -> int:
    """Permissions of the file written at ``path``: those of the file it replaces, else
    the usual ones (0o666 less the process umask, read from /proc: ``os.umask`` would
    change it for every thread) — not mkstemp's 0o600, which hid reports and plans
    from the buyer's colleagues on a shared folder."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        pass
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _temp_with(path: Path, data: bytes | str, encoding: str) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX; Windows files have no such modes
            os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode(encoding) if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(
    path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8"
) -> None:
    """Replace ``path`` with ``data`` atomically (temporary file + ``os.replace``).

    Raises:
        OSError: the folder does not exist or is not writable (nothing is left behind).
    """
    path = Path(path)
    tmp = _temp_with(path, data, encoding)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_new(path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8") -> None:
    """Create ``path`` with ``data``; never overwrite an existing file.

    Raises:
        FileExistsError: ``path`` exists (it is left untouched).
        OSError: the folder does not exist or is not writable.
    """
    path = Path(path)
    tmp = _temp_with(path, data, encoding)
    try:
        os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextmanager
def new_folder(parent: Path, name: str) -> Iterator[Path]:
    """A folder ``parent/name`` created whole or not at all (``cahier new``, ``cahier
    import``): yields a temporary folder of ``parent`` to fill; on a normal exit it is
    renamed to ``parent/name``, on any error it is removed. An existing ``parent/name`` is
    never overwritten.

    Raises:
        InputError: ``parent`` cannot be created, or ``parent/name`` appeared meanwhile
            (French message; nothing is left behind).
    """
    target = parent / name
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=parent))
    except OSError as exc:
        raise InputError(
            f"destination impossible à créer ({os_reason(exc)}).", str(parent)
        ) from None
    try:
        yield tmp
        tmp.chmod(0o755)
        if target.exists() or target.is_symlink():
            raise InputError(
                "le dossier existe déjà (créé entre-temps) : rien n'a été écrit.", str(target)
            )
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
