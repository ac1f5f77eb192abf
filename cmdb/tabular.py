"""Reading tabular input (CSV, XLSX, JSON, YAML) into rows numbered as a spreadsheet shows them.

CSV is decoded as UTF-8 (with or without BOM) or, failing that, Windows-1251 when the bytes look
like Russian text; the delimiter (``,`` ``;`` or tab) is taken from the header line. For JSON and
YAML, a record's row number is its position + 1: the row it would occupy in the CSV export.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cmdb.i18n import t

SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
}


@dataclass(frozen=True, order=True)
class RowError:
    """One problem in an input file: ``FILE:ROW: COLUMN: reason``."""

    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: {self.column}: {self.reason}"


@dataclass
class Table:
    """The header and the non-empty data rows of one input file."""

    source: str
    header: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    encoding: str | None = None


class ReadError(Exception):
    """The file cannot be read as a table at all; carries the row errors to print."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def decode_text(
    data: bytes, source: str, locale: str, encoding: str | None = None
) -> tuple[str, str]:
    """Decode ``data``: forced ``encoding``, else UTF-8 (BOM allowed), else plausible cp1251."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise ReadError(
                [RowError(source, 1, "-", t(locale, "file.encoding", detail=exc))]
            ) from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise ReadError([_encoding_error(data, source, locale, utf8_error)]) from exc
        if _looks_russian(text):
            return text, "cp1251"
        raise ReadError([_encoding_error(data, source, locale, utf8_error)]) from utf8_error


def _encoding_error(data: bytes, source: str, locale: str, exc: UnicodeDecodeError) -> RowError:
    row = data.count(b"\n", 0, exc.start) + 1
    detail = f"byte 0x{data[exc.start]:02x}"
    return RowError(source, row, "-", t(locale, "file.encoding", detail=detail))


def _looks_russian(text: str) -> bool:
    """True when the non-ASCII characters of ``text`` are overwhelmingly Cyrillic letters."""
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return True
    cyrillic = sum(1 for ch in non_ascii if "\u0400" <= ch <= "\u04ff" or ch in "№«»—–")
    return cyrillic / len(non_ascii) >= 0.9


def read_table(path: Path, kind: str, locale: str = "ru", encoding: str | None = None) -> Table:
    """Read ``path`` into a :class:`Table`; raise :class:`ReadError` if it is not a table at all."""
    source = str(path)
    if not path.is_file():
        raise ReadError([RowError(source, 0, "-", t(locale, "file.not_found"))])
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ReadError(
            [RowError(source, 0, "-", t(locale, "file.unknown_format", suffix=path.suffix))]
        )
    data = path.read_bytes()
    if fmt == "xlsx":
        return _read_xlsx(data, source, kind, locale)
    text, used = decode_text(data, source, locale, encoding)
    if fmt == "csv":
        table = _read_csv(text, source, locale)
    else:
        table = _read_records(text, source, kind, locale, fmt)
    table.encoding = used
    return table


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_csv(text: str, source: str, locale: str) -> Table:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header_cells = next(reader, None)
        if header_cells is None or all(_blank(c) for c in header_cells):
            raise ReadError([RowError(source, 1, "-", t(locale, "file.empty"))])
        table = Table(source, [c.strip() for c in header_cells])
        for cells in reader:
            if all(_blank(c) for c in cells):
                continue
            table.rows.append((reader.line_num, list(cells)))
    except csv.Error as exc:
        raise ReadError(
            [RowError(source, reader.line_num, "-", t(locale, "file.bad_csv", detail=exc))]
        ) from exc
    return table


def _read_xlsx(data: bytes, source: str, kind: str, locale: str) -> Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReadError([RowError(source, 0, "-", t(locale, "file.bad_xlsx", detail=exc))]) from exc
    try:
        sheet = book[kind] if kind in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_cells = next(rows, None)
        if header_cells is None or all(_blank(c) for c in header_cells):
            raise ReadError([RowError(source, 1, "-", t(locale, "file.empty"))])
        header = [str(c).strip() if c is not None else "" for c in header_cells]
        while header and not header[-1]:
            header.pop()
        table = Table(source, header, encoding="xlsx")
        for number, cells in enumerate(rows, start=2):
            values = list(cells[: len(header)])
            if all(_blank(c) for c in values):
                continue
            table.rows.append((number, values))
        return table
    finally:
        book.close()


def _read_records(text: str, source: str, kind: str, locale: str, fmt: str) -> Table:
    try:
        if fmt == "json":
            loaded: Any = json.loads(text)
        else:
            loaded = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        row = exc.lineno
        raise ReadError(
            [RowError(source, row, "-", t(locale, "file.bad_json", detail=exc.msg))]
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else 0
        raise ReadError(
            [RowError(source, row, "-", t(locale, "file.bad_yaml", detail=exc))]
        ) from exc
    if isinstance(loaded, dict) and isinstance(loaded.get(kind), list):
        loaded = loaded[kind]
    if not isinstance(loaded, list):
        raise ReadError([RowError(source, 1, "-", t(locale, "file.not_list", kind=kind))])
    header: list[str] = []
    seen: set[str] = set()
    for record in loaded:
        if isinstance(record, dict):
            for key in record:
                if str(key) not in seen:
                    seen.add(str(key))
                    header.append(str(key))
    table = Table(source, header)
    errors: list[RowError] = []
    for index, record in enumerate(loaded):
        number = index + 2
        if not isinstance(record, dict):
            errors.append(RowError(source, number, "-", t(locale, "file.not_object")))
            continue
        values = {str(k): v for k, v in record.items()}
        table.rows.append((number, [values.get(h) for h in header]))
    if errors:
        raise ReadError(errors)
    return table
