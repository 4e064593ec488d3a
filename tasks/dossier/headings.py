"""Headings of French DCEs in every numbering style, and the roles of blocks.

:func:`parse_heading` reads one normalised line: « ARTICLE 3 – Prix », « Article 4.2 :
Pénalités », « Article premier - Objet », « 4.5 Insertion professionnelle », « 1. Objet »,
« 1 - Objet », « 1) Objet », BOAMP « II.2.5) Critères d'attribution », « Chapitre 2 –
Exécution », « TITRE II - … », « IV. Dispositions », « A. Prestations », « B) Délais ».
Candidates are *strong* (keyword « Article »/« Chapitre », multi-level numbers) or *weak*
(« 1. », « 1) », « IV. », « A. »): a weak candidate is accepted by
:class:`HeadingSequencer` only when its number continues the numbering of the document
(or when the layout says so: bold, larger font, heading style), so that the numbered items
of a list inside an article are not promoted to articles.

:func:`assign_roles` marks tables of contents, lists of applicable texts, form labels,
questions and empty headings, and links each block to its enclosing article heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.memo import BoundedMemo

from .blocks import Block
from .normalize import fold

__all__ = [
    "HeadingCandidate",
    "HeadingSequencer",
    "assign_roles",
    "detect_heading",
    "parse_heading",
    "roman_value",
]

_ROMAN_RE = re.compile(r"^(?=[IVXLC])M{0,3}(C[MD]|D?C{0,3})(X[CL]|L?X{0,3})(I[XV]|V?I{0,3})$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_value(s: str) -> int | None:
    """Value of an upper-case roman numeral (« IV » → 4), None if not one."""
    if not s or not _ROMAN_RE.match(s):
        return None
    total = 0
    for a, b in zip(s, s[1:] + " ", strict=True):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES.get(b, 0) > v else v
    return total


@dataclass(frozen=True, slots=True)
class HeadingCandidate:
    """A line that may be a heading.

    number: as written (« 4.2 », « II.2.5 », « A », « IV », « 1er » → « 1 »);
    title: without number and separator; level: 1 = top; style: ``article``,
    ``chapter``, ``decimal``, ``roman``, ``letter``; strong: keyword or multi-level
    number (accepted without sequence check).
    """

    number: str | None
    title: str
    level: int
    style: str
    strong: bool

    def key(self) -> tuple[int, ...] | None:
        """Numeric key of a decimal number (« 4.2 » → (4, 2)), else None."""
        if self.number and re.fullmatch(r"\d+(?:\.\d+)*", self.number):
            return tuple(int(x) for x in self.number.split("."))
        return None


_SEP = r"\s*(?:[-–—:.)]|\s)\s*"
_ARTICLE_RE = re.compile(
    r"^(?:article|art\.)\s+(\d{1,3}(?:\.\d{1,3}){0,4}|premier|1er|[IVXLC]{1,6})"
    r"\.?(?=\s|$|[-–—:)])\s*([-–—:.)]\s*)?(.*)$",
    re.I,
)
_CHAPTER_RE = re.compile(
    r"^(chapitre|titre|partie|section|annexe|livre)\s+(\d{1,3}|[IVXLC]{1,6}|premier|unique|[A-Z])"
    r"\s*(?:([-–—:.)])\s*|\s+|$)(.*)$",
    re.I,
)
_BOAMP_RE = re.compile(r"^([IVX]{1,4}(?:\.\d{1,2}){1,3})\)?\s*[-–—:.)]?\s+(\S.*)$")
_DECIMAL_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})(\s*[-–—:]|\.\s*[-–—]|\.?\)?)\s+(\S.*)$")
_GLUED_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.(?=[A-ZÀ-ÖØ-Þ]{2})(\S.*)$")
_ROMAN_HEAD_RE = re.compile(r"^([IVXL]{1,6})(?:\s*([-–—.:)])\s*|\s+)(\S.*)$")
_LETTER_RE = re.compile(r"^([A-Z])\s*([.)]|\s[-–—])\s+(\S.*)$")
_TOC_RE = re.compile(r"\.{4,}|…{2,}|(?:\. ){3,}|_{4,}")
_TOC_END_RE = re.compile(r"(?:\.{4,}|…{2,}|(?:\. ){3,})\s*\d{1,3}\s*$")
_TOC_ENDS: BoundedMemo[str, bool] = BoundedMemo(200_000)


def toc_end(text: str) -> bool:
    """The line ends like a table-of-contents entry: dotted leaders and a page number
    (« Article 3 – Prix ........ 12 »), looked for in its last 80 characters; remembered
    for the process."""
    got = _TOC_ENDS.get(text)
    if got is None:
        got = _TOC_ENDS.put(text, _TOC_END_RE.search(text[-80:]) is not None)
    return got


_TRAILING_PAGE_RE = re.compile(r"\s\d{1,3}$")
_NOT_TITLE_WORDS = frozenset(
    """
    mois jour jours an ans annee annees heure heures semaine semaines euro euros eur ht
    ttc janvier fevrier mars avril mai juin juillet aout septembre octobre novembre
    decembre rue avenue boulevard bd place allee chemin route impasse quai cedex bp cs
    mo go ko to km kg cm mm kwh mwh personnes jours/an etp points pages page fois
    """.split()
)


def _clean_title(title: str) -> str:
    return title.strip().rstrip(":").strip().strip("-–—").strip()


def _title_ok(title: str, *, need_upper_first: bool = True, max_words: int = 18) -> bool:
    """Whether ``title`` (the text after a number) looks like a heading title."""
    if not title:
        return False
    if _TOC_RE.search(title) or _TRAILING_PAGE_RE.search(title):
        return False
    if title[-1] in ".;," and not title.endswith("etc."):
        return False
    words = title.split()
    first = words[0].lstrip("«\"'(")
    if not first or not first[0].isalpha() or sum(c.isalpha() for c in first) < 2:
        # « 35 H par tranche », « 1 000 € », « à » — but « À propos » is fine
        if not (first[:1].isalpha() and first[:1].isupper()):
            return False
    if need_upper_first and not first[0].isupper():
        return False
    word = re.sub(r"[^a-z/]", "", fold(first))
    if word in _NOT_TITLE_WORDS:
        return False
    return len(words) <= max_words


def _mostly_upper(title: str) -> bool:
    letters = [c for c in title if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.6 * len(letters)


#: What a step of :func:`parse_heading` says: (the line has this numbering style — no
#: later style is tried —, the candidate or None when the line is rejected).
_Step = tuple[bool, "HeadingCandidate | None"]
_MISS: _Step = (False, None)


def _article_heading(text: str) -> _Step:
    """« Article 4.2 : Titre », « ARTICLE PREMIER – OBJET », « Article IV »."""
    m = _ARTICLE_RE.match(text)
    if not m:
        return _MISS
    raw_num, sep, title = m.group(1), m.group(2), m.group(3).strip()
    num = "1" if raw_num.lower() in ("premier", "1er") else raw_num
    rv = roman_value(num.upper()) if not num[0].isdigit() else None
    if rv is not None:
        num = str(rv)
    elif not num[0].isdigit():
        return True, None
    level = num.count(".") + 1
    if not title:
        return True, HeadingCandidate(num, "", level, "article", True)
    if not sep and not (title[0].isalpha() and title[0].isupper()):
        return True, None  # « Article 28 du règlement… » is a reference
    if not _title_ok(title, need_upper_first=not sep):
        return True, None
    return True, HeadingCandidate(num, _clean_title(title), level, "article", True)


def _chapter_heading(text: str) -> _Step:
    """« Chapitre 2 – … », « TITRE III », « Partie unique », « ANNEXE 2 – RGPD »."""
    m = _CHAPTER_RE.match(text)
    if not m:
        return _MISS
    word, raw_num, sep, title = m.group(1), m.group(2), m.group(3), m.group(4).strip()
    if not (word[0].isupper()):
        return True, None
    if word.lower() == "annexe" and not (sep or not title) and not _mostly_upper(title):
        return True, None  # « Annexe 2 au CCAP » is a reference, « ANNEXE 2 – RGPD » a heading
    if title and not _title_ok(title, need_upper_first=not sep):
        return True, None
    if not title and not (word.isupper() or sep):
        return True, None
    if raw_num.isalpha() and len(raw_num) == 1 and not raw_num.isupper():
        return True, None  # « Annexe a : … » in a list of documents
    rv = roman_value(raw_num.upper())
    num = str(rv) if rv else ("1" if raw_num.lower() in ("premier", "unique") else raw_num)
    strong = word.lower() != "annexe" or _mostly_upper(text)
    cand = HeadingCandidate(f"{word.capitalize()} {num}", _clean_title(title), 1, "chapter", strong)
    return True, cand


def _decimal_heading(text: str) -> _Step:
    """« 4.2 Titre », « 4.2. – Titre », « 12.1.OBJET » (glued, upper case)."""
    m = _DECIMAL_RE.match(text)
    if m:
        number, sep, title = m.group(1), m.group(2).strip(), m.group(3).strip()
    else:
        g = _GLUED_RE.match(text)  # « 12.1.OBJET ET NATURE DU TRAITEMENT »
        if not g or not _mostly_upper(g.group(2)):
            return True, None
        number, sep, title = g.group(1), ".", g.group(2).strip()
    number = number.rstrip(".")
    if not _title_ok(title):
        return True, None
    level = number.count(".") + 1
    if level > 4:
        return True, None
    if level == 1 and not sep and not _mostly_upper(title):
        return True, None  # « 1 Chef de projet » is a quantity, « 5 CLAUSES … » a heading
    cand = HeadingCandidate(number, _clean_title(title), level, "decimal", 1 < level < 4)
    return True, cand


def _roman_heading(text: str) -> _Step:
    """BOAMP « II.2.5) Critères », « IV – DISPOSITIONS »."""
    m = _BOAMP_RE.match(text)
    if m and _title_ok(m.group(2).strip()):
        number = m.group(1)
        cand = HeadingCandidate(
            number, _clean_title(m.group(2)), number.count(".") + 1, "roman", True
        )
        return True, cand
    m = _ROMAN_HEAD_RE.match(text)
    if not m:
        return _MISS
    number, sep, title = m.group(1), m.group(2), m.group(3).strip()
    if roman_value(number) is None or not _title_ok(title):
        return True, None
    if not sep and not _mostly_upper(title):
        return True, None
    return True, HeadingCandidate(number, _clean_title(title), 1, "roman", False)


def _letter_heading(text: str) -> _Step:
    """« A. Titre », « B – Titre » (weak)."""
    m = _LETTER_RE.match(text)
    if m and _title_ok(m.group(3).strip(), max_words=12):
        return True, HeadingCandidate(m.group(1), _clean_title(m.group(3)), 1, "letter", False)
    return _MISS


#: The numbering styles, tried in order on a line whose first character may open them.
_STYLES = (
    ("Aa", _article_heading),
    ("CcTtPpSsAaLl", _chapter_heading),
    ("0123456789", _decimal_heading),
    ("IVXL", _roman_heading),
    (None, _letter_heading),  # any upper-case first letter
)


def parse_heading(text: str) -> HeadingCandidate | None:
    """A :class:`HeadingCandidate` when the normalised line ``text`` looks like a heading.

    The numbering styles are tried in turn (article, chapter, decimal, roman or BOAMP,
    letter); the first whose pattern the line has decides. Rejected: table of contents
    lines (dotted leaders, trailing page number), amounts and durations (« 35 H par
    tranche », « 1 000 € », « 12 mois »), sentences (ending with « . », « ; », « , »),
    lines over 120 characters, references (« Article 28 du règlement… »), numbers deeper
    than five levels.
    """
    got = _PARSED.get(text, _UNSEEN)
    if got is _UNSEEN:
        got = _PARSED.put(text, _parse_heading(text))
    return got  # type: ignore[return-value]


#: line → its candidate (None: not a heading), for the process (candidates are frozen)
_PARSED: BoundedMemo[str, HeadingCandidate | None] = BoundedMemo(200_000)
_UNSEEN = object()


def _parse_heading(text: str) -> HeadingCandidate | None:
    if not text or len(text) > 120:
        return None
    c0 = text[0]
    for firsts, step in _STYLES:
        if c0 in firsts if firsts is not None else c0.isupper():
            matched, cand = step(text)
            if matched:
                return cand
    return None


def detect_heading(text: str) -> tuple[str | None, str, int] | None:
    """``(number, title, level)`` when ``text`` is a heading on its own (strong
    candidates, and weak ones that are upper case or « N. Title »), for callers
    without a document context."""
    c = parse_heading(text)
    if c is None or c.level > 3:
        return None
    if c.style in ("letter", "roman") and not c.strong and not _mostly_upper(c.title):
        return None
    return c.number, c.title, c.level


class HeadingSequencer:
    """Accepts or rejects heading candidates in document order.

    Strong candidates are accepted, except a multi-level number whose first part jumps
    ahead of the current article (« 9.8 » inside article 3). A weak one (« 3. Title »,
    « 3) Title », « IV. », « B. ») is accepted when its number continues the sequence of
    headings of the same style at that depth (previous + 1, or a restart at 1 after a
    heading of a higher level), or starts one (≤ 2, or any number when the layout marks
    it — ``hint``: bold, larger font); otherwise it is a numbered list item.
    """

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = {}
        self.top_style: str | None = None
        self.last_level = 0

    @staticmethod
    def _value(c: HeadingCandidate) -> int | None:
        if c.number is None:
            return None
        last = c.number.split(".")[-1]
        if last.isdigit():
            return int(last)
        if c.style == "letter":
            return ord(last) - ord("A") + 1
        return roman_value(last)

    def accept(self, c: HeadingCandidate, hint: bool = False) -> bool:
        """Whether candidate ``c`` is a heading (and record it when it is)."""
        value = self._value(c)
        key = (c.style if c.style != "article" else "decimal", c.level)
        prev = self.last.get(key)
        top = self.last.get(("decimal", 1))
        if c.style == "decimal" and c.level > 1 and top is not None:
            first = int(c.number.split(".")[0]) if c.number else 0
            if first > top + 1:
                return False  # « 9.8 » in a table of article 3: not a heading
        ok = c.strong
        if not ok and value is not None:
            if prev is None:
                ok = (hint or value <= 2) and (c.level == 1 or self.last_level >= c.level - 1)
            else:
                # a layout hint (bold, size) does not override a broken sequence: the
                # bold « 1. » items under article 9.2 are a list, not article 1
                ok = value == prev + 1 or (value == 1 and self.last_level < c.level)
            if ok and c.style in ("letter", "roman") and self.top_style not in (None, c.style):
                # lettered / roman sub-headings under decimal articles need a hint
                ok = value == 1 or prev is not None or hint
        elif not ok:
            ok = hint
        if ok:
            self.record(c)
        return ok

    def record(self, c: HeadingCandidate) -> None:
        """A heading recognised another way (style, « # ») whose number is ``c``'s:
        later weak candidates continue its numbering."""
        value = self._value(c)
        key = (c.style if c.style != "article" else "decimal", c.level)
        if value is not None:
            self.last[key] = value
            for k in list(self.last):
                if k[1] > c.level and k != key:
                    del self.last[k]
        if c.level == 1 and self.top_style is None:
            self.top_style = key[0]
        self.last_level = c.level

    def reset_below(self, level: int) -> None:
        """A heading recognised another way (style, « # ») at ``level``."""
        self.last_level = level


# --------------------------------------------------------------------------- roles

_TOC_TITLE_RE = re.compile(r"^(?:sommaire|table des matieres|plan du document|contenu)\b")
_TOC_LINE_RE = re.compile(r"^(?:sommaire|table des matieres)\s*:?\s*$")
_APPLICABLE_TITLE_RE = re.compile(
    r"(?:textes? (?:applicables?|de reference|reglementaires?|legislatifs?)|"
    r"documents? (?:de reference|applicables?|contractuels?|constitutifs?)|"
    r"pieces? (?:contractuelles?|constitutives?)|references? (?:reglementaires?|normatives?)|"
    r"normes? (?:et )?(?:referentiels? )?applicables?|cadre (?:juridique|reglementaire|legal)|"
    r"referentiels? applicables?|bibliographie)"
)
_LEGAL_REF_RE = re.compile(
    r"^(?:- )?(?:la |le |l'|les )?(?:loi|decret|arrete|ordonnance|directive|reglement|code|"
    r"circulaire|norme|ccag|referentiel|guide|instruction|doctrine|rgaa|rgesn|rgpd|rgs|"
    r"nf |iso|en \d|cahier des clauses)\b"
)
_FORM_RE = re.compile(
    r"(?:\.{5,}|…{3,}|_{5,}|\[\s*\]|☐|☑|☒|□|■|\[\s*PR[EÉ]CISER|\[\s*[AÀ] COMPL[EÉ]TER)",
    re.IGNORECASE,
)
_CHECKBOX_RE = re.compile(r"(?:☐|☑|☒|□|■|❑|\[\s?[xX ]?\s?\])\s*(?:oui|non)\b", re.I)
_QUESTION_START_RE = re.compile(r"^(?:question\b|q\s?\d+\b|q\d*\s?[-:.])")


_FORM_MARKS = ("[", "☐", "☑", "☒", "□", "■", "❑", ".....", "…" * 3, "_____")


def _may_be_form(text: str) -> bool:
    """Whether :data:`_FORM_RE` or :data:`_CHECKBOX_RE` can match ``text``: each match
    holds one of :data:`_FORM_MARKS` (substring tests are far cheaper than the regex
    scans on the ~1 000 blocks of a piece; a chain of ``in`` tests, ~3 × cheaper than
    one search for the alternation)."""
    return (
        "[" in text
        or "☐" in text
        or "☑" in text
        or "☒" in text
        or "□" in text
        or "■" in text
        or "❑" in text
        or "....." in text
        or "………" in text
        or "_____" in text
    )


def assign_roles(blocks: list[Block]) -> None:
    """Set ``roles`` and ``article`` on ``blocks`` in place (see :data:`ROLES`).

    * ``toc``: lines with dotted leaders ending in a page number, and the entries under a
      « Sommaire » / « Table des matières » heading until the first non-entry;
    * ``applicable_texts``: the items under a heading such as « Textes applicables »,
      « Documents de référence », « Pièces contractuelles », and list items that start
      with a legal reference (« Décret n° … », « Loi … », « Norme … »);
    * ``form_label``: text with fill-in leaders, check boxes or a « [PRÉCISER] » gap;
    * ``question``: a block ending with « ? » or starting with « Question », « Q3 »;
    * ``empty_heading``: a heading followed by no content before the next heading of the
      same or a higher level.
    """
    current = -1
    in_toc = False
    applicable_level: int | None = None
    for i, b in enumerate(blocks):
        f = fold(b.text)
        if b.kind == "heading":
            current = i
            b.article = i
            title = fold(b.title or b.text)
            in_toc = bool(_TOC_TITLE_RE.match(title))
            if applicable_level is not None and b.level <= applicable_level:
                applicable_level = None
            if _APPLICABLE_TITLE_RE.search(title):
                applicable_level = b.level
            if toc_end(b.text):
                b.roles.add("toc")
            continue
        b.article = current
        if _TOC_LINE_RE.match(f):
            b.roles.add("toc")
            in_toc = True
            continue
        if toc_end(b.text) or (in_toc and _TRAILING_PAGE_RE.search(b.text[-8:])):
            b.roles.add("toc")
        elif in_toc and b.kind in ("paragraph", "list_item"):
            in_toc = False
        if applicable_level is not None and b.kind in ("list_item", "paragraph", "table"):
            b.roles.add("applicable_texts")
        elif b.kind == "list_item" and _LEGAL_REF_RE.match(f):
            b.roles.add("applicable_texts")
        if b.kind == "form_field" or (
            _may_be_form(b.text) and (_FORM_RE.search(b.text) or _CHECKBOX_RE.search(b.text))
        ):
            b.roles.add("form_label")
        if b.text.rstrip().endswith("?") or _QUESTION_START_RE.match(f):
            b.roles.add("question")
    # empty headings: nothing but deeper-or-equal headings until the next heading of the
    # same or a higher level
    for i, b in enumerate(blocks):
        if b.kind != "heading":
            continue
        empty = True
        for j in range(i + 1, len(blocks)):  # (islice would skip the first i each time)
            nb = blocks[j]
            if nb.kind == "heading":
                if nb.level <= b.level:
                    break
                empty = False  # a sub-heading: the section has content below
                break
            if "toc" not in nb.roles:
                empty = False
                break
        if empty:
            b.roles.add("empty_heading")
