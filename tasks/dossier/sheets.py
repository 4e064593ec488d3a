"""Spreadsheets (XLSX, ODS) read as pieces: one line per non-empty row, cells joined by
« | », one section per sheet; ``src_line`` is the row number in its sheet (1-based, as
the spreadsheet shows it).

XLSX is read with openpyxl (read-only, values only: formulas are not evaluated), ODS with
odfpy. The uncompressed size is checked from the zip directory before anything is
inflated (a « zip bomb » is refused).

Raises :class:`tasks.errors.InputError` (French, naming the file) for an archive that is
not a spreadsheet, or too large once uncompressed.
"""

from __future__ import annotations

import io
import zipfile

from tasks.dossier.document import Line, PieceText, Section
from tasks.dossier.normalize import fold, normalize_text
from tasks.errors import InputError

__all__ = ["SHEET_EXT", "read_sheet"]

SHEET_EXT = {".xlsx": "xlsx", ".xlsm": "xlsx", ".ods": "ods"}
_MAX_UNCOMPRESSED = 200_000_000
_MAX_ROWS = 50_000


def _check_zip(data: bytes, name: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            total = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile:
        raise InputError(
            "tableur illisible : le fichier n'est pas une archive XLSX/ODS valide ; "
            "réenregistrez-le depuis le tableur.",
            name,
        ) from None
    if total > _MAX_UNCOMPRESSED:
        raise InputError(
            f"tableur trop volumineux une fois décompressé ({total / 1e6:.0f} Mo) : "
            "allégez-le ou scindez-le.",
            name,
        )


def _xlsx_rows(data: bytes, name: str):
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise _unreadable("XLSX", name) from exc
    try:
        for ws in wb.worksheets:
            rows = []
            for r, row in enumerate(ws.iter_rows(values_only=True), 1):
                if r > _MAX_ROWS:
                    break
                cells = ["" if v is None else str(v) for v in row]
                rows.append((r, cells))
            yield ws.title, rows
    finally:
        wb.close()


def _ods_rows(data: bytes, name: str):
    from odf import teletype
    from odf.opendocument import load
    from odf.table import Table, TableCell, TableRow

    try:
        doc = load(io.BytesIO(data))
    except Exception as exc:
        raise _unreadable("ODS", name) from exc
    for table in doc.spreadsheet.getElementsByType(Table):
        rows = []
        r = 0
        for row in table.getElementsByType(TableRow):
            rep = int(row.getAttribute("numberrowsrepeated") or 1)
            cells: list[str] = []
            for cell in row.getElementsByType(TableCell):
                n = min(int(cell.getAttribute("numbercolumnsrepeated") or 1), 50)
                cells.extend([teletype.extractText(cell)] * n)
            r += 1
            if any(c.strip() for c in cells):
                rows.append((r, cells))
            r += rep - 1
            if r > _MAX_ROWS:
                break
        yield table.getAttribute("name") or "Feuille", rows


def read_sheet(name: str, data: bytes, kind: str) -> PieceText:
    """A spreadsheet as a piece (see the module docstring)."""
    ext = "." + name.rsplit(".", 1)[-1].lower()
    fmt = SHEET_EXT[ext]
    _check_zip(data, name)
    sheets = _xlsx_rows(data, name) if fmt == "xlsx" else _ods_rows(data, name)
    lines: list[Line] = []
    sections: list[Section] = []
    try:
        for title, rows in sheets:
            sections.append(Section(None, f"Feuille « {title} »", 1, len(lines)))
            for r, cells in rows:
                text = normalize_text(
                    " | ".join(" ".join(c.split()) for c in cells if c and c.strip())
                )
                if text:
                    lines.append(Line(text, fold(text), r, None, len(sections) - 1))
    except InputError:
        raise
    except Exception as exc:  # a damaged sheet fails inside the library
        raise _unreadable(fmt.upper(), name) from exc
    return PieceText(name, kind, fmt, lines, sections)


def _unreadable(label: str, name: str) -> InputError:
    """A spreadsheet its library cannot read (damaged archive member, bad attribute,
    impossible cell reference), in French: never the library's exception."""
    return InputError(
        f"tableur {label} illisible : le classeur est endommagé ou n'a pas été produit par "
        "un tableur conforme ; ouvrez-le et réenregistrez-le depuis le tableur.",
        name,
    )
