"""Reading exchange files (CSV or XLSX) into validated rows, all or nothing.

Every import goes through `read_table`: it finds the columns by their Chinese header or English
key, turns every cell into text, runs each column's parser, and collects row errors instead of
stopping at the first one. Callers write nothing unless `Table.raise_if_errors()` passes
(exchange-formats.md, "Common rules": a file with any bad row imports nothing).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from django.utils import timezone
from python_calamine import CalamineError, CalamineWorkbook

from zizhu.core.errors import ImportRejected, InvalidIdNumber
from zizhu.core.idnumbers import parse_id_number

Parser = Callable[[str], Any]
Source = bytes | str | os.PathLike[str] | IO[bytes]


class CellError(ValueError):
    """A parser refused a cell. `reason` is shown to the person, in Chinese."""

    def __init__(self, reason: str, *, value: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value  # what to show when the raw cell was not text (XLSX numbers)


@dataclass(frozen=True, slots=True)
class Column:
    header: str  # the Chinese name in the spec
    key: str  # the English key, also accepted as a header
    parser: Parser
    required: bool = True  # the header must be present; blank cells are the parser's call


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet row number, header = 1
    column: str  # Chinese header
    value: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


class Row(dict[str, Any]):
    """One valid row keyed by English key; `number` is its spreadsheet row."""

    __slots__ = ("number",)
    number: int


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    row_count: int = 0  # non-blank data rows, valid or not
    sha256: str = ""  # of the file's bytes, for the import's provenance

    @property
    def ok(self) -> bool:
        return not self.errors

    def report(self) -> list[dict[str, object]]:
        return [error.as_dict() for error in sorted(self.errors, key=lambda e: e.row)]

    def raise_if_errors(self) -> None:
        if not self.errors:
            return
        bad_rows = len({error.row for error in self.errors})
        raise ImportRejected(
            f"文件中有 {len(self.errors)} 处错误（涉及 {bad_rows} 行），未导入任何数据。"
            "请下载错误报告，改正后重新上传整个文件。",
            report=self.report(),
        )


# ---------------------------------------------------------------------------------------------
# Parsers: str -> value, raising CellError with a Chinese reason. Each strips its input.


def text(max_length: int, *, blank: bool = False) -> Parser:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value and not blank:
            raise CellError("不能为空。")
        if len(value) > max_length:
            raise CellError(f"不能超过 {max_length} 个字（现有 {len(value)} 个）。")
        return value

    return parse


def optional(parser: Parser) -> Parser:
    """Blank → None; anything else goes through `parser`."""

    def parse(raw: str) -> Any:
        return parser(raw) if raw.strip() else None

    return parse


class _IdFastPath:
    """Skip `parse_id_number` for numbers it would certainly accept.

    `parse_id_number` costs ~27 µs (stdnum's clean-up, the time-zone lookup, a Python
    checksum loop): half a minute for a million-row department file with two ID columns.
    This path does the same cheap checks (length, digits, real birth date, not in the future,
    check character) in ~2 µs, and only for an (area code, birth year) pair that
    `parse_id_number` has already accepted, so any check it has or gains on the area code
    (stdnum's area table by birth year was one) still applies. Everything else goes to
    `parse_id_number`, which stays the authority and supplies the message.
    """

    def __init__(self) -> None:
        self.places: set[tuple[str, int]] = set()
        self.today: date | None = None

    def refresh(self) -> None:
        # A stale `today` only sends newborns to the slow path; it never accepts more.
        self.today = timezone.localdate()

    def accept(self, number: str) -> bool:
        if len(number) != 18 or not number.isascii() or not number[:17].isdigit():
            return False
        year = int(number[6:10])
        if (number[:6], year) not in self.places or self.today is None:
            return False
        try:
            birth = date(year, int(number[10:12]), int(number[12:14]))
        except ValueError:
            return False
        return birth <= self.today and fast_check_character(number[:17]) == number[17]

    def parse(self, raw: str) -> str:
        number = raw.strip().replace(" ", "").upper()
        if self.accept(number):
            return number
        try:
            value = parse_id_number(raw).value
        except InvalidIdNumber as exc:
            raise CellError(exc.message) from None
        self.places.add((value[:6], int(value[6:10])))
        return value


_ids = _IdFastPath()


def fast_check_character(first17: str) -> str:
    """`idnumbers.check_character` in one C-level int(): GB 11643's weights are 2**k mod 11,
    and 13 ≡ 2 (mod 11), so reading the digits in base 13 sums them with those weights
    (the same trick as stdnum's cn.ric). A test holds it equal to `check_character`.
    """
    return "0123456789X"[(1 - 2 * int(first17, 13)) % 11]


def id_number(raw: str) -> str:
    """GB 11643 number, normalised: 18 characters, X upper case, 15-digit numbers converted."""
    return _ids.parse(raw)


optional_id_number: Parser = optional(id_number)


def yes_no(raw: str) -> bool:
    value = raw.strip()
    if value == "是":
        return True
    if value == "否":
        return False
    raise CellError("只能填写“是”或“否”。")


_DATE_DASHED = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")


def date_value(raw: str) -> date:
    value = raw.strip()
    match = _DATE_DASHED.fullmatch(value) or _DATE_COMPACT.fullmatch(value)
    if match is None:
        raise CellError("日期格式应为 YYYY-MM-DD 或 YYYYMMDD，如 2026-09-01。")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"“{value}”不是真实存在的日期。") from None


_AMOUNT = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
_CENTS = Decimal("0.01")


def amount(raw: str) -> Decimal:
    """Yuan with at most 2 decimals, as Decimal (style.md: money is never float)."""
    value = raw.strip()
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise CellError("金额应为数字，以元为单位，最多两位小数，如 1250.00。")
    whole, fraction = match.groups()
    if fraction is not None and len(fraction) > 2:
        raise CellError("金额最多保留两位小数（到分）。")
    if len(whole.lstrip("0")) > 10:
        raise CellError("金额过大，请检查单位是否为元。")
    result = Decimal(value).quantize(_CENTS)
    if result < 0:
        raise CellError("金额不能为负数。")
    return abs(result)  # "-0" becomes 0.00


def choice(values: Sequence[str]) -> Parser:
    """One of an enumeration of Chinese values; the reason lists them."""
    allowed = frozenset(values)
    listing = "、".join(values)

    def parse(raw: str) -> str:
        value = raw.strip()
        if value not in allowed:
            raise CellError(f"应为以下之一：{listing}。")
        return value

    return parse


_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})(?:-01)?")


def month(raw: str) -> date:
    """`YYYY-MM`, returned as the first day of that month.

    `YYYY-MM-01` is accepted too: Excel turns a typed 2026-09 into a date cell, which reaches
    us as 2026-09-01.
    """
    value = raw.strip()
    match = _MONTH.fullmatch(value)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise CellError("月份格式应为 YYYY-MM，如 2026-09。")
    return date(int(match.group(1)), int(match.group(2)), 1)


_SCHOOL_YEAR = re.compile(r"([0-9]{4})-([0-9]{4})")


def school_year(raw: str) -> str:
    value = raw.strip()
    match = _SCHOOL_YEAR.fullmatch(value)
    if match is None:
        raise CellError("学年格式应为“起始年-结束年”，如 2026-2027。")
    if int(match.group(2)) != int(match.group(1)) + 1:
        raise CellError("学年的两个年份应相邻，如 2026-2027。")
    return value


_PHONE = re.compile(r"[0-9]{7,12}")


def phone(raw: str) -> str:
    value = raw.strip().replace("-", "").replace(" ", "")
    value = value.removeprefix("+86")
    if not _PHONE.fullmatch(value):
        raise CellError("联系电话应为 7–12 位数字，可带 +86 或连字符。")
    return value


_BANK_ACCOUNT = re.compile(r"[0-9]{12,25}")


def bank_account(raw: str) -> str:
    value = raw.strip().replace(" ", "")
    if not _BANK_ACCOUNT.fullmatch(value):
        raise CellError("银行卡号应为 12–25 位数字。")
    return value


# ---------------------------------------------------------------------------------------------
# Reading files.

_CHUNK = 1 << 20
# Excel keeps 15 significant digits: a longer number typed into a number cell has already lost
# its last digits, so it is refused rather than guessed (ID numbers, bank accounts).
_EXACT_LIMIT = 1e15
_TRUNCATED = (
    "该单元格是数字格式，Excel 只保留 15 位有效数字，更长的号码末尾已丢失。"
    "请把该列设置为“文本”格式，重新录入后再上传。"
)


def read_table(source: Source, filename: str, columns: Sequence[Column]) -> Table:
    """Read a CSV or XLSX exchange file; raise ImportRejected for file-level problems.

    Row errors are collected in the returned table; the caller checks `raise_if_errors()`.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ImportRejected(f"不支持“{filename}”的文件类型：请上传 CSV 或 XLSX（Excel）文件。")
    _ids.refresh()
    with _opened(source) as stream:
        if suffix == ".csv":
            digest, encoding = _scan_csv(stream)
            stream.seek(0)
            records, is_blank = _csv_rows(stream, encoding), _csv_blank
        else:
            digest = _digest(stream)
            stream.seek(0)
            records, is_blank = _xlsx_rows(stream), _cells_blank
        with closing(records):
            table = _read_rows(records, columns, is_blank)
    table.sha256 = digest
    return table


@contextmanager
def _opened(source: Source) -> Iterator[IO[bytes]]:
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            yield stream
    else:
        source.seek(0)  # a caller's open file (an upload): read it, leave closing to them
        yield source


def _digest(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _scan_csv(stream: IO[bytes]) -> tuple[str, str]:
    """Hash the file and pick its encoding: UTF-8 (with or without BOM), else GB18030.

    Decoding is strict over the whole file before any row is read, so a file in some other
    encoding is refused instead of importing mojibake.
    """
    digest = hashlib.sha256()
    candidates = {
        "utf-8": codecs.getincrementaldecoder("utf-8")(),
        "gb18030": codecs.getincrementaldecoder("gb18030")(),
    }
    first = True
    while True:
        chunk = stream.read(_CHUNK)
        final = not chunk
        if first and chunk.startswith(codecs.BOM_UTF8):
            candidates.pop("gb18030")
        first = False
        digest.update(chunk)
        for name, decoder in list(candidates.items()):
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError:
                del candidates[name]
        if not candidates:
            raise ImportRejected(
                "无法识别文件的文字编码：CSV 文件应为 UTF-8 或 GB18030/GBK 编码。"
                "请在 Excel 或 WPS 中另存为“CSV UTF-8”或 XLSX 后重新上传。"
            )
        if final:
            break
    # UTF-8 wins when both decode (pure ASCII); "utf-8-sig" drops a BOM if there is one.
    encoding = "utf-8-sig" if "utf-8" in candidates else "gb18030"
    return digest.hexdigest(), encoding


def _csv_rows(stream: IO[bytes], encoding: str) -> Generator[tuple[int, list[Any]]]:
    wrapper = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        # Records, not lines, are numbered: a quoted cell with a line break is one Excel row.
        yield from enumerate(csv.reader(wrapper), start=1)
    except csv.Error as exc:
        raise ImportRejected(f"CSV 文件格式有误，无法读取：{exc}。请检查引号是否成对。") from None
    finally:
        wrapper.detach()


def _xlsx_rows(stream: IO[bytes]) -> Generator[tuple[int, list[Any]]]:
    try:
        workbook = CalamineWorkbook.from_filelike(stream)
        sheet = workbook.get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError):
        raise ImportRejected(
            "无法读取该 XLSX 文件，文件可能已损坏或加密。请用 Excel 打开后另存为 XLSX 再上传。"
        ) from None
    # iter_rows yields from the sheet's first row (leading blank rows included), so the count
    # is Excel's row number; a test with the header on row 3 pins this.
    yield from enumerate(sheet.iter_rows(), start=1)


def _csv_blank(cells: list[Any]) -> bool:
    return not "".join(cells).strip()


def _cells_blank(cells: list[Any]) -> bool:
    return all(cell.__class__ is str and not cell.strip() for cell in cells)


def _read_rows(
    records: Iterator[tuple[int, list[Any]]],
    columns: Sequence[Column],
    is_blank: Callable[[list[Any]], bool],
) -> Table:
    table = Table()
    first = next((record for record in records if not is_blank(record[1])), None)
    if first is None:
        raise ImportRejected("文件是空的：第 1 行应为表头，其后每行一条记录。")
    plan = _plan(first[1], first[0], columns)
    absent = {column.key: None for column in columns if column.key not in {p[0] for p in plan}}
    errors = table.errors
    rows = table.rows
    for number, cells in records:
        if is_blank(cells):
            continue
        table.row_count += 1
        values = Row(absent)
        values.number = number
        width = len(cells)
        good = True
        for key, index, parse, header in plan:
            raw = cells[index] if index < width else ""
            try:
                if raw.__class__ is not str:
                    raw = _cell_text(raw)
                values[key] = parse(raw)
            except CellError as exc:
                shown = exc.value if exc.value is not None else raw
                errors.append(RowError(number, header, shown, exc.reason))
                good = False
        if good:
            rows.append(values)
    return table


def _plan(
    header_row: list[Any], header_number: int, columns: Sequence[Column]
) -> list[tuple[str, int, Parser, str]]:
    """Map each column to its position: (key, index, parser, Chinese header)."""
    by_name: dict[str, Column] = {}
    for column in columns:
        by_name[column.header.strip().lower()] = column
        by_name[column.key.strip().lower()] = column
    found: dict[str, int] = {}
    for index, cell in enumerate(header_row):
        name = _header_text(cell).strip().lower()
        if name not in by_name:
            continue  # extra columns are ignored (exchange-formats.md)
        column = by_name[name]
        if column.key in found:
            raise ImportRejected(
                f"第 {header_number} 行表头中“{column.header}”列出现了不止一次，请删除多余的一列。",
                report=[_header_error(header_number, column.header, "此列重复。")],
            )
        found[column.key] = index
    missing = [column.header for column in columns if column.required and column.key not in found]
    if missing:
        raise ImportRejected(
            f"文件缺少必需的列：{'、'.join(missing)}。请在第 {header_number} 行表头补上这些列"
            "（可用中文列名或英文名）。",
            report=[_header_error(header_number, name, "缺少此列。") for name in missing],
        )
    return [
        (column.key, found[column.key], column.parser, column.header)
        for column in columns
        if column.key in found
    ]


def _header_error(row: int, column: str, reason: str) -> dict[str, object]:
    return RowError(row, column, "", reason).as_dict()


def _header_text(cell: Any) -> str:
    try:
        return _cell_text(cell)
    except CellError:
        return str(cell)


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a person sees: 13812345678.0 → "13812345678"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _float_text(value: float) -> str:
    if not abs(value) < _EXACT_LIMIT:  # also catches NaN and infinity
        raise CellError(_TRUNCATED, value=format(value, ".15G"))
    if value.is_integer():
        return str(int(value))
    # 15 significant digits, as Excel shows them: 0.1 + 0.2 reads "0.3", not 0.30000000000000004.
    shown = format(value, ".15g")
    return format(Decimal(shown), "f") if "e" in shown else shown


def find_duplicates(
    rows: Iterable[Row], key: str | tuple[str, ...], column_label: str
) -> list[RowError]:
    """Errors for the 2nd and later rows repeating `key` (blank values are not compared)."""
    keys = (key,) if isinstance(key, str) else key
    first_seen: dict[tuple[Any, ...], int] = {}
    errors: list[RowError] = []
    for row in rows:
        value = tuple(row.get(k) for k in keys)
        if any(part is None or part == "" for part in value):
            continue
        first = first_seen.setdefault(value, row.number)
        if first != row.number:
            shown = " / ".join(str(part) for part in value)
            errors.append(RowError(row.number, column_label, shown, f"与第 {first} 行重复。"))
    return errors


# ---------------------------------------------------------------------------------------------
# Error report.

_REPORT_HEADERS = ("行号", "列", "值", "原因")
_XLSX_MAX_ROWS = 1_048_576


def error_report_xlsx(errors: Iterable[RowError]) -> bytes:
    """The downloadable report: one row per error, every cell text so nothing is reformatted."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("错误报告")
    bold = workbook.add_format({"bold": True})
    text_format = workbook.add_format({"num_format": "@"})
    for col, (title, width) in enumerate(zip(_REPORT_HEADERS, (8, 20, 30, 60), strict=True)):
        sheet.set_column(col, col, width, text_format)
        sheet.write_string(0, col, title, bold)
    line = 0
    ordered = sorted(errors, key=lambda e: e.row)
    for line, error in enumerate(ordered[: _XLSX_MAX_ROWS - 2], start=1):
        for col, value in enumerate((str(error.row), error.column, error.value, error.reason)):
            sheet.write_string(line, col, value)
    if len(ordered) > _XLSX_MAX_ROWS - 2:
        sheet.write_string(line + 1, 3, f"错误过多，仅列出前 {line} 条，共 {len(ordered)} 条。")
    workbook.close()
    return buffer.getvalue()
