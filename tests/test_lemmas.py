"""The on-disk lemma cache of the recognition engine (tasks/clausier/lemmas.py):
same answers as simplemma, and a warm cache spares loading its dictionary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import sys\n"
    "from tasks.clausier.lemmas import lemma_info\n"
    "print(lemma_info('prestations'), lemma_info('réversibilité'), lemma_info('xqzwvk'))\n"
    "print('simplemma' in sys.modules)\n"
)


def _probe(cache: Path) -> list[str]:
    env = {**os.environ, "CAHIER_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.splitlines()


def test_warm_cache_gives_simplemma_answers_without_loading_it(tmp_path):
    from simplemma import is_known, lemmatize

    cold = _probe(tmp_path)
    assert cold[1] == "True"  # first run: the dictionary is loaded, the cache written
    files = list(tmp_path.glob("lemmas-fr-*.json"))
    assert len(files) == 1
    entries = json.loads(files[0].read_text(encoding="utf-8"))
    for word in ("prestations", "réversibilité", "xqzwvk"):
        assert entries[word] == [lemmatize(word, lang="fr"), is_known(word, lang="fr")]
    warm = _probe(tmp_path)
    assert warm[0] == cold[0]
    assert warm[1] == "False"  # second run: answered from the cache only


def test_corrupt_cache_is_ignored_and_rebuilt(tmp_path):
    _probe(tmp_path)
    (cache,) = tmp_path.glob("lemmas-fr-*.json")
    cache.write_text('{"prestations": ["pwned", 3]', encoding="utf-8")
    lines = _probe(tmp_path)
    assert lines[0].startswith("('prestation', True)")
    assert json.loads(cache.read_text(encoding="utf-8"))["prestations"] == ["prestation", True]
