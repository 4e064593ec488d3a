"""Line numbers of a PDF in the labels' convention: the line of ``pdftotext -layout``.

The reader extracts a PDF with PDFium (text, fonts, quality); its lines are not those of
poppler's ``pdftotext -layout``, which lays a page out as a grid (a table row, or two
columns, on one line; blank lines for vertical space): on the visible real PDFs only 4 %
of PDFium's lines carry the same number. When poppler's ``pdftotext`` is installed
(Debian package ``poppler-utils``, installed by ``scripts/install-poppler.sh``), each
PDFium line is found in the layout text of its page and takes that line's number; without
it (or when a line is not found) the PDFium numbering is kept, so a reader without poppler
still gives a usable location. Cost: ~0.6 s for the 93 pages of the AMF DCE (one process
per PDF), measured in ``bench/reading.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile

__all__ = ["LayoutJob", "layout_pages", "map_page_lines"]

#: Words of a line compared with the layout text (enough to tell lines apart).
_KEY_WORDS = 5
_TIMEOUT_S = 60


class LayoutJob:
    """``pdftotext -layout`` running beside the PDFium reading (a process of its own:
    on a second core it costs no wall time). :meth:`pages` waits for it."""

    def __init__(self, data: bytes) -> None:
        self._proc: subprocess.Popen | None = None
        self._path: str | None = None
        exe = shutil.which("pdftotext")
        if exe is None:
            return
        try:
            fd, self._path = tempfile.mkstemp(suffix=".pdf")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            self._proc = subprocess.Popen(
                [exe, "-q", "-layout", "-enc", "UTF-8", self._path, "-"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._cleanup()

    def pages(self) -> list[list[str]] | None:
        """Pages of the layout text (each a list of lines), or None when poppler's
        ``pdftotext`` is absent or failed (the caller keeps PDFium's numbering)."""
        proc = self._proc
        if proc is None:
            return None
        try:
            out, _err = proc.communicate(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
        finally:
            self._cleanup()
        if proc.returncode != 0:
            return None
        return [page.split("\n") for page in out.decode("utf-8", "replace").split("\f")]

    def cancel(self) -> None:
        """Stop the process (the PDF turned out unreadable or without text)."""
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.kill()
            self._proc.communicate()
            self._proc = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
            self._path = None


def layout_pages(data: bytes) -> list[list[str]] | None:
    """Pages of ``pdftotext -layout`` (each a list of lines), or None without poppler."""
    return LayoutJob(data).pages()


def _key(text: str) -> str:
    return " ".join(text.split()[:_KEY_WORDS])


def map_page_lines(segments: list[str], layout: list[str]) -> list[int | None]:
    """For each PDFium line of a page (in order), its 1-based line in the page's
    ``pdftotext -layout`` text, or None when not found.

    The search goes forward from the last line found (the reading order is the same;
    several PDFium lines may share one layout line: cells of a table row), then over the
    whole page (a block PDFium reads in another order).
    """
    flat = [" ".join(line.split()) for line in layout]
    out: list[int | None] = []
    at = 0
    for seg in segments:
        key = _key(seg)
        if not key:
            out.append(None)
            continue
        found = next((i for i in range(at, len(flat)) if key in flat[i]), None)
        if found is None:
            found = next((i for i in range(len(flat)) if key in flat[i]), None)
        else:
            at = found
        out.append(found + 1 if found is not None else None)
    return out
