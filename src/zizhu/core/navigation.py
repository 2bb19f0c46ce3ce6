"""The menu: each entry shows only to people whose roles grant its permission."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from zizhu.core.models import User
from zizhu.core.reach import permissions_of


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    perm: str | None = None  # None: every signed-in user


MENU: list[MenuItem] = [
    MenuItem("工作台", "core:home"),
    MenuItem("学校", "core:unit_list", "orgunit:view"),
    MenuItem("学生", "registry:student_list", "student:view"),
    MenuItem("教职工", "registry:staff_list", "staff:view"),
    MenuItem("学籍导入", "registry:import_list", "register:import"),
    MenuItem("部门数据", "sources:dataset_list", "dataset:view"),
    MenuItem("大数据比对", "crosscheck:home", "crosscheck:view"),
    MenuItem("困难认定", "aid:identification_list", "aid:view"),
    MenuItem("资助申请", "aid:application_list", "aid:view"),
    MenuItem("公示", "aid:notice_list", "aid:view"),
    MenuItem("资助名单", "aid:award_list", "aid:view"),
    MenuItem("春季复核", "aid:review_home", "aid:view"),
    MenuItem("应助尽助", "aid:coverage_home", "aid:view"),
    MenuItem("问题线索", "cases:intake_list", "clue:view"),
    MenuItem("办理时效", "cases:sla_home", "clue:view"),
    MenuItem("资金发放", "payments:batch_list", "payment:view"),
    MenuItem("资金台账", "payments:fund_home", "fund:manage"),
    MenuItem("追缴", "payments:recovery_list", "payment:view"),
    MenuItem("发放统计", "payments:report_home", "payment:view"),
    MenuItem("后台任务", "core:job_list", "job:view"),
    MenuItem("上岗证", "core:certification_list", "certification:view"),
    MenuItem("审计日志", "core:audit_list", "audit:view"),
    MenuItem("资助配置", "aid:config_home", "aid:configure"),
    MenuItem("门户页面", "cases:intake_pages", "portal:edit"),
    MenuItem("节假日日历", "core:calendar_list", "calendar:manage"),
    MenuItem("用户管理", "core:user_list", "user:manage"),
]


def menu_for(actor: User) -> list[tuple[str, str]]:
    granted = permissions_of(actor)
    return [
        (item.label, reverse(item.url_name))
        for item in MENU
        if item.perm is None or item.perm in granted
    ]
