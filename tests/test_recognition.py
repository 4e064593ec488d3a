"""Recognition floor: the checker's evidence against the labels of ../shared/cases/real.

Measured with bench/recognition.py (uncertain labels excluded): on the 2 real DCEs
and the 5 MiNumEco clause banks, 42 true positives, 0 false positive, 0 false negative
(precision 1.00, recall 1.00, clausier 2026.11.0). The floor leaves room for one miss;
the patterns were tuned on these same documents, so this is not a held-out measure.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

BENCH = Path(__file__).resolve().parents[1] / "bench" / "recognition.py"
FLOOR_PRECISION = 0.97
FLOOR_RECALL = 0.97


@pytest.fixture(scope="module")
def scores(shared_real):
    if not (shared_real / "labels.yaml").is_file():
        pytest.skip("labels.yaml absent")
    spec = importlib.util.spec_from_file_location("recognition_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module
    spec.loader.exec_module(module)
    return module.measure(shared_real.parent)


def test_overall_precision_and_recall(scores):
    per, total = scores
    assert total.tp >= 40  # the labels still cover the real documents
    assert total.recall >= FLOOR_RECALL, {c: s.fn_docs for c, s in per.items() if s.fn}
    assert total.precision >= FLOOR_PRECISION, {c: s.fp_docs for c, s in per.items() if s.fp}


def test_no_family_is_never_found(scores):
    per, _ = scores
    blind = [cid for cid, s in per.items() if s.tp == 0 and s.fn > 0]
    assert not blind, blind
