"""Reading the spreadsheet of people a network already keeps (CSV or .xlsx): pure, bytes in and
rows of text out (``read_table``; run it in a thread), within limits a small file cannot
escape (size, rows, columns, cell length, what an .xlsx unpacks to)."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

from facilitator.errors import Invalid
from facilitator.names import match_key, strip_invisible

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
#: A cell longer than this is refused as too long anyway; reading stops there.
MAX_CELL = 1000
#: What an .xlsx may unpack to: a small file cannot hide a huge one.


MAX_UNPACKED = 40 * 1024 * 1024
FIELDS = ("name", "organization", "sector", "email", "phone", "groups")


# Headers people write, by key (match_key folds case, quotes and gershayim).
_HEADERS = {
    "name": ("name", "full name", "person", "שם", "שם מלא"),
    "organization": ("organization", "organisation", "org", "ארגון", "שם הארגון"),
    "sector": ("sector", "מגזר"),
    "email": ("email", "e-mail", "mail", 'דוא"ל', "דואל", "אימייל", "מייל", "דואר אלקטרוני"),
    "phone": ("phone", "mobile", "telephone", "טלפון", "נייד", "טלפון נייד"),
    "groups": ("groups", "group", "קבוצות", "קבוצה"),
}
HEADERS = {match_key(h): f for f, names in _HEADERS.items() for h in names}


@dataclass
class Table:
    """The file's rows as text, with each row's number in the spreadsheet (header is 1)."""

    columns: dict[str, int]
    rows: list[tuple[int, list[str]]]


def _decode(data: bytes) -> str:
    # Strict both ways: a wrong guess fails loudly instead of importing mojibake.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1255")
    except UnicodeDecodeError:
        raise Invalid("import.bad_encoding") from None


def _csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = []
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except csv.Error:
        raise Invalid("import.bad_file") from None


#: Columns read from a sheet (a person's row needs six; a few more are read and ignored).
MAX_COLUMNS = 40


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # only the import page needs it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED:
                raise Invalid("import.too_large")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise Invalid("import.bad_file") from None
    try:
        sheet = book.worksheets[0]
        rows = []
        # A stray cell far to the right makes every row that wide: read the first columns only.
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append(["" if v is None else _cell_text(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        book.close()


def _cell_text(value: object) -> str:
    # A phone typed as a number comes back as 972501234567.0; a whole number is shown whole.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(data: bytes, filename: str = "") -> Table:
    """The rows of a CSV (UTF-8, with or without BOM, or Windows-1255) or an .xlsx file, and
    which column holds what. Refuses a file it cannot read, with no name column, or too big."""
    if len(data) > MAX_BYTES:
        raise Invalid("import.too_large")
    is_xlsx = data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    raw = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    while raw and not any(c.strip() for c in raw[0]):
        raw.pop(0)
    if not raw:
        raise Invalid("import.empty")
    columns: dict[str, int] = {}
    for index, header in enumerate(raw[0]):
        found = HEADERS.get(match_key(header))
        if found and found not in columns:
            columns[found] = index
    if "name" not in columns or "organization" not in columns:
        raise Invalid("import.no_columns")
    rows = []
    for number, row in enumerate(raw[1:], start=2):
        cells = [_plain(c) for c in row]
        if any(cells):
            rows.append((number, cells))
    if len(rows) > MAX_ROWS:
        raise Invalid("import.too_many_rows", limit=MAX_ROWS)
    if not rows:
        raise Invalid("import.empty")
    return Table(columns, rows)


def _plain(cell: str) -> str:
    cell = strip_invisible(cell[:MAX_CELL]).strip()
    # Our own export keeps a leading = + - @ from running as a formula with a quote: undo it.
    if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@"):
        return cell[1:]
    return cell
