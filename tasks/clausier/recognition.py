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

The vocabulary and its compiled form live in :mod:`tasks.clausier.lexicon`, the blocks
of a piece in :mod:`tasks.clausier.blockindex`, the cues found in each distinct block
(scanned once for the process, every cue at once) in :mod:`tasks.clausier.cueindex`, the
choice of the block to cite in :mod:`tasks.clausier.ranking`.

Sources: Code de la commande publique, art. L2112-2 (execution conditions), R2152-7
(award criteria), L2111-2 (technical specifications); clause-families.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from tasks.dossier.document import PieceText
from tasks.dossier.model import ClauseEvidence
from tasks.memo import BoundedMemo

from .blockindex import _MENTION_ROLES, _blocks, _Index
from .cueindex import CueIndex
from .lexicon import (
    _FILL_RE,
    _LIST_START_RE,
    _WORD_RE,
    MAX_CUE_WORDS,
    TOC_RE,
    Vocabulary,
    _alternatives,
    _Lexicon,
    _Word,
    cue_problems,
)
from .ranking import ACTS, Ranking

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


class Recognizer(Ranking):
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
        # the cues found in each distinct block, shared by every piece: a repository's
        # dossiers repeat most of their boilerplate
        self.cues = CueIndex(self.lex)
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
        self.cues.register(
            t for table in (self._act, self._piece_names) for (c,) in table.values() for t in c
        )
        self._words_of: dict[tuple[str, ...], tuple[_Word, ...]] = {}
        # block text → the text alone mentions without stating
        self._text_mentions: BoundedMemo[str, bool] = BoundedMemo(200_000)
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

    def prepare(self, evidences: Iterable[ClauseEvidence]) -> None:
        """Register the cues of every clause's evidence before any piece is scanned
        (each block is then scanned once for all of them)."""
        self.cues.register(
            alt
            for ev in evidences
            for texts in (*(c for g in ev.any for c in g.all), *ev.negative)
            for alt in _alternatives(texts)
        )

    def index(self, piece: PieceText) -> _Index:
        """The piece's blocks and the cues found in them (computed once per piece
        object; each distinct block text is scanned once for the process)."""
        idx = self._indexes.get(id(piece))
        if idx is not None and idx.piece is piece:
            return idx
        blocks, line_block = _blocks(piece)
        block = self.cues.block
        records = [block(b.lines) for b in blocks]
        cue_at: dict[str, list[int]] = {}
        for b, rec in zip(blocks, records, strict=True):
            start = b.start
            for text, offs in rec.matches.items():
                lst = cue_at.get(text)
                if lst is None:
                    cue_at[text] = [start + o for o in offs]
                else:
                    lst.extend(start + o for o in offs)
        section_blocks: dict[int, list[int]] = {}
        for bi, b in enumerate(blocks):
            section_blocks.setdefault(b.section, []).append(bi)
        idx = _Index(
            piece,
            blocks,
            line_block,
            section_blocks,
            _heading_chains(piece, line_block),
            records,
            cue_at,
            len(self.cues.cues),
        )
        self._indexes[id(piece)] = idx
        return idx

    def _catch_up(self, idx: _Index) -> None:
        """Cues registered after the piece was indexed: scan its blocks for them."""
        first = idx.covered
        position = self.cues.position
        for b, rec in zip(idx.blocks, idx.records, strict=True):
            self.cues.block_update(rec)
            for text, offs in rec.matches.items():
                if position[text] >= first:
                    idx.cue_at.setdefault(text, []).extend(b.start + o for o in offs)
        idx.covered = len(self.cues.cues)

    def cue_lines(self, idx: _Index, text: str) -> frozenset[int]:
        """Line indexes where a cue starts (cached per piece)."""
        got = idx.cue_lines.get(text)
        if got is None:
            if text not in self.cues.position:
                self.cues.register((text,))
            if idx.covered < len(self.cues.cues):
                self._catch_up(idx)
            got = idx.cue_lines[text] = frozenset(idx.cue_at.get(text, ()))
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
        item or a block after an introduction ending in « : », the block before it; for a
        table row, the head of its table."""
        block = idx.blocks[b]
        own = [b, *idx.heading_blocks.get(block.section, ()), *self._table_head(idx, b)]
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
        block = idx.blocks[b]
        if block.roles & _MENTION_ROLES:
            return True  # marked by the reader (table of contents, form field, question…)
        text = block.text
        got = self._text_mentions.get(text)
        if got is None:
            got = self._text_mentions.put(text, self._text_mention(text))
        if got:
            return True
        sets = self._sets(idx)
        if b in sets["negation"]:
            return True
        heads = idx.heading_blocks.get(block.section, ())
        return any(h in sets["applicable"] for h in heads[:1])

    def _text_mention(self, text: str) -> bool:
        """The block's text alone mentions without stating (a table of contents' line, a
        question, a form field, a text of law as subject); cached per text."""
        if TOC_RE.search(text) or "?" in text or _FILL_RE.search(text):
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
        self.prepare((evidence,))  # its cues at once (a no-op once registered)
        for piece in pieces:
            hits.extend(self._find_in(piece, evidence))
        return self._cite_first(hits)[:limit]

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


def _heading_chains(piece: PieceText, line_block: list[int]) -> dict[int, list[int]]:
    """Section → heading blocks of it and of the sections enclosing it, nearest first."""
    heading_blocks: dict[int, list[int]] = {}
    n = len(line_block)
    # the enclosing sections of the current one, outermost first: (level, heading block)
    stack: list[tuple[int, int | None]] = []
    for si, sec in enumerate(piece.sections):
        while stack and stack[-1][0] >= sec.level:
            stack.pop()
        own = line_block[sec.line_index] if sec.line_index < n else None
        chain = [] if own is None else [own]
        for level, block in reversed(stack):  # nearest first, up to a level-1 heading
            if block is not None:
                chain.append(block)
            if level <= 1:
                break
        heading_blocks[si] = chain
        stack.append((sec.level, own))
    return heading_blocks


@dataclass(frozen=True, slots=True)
class Hit:
    """A block that expresses a family.

    Attributes:
        piece: the piece.
        index: index in ``piece.lines`` of the line to cite (where the concept is).
        start, end: line indexes (inclusive) of the statement: the block, with the
            introduction of its list for a list item and the items of its list for an
            introduction (« … est tenu de : »).
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
