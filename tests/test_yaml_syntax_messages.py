"""Every YAML syntax problem reaches the buyer in French, with its line.

The C reader (libyaml), used when available, words its problems differently from
PyYAML's pure-Python reader and does not name the character it refuses: both wordings
are translated, the refused character is read from the text, and an unknown problem
gives a French message, never the reader's English.
"""

from __future__ import annotations

import pytest

from tasks.dossier.yamlio import load_yaml
from tasks.errors import InputError

#: text → (line, words the French message must hold).
CASES = {
    "objet: Ordinateurs\n\tcodeCPV: x\n": (2, "tabulation"),
    "objet:\n\t- Ordinateurs\n": (2, "tabulation"),
    "objet: @Ordinateurs\n": (1, "« @ »"),
    "objet: `Ordinateurs\n": (1, "« ` »"),
    "objet: Ordinateurs: portables\n": (1, "« : » inattendu"),
    "- a\nobjet: b\n": (2, "liste"),
    "objet: -\n\t- b\n": (1, "« - »"),
    "%FOO\n---\nobjet: a\n": (1, "directive"),
    'objet: "C:\\q"\n': (1, "guillemets"),
    "objet: [1,,2]\n": (1, "virgule"),
    "objet: a\n--- b\n": (2, "un seul document"),
    "objet: a\x07b\n": (1, "U+0007"),
    "montant: 1\nobjet: \ufffe\n": (2, "U+FFFE"),
}

ENGLISH = ("found", "expected", "allowed", "character", "token", "directive name", "stream")


@pytest.mark.parametrize("text", sorted(CASES))
def test_yaml_syntax_problem_is_french_and_located(text: str):
    line, words = CASES[text]
    with pytest.raises(InputError) as err:
        load_yaml(text, "tender.yaml")
    msg = str(err.value)
    assert msg.startswith(f"tender.yaml:{line} : "), msg
    assert words in msg, msg
    for word in ENGLISH:
        assert word not in msg.replace("caractère", ""), (word, msg)
