"""Text normalisation for pieces: typographic noise out, matching form in.

Two forms of every line:

* :func:`normalize_text` — what a reader sees: non-breaking and thin spaces become plain
  spaces, curly apostrophes and quotes become straight ones, zero-width characters and
  soft hyphens disappear, Wingdings/Symbol private-use bullets and bullet glyphs become
  ``- `` (at the start of a line) or vanish, ligatures are expanded, the text is in NFC
  and runs of spaces are collapsed;
* :func:`fold` — the matching form: normalised, lower case, without accents
  (``é`` → ``e``, ``œ`` → ``oe``, ``æ`` → ``ae``). Fast: one ``str.lower`` and a
  prebuilt map for the non-ASCII characters; :mod:`unicodedata` only for rare ones.

:func:`join_hyphenated` repairs words cut at line ends by PDF extraction
(« dif-␤ficultés » → « difficultés ») while keeping true compounds (« accord-cadre »,
« sous-traitant », « Ile-de-France »).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from tasks.memo import BoundedMemo

__all__ = [
    "fold",
    "join_hyphenated",
    "keeps_hyphen",
    "known_compound",
    "normalize_text",
    "split_glued",
]

# --------------------------------------------------------------------------- tables

_SPACES = (
    "\u00a0\u202f\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u205f\u3000\u1680\u2028\u2029\t\x0b\x0c\r\x85"
)
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_APOSTROPHES = "\u2019\u2018\u02bc\u00b4`\u2032\u201b\u02bb"
_QUOTES = "\u201c\u201d\u201e\u201f\u2033"
_HYPHENS = "\u2010\u2011\u2212"
_LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "ft",
    "\ufb06": "st",
}
# Glyphs that are bullets or check boxes wherever they appear.
_BULLETS = "•◦▪▫■□❑❒➢➤►▶▸▹‣⁃∙✓✔✗✘◆◇○●◻◼◽◾☐☑☒❖➔➜➣➥⧫⬧⬥⯀⮚"
# Glyphs that are bullets only at the start of a line (« l·e·s », « a → b » elsewhere).
_LEADING_ONLY = "·→⇒"
_BULLET_MARK = "\ufdd0"  # internal placeholder (a noncharacter), never in output

_NORMALIZE_MAP: dict[int, str | None] = {}
for _c in _SPACES:
    _NORMALIZE_MAP[ord(_c)] = " "
for _c in _ZERO_WIDTH:
    _NORMALIZE_MAP[ord(_c)] = None
for _c in _APOSTROPHES:
    _NORMALIZE_MAP[ord(_c)] = "'"
for _c in _QUOTES:
    _NORMALIZE_MAP[ord(_c)] = '"'
for _c in _HYPHENS:
    _NORMALIZE_MAP[ord(_c)] = "-"
for _c, _r in _LIGATURES.items():
    _NORMALIZE_MAP[ord(_c)] = _r
for _c in _BULLETS:
    _NORMALIZE_MAP[ord(_c)] = _BULLET_MARK
for _cp in range(0xE000, 0xF900):  # private use area: Wingdings/Symbol glyphs
    _NORMALIZE_MAP[_cp] = _BULLET_MARK
for _cp in range(0x00, 0x20):  # C0 controls (tab and the like already mapped)
    if _cp not in (0x0A,):
        _NORMALIZE_MAP.setdefault(_cp, " ")
_NORMALIZE_MAP[0x7F] = None
_NORMALIZE_MAP[ord(_BULLET_MARK)] = _BULLET_MARK

# Characters to replace, as a dict of strings and as one regex class: a regex ``sub``
# touches only the few special characters of a line, which is much faster than
# ``str.translate`` with a large mapping on non-ASCII text.
_REPLACE = {chr(k): (v or "") for k, v in _NORMALIZE_MAP.items() if k != 0x0A}
_SPECIAL_RE = re.compile(
    "["
    + "".join(re.escape(c) for c in sorted(_REPLACE) if not 0xE000 <= ord(c) < 0xF900)
    + "\ue000-\uf8ff]"
)

_LEAD = re.escape(_LEADING_ONLY)
_LEADING_BULLETS_RE = re.compile(
    f"^[ {_BULLET_MARK}{_LEAD}]*{_BULLET_MARK}[ {_BULLET_MARK}]*|^ *[{_LEAD}] +"
)
_SPACES_RE = re.compile(r" {2,}")
_FFFE_RE = re.compile(r"(\w*)\ufffe[ \t\r\n]*(\w*)")

# --------------------------------------------------------------------------- hyphens

# First elements that keep their hyphen when a compound is cut at a line end
# (« sous-␤traitant », « ci-␤dessous », « plate-␤forme »): folded forms.
_HYPHEN_PREFIXES = frozenset(
    """
    sous ci non demi semi mi vice quasi contre apres avant arriere ex bien grand grande
    petit petite haut tout toute plate garde porte sans hors nord sud est ouest extra au
    pare court long moyen vis peut c est-ce soi lui elle eux belle beau libre bas basse
    arc chef chefs lieu lieux proces croc aide aides faits fait pot pots
    """.split()
)
# Second elements that mark a compound (« accord-␤cadre », « procès-␤verbal »).
_HYPHEN_SUFFIXES = frozenset(
    """
    ci la cadre cadres cle cles type types traitance traitant traitants traitante
    dessus dessous dela meme memes verbal verbaux forme formes mail mails faire
    vis t il ils elle elles on lieu lieux ce dire
    """.split()
)


def keeps_hyphen(left: str, right: str) -> bool:
    """True when ``left-right`` cut at a line end is a true compound (keep the hyphen).

    ``left`` is the fragment before the hyphen, ``right`` the one after it (whole words
    or word parts). Capitalised second parts (« Ile-de-␤France »), digits, one-letter
    first parts (« e-␤mail ») and known compound elements keep the hyphen; other cuts
    are typographic hyphenation and are joined (« dif-␤ficultés » → « difficultés »).
    """
    if not right or not left:
        return True
    if not right[0].isalpha() or right[0].isupper() or not right[0].islower():
        return True
    lw = re.split(r"[^\w']+", fold(left))[-1].split("'")[-1]
    rw = re.split(r"[^\w]+", fold(right))[0]
    if len(lw) <= 1 or lw.isdigit():
        return True
    return lw in _HYPHEN_PREFIXES or rw in _HYPHEN_SUFFIXES


def known_compound(left: str, right: str) -> bool:
    """True when ``left-right`` is a compound whose first or second element is known
    (« sous-traitant », « accord-cadre », « Île-de-France »): stricter than
    :func:`keeps_hyphen`, which also keeps the hyphen after any one-letter part."""
    if not right or not left or not right[0].isalpha() or right[0].isupper():
        return True
    lw = re.split(r"[^\w']+", fold(left))[-1].split("'")[-1]
    rw = re.split(r"[^\w]+", fold(right))[0]
    return lw.isdigit() or lw in _HYPHEN_PREFIXES or rw in _HYPHEN_SUFFIXES


def _fffe(match: re.Match[str]) -> str:
    left, right = match.group(1), match.group(2)
    if not left or not right:  # marker at a word edge: a plain hyphen
        return left + "-" + right if left and right == "" else left + right
    return left + ("-" if keeps_hyphen(left, right) else "") + right


_LINE_END_HYPHEN_RE = re.compile(r"([^\W\d_][^\W_]*)-$")
_FIRST_TOKEN_RE = re.compile(r"^(\S+)\s*(.*)$", re.S)


def join_hyphenated(lines: list[str]) -> list[str]:
    """Rejoin words cut by a hyphen at the end of a line; same length as ``lines``.

    The completed word goes to the line of its first fragment (so the map to the
    original line is kept); the fragment is removed from the next line, which may
    become empty. Only a letter immediately before the final ``-`` and a letter at the
    start of the next line trigger a join; ``keeps_hyphen`` decides whether the hyphen
    stays (« accord-cadre ») or goes (« éco-␤conception » → « écoconception »).
    """
    out = list(lines)
    for i in range(len(out) - 1):
        cur = out[i]
        if not cur.endswith("-"):
            continue
        m = _LINE_END_HYPHEN_RE.search(cur)
        if not m:
            continue
        nxt = out[i + 1].lstrip()
        if not nxt or not nxt[0].isalpha():
            continue
        tm = _FIRST_TOKEN_RE.match(nxt)
        if not tm:  # pragma: no cover - nxt is non-empty
            continue
        token, rest = tm.group(1), tm.group(2)
        left = m.group(1)
        if keeps_hyphen(left, token):
            out[i] = cur + token
        else:
            out[i] = cur[:-1] + token
        out[i + 1] = rest
    return out


# --------------------------------------------------------------------------- glue

# Camel-case words that are not extraction glue (folded).
_CAMEL_WORDS = frozenset(
    """
    javascript typescript powerpoint sharepoint onedrive onenote libreoffice openoffice
    github gitlab postgresql mysql wordpress youtube linkedin devops finops secnumcloud
    openstack openshift mariadb mongodb nextcloud owncloud iphone ipad macbook thinkpad
    elasticsearch opensearch powershell visualstudio chromebook outlookweb
    """.split()
)
_GLUE_RE = re.compile(r"\b\w*[a-zà-öø-ÿœæ]{2}[A-ZÀ-ÖØ-ÞŒÆ][a-zà-öø-ÿœæ]\w*")
# Cheap pre-check: scan for the capital first, then look behind (~3x faster).
_GLUE_HINT_RE = re.compile(r"[A-ZÀ-ÖØ-ÞŒÆ](?<=[a-zà-öø-ÿœæ]{2}.)[a-zà-öø-ÿœæ]")
_GLUE_SPLIT_RE = re.compile(r"(?<=[a-zà-öø-ÿœæ]{2})(?=[A-ZÀ-ÖØ-ÞŒÆ][a-zà-öø-ÿœæ])")


def _unglue(match: re.Match[str]) -> str:
    word = match.group(0)
    folded = fold(word)
    if folded in _CAMEL_WORDS or any(_one_edit(folded, w) for w in _CAMEL_WORDS):
        return word  # a product name, or one with a typo (« SecNumClould »)
    return _GLUE_SPLIT_RE.sub(" ", word)


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` (6 letters or more) differ by one insertion, deletion,
    substitution or swap of two neighbours."""
    la, lb = len(a), len(b)
    if min(la, lb) < 6 or abs(la - lb) > 1 or a == b:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # one letter replaced
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i:] if la > lb else a[i:] == b[i + 1 :]


def split_glued(s: str) -> str:
    """Split words glued by PDF extraction: « marchéLe titulaire » → « marché Le titulaire ».

    Conservative: only a run of two lower-case letters directly followed by a
    capitalised word is split; « McDonald », « iPhone », « CCAGTIC », « dumarché » and
    known product names (« LibreOffice », « GitHub »…) are left alone.
    """
    if _GLUE_HINT_RE.search(s) is None:
        return s
    return _GLUE_RE.sub(_unglue, s)


# --------------------------------------------------------------------------- normalize


def _replace_special(m: re.Match[str]) -> str:
    return _REPLACE[m.group()]


def _normalize_line(s: str) -> str:
    s = _SPECIAL_RE.sub(_replace_special, s)
    if _BULLET_MARK in s:
        s = _LEADING_BULLETS_RE.sub("- ", s.lstrip(" "), count=1)
        s = s.replace(_BULLET_MARK, " ")
    else:
        s = s.strip(" ")
        if s and s[0] in _LEADING_ONLY:
            s = _LEADING_BULLETS_RE.sub("- ", s, count=1)
    if "  " in s:
        s = _SPACES_RE.sub(" ", s)
    s = split_glued(s)
    return s.strip(" ")


#: Normalised and folded forms of the texts met in this process, keyed by the text: a
#: repository's dossiers repeat most of their lines (``cahier check --all``). Cleared
#: past this many entries, so that memory stays bounded in a long batch.
_CACHE_MAX = 200_000
_NORMALIZED: BoundedMemo[str, str] = BoundedMemo(_CACHE_MAX)
_FOLDED: BoundedMemo[str, str] = BoundedMemo(_CACHE_MAX)


def normalize_text(s: str) -> str:
    """Normalised form of ``s`` (one line, or several separated by ``\\n``).

    NBSP, narrow NBSP, thin and other spaces → space; ’ ‘ ʼ ´ ` → ``'``; “ ” „ → ``"``
    (« » kept); zero-width characters removed; soft hyphen U+00AD removed (word
    joined); pdfium's hyphen marker U+FFFE joins the word, or keeps a hyphen for a true
    compound (« sous-critère », « ci-dessus »); private-use (Wingdings/Symbol) and bullet
    glyphs → ``- `` at the start of a line, removed elsewhere; ligatures expanded
    (ﬁ → fi; œ kept); NFC; runs of spaces collapsed; stripped; camel-case glue split.
    """
    if not s:
        return ""
    got = _NORMALIZED.get(s)
    return got if got is not None else _NORMALIZED.put(s, _normalize(s))


def _normalize(s: str) -> str:
    if not s.isascii() and not unicodedata.is_normalized("NFC", s):
        s = unicodedata.normalize("NFC", s)
    if "\ufffe" in s:
        s = _FFFE_RE.sub(_fffe, s)
    if "\n" in s or "\r" in s:
        parts = [_normalize_line(p) for p in s.replace("\r\n", "\n").split("\n")]
        return "\n".join(parts).strip()
    return _normalize_line(s)


# --------------------------------------------------------------------------- fold

_FOLD_SPECIAL = {
    "œ": "oe",
    "æ": "ae",
    "ß": "ss",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "ł": "l",
    "ı": "i",
    "þ": "th",
    "ŀ": "l",
}


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    """Fold one rare character (NFKD, combining marks dropped)."""
    if c in _FOLD_SPECIAL:
        return _FOLD_SPECIAL[c]
    decomposed = unicodedata.normalize("NFKD", c)
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return base.lower() if base else ""


def _build_fold_map() -> dict[str, str]:
    table: dict[str, str] = {}
    for cp in range(0x80, 0x250):
        c = chr(cp)
        if c == c.lower() and unicodedata.category(c).startswith("L"):
            table[c] = _fold_char(c)
    for c, v in _REPLACE.items():
        if not c.isascii():
            table[c] = " " if v == _BULLET_MARK else v
    table.update(_FOLD_SPECIAL)
    return table


_FOLD_MAP = _build_fold_map()


class _FoldTable(dict):
    """Code point → folded text for :meth:`str.translate`: ASCII maps to itself, the
    non-ASCII characters of :data:`_FOLD_MAP` to their fold, any other character is
    folded once (:func:`_fold_char`) and remembered (a C loop instead of a Python
    callback per accented letter)."""

    def __missing__(self, cp: int) -> str:
        c = chr(cp)
        r = _FOLD_MAP.get(c)
        if r is None:
            r = _FOLD_MAP[c] = _fold_char(c)
        self[cp] = r
        return r


_FOLD_TABLE = _FoldTable({i: i for i in range(128)})
_FOLD_TABLE.update((ord(c), v) for c, v in _FOLD_MAP.items())


def fold(s: str) -> str:
    """Matching form: lower case, accents removed (é → e, œ → oe, æ → ae).

    Expects normalised text (:func:`normalize_text`) but also maps the usual typographic
    characters (NBSP, curly apostrophes…) so that folding raw text gives nearly the same
    result. Fast path: ``str.lower``; non-ASCII characters through a cached map; each
    text's fold is remembered for the process (bounded, see :data:`_CACHE_MAX`).
    """
    got = _FOLDED.get(s)
    if got is not None:
        return got
    out = s.lower()
    if not out.isascii():
        out = out.translate(_FOLD_TABLE)
    return _FOLDED.put(s, out)
