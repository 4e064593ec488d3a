"""Vocabulary of award-criterion types (``clause_library/criteres.yaml``).

A criterion read from a RC or a notice is typed (prix, coût du cycle de vie, technique,
environnement, social, délai, accessibilité, autre: the categories of R2152-7 and R2152-9
of the code de la commande publique) from its name first, then from its sub-criteria,
then from its description. The words live in the YAML file, never here.

Example::

    >>> vocab = load_criteria_vocab()
    >>> vocab.classify("Performance en matière d'éco-conception")
    'environnement'
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tasks.dossier.normalize import fold

__all__ = ["CriteriaVocab", "CriterionTypeWords", "load_criteria_vocab"]

VOCAB_FILE = "criteres.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CriterionTypeWords(_Model):
    """The words of one criterion type: ``terms`` decide on their own; ``weak_terms``
    only with one of ``context_terms`` in the criterion's text (sub-criteria, description);
    ``subs_inherit``: the sub-criteria of a criterion of this type take its type."""

    label: str
    subs_inherit: bool = False
    terms: list[str] = Field(default=[])
    weak_terms: list[str] = Field(default=[])
    context_terms: list[str] = Field(default=[])


def _words(text: str) -> str:
    """Folded text as space-separated words, with a leading space (for prefix search)."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", fold(text))) + " "


def _has(words: str, term: str) -> bool:
    """Whether ``term`` starts a word of ``words`` (one word: any ending; several words:
    the phrase, its last word possibly continued)."""
    t = " ".join(re.findall(r"[a-z0-9]+", fold(term)))
    return bool(t) and f" {t}" in words


class CriteriaVocab(_Model):
    """``clause_library/criteres.yaml``: the types, in order of preference."""

    version: int
    types: dict[str, CriterionTypeWords]

    def _match(self, text: str, context: str) -> str | None:
        words = _words(text)
        ctx = _words(context)
        for kind, spec in self.types.items():
            if any(_has(words, t) for t in spec.terms):
                return kind
            if spec.weak_terms and any(_has(words, t) for t in spec.weak_terms):
                if any(_has(ctx, t) for t in spec.context_terms):
                    return kind
        return None

    def classify(self, name: str, subs: list[str] | None = None, description: str = "") -> str:
        """The type of a criterion (a key of ``types``; ``autre`` when nothing matches).

        Args:
            name: the criterion's name as written.
            subs: the names of its sub-criteria; when the name says nothing, the type
                most of them share.
            description: the text that defines it (formula, elements judged).
        """
        context = " ".join([*(subs or []), description])
        kind = self._match(name, context)
        if kind is not None:
            return kind
        votes: dict[str, int] = {}
        for s in subs or []:
            k = self._match(s, description)
            if k is not None:
                votes[k] = votes.get(k, 0) + 1
        if votes:
            return max(votes, key=lambda k: votes[k])
        if description:
            kind = self._match(description, description)
            if kind is not None:
                return kind
        return "autre"

    def sub_type(self, parent: str, name: str) -> str:
        """The type of a sub-criterion named ``name`` of a criterion of type ``parent``:
        the parent's when its type says so (``subs_inherit``) or the name says nothing."""
        kind = self.classify(name, [], "")
        spec = self.types.get(parent)
        return parent if kind == "autre" or (spec is not None and spec.subs_inherit) else kind


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> CriteriaVocab:
    from tasks.dossier.yamlio import validate_yaml

    return validate_yaml(CriteriaVocab, Path(path).read_bytes(), path)


def load_criteria_vocab(root: str | Path | None = None) -> CriteriaVocab:
    """Load ``criteres.yaml`` of the clausier at ``root`` (default: the shipped one).

    Raises:
        InputError: invalid YAML or a field of the wrong shape (French, with the line).
    """
    from tasks.clausier.library import default_library_path

    base = Path(root) if root else default_library_path()
    path = base / VOCAB_FILE
    if not path.is_file():
        path = default_library_path() / VOCAB_FILE
    return _load(str(path), path.stat().st_mtime)
