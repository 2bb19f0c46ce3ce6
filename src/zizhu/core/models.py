"""Org units, accounts and reach, certification, the working-day calendar, the audit chain."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone

from zizhu.core.errors import DomainError


class UnitKind(models.TextChoices):
    DISTRICT = "district", "区"
    TOWN = "town", "街镇"
    SCHOOL = "school", "学校"


class Stage(models.TextChoices):
    PRESCHOOL = "幼儿园", "幼儿园"
    PRIMARY = "小学", "小学"
    JUNIOR = "初中", "初中"
    NINE_YEAR = "九年一贯制", "九年一贯制"
    SENIOR = "高中", "高中"
    VOCATIONAL = "中职", "中职"


class OrgUnitQuerySet(models.QuerySet["OrgUnit"]):
    def visible_to(self, actor: User, perm: str = "orgunit:view") -> OrgUnitQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter_units(self)

    def schools(self) -> OrgUnitQuerySet:
        return self.filter(kind=UnitKind.SCHOOL)


class OrgUnit(models.Model):
    """District → towns/streets (街/镇 education branches) → schools."""

    kind = models.CharField("类型", max_length=16, choices=UnitKind.choices)
    code = models.CharField("代码", max_length=20, unique=True)
    name = models.CharField("名称", max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    stage = models.CharField("学段", max_length=16, choices=Stage.choices, blank=True)
    boarding = models.BooleanField("寄宿制学校", default=False)
    active = models.BooleanField("在用", default=True)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["kind", "code"]
        verbose_name = "组织单位"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(models.Q(kind="school") & ~models.Q(stage=""))
                | (~models.Q(kind="school") & models.Q(stage="")),
                name="orgunit_stage_only_for_schools",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="district", parent__isnull=True)
                | (~models.Q(kind="district") & models.Q(parent__isnull=False)),
                name="orgunit_only_district_is_root",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    def visible_to(self, actor: User, perm: str = "user:manage") -> models.QuerySet[User]:
        """Accounts holding a post within the actor's reach; accounts without any post only
        for district-wide managers."""
        from zizhu.core.reach import scope_for

        scope = scope_for(actor, perm)
        if scope.everything:
            return self.all()
        return self.filter(assignments__org_unit_id__in=scope.unit_ids).distinct()

    def create_user(self, username: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """An account. What it may do comes only from its role assignments."""

    username = models.CharField("用户名", max_length=64, unique=True)
    full_name = models.CharField("姓名", max_length=64)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    is_active = models.BooleanField("启用", default=True)
    date_joined = models.DateTimeField("创建时间", default=timezone.now)

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]
    objects = UserManager()

    class Meta:
        verbose_name = "用户"

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"


class Role(models.TextChoices):
    DISTRICT_OFFICER = "district_officer", "区资助中心工作人员"
    DISTRICT_HEAD = "district_head", "区资助中心负责人"
    TOWN_SUPERVISOR = "town_supervisor", "街镇教育总支督导"
    SCHOOL_OFFICER = "school_officer", "学校资助专干"
    PRINCIPAL = "principal", "校长/园长"
    SCHOOL_INSPECTOR = "school_inspector", "学校纪检"
    INSPECTION_TEAM = "inspection_team", "区督查组"
    AUDITOR = "auditor", "只读审计"
    SYSADMIN = "sysadmin", "系统管理员"


class RoleAssignment(models.Model):
    """Reach: a role held at an org unit. A user's reach is the set of these rows."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField("角色", max_length=32, choices=Role.choices)
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="assignments")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "角色授权"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "role", "org_unit"], name="roleassignment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}@{self.org_unit}"


class CertificationQuerySet(models.QuerySet["Certification"]):
    def visible_to(self, actor: User, perm: str = "certification:view") -> CertificationQuerySet:
        """Certificates of people holding a post within reach (distinct: several posts)."""
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self.distinct(), "holder__assignments__org_unit")


class Certification(models.Model):
    """持证上岗: a staff member's aid-work certificate (seed 二(三)1(1))."""

    holder = models.ForeignKey(User, on_delete=models.PROTECT, related_name="certifications")
    number = models.CharField("证书编号", max_length=40, unique=True)
    issued_on = models.DateField("发证日期")
    expires_on = models.DateField("有效期至")
    issued_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_reason = models.CharField("吊销原因", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CertificationQuerySet.as_manager()

    class Meta:
        verbose_name = "上岗证"
        ordering: ClassVar = ["-expires_on"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gt=models.F("issued_on")),
                name="certification_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CalendarYear(models.Model):
    """A year's holiday schedule; working-day questions about it need `complete`."""

    year = models.PositiveSmallIntegerField("年份", primary_key=True)
    complete = models.BooleanField("已确认完整", default=False)
    source = models.CharField("来源", max_length=100, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-year"]
        verbose_name = "节假日年度"

    def __str__(self) -> str:
        return str(self.year)


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", "法定节假日"
    WORKDAY = "workday", "调休上班"


class CalendarDay(models.Model):
    """A day that differs from the Monday–Friday rule: a holiday, or a 调休 working weekend."""

    date = models.DateField("日期", unique=True)
    kind = models.CharField("类型", max_length=16, choices=DayKind.choices)
    name = models.CharField("节日", max_length=40, blank=True)

    class Meta:
        ordering: ClassVar = ["date"]
        verbose_name = "特殊日期"

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class AuditImmutable(DomainError):
    status = 403


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    """Audit rows are append-only: the ORM refuses to change or remove them."""

    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("审计记录只能追加，不能修改。")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("审计记录只能追加，不能删除。")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AuditImmutable("审计记录只能追加，不能修改。")

    def visible_to(self, actor: User, perm: str = "audit:view") -> AuditQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "org_unit")


class AuditEntry(models.Model):
    """One hash-chained, append-only audit row, written by services in their transaction."""

    at = models.DateTimeField("时间", db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField("操作人", max_length=100, blank=True)
    role = models.CharField("角色", max_length=200, blank=True)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField("操作", max_length=64, db_index=True)
    subject_type = models.CharField("对象类型", max_length=64, blank=True)
    subject_id = models.CharField("对象编号", max_length=64, blank=True, db_index=True)
    subject_label = models.CharField("对象", max_length=200, blank=True)
    before = models.JSONField("变更前", null=True, blank=True)
    after = models.JSONField("变更后", null=True, blank=True)
    request_id = models.CharField("请求编号", max_length=64, blank=True)
    ip = models.GenericIPAddressField("来源地址", null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-id"]
        verbose_name = "审计记录"
        indexes: ClassVar = [
            models.Index(fields=["subject_type", "subject_id"], name="audit_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AuditImmutable("审计记录只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("审计记录只能追加，不能删除。")


class AuditHead(models.Model):
    """The chain's tip: one row, locked while appending so concurrent writers queue.

    It also lets `audit verify` notice rows deleted from the end of the chain.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(id=1), name="audithead_singleton"),
        ]

    def __str__(self) -> str:
        return f"audit head #{self.last_id}"


class LoginAttempt(models.Model):
    """Sign-in attempts, for the 5-failures-in-15-minutes lockout."""

    username = models.CharField(max_length=150, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    succeeded = models.BooleanField()
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["username", "at"], name="loginattempt_user_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.at}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "进行中"
    SUCCEEDED = "succeeded", "已完成"
    REJECTED = "rejected", "未通过校验"
    FAILED = "failed", "出错"


JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.REJECTED, JobStatus.FAILED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.REJECTED: frozenset(),
    JobStatus.FAILED: frozenset(),
}


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, actor: User, perm: str = "job:view") -> JobQuerySet:
        """A job is seen by its starter, and by anyone whose reach covers its org unit."""
        from zizhu.core.reach import scope_for

        scope = scope_for(actor, perm)
        if scope.everything:
            return self
        return self.filter(models.Q(created_by=actor) | models.Q(org_unit_id__in=scope.unit_ids))


class Job(models.Model):
    """A long-running operation (an import, a cross-check run) with progress for the page
    that polls it. The work itself runs as a django-tasks task; this row is its record."""

    kind = models.CharField("类型", max_length=40, db_index=True)
    status = models.CharField(
        "状态", max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    title = models.CharField("名称", max_length=200)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    stage = models.CharField("当前步骤", max_length=100, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    message = models.TextField("结果说明", blank=True)
    upload = models.FileField("上传文件", upload_to="jobs/uploads/%Y/%m/", blank=True)
    report = models.FileField("错误报告", upload_to="jobs/reports/%Y/%m/", blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = "后台任务"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(done__lte=models.F("total")) | models.Q(total=0),
                name="job_done_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return not JOB_TRANSITIONS[self.status]


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-app message to one person (an award ended by a status change, a clue overdue)."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = "消息"
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.title
