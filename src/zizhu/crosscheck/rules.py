"""The cross-check rules: one SQL file each in `rules/`, with its metadata in the header.

    -- code: AFFLUENCE
    -- version: 1
    -- severity: medium
    -- title: 家庭经济状况与困难认定不符
    -- description: …
    -- param min_capital_10k decimal: 100 | 注册资本下限（万元）
    -- param vehicle_types list: 小型轿车,小型普通客车 | 计入的车辆类型

A rule is one SELECT over the snapshot tables and the views of `_base.sql`, returning
`student_id, fact, source, detail, version_id, row_number, probability`, one row per piece of
evidence. `fact` is the stable description of that evidence (hashes and values, never row
numbers or version ids): a hit's fingerprint is built from its facts, so importing a new
version of the same department data does not make old evidence look new.

Scalar parameters are bound as `$name`; a list parameter becomes a one-column table
`param_<name>(value)` the SQL selects from. Both keep the SQL portable to Spark. Defaults come
from the header; `settings.ZIZHU_CROSSCHECK_PARAMS` ({code: {name: value}}) overrides them.
Changing a rule's SQL means raising its version: hits record the version that found them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

EVIDENCE_COLUMNS = (
    "student_id",
    "fact",
    "source",
    "detail",
    "version_id",
    "row_number",
    "probability",
)


class Severity:
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    LABELS = {HIGH: "高", MEDIUM: "中", LOW: "低"}


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # int | float | decimal | text | list
    default: Any
    label: str

    def parse(self, raw: Any) -> Any:
        """A value from the header or the settings, checked against the declared kind."""
        try:
            if self.kind == "list":
                items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
                values = [str(item).strip() for item in items if str(item).strip()]
                if not values:
                    raise ValueError
                return values
            if self.kind == "int":
                return int(raw)
            if self.kind == "float":
                return float(raw)
            if self.kind == "decimal":
                return Decimal(str(raw).strip())
            return str(raw).strip()
        except (ValueError, InvalidOperation) as error:
            raise ImproperlyConfigured(
                f"比对规则参数 {self.name} 的值“{raw}”不是有效的 {self.kind}。"
            ) from error


@dataclass(frozen=True)
class Rule:
    code: str
    version: int
    severity: str
    title: str
    description: str
    params: tuple[Param, ...]
    sql: str
    file_name: str

    @property
    def severity_label(self) -> str:
        return Severity.LABELS.get(self.severity, self.severity)

    def param_values(self) -> dict[str, Any]:
        overrides = (getattr(settings, "ZIZHU_CROSSCHECK_PARAMS", {}) or {}).get(self.code, {})
        unknown = set(overrides) - {p.name for p in self.params}
        if unknown:
            raise ImproperlyConfigured(
                f"比对规则 {self.code} 没有参数：{', '.join(sorted(unknown))}。"
            )
        return {p.name: p.parse(overrides.get(p.name, p.default)) for p in self.params}


_HEADER = re.compile(r"^--\s*(code|version|severity|title|description):\s*(.+?)\s*$")
_PARAM = re.compile(
    r"^--\s*param\s+(\w+)\s+(int|float|decimal|text|list):\s*(.*?)\s*\|\s*(.+?)\s*$"
)
_CODE = re.compile(r"[A-Z][A-Z_]+")


def parse_rule(text: str, file_name: str) -> Rule:
    meta: dict[str, str] = {}
    params: list[Param] = []
    body: list[str] = []
    for line in text.splitlines():
        if (header := _HEADER.match(line)) is not None:
            meta[header.group(1)] = header.group(2)
        elif (param := _PARAM.match(line)) is not None:
            name, kind, default, label = param.groups()
            spec = Param(name, kind, None, label)
            params.append(Param(name, kind, spec.parse(default), label))
        else:
            body.append(line)
    missing = {"code", "version", "severity", "title", "description"} - set(meta)
    if missing:
        raise ImproperlyConfigured(f"规则文件 {file_name} 缺少：{', '.join(sorted(missing))}。")
    if not _CODE.fullmatch(meta["code"]):
        raise ImproperlyConfigured(f"规则文件 {file_name} 的代码应为大写字母和下划线。")
    sql = "\n".join(body).strip().rstrip(";")
    return Rule(
        code=meta["code"],
        version=int(meta["version"]),
        severity=meta["severity"],
        title=meta["title"],
        description=meta["description"],
        params=tuple(params),
        sql=sql,
        file_name=file_name,
    )


def _files() -> list[tuple[str, str]]:
    folder = resources.files("zizhu.crosscheck") / "rules"
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )


@cache
def all_rules() -> dict[str, Rule]:
    """Every rule by code, in a stable order (the order of the spec's table)."""
    rules = [parse_rule(text, name) for name, text in _files() if not name.startswith("_")]
    by_code = {rule.code: rule for rule in rules}
    if len(by_code) != len(rules):
        raise ImproperlyConfigured("两个规则文件使用了同一个规则代码。")
    order = {code: i for i, code in enumerate(SPEC_ORDER)}
    return dict(sorted(by_code.items(), key=lambda item: (order.get(item[0], 99), item[0])))


@cache
def base_sql() -> str:
    return dict(_files())["_base.sql"]


def get_rule(code: str) -> Rule | None:
    return all_rules().get(code)


# The order of exchange-formats.md, "What the cross-checks must find".
SPEC_ORDER = (
    "OFFICIAL_FAMILY",
    "FAVORITISM",
    "AFFLUENCE",
    "DECEASED_OR_GONE",
    "DUPLICATE_AID",
    "CATEGORY_UNSUPPORTED",
    "CARD_HOLDER_MISMATCH",
    "MISSED_ELIGIBLE",
    "IDENTITY_MISMATCH",
)
