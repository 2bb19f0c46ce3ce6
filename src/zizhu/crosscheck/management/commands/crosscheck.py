"""`zizhu crosscheck run [--json] [--monthly] [--rule CODE] [--dataset KIND=N] --user U`

Runs the big-data cross-checks (seed 二(四); docs/guide/crosscheck.md). `--json` prints
`{"run": …, "hits": [{"rule", "student_id_number", "school_code", "evidence"}]}` with clear ID
numbers: it is for the district operator on the server, and each such print is audited.
`--monthly` runs only when no run has succeeded this month (for a daily cron line).
`zizhu crosscheck rules` lists the rules with their versions and parameters.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from zizhu.core import audit
from zizhu.core.cli import add_user_argument, command_actor
from zizhu.core.errors import DomainError
from zizhu.crosscheck.models import Hit, Run, RunHit, Trigger
from zizhu.crosscheck.rules import all_rules
from zizhu.crosscheck.services.runs import due_this_month, run_crosscheck
from zizhu.sources.models import DatasetKind


def _pin(value: str) -> tuple[str, int]:
    kind, _, number = value.partition("=")
    if kind not in DatasetKind.values or not number.isdigit():
        raise CommandError(
            f"“{value}”格式不对，应写成 数据集=版本号，如 household=3；数据集为："
            + "、".join(DatasetKind.values)
        )
    return kind, int(number)


class Command(BaseCommand):
    help = "大数据比对。run：运行全部比对规则；rules：列出规则及参数。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["run", "rules"])
        add_user_argument(parser)
        parser.add_argument(
            "--json", action="store_true", help="以 JSON 输出运行结果和命中（含明文身份证号）"
        )
        parser.add_argument(
            "--monthly", action="store_true", help="本月已成功运行过则跳过（供每日定时任务使用）"
        )
        parser.add_argument("--rule", action="append", default=[], help="只运行指定规则（可重复）")
        parser.add_argument(
            "--dataset",
            action="append",
            default=[],
            help="指定数据集版本，如 household=3（默认各数据集最新版）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rules":
            self._rules()
            return
        actor = command_actor(options["user"])
        if options["monthly"] and not due_this_month():
            self.stdout.write("本月已完成比对，跳过。")
            return
        pins = dict(_pin(value) for value in options["dataset"])
        trigger = Trigger.SCHEDULE if options["monthly"] else Trigger.COMMAND
        try:
            run = run_crosscheck(actor, trigger=trigger, pins=pins, codes=options["rule"] or None)
        except DomainError as error:
            raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(run, actor), ensure_ascii=False, indent=1))
            return
        self._summary(run)

    def _rules(self) -> None:
        for rule in all_rules().values():
            self.stdout.write(
                f"{rule.code}  第{rule.version}版  严重程度：{rule.severity_label}  {rule.title}"
            )
            for param, value in rule.param_values().items():
                self.stdout.write(f"    {param} = {value}")

    def _summary(self, run: Run) -> None:
        self.stdout.write(self.style.SUCCESS(f"{run} 完成，用时 {run.timings['total']:.1f} 秒。"))
        for code, c in run.counts["rules"].items():
            self.stdout.write(
                f"  {code:22} 命中 {c['hits']:6}  新增 {c['new']:5}  仍存在 {c['still']:5}"
                f"  重新核查 {c['reopened']:4}  已消失 {c['gone']:5}"
            )
        self.stdout.write(f"  已生成线索 {run.counts['clues']} 条，已分派学校核查。")


def _as_json(run: Run, actor: Any) -> dict[str, Any]:
    changes = dict(RunHit.objects.filter(run=run).values_list("hit_id", "change"))
    hits = (
        Hit.objects.filter(last_run=run, present=True)
        .select_related("student", "school", "clue")
        .order_by("rule", "school__code", "student_id")
    )
    rows = [
        {
            "rule": hit.rule,
            "student_id_number": hit.student.id_number,
            "school_code": hit.school.code,
            "evidence": {
                "rule_version": hit.rule_version,
                "change": changes.get(hit.pk, "still"),
                "verdict": hit.verdict,
                "clue": hit.clue.number if hit.clue else None,
                "hit": hit.pk,
                "items": hit.evidence,
            },
        }
        for hit in hits
    ]
    with transaction.atomic():
        audit.record(
            "crosscheck.exported_clear",
            actor=actor,
            subject=run,
            after={"hits": len(rows), "via": "zizhu crosscheck run --json"},
        )
    return {
        "run": {
            "number": run.number,
            "status": run.status,
            "as_of": run.as_of.isoformat(),
            "rule_versions": run.rule_versions,
            "dataset_versions": run.dataset_versions,
            "timings": run.timings,
            "counts": run.counts,
        },
        "hits": rows,
    }
