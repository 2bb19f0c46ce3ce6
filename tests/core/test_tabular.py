"""The exchange-file reader: encodings, XLSX cells as text, headers, parsers, row errors."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from zizhu.core import tabular
from zizhu.core.errors import ImportRejected
from zizhu.core.idnumbers import check_character, make_id_number, parse_id_number
from zizhu.core.tabular import (
    CellError,
    Column,
    Row,
    RowError,
    Table,
    error_report_xlsx,
    find_duplicates,
    read_table,
)

STAGES = ("幼儿园", "小学", "初中")

COLUMNS = (
    Column("身份证号", "id_number", tabular.id_number),
    Column("姓名", "name", tabular.text(20)),
    Column("学段", "stage", tabular.choice(STAGES)),
    Column("入学日期", "enrolled_on", tabular.date_value),
    Column("联系电话", "phone", tabular.optional(tabular.phone)),
    Column("银行卡号", "bank_account", tabular.optional(tabular.bank_account)),
    Column("金额", "amount", tabular.amount, required=False),
)
HEADER = ["身份证号", "姓名", "学段", "入学日期", "联系电话", "银行卡号"]


def fake_id(sequence: int = 1, born: date = date(2012, 5, 17)) -> str:
    return make_id_number("420117", born, sequence, male=True)


def csv_bytes(rows: Sequence[Sequence[object]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]], *, start_row: int = 1) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for offset, values in enumerate(rows):
        for col, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(row=start_row + offset, column=col, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rejection(source: bytes, filename: str = "f.csv", columns: Sequence[Column] = COLUMNS) -> str:
    with pytest.raises(ImportRejected) as caught:
        read_table(source, filename, columns)
    return caught.value.message


def only_error(table: Table) -> RowError:
    assert len(table.errors) == 1, table.errors
    return table.errors[0]


# --- Encodings ---------------------------------------------------------------------------------

STUDENT_ROWS = [
    HEADER,
    [fake_id(1), "欧阳娜娜", "小学", "2018-09-01", "13812345678", "6222021234567890123"],
    [fake_id(2), "𠀀 李·木合塔尔", "初中", "20190901", "", ""],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_bom_and_gb18030_reads_the_same(encoding: str) -> None:
    table = read_table(csv_bytes(STUDENT_ROWS, encoding), "学生.csv", COLUMNS)

    assert table.ok
    assert [dict(row) for row in table.rows] == [
        {
            "id_number": fake_id(1),
            "name": "欧阳娜娜",
            "stage": "小学",
            "enrolled_on": date(2018, 9, 1),
            "phone": "13812345678",
            "bank_account": "6222021234567890123",
            "amount": None,
        },
        {
            "id_number": fake_id(2),
            "name": "𠀀 李·木合塔尔",
            "stage": "初中",
            "enrolled_on": date(2019, 9, 1),
            "phone": None,
            "bank_account": None,
            "amount": None,
        },
    ]


cjk_text = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=20
)


@settings(max_examples=40, deadline=None)
@given(names=st.lists(cjk_text, min_size=1, max_size=5))
def test_any_chinese_text_survives_every_encoding(names: list[str]) -> None:
    columns = [Column("姓名", "name", tabular.text(20))]
    rows = [["姓名"], *([name] for name in names)]
    for encoding in ("utf-8", "utf-8-sig", "gb18030"):
        table = read_table(csv_bytes(rows, encoding), "f.csv", columns)
        assert [row["name"] for row in table.rows] == names


def test_gbk_file_from_chinese_excel_is_read() -> None:
    table = read_table(csv_bytes(STUDENT_ROWS[:2], "gbk"), "f.csv", COLUMNS)

    assert table.rows[0]["name"] == "欧阳娜娜"


def test_file_in_another_encoding_is_refused_as_a_whole() -> None:
    message = rejection(csv_bytes(STUDENT_ROWS, "utf-16"))

    assert "编码" in message


def test_path_bytes_and_open_file_read_the_same(tmp_path: Path) -> None:
    data = csv_bytes(STUDENT_ROWS, "gb18030")
    path = tmp_path / "学生.csv"
    path.write_bytes(data)

    from_bytes = read_table(data, "学生.csv", COLUMNS)
    from_path = read_table(path, path.name, COLUMNS)
    with path.open("rb") as upload:
        from_file = read_table(upload, path.name, COLUMNS)
        assert not upload.closed

    assert from_bytes.rows == from_path.rows == from_file.rows
    assert from_bytes.sha256 == from_path.sha256 == hashlib.sha256(data).hexdigest()


# --- XLSX cells as text ------------------------------------------------------------------------


def test_xlsx_numbers_come_back_as_the_exact_digits() -> None:
    legacy = fake_id(3, date(1985, 2, 28))
    legacy_15 = legacy[:6] + legacy[8:17]
    data = xlsx_bytes(
        [
            [*HEADER, "金额"],
            [int(legacy_15), "张三", "小学", date(2018, 9, 1), 13812345678, 622202123456789, 12.5],
            [fake_id(4), "李四", "初中", 20190901, 2788881234, "6222021234567890123", 0.1 + 0.2],
            [fake_id(5), "王五", "小学", datetime(2020, 9, 1, 0, 0), None, None, 1000],
        ]
    )

    table = read_table(data, "学生.xlsx", COLUMNS)

    assert table.ok, table.errors
    first, second, third = table.rows
    assert first["id_number"] == legacy
    assert first["enrolled_on"] == date(2018, 9, 1)
    assert first["phone"] == "13812345678"
    assert first["bank_account"] == "622202123456789"
    assert first["amount"] == Decimal("12.50")
    assert second["id_number"] == fake_id(4)
    assert second["enrolled_on"] == date(2019, 9, 1)
    assert second["phone"] == "2788881234"
    assert second["bank_account"] == "6222021234567890123"
    assert second["amount"] == Decimal("0.30")
    assert third["enrolled_on"] == date(2020, 9, 1)
    assert third["amount"] == Decimal("1000.00")


def test_xlsx_number_longer_than_excel_keeps_is_a_row_error_not_a_guess() -> None:
    data = xlsx_bytes([HEADER, [int(fake_id(6)), "张三", "小学", "2018-09-01", None, None]])

    error = only_error(read_table(data, "学生.xlsx", COLUMNS))

    assert (error.row, error.column) == (2, "身份证号")
    assert "15 位" in error.reason
    assert "文本" in error.reason
    assert "E+17" in error.value


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (13812345678.0, "13812345678"),
        (123456789012345.0, "123456789012345"),
        (3.0, "3"),
        (-5.0, "-5"),
        (0.00001, "0.00001"),
        (1234.56, "1234.56"),
        (7, "7"),
        (True, "TRUE"),
        (date(2026, 2, 3), "2026-02-03"),
        (datetime(2026, 2, 3, 10, 30), "2026-02-03"),
        ("  保持原样 ", "  保持原样 "),
    ],
)
def test_cell_text(cell: Any, expected: str) -> None:
    assert tabular._cell_text(cell) == expected


def test_xlsx_row_numbers_are_the_sheet_rows_even_below_blank_rows() -> None:
    data = xlsx_bytes(
        [
            HEADER,
            [fake_id(7), "张三", "小学", "2018-09-01"],
            [],
            [fake_id(8), "李四", "大学", "2018-09-01"],
        ],
        start_row=3,
    )

    table = read_table(data, "学生.xlsx", COLUMNS)

    assert [row.number for row in table.rows] == [4]
    assert (only_error(table).row, only_error(table).column) == (6, "学段")


def test_damaged_xlsx_is_refused() -> None:
    assert "XLSX" in rejection(b"PK\x03\x04 not really a zip", "f.xlsx")


# --- Headers -----------------------------------------------------------------------------------


def test_english_keys_extra_columns_and_any_order_are_accepted() -> None:
    rows = [
        ["备注", " Enrolled_On ", "NAME", "stage", "ID_NUMBER ", "phone", "bank_account", "班主任"],
        ["随便写", "2018-09-01", "张三", "小学", fake_id(9).lower(), "", "", "王老师"],
    ]

    table = read_table(csv_bytes(rows), "f.csv", COLUMNS)

    assert table.ok, table.errors
    assert table.rows[0]["name"] == "张三"
    assert table.rows[0]["id_number"] == fake_id(9)
    assert "备注" not in table.rows[0]


def test_missing_required_column_is_a_file_error_naming_it() -> None:
    rows = [["身份证号", "姓名", "入学日期", "联系电话"], [fake_id(10), "张三", "2018-09-01", ""]]

    with pytest.raises(ImportRejected) as caught:
        read_table(csv_bytes(rows), "f.csv", COLUMNS)

    assert "学段" in caught.value.message
    assert "银行卡号" in caught.value.message
    assert "金额" not in caught.value.message  # optional column
    assert [entry["column"] for entry in caught.value.report] == ["学段", "银行卡号"]


def test_absent_optional_column_reads_as_none() -> None:
    table = read_table(csv_bytes(STUDENT_ROWS), "f.csv", COLUMNS)

    assert all(row["amount"] is None for row in table.rows)


def test_a_column_given_twice_is_refused() -> None:
    rows = [[*HEADER, "id_number"], [fake_id(11), "张三", "小学", "2018-09-01", "", "", "x"]]

    assert "身份证号" in rejection(csv_bytes(rows))


def test_empty_file_is_refused() -> None:
    assert "空" in rejection(b"\n\n")


def test_only_csv_and_xlsx_are_accepted() -> None:
    assert "CSV 或 XLSX" in rejection(b"x", "学生.xls")


def test_malformed_csv_is_refused() -> None:
    data = csv_bytes([HEADER]) + b'"' + b"x" * (csv.field_size_limit() + 10) + b"\n"

    assert "CSV" in rejection(data)


# --- Rows and row numbers ----------------------------------------------------------------------


def test_errors_carry_spreadsheet_row_numbers_and_blank_rows_are_skipped() -> None:
    rows = [
        HEADER,
        [fake_id(12), "张三", "小学", "2018-09-01"],
        [],
        ["", " ", "", ""],
        [fake_id(13), '多行\n"姓名"', "高中", "2018-09-01"],
        [fake_id(14), "王五", "初中", "2018-02-30"],
        [],
        [],
    ]

    table = read_table(csv_bytes(rows), "f.csv", COLUMNS)

    assert [(e.row, e.column) for e in table.errors] == [(5, "学段"), (6, "入学日期")]
    assert [row.number for row in table.rows] == [2]
    assert table.row_count == 3


def test_every_bad_cell_of_a_row_is_reported() -> None:
    rows = [HEADER, ["12345", "", "大学", "2018/09/01", "12", "abc"]]

    table = read_table(csv_bytes(rows), "f.csv", COLUMNS)

    assert [e.column for e in table.errors] == [
        "身份证号",
        "姓名",
        "学段",
        "入学日期",
        "联系电话",
        "银行卡号",
    ]
    assert table.errors[0].value == "12345"
    assert not table.rows


def test_raise_if_errors_rejects_with_count_and_sorted_report() -> None:
    table = Table(
        errors=[
            RowError(9, "姓名", "", "不能为空。"),
            RowError(3, "学段", "大学", "应为以下之一：小学。"),
            RowError(3, "姓名", "", "不能为空。"),
        ]
    )

    with pytest.raises(ImportRejected) as caught:
        table.raise_if_errors()

    assert "3 处错误" in caught.value.message
    assert "2 行" in caught.value.message
    assert "未导入" in caught.value.message
    assert [entry["row"] for entry in caught.value.report] == [3, 3, 9]
    assert caught.value.report[0] == {
        "row": 3,
        "column": "学段",
        "value": "大学",
        "reason": "应为以下之一：小学。",
    }


def test_raise_if_errors_passes_a_clean_table() -> None:
    Table().raise_if_errors()


def make_row(number: int, **values: Any) -> Row:
    row = Row(values)
    row.number = number
    return row


def test_find_duplicates_reports_later_occurrences() -> None:
    rows = [
        make_row(2, id_number="A"),
        make_row(3, id_number="B"),
        make_row(5, id_number="A"),
        make_row(6, id_number=None),
        make_row(7, id_number=None),
        make_row(8, id_number="A"),
    ]

    errors = find_duplicates(rows, "id_number", "身份证号")

    assert errors == [
        RowError(5, "身份证号", "A", "与第 2 行重复。"),
        RowError(8, "身份证号", "A", "与第 2 行重复。"),
    ]


def test_find_duplicates_on_a_pair_of_keys() -> None:
    rows = [
        make_row(2, student="S1", guardian="G1"),
        make_row(3, student="S1", guardian="G2"),
        make_row(4, student="S1", guardian="G1"),
    ]

    errors = find_duplicates(rows, ("student", "guardian"), "学生身份证号+监护人身份证号")

    assert errors == [RowError(4, "学生身份证号+监护人身份证号", "S1 / G1", "与第 2 行重复。")]


def test_duplicates_found_in_a_read_file() -> None:
    rows = [HEADER, *([fake_id(n), "张三", "小学", "2018-09-01"] for n in (20, 21, 20))]
    table = read_table(csv_bytes(rows), "f.csv", COLUMNS)

    table.errors.extend(find_duplicates(table.rows, "id_number", "身份证号"))

    assert [(e.row, e.reason) for e in table.errors] == [(4, "与第 2 行重复。")]


# --- Parsers -----------------------------------------------------------------------------------


def reason(parser: tabular.Parser, raw: str) -> str:
    with pytest.raises(CellError) as caught:
        parser(raw)
    return caught.value.reason


def test_id_number_normalises_lower_case_x_and_spaces() -> None:
    number = next(n for n in (fake_id(s) for s in range(100)) if n.endswith("X"))

    assert tabular.id_number(f" {number[:6]} {number[6:].lower()} ") == number


def test_id_number_converts_15_digits() -> None:
    number = fake_id(30, date(1980, 7, 1))

    assert tabular.id_number(number[:6] + number[8:17]) == number


def test_id_number_checksum_failure_is_explained() -> None:
    number = fake_id(31)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")

    assert "校验位" in reason(tabular.id_number, wrong)


def test_id_number_with_future_birth_date_is_refused() -> None:
    future = make_id_number("420117", timezone.localdate() + timedelta(days=2), 1, male=True)

    assert "未来" in reason(tabular.id_number, future)


@pytest.mark.parametrize("raw", ["", "42011720120517", "4201172012051700AB", "４２０１１７"])
def test_id_number_bad_shapes_give_chinese_reasons(raw: str) -> None:
    assert "身份证号" in reason(tabular.id_number, raw)


def test_optional_id_number_blank_is_none() -> None:
    assert tabular.optional_id_number("  ") is None
    assert tabular.optional_id_number(fake_id(32).lower()) == fake_id(32)


id_candidates = st.one_of(
    st.builds(
        lambda born, seq: make_id_number("420117", born, seq, male=seq % 2 == 0),
        st.dates(date(1998, 1, 1), date(2030, 12, 31)),
        st.integers(0, 999),
    ),
    st.text(alphabet="0123456789Xx", min_size=15, max_size=18),
    st.builds(
        lambda born, seq, check: make_id_number("420117", born, seq, male=True)[:17] + check,
        st.dates(date(1880, 1, 1), date(2030, 12, 31)),
        st.integers(0, 999),
        st.sampled_from("0123456789X"),
    ),
)


@settings(max_examples=300, deadline=None)
@given(raw=id_candidates)
def test_id_parser_agrees_with_parse_id_number(raw: str) -> None:
    tabular.id_number(fake_id(33))  # warm the fast path for 420117
    try:
        expected: str | None = parse_id_number(raw).value
    except Exception:
        expected = None
    try:
        got: str | None = tabular.id_number(raw)
    except CellError:
        got = None
    assert got == expected


@given(first17=st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_fast_check_character_matches_gb11643(first17: str) -> None:
    assert tabular.fast_check_character(first17) == check_character(first17)


def test_yes_no_accepts_only_shi_and_fou() -> None:
    assert tabular.yes_no(" 是 ") is True
    assert tabular.yes_no("否") is False
    for raw in ("Y", "1", "TRUE", "对", ""):
        assert reason(tabular.yes_no, raw) == "只能填写“是”或“否”。"


def test_dates_in_both_forms() -> None:
    assert tabular.date_value("2026-02-28") == date(2026, 2, 28)
    assert tabular.date_value("20240229") == date(2024, 2, 29)


@pytest.mark.parametrize("raw", ["2026-02-30", "20230229", "2026-13-01"])
def test_impossible_date_is_refused(raw: str) -> None:
    assert "不是真实存在的日期" in reason(tabular.date_value, raw)


@pytest.mark.parametrize("raw", ["2026/02/03", "2026-2-3", "26-02-03", "", "明天"])
def test_badly_written_date_names_the_format(raw: str) -> None:
    assert "YYYY-MM-DD" in reason(tabular.date_value, raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1250", "1250.00"), ("1250.5", "1250.50"), (" 0.01 ", "0.01"), ("-0", "0.00")],
)
def test_amount_is_decimal_yuan(raw: str, expected: str) -> None:
    value = tabular.amount(raw)

    assert isinstance(value, Decimal)
    assert value == Decimal(expected)
    assert str(value) == expected


@given(cents=st.integers(0, 10**12 - 1))
def test_amount_is_exact_for_any_two_decimal_value(cents: int) -> None:
    text = f"{cents // 100}.{cents % 100:02d}"

    assert tabular.amount(text) == Decimal(cents) / 100


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("12.345", "两位小数"),
        ("-5", "负数"),
        ("-0.01", "负数"),
        ("1,250.00", "金额应为数字"),
        ("1e3", "金额应为数字"),
        ("NaN", "金额应为数字"),
        ("¥12", "金额应为数字"),
        ("", "金额应为数字"),
        ("123456789012", "过大"),
    ],
)
def test_bad_amounts(raw: str, fragment: str) -> None:
    assert fragment in reason(tabular.amount, raw)


def test_choice_lists_the_allowed_values() -> None:
    parse = tabular.choice(STAGES)

    assert parse(" 初中 ") == "初中"
    assert reason(parse, "大学") == "应为以下之一：幼儿园、小学、初中。"
    assert reason(parse, "") == "应为以下之一：幼儿园、小学、初中。"


def test_month() -> None:
    assert tabular.month("2026-09") == date(2026, 9, 1)
    assert tabular.month("2026-09-01") == date(2026, 9, 1)  # Excel's date cell
    for raw in ("2026-13", "2026-9", "202609", "2026-09-15", ""):
        assert "YYYY-MM" in reason(tabular.month, raw)


def test_school_year() -> None:
    assert tabular.school_year("2026-2027") == "2026-2027"
    assert "相邻" in reason(tabular.school_year, "2026-2028")
    assert "相邻" in reason(tabular.school_year, "2027-2026")
    assert "2026-2027" in reason(tabular.school_year, "2026")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("027-8888 1234", "02788881234"),
        ("1234567", "1234567"),
    ],
)
def test_phone_normalised(raw: str, expected: str) -> None:
    assert tabular.phone(raw) == expected


@pytest.mark.parametrize("raw", ["123456", "1234567890123", "138 1234 567a", "", "+86"])
def test_bad_phone(raw: str) -> None:
    assert "7–12 位数字" in reason(tabular.phone, raw)


def test_bank_account() -> None:
    assert tabular.bank_account("6222 0212 3456 7890 123") == "6222021234567890123"
    for raw in ("12345678901", "1" * 26, "6222-0212-3456-7890", ""):
        assert "12–25 位数字" in reason(tabular.bank_account, raw)


def test_text_strips_and_limits_length() -> None:
    parse = tabular.text(4)

    assert parse("  张三  ") == "张三"
    assert "不能超过 4 个字" in reason(parse, "欧阳娜娜娜")
    assert reason(parse, "   ") == "不能为空。"
    assert tabular.text(4, blank=True)(" ") == ""


# --- Error report ------------------------------------------------------------------------------


def test_error_report_round_trips_as_text() -> None:
    errors = [
        RowError(12, "身份证号", "420117201205170010", "身份证号校验位错误。"),
        RowError(3, "金额", "0012.50", "金额最多保留两位小数（到分）。"),
    ]

    data = error_report_xlsx(errors)

    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    assert sheet.name == "错误报告"
    assert sheet.to_python() == [
        ["行号", "列", "值", "原因"],
        ["3", "金额", "0012.50", "金额最多保留两位小数（到分）。"],
        ["12", "身份证号", "420117201205170010", "身份证号校验位错误。"],
    ]


def test_error_report_of_a_real_rejection_reads_back() -> None:
    rows = [HEADER, [fake_id(40), "张三", "大学", "2018-09-01"]]
    table = read_table(csv_bytes(rows), "f.csv", COLUMNS)

    data = error_report_xlsx(table.errors)

    again = read_table(
        data,
        "report.xlsx",
        [Column(title, key, tabular.text(200)) for title, key in _REPORT_COLUMNS],
    )
    assert [dict(row) for row in again.rows] == [
        {
            "row": "2",
            "column": "学段",
            "value": "大学",
            "reason": "应为以下之一：幼儿园、小学、初中。",
        }
    ]


_REPORT_COLUMNS = [("行号", "row"), ("列", "column"), ("值", "value"), ("原因", "reason")]
