"""Other departments' datasets (部门比对数据), each import a new version with provenance.

Records keep no clear ID numbers: the person's (and any related person's, e.g. 户主) ID is
stored as the same blind index the register uses, so cross-checks join on hashes, plus a
masked form for people reading a record (architecture.md, "Personal data").
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from zizhu.core.models import Job, User


class DatasetKind(models.TextChoices):
    CIVIL_AFFAIRS = "civil_affairs", "民政救助对象"
    RURAL_REVITALIZATION = "rural_revitalization", "防返贫监测"
    DISABILITY = "disability", "残疾人"
    MARTYRS_CHILDREN = "martyrs_children", "烈士子女"
    HOUSEHOLD = "household", "户籍"
    DEATHS = "deaths", "死亡注销"
    VEHICLES = "vehicles", "机动车"
    BUSINESSES = "businesses", "市场主体"
    SOCIAL_INSURANCE = "social_insurance", "社保参保"
    CADRES = "cadres", "领导干部"
    PUBLIC_PAYROLL = "public_payroll", "财政供养人员"
    VILLAGE_CADRES = "village_cadres", "村社区干部"


class DatasetVersion(models.Model):
    """One import of one dataset: provenance (exchange-formats.md, "Common rules")."""

    kind = models.CharField("数据集", max_length=32, choices=DatasetKind.choices)
    number = models.PositiveIntegerField("版本号")
    department = models.CharField("来源部门", max_length=100)
    as_of = models.DateField("数据截止日期")
    file_name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField(max_length=64)
    row_count = models.PositiveIntegerField("行数")
    imported_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField("导入时间", default=timezone.now)
    job = models.OneToOneField(
        Job, on_delete=models.PROTECT, null=True, blank=True, related_name="dataset_version"
    )

    class Meta:
        verbose_name = "数据集版本"
        ordering: ClassVar = ["kind", "-number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["kind", "number"], name="datasetversion_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} 第{self.number}版"


class DatasetRecord(models.Model):
    """One row of a dataset version. `attrs` holds the other columns by English key."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="records")
    row_number = models.PositiveIntegerField("行号")
    person_hash = models.CharField(max_length=64)
    person_masked = models.CharField("身份证号", max_length=18)
    name = models.CharField("姓名", max_length=64)
    # The related person for datasets that name one: 户主 (civil affairs, rural revitalisation).
    related_hash = models.CharField(max_length=64, blank=True)
    attrs = models.JSONField(default=dict)

    class Meta:
        verbose_name = "数据集记录"
        indexes: ClassVar = [
            models.Index(fields=["version", "person_hash"], name="record_version_person_idx"),
            models.Index(fields=["person_hash"], name="record_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.person_masked})"
