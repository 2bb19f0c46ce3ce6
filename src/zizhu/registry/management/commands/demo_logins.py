"""`zizhu demo-logins`: the demo accounts to sign in with, printed after `make run` seeds."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand

from zizhu.registry.demo import LOGIN_URL, demo_login_rows

COLUMNS = (
    ("username", "用户名"),
    ("password", "密码"),
    ("name", "姓名"),
    ("role", "角色"),
    ("unit", "单位"),
    ("certificate", "上岗证"),
)


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two, so the table lines up."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def render_table(rows: list[dict[str, Any]]) -> list[str]:
    widths = {
        key: max(display_width(str(row[key])) for row in [dict(COLUMNS), *rows])
        for key, _ in COLUMNS
    }
    lines = ["  ".join(pad(label, widths[key]) for key, label in COLUMNS).rstrip()]
    lines.append("  ".join("-" * widths[key] for key, _ in COLUMNS))
    for row in rows:
        lines.append("  ".join(pad(str(row[key]), widths[key]) for key, _ in COLUMNS).rstrip())
    return lines


class Command(BaseCommand):
    help = "列出演示账号（用户名、密码、角色、单位、上岗证状态）和登录地址。"

    def handle(self, *args: Any, **options: Any) -> None:
        rows = demo_login_rows()
        if not rows:
            self.stdout.write("尚无演示账号，请先执行 zizhu seed-demo。")
            return
        self.stdout.write(f"演示账号（所有账号的密码相同），登录地址：{LOGIN_URL}")
        for line in render_table(rows):
            self.stdout.write(line)
