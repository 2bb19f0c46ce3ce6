"""`zizhu seed-demo-aid --seed S`: the aid half of the demo district (issue 4) — quotas,
identifications, applications in every state, live notices of each round and awards at the
demo school — on a database already seeded by `zizhu seed-demo`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zizhu.aid.demo import SECOND_OFFICER, seed_aid_demo
from zizhu.core.errors import DomainError
from zizhu.registry.demo import DEMO_PASSWORD


class Command(BaseCommand):
    help = "生成资助演示数据：名额、困难认定、各状态的资助申请、三榜公示和资助名单。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="随机种子（同一种子生成相同数据）")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            summary = seed_aid_demo(seed=options["seed"])
        except DomainError as error:
            raise CommandError(error.message) from None
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成资助演示数据：{summary['identifications']} 名学生完成困难认定、"
                f"{summary['applications']} 份资助申请（覆盖全部状态）、"
                f"{summary['notices']} 份公示、{summary['awards']} 条资助记录"
                f"（用时 {elapsed:.1f} 秒）。"
            )
        )
        self.stdout.write(
            f"学校初审账号：{SECOND_OFFICER}（密码 {DEMO_PASSWORD}），"
            "审核 demo_officer 提交的申请。"
        )
