"""The twelve department files, exactly as exchange-formats.md lists them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.sources.samples import ALICE, BOB, CAROL, csv_bytes, valid_rows, xlsx_bytes
from zizhu.core.errors import ImportRejected
from zizhu.core.tabular import CellError, read_table
from zizhu.sources import formats
from zizhu.sources.formats import FORMATS
from zizhu.sources.models import DatasetKind

SPEC_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "civil_affairs": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("救助类别", "category"),
        ("状态", "status"),
        ("开始日期", "start_on"),
        ("结束日期", "end_on"),
        ("户主身份证号", "head_id_number"),
    ],
    "rural_revitalization": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("户主身份证号", "head_id_number"),
        ("户类型", "household_type"),
        ("状态", "status"),
    ],
    "disability": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("残疾类别", "kind"),
        ("残疾等级", "level"),
        ("持证状态", "status"),
    ],
    "martyrs_children": [("身份证号", "id_number"), ("姓名", "name"), ("烈士姓名", "martyr_name")],
    "household": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("户号", "household_no"),
        ("与户主关系", "relation_to_head"),
        ("户籍地址", "address"),
    ],
    "deaths": [("身份证号", "id_number"), ("姓名", "name"), ("死亡日期", "died_on")],
    "vehicles": [
        ("所有人身份证号", "owner_id_number"),
        ("所有人姓名", "owner_name"),
        ("号牌号码", "plate"),
        ("车辆类型", "vehicle_type"),
        ("初次登记日期", "registered_on"),
        ("状态", "status"),
    ],
    "businesses": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("企业名称", "company"),
        ("统一社会信用代码", "credit_code"),
        ("角色", "role"),
        ("注册资本万元", "capital_10k_yuan"),
        ("状态", "status"),
    ],
    "social_insurance": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("单位名称", "employer"),
        ("缴费基数", "monthly_base_yuan"),
        ("参保状态", "status"),
    ],
    "cadres": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("单位", "unit"),
        ("职务", "title"),
        ("级别", "rank"),
    ],
    "public_payroll": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("单位", "unit"),
        ("人员类别", "kind"),
    ],
    "village_cadres": [
        ("身份证号", "id_number"),
        ("姓名", "name"),
        ("村社区", "village"),
        ("职务", "title"),
    ],
}


def test_every_dataset_kind_has_a_format() -> None:
    assert set(FORMATS) == set(DatasetKind.values)


@pytest.mark.parametrize("kind", DatasetKind.values)
def test_headers_and_keys_are_the_spec_ones(kind: str) -> None:
    assert [(c.header, c.key) for c in FORMATS[kind].columns] == SPEC_COLUMNS[kind]


def test_spec_departments() -> None:
    assert {kind: spec.department for kind, spec in FORMATS.items()} == {
        "civil_affairs": "民政",
        "rural_revitalization": "乡村振兴",
        "disability": "残联",
        "martyrs_children": "退役军人事务",
        "household": "公安",
        "deaths": "公安",
        "vehicles": "公安交管",
        "businesses": "市场监管",
        "social_insurance": "人社",
        "cadres": "组织部",
        "public_payroll": "财政",
        "village_cadres": "民政/组织部",
    }


def test_enumerations_are_the_spec_ones() -> None:
    assert formats.CIVIL_AFFAIRS_CATEGORIES == (
        "低保",
        "特困供养",
        "孤儿",
        "事实无人抚养儿童",
        "低保边缘",
        "刚性支出困难",
    )
    assert formats.CIVIL_AFFAIRS_STATUSES == ("在册", "已退出")
    assert formats.HOUSEHOLD_TYPES == ("脱贫户", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
    assert formats.RURAL_STATUSES == ("在册", "已消除风险", "已退出")
    assert formats.DISABILITY_LEVELS == ("一级", "二级", "三级", "四级")
    assert formats.DISABILITY_STATUSES == ("有效", "注销")
    assert formats.VEHICLE_STATUSES == ("正常", "注销")
    assert formats.BUSINESS_ROLES == ("法定代表人", "股东", "个体经营者")
    assert formats.BUSINESS_STATUSES == ("存续", "注销")
    assert formats.INSURANCE_STATUSES == ("正常", "暂停", "终止")
    assert formats.PAYROLL_KINDS == ("公务员", "参公", "事业编", "其他")


def test_person_and_related_columns() -> None:
    assert FORMATS["vehicles"].person_key == "owner_id_number"
    assert FORMATS["vehicles"].name_key == "owner_name"
    assert FORMATS["civil_affairs"].related_key == "head_id_number"
    assert FORMATS["rural_revitalization"].related_key == "head_id_number"
    related = {kind for kind, spec in FORMATS.items() if spec.related_key}
    assert related == {"civil_affairs", "rural_revitalization"}


@pytest.mark.parametrize("kind", DatasetKind.values)
def test_every_format_accepts_a_valid_utf8_csv(kind: str) -> None:
    table = read_table(csv_bytes(valid_rows(kind)), "f.csv", FORMATS[kind].columns)

    assert table.ok, table.errors
    person = FORMATS[kind].person_key
    assert [row[person] for row in table.rows] == [ALICE, BOB, CAROL]


def test_english_keys_are_accepted_as_headers() -> None:
    rows = valid_rows("vehicles")
    rows[0] = [column.key for column in FORMATS["vehicles"].columns]

    table = read_table(csv_bytes(rows), "f.csv", FORMATS["vehicles"].columns)

    assert table.ok
    assert table.rows[0]["plate"] == "鄂A12340"


def test_gb18030_csv_is_read() -> None:
    table = read_table(
        csv_bytes(valid_rows("civil_affairs"), "gb18030"), "f.csv", FORMATS["civil_affairs"].columns
    )

    assert table.ok
    assert table.rows[2]["name"] == "王小五"


def test_xlsx_is_read() -> None:
    table = read_table(
        xlsx_bytes(valid_rows("businesses")), "f.xlsx", FORMATS["businesses"].columns
    )

    assert table.ok, table.errors
    assert table.rows[0]["capital_10k_yuan"] == Decimal("100.5")
    assert table.rows[0]["credit_code"] == "91420117MA4K000000"


def test_missing_column_is_refused_by_name() -> None:
    rows = [row[:-1] for row in valid_rows("disability")]

    with pytest.raises(ImportRejected) as caught:
        read_table(csv_bytes(rows), "f.csv", FORMATS["disability"].columns)

    assert "持证状态" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "value"),
    [("100", "100"), ("100.00", "100"), ("12.5", "12.5"), ("0.000001", "0.000001")],
)
def test_registered_capital_in_ten_thousands(raw: str, value: str) -> None:
    assert str(formats.ten_thousand_yuan(raw)) == value


@pytest.mark.parametrize("raw", ["", "abc", "-1", "1.0000001", "1e5"])
def test_bad_registered_capital_is_refused(raw: str) -> None:
    with pytest.raises(CellError):
        formats.ten_thousand_yuan(raw)


@pytest.mark.parametrize("raw", ["91420117MA4K00000", "91420117MA4K0000O0", "9142011 MA4K000000"])
def test_bad_credit_code_is_refused(raw: str) -> None:
    with pytest.raises(CellError):
        formats.credit_code(raw)


def test_credit_code_is_stored_upper_case() -> None:
    assert formats.credit_code(" 91420117ma4k000000 ") == "91420117MA4K000000"
