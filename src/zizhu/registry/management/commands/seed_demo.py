"""`zizhu seed-demo --students N --seed S [--if-empty]`: the demo district (issue 2)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from zizhu.core.errors import DomainError
from zizhu.core.models import OrgUnit
from zizhu.registry.demo import seed_demo


class Command(BaseCommand):
    help = "生成演示数据：学校、学生、监护人、教职工，以及每个角色的演示账号。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=2000, help="学生人数")
        parser.add_argument("--seed", type=int, default=1, help="随机种子（同一种子生成相同数据）")
        parser.add_argument("--if-empty", action="store_true", help="库中已有学校时跳过，不报错")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["students"] < 0:
            raise CommandError("学生人数不能为负数。")
        if options["if_empty"] and OrgUnit.objects.schools().exists():
            self.stdout.write("库中已有学校数据，跳过演示数据生成。")
            return
        started = time.monotonic()
        try:
            with transaction.atomic():
                summary = seed_demo(students=options["students"], seed=options["seed"])
                # The aid year on top of the register: applications in every state, live
                # notices of each round, awards (issue 4).
                from zizhu.aid.demo import seed_aid_demo

                aid = seed_aid_demo(seed=options["seed"])
                # Clues in every state, two of them overdue and escalated (issue 5).
                from zizhu.cases.demo import seed_demo_clues

                clues = seed_demo_clues(seed=options["seed"])
                # A paid batch for the past semester, one payment returned (issue 7).
                from zizhu.payments.demo import seed_payment_demo

                payments = seed_payment_demo(seed=options["seed"])
                # Department data and students breaking each cross-check rule, with controls
                # no rule may flag (issue 6). The person runs the cross-check.
                from zizhu.crosscheck.demo import plant_violations, summary_lines

                planted = plant_violations(seed=options["seed"])
        except DomainError as error:
            raise CommandError(error.message) from None
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成演示数据：{summary.schools} 所学校、{summary.students} 名学生、"
                f"{summary.guardians} 名监护人、{summary.staff} 名教职工、"
                f"{summary.accounts} 个演示账号（用时 {elapsed:.1f} 秒）。"
            )
        )
        self.stdout.write(
            f"资助演示数据：{aid['applications']} 份申请（覆盖全部状态）、"
            f"{aid['notices']} 份公示、{aid['awards']} 条资助记录。"
        )
        self.stdout.write(
            f"问题线索演示数据：{clues.clues} 条线索（覆盖全部状态），"
            f"其中 {clues.escalated} 条逾期已督办。"
        )
        self.stdout.write(
            f"发放演示数据：上学期批次 {payments['batches']} 个，"
            f"成功 {payments['paid']} 笔、失败 {payments['failed']} 笔。"
        )
        for line in summary_lines(planted):
            self.stdout.write(line)
