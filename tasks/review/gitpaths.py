"""Where a dossier stands in its Git repository: the repository, relative paths, and
the pathspec of the files that make the dossier's content."""

from __future__ import annotations

import os
from pathlib import Path

from tasks.errors import InputError
from tasks.git import Repo

from .model import REVIEWS_DIR


def _repo(path: Path) -> Repo | None:
    """The Git working tree holding ``path``, or None outside Git."""
    try:
        return Repo.discover(path)
    except InputError:
        return None


def _toplevel(path: Path) -> Path | None:
    repo = _repo(path)
    return repo.top if repo is not None else None


def _rel(dossier: Path, top: Path) -> str:
    rel = dossier.resolve().relative_to(top).as_posix()
    return "" if rel == "." else rel


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _dossier_pathspec(rel: str) -> list[str]:
    """The dossier's files that make its content: all but reviews, evaluation, archive."""
    return [rel or "."] + [
        f":(exclude){_join(rel, sub)}" for sub in (REVIEWS_DIR, "evaluation", "archive")
    ]


def _require_dossier(dossier_path: str | os.PathLike[str]) -> None:
    p = Path(dossier_path)
    if not (p / "tender.yaml").is_file():
        raise InputError(
            "consultation introuvable : ce dossier n'existe pas ou ne contient pas de "
            "tender.yaml ; indiquez le dossier de la consultation (ex. tenders/2026-DSI-014).",
            os.fspath(dossier_path),
        )
