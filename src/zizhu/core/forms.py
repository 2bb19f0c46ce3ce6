"""Forms for the org-unit, certification and user-management pages.

Forms only parse and check input shape; the rules live in the services they feed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from zizhu.core.crypto import Sensitive, blind_index
from zizhu.core.errors import InvalidIdNumber
from zizhu.core.idnumbers import parse_id_number
from zizhu.core.models import OrgUnit, Role, Stage, User

_EMPTY = [("", "全部")]


def _model_field(form: forms.Form, name: str) -> forms.ModelChoiceField[Any]:
    """A choice field whose queryset depends on the actor's reach, set per request."""
    return cast("forms.ModelChoiceField[Any]", form.fields[name])


class UnitChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{obj.get_kind_display()} · {obj.name}（{obj.code}）"


class UserChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


# --- lists ----------------------------------------------------------------------------


class UnitFilterForm(forms.Form):
    q = forms.CharField(label="名称或代码", required=False, max_length=100)
    town = forms.ModelChoiceField(
        label="街镇", queryset=OrgUnit.objects.none(), required=False, empty_label="全部"
    )
    stage = forms.ChoiceField(label="学段", choices=_EMPTY + list(Stage.choices), required=False)

    def __init__(self, *args: Any, towns: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_field(self, "town").queryset = towns


class CertificateState:
    """The filter values of the certificate list (computed from dates, not stored)."""

    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REVOKED = "revoked"
    CHOICES = (
        (VALID, "有效"),
        (EXPIRING, "60 天内到期"),
        (EXPIRED, "已过期"),
        (REVOKED, "已吊销"),
    )


class CertificationFilterForm(forms.Form):
    q = forms.CharField(label="姓名或证书编号", required=False, max_length=64)
    state = forms.ChoiceField(
        label="状态", choices=_EMPTY + list(CertificateState.CHOICES), required=False
    )


class UserFilterForm(forms.Form):
    q = forms.CharField(label="用户名或姓名", required=False, max_length=64)
    role = forms.ChoiceField(label="角色", choices=_EMPTY + list(Role.choices), required=False)


# --- certification --------------------------------------------------------------------


class CertificationForm(forms.Form):
    holder = UserChoiceField(label="持证人", queryset=User.objects.none(), empty_label="请选择")
    number = forms.CharField(label="证书编号", max_length=40)
    issued_on = forms.DateField(label="发证日期", widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(label="有效期至", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, holders: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_field(self, "holder").queryset = holders

    def clean_number(self) -> str:
        return str(self.cleaned_data["number"]).strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        issued_on: date | None = data.get("issued_on")
        expires_on: date | None = data.get("expires_on")
        if issued_on and expires_on and expires_on <= issued_on:
            self.add_error("expires_on", "有效期至必须晚于发证日期。")
        return data


class RevokeCertificationForm(forms.Form):
    reason = forms.CharField(
        label="吊销原因",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写吊销原因。"},
    )
    confirm = forms.BooleanField(
        label="我已核实，确认吊销该上岗证。吊销后不能恢复，持证人将不能再进行审核、审批或核实。",
        error_messages={"required": "请勾选确认后再吊销。"},
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError("请填写吊销原因。")
        return reason


# --- users ----------------------------------------------------------------------------


class NewPasswordForm(forms.Form):
    password = forms.CharField(label="密码", widget=forms.PasswordInput, strip=False)
    confirm = forms.CharField(label="再次输入密码", widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("confirm"):
            self.add_error("confirm", "两次输入的密码不一致。")
        return data


class UserCreateForm(NewPasswordForm):
    username = forms.CharField(label="用户名", max_length=64)
    full_name = forms.CharField(label="姓名", max_length=64)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    role = forms.ChoiceField(
        label="岗位（可选）", choices=[("", "暂不分配"), *Role.choices], required=False
    )
    org_unit = UnitChoiceField(
        label="所在单位", queryset=OrgUnit.objects.none(), required=False, empty_label="暂不分配"
    )

    field_order = ("username", "full_name", "phone", "password", "confirm", "role", "org_unit")

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_field(self, "org_unit").queryset = units

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("role")) != bool(data.get("org_unit")):
            self.add_error("org_unit", "分配岗位时，岗位和所在单位须同时选择。")
        return data


class AssignmentForm(forms.Form):
    role = forms.ChoiceField(label="岗位", choices=Role.choices)
    org_unit = UnitChoiceField(
        label="所在单位", queryset=OrgUnit.objects.none(), empty_label="请选择"
    )

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_field(self, "org_unit").queryset = units


_BLIND_INDEX = re.compile(r"[0-9a-f]{64}")


class IdSearchMixin(forms.Form):
    """A search by full ID number that never carries the number further than this form: it
    is POSTed, checked, and turned into its blind index (`idh`), which is all that reaches
    the address bar, logs or the database (architecture.md, "Personal data")."""

    id_number = forms.CharField(label="身份证号", required=False, max_length=32)
    idh = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean_id_number(self) -> str:
        raw: str = self.cleaned_data["id_number"].strip()
        if not raw:
            return ""
        try:
            return parse_id_number(raw).value
        except InvalidIdNumber as error:
            raise forms.ValidationError(error.message) from None

    def clean_idh(self) -> str:
        value: str = self.cleaned_data["idh"].strip().lower()
        if value and not _BLIND_INDEX.fullmatch(value):
            raise forms.ValidationError("身份证号查询条件已失效，请重新输入身份证号查询。")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number = data.pop("id_number", "")
        if number:
            data["idh"] = blind_index(number, Sensitive.ID_NUMBER)
        return data
