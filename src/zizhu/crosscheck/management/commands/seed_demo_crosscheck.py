"""`zizhu seed-demo-crosscheck [--seed S]`: department data and students that break each
cross-check rule, with controls that do not (issue 6), on a database seeded by
`zizhu seed-demo`. The cross-check itself is left to the person: `zizhu crosscheck run`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zizhu.core.errors import DomainError
from zizhu.crosscheck.demo import plant_violations, summary_lines


class Command(BaseCommand):
    help = (
        "生成比对演示数据：导入各部门比对数据，布设违反每条比对规则的学生和不应命中的对照学生。"
        "不运行比对。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="随机种子（同一种子生成相同数据）")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            planted = plant_violations(seed=options["seed"])
        except DomainError as error:
            raise CommandError(error.message) from None
        elapsed = time.monotonic() - started
        lines = summary_lines(planted)
        self.stdout.write(self.style.SUCCESS(lines[0]))
        for line in lines[1:]:
            self.stdout.write(line)
        self.stdout.write(f"（用时 {elapsed:.1f} 秒；比对需由区资助中心运行，本命令不运行比对。）")
