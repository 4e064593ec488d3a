"""The rooms' public API (tasks.<room>.__all__), exported lazily by tasks.lazy_exports."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tasks import lazy_exports

ROOMS = ["award", "check", "clausier", "dossier", "drafting", "publish", "review"]


@pytest.mark.parametrize("room", ROOMS)
def test_every_public_name_imports_from_its_room(room: str) -> None:
    package = importlib.import_module(f"tasks.{room}")
    assert package.__all__ == sorted(package.__all__) and dir(package) == package.__all__
    for name in package.__all__:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        package.nope  # noqa: B018


def test_importing_a_room_imports_none_of_its_modules() -> None:
    code = (
        "import sys\n"
        f"for room in {ROOMS!r}:\n"
        "    __import__('tasks.' + room)\n"
        "print(sorted(m for m in sys.modules if m.count('.') > 1 and m.startswith('tasks.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_table_lines_may_repeat_a_module_but_not_a_name() -> None:
    names, _, dir_ = lazy_exports("tasks.check", "report: to_text\n  report: to_json\n")
    assert names == dir_() == ["to_json", "to_text"]
    with pytest.raises(ValueError, match="exported twice"):
        lazy_exports("tasks.check", "report: to_text\nbatch: to_text")
    with pytest.raises(ValueError, match="without 'module:'"):
        lazy_exports("tasks.check", "to_text")
