"""The school register's four files, exactly as exchange-formats.md lists them."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

import pytest

from zizhu.core.idnumbers import make_id_number
from zizhu.core.models import Stage
from zizhu.core.tabular import Column, Table, read_table
from zizhu.registry import formats
from zizhu.registry.models import GuardianRelation, Post, StudentStatus


def fake_id(sequence: int, born: date = date(2013, 3, 9), *, male: bool = True) -> str:
    return make_id_number("420117", born, sequence, male=male)


def read(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Table:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return read_table(buffer.getvalue().encode("gb18030"), "register.csv", columns)


def headers(columns: Sequence[Column]) -> list[tuple[str, str]]:
    return [(column.header, column.key) for column in columns]


def test_headers_and_keys_are_the_spec_ones() -> None:
    assert headers(formats.SCHOOLS) == [
        ("学校代码", "school_code"),
        ("学校名称", "name"),
        ("学段", "stage"),
        ("所属街镇", "town"),
        ("是否寄宿制", "boarding_school"),
    ]
    assert headers(formats.STUDENTS) == [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("性别", "gender"),
        ("学校代码", "school_code"),
        ("年级", "grade"),
        ("班级", "class"),
        ("是否寄宿", "boarder"),
        ("学籍状态", "status"),
        ("入学日期", "enrolled_on"),
        ("户籍地址", "hukou_address"),
        ("家庭住址", "home_address"),
        ("联系电话", "phone"),
        ("银行卡号", "bank_account"),
        ("持卡人身份证号", "card_holder_id"),
    ]
    assert headers(formats.GUARDIANS) == [
        ("学生身份证号", "student_id_number"),
        ("监护人姓名", "name"),
        ("监护人身份证号", "id_number"),
        ("关系", "relation"),
        ("工作单位", "employer"),
        ("联系电话", "phone"),
    ]
    assert headers(formats.STAFF) == [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("学校代码", "school_code"),
        ("岗位", "post"),
        ("是否特殊困难教职工", "hardship_staff"),
        ("联系电话", "phone"),
    ]


def test_enumerations_are_the_spec_ones_and_match_the_models() -> None:
    assert formats.STAGES == ("幼儿园", "小学", "初中", "九年一贯制", "高中", "中职")
    assert formats.STUDENT_STATUSES == ("在读", "休学", "转出", "退学", "毕业", "死亡")
    assert formats.RELATIONS == ("父亲", "母亲", "祖父", "祖母", "外祖父", "外祖母", "其他")
    assert formats.POSTS == ("校长", "园长", "资助专干", "教师", "其他")
    assert formats.GENDERS == ("男", "女")
    assert set(formats.STAGES) == set(Stage.labels)
    assert set(formats.STUDENT_STATUSES) == set(StudentStatus.labels)
    assert set(formats.RELATIONS) == set(GuardianRelation.labels)
    assert set(formats.POSTS) == set(Post.labels)


def test_schools_file() -> None:
    table = read(
        formats.SCHOOLS,
        [
            ["学校代码", "学校名称", "学段", "所属街镇", "是否寄宿制"],
            ["4201170001", "新洲区第一初级中学", "初中", "邾城街道", "是"],
            ["4201170002", "新洲区实验幼儿园", "大学", "邾城街道", "Y"],
        ],
    )

    assert [dict(row) for row in table.rows] == [
        {
            "school_code": "4201170001",
            "name": "新洲区第一初级中学",
            "stage": "初中",
            "town": "邾城街道",
            "boarding_school": True,
        }
    ]
    assert [(e.row, e.column) for e in table.errors] == [(3, "学段"), (3, "是否寄宿制")]
    assert "九年一贯制" in table.errors[0].reason


STUDENT_HEADER = [header for header, _ in headers(formats.STUDENTS)]


def student(sequence: int, **changes: str) -> list[str]:
    values = {
        "身份证号": fake_id(sequence),
        "姓名": "张小明",
        "性别": "男",
        "学校代码": "4201170001",
        "年级": "七年级",
        "班级": "3",
        "是否寄宿": "否",
        "学籍状态": "在读",
        "入学日期": "20250901",
        "户籍地址": "湖北省武汉市新洲区邾城街道",
        "家庭住址": "",
        "联系电话": "+86 138-1234-5678",
        "银行卡号": "",
        "持卡人身份证号": "",
    }
    values.update(changes)
    return [values[header] for header in STUDENT_HEADER]


def test_students_file_with_optional_cells_blank() -> None:
    table = read(formats.STUDENTS, [STUDENT_HEADER, student(1)])

    assert table.ok, table.errors
    assert dict(table.rows[0]) == {
        "id_number": fake_id(1),
        "name": "张小明",
        "gender": "男",
        "school_code": "4201170001",
        "grade": "七年级",
        "class": "3",
        "boarder": False,
        "status": "在读",
        "enrolled_on": date(2025, 9, 1),
        "hukou_address": "湖北省武汉市新洲区邾城街道",
        "home_address": "",
        "phone": "13812345678",
        "bank_account": None,
        "card_holder_id": None,
    }


def test_students_file_card_holder_is_validated_when_given() -> None:
    holder = fake_id(2, date(1985, 6, 1))
    table = read(
        formats.STUDENTS,
        [
            STUDENT_HEADER,
            student(3, 银行卡号="6222021234567890123", 持卡人身份证号=holder.lower()),
            student(4, 银行卡号="62220212", 持卡人身份证号=holder[:17] + "9" * (holder[17] != "9")),
        ],
    )

    assert table.rows[0]["card_holder_id"] == holder
    assert table.rows[0]["bank_account"] == "6222021234567890123"
    assert [(e.row, e.column) for e in table.errors] == [(3, "银行卡号"), (3, "持卡人身份证号")]


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("性别", "M", "男、女"),
        ("学籍状态", "借读", "在读、休学、转出、退学、毕业、死亡"),
        ("入学日期", "2025-02-30", "不是真实存在的日期"),
        ("是否寄宿", "否的", "“是”或“否”"),
        ("姓名", "", "不能为空"),
    ],
)
def test_students_file_row_errors(column: str, value: str, fragment: str) -> None:
    table = read(formats.STUDENTS, [STUDENT_HEADER, student(5), student(6, **{column: value})])

    assert len(table.errors) == 1
    error = table.errors[0]
    assert (error.row, error.column, error.value) == (3, column, value)
    assert fragment in error.reason


def test_guardians_file_allows_a_missing_guardian_id() -> None:
    child = fake_id(7)
    table = read(
        formats.GUARDIANS,
        [
            ["学生身份证号", "监护人姓名", "监护人身份证号", "关系", "工作单位", "联系电话"],
            [child, "张大山", fake_id(8, date(1984, 1, 2)), "父亲", "", "13900001111"],
            [child, "李秀英", "", "外祖母", "务农", ""],
            [child, "王某", "", "舅舅", "", ""],
        ],
    )

    assert [row["id_number"] for row in table.rows] == [fake_id(8, date(1984, 1, 2)), None]
    assert table.rows[1]["employer"] == "务农"
    assert table.rows[1]["phone"] is None
    assert [(e.row, e.column) for e in table.errors] == [(4, "关系")]


def test_staff_file_read_by_english_keys() -> None:
    table = read(
        formats.STAFF,
        [
            ["id_number", "name", "school_code", "post", "hardship_staff", "phone"],
            [
                fake_id(9, date(1979, 4, 4), male=False),
                "刘老师",
                "4201170001",
                "资助专干",
                "否",
                "",
            ],
            [fake_id(10, date(1979, 4, 4)), "陈校长", "4201170001", "副校长", "否", ""],
        ],
    )

    assert table.rows[0]["post"] == "资助专干"
    assert table.rows[0]["hardship_staff"] is False
    assert [(e.row, e.column) for e in table.errors] == [(3, "岗位")]
    assert "校长、园长、资助专干、教师、其他" in table.errors[0].reason
