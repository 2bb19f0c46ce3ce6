"""Identification and awards (seed 二(一)2–4): categories 1–7, tiers, programmes, quotas,
applications through three rounds of public notice, awards and their dated changes, the
spring dynamic review.

Configuration (categories, tiers, programmes, standards, quotas, school years) is data that
the district centre edits, not code. Money is Decimal yuan with 2 places.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from zizhu.core.crypto import Sensitive, SensitiveField
from zizhu.core.models import OrgUnit, Stage, User
from zizhu.registry.models import Student
from zizhu.sources.models import DatasetRecord, DatasetVersion

# --- school years and configuration ---------------------------------------------------


class SchoolYear(models.Model):
    code = models.CharField("学年", max_length=9, unique=True)  # "2026-2027"
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期")
    current = models.BooleanField("当前学年", default=False)

    class Meta:
        verbose_name = "学年"
        ordering: ClassVar = ["-code"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gt=models.F("starts_on")), name="schoolyear_dates"
            ),
            models.UniqueConstraint(
                fields=["current"], condition=models.Q(current=True), name="one_current_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}学年"


class Term(models.TextChoices):
    AUTUMN = "autumn", "秋季学期"
    SPRING = "spring", "春季学期"


class Semester(models.Model):
    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="semesters")
    term = models.CharField("学期", max_length=8, choices=Term.choices)
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期")

    class Meta:
        verbose_name = "学期"
        ordering: ClassVar = ["starts_on"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["school_year", "term"], name="semester_unique"),
            models.CheckConstraint(
                condition=models.Q(ends_on__gt=models.F("starts_on")), name="semester_dates"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_year.code} {self.get_term_display()}"


class HardshipCategory(models.Model):
    """Categories 1–7. 1–6 are proven by a department dataset whose record matches
    `criteria` ({attr: [allowed values]}); 7 needs a home visit and the group's opinion."""

    number = models.PositiveSmallIntegerField("类别", unique=True)
    name = models.CharField("名称", max_length=60)
    department = models.CharField("认定部门", max_length=60, blank=True)
    dataset_kind = models.CharField("比对数据集", max_length=32, blank=True)
    criteria = models.JSONField("有效记录条件", default=dict, blank=True)
    needs_visit = models.BooleanField("需走访评议", default=False)

    class Meta:
        verbose_name = "困难类别"
        ordering: ClassVar = ["number"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=7), name="category_1_to_7"
            ),
        ]

    def __str__(self) -> str:
        return f"第{self.number}类 {self.name}"


class DifficultyTier(models.Model):
    code = models.CharField("代码", max_length=20, unique=True)
    name = models.CharField("困难等级", max_length=20, unique=True)
    rank = models.PositiveSmallIntegerField("顺序", unique=True)  # 1 = 特别困难

    class Meta:
        verbose_name = "困难等级"
        ordering: ClassVar = ["rank"]

    def __str__(self) -> str:
        return self.name


class PaymentRhythm(models.TextChoices):
    SEMESTER = "semester", "按学期"
    MONTHLY = "monthly", "按月"


class Programme(models.Model):
    code = models.CharField("代码", max_length=32, unique=True)
    name = models.CharField("资助项目", max_length=60, unique=True)
    stages = models.JSONField("适用学段", default=list)  # list of core.models.Stage values
    grades = models.JSONField("适用年级", default=list, blank=True)  # empty: every grade
    rhythm = models.CharField(
        "发放方式", max_length=10, choices=PaymentRhythm.choices, default=PaymentRhythm.SEMESTER
    )
    boarders_only = models.BooleanField("仅限寄宿生", default=False)
    # Share of the standard a non-boarder gets (义务教育生活补助: 50 %); 1 = no difference.
    non_boarder_ratio = models.DecimalField(
        "非寄宿生比例", max_digits=4, decimal_places=2, default=1
    )
    excludes = models.ManyToManyField("self", blank=True, verbose_name="互斥项目")
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "资助项目"
        ordering: ClassVar = ["code"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(non_boarder_ratio__gte=0, non_boarder_ratio__lte=1),
                name="programme_ratio_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Standard(models.Model):
    """The annual amount of a programme for a tier in a school year; `stage` narrows it to
    one stage where standards differ (生活补助: 小学 1250, 初中 1500), blank = every stage."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="standards")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    tier = models.ForeignKey(DifficultyTier, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField("学段", max_length=16, choices=Stage.choices, blank=True)
    annual_amount = models.DecimalField("年度标准（元）", max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = "资助标准"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["programme", "school_year", "tier", "stage"], name="standard_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(annual_amount__gte=0), name="standard_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme} {self.tier} {self.annual_amount}"


class Quota(models.Model):
    """Places a school has for a programme in a school year (名额)."""

    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="quotas")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    places = models.PositiveIntegerField("名额")

    class Meta:
        verbose_name = "名额"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["school", "programme", "school_year"], name="quota_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.programme} {self.places}"


# --- identification -------------------------------------------------------------------


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", "待确认"
    CONFIRMED = "confirmed", "已确认"
    DISMISSED = "dismissed", "不予认定"


class CategoryProposal(models.Model):
    """A category 1–6 proposed by matching department data to the student or a guardian.
    Keeps the dataset version and row it came from (issue 4)."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="proposals")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(HardshipCategory, on_delete=models.PROTECT, related_name="+")
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(DatasetRecord, on_delete=models.PROTECT, related_name="+")
    matched_via = models.CharField("匹配对象", max_length=40)  # "学生本人" / "监护人：父亲"
    status = models.CharField(
        max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.PROPOSED
    )
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField("说明", max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "类别比对建议"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["student", "school_year", "category", "record"],
                name="proposal_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.category}"


class HomeVisit(models.Model):
    """走访座谈记录 for category 7 (seed 二(一)3)."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="home_visits")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("方式", max_length=10, default="家访")  # 家访 / 邻里走访
    visited_on = models.DateField("走访日期")
    visitors = models.CharField("走访人员", max_length=200)
    met_with = models.CharField("走访对象", max_length=200)
    findings = models.TextField("走访情况")
    attachment = models.FileField("附件", upload_to="visits/%Y/%m/", blank=True)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "走访座谈记录"
        ordering: ClassVar = ["-visited_on"]

    def __str__(self) -> str:
        return f"{self.student} {self.visited_on}"


class Evaluation(models.Model):
    """The school's evaluation group opinion (评议小组意见) on a category-7 case."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="evaluations")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    members = models.CharField("评议小组成员", max_length=300)
    agreed = models.BooleanField("评议结果：同意认定")
    opinion = models.TextField("评议意见")
    held_on = models.DateField("评议日期")
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "评议意见"

    def __str__(self) -> str:
        return f"{self.student} {self.held_on}"


class IdentificationQuerySet(models.QuerySet["Identification"]):
    def visible_to(self, actor: User, perm: str = "aid:view") -> IdentificationQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "student__school")


class Identification(models.Model):
    """Per student per school year: 认定级别, 认定时间, 认定原因 (the national system's triple)
    with the evidence behind the category."""

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="identifications")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(HardshipCategory, on_delete=models.PROTECT, related_name="+")
    tier = models.ForeignKey(DifficultyTier, on_delete=models.PROTECT, related_name="+")
    identified_on = models.DateField("认定时间")
    reason = models.CharField("认定原因", max_length=300)
    proposal = models.ForeignKey(
        CategoryProposal, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    home_visit = models.ForeignKey(
        HomeVisit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A category 1–6 without department evidence needs a recorded exception.
    exception_reason = models.CharField("无比对依据的例外说明", max_length=300, blank=True)
    identified_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = IdentificationQuerySet.as_manager()

    class Meta:
        verbose_name = "困难认定"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["student", "school_year"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_live_identification_per_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.category} {self.tier}"


# --- applications and the three notices -------------------------------------------------


class AppStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交"
    SCHOOL_REVIEWED = "school_reviewed", "学校已初审"
    PRINCIPAL_SIGNED = "principal_signed", "校长已签批"
    NOTICE_1 = "notice_1", "学校初审公示中"
    DISTRICT_REVIEWED = "district_reviewed", "区中心已审核"
    NOTICE_2 = "notice_2", "学校现场公示中"
    NOTICE_3 = "notice_3", "区网上公示中"
    AWARDED = "awarded", "已资助"
    RETURNED = "returned", "已退回"
    REJECTED = "rejected", "未通过"


# The whole diagram on one screen. Returned applications go back to the officer as drafts.
APP_TRANSITIONS: dict[str, frozenset[str]] = {
    AppStatus.DRAFT: frozenset({AppStatus.SUBMITTED}),
    AppStatus.SUBMITTED: frozenset(
        {AppStatus.SCHOOL_REVIEWED, AppStatus.RETURNED, AppStatus.REJECTED}
    ),
    AppStatus.SCHOOL_REVIEWED: frozenset(
        {AppStatus.PRINCIPAL_SIGNED, AppStatus.RETURNED, AppStatus.REJECTED}
    ),
    AppStatus.PRINCIPAL_SIGNED: frozenset({AppStatus.NOTICE_1}),
    AppStatus.NOTICE_1: frozenset(
        {AppStatus.DISTRICT_REVIEWED, AppStatus.RETURNED, AppStatus.REJECTED}
    ),
    AppStatus.DISTRICT_REVIEWED: frozenset({AppStatus.NOTICE_2}),
    AppStatus.NOTICE_2: frozenset({AppStatus.NOTICE_3, AppStatus.RETURNED, AppStatus.REJECTED}),
    AppStatus.NOTICE_3: frozenset({AppStatus.AWARDED, AppStatus.RETURNED, AppStatus.REJECTED}),
    AppStatus.AWARDED: frozenset(),
    AppStatus.RETURNED: frozenset({AppStatus.SUBMITTED}),
    AppStatus.REJECTED: frozenset(),
}

# Statuses in which an application holds a place against the quota.
APP_HOLDS_PLACE = frozenset(
    {
        AppStatus.DISTRICT_REVIEWED,
        AppStatus.NOTICE_2,
        AppStatus.NOTICE_3,
        AppStatus.AWARDED,
    }
)


class ApplicationQuerySet(models.QuerySet["Application"]):
    def visible_to(self, actor: User, perm: str = "aid:view") -> ApplicationQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "school")


class Application(models.Model):
    """An application per student per programme per school year, entered by the school
    officer from the family's signed form."""

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="applications")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    identification = models.ForeignKey(
        Identification, on_delete=models.PROTECT, related_name="applications"
    )
    tier = models.ForeignKey(DifficultyTier, on_delete=models.PROTECT, related_name="+")
    annual_amount = models.DecimalField("年度金额（元）", max_digits=12, decimal_places=2)
    status = models.CharField(
        "状态", max_length=20, choices=AppStatus.choices, default=AppStatus.DRAFT
    )
    signed_form = models.FileField("家庭签字申请表", upload_to="applications/%Y/%m/", blank=True)
    family_statement = models.TextField("申请理由", blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = "资助申请"
        ordering: ClassVar = ["-updated_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["student", "programme", "school_year"],
                condition=~models.Q(status="rejected"),
                name="one_open_application_per_programme_year",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["school", "status"], name="application_school_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.programme}"


class ApplicationEvent(models.Model):
    """Who moved an application, from what to what, and why (the decision chain)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=AppStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=AppStatus.choices)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    note = models.CharField("意见", max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "申请流转记录"
        ordering: ClassVar = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.from_status}→{self.to_status}"


class NoticeRound(models.IntegerChoices):
    SCHOOL = 1, "第一榜：学校初审公示"
    SCHOOL_ON_SITE = 2, "第二榜：学校现场公示"
    DISTRICT_ONLINE = 3, "第三榜：区网上公示"


class NoticeQuerySet(models.QuerySet["Notice"]):
    def visible_to(self, actor: User, perm: str = "aid:view") -> NoticeQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "org_unit")


class Notice(models.Model):
    """One round of 三榜公示. Rounds 1–2 are the school's (printable PDF), round 3 is the
    district's public page. Live from `starts_on` to `ends_on` inclusive (working days)."""

    round = models.PositiveSmallIntegerField("轮次", choices=NoticeRound.choices)
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    title = models.CharField("标题", max_length=200)
    starts_on = models.DateField("公示开始")
    working_days = models.PositiveSmallIntegerField("公示工作日数", default=5)
    ends_on = models.DateField("公示结束", db_index=True)
    applications = models.ManyToManyField(Application, related_name="notices")
    published_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(default=timezone.now)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = "公示"
        ordering: ClassVar = ["-starts_on", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="notice_dates"
            ),
            models.CheckConstraint(
                condition=models.Q(working_days__gte=1), name="notice_at_least_one_day"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ObjectionStatus(models.TextChoices):
    OPEN = "open", "待处理"
    RESOLVED = "resolved", "已处理"


class Objection(models.Model):
    """An objection raised on a live notice (anonymous allowed). Until it is dealt with, the
    application it names cannot move on. Clue handling (issue 5) takes these over."""

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="objections")
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, null=True, blank=True, related_name="objections"
    )
    text = models.TextField("异议内容")
    # Who objected is protected like a clue's reporter (issue 5): encrypted at rest.
    contact = SensitiveField("联系方式", kind=Sensitive.REPORTER)
    status = models.CharField(
        max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN
    )
    resolution = models.TextField("处理结果", blank=True)
    resolved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "公示异议"
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"异议 #{self.pk}"


# --- awards ---------------------------------------------------------------------------


class AwardStatus(models.TextChoices):
    LIVE = "live", "资助中"
    STOPPED = "stopped", "已停止"
    ENDED = "ended", "已结束"


class AwardSource(models.TextChoices):
    APPLICATION = "application", "三榜公示后发放"
    MIGRATION = "migration", "历史数据迁移"


class AwardQuerySet(models.QuerySet["Award"]):
    def visible_to(self, actor: User, perm: str = "aid:view") -> AwardQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "school")


class Award(models.Model):
    """A dated entitlement: the input to payments. Month fields hold the first day of the
    month. Changes take effect from the first day of the month after the decision."""

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="awards")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, null=True, blank=True, related_name="award"
    )
    category = models.ForeignKey(
        HardshipCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tier = models.ForeignKey(DifficultyTier, on_delete=models.PROTECT, related_name="+")
    annual_amount = models.DecimalField("年度金额（元）", max_digits=12, decimal_places=2)
    start_month = models.DateField("开始月份")
    # The last month paid. Before start_month when the award ended before it began: then it
    # never pays a month.
    end_month = models.DateField("结束月份", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=10, choices=AwardStatus.choices, default=AwardStatus.LIVE
    )
    source = models.CharField(max_length=12, choices=AwardSource.choices)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AwardQuerySet.as_manager()

    class Meta:
        verbose_name = "资助"
        ordering: ClassVar = ["-start_month", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["school", "status"], name="award_school_status_idx"),
            models.Index(fields=["student", "status"], name="award_student_status_idx"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(annual_amount__gte=0), name="award_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.programme} {self.school_year.code}"


class AwardChangeKind(models.TextChoices):
    CHANGE_TIER = "change_tier", "调整等级"
    STOP = "stop", "停止资助"
    END = "end", "终止资助（学籍异动）"
    MOVE = "move", "随转学转至新学校"


class AwardChange(models.Model):
    """A dated change to an award; payments read awards with their changes."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=12, choices=AwardChangeKind.choices)
    decided_on = models.DateField("决定日期")
    effective_month = models.DateField("生效月份")  # first day of the month after decided_on
    new_tier = models.ForeignKey(
        DifficultyTier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_amount = models.DecimalField(
        "新年度金额", null=True, blank=True, max_digits=12, decimal_places=2
    )
    # The amount before a tier change: payments compute each month at the amount in force.
    old_amount = models.DecimalField(
        "原年度金额", null=True, blank=True, max_digits=12, decimal_places=2
    )
    new_school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField("原因", max_length=500)
    evidence = models.FileField("依据材料", upload_to="awards/%Y/%m/", blank=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "资助变更"
        ordering: ClassVar = ["effective_month", "id"]

    def __str__(self) -> str:
        return f"{self.award_id} {self.kind} {self.effective_month}"


# --- spring dynamic review ------------------------------------------------------------


class ReviewRound(models.Model):
    """The spring dynamic review of a school year (seed 二(一)4)."""

    school_year = models.OneToOneField(SchoolYear, on_delete=models.PROTECT, related_name="+")
    opened_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    due_on = models.DateField("完成期限")

    class Meta:
        verbose_name = "春季动态复核"

    def __str__(self) -> str:
        return f"{self.school_year} 春季复核"


class ReviewOutcome(models.TextChoices):
    PENDING = "pending", "待复核"
    CONTINUE = "continue", "继续资助"
    CHANGE_TIER = "change_tier", "调整等级"
    STOP = "stop", "停止资助"


class ReviewItemQuerySet(models.QuerySet["ReviewItem"]):
    def visible_to(self, actor: User, perm: str = "aid:view") -> ReviewItemQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "school")


class ReviewItem(models.Model):
    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="items")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="reviews")
    outcome = models.CharField(
        max_length=12, choices=ReviewOutcome.choices, default=ReviewOutcome.PENDING
    )
    new_tier = models.ForeignKey(
        DifficultyTier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField("复核意见", max_length=500, blank=True)
    evidence = models.FileField("依据材料", upload_to="reviews/%Y/%m/", blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewItemQuerySet.as_manager()

    class Meta:
        verbose_name = "复核事项"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["round", "award"], name="review_item_unique"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["round", "school", "outcome"], name="review_school_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.award} {self.outcome}"


# --- 应助尽助 coverage ----------------------------------------------------------------


class CoverageReason(models.Model):
    """Why an eligible student (live category 1–6 data) has no award this year."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("未资助原因", max_length=300)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "未资助原因"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["student", "school_year"], name="coverage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.reason}"
