"""Money (issue 7): what each award entitles per month and period, payment batches with their
pre-payment checks, bank files and results, budgets, the district pool (统筹) and recoveries
(追缴). Money is Decimal yuan with 2 places, never float.

What is owed is computed from awards and their dated changes (aid.Award, aid.AwardChange);
nothing here stores an entitlement beside them, so "effective from next month" and ledger
endings fall out of the same computation.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from zizhu.aid.models import Award, Programme, SchoolYear, Semester
from zizhu.core.crypto import BlindIndexField, Sensitive, SensitiveField
from zizhu.core.models import Job, OrgUnit, User
from zizhu.registry.models import Student


class BatchStatus(models.TextChoices):
    DRAFT = "draft", "草稿（待核验）"
    CHECKED = "checked", "已核验待审批"
    APPROVED = "approved", "已审批"
    EXPORTED = "exported", "已生成银行文件"
    SETTLED = "settled", "已回盘"


BATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    BatchStatus.DRAFT: frozenset({BatchStatus.CHECKED}),
    BatchStatus.CHECKED: frozenset({BatchStatus.CHECKED, BatchStatus.APPROVED}),
    BatchStatus.APPROVED: frozenset({BatchStatus.EXPORTED}),
    BatchStatus.EXPORTED: frozenset({BatchStatus.SETTLED}),
    BatchStatus.SETTLED: frozenset(),
}


class PaymentBatch(models.Model):
    """One programme's payment for one period (a semester, or a month for monthly ones)."""

    number = models.CharField("批次号", max_length=30, unique=True)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    semester = models.ForeignKey(Semester, on_delete=models.PROTECT, related_name="+")
    # First and last month (first day of each) the batch pays for.
    period_start = models.DateField("发放起始月")
    period_end = models.DateField("发放截止月")
    status = models.CharField(
        "状态", max_length=10, choices=BatchStatus.choices, default=BatchStatus.DRAFT
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    payable_total = models.DecimalField("应发合计", max_digits=14, decimal_places=2, default=0)
    payable_count = models.PositiveIntegerField("应发人数", default=0)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = "发放批次"
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="batch_period"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class LineStatus(models.TextChoices):
    PAYABLE = "payable", "可发放"
    BLOCKED = "blocked", "已拦截"
    PAID = "paid", "发放成功"
    FAILED = "failed", "发放失败"


class PaymentLineQuerySet(models.QuerySet["PaymentLine"]):
    def visible_to(self, actor: User, perm: str = "payment:view") -> PaymentLineQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "school")


class PaymentLine(models.Model):
    batch = models.ForeignKey(PaymentBatch, on_delete=models.CASCADE, related_name="lines")
    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="payment_lines")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField("金额", max_digits=12, decimal_places=2)
    # The card as it was when the batch was checked: the bank file and the result match it.
    bank_account = SensitiveField("银行卡号", kind=Sensitive.BANK_ACCOUNT)
    bank_account_hash = BlindIndexField(source="bank_account")
    status = models.CharField(max_length=10, choices=LineStatus.choices)
    reasons = models.JSONField("拦截原因", default=list, blank=True)
    result_reason = models.CharField("回盘失败原因", max_length=200, blank=True)
    # A failed line fixed by the school is paid again in a later batch.
    retry_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="retries"
    )

    objects = PaymentLineQuerySet.as_manager()

    class Meta:
        verbose_name = "发放明细"
        ordering: ClassVar = ["school_id", "student_id"]
        indexes: ClassVar = [
            models.Index(fields=["batch", "status"], name="line_batch_status_idx"),
            models.Index(fields=["award", "status"], name="line_award_status_idx"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["batch", "award"], name="line_once_per_batch"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="line_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.award_id} {self.amount}"


class BankResultImport(models.Model):
    """One 发放回盘 file applied to a batch; the same file twice changes nothing."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="results")
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    succeeded = models.PositiveIntegerField()
    failed = models.PositiveIntegerField()
    imported_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "银行回盘"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["batch", "sha256"], name="result_once_per_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.sha256[:8]}"


class Budget(models.Model):
    """A programme's funds for a school year with the shares of each level of government."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    central = models.DecimalField("中央", max_digits=14, decimal_places=2, default=0)
    provincial = models.DecimalField("省级", max_digits=14, decimal_places=2, default=0)
    city = models.DecimalField("市级", max_digits=14, decimal_places=2, default=0)
    district = models.DecimalField("区级", max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name = "资金预算"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["programme", "school_year"], name="budget_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.programme} {self.school_year.code}"


class FundEntryKind(models.TextChoices):
    ALLOCATION = "allocation", "按名额下达学校"
    DISBURSEMENT = "disbursement", "发放"
    SURPLUS = "surplus", "结余转入统筹"
    POOL_OUT = "pool_out", "统筹资金调出"
    RECOVERY = "recovery", "追缴收回"


class FundEntry(models.Model):
    """The fund ledger: every movement of a programme's money, in and out of the pool."""

    kind = models.CharField(max_length=16, choices=FundEntryKind.choices)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    cause = models.CharField("原因", max_length=200, blank=True)
    batch = models.ForeignKey(
        PaymentBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "资金台账"
        ordering: ClassVar = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class RecoveryStatus(models.TextChoices):
    OPEN = "open", "待追缴"
    PARTLY = "partly", "部分收回"
    COLLECTED = "collected", "已收回"
    WAIVED = "waived", "经批准核销"


class Recovery(models.Model):
    """追缴: money paid after an award should have ended."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="recoveries")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField("应追缴金额", max_digits=12, decimal_places=2)
    collected = models.DecimalField("已收回金额", max_digits=12, decimal_places=2, default=0)
    reason = models.CharField("原因", max_length=300)
    status = models.CharField(
        max_length=10, choices=RecoveryStatus.choices, default=RecoveryStatus.OPEN
    )
    # Where it came from: a clue decision ({"clue": …}) or the overpayment check.
    source = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "追缴"
        ordering: ClassVar = ["-created_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0)
                & models.Q(collected__gte=0)
                & models.Q(collected__lte=models.F("amount")),
                name="recovery_amounts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.award_id} {self.amount}"
