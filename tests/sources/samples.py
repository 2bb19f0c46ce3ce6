"""Valid department files for tests, in the exchange formats, built from a few people."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

import openpyxl

from zizhu.core.idnumbers import make_id_number
from zizhu.sources.formats import FORMATS
from zizhu.sources.models import DatasetKind


def person_id(sequence: int, born: date = date(1985, 6, 1)) -> str:
    return make_id_number("420117", born, sequence, male=sequence % 2 == 1)


ALICE = person_id(1)
BOB = person_id(2)
CAROL = person_id(3, date(2012, 9, 1))


def _row(kind: str, number: str, name: str, n: int) -> list[str]:
    """One valid row of `kind` for a person; `n` varies the other columns."""
    rows: dict[str, list[str]] = {
        DatasetKind.CIVIL_AFFAIRS: [number, name, "低保", "在册", "2024-01-01", "", ALICE],
        DatasetKind.RURAL_REVITALIZATION: [number, name, ALICE, "脱贫户", "在册"],
        DatasetKind.DISABILITY: [number, name, "肢体", "二级", "有效"],
        DatasetKind.MARTYRS_CHILDREN: [number, name, f"烈士{n}"],
        DatasetKind.HOUSEHOLD: [number, name, "H0001", "户主" if n == 0 else "子", "新洲区邾城街"],
        DatasetKind.DEATHS: [number, name, "2025-03-0" + str(n + 1)],
        DatasetKind.VEHICLES: [number, name, f"鄂A1234{n}", "小型轿车", "20200101", "正常"],
        DatasetKind.BUSINESSES: [
            number,
            name,
            f"新洲某某商贸有限公司{n}",
            f"91420117MA4K{n:06d}",
            "法定代表人",
            "100.5",
            "存续",
        ],
        DatasetKind.SOCIAL_INSURANCE: [number, name, "新洲区某单位", "8500.00", "正常"],
        DatasetKind.CADRES: [number, name, "新洲区某局", "局长", "正处级"],
        DatasetKind.PUBLIC_PAYROLL: [number, name, "新洲区某局", "公务员"],
        DatasetKind.VILLAGE_CADRES: [number, name, "某某村", "村支部书记"],
    }
    return rows[kind]


PEOPLE = ((ALICE, "张三"), (BOB, "李四"), (CAROL, "王小五"))


def header(kind: str) -> list[str]:
    return [column.header for column in FORMATS[kind].columns]


def valid_rows(kind: str, people: Sequence[tuple[str, str]] = PEOPLE) -> list[list[str]]:
    return [header(kind)] + [_row(kind, number, name, n) for n, (number, name) in enumerate(people)]


def csv_bytes(rows: Sequence[Sequence[object]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for values in rows:
        sheet.append(list(values))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
