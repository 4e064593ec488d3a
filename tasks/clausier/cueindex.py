"""Where the clausier's cues start in a block of text, remembered per block text.

A cue (one to three words, :mod:`tasks.clausier.lexicon`) never spans two blocks: its
words follow each other within one *phrase*, and a phrase ends at each block and each
punctuation barrier. What cues a block holds is therefore a function of the block's
lines alone, and :class:`CueIndex` computes it once per distinct block text for the
process: ``cahier check --all`` meets the same paragraphs again and again across the
dossiers of a repository (boilerplate, library clauses, a buyer's own wording reused),
and each new block is scanned once for every cue of the clausier at the same time.

The scan goes word by word: a word's key (lemma, variant, synonym) is matched against
the words of every registered cue at once — its exact key and other forms, a number for
``<num>``, a prefix (``reconditionn*``), one typo on a word of five letters or more that
the lemmatiser does not know (symmetric-delete lookup) — and, where it is the first word
of cues, their following words are looked for at most ``max_gap`` words further in the
same phrase. The result is exactly what a search of each cue over the whole piece gives
(the recognizer's reference semantics, see :mod:`tasks.clausier.recognition`).

Cues are registered before the blocks are scanned (the vocabulary's acts and piece
names, then every clause's evidence); a cue registered later is scanned for in the
blocks already remembered when they are met again (``covered``), so results never depend
on the order of registration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

from tasks.memo import BoundedMemo

from .lexicon import (
    _BARRIERS,
    _NUM,
    _UNKNOWN,
    _Cue,
    _deletes,
    _Lexicon,
    _within_one,
    _Word,
    tokens,
)

__all__ = ["BlockCues", "CueIndex"]

#: Where a line is cut into sentences (after « . » or « ; » and a space).
_SENTENCE_END_RE = re.compile(r"(?<=[.;])\s+")

#: Distinct blocks remembered for the process (~0.7 kB each; the phrase, sentence and
#: line memos hold up to 2 × as many entries, a few hundred bytes each).
BLOCK_LIMIT = 30_000


@dataclass(slots=True)
class BlockCues:
    """One block's words and the cues that start in it.

    toks: the keys of its words, in order (stop words dropped); line: the block's line
    (0 = its first) of each word; matches: cue text → the block's lines where it starts
    (ascending); covered: number of registered cues this record was scanned for; at:
    the answers of :meth:`CueIndex.words_at` (a block is ranked for many dossiers).
    """

    toks: tuple[str, ...]
    line: tuple[int, ...]
    phrase: tuple[int, ...]
    matches: dict[str, list[int]]
    covered: int
    # id of a word set → (that set, positions of the words matching it): :meth:`words_at`
    at: dict[int, tuple[object, frozenset[int]]] = field(default_factory=dict)


@dataclass(slots=True)
class _PhraseCues:
    found: list[tuple[int, int]]  # (cue index, word where it starts)
    covered: int


class CueIndex:
    """The registered cues, compiled for a word-by-word scan, and the blocks scanned.

    Example::

        cues = CueIndex(lexicon)
        cues.register(["clause environnementale", "reconditionn*"])
        rec = cues.block(("Le titulaire respecte la clause environnementale.",))
        rec.matches  # {"clause environnementale": [0]}
    """

    def __init__(self, lex: _Lexicon) -> None:
        self.lex = lex
        self.gap = lex.max_gap + 1
        self.cues: list[_Cue] = []
        self.position: dict[str, int] = {}  # cue text → its index in ``cues``
        self._first: dict[_Word, list[int]] = {}  # first word → cues it starts
        self._exact: dict[str, set[_Word]] = {}  # key or other form → words
        self._numbers: set[_Word] = set()  # « <num> » words
        self._prefix: dict[int, dict[str, set[_Word]]] = {}  # length → prefix → words
        self._typo: dict[str, set[_Word]] = {}  # deletion variant → words (≥ 5 letters)
        self._known: set[_Word] = set()
        # word key → (words it matches, cues it starts); emptied when a cue is added
        self._matched: BoundedMemo[str, tuple[frozenset[_Word], tuple[int, ...]]] = BoundedMemo(
            2 * BLOCK_LIMIT
        )
        # keys of a line's words (None: a phrase barrier)
        self._line_keys: BoundedMemo[str, tuple[str | None, ...]] = BoundedMemo(2 * BLOCK_LIMIT)
        self._sentences: BoundedMemo[str, tuple[str | None, ...]] = BoundedMemo(2 * BLOCK_LIMIT)
        self._blocks: BoundedMemo[tuple[str, ...], BlockCues] = BoundedMemo(BLOCK_LIMIT)
        self._phrases: BoundedMemo[tuple[str, ...], _PhraseCues] = BoundedMemo(2 * BLOCK_LIMIT)

    # ------------------------------------------------------------------ registry

    def register(self, texts: Iterable[str]) -> None:
        """Add cues (texts as written in the clausier); known ones are skipped."""
        added = False
        for text in texts:
            if text in self.position:
                continue
            cue = self.lex.cue(text)
            self.position[text] = len(self.cues)
            self.cues.append(cue)
            added = True
            if cue.words:
                self._first.setdefault(cue.words[0], []).append(len(self.cues) - 1)
            for w in cue.words:
                self._add_word(w)
        if added:
            self._matched.clear()

    def _add_word(self, w: _Word) -> None:
        if w in self._known:
            return
        self._known.add(w)
        if w.prefix:
            self._prefix.setdefault(len(w.key), {}).setdefault(w.key, set()).add(w)
            return
        if w.key == _NUM:
            self._numbers.add(w)
        for k in (w.key, *w.others):
            self._exact.setdefault(k, set()).add(w)
        for form in (w.key, *w.others):
            if len(form) >= 5 and form.isalpha():
                for probe in (form, *_deletes(form)):
                    self._typo.setdefault(probe, set()).add(w)

    def matched(self, key: str) -> tuple[frozenset[_Word], tuple[int, ...]]:
        """The cue words a word key matches, and the cues (indexes) it may start."""
        got = self._matched.get(key)
        if got is not None:
            return got
        words = set(self._exact.get(key, ()))
        if key[:1].isdigit():
            words |= self._numbers
        for n, table in self._prefix.items():
            if len(key) >= n:
                ws = table.get(key[:n])
                if ws:
                    words |= ws
        if len(key) >= 5 and key in _UNKNOWN:
            # a word the lemmatiser does not know, within one edit of a cue's word
            for probe in (key, *_deletes(key)):
                for w in self._typo.get(probe, ()):
                    if w.key != key and any(_within_one(key, f) for f in (w.key, *w.others)):
                        words.add(w)
        starts = sorted(i for w in words for i in self._first.get(w, ()))
        return self._matched.put(key, (frozenset(words), tuple(starts)))

    # ------------------------------------------------------------------ blocks

    def line_keys(self, text: str) -> tuple[str | None, ...]:
        """Keys of a line's words, None for a phrase barrier (remembered per line, and
        per sentence: a word never spans a space, so the keys of a line are those of
        its sentences one after the other)."""
        got = self._line_keys.get(text)
        if got is None:
            parts = _SENTENCE_END_RE.split(text)
            if len(parts) == 1:
                got = self._sentence_keys(text)
            else:
                got = tuple(chain.from_iterable(map(self._sentence_keys, parts)))
            self._line_keys.put(text, got)
        return got

    def _sentence_keys(self, text: str) -> tuple[str | None, ...]:
        got = self._sentences.get(text)
        if got is None:
            cache = self.lex._keys
            out: list[str | None] = []
            for w in tokens(text.lower()):
                if w in _BARRIERS:
                    out.append(None)
                    continue
                ks = cache.get(w)
                out.extend(ks if ks is not None else self.lex.keys(w))
            got = self._sentences.put(text, tuple(out))
        return got

    def block(self, lines: tuple[str, ...]) -> BlockCues:
        """The record of a block made of ``lines`` (texts), scanned for every cue."""
        rec = self._blocks.get(lines)
        if rec is None:
            toks: list[str] = []
            where: list[int] = []
            phrase: list[int] = []
            ph = 0
            for off, text in enumerate(lines):
                for k in self.line_keys(text):
                    if k is None:
                        ph += 1
                    else:
                        toks.append(k)
                        where.append(off)
                        phrase.append(ph)
            rec = BlockCues(tuple(toks), tuple(where), tuple(phrase), {}, 0)
            self._blocks.put(lines, rec)
        self.block_update(rec)
        return rec

    def block_update(self, rec: BlockCues) -> None:
        """Scan ``rec`` for the cues registered since it was last scanned."""
        if rec.covered < len(self.cues):
            self._scan(rec, rec.covered)

    def _scan(self, rec: BlockCues, start: int) -> None:
        """Add to ``rec`` the lines where the cues registered from ``start`` on start,
        phrase by phrase (a cue lies within one phrase; each distinct phrase is scanned
        once for the process)."""
        toks, phrase, where = rec.toks, rec.phrase, rec.line
        n, cues = len(toks), self.cues
        found: dict[str, list[int]] = {}
        i = 0
        while i < n:
            ph, j = phrase[i], i + 1
            while j < n and phrase[j] == ph:
                j += 1
            for ci, off in self._phrase(toks[i:j]):
                if ci < start:
                    continue
                text, at = cues[ci].text, where[i + off]
                lst = found.get(text)
                if lst is None:
                    found[text] = [at]
                elif lst[-1] != at:
                    lst.append(at)
            i = j
        rec.matches.update(found)
        rec.covered = len(cues)

    def _phrase(self, toks: tuple[str, ...]) -> list[tuple[int, int]]:
        """(cue index, word where it starts) of every registered cue in one phrase."""
        got = self._phrases.get(toks)
        if got is None:
            got = self._phrases.put(toks, _PhraseCues([], 0))
        if got.covered < len(self.cues):
            got.found.extend(self._scan_phrase(toks, got.covered))
            got.covered = len(self.cues)
        return got.found

    def _scan_phrase(self, toks: tuple[str, ...], start: int) -> list[tuple[int, int]]:
        n, gap, cues = len(toks), self.gap, self.cues
        matched = [self.matched(k) for k in toks]
        out: list[tuple[int, int]] = []
        for p in range(n):
            for ci in matched[p][1]:
                if ci < start:
                    continue
                cur, cue = p, cues[ci]
                join = cue.join
                reach = gap if join == " " else 1 if join == "+" else n
                for w in cue.words[1:]:
                    for q in range(cur + 1, min(cur + 1 + reach, n)):
                        if w in matched[q][0]:
                            cur = q
                            break
                    else:
                        break
                else:
                    out.append((ci, p))
        return out

    def words_at(self, rec: BlockCues, words) -> frozenset[int]:
        """Positions (in ``rec.toks``) of the words matching one of ``words``
        (remembered in the record per word set: the set is kept with the answer, so its
        identity cannot be reused by another set while the answer lives)."""
        got = rec.at.get(id(words))
        if got is not None and got[0] is words:
            return got[1]
        ws = set(words)
        at = frozenset(p for p, k in enumerate(rec.toks) if not ws.isdisjoint(self.matched(k)[0]))
        rec.at[id(words)] = (words, at)
        return at
