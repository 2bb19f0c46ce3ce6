"""Other departments' files (exchange-formats.md, "Other departments' data (部门比对数据)").

Headers, keys and enumerations follow the spec exactly. Where the spec gives only a Chinese
name (身份证号, 姓名, 户主身份证号, 状态) the English keys are id_number, name, head_id_number
and status. Each format also names its person column (whose ID becomes the record's
`person_hash`), the related-person column (户主, kept as `related_hash`) and the columns that
make a row unique inside one file (see `DatasetFormat.unique`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from zizhu.core.tabular import (
    CellError,
    Column,
    Parser,
    amount,
    choice,
    date_value,
    id_number,
    optional,
    optional_id_number,
    text,
)
from zizhu.sources.models import DatasetKind

CIVIL_AFFAIRS_CATEGORIES = (
    "低保",
    "特困供养",
    "孤儿",
    "事实无人抚养儿童",
    "低保边缘",
    "刚性支出困难",
)
CIVIL_AFFAIRS_STATUSES = ("在册", "已退出")
HOUSEHOLD_TYPES = ("脱贫户", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
RURAL_STATUSES = ("在册", "已消除风险", "已退出")
DISABILITY_LEVELS = ("一级", "二级", "三级", "四级")
DISABILITY_STATUSES = ("有效", "注销")
VEHICLE_STATUSES = ("正常", "注销")
BUSINESS_ROLES = ("法定代表人", "股东", "个体经营者")
BUSINESS_STATUSES = ("存续", "注销")
INSURANCE_STATUSES = ("正常", "暂停", "终止")
PAYROLL_KINDS = ("公务员", "参公", "事业编", "其他")

_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_TEN_THOUSANDS = re.compile(r"([0-9]+)(?:\.([0-9]+))?")


def credit_code(raw: str) -> str:
    """统一社会信用代码: 18 characters of GB 32100's alphabet (no I, O, S, V, Z).

    Only the shape is checked: the code is shown to people, never joined on, and refusing a
    whole market-supervision file over one mistyped check character would cost more than it
    saves.
    """
    value = raw.strip().upper()
    if not _CREDIT_CODE.fullmatch(value):
        raise CellError("统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z）。")
    return value


def ten_thousand_yuan(raw: str) -> Decimal:
    """注册资本 in 万元: up to 6 decimals, which is to the fen, like every other amount."""
    value = raw.strip()
    match = _TEN_THOUSANDS.fullmatch(value)
    if match is None:
        raise CellError("注册资本应为数字，以万元为单位，如 100 或 12.5。")
    whole, fraction = match.groups()
    if fraction is not None and len(fraction) > 6:
        raise CellError("注册资本（万元）最多保留六位小数（到分）。")
    if len(whole.lstrip("0")) > 10:
        raise CellError("注册资本过大，请检查单位是否为万元。")
    # 100, 100.0 and 100.00 are one value: keep one spelling so versions compare equal.
    return Decimal(format(Decimal(value).normalize(), "f"))


_name = text(64)  # DatasetRecord.name's length
_id = Column("身份证号", "id_number", id_number)
_person_name = Column("姓名", "name", _name)


@dataclass(frozen=True)
class DatasetFormat:
    kind: str
    department: str  # the spec's source department, the default provenance
    columns: tuple[Column, ...]
    # Keys that make a row unique within one file. The person alone for datasets with one row
    # per person; more for data that is naturally several rows per person (two vehicles, two
    # companies), so a repeated row is still caught as the typing error it usually is.
    unique: tuple[str, ...]
    person_key: str = "id_number"
    name_key: str = "name"
    related_key: str | None = None  # 户主身份证号, stored as related_hash

    @property
    def label(self) -> str:
        return str(DatasetKind(self.kind).label)

    @property
    def id_keys(self) -> frozenset[str]:
        """Columns holding ID numbers: never stored in clear."""
        return frozenset(column.key for column in self.columns if column.parser in _ID_PARSERS)


_ID_PARSERS: tuple[Parser, ...] = (id_number, optional_id_number)

FORMATS: dict[str, DatasetFormat] = {
    f.kind: f
    for f in (
        DatasetFormat(
            DatasetKind.CIVIL_AFFAIRS,
            "民政",
            (
                _id,
                _person_name,
                Column("救助类别", "category", choice(CIVIL_AFFAIRS_CATEGORIES)),
                Column("状态", "status", choice(CIVIL_AFFAIRS_STATUSES)),
                Column("开始日期", "start_on", date_value),
                Column("结束日期", "end_on", optional(date_value)),
                Column("户主身份证号", "head_id_number", optional_id_number),
            ),
            # One person may be under two categories, or the same one in two spells.
            unique=("id_number", "category", "start_on"),
            related_key="head_id_number",
        ),
        DatasetFormat(
            DatasetKind.RURAL_REVITALIZATION,
            "乡村振兴",
            (
                _id,
                _person_name,
                Column("户主身份证号", "head_id_number", id_number),
                Column("户类型", "household_type", choice(HOUSEHOLD_TYPES)),
                Column("状态", "status", choice(RURAL_STATUSES)),
            ),
            unique=("id_number",),
            related_key="head_id_number",
        ),
        DatasetFormat(
            DatasetKind.DISABILITY,
            "残联",
            (
                _id,
                _person_name,
                Column("残疾类别", "kind", text(20)),
                Column("残疾等级", "level", choice(DISABILITY_LEVELS)),
                Column("持证状态", "status", choice(DISABILITY_STATUSES)),
            ),
            unique=("id_number",),  # one certificate per person; 多重残疾 is one kind
        ),
        DatasetFormat(
            DatasetKind.MARTYRS_CHILDREN,
            "退役军人事务",
            (_id, _person_name, Column("烈士姓名", "martyr_name", _name)),
            unique=("id_number", "martyr_name"),  # both parents may be martyrs
        ),
        DatasetFormat(
            DatasetKind.HOUSEHOLD,
            "公安",
            (
                _id,
                _person_name,
                Column("户号", "household_no", text(30)),
                Column("与户主关系", "relation_to_head", text(20)),
                Column("户籍地址", "address", text(200, blank=True)),
            ),
            unique=("id_number",),  # a person is registered in one household only
        ),
        DatasetFormat(
            DatasetKind.DEATHS,
            "公安",
            (_id, _person_name, Column("死亡日期", "died_on", date_value)),
            unique=("id_number",),
        ),
        DatasetFormat(
            DatasetKind.VEHICLES,
            "公安交管",
            (
                Column("所有人身份证号", "owner_id_number", id_number),
                Column("所有人姓名", "owner_name", _name),
                Column("号牌号码", "plate", text(20)),
                Column("车辆类型", "vehicle_type", text(30)),
                Column("初次登记日期", "registered_on", date_value),
                Column("状态", "status", choice(VEHICLE_STATUSES)),
            ),
            unique=("owner_id_number", "plate"),  # one owner, several vehicles
            person_key="owner_id_number",
            name_key="owner_name",
        ),
        DatasetFormat(
            DatasetKind.BUSINESSES,
            "市场监管",
            (
                _id,
                _person_name,
                Column("企业名称", "company", text(200)),
                Column("统一社会信用代码", "credit_code", credit_code),
                Column("角色", "role", choice(BUSINESS_ROLES)),
                Column("注册资本万元", "capital_10k_yuan", optional(ten_thousand_yuan)),
                Column("状态", "status", choice(BUSINESS_STATUSES)),
            ),
            # Several companies per person, and both 法定代表人 and 股东 of one company.
            unique=("id_number", "credit_code", "role"),
        ),
        DatasetFormat(
            DatasetKind.SOCIAL_INSURANCE,
            "人社",
            (
                _id,
                _person_name,
                Column("单位名称", "employer", text(200, blank=True)),  # blank: 灵活就业
                Column("缴费基数", "monthly_base_yuan", amount),
                Column("参保状态", "status", choice(INSURANCE_STATUSES)),
            ),
            unique=("id_number", "employer"),  # insured through two employers
        ),
        DatasetFormat(
            DatasetKind.CADRES,
            "组织部",
            (
                _id,
                _person_name,
                Column("单位", "unit", text(200)),
                Column("职务", "title", text(100)),
                Column("级别", "rank", text(50, blank=True)),
            ),
            unique=("id_number", "unit"),  # concurrent posts (兼职) in other units
        ),
        DatasetFormat(
            DatasetKind.PUBLIC_PAYROLL,
            "财政",
            (
                _id,
                _person_name,
                Column("单位", "unit", text(200)),
                Column("人员类别", "kind", choice(PAYROLL_KINDS)),
            ),
            unique=("id_number",),  # paid by one unit
        ),
        DatasetFormat(
            DatasetKind.VILLAGE_CADRES,
            "民政/组织部",
            (
                _id,
                _person_name,
                Column("村社区", "village", text(100)),
                Column("职务", "title", text(100)),
            ),
            unique=("id_number", "village"),
        ),
    )
}


def format_for(kind: str) -> DatasetFormat:
    return FORMATS[kind]
