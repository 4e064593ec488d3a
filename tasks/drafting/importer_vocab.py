"""``cahier import`` (:mod:`tasks.drafting.importer`): its vocabulary, ``clause_library/import.yaml``.

The words that type a buyer from its name, the cues that type a piece from its text, the
procedures named in the pieces and the purchase categories deduced from the CPV code:
vocabulary in the clausier, never in code. Validated by pydantic at load (French error
naming the file and the line).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from tasks.dossier.model import _Model
from tasks.dossier.yamlio import validate_yaml
from tasks.errors import InputError

__all__ = ["ImportVocab", "import_vocab"]


class BuyerType(_Model):
    """A tender.yaml ``acheteur.type`` and the folded words that name it."""

    type: str
    words: list[str] = Field(min_length=1)


class Procedure(_Model):
    """A procedure as a folded text says it (``needle``) and its tender.yaml value."""

    needle: str = Field(min_length=3)
    label: str = Field(min_length=3)


class CpvCategories(_Model):
    """The purchase categories of the CPV codes starting with ``prefix``."""

    prefix: str = Field(pattern=r"^\d{2,8}$")
    categories: list[str] = Field(min_length=1)


class ImportVocab(_Model):
    """import.yaml: buyer types, piece kinds (cues), procedures, CPV categories — each
    list in order of preference (the first that matches wins)."""

    buyer_types: list[BuyerType] = Field(default=[])
    piece_kinds: dict[str, list[str]] = Field(default={})
    procedures: list[Procedure] = Field(default=[])
    cpv_categories: list[CpvCategories] = Field(default=[])


@lru_cache(maxsize=1)
def import_vocab() -> ImportVocab:
    """import.yaml of the shipped clausier, validated once.

    Raises:
        InputError: the file is missing or malformed (French message, file and line).
    """
    from tasks.clausier.library import default_library_path

    path = default_library_path() / "import.yaml"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("fichier du clausier introuvable.", str(path)) from None
    return validate_yaml(ImportVocab, raw, str(path))
