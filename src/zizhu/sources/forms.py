"""Forms for department data: the upload, record search, and the pick of two versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.utils import timezone

from zizhu.core.forms import IdSearchMixin
from zizhu.sources.formats import FORMATS
from zizhu.sources.models import DatasetKind, DatasetVersion

_SUFFIXES = (".csv", ".xlsx")


def _kind_choices() -> list[tuple[str, str]]:
    return [(kind, f"{label}（{FORMATS[kind].department}）") for kind, label in DatasetKind.choices]


class DatasetUploadForm(forms.Form):
    kind = forms.ChoiceField(label="数据集", choices=_kind_choices)
    file = forms.FileField(
        label="文件（CSV 或 XLSX）",
        error_messages={"required": "请选择要上传的文件。", "empty": "上传的文件是空的。"},
    )
    as_of = forms.DateField(
        label="数据截止日期",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "请填写数据截止日期。", "invalid": "日期格式应为 2026-10-31。"},
    )
    department = forms.CharField(
        label="来源部门（可不填）",
        required=False,
        max_length=100,
        help_text="不填则按数据交换规范记为该数据集的主管部门。",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if Path(upload.name or "").suffix.lower() not in _SUFFIXES:
            raise forms.ValidationError("只能上传 CSV 或 XLSX（Excel）文件。")
        return upload

    def clean_as_of(self) -> Any:
        as_of = self.cleaned_data["as_of"]
        if as_of > timezone.localdate():
            raise forms.ValidationError("数据截止日期不能晚于今天。")
        return as_of


class RecordSearchForm(IdSearchMixin):
    """Search in a version's records. A typed ID number is POSTed and turned into its blind
    index (`idh`), which is all that ever reaches the address bar, logs or the database."""

    field_order = ("name", "id_number")

    name = forms.CharField(label="姓名", required=False, max_length=64)

    def query_params(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key in ("name", "idh") if self.cleaned_data[key]}


class VersionChoiceField(forms.ModelChoiceField[DatasetVersion]):
    def label_from_instance(self, obj: DatasetVersion) -> str:
        return f"第 {obj.number} 版（截至 {obj.as_of:%Y-%m-%d}，{obj.row_count} 行）"


class CompareForm(forms.Form):
    """Two versions of one dataset; `versions` are those the page lists."""

    old = VersionChoiceField(label="旧版本", queryset=DatasetVersion.objects.none())
    new = VersionChoiceField(label="新版本", queryset=DatasetVersion.objects.none())

    def __init__(self, *args: Any, versions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old"].queryset = versions  # type: ignore[attr-defined]
        self.fields["new"].queryset = versions  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("old") is not None and data.get("old") == data.get("new"):
            raise forms.ValidationError("请选择两个不同的版本进行比较。")
        return data
