"""Recognising a clause family in the blocks of a dossier: acts, lemmas and cues.

The law and the vocabulary are data: each clause's ``evidence`` (clause_library/clauses/
<ID>.yaml) declares the *acts* that count for the family and its *concepts*, and
clause_library/recognition.yaml holds the shared vocabulary (stop words, synonyms,
abbreviations, variants of domain words, the cues of each act and of mentions). This
module is the small generic engine that applies them:

1. **Words.** Every word of a piece becomes a *key*: its lemma (simplemma, French),
   lower-cased and without accents; a word the lemmatiser does not know is lightly
   stemmed (plural ``-s``/``-x``, ``-ée`` → ``-é``); then the clausier's variants
   (« écoconçu » → « écoconception ») and synonym sets (« prestataire » → « titulaire »)
   apply, and an abbreviation (« DCP ») stands for its expansion. Stop words are dropped.
2. **Cues.** A cue is one to three words (``clause environnementale``,
   ``reconditionn*`` for a prefix). It matches where its keys follow each other in that
   order with at most ``max_gap`` other words between two of them (an inserted
   adjective), any gender or number (lemmas), and one typo on words of five letters or
   more (edit distance 1). A *concept* is a set of alternative cues.
3. **Blocks.** Lines are grouped into blocks (paragraphs, list items, table rows,
   headings) within their section. A family's group matches at an *anchor* block when
   its first concept (the family's own term) is in the block and every other one is in
   the block, in a neighbouring block of the same section (``window``) or in the
   headings above it.
4. **Acts.** The anchor's context must express one of the family's acts: ``criterion``
   (a criterion cue and a weight, in points or %), ``obligation`` (an execution actor, a
   modal cue, or any stipulation of a contract piece — CCAP, CCTP…; a criterion is not
   an obligation, nor is a requirement on the candidate alone or a mere possibility
   « peut »), ``specification`` (an obligation or a requirement cue) or
   ``model_clause`` (a model clause of a clause bank).
5. **Mentions are not clauses.** A table-of-contents line, a question, an empty form
   field, a negation (« sans objet »), a block under a heading of applicable texts, a
   heading with no body, or a family's own ``negative`` cues in the anchor block: no hit.
6. **Score.** Every match is scored (concepts in the block itself weigh more than in
   its neighbours or headings, an act stated in the block itself and the expected piece
   add to it); the best blocks are reported, with their article heading.

Sources: Code de la commande publique, art. L2112-2 (execution conditions), R2152-7
(award criteria), L2111-2 (technical specifications); clause-families.md.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import repeat
from typing import Literal

from pydantic import Field

from tasks.clausier.lemmas import lemma_info
from tasks.dossier.document import PieceText
from tasks.dossier.model import ClauseEvidence, _Model
from tasks.dossier.normalize import fold

__all__ = [
    "ACTS",
    "MAX_CUE_WORDS",
    "TOC_RE",
    "Hit",
    "Recognizer",
    "Vocabulary",
    "cue_problems",
]

Act = Literal["criterion", "obligation", "specification", "model_clause"]
ACTS: tuple[str, ...] = ("criterion", "obligation", "specification", "model_clause")
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
_NUM = "<num>"
TOC_RE = re.compile(r"(\.{4,}|…{2,}|(\. ){4,}|_{4,})\s*\d+\s*$")
_FILL_RE = re.compile(r"\.{6,}|…{3,}|_{5,}|\[\s*\]|☐|□")
_CLAUSE_CALL_RE = re.compile(r"^\{\{-?\s*clause\s*\(")
_FENCE_OPEN_RE = re.compile(r"^:::+\s*\{[^}]*\.clause\b")
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
            for raw in text.split():
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
                        words.append(_Word(ks[0], False, tuple(sorted(others))))
                    else:
                        words.extend(_Word(k) for k in ks)
            c = _Cue(tuple(words), text)
            self._cues[text] = c
        return c


def cue_problems(text: str) -> str | None:
    """Why a cue of the clausier is invalid (French), or None.

    A cue holds one to :data:`MAX_CUE_WORDS` words (letters, digits, ``%``, ``<num>``,
    an apostrophe or hyphen inside a word, a final ``*`` for a prefix): vocabulary, not
    sentences copied from a document.
    """
    words = text.split()
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


# --------------------------------------------------------------------------- pieces


@dataclass(slots=True)
class _Block:
    start: int  # first line index
    end: int  # last line index (inclusive)
    section: int
    heading: bool
    text: str  # normalised text of the block (lines joined by spaces)
    roles: frozenset[str] = frozenset()  # the reader's roles (toc, question, form_label…)


#: Act → the cue sets that state it in a block (its own words, not its headings').
_ACT_CUES: dict[str, tuple[str, ...]] = {
    "criterion": ("criterion",),
    "obligation": ("actor", "modal"),
    "specification": ("actor", "modal", "requirement"),
    "model_clause": ("model_clause",),
}

#: Roles of the reader's blocks (tasks/dossier/blocks.py) that mention without stating.
_MENTION_ROLES = frozenset(
    {"toc", "applicable_texts", "form_label", "question", "placeholder", "empty_heading"}
)


@dataclass(slots=True)
class _Index:
    """One piece prepared for matching: tokens, blocks and cue cache."""

    piece: PieceText
    keys: list[str]
    tok_line: list[int]
    tok_phrase: list[int]
    positions: dict[str, list[int]]
    blocks: list[_Block]
    line_block: list[int]
    section_blocks: dict[int, list[int]]
    heading_blocks: dict[int, list[int]]  # section → heading blocks of it and its parents
    deletes: dict[str, list[str]] | None = None  # deletion variant → unknown piece keys
    typos: dict[str, list[str]] = field(default_factory=dict)  # cue key → typo keys
    words: dict[_Word, list[int]] = field(default_factory=dict)
    cue_lines: dict[str, frozenset[int]] = field(default_factory=dict)
    concepts: dict[tuple[str, ...], dict[int, int]] = field(default_factory=dict)
    mentions: dict[int, bool] = field(default_factory=dict)
    acts: dict[tuple, set[str]] = field(default_factory=dict)
    sets: dict[str, set[int]] = field(default_factory=dict)
    kinds: dict[int, str | None] = field(default_factory=dict)  # heading → kind it names
    questionnaires: dict[int, bool] = field(default_factory=dict)  # section → mostly questions


def _blocks(piece: PieceText) -> tuple[list[_Block], list[int]]:
    """Group lines into blocks: a heading, a list item or a paragraph."""
    heading_lines = {s.line_index for s in piece.sections}
    blocks: list[_Block] = []
    line_block: list[int] = []
    cur: list[int] = []

    model = getattr(piece, "model", None)
    model_blocks = model.blocks if model is not None else []

    def close() -> None:
        if cur:
            lines = piece.lines
            mb = getattr(lines[cur[0]], "block", -1)
            roles = (
                frozenset(model_blocks[mb].roles) if 0 <= mb < len(model_blocks) else frozenset()
            )
            blocks.append(
                _Block(
                    cur[0],
                    cur[-1],
                    lines[cur[0]].section,
                    cur[0] in heading_lines,
                    " ".join(lines[i].text for i in cur),
                    roles,
                )
            )
            cur.clear()

    prev_text = ""
    in_fence = False
    for i, line in enumerate(piece.lines):
        text = line.text.strip()
        # A library clause (« {{ clause(…) }} » call or « ::: {.clause} » block) is the
        # checker's business, not a hand-written text: its lines form no block.
        if in_fence and (i in heading_lines or text == ":::"):
            in_fence = text == ":::"  # the closing fence is skipped below; a heading ends it
        if in_fence or _CLAUSE_CALL_RE.match(text) or _FENCE_OPEN_RE.match(text):
            in_fence = (in_fence or bool(_FENCE_OPEN_RE.match(text))) and text != ":::"
            close()
            line_block.append(-1)  # no block: its words are not indexed
            prev_text = ""
            continue
        mb = getattr(line, "block", -1)
        if model_blocks and mb >= 0:
            # the reader's blocks are authoritative (paragraphs, list items, table rows)
            new = (
                not cur
                or i in heading_lines
                or (cur[0] in heading_lines)
                or mb != getattr(piece.lines[cur[-1]], "block", -1)
                or model_blocks[mb].kind == "table"
                or text[:1] in "<|"
            )
        else:
            new = None
        new = (
            new
            if new is not None
            else (
                not cur
                or i in heading_lines
                or (cur and cur[0] in heading_lines)
                or not text
                or line.section != piece.lines[cur[-1]].section
                or bool(_LIST_START_RE.match(text))
                or (prev_text.endswith((".", ";", ":", "!", "?")) and text[:1].isupper())
                or text[:1] in "<|"  # a row or cell of a table (HTML or Markdown)
            )
        )
        if new:
            close()
        if text:
            cur.append(i)
            line_block.append(len(blocks))
        else:
            line_block.append(len(blocks))  # blank line: attached to the next block
        prev_text = text
    close()
    # Blank lines at the end point past the last block: clamp.
    last = max(len(blocks) - 1, 0)
    line_block = [min(b, last) if b >= 0 else -1 for b in line_block]
    return blocks, line_block


class Recognizer:
    """Applies the clausier's evidence to pieces; caches each piece's index.

    One recognizer per check (or per process for a batch: the word keys are cached for
    the process, the piece indexes per recognizer).

    Example::

        rec = Recognizer(clausier.vocabulary)
        hits = rec.find(dossier.pieces, clause.evidence)
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.lex = _Lexicon(vocab)
        self.window = vocab.window
        self.contract_pieces = frozenset(vocab.contract_pieces)
        self._indexes: dict[int, _Index] = {}
        # keys of a line's words (None: a phrase barrier), shared by every piece: a
        # repository's dossiers repeat most of their boilerplate
        self._line_keys: dict[str, tuple[str | None, ...]] = {}
        acts = vocab.acts
        self._act = {
            "criterion": [acts.criterion],
            "weight": [acts.weight],
            "actor": [acts.actor],
            "bidder": [acts.bidder],
            "modal": [acts.modal],
            "requirement": [acts.requirement],
            "model_clause": [acts.model_clause],
            "possibility": [acts.possibility],
            "contract_heading": [vocab.contract_piece_names],
            "sanction": [vocab.sanctions],
            "negation": [vocab.mentions.negation],
            "applicable": [vocab.mentions.applicable_texts],
            "context": [vocab.mentions.context],
        }
        self._piece_names = {k: [v] for k, v in vocab.piece_names.items()}
        self._words_of: dict[tuple[str, ...], tuple[_Word, ...]] = {}
        self._legal = {
            k
            for q in vocab.mentions.legal_text
            for w in _WORD_RE.findall(q.lower())
            for k in self.lex.keys(w)
        }
        self._question = {
            k
            for q in vocab.mentions.question
            for w in _WORD_RE.findall(q.lower())
            for k in self.lex.keys(w)
        }

    def forget(self) -> None:
        """Drop the piece indexes (the word keys stay cached)."""
        self._indexes.clear()

    # ------------------------------------------------------------------ indexing

    def index(self, piece: PieceText) -> _Index:
        """The piece's tokens and blocks (computed once per piece object)."""
        idx = self._indexes.get(id(piece))
        if idx is not None and idx.piece is piece:
            return idx
        lex = self.lex
        keys: list[str] = []
        tok_line: list[int] = []
        tok_phrase: list[int] = []
        cache = lex._keys
        phrase = 0
        blocks, line_block = _blocks(piece)
        prev_block = -1
        for li, line in enumerate(piece.lines):
            if line_block[li] < 0:
                continue
            if line_block[li] != prev_block:
                phrase += 1
                prev_block = line_block[li]
            line_keys = self._line_keys.get(line.text)
            if line_keys is None:
                line_keys = []
                for w in _TOKEN_RE.findall(line.text.lower()):
                    if w in _BARRIERS:
                        line_keys.append(None)
                        continue
                    ks = cache.get(w)
                    if ks is None:
                        ks = lex.keys(w)
                    line_keys.extend(ks)
                if len(self._line_keys) > 200_000:
                    self._line_keys.clear()  # bounded memory in a long batch
                self._line_keys[line.text] = line_keys = tuple(line_keys)
            if None in line_keys:
                for k in line_keys:
                    if k is None:
                        phrase += 1
                        continue
                    keys.append(k)
                    tok_line.append(li)
                    tok_phrase.append(phrase)
            else:
                n = len(line_keys)
                keys.extend(line_keys)
                tok_line.extend(repeat(li, n))
                tok_phrase.extend(repeat(phrase, n))
        positions: dict[str, list[int]] = {}
        nums: list[int] = []
        for p, k in enumerate(keys):
            lst = positions.get(k)
            if lst is None:
                positions[k] = [p]
            else:
                lst.append(p)
            if k[0].isdigit():
                nums.append(p)
        positions[_NUM] = nums
        section_blocks: dict[int, list[int]] = {}
        for bi, b in enumerate(blocks):
            section_blocks.setdefault(b.section, []).append(bi)
        heading_blocks: dict[int, list[int]] = {}
        secs = piece.sections
        for si, sec in enumerate(secs):
            chain = [line_block[sec.line_index]] if sec.line_index < len(line_block) else []
            level = sec.level
            for pj in range(si - 1, -1, -1):
                if secs[pj].level < level:
                    if secs[pj].line_index < len(line_block):
                        chain.append(line_block[secs[pj].line_index])
                    level = secs[pj].level
                    if level <= 1:
                        break
            heading_blocks[si] = chain
        idx = _Index(
            piece,
            keys,
            tok_line,
            tok_phrase,
            positions,
            blocks,
            line_block,
            section_blocks,
            heading_blocks,
        )
        self._indexes[id(piece)] = idx
        return idx

    @staticmethod
    def _typo_probes(idx: _Index) -> dict[str, list[str]]:
        """One-deletion variants (and the word itself) → the piece's keys of ≥ 5
        letters that the lemmatiser does not know (built once per piece)."""
        if idx.deletes is None:
            out: dict[str, list[str]] = {}
            for u in idx.positions:
                if len(u) >= 5 and u in _UNKNOWN:
                    for probe in (u, *_deletes(u)):
                        out.setdefault(probe, []).append(u)
            idx.deletes = out
        return idx.deletes

    def _typo_keys(self, idx: _Index, key: str) -> list[str]:
        """Keys of the piece within one edit of ``key`` (``key`` ≥ 5 letters), among the
        words the lemmatiser does not know (« décret » is not a typo of « déchet »).
        Symmetric-delete search: two words are within one edit only if their sets of
        one-deletion variants (with themselves) meet."""
        got = idx.typos.get(key)
        if got is None:
            probes = self._typo_probes(idx)
            seen: set[str] = set()
            for probe in (key, *_deletes(key)):
                for u in probes.get(probe, ()):
                    if u != key and u not in seen and _within_one(u, key):
                        seen.add(u)
            got = idx.typos[key] = sorted(seen)
        return got

    def _word_positions(self, idx: _Index, w: _Word) -> list[int]:
        got = idx.words.get(w)
        if got is None:
            got = idx.words[w] = self._positions_of(idx, w)
        return got

    def _positions_of(self, idx: _Index, w: _Word) -> list[int]:
        if w.prefix:
            out: list[int] = []
            for k, ps in idx.positions.items():
                if k.startswith(w.key):
                    out.extend(ps)
            return sorted(out)
        ps = list(idx.positions.get(w.key, ()))
        for k in w.others:
            ps.extend(idx.positions.get(k, ()))
        if len(w.key) >= 5 and w.key.isalpha():
            for k in self._typo_keys(idx, w.key):
                ps.extend(idx.positions[k])
        if len(ps) > 1:
            ps = sorted(set(ps))
        return ps

    def cue_lines(self, idx: _Index, text: str) -> frozenset[int]:
        """Line indexes where a cue starts (cached per piece)."""
        got = idx.cue_lines.get(text)
        if got is not None:
            return got
        cue = self.lex.cue(text)
        lines: set[int] = set()
        if cue.words:
            first = self._word_positions(idx, cue.words[0])
            if len(cue.words) == 1:
                lines = {idx.tok_line[p] for p in first}
            else:
                rest = [set(self._word_positions(idx, w)) for w in cue.words[1:]]
                gap = self.lex.max_gap + 1
                phrase = idx.tok_phrase
                if all(rest):
                    for p in first:
                        cur = p
                        ph = phrase[p]
                        for ps in rest:
                            nxt = -1
                            for q in range(cur + 1, cur + 1 + gap):
                                if q in ps and phrase[q] == ph:
                                    nxt = q
                                    break
                            if nxt < 0:
                                break
                            cur = nxt
                        else:
                            lines.add(idx.tok_line[p])
        got = frozenset(lines)
        idx.cue_lines[text] = got
        return got

    def _concept_blocks(self, idx: _Index, concept: Iterable[str]) -> dict[int, int]:
        """Block → first line where one of the concept's cues matches (cached per piece)."""
        concept = tuple(concept)
        got = idx.concepts.get(concept)
        if got is not None:
            return got
        out: dict[int, int] = {}
        idx.concepts[concept] = out
        for text in concept:
            for li in self.cue_lines(idx, text):
                b = idx.line_block[li]
                if b not in out or li < out[b]:
                    out[b] = li
        return out

    def _act_blocks(self, idx: _Index, name: str) -> set[int]:
        return set(self._concept_blocks(idx, self._act[name][0]))

    # ------------------------------------------------------------------ acts

    def _own(self, idx: _Index, b: int) -> list[int]:
        """The blocks that state the anchor's act: itself, its headings and, for a list
        item or a block after an introduction ending in « : », the block before it."""
        block = idx.blocks[b]
        own = [b, *idx.heading_blocks.get(block.section, ())]
        sec = idx.section_blocks.get(block.section, [b])
        pos = sec.index(b)
        for j in range(pos - 1, max(-1, pos - 8), -1):
            prev = idx.blocks[sec[j]]
            if prev.heading:
                break
            if prev.text.rstrip().endswith(":"):
                own.append(sec[j])
                break
            if not _LIST_START_RE.match(
                idx.piece.lines[prev.start].text
            ) and not _LIST_START_RE.match(idx.piece.lines[block.start].text):
                break
        return own

    def _sets(self, idx: _Index) -> dict[str, set[int]]:
        """Blocks holding the cues of each act and mention (computed once per piece)."""
        sets = idx.sets
        if not sets:
            for name in self._act:
                sets[name] = self._act_blocks(idx, name)
        return sets

    def _acts(self, idx: _Index, b: int, ctx: Sequence[int]) -> set[str]:
        """Acts the anchor block ``b`` expresses (see the module docstring)."""
        key = (b, tuple(ctx))
        got = idx.acts.get(key)
        if got is not None:
            return got
        sets = self._sets(idx)
        own = set(self._own(idx, b))
        acts: set[str] = set()
        if own & sets["criterion"] and (own | set(ctx)) & sets["weight"]:
            acts.add("criterion")
        else:
            actor = bool(own & sets["actor"])
            modal = bool(own & sets["modal"])
            bidder_only = bool(own & sets["bidder"]) and not actor
            maybe_only = b in sets["possibility"] and not modal
            contract = idx.piece.kind in self.contract_pieces or bool(
                set(idx.heading_blocks.get(idx.blocks[b].section, ())) & sets["contract_heading"]
            )
            required = bool(own & sets["requirement"])
            if not bidder_only and not maybe_only:
                if actor or modal or contract:
                    acts.update(("obligation", "specification"))
                elif required:
                    acts.add("specification")
        if set(ctx) & sets["model_clause"] or own & sets["model_clause"]:
            acts.add("model_clause")
        idx.acts[key] = acts
        return acts

    def _mention(self, idx: _Index, b: int, negative: set[int]) -> bool:
        """The block mentions without stating (family ``negative`` cues included)."""
        if b in negative:
            return True
        got = idx.mentions.get(b)
        if got is None:
            got = idx.mentions[b] = self._is_mention(idx, b)
        return got

    def _is_mention(self, idx: _Index, b: int) -> bool:
        sets = self._sets(idx)
        block = idx.blocks[b]
        text = block.text
        if block.roles & _MENTION_ROLES:
            return True  # marked by the reader (table of contents, form field, question…)
        if TOC_RE.search(text) or "?" in text or _FILL_RE.search(text):
            return True
        if b in sets["negation"]:
            return True
        first = _WORD_RE.search(text.lower().lstrip("-*•– "))
        if first:
            keys = self.lex.keys(first.group())
            if any(k in self._question for k in keys):
                return True
            # an item of a list of texts (« - Directive 2016/2102 … »), or a sentence whose
            # subject is a text (« La loi Climat imposera … »): a reminder of the law
            if any(k in self._legal for k in keys):
                return True
            subject = next(
                (k for w in _WORD_RE.findall(text.lower()[:60]) for k in self.lex.keys(w)), None
            )
            if subject in self._legal:
                return True
        heads = idx.heading_blocks.get(block.section, ())
        if any(h in sets["applicable"] for h in heads[:1]):
            return True
        return False

    # ------------------------------------------------------------------ search

    def find(
        self,
        pieces: Sequence[PieceText],
        evidence: ClauseEvidence,
        *,
        limit: int = 5,
    ) -> list[Hit]:
        """Blocks where ``evidence`` recognises its family, best first.

        Args:
            pieces: every piece of the dossier (all are searched; a piece whose kind is
                not in ``evidence.pieces`` yields hits with ``expected=False``).
            evidence: the family's acts, concepts and negative cues.
            limit: at most that many hits (one per block).

        Returns:
            Hits sorted by decreasing score; empty when nothing expresses the family.
        """
        hits: list[Hit] = []
        if not evidence.any:
            return hits
        for piece in pieces:
            hits.extend(self._find_in(piece, evidence))
        hits.sort(key=lambda h: (-h.score, not h.expected, h.order))
        if len(hits) > 1 and not hits[0].expected:
            # stated where it belongs at a comparable strength: cite it there
            home = next((h for h in hits if h.expected and h.score >= hits[0].score - 0.15), None)
            if home is not None:
                hits.remove(home)
                hits.insert(0, home)
        if len(hits) > 1:
            # Near ties (within 0.08) in the enclosing articles of the best hit: a clause is
            # stated at the head of its article, its sub-articles give the modalities
            # (follow-up, penalties), so the statement is cited.
            top = hits[0]
            chain = self._article_chain(top)
            near = [
                h
                for h in hits
                if h.piece is top.piece
                and h.score >= top.score - 0.08
                and h.piece.lines[h.start].section in chain
            ]
            first = min(near, key=lambda h: h.order)
            if first is not top:
                hits.remove(first)
                hits.insert(0, first)
        return hits[:limit]

    def _article_chain(self, hit: Hit) -> set[int]:
        """Section of the hit and the sections enclosing it."""
        piece = hit.piece
        sec = piece.lines[hit.start].section
        chain = {sec}
        if sec < 0:
            return chain
        level = piece.sections[sec].level
        for j in range(sec - 1, -1, -1):
            if piece.sections[j].level < level:
                chain.add(j)
                level = piece.sections[j].level
        return chain

    def _find_in(self, piece: PieceText, evidence: ClauseEvidence) -> list[Hit]:
        idx = self.index(piece)
        if not idx.blocks:
            return []
        negative = set(self._concept_blocks(idx, evidence.negative)) if evidence.negative else set()
        expected = not evidence.pieces or piece.kind in evidence.pieces
        wanted = set(evidence.acts)
        best: dict[int, Hit] = {}
        groups_at: dict[int, int] = {}  # block → number of groups matched there
        family_blocks: set[int] = set()  # blocks holding a family term (any group)
        vocabulary_blocks: list[set[int]] = []  # per group: blocks with its other concepts
        for group in evidence.any:
            concepts0 = self._concept_blocks(idx, _alternatives(group.all[0]))
            family_blocks.update(concepts0)
            others: set[int] = set()
            for c in group.all[1:]:
                others.update(self._concept_blocks(idx, _alternatives(c)))
            vocabulary_blocks.append(others)
        for gi, group in enumerate(evidence.any):
            w = self.window if group.window is None else group.window
            concepts = [self._concept_blocks(idx, _alternatives(c)) for c in group.all]
            if any(not c for c in concepts):
                continue
            # The first concept is the family's own term: the block must hold it, or the
            # heading of its section name it (« Clause de progrès » over its body).
            anchors = {b: 1.0 for b in concepts[0] if not idx.blocks[b].heading}
            # a body under such a heading must itself use the family's vocabulary (an
            # « Engagements environnementaux » heading over a mere cross-reference is not
            # a clause)
            family_vocab = family_blocks.union(*vocabulary_blocks)
            for h in concepts[0]:
                if idx.blocks[h].heading:
                    for b in idx.section_blocks.get(idx.blocks[h].section, [])[1:3]:
                        if b in family_vocab:
                            anchors.setdefault(b, 0.8)
            for b in sorted(anchors):
                block = idx.blocks[b]
                if block.heading:
                    continue  # a heading alone is not a clause; its body is searched
                sec_blocks = idx.section_blocks.get(block.section, [b])
                pos = sec_blocks.index(b)
                ctx = sec_blocks[max(0, pos - w) : pos + w + 1]
                heads = idx.heading_blocks.get(block.section, [])
                # the family's own term: in the block (1.0) or its article's heading (0.8)
                score = anchors[b]
                ok = True
                for c in concepts[1:]:
                    if b in c:
                        score += 1.0
                    elif any(x in c for x in ctx):
                        score += 0.5
                    elif any(h in c for h in heads):
                        score += 0.6
                    else:
                        ok = False
                        break
                if not ok:
                    continue
                if self._mention(idx, b, negative):
                    continue
                acts = self._acts(idx, b, ctx)
                if wanted and not (acts & wanted):
                    continue
                score /= len(concepts)
                groups_at[b] = groups_at.get(b, 0) + 1
                prev = best.get(b)
                if prev is None or score > prev.score:
                    best[b] = Hit(
                        piece=piece,
                        index=concepts[0].get(b, block.start),
                        start=block.start,
                        end=block.end,
                        group=gi,
                        score=score,
                        expected=expected,
                        act=sorted(acts & wanted)[0] if wanted else "",
                        order=block.start,
                    )
        return self._rank(idx, evidence, best, groups_at, family_blocks, expected)

    # ------------------------------------------------------------------ ranking

    def _rank(
        self,
        idx: _Index,
        evidence: ClauseEvidence,
        best: dict[int, Hit],
        groups_at: dict[int, int],
        family_blocks: set[int],
        expected: bool,
    ) -> list[Hit]:
        """Final scores (0–1) of the matched blocks: the block a reader would cite.

        A block is a better citation when it states the family's own terms and act,
        under a heading about the family, in the expected piece (or, in a clause bank,
        under a heading naming that kind of piece), matching several groups, concise and
        dense in the family's vocabulary; it is a worse one in a part that only gives
        the context (a reminder of the law, preliminary exchanges with suppliers, an
        introduction: ``mentions.context`` and ``applicable_texts`` headings) or when it
        states a sanction.
        """
        sets = self._sets(idx)
        act_sets = [sets[k] for a in evidence.acts or ACTS for k in _ACT_CUES[a]]
        context = sets["context"] | sets["applicable"]
        words = self._family_words(evidence)
        # a piece of no known kind (a guide, a clause bank) whose parts may be named after
        # the pieces they are for
        bank = (
            idx.piece.kind not in self._piece_names and idx.piece.kind not in self.contract_pieces
        )
        out: list[Hit] = []
        for b, hit in best.items():
            heads = idx.heading_blocks.get(idx.blocks[b].section, [])
            # the block and the introduction of its list (« … est tenu de : »)
            stated = [x for x in self._own(idx, b) if not idx.blocks[x].heading]
            bonus = 0.1 * min(groups_at[b] - 1, 2)
            bonus += 0.2 if any(h in family_blocks for h in heads) else 0.0
            bonus += 0.15 if any(x in v for v in act_sets for x in stated) else 0.0
            if expected:
                bonus += 0.1
            elif bank and self._named_kind(idx, heads) in evidence.pieces:
                bonus += 0.2  # the part of a clause bank for the expected piece
            if b in sets["sanction"] or (heads and heads[0] in sets["sanction"]):
                bonus -= 0.2  # a penalty presupposes the clause: cite the clause
            if any(h in context for h in heads) or self._questionnaire(idx, b):
                bonus -= 0.5  # the law recalled, suppliers questioned: not the clause
            if any(x in sets["possibility"] and x in sets["modal"] for x in stated):
                bonus -= 0.15  # « l'acheteur peut imposer … » : advice on the clause
            # a concise statement of the family (a list item, a short paragraph) is a
            # better citation than a long paragraph that also mentions it
            n_words = len(idx.blocks[b].text.split())
            bonus += 0.15 * max(0.0, 1.0 - n_words / 80)
            inside, outside, total = self._coverage(idx, b, words, evidence.any[hit.group].all[0])
            # (a block of a few words — a label, a list title — has no density to speak of)
            bonus += 0.2 * min(1.0, 3.0 * outside / total, total / 10) if total else 0.0
            if inside:
                bonus -= 0.2  # named only as an example in parentheses
            score = round(min(1.0, max(0.0, (hit.score + bonus) / 1.9)), 3)
            out.append(replace(hit, score=score))
        return out

    def _questionnaire(self, idx: _Index, b: int) -> bool:
        """Block ``b`` is in a section whose body is one third questions or more (a
        sourcing questionnaire: its examples and remarks are not clauses)."""
        sec = idx.blocks[b].section
        got = idx.questionnaires.get(sec)
        if got is None:
            body = [x for x in idx.section_blocks.get(sec, []) if not idx.blocks[x].heading]
            asked = sum(1 for x in body if self._asks(idx.blocks[x]))
            got = idx.questionnaires[sec] = sec >= 0 and 3 * asked >= len(body) > 0
        return got

    def _asks(self, block: _Block) -> bool:
        if "question" in block.roles or block.text.rstrip().endswith("?"):
            return True
        first = _WORD_RE.search(block.text.lower().lstrip("-*•– "))
        return bool(first) and any(k in self._question for k in self.lex.keys(first.group()))

    def _coverage(
        self, idx: _Index, b: int, words: Sequence[_Word], own: str
    ) -> tuple[int, int, int]:
        """(family's own words when all are inside parentheses, else 0; family's words
        outside parentheses; words) of block ``b``: an example between parentheses is
        not the statement."""
        block = idx.blocks[b]
        lo = bisect_left(idx.tok_line, block.start)
        hi = bisect_right(idx.tok_line, block.end)
        if hi <= lo:
            return 0, 0, 0
        nested = self._in_parentheses(idx, b, lo, hi)
        hit = self._block_words(idx, words, lo, hi)
        own_hit = self._block_words(idx, self._family_words_of((own,)), lo, hi)
        if own_hit and not own_hit - nested:
            return len(own_hit), len(hit - nested), hi - lo
        return 0, len(hit - nested), hi - lo

    def _block_words(self, idx: _Index, words: Sequence[_Word], lo: int, hi: int) -> set[int]:
        """Positions ``lo``–``hi`` holding one of ``words`` as written (typos are not
        looked up here: a density needs no new typo index)."""
        out: set[int] = set()
        for w in words:
            ps = idx.words.get(w)
            if ps is None:
                if w.prefix:
                    continue
                ps = idx.positions.get(w.key, [])
                if w.others:
                    ps = sorted({*ps, *(p for k in w.others for p in idx.positions.get(k, ()))})
            out.update(ps[bisect_left(ps, lo) : bisect_left(ps, hi)])
        return out

    def _in_parentheses(self, idx: _Index, b: int, lo: int, hi: int) -> set[int]:
        """Token positions of block ``b`` (tokens ``lo``–``hi``) between parentheses,
        re-reading its lines as :meth:`index` does."""
        block = idx.blocks[b]
        out: set[int] = set()
        if "(" not in block.text:
            return out
        p, depth = lo, 0
        for li in range(block.start, block.end + 1):
            for w in _TOKEN_RE.findall(idx.piece.lines[li].text.lower()):
                if w == "(":
                    depth += 1
                elif w == ")":
                    depth = max(0, depth - 1)
                elif w not in _BARRIERS:
                    n = len(self.lex.keys(w))
                    if depth:
                        out.update(range(p, min(p + n, hi)))
                    p += n
        return out

    def _family_words(self, evidence: ClauseEvidence) -> tuple[_Word, ...]:
        """Every word of the family's cues (for the density of a block)."""
        return self._family_words_of(tuple(c for g in evidence.any for c in g.all))

    def _family_words_of(self, key: tuple[str, ...]) -> tuple[_Word, ...]:
        got = self._words_of.get(key)
        if got is None:
            ws = {w for c in key for alt in _alternatives(c) for w in self.lex.cue(alt).words}
            got = self._words_of[key] = tuple(w for w in ws if w.key != _NUM)
        return got

    def _density(self, idx: _Index, b: int, words: Sequence[_Word]) -> float:
        """Share of the block's words that belong to the family's cues (0–1)."""
        block = idx.blocks[b]
        lo = bisect_left(idx.tok_line, block.start)
        hi = bisect_right(idx.tok_line, block.end)
        if hi <= lo:
            return 0.0
        hit: set[int] = set()
        for w in words:
            ps = self._word_positions(idx, w)
            hit.update(ps[bisect_left(ps, lo) : bisect_left(ps, hi)])
        return len(hit) / (hi - lo)

    def _named_kind(self, idx: _Index, heads: Sequence[int]) -> str | None:
        """Kind of piece the nearest heading naming one designates (« B. Cahier des
        clauses techniques particulières (CCTP) » → cctp; the first named when a
        heading names several: « CCAP ou CCP » → ccap)."""
        for h in heads:
            got = idx.kinds.get(h, "")
            if got == "":
                got = idx.kinds[h] = self._first_kind(idx, h)
            if got is not None:
                return got
        return None

    def _first_kind(self, idx: _Index, h: int) -> str | None:
        block = idx.blocks[h]
        lo = bisect_left(idx.tok_line, block.start)
        hi = bisect_right(idx.tok_line, block.end)
        first: tuple[int, str] | None = None
        for kind, (cues,) in self._piece_names.items():
            if h not in self._concept_blocks(idx, cues):
                continue
            for text in cues:
                ws = self.lex.cue(text).words
                if not ws:
                    continue
                ps = self._word_positions(idx, ws[0])
                i = bisect_left(ps, lo)
                if i < len(ps) and ps[i] < hi and (first is None or ps[i] < first[0]):
                    first = (ps[i], kind)
        return first[1] if first else None


def _alternatives(concept: str) -> list[str]:
    return [c.strip() for c in concept.split("|") if c.strip()]


@dataclass(frozen=True, slots=True)
class Hit:
    """A block that expresses a family.

    Attributes:
        piece: the piece.
        index: index in ``piece.lines`` of the line to cite (where the concept is).
        start, end: line indexes of the block (inclusive).
        group: index of the evidence group that matched.
        score: 0–1, higher is a better match.
        expected: the piece's kind is one of the family's expected pieces.
        act: the act found (criterion, obligation, specification, model_clause).
        order: position in the piece, for stable sorting.
    """

    piece: PieceText
    index: int
    start: int
    end: int
    group: int
    score: float
    expected: bool
    act: str
    order: int
