"""Cross-check runs and their hits (seed 二(四), issue 6).

A run reads a snapshot of the register, awards and payments plus chosen department dataset
versions, applies every rule (SQL files in `rules/`) and records what it used. A hit is one
rule's finding about one student; it lives across runs: found again it is "still", not found
it is "gone", and a person's verdict (confirmed or dismissed, through the clue it opened)
stays with it. A dismissed hit comes back only when its evidence changes (`fingerprint`).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from zizhu.cases.models import Clue
from zizhu.core.models import Job, OrgUnit, User
from zizhu.registry.models import Student


class RunStatus(models.TextChoices):
    RUNNING = "running", "运行中"
    SUCCEEDED = "succeeded", "已完成"
    FAILED = "failed", "失败"


class Trigger(models.TextChoices):
    COMMAND = "command", "命令行"
    WEB = "web", "页面“立即运行”"
    SCHEDULE = "schedule", "每月定时"


class Run(models.Model):
    number = models.PositiveIntegerField("运行编号", unique=True)
    trigger = models.CharField("触发方式", max_length=10, choices=Trigger.choices)
    status = models.CharField(
        "状态", max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    job = models.OneToOneField(
        Job, on_delete=models.PROTECT, null=True, blank=True, related_name="crosscheck_run"
    )
    started_at = models.DateTimeField("开始时间", default=timezone.now)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    as_of = models.DateField("比对基准日")
    # {code: version}
    rule_versions = models.JSONField("规则版本", default=dict)
    # {kind: {"id": .., "number": .., "as_of": "YYYY-MM-DD", "rows": ..}}
    dataset_versions = models.JSONField("数据集版本", default=dict)
    # {code: {name: value}} as applied
    params = models.JSONField("参数", default=dict)
    # {"snapshot": s, "linkage": s, "rules": {code: s}, "record": s, "total": s}
    timings = models.JSONField("耗时", default=dict)
    # {"snapshot": {table: rows}, "rules": {code: {"hits": n, "new": n, "still": n, "gone": n,
    #  "reopened": n}}, "clues": n}
    counts = models.JSONField("计数", default=dict)
    error = models.TextField("错误", blank=True)

    class Meta:
        verbose_name = "比对运行"
        ordering: ClassVar = ["-number"]

    def __str__(self) -> str:
        return f"第{self.number}次比对"


class Verdict(models.TextChoices):
    PENDING = "pending", "待核查"
    CONFIRMED = "confirmed", "查实"
    DISMISSED = "dismissed", "排除"


class Hit(models.Model):
    rule = models.CharField("规则", max_length=40)
    rule_version = models.PositiveIntegerField("规则版本")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="crosscheck_hits")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    # Evidence rows as last found: [{"source":…, "detail":…, "version_id":…, "row_number":…,
    # "probability":…}]; `fingerprint` hashes only the stable facts behind them, so a new
    # version of the same department data does not count as changed evidence.
    evidence = models.JSONField("证据", default=list)
    fingerprint = models.CharField(max_length=64)
    first_run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="+")
    present = models.BooleanField("最近一次比对仍命中", default=True)
    verdict = models.CharField(
        "核查结论", max_length=10, choices=Verdict.choices, default=Verdict.PENDING
    )
    verdict_reason = models.TextField("结论理由", blank=True)
    verdict_at = models.DateTimeField(null=True, blank=True)
    # The evidence the verdict was given on; a dismissed hit is reopened only when it changes.
    verdict_fingerprint = models.CharField(max_length=64, blank=True)
    clue = models.ForeignKey(
        Clue, on_delete=models.PROTECT, null=True, blank=True, related_name="crosscheck_hits"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "比对命中"
        ordering: ClassVar = ["-last_run_id", "rule", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["rule", "student"], name="hit_rule_student_unique"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["rule", "verdict"], name="hit_rule_verdict_idx"),
            models.Index(fields=["school", "present"], name="hit_school_present_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} #{self.pk}"


class Change(models.TextChoices):
    NEW = "new", "新增"
    STILL = "still", "仍存在"
    REOPENED = "reopened", "证据变化重新核查"
    GONE = "gone", "已消失"


class RunHit(models.Model):
    """What one run said about one hit: the diff against the run before."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="run_hits")
    hit = models.ForeignKey(Hit, on_delete=models.CASCADE, related_name="run_hits")
    change = models.CharField("变化", max_length=10, choices=Change.choices)
    clue = models.ForeignKey(
        Clue, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "运行命中"
        ordering: ClassVar = ["id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["run", "hit"], name="runhit_unique"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["run", "change"], name="runhit_run_change_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run} · {self.get_change_display()}"
