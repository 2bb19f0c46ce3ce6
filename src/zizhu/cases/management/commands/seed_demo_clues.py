"""`zizhu seed-demo-clues [--seed S]`: demo clues in every state, two overdue and escalated
(issue 5), on a database already seeded by `zizhu seed-demo`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zizhu.cases.demo import seed_demo_clues
from zizhu.cases.models import ClueStatus
from zizhu.core.errors import DomainError


class Command(BaseCommand):
    help = "生成问题线索演示数据：各办理状态的线索，其中两条已逾期并由系统督办。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="随机种子（同一种子生成相同数据）")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            summary = seed_demo_clues(seed=options["seed"])
        except DomainError as error:
            raise CommandError(error.message) from None
        elapsed = time.monotonic() - started
        states = "、".join(
            f"{ClueStatus(status).label} {count} 条" for status, count in summary.by_status.items()
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成演示线索 {summary.clues} 条（{states}），"
                f"其中 {summary.escalated} 条已逾期督办（用时 {elapsed:.1f} 秒）。"
            )
        )
