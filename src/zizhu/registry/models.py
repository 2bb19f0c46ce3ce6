"""The school register: students, their guardians, and school staff.

Sensitive identifiers use core's encrypted field with a blind index (architecture.md).
Birth date, gender and area code are plain fields derived from the ID number.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from zizhu.core.crypto import BlindIndexField, Sensitive, SensitiveField
from zizhu.core.models import OrgUnit, User


class StudentStatus(models.TextChoices):
    ENROLLED = "enrolled", "在读"
    SUSPENDED = "suspended", "休学"
    TRANSFERRED_OUT = "transferred_out", "转出"
    DROPPED_OUT = "dropped_out", "退学"
    GRADUATED = "graduated", "毕业"
    DECEASED = "deceased", "死亡"


class Household(models.Model):
    """A family in the register: students who share a guardian (by ID number) belong to one.

    `key_hash` is the blind index the household was formed around (a guardian's ID number,
    or the student's own when no guardian has one). The 公安 户号 lives in department data.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "家庭"

    def __str__(self) -> str:
        return f"家庭 #{self.pk}"


class StudentQuerySet(models.QuerySet["Student"]):
    def visible_to(self, actor: User, perm: str = "student:view") -> StudentQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "school")


class Student(models.Model):
    id_number = SensitiveField("身份证号", kind=Sensitive.ID_NUMBER)
    id_number_hash = BlindIndexField(source="id_number", unique=True)
    name = models.CharField("姓名", max_length=64, db_index=True)
    gender = models.CharField("性别", max_length=2)
    birth_date = models.DateField("出生日期")
    area_code = models.CharField("地区码", max_length=6)
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="students")
    household = models.ForeignKey(
        Household, on_delete=models.SET_NULL, null=True, blank=True, related_name="students"
    )
    grade = models.CharField("年级", max_length=20)
    # The school year the grade stands for (registry.grades), so lists order 一年级, 二年级,
    # 三年级 … rather than by the characters. Written wherever `grade` is.
    grade_rank = models.SmallIntegerField("年级序号", default=99, editable=False)
    class_name = models.CharField("班级", max_length=20, blank=True)
    boarder = models.BooleanField("寄宿", default=False)
    # Derived from the status-change ledger: only registry.services.record_status_change
    # writes it, in the same transaction as the ledger entry (issue 3). Kept as a column so
    # lists can filter by it at 200,000 students.
    status = models.CharField(
        "学籍状态", max_length=20, choices=StudentStatus.choices, default=StudentStatus.ENROLLED
    )
    enrolled_on = models.DateField("入学日期", null=True, blank=True)
    hukou_address = models.CharField("户籍地址", max_length=200, blank=True)
    home_address = models.CharField("家庭住址", max_length=200, blank=True)
    phone = SensitiveField("联系电话", kind=Sensitive.PHONE)
    phone_hash = BlindIndexField(source="phone")
    bank_account = SensitiveField("银行卡号", kind=Sensitive.BANK_ACCOUNT)
    bank_account_hash = BlindIndexField(source="bank_account")
    card_holder_id = SensitiveField("持卡人身份证号", kind=Sensitive.ID_NUMBER)
    card_holder_id_hash = BlindIndexField(source="card_holder_id")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = "学生"
        ordering: ClassVar = ["school_id", "grade_rank", "class_name", "name"]
        indexes: ClassVar = [
            models.Index(fields=["school", "status"], name="student_school_status_idx"),
            # The list's default order, so a page's ids are read off the index, not sorted.
            # The list pages by id first and fetches the rows after (a "deferred join"), so
            # the indexes carry what that first query needs (INCLUDE: PostgreSQL only).
            models.Index(
                fields=["school", "grade_rank", "class_name", "name"],
                name="student_list_order_idx",
                include=["id", "status", "grade"],
            ),
            # Name search is by prefix (surname or full name); pattern ops let PostgreSQL
            # use the index for LIKE 'x%' under any collation.
            models.Index(
                fields=["name"],
                name="student_name_prefix_idx",
                opclasses=["varchar_pattern_ops"],
                include=["id", "school", "grade_rank", "grade", "class_name", "status"],
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GuardianRelation(models.TextChoices):
    FATHER = "父亲", "父亲"
    MOTHER = "母亲", "母亲"
    GRANDFATHER = "祖父", "祖父"
    GRANDMOTHER = "祖母", "祖母"
    MATERNAL_GRANDFATHER = "外祖父", "外祖父"
    MATERNAL_GRANDMOTHER = "外祖母", "外祖母"
    OTHER = "其他", "其他"


class GuardianQuerySet(models.QuerySet["Guardian"]):
    def visible_to(self, actor: User, perm: str = "student:view") -> GuardianQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "student__school")


class Guardian(models.Model):
    """A student's guardian; several per student, the ID number may be missing."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardians")
    name = models.CharField("监护人姓名", max_length=64)
    id_number = SensitiveField("监护人身份证号", kind=Sensitive.ID_NUMBER)
    id_number_hash = BlindIndexField(source="id_number")
    relation = models.CharField("关系", max_length=8, choices=GuardianRelation.choices)
    employer = models.CharField("工作单位", max_length=100, blank=True)
    phone = SensitiveField("联系电话", kind=Sensitive.PHONE)
    phone_hash = BlindIndexField(source="phone")

    objects = GuardianQuerySet.as_manager()

    class Meta:
        verbose_name = "监护人"

    def __str__(self) -> str:
        return self.name


class Post(models.TextChoices):
    PRINCIPAL = "校长", "校长"
    KINDERGARTEN_HEAD = "园长", "园长"
    AID_OFFICER = "资助专干", "资助专干"
    TEACHER = "教师", "教师"
    OTHER = "其他", "其他"


class StaffQuerySet(models.QuerySet["Staff"]):
    def visible_to(self, actor: User, perm: str = "staff:view") -> StaffQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "school")


class Staff(models.Model):
    id_number = SensitiveField("身份证号", kind=Sensitive.ID_NUMBER)
    id_number_hash = BlindIndexField(source="id_number")
    name = models.CharField("姓名", max_length=64)
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="staff")
    post = models.CharField("岗位", max_length=8, choices=Post.choices)
    hardship_staff = models.BooleanField("特殊困难教职工", default=False)
    phone = SensitiveField("联系电话", kind=Sensitive.PHONE)
    phone_hash = BlindIndexField(source="phone")
    user = models.OneToOneField(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="staff_record"
    )

    objects = StaffQuerySet.as_manager()

    class Meta:
        verbose_name = "教职工"
        ordering: ClassVar = ["school_id", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["id_number_hash", "school"], name="staff_unique_per_school"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ChangeKind(models.TextChoices):
    """学籍异动 and changes of family circumstance (seed 二(二)1)."""

    ENROLMENT = "enrolment", "建档入学"
    TRANSFER = "transfer", "区内转学"
    TRANSFER_OUT = "transfer_out", "转出"
    SUSPENSION = "suspension", "休学"
    RESUMPTION = "resumption", "复学"
    DROPOUT = "dropout", "退学"
    GRADUATION = "graduation", "毕业"
    DEATH = "death", "死亡"
    FAMILY_CHANGE = "family_change", "家庭情况变化"


# The ledger's diagram on one screen: which change may follow which status, and the status
# it leaves. None = the status does not change (a transfer keeps the student 在读).
_ANY_LIVE = frozenset({StudentStatus.ENROLLED, StudentStatus.SUSPENDED})
CHANGE_RULES: dict[str, tuple[frozenset[str], str | None]] = {
    ChangeKind.ENROLMENT: (frozenset(StudentStatus.values), StudentStatus.ENROLLED),
    ChangeKind.TRANSFER: (frozenset({StudentStatus.ENROLLED}), None),
    ChangeKind.TRANSFER_OUT: (_ANY_LIVE, StudentStatus.TRANSFERRED_OUT),
    ChangeKind.SUSPENSION: (frozenset({StudentStatus.ENROLLED}), StudentStatus.SUSPENDED),
    ChangeKind.RESUMPTION: (frozenset({StudentStatus.SUSPENDED}), StudentStatus.ENROLLED),
    ChangeKind.DROPOUT: (_ANY_LIVE, StudentStatus.DROPPED_OUT),
    ChangeKind.GRADUATION: (frozenset({StudentStatus.ENROLLED}), StudentStatus.GRADUATED),
    ChangeKind.DEATH: (
        frozenset(StudentStatus.values) - {StudentStatus.DECEASED},
        StudentStatus.DECEASED,
    ),
    ChangeKind.FAMILY_CHANGE: (frozenset(StudentStatus.values), None),
}


class ChangeSource(models.TextChoices):
    SCREEN = "screen", "经办人录入"
    IMPORT = "import", "学籍导入"


class StatusChangeQuerySet(models.QuerySet["StatusChange"]):
    def visible_to(self, actor: User, perm: str = "student:view") -> StatusChangeQuerySet:
        from zizhu.core.reach import scope_for

        return scope_for(actor, perm).filter(self, "student__school")


class StatusChange(models.Model):
    """One entry of the status-change ledger: the single source later steps read to end or
    adjust aid. Entries are never edited; a mistake is corrected by a further entry."""

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField("异动类型", max_length=20, choices=ChangeKind.choices)
    effective_on = models.DateField("生效日期", db_index=True)
    reason = models.CharField("原因", max_length=500)
    evidence = models.FileField("证明材料", upload_to="ledger/%Y/%m/", blank=True)
    from_school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status_before = models.CharField(max_length=20, choices=StudentStatus.choices, blank=True)
    status_after = models.CharField(max_length=20, choices=StudentStatus.choices)
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    register_import = models.ForeignKey(
        "RegisterImport", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        verbose_name = "学籍异动"
        ordering: ClassVar = ["student_id", "effective_on", "id"]
        indexes: ClassVar = [
            models.Index(fields=["student", "effective_on"], name="ledger_student_date_idx"),
            models.Index(fields=["kind", "effective_on"], name="ledger_kind_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.get_kind_display()} {self.effective_on}"


class RegisterImport(models.Model):
    """One register import (files of schools/students/guardians/staff) and what it did."""

    job = models.OneToOneField("core.Job", on_delete=models.PROTECT, related_name="register_import")
    files = models.JSONField("文件", default=list)  # [{kind, name, sha256, rows}]
    summary = models.JSONField("结果", default=dict)  # counts per kind: created/updated/…
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "学籍导入"
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"学籍导入 #{self.pk}"


class RegisterChange(models.Model):
    """What a re-import changed for one student: {field: [old, new]}, identifiers masked."""

    register_import = models.ForeignKey(
        RegisterImport, on_delete=models.CASCADE, related_name="changes"
    )
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    created = models.BooleanField(default=False)
    fields = models.JSONField(default=dict)

    class Meta:
        verbose_name = "导入变更"

    def __str__(self) -> str:
        return f"{self.student_id} {list(self.fields)}"
