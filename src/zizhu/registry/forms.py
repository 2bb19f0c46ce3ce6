"""Search and reveal forms for the register screens."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from zizhu.core.errors import InvalidIdNumber
from zizhu.core.idnumbers import parse_id_number
from zizhu.core.models import OrgUnit
from zizhu.registry.models import Post, StudentStatus

# Sort keys a person may pick; anything else falls back to the register's default order.
STUDENT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "school": ("school__code", "grade", "class_name", "name", "pk"),
    "-school": ("-school__code", "grade", "class_name", "name", "pk"),
    "grade": ("grade", "class_name", "name", "pk"),
    "-grade": ("-grade", "-class_name", "name", "pk"),
}

SORT_CHOICES = [
    ("", "默认排序"),
    ("name", "姓名（升序）"),
    ("-name", "姓名（降序）"),
    ("school", "学校（升序）"),
    ("-school", "学校（降序）"),
    ("grade", "年级（升序）"),
    ("-grade", "年级（降序）"),
]


class SchoolChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


class StudentSearchForm(forms.Form):
    """GET filters of the student list and export. `schools` are the ones within reach."""

    name = forms.CharField(label="姓名", required=False, max_length=64)
    id_number = forms.CharField(label="身份证号", required=False, max_length=32)
    school = SchoolChoiceField(
        label="学校", queryset=OrgUnit.objects.none(), required=False, empty_label="全部学校"
    )
    grade = forms.CharField(label="年级", required=False, max_length=20)
    class_name = forms.CharField(label="班级", required=False, max_length=20)
    status = forms.ChoiceField(
        label="学籍状态", required=False, choices=[("", "全部状态"), *StudentStatus.choices]
    )
    sort = forms.ChoiceField(label="排序", required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, schools: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]

    def clean_id_number(self) -> str:
        raw: str = self.cleaned_data["id_number"].strip()
        if not raw:
            return ""
        try:
            return parse_id_number(raw).value
        except InvalidIdNumber as error:
            raise forms.ValidationError(error.message) from None


class StaffSearchForm(forms.Form):
    name = forms.CharField(label="姓名", required=False, max_length=64)
    school = SchoolChoiceField(
        label="学校", queryset=OrgUnit.objects.none(), required=False, empty_label="全部学校"
    )
    post = forms.ChoiceField(
        label="岗位", required=False, choices=[("", "全部岗位"), *Post.choices]
    )

    def __init__(self, *args: Any, schools: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


STUDENT_REVEAL_FIELDS = ("id_number", "phone", "bank_account", "card_holder_id")
_GUARDIAN_FIELD = re.compile(r"^guardian:(?P<pk>\d{1,18}):(?P<attr>id_number|phone)$")


class RevealForm(forms.Form):
    """Which identifier to show in full, and why (the reason goes into the access log)."""

    field = forms.CharField(max_length=64)
    reason = forms.CharField(
        label="查看事由",
        max_length=200,
        error_messages={"required": "查看完整信息必须填写事由。"},
    )

    def clean_field(self) -> str:
        value: str = self.cleaned_data["field"]
        if value not in STUDENT_REVEAL_FIELDS and not _GUARDIAN_FIELD.match(value):
            raise forms.ValidationError("无法识别要查看的信息项，请从学生页面重新操作。")
        return value

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("查看完整信息必须填写事由。")
        return reason

    def guardian_target(self) -> tuple[int, str] | None:
        """(guardian pk, attribute) when a guardian's identifier was asked for."""
        match = _GUARDIAN_FIELD.match(self.cleaned_data["field"])
        if match is None:
            return None
        return int(match["pk"]), match["attr"]
