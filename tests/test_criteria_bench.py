"""Floors of bench/criteria.py (criteria and import metadata against the labels).

Measured on the visible real cases (labels.yaml + labels-more.yaml): 8/8 documents whose
criteria weights and sub-weights are all exact (Vallée Sud, AMF, the four MiNumEco model
tables, the repairability guide, the DINUM accessibility clause), names 22/22, weights
22/22, sub-weights 10/10, units 6/6; import metadata 12/13 stated fields equal to the labels
(AMF and the Afpa template; the Afpa buyer, named only in prose, is missed), 0 spurious.
The parser was written against these documents too: this is not a held-out measure.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

BENCH = Path(__file__).resolve().parents[1] / "bench" / "criteria.py"


@pytest.fixture(scope="module")
def bench(shared_real):
    if not (shared_real / "labels-more.yaml").is_file():
        pytest.skip("labels-more.yaml absent")
    spec = importlib.util.spec_from_file_location("criteria_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module, shared_real.parent


def test_criteria_weights_exact_on_every_labelled_document(bench):
    module, shared = bench
    score = module.measure_criteria(shared)
    assert score.docs >= 8  # the labels still cover the documents
    assert score.docs_exact == score.docs, score.errors
    assert score.names_ok >= score.names - 1
    assert score.units_ok == score.units


def test_import_metadata_floor(bench):
    module, shared = bench
    score = module.measure_metadata(shared)
    assert score.stated >= 12
    assert score.rate >= 0.9, score.errors
    assert score.spurious == 0, score.errors
