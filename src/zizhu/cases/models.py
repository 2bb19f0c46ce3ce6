"""Clues (问题线索, seed 二(一)5 and 二(二)): one workflow for every source — a complaint on
the hotline, a letter, an objection to a public notice, a cross-check hit — with one clock:
the school verifies within 3 working days of assignment, the district reviews within 2
working days of the school's submission, the decision takes effect from the next month, and
the complainant gets a reply.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from zizhu.aid.models import Award, DifficultyTier, Objection
from zizhu.core.crypto import BlindIndexField, Sensitive, SensitiveField
from zizhu.core.models import OrgUnit, User
from zizhu.registry.models import Student


class Channel(models.TextChoices):
    HOTLINE = "hotline", "热线电话"
    LETTER = "letter", "来信"
    VISIT = "visit", "来访"
    ONLINE = "online", "网上举报"
    STUDENT_UNION = "student_union", "学生会"
    PARENT_MEETING = "parent_meeting", "家长会"
    MEDIA = "media", "媒体"
    SUPERVISION = "supervision", "日常监管"
    SELF_DECLARATION = "self_declaration", "诚信申报（家庭情况变化）"
    NOTICE_OBJECTION = "notice_objection", "公示异议"
    MONITORING = "monitoring", "系统监测（比对预警）"


class ClueStatus(models.TextChoices):
    RECEIVED = "received", "待分派"
    ASSIGNED = "assigned", "学校核查中"
    SUBMITTED = "submitted", "区中心审核中"
    DECIDED = "decided", "已决定待答复"
    CLOSED = "closed", "已办结"
    APPEALED = "appealed", "申诉复查中"


# The whole diagram on one screen. A clue the district handles itself goes RECEIVED →
# SUBMITTED (the district records the verification); a send-back goes SUBMITTED → ASSIGNED;
# an appeal reopens a closed clue at the district.
CLUE_TRANSITIONS: dict[str, frozenset[str]] = {
    ClueStatus.RECEIVED: frozenset({ClueStatus.ASSIGNED, ClueStatus.SUBMITTED}),
    ClueStatus.ASSIGNED: frozenset({ClueStatus.SUBMITTED}),
    ClueStatus.SUBMITTED: frozenset({ClueStatus.DECIDED, ClueStatus.ASSIGNED}),
    ClueStatus.DECIDED: frozenset({ClueStatus.CLOSED}),
    ClueStatus.CLOSED: frozenset({ClueStatus.APPEALED}),
    ClueStatus.APPEALED: frozenset({ClueStatus.DECIDED}),
}


class ClueQuerySet(models.QuerySet["Clue"]):
    def visible_to(self, actor: User, perm: str = "clue:view") -> ClueQuerySet:
        """District roles see every clue; a school sees the clues assigned to it."""
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "school")


class Clue(models.Model):
    number = models.CharField("线索编号", max_length=20, unique=True)
    # The private lookup code is shown once to the reporter; only its hash is kept.
    lookup_code_hash = models.CharField(max_length=64, blank=True)
    channel = models.CharField("来源渠道", max_length=20, choices=Channel.choices)
    allegation = models.TextField("反映内容")
    students = models.ManyToManyField(Student, blank=True, related_name="clues")
    school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        "状态", max_length=12, choices=ClueStatus.choices, default=ClueStatus.RECEIVED
    )
    received_on = models.DateField("受理日期")
    due_on = models.DateField("当前环节办理期限", null=True, blank=True, db_index=True)
    overdue_since = models.DateField("逾期起始", null=True, blank=True)
    escalated_at = models.DateTimeField("已督办", null=True, blank=True)
    priority_recheck = models.BooleanField("重点复核", default=False)
    objection = models.OneToOneField(
        Objection, on_delete=models.PROTECT, null=True, blank=True, related_name="clue"
    )
    # A cross-check hit or other machine source: {"rule": ..., "run": ..., "hit": ...}.
    source_ref = models.JSONField("来源记录", default=dict, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ClueQuerySet.as_manager()

    class Meta:
        verbose_name = "问题线索"
        ordering: ClassVar = ["due_on", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["status", "due_on"], name="clue_status_due_idx"),
            models.Index(fields=["school", "status"], name="clue_school_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class ClueAttachment(models.Model):
    """A file that came with a clue (a letter's scan, a photo). Stored under a random name:
    file names of scans often carry a child's name."""

    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("附件", upload_to="clues/%Y/%m/")
    label = models.CharField("名称", max_length=100)
    uploaded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "线索附件"
        ordering: ClassVar = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.label


class ClueReporter(models.Model):
    """Who reported, kept apart from the clue: only the district head and discipline
    inspectors may see it, and every view is audited (issue 5)."""

    clue = models.OneToOneField(Clue, on_delete=models.CASCADE, related_name="reporter")
    anonymous = models.BooleanField("匿名", default=True)
    name = SensitiveField("姓名", kind=Sensitive.REPORTER)
    contact = SensitiveField("联系方式", kind=Sensitive.REPORTER)
    contact_hash = BlindIndexField(source="contact")

    class Meta:
        verbose_name = "举报人"

    def __str__(self) -> str:
        return f"举报人（线索 {self.clue_id}）"


class ClueEvent(models.Model):
    """The clue's chain: who moved it, from what to what, with what note and due date."""

    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=ClueStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ClueStatus.choices)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField("说明", max_length=500, blank=True)
    due_on = models.DateField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "线索流转记录"
        ordering: ClassVar = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.clue_id} {self.from_status}→{self.to_status}"


class FamilyAnswer(models.TextChoices):
    CONFIRMED = "confirmed", "本人确认无异议"
    DISPUTED = "disputed", "本人有异议"
    UNREACHABLE = "unreachable", "未能联系到本人"


class Opinion(models.TextChoices):
    """动态管理意见."""

    CONTINUE = "continue", "继续资助"
    CHANGE_TIER = "change_tier", "调整等级"
    STOP = "stop", "停止资助"
    RECOVER = "recover", "停止资助并追缴已发资金"
    NOT_APPLICABLE = "not_applicable", "不涉及资助调整"


class Verification(models.Model):
    """The school's (or district's) verification: contact with the family, their answer,
    the conclusion and the dynamic-management opinion."""

    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="verifications")
    contacted_on = models.DateField("核实日期")
    contacted_person = models.CharField("核实对象", max_length=100)
    contact_method = models.CharField("核实方式", max_length=40)
    answer = models.CharField("本人意见", max_length=12, choices=FamilyAnswer.choices)
    conclusion = models.TextField("核实结论")
    opinion = models.CharField("动态管理意见", max_length=16, choices=Opinion.choices)
    award = models.ForeignKey(
        Award, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_tier = models.ForeignKey(
        DifficultyTier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "核实结论"
        ordering: ClassVar = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.clue_id} {self.get_opinion_display()}"


class InvestigationKind(models.TextChoices):
    HOME_VISIT = "home_visit", "入户调查"
    NEIGHBOUR_VISIT = "neighbour_visit", "邻里走访"
    LETTER = "letter", "信函索证"
    DATA_RECHECK = "data_recheck", "信息再次核对"


class Investigation(models.Model):
    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="investigations")
    kind = models.CharField("调查方式", max_length=16, choices=InvestigationKind.choices)
    done_on = models.DateField("调查日期")
    findings = models.TextField("调查情况")
    attachment = models.FileField("附件", upload_to="clues/%Y/%m/", blank=True)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "调查记录"
        ordering: ClassVar = ["done_on", "id"]

    def __str__(self) -> str:
        return f"{self.clue_id} {self.get_kind_display()}"


class Decision(models.Model):
    """The district's decision on a clue; award changes go through the awards service, from
    the first day of the next month."""

    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="decisions")
    opinion = models.CharField("处理决定", max_length=16, choices=Opinion.choices)
    reasoning = models.TextField("审核意见")
    award = models.ForeignKey(
        Award, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_tier = models.ForeignKey(
        DifficultyTier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recover_amount = models.DecimalField(
        "追缴金额（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    public_outcome = models.TextField("结果公示内容", blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "处理决定"
        ordering: ClassVar = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.clue_id} {self.get_opinion_display()}"


class ReplyMethod(models.TextChoices):
    WRITTEN = "written", "书面答复"
    ORAL = "oral", "口头答复"


class Reply(models.Model):
    """The reply to the complainant (seed 二(二)4). Shown on the tracking page."""

    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="replies")
    method = models.CharField("答复方式", max_length=10, choices=ReplyMethod.choices)
    replied_on = models.DateField("答复日期")
    content = models.TextField("答复内容")
    replied_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "答复"
        ordering: ClassVar = ["replied_on", "id"]

    def __str__(self) -> str:
        return f"{self.clue_id} {self.replied_on}"


class Appeal(models.Model):
    clue = models.ForeignKey(Clue, on_delete=models.CASCADE, related_name="appeals")
    text = models.TextField("申诉内容")
    lodged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "申诉"
        ordering: ClassVar = ["lodged_at"]

    def __str__(self) -> str:
        return f"{self.clue_id} 申诉"


class PortalPage(models.Model):
    """A policy page of the public portal that the district centre edits."""

    slug = models.SlugField("地址", max_length=40, unique=True)
    title = models.CharField("标题", max_length=100)
    body = models.TextField("正文")
    order = models.PositiveSmallIntegerField("排序", default=0)
    published = models.BooleanField("发布", default=True)
    updated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "政策页面"
        ordering: ClassVar = ["order", "slug"]

    def __str__(self) -> str:
        return self.title
