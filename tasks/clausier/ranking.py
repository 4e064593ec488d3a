"""Which of the blocks that express a family a reader would cite (the ranking of
:class:`tasks.clausier.recognition.Recognizer`'s hits)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from tasks.dossier.model import ClauseEvidence

from .blockindex import _Block, _Index
from .lexicon import _BARRIERS, _LIST_START_RE, _NUM, _WORD_RE, _alternatives, _Word, tokens

if TYPE_CHECKING:
    from .recognition import Hit

#: The caption or a header cell of an HTML table.
_TABLE_HEAD_RE = re.compile(r"<(?:th|caption)\b", re.I)

ACTS: tuple[str, ...] = ("criterion", "obligation", "specification", "model_clause")

#: Act → the cue sets that state it in a block (its own words, not its headings').
_ACT_CUES: dict[str, tuple[str, ...]] = {
    "criterion": ("criterion",),
    "obligation": ("actor", "modal"),
    "specification": ("actor", "modal", "requirement"),
    "model_clause": ("model_clause",),
}


class Ranking:
    """Scores of the matched blocks; mixed into the recognizer (which provides the
    lexicon ``lex``, the piece's cue sets ``_sets``, ``_own``, the cue index ``cues``,
    ``_concept_blocks`` and the vocabulary's piece names)."""

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
            start, end = self._statement(idx, b)
            out.append(replace(hit, score=score, start=start, end=end))
        return out

    def _statement(self, idx: _Index, b: int) -> tuple[int, int]:
        """First and last line of the statement block ``b`` belongs to: a list item
        with the introduction of its list (« … en cherchant à : » and the items before
        it), an introduction with the items of its list; otherwise the block itself."""
        block = idx.blocks[b]
        sec = idx.section_blocks.get(block.section, [b])
        pos = sec.index(b)
        start, end = block.start, block.end
        if self._item(idx, b):
            for x in reversed(sec[:pos]):
                if idx.blocks[x].heading:
                    break
                if not self._item(idx, x):
                    if idx.blocks[x].text.rstrip().endswith(":"):
                        start = idx.blocks[x].start
                    break
        if block.text.rstrip().endswith(":"):
            for x in sec[pos + 1 :]:
                if idx.blocks[x].heading or not self._item(idx, x):
                    break
                end = idx.blocks[x].end
        return start, end

    @staticmethod
    def _table_head(idx: _Index, b: int) -> list[int]:
        """For a table row, the blocks that head its table: the caption and header cells
        of an HTML table, the first row of a pipe table (a row of a table headed
        « Critère | Pondération » is a criterion, « Performance sociale | 10 % » says
        which). Empty for any other block."""
        lines = idx.piece.lines
        if lines[idx.blocks[b].start].text.lstrip()[:1] not in "<|":
            return []
        run: list[int] = []  # the table's blocks above ``b``, nearest first
        for x in range(b - 1, max(-1, b - 60), -1):
            block = idx.blocks[x]
            if block.heading or lines[block.start].text.lstrip()[:1] not in "<|":
                break
            run.append(x)
        html = [x for x in run if _TABLE_HEAD_RE.search(idx.blocks[x].text)]
        if html:
            return html
        return run[-1:] if run and lines[idx.blocks[run[-1]].start].text.lstrip()[:1] == "|" else []

    @staticmethod
    def _item(idx: _Index, b: int) -> bool:
        """Block ``b`` is a list item (bullet, « 1. », « a) »…)."""
        return bool(_LIST_START_RE.match(idx.piece.lines[idx.blocks[b].start].text))

    def _cite_first(self, hits: list[Hit]) -> list[Hit]:
        """``hits`` of every piece in citing order: by decreasing score, then the hit of
        the expected piece when it is within 0.15 of the best, then among near ties
        (within 0.08) in the enclosing articles of the best hit the first statement —
        a clause is stated at the head of its article, its sub-articles give the
        modalities (follow-up, penalties) — and, among the items of one list (one
        statement: same start), the best one."""
        hits.sort(key=lambda h: (-h.score, not h.expected, h.order))
        if len(hits) > 1 and not hits[0].expected:
            # stated where it belongs at a comparable strength: cite it there
            home = next((h for h in hits if h.expected and h.score >= hits[0].score - 0.15), None)
            if home is not None:
                hits.remove(home)
                hits.insert(0, home)
        if len(hits) > 1:
            top = hits[0]
            chain = self._article_chain(top)
            near = [
                h
                for h in hits
                if h.piece is top.piece
                and h.score >= top.score - 0.08
                and h.piece.lines[h.start].section in chain
            ]
            first = min(near, key=lambda h: (h.start, -h.score, h.order))
            if first is not top:
                hits.remove(first)
                hits.insert(0, first)
        return hits

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
        rec = idx.records[b]
        total = len(rec.toks)
        if not total:
            return 0, 0, 0
        nested = self._in_parentheses(idx, b, total)
        hit = self.cues.words_at(rec, words)
        own_hit = self.cues.words_at(rec, self._family_words_of((own,)))
        if own_hit and not own_hit - nested:
            return len(own_hit), len(hit - nested), total
        return 0, len(hit - nested), total

    def _in_parentheses(self, idx: _Index, b: int, total: int) -> set[int]:
        """Positions of block ``b``'s words (``total`` of them) between parentheses,
        re-reading its lines as the cue index does."""
        block = idx.blocks[b]
        out: set[int] = set()
        if "(" not in block.text:
            return out
        p, depth = 0, 0
        for li in range(block.start, block.end + 1):
            for w in tokens(idx.piece.lines[li].text.lower()):
                if w == "(":
                    depth += 1
                elif w == ")":
                    depth = max(0, depth - 1)
                elif w not in _BARRIERS:
                    n = len(self.lex.keys(w))
                    if depth:
                        out.update(range(p, min(p + n, total)))
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
        toks = idx.records[h].toks
        first: tuple[int, str] | None = None
        for kind, (cues,) in self._piece_names.items():
            if h not in self._concept_blocks(idx, cues):
                continue
            for text in cues:
                ws = self.lex.cue(text).words
                if not ws:
                    continue
                p = next((i for i, k in enumerate(toks) if ws[0] in self.cues.matched(k)[0]), None)
                if p is not None and (first is None or p < first[0]):
                    first = (p, kind)
        return first[1] if first else None

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
