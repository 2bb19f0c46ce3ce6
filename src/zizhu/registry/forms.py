"""Forms of the register screens: student search, reveal, and the status-change ledger."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from zizhu.core.files import clean_evidence
from zizhu.core.forms import IdSearchMixin
from zizhu.core.models import OrgUnit
from zizhu.core.widgets import FastSelect, FastTextInput
from zizhu.registry.models import CHANGE_RULES, ChangeKind, Post, Student, StudentStatus

# Sort keys a person may pick; anything else falls back to the register's default order.
STUDENT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "school": ("school_id", "grade_rank", "class_name", "name", "pk"),
    "-school": ("-school_id", "grade_rank", "class_name", "name", "pk"),
    "grade": ("grade_rank", "class_name", "name", "pk"),
    "-grade": ("-grade_rank", "-class_name", "name", "pk"),
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


# The list filters that travel in the address bar, in the order they are written there.
STUDENT_QUERY_KEYS = ("name", "idh", "school", "grade", "class_name", "status", "sort")


class SchoolChoiceField(forms.ModelChoiceField[OrgUnit]):
    widget = FastSelect

    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


class StudentSearchForm(IdSearchMixin):
    """Filters of the student list and export. `schools` are the ones within reach.

    An ID number typed into `id_number` arrives by POST only; the list answers with a
    redirect whose address carries its blind index (`idh`) instead, so the clear number
    never lands in browser history, proxy logs or Referer headers (architecture.md,
    "Personal data").
    """

    field_order = ("name", "id_number")

    name = forms.CharField(
        label="姓名",
        required=False,
        max_length=64,
        help_text="按姓名开头查找，可只输入姓氏",
        widget=FastTextInput,
    )
    school = SchoolChoiceField(
        label="学校", queryset=OrgUnit.objects.none(), required=False, empty_label="全部学校"
    )
    grade = forms.CharField(label="年级", required=False, max_length=20, widget=FastTextInput)
    class_name = forms.CharField(label="班级", required=False, max_length=20, widget=FastTextInput)
    status = forms.ChoiceField(
        widget=FastSelect,
        label="学籍状态",
        required=False,
        choices=[("", "全部状态"), *StudentStatus.choices],
    )
    sort = forms.ChoiceField(label="排序", required=False, choices=SORT_CHOICES, widget=FastSelect)

    def __init__(self, *args: Any, schools: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]

    def query_params(self) -> dict[str, str]:
        """The valid filters as address-bar parameters: the ID number only as its `idh`."""
        params: dict[str, str] = {}
        for key in STUDENT_QUERY_KEYS:
            value = self.cleaned_data.get(key)
            if isinstance(value, OrgUnit):
                value = value.pk
            if value:
                params[key] = str(value)
        return params


class StaffSearchForm(forms.Form):
    name = forms.CharField(
        label="姓名", required=False, max_length=64, help_text="按姓名开头查找，可只输入姓氏"
    )
    school = SchoolChoiceField(
        label="学校", queryset=OrgUnit.objects.none(), required=False, empty_label="全部学校"
    )
    post = forms.ChoiceField(
        widget=FastSelect, label="岗位", required=False, choices=[("", "全部岗位"), *Post.choices]
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


# --- status-change ledger (学籍异动) -------------------------------------------------------


def allowed_change_kinds(student: Student) -> list[tuple[str, str]]:
    """The kinds CHANGE_RULES allows from the student's status. 建档入学 is left out: it is
    written when a register import creates the student, never from this screen."""
    return [
        (kind, label)
        for kind, label in ChangeKind.choices
        if kind != ChangeKind.ENROLMENT and student.status in CHANGE_RULES[kind][0]
    ]


class TransferSchoolField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        town = obj.parent.name if obj.parent else ""
        return f"{town} · {obj.name}（{obj.code}）" if town else f"{obj.name}（{obj.code}）"


class StatusChangeForm(forms.Form):
    """One ledger entry. Checked again by `record_status_change`, which has the last word;
    the checks here only let the confirmation step show what the service would refuse."""

    kind = forms.ChoiceField(
        label="异动类型",
        error_messages={
            "required": "请选择异动类型。",
            "invalid_choice": "该生当前学籍状态下不能登记这类异动，请重新选择。",
        },
    )
    effective_on = forms.DateField(
        label="生效日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "请填写生效日期。",
            "invalid": "请按“年-月-日”填写生效日期，如 2026-03-01。",
        },
    )
    reason = forms.CharField(
        label="异动原因",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写异动原因。"},
    )
    to_school = TransferSchoolField(
        label="转入学校（仅区内转学填写）",
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label="请选择转入学校",
        error_messages={"invalid_choice": "所选转入学校无效，请重新选择。"},
    )
    evidence = forms.FileField(
        label="证明材料",
        required=False,
        error_messages={"empty": "上传的证明材料是空文件，请重新选择。"},
    )

    def __init__(self, *args: Any, student: Student, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.student = student
        kinds = [("", "请选择异动类型"), *allowed_change_kinds(student)]
        self.fields["kind"].choices = kinds  # type: ignore[attr-defined]
        # A transfer within the district may go to any active school of the district, in or
        # out of the officer's reach (issue 3), so this list is deliberately not scoped.
        self.fields["to_school"].queryset = (  # type: ignore[attr-defined]
            OrgUnit.objects.schools()
            .filter(active=True)
            .exclude(pk=student.school_id)
            .select_related("parent")
            .order_by("parent__code", "code")
        )
        self.fields["effective_on"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_effective_on(self) -> date:
        effective_on: date = self.cleaned_data["effective_on"]
        if effective_on > timezone.localdate():
            raise forms.ValidationError("生效日期不能晚于今天：异动须在发生后登记。")
        return effective_on

    def clean_evidence(self) -> UploadedFile | None:
        return clean_evidence(self.cleaned_data.get("evidence"), label="证明材料")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == ChangeKind.TRANSFER:
            if not data.get("to_school") and "to_school" not in self.errors:
                self.add_error("to_school", "区内转学须选择转入学校。")
        else:
            data["to_school"] = None
        return data

    def status_after(self) -> str:
        """The status the change leaves, read from CHANGE_RULES, for the confirmation."""
        after = CHANGE_RULES[self.cleaned_data["kind"]][1]
        return after or self.student.status

    def only_evidence_is_wrong(self) -> bool:
        return set(self.errors) == {"evidence"}
