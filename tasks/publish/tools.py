"""The external converters: Pandoc (subprocess, sandboxed, bounded) and Typst (in process)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tasks.errors import InputError
from tasks.publish.base import PANDOC_HEAP, PANDOC_TIMEOUT_S


def _run_bounded(
    cmd: list[str], too_long: str, timeout: float, where: str | None, **kwargs: Any
) -> subprocess.CompletedProcess[bytes]:
    """:func:`subprocess.run` of ``cmd`` (output captured, ``kwargs`` passed on), killed
    after ``timeout`` seconds.

    Raises:
        InputError: « ``too_long`` (plus de N s) : allégez ou scindez la pièce… », located
            at ``where``.
    """
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise InputError(
            f"{too_long} (plus de {timeout:g} s) : allégez ou scindez la pièce "
            "(tableaux très longs, centaines de pages).",
            where,
        ) from None


def _pandoc(
    args: list[str], data: bytes, timeout: float = PANDOC_TIMEOUT_S, where: str = ""
) -> bytes:
    """Run Pandoc (pypandoc-binary's executable) with ``--sandbox``, a heap limit and a timeout.

    pypandoc provides the binary; it is called with :func:`subprocess.run` because
    pypandoc's API has no timeout.

    Raises:
        InputError: Pandoc failed or exceeded ``timeout`` seconds (French message).
    """
    import pypandoc

    cmd = [pypandoc.get_pandoc_path(), "+RTS", f"-M{PANDOC_HEAP}", "-RTS", "--sandbox", *args]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": tempfile.gettempdir(), "LANG": "C.UTF-8"}
    proc = _run_bounded(cmd, "conversion trop longue", timeout, where or None, input=data, env=env)
    if proc.returncode in (-signal.SIGINT, -signal.SIGTERM):  # the user stopped the run
        raise KeyboardInterrupt
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1][:300] if detail else f"code {proc.returncode}"
        if "heap" in reason.lower():
            reason = "mémoire insuffisante"
        raise InputError(f"conversion Pandoc impossible ({reason}).", where or None)
    return proc.stdout


def pandoc_version() -> str:
    import pypandoc

    return str(pypandoc.get_pandoc_version())


#: Seconds one Typst compilation may take (wall clock, in the child process).
TYPST_TIMEOUT_S = 120.0


def typst_compile(
    source: bytes,
    images: dict[str, bytes],
    standards: list[str],
    where: str,
    epoch: int,
    timeout: float = TYPST_TIMEOUT_S,
) -> bytes:
    """One PDF: :func:`typst_compile_many` with one set of standards, warnings dropped."""
    pdfs, _warnings = typst_compile_many(source, images, [standards], where, epoch, timeout=timeout)
    return pdfs[0]


def typst_compile_many(
    source: bytes,
    images: dict[str, bytes],
    jobs: list[list[str]],
    where: str,
    epoch: int,
    fonts: dict[str, bytes] | None = None,
    timeout: float = TYPST_TIMEOUT_S,
) -> tuple[list[bytes], list[str]]:
    """Compile Typst source once per set of PDF standards (e.g. ``[["ua-1"], ["a-2b",
    "ua-1"]]``), in an empty temporary root (no system fonts, no packages).

    Runs in one child process (:mod:`tasks.publish.typst_run`) under memory and CPU
    limits, waited for ``timeout`` seconds: the bound holds in any thread.

    Args:
        images: files placed in the root (name → bytes).
        fonts: font files (name → bytes) given to Typst besides its embedded fonts.

    Returns:
        the PDFs (same order as ``jobs``) and Typst's warnings (English, one per line).

    Raises:
        InputError: Typst refused the document (e.g. a PDF/UA-1 requirement), ran out
            of memory or took longer than ``timeout`` seconds (French message).
    """
    import sys

    with tempfile.TemporaryDirectory(prefix="cahier-typst-") as root:
        for name, data in images.items():
            Path(root, name).write_bytes(data)
        Path(root, "main.typ").write_bytes(source)
        font_dir = ""
        if fonts:
            font_dir = str(Path(root, ".fonts"))
            Path(font_dir).mkdir()
            for name, data in fonts.items():
                Path(font_dir, name).write_bytes(data)
        cmd = [
            sys.executable,
            "-m",
            "tasks.publish.typst_run",
            root,
            ";".join(",".join(s) for s in jobs),
            str(int(epoch)),
            font_dir,
        ]
        here = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p),
        }
        proc = _run_bounded(cmd, "PDF trop long à produire", timeout, where, env=env, cwd=root)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace")
            typst_lines = [ln[6:] for ln in err.splitlines() if ln.startswith("TYPST:")]
            if typst_lines:
                reason = french_typst(typst_lines[0])
            elif "MemoryError" in err or "memory allocation" in err or proc.returncode < 0:
                reason = "mémoire ou temps de calcul insuffisants : allégez la pièce"
            else:
                reason = f"arrêt inattendu de Typst (code {proc.returncode})"
            raise InputError(f"PDF impossible à produire (Typst : {reason}).", where)
        pdfs = [Path(root, f"out-{i}.pdf").read_bytes() for i in range(len(jobs))]
        warnings_file = Path(root, "warnings.txt")
        text = warnings_file.read_text(encoding="utf-8") if warnings_file.is_file() else ""
        return pdfs, [w for w in text.split("\n") if w]


_TYPST_MESSAGES = {
    "could not be displayed": "un caractère n'existe dans aucune police disponible : "
    "remplacez-le, ou déclarez une police qui le contient (font_dirs)",
    "heading title is empty": "un titre est vide : donnez-lui un texte (ligne « # … » "
    "ou « ## … » de la pièce)",
    "missing alt text": "image sans texte de remplacement",
    "document title": "titre du document manquant",
}


def french_typst(message: str) -> str:
    """Typst's English message in French (known cases), else the message quoted."""
    low = message.lower()
    for en, fr in _TYPST_MESSAGES.items():
        if en in low:
            return fr
    return f"refus du compilateur : « {message} »"
