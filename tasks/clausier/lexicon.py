"""The clausier's shared vocabulary and its compiled form: words → keys, cues → matchers.

See :mod:`tasks.clausier.recognition` for how they are applied. Every word of a piece
becomes a *key*: its lemma (simplemma, French), lower-cased and without accents; a word
the lemmatiser does not know is lightly stemmed; then the clausier's variants, synonym
sets and abbreviations apply. A cue is one to three words (``reconditionn*`` for a
prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field

from tasks.clausier.lemmas import lemma_info
from tasks.dossier.model import _Model
from tasks.dossier.normalize import fold

__all__ = ["MAX_CUE_WORDS", "TOC_RE", "Vocabulary", "cue_problems"]

#: No cue may hold more than this many consecutive literal words (issue 11, Build 4).
MAX_CUE_WORDS = 3


class ActCues(_Model):
    """Cues of the acts (clause_library/recognition.yaml, ``acts``)."""

    criterion: list[str] = Field(min_length=1)
    weight: list[str] = Field(min_length=1)
    actor: list[str] = Field(min_length=1)
    bidder: list[str] = Field(default=[])
    modal: list[str] = Field(min_length=1)
    requirement: list[str] = Field(default=[])
    possibility: list[str] = Field(default=[])
    model_clause: list[str] = Field(default=[])


class MentionCues(_Model):
    """Cues that make a block a mention, not a clause."""

    negation: list[str] = Field(default=[])
    applicable_texts: list[str] = Field(default=[])
    question: list[str] = Field(default=[])
    legal_text: list[str] = Field(default=[])
    context: list[str] = Field(default=[])


class Vocabulary(_Model):
    """clause_library/recognition.yaml: the vocabulary shared by every family.

    ``stopwords``: words dropped before matching; ``synonyms``: sets of single words a
    buyer uses for the same thing (the first is the canonical one); ``abbreviations``:
    abbreviation (without its dot) → expansion; ``variants``: domain word the lemmatiser
    does not know → the word it stands for; ``contract_pieces``: kinds of piece whose
    stipulations bind the titulaire (CCAP, CCTP…: a requirement stated there is an
    obligation); ``contract_piece_names``: cues naming such a piece in a heading (a clause
    bank's « A. Cahier des clauses administratives particulières »: its model clauses are
    stipulations); ``sanctions``: cues of a sanction (penalty) stated about an obligation —
    such a block presupposes the clause, the clause itself is cited first; ``piece_names``:
    kind of piece → cues naming it in a heading (a clause bank's « B. Cahier des clauses
    techniques particulières (CCTP) »: the model clauses below belong to that kind of
    piece); ``acts`` and ``mentions``: cues (one to three
    words each); ``max_gap``: words allowed between two words of a cue; ``window``:
    neighbouring blocks searched for the other concepts of a group.
    """

    max_gap: int = Field(default=2, ge=0, le=5)
    window: int = Field(default=1, ge=0, le=5)
    stopwords: list[str] = Field(default=[])
    synonyms: list[list[str]] = Field(default=[])
    abbreviations: dict[str, str] = Field(default={})
    variants: dict[str, str] = Field(default={})
    contract_pieces: list[str] = Field(default=[])
    contract_piece_names: list[str] = Field(default=[])
    sanctions: list[str] = Field(default=[])
    piece_names: dict[str, list[str]] = Field(default={})
    acts: ActCues
    mentions: MentionCues = Field(default_factory=MentionCues)


# --------------------------------------------------------------------------- words

_WORD_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:-[^\W\d_]+)*|%")
# Words and phrase barriers: a cue never spans a sentence or clause boundary.
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:-[^\W\d_]+)*|%|[.;:!?,()]")
_BARRIERS = frozenset(".;:!?,()")
#: A dotted acronym (« D.E.E.E. », « r.g.p.d. »): one word, not sentence ends.
_DOTTED_RE = re.compile(r"\b(?:[^\W\d_]\.){2,}")


def tokens(text: str) -> list[str]:
    """Tokens of a lower-case text as the cue index reads them: words, numbers, « % »
    and barriers (punctuation); a dotted acronym is one word (« d.e.e.e. » → « deee »)."""
    if "." in text:
        text = _DOTTED_RE.sub(lambda m: m.group().replace(".", ""), text)
    return _TOKEN_RE.findall(text)


_NUM = "<num>"
TOC_RE = re.compile(r"(\.{4,}|…{2,}|(\. ){4,}|_{4,})\s*\d+\s*$")
_FILL_RE = re.compile(r"\.{6,}|…{3,}|_{5,}|\[\s*\]|☐|□")
_LIST_START_RE = re.compile(r"^\s*(?:[-*•–]\s|\(?[a-z0-9]{1,3}[).]\s|\d+(?:\.\d+)*[.)-]?\s)")


def _stem(word: str) -> str:
    """Light stemming for words the lemmatiser does not know (plural ``-s``/``-x``,
    feminine ``-e``/``-ée``)."""
    if len(word) > 4 and word[-1] in "sx":
        word = word[:-1]
    if len(word) > 4 and word.endswith("ee"):
        word = word[:-1]
    if len(word) > 5 and word.endswith("e"):
        word = word[:-1]  # feminine
    return word


_RAW_KEYS: dict[str, str] = {}
#: Keys of words the lemmatiser does not know: only those may be typos.
_UNKNOWN: set[str] = set()


def _raw_key(word: str) -> str:
    """Folded lemma of a lower-case word (cached for the process)."""
    k = _RAW_KEYS.get(word)
    if k is None:
        if word[0].isdigit():
            k = word.replace(",", ".")
        elif word == "%":
            k = "%"
        else:
            lemma, known = lemma_info(word) if len(word) > 2 else (word, True)
            k = fold(lemma.lower()).replace("-", "")
            if not known:
                k = _stem(k)  # a word the dictionary does not know: domain word or typo
                if len(word) >= 5:
                    _UNKNOWN.add(k)
        _RAW_KEYS[word] = k
    return k


@lru_cache(maxsize=65536)
def _deletes(word: str) -> frozenset[str]:
    return frozenset(word[:i] + word[i + 1 :] for i in range(len(word)))


def _within_one(a: str, b: str) -> bool:
    """Levenshtein distance of ``a`` and ``b`` is at most 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


@dataclass(frozen=True, slots=True)
class _Word:
    key: str
    prefix: bool = False
    others: tuple[str, ...] = ()  # keys of the word's other forms (plural, feminine)


@dataclass(frozen=True, slots=True)
class _Cue:
    words: tuple[_Word, ...]
    text: str
    # how far a word may follow the previous one: " " within ``max_gap`` words, "+"
    # right after it (« pas+tenu »), "~" anywhere further in the phrase (« aucun~demandé »)
    join: str = " "


class _Lexicon:
    """The vocabulary compiled: word → key, cue text → matchers."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.max_gap = vocab.max_gap
        self.stop = {fold(w) for w in vocab.stopwords}
        self.variants = {self._base(w): self._base(v) for w, v in vocab.variants.items()}
        self.synonyms: dict[str, str] = {}
        for group in vocab.synonyms:
            keys = [self._base(w) for w in group]
            for k in keys:
                self.synonyms.setdefault(k, keys[0])
        self.abbrev: dict[str, tuple[str, ...]] = {}
        for abbr, expansion in vocab.abbreviations.items():
            keys = tuple(
                self.key(w) for w in _WORD_RE.findall(expansion.lower()) if fold(w) not in self.stop
            )
            self.abbrev[fold(abbr.lower()).rstrip(".")] = keys
        self._keys: dict[str, tuple[str, ...]] = {}
        self._cues: dict[str, _Cue] = {}

    def _base(self, word: str) -> str:
        return _raw_key(word.lower())

    def key(self, word: str) -> str:
        """Key of one lower-case word (no abbreviation expansion)."""
        k = _raw_key(word)
        k = self.variants.get(k, k)
        return self.synonyms.get(k, k)

    def keys(self, word: str) -> tuple[str, ...]:
        """Keys a lower-case word stands for: () for a stop word, several for an
        abbreviation."""
        out = self._keys.get(word)
        if out is None:
            f = fold(word)
            if f in self.stop:
                out = ()
            elif f in self.abbrev:
                out = self.abbrev[f]
            else:
                out = (self.key(word),)
            self._keys[word] = out
        return out

    def cue(self, text: str) -> _Cue:
        """Compile a cue (``reconditionn*`` is a prefix on the folded word)."""
        c = self._cues.get(text)
        if c is None:
            words: list[_Word] = []
            for raw in text.replace("+", " ").replace("~", " ").split():
                raw = raw.lower()
                if raw.endswith("*"):
                    words.append(_Word(fold(raw[:-1]).replace("-", ""), True))
                    continue
                if raw == "<num>":
                    words.append(_Word(_NUM))
                    continue
                for tok in _WORD_RE.findall(raw):
                    ks = self.keys(tok)
                    if len(ks) == 1 and tok.isalpha():
                        # the lemmatiser may give a form another lemma than its plural
                        # (« donnée » → donner, « données » → donnée): accept both
                        forms = {tok + "s", tok + "e", tok + "es"}
                        others = {self.key(f) for f in forms} - {ks[0]}
                        # and the written form itself, stemmed: a typo in an inflected
                        # word (« reconditonné ») is one edit away from it, not from
                        # its lemma (« reconditionner »)
                        surface = _stem(fold(tok).replace("-", ""))
                        if surface != ks[0] and len(surface) >= 5:
                            others.add(surface)
                        words.append(_Word(ks[0], False, tuple(sorted(others))))
                    else:
                        words.extend(_Word(k) for k in ks)
            c = _Cue(tuple(words), text, "+" if "+" in text else "~" if "~" in text else " ")
            self._cues[text] = c
        return c


def cue_problems(text: str) -> str | None:
    """Why a cue of the clausier is invalid (French), or None.

    A cue holds one to :data:`MAX_CUE_WORDS` words (letters, digits, ``%``, ``<num>``,
    an apostrophe or hyphen inside a word, a final ``*`` for a prefix): vocabulary, not
    sentences copied from a document. Words joined by ``+`` (« pas+tenu ») must follow
    each other (stop words aside) instead of allowing ``max_gap`` words between them;
    joined by ``~`` (« aucun~demandé »), they may be any distance apart within one
    phrase (no punctuation between them).
    """
    joins = {j for j in "+~" if j in text}
    if joins and (len(joins) > 1 or not re.fullmatch(r"[^+~\s]+(?:[+~][^+~\s]+)+", text.strip())):
        return (
            f"indice « {text} » : « + » joint des mots qui se suivent (« pas+tenu »), « ~ » "
            "des mots d'une même proposition (« aucun~demandé ») ; un seul des deux, sans "
            "espace, ni en tête ni en fin"
        )
    words = text.replace("+", " ").replace("~", " ").split()
    if not words:
        return "indice vide"
    if len(words) > MAX_CUE_WORDS:
        return (
            f"indice de {len(words)} mots « {text} » : {MAX_CUE_WORDS} mots consécutifs au "
            "plus (écrire un concept par idée, pas une phrase)"
        )
    for w in words:
        if w == "<num>":
            continue
        if not re.fullmatch(r"[^\W_]+(?:['./-][^\W_]+)*\*?|%", w):
            return f"indice « {text} » : mot « {w} » invalide (lettres, chiffres, %, * final)"
    return None


def _alternatives(concept: str) -> list[str]:
    return [c.strip() for c in concept.split("|") if c.strip()]
