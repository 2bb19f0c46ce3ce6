"""`zizhu audit verify`: walk the hash chain and name the first row that does not fit."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from zizhu.core.audit import verify_chain


class Command(BaseCommand):
    help = "审计链工具。verify：逐条校验审计链，发现被修改或删除的记录时以退出码 1 结束。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"], help="verify：校验审计链")

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"审计链完整：{report.checked} 条记录"))
            return
        self.stderr.write(
            f"审计链断裂：第 {report.broken_at} 条记录（id={report.broken_at}）。"
            f"{report.reason}此前 {report.checked} 条记录校验通过。"
        )
        # A distinct exit status lets cron and monitoring raise the alarm.
        raise SystemExit(1)
