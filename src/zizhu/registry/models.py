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
    grade = models.CharField("年级", max_length=20)
    class_name = models.CharField("班级", max_length=20, blank=True)
    boarder = models.BooleanField("寄宿", default=False)
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
        ordering: ClassVar = ["school_id", "grade", "class_name", "name"]
        indexes: ClassVar = [
            models.Index(fields=["school", "status"], name="student_school_status_idx"),
            models.Index(fields=["school", "grade", "class_name"], name="student_class_idx"),
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
