"""The external converters: Pandoc (subprocess, sandboxed, bounded) and Typst (in process)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from tasks.errors import InputError
from tasks.publish.base import PANDOC_HEAP, PANDOC_TIMEOUT_S


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
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise InputError(
            f"conversion trop longue (plus de {timeout:g} s) : allégez ou scindez la pièce "
            "(tableaux très longs, centaines de pages).",
            where or None,
        ) from None
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


def typst_compile(
    source: bytes, images: dict[str, bytes], standards: list[str], where: str, epoch: int
) -> bytes:
    """Compile Typst source in an empty temporary root (no system fonts, no packages).

    Raises:
        InputError: Typst refused the document (e.g. a PDF/UA-1 requirement).
    """
    import typst

    with tempfile.TemporaryDirectory(prefix="cahier-typst-") as root:
        for name, data in images.items():
            Path(root, name).write_bytes(data)
        main = Path(root, "main.typ")
        main.write_bytes(source)
        try:
            return typst.compile(
                str(main),
                root=root,
                ignore_system_fonts=True,
                pdf_standards=standards,
                timestamp=epoch,
                package_path=root,
                package_cache_path=root,
            )
        except typst.TypstError as exc:
            msg = str(exc).strip().splitlines()
            raise InputError(
                f"PDF impossible à produire (Typst : {msg[0][:300] if msg else exc}).", where
            ) from None
