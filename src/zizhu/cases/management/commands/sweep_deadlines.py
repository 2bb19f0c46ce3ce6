"""`zizhu sweep-deadlines [--date YYYY-MM-DD]`: remind clues due today, escalate overdue ones.

Run each working day at 08:00 from cron (docs/guide/clues-deadlines.md). Safe to rerun and
to run twice at once: every mark is a compare-and-set (cases.services.deadlines).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zizhu.cases.services.deadlines import sweep_deadlines


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"日期“{value}”格式不对，请写成 YYYY-MM-DD。") from None


class Command(BaseCommand):
    help = "线索时效巡检：提醒今日到期的线索，标记逾期线索并督办至街镇教育总支和区资助中心。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=_date, help="按此日期巡检（默认今天），YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        report = sweep_deadlines(today=options["date"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.today:%Y-%m-%d} 巡检完成：检查 {report.checked} 条，"
                f"今日到期提醒 {report.reminded} 条，新增逾期 {report.newly_overdue} 条，"
                f"督办 {report.escalated} 条，发送站内消息 {report.notifications} 条。"
            )
        )
        for number in report.numbers:
            self.stdout.write(f"  已督办：{number}")
