"""Configuration screens of the district centre: school years and semesters, categories,
tiers, programmes, standards and quotas (issue 4, "Configuration").

Every page needs a district-level `aid:configure` role (`require_configure`): a school
officer gets 403. Forms only parse; the services in `aid.services.config` decide and audit.
Anything that removes data (a tier, a standard or quota cell) or switches a programme off
asks for confirmation first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from zizhu.aid.models import (
    DifficultyTier,
    HardshipCategory,
    PaymentRhythm,
    Programme,
    Quota,
    SchoolYear,
    Semester,
    Standard,
    Term,
)
from zizhu.aid.services import config as services
from zizhu.aid.services.config import ProgrammeData, TermDates
from zizhu.core.errors import DomainError
from zizhu.core.http import actor_of, xlsx_response
from zizhu.core.models import OrgUnit, Stage
from zizhu.sources.models import DatasetKind

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_DATE_ERRORS = {"required": "请填写日期。", "invalid": "请按“年-月-日”填写日期，如 2026-09-01。"}


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(label=label, widget=_DATE, error_messages=_DATE_ERRORS)


# --- forms --------------------------------------------------------------------------------


class SchoolYearForm(forms.Form):
    code = forms.CharField(
        label="学年（如 2026-2027）", max_length=9, error_messages={"required": "请填写学年。"}
    )
    starts_on = _date_field("学年开始日期")
    ends_on = _date_field("学年结束日期")
    autumn_starts = _date_field("秋季学期开始")
    autumn_ends = _date_field("秋季学期结束")
    spring_starts = _date_field("春季学期开始")
    spring_ends = _date_field("春季学期结束")

    def terms(self) -> dict[str, TermDates]:
        data = self.cleaned_data
        return {
            Term.AUTUMN: TermDates(data["autumn_starts"], data["autumn_ends"]),
            Term.SPRING: TermDates(data["spring_starts"], data["spring_ends"]),
        }


_VALUE_SPLIT = re.compile(r"[,，、/;；]")
_KEY_SPLIT = re.compile(r"[=＝:：]")


def parse_criteria(text: str, kind: str) -> dict[str, list[str]]:
    """One condition per line, `字段=取值1、取值2`. The field may be the Chinese header or
    the English key, as in the exchange files themselves."""
    by_header = {header: key for key, header in services.criteria_columns(kind).items()}
    criteria: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = _KEY_SPLIT.split(line, maxsplit=1)
        if len(parts) != 2 or not parts[0].strip():
            raise forms.ValidationError(f"第 {number} 行应写作“字段=取值”，如“状态=在册”。")
        field = parts[0].strip()
        values = [v.strip() for v in _VALUE_SPLIT.split(parts[1]) if v.strip()]
        criteria.setdefault(by_header.get(field, field), []).extend(values)
    return criteria


def criteria_text(category: HardshipCategory, separator: str = "\n") -> str:
    headers = services.criteria_columns(category.dataset_kind)
    return separator.join(
        f"{headers.get(key, key)}={'、'.join(values)}" for key, values in category.criteria.items()
    )


class CategoryForm(forms.Form):
    name = forms.CharField(
        label="类别名称", max_length=60, error_messages={"required": "请填写类别名称。"}
    )
    department = forms.CharField(label="认定部门", max_length=60, required=False)
    dataset_kind = forms.ChoiceField(
        label="比对数据集",
        required=False,
        choices=[("", "不比对部门数据"), *DatasetKind.choices],
    )
    criteria = forms.CharField(
        label="有效记录条件（每行一条，如“状态=在册”；多个取值用顿号分隔；留空表示数据集中任一记录）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["criteria"] = parse_criteria(
                data.get("criteria", ""), data.get("dataset_kind", "")
            )
        except forms.ValidationError as error:
            self.add_error("criteria", error)
        return data


class TierForm(forms.Form):
    code = forms.CharField(
        label="代码（小写英文，如 special）",
        max_length=20,
        error_messages={"required": "请填写代码。"},
    )
    name = forms.CharField(
        label="困难等级名称", max_length=20, error_messages={"required": "请填写名称。"}
    )
    rank = forms.IntegerField(
        label="顺序（1 表示最困难）",
        min_value=1,
        error_messages={
            "required": "请填写顺序。",
            "invalid": "顺序应为正整数。",
            "min_value": "顺序应从 1 开始。",
        },
    )


class ProgrammeForm(forms.Form):
    code = forms.CharField(label="项目代码（大写英文，如 HS_STIPEND）", max_length=32)
    name = forms.CharField(label="资助项目名称", max_length=60)
    stages = forms.MultipleChoiceField(
        label="适用学段",
        choices=Stage.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一个适用学段。"},
    )
    grades = forms.CharField(
        label="适用年级（多个用顿号分隔，留空表示所有年级）", max_length=200, required=False
    )
    rhythm = forms.ChoiceField(label="发放方式", choices=PaymentRhythm.choices)
    boarders_only = forms.BooleanField(label="仅限寄宿生", required=False)
    non_boarder_ratio = forms.DecimalField(
        label="非寄宿生比例（0–1，如 0.5 表示按标准的 50% 发放；1 表示不区分）",
        max_digits=4,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(1),
        error_messages={
            "required": "请填写非寄宿生比例。",
            "invalid": "非寄宿生比例应为数字，如 0.5。",
            "min_value": "非寄宿生比例不能小于 0。",
            "max_value": "非寄宿生比例不能大于 1。",
            "max_decimal_places": "非寄宿生比例最多保留两位小数。",
            "max_digits": "非寄宿生比例应在 0 到 1 之间。",
        },
    )
    excludes = forms.ModelMultipleChoiceField(
        label="互斥项目（同一学生同一学年不能同时享受）",
        queryset=Programme.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, programme: Programme | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        others = Programme.objects.order_by("code")
        if programme is not None:
            others = others.exclude(pk=programme.pk)
        self.fields["excludes"].queryset = others  # type: ignore[attr-defined]
        for name in ("code", "name"):
            self.fields[name].error_messages["required"] = f"请填写{self.fields[name].label}。"

    def data_for_service(self) -> ProgrammeData:
        data = self.cleaned_data
        return ProgrammeData(
            code=data["code"],
            name=data["name"],
            stages=data["stages"],
            grades=[g for g in _VALUE_SPLIT.split(data["grades"]) if g.strip()],
            rhythm=data["rhythm"],
            boarders_only=data["boarders_only"],
            non_boarder_ratio=data["non_boarder_ratio"],
            excludes=list(data["excludes"]),
        )


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label="我已核对，确认执行。", error_messages={"required": "请勾选确认后再提交。"}
    )


# --- shared -------------------------------------------------------------------------------


def posted(request: HttpRequest) -> Any:
    """The POST data for a bound form, even when empty (an empty tick box still refuses)."""
    return request.POST if request.method == "POST" else None


def _years() -> QuerySet[SchoolYear]:
    return SchoolYear.objects.order_by("-code")


def chosen_year(request: HttpRequest) -> SchoolYear | None:
    """The year named in the query, else the current one, else the newest."""
    raw = request.GET.get("year", "")
    if raw.isdigit():
        year = SchoolYear.objects.filter(pk=raw).first()
        if year is not None:
            return year
    return SchoolYear.objects.filter(current=True).first() or _years().first()


def _chosen_programme(request: HttpRequest) -> Programme | None:
    raw = request.GET.get("programme", "")
    programmes = Programme.objects.order_by("code")
    found = programmes.filter(pk=raw).first() if raw.isdigit() else None
    return found or programmes.filter(active=True).first()


def _form_page(
    request: HttpRequest, form: forms.Form, *, title: str, back: str, intro: str = ""
) -> HttpResponse:
    return render(
        request,
        "aid/config_form.html",
        {"form": form, "title": title, "back": back, "intro": intro},
    )


def _confirm_page(
    request: HttpRequest, form: ConfirmForm, *, title: str, facts: list[tuple[str, str]], back: str
) -> HttpResponse:
    return render(
        request,
        "aid/config_confirm.html",
        {"form": form, "title": title, "facts": facts, "back": back},
    )


# --- home ---------------------------------------------------------------------------------


@require_GET
def config_home(request: HttpRequest) -> HttpResponse:
    services.require_configure(actor_of(request))
    return render(
        request,
        "aid/config_home.html",
        {
            "current": SchoolYear.objects.filter(current=True).first(),
            "counts": {
                "years": SchoolYear.objects.count(),
                "categories": HardshipCategory.objects.count(),
                "tiers": DifficultyTier.objects.count(),
                "programmes": Programme.objects.filter(active=True).count(),
            },
        },
    )


# --- school years -------------------------------------------------------------------------


@require_GET
def config_years(request: HttpRequest) -> HttpResponse:
    services.require_configure(actor_of(request))
    years = list(_years().prefetch_related("semesters"))
    return render(request, "aid/config_years.html", {"years": years})


def _year_initial(year: SchoolYear) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "code": year.code,
        "starts_on": year.starts_on,
        "ends_on": year.ends_on,
    }
    for semester in Semester.objects.filter(school_year=year):
        prefix = "autumn" if semester.term == Term.AUTUMN else "spring"
        initial[f"{prefix}_starts"] = semester.starts_on
        initial[f"{prefix}_ends"] = semester.ends_on
    return initial


@require_http_methods(["GET", "POST"])
def config_year_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = actor_of(request)
    services.require_configure(actor)
    year = get_object_or_404(SchoolYear, pk=pk) if pk is not None else None
    initial = _year_initial(year) if year else None
    form = SchoolYearForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.save_school_year(
                year,
                actor=actor,
                code=data["code"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                terms=form.terms(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已保存{saved}及其学期设置。")
            return redirect("aid:config_years")
    title = f"修改{year}" if year else "新增学年"
    return _form_page(
        request,
        form,
        title=title,
        back=reverse("aid:config_years"),
        intro="学期须在学年起止日期之内，秋季学期在前、春季学期在后（每学年秋季评定，春季动态复核）。",
    )


@require_http_methods(["GET", "POST"])
def config_year_current(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    services.require_configure(actor)
    year = get_object_or_404(SchoolYear, pk=pk)
    form = ConfirmForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.set_current_school_year(year, actor=actor)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已将{year}设为当前学年。")
            return redirect("aid:config_years")
    current = SchoolYear.objects.filter(current=True).first()
    facts = [("原当前学年", str(current) if current else "未设置"), ("新当前学年", str(year))]
    return _confirm_page(
        request, form, title="设置当前学年", facts=facts, back=reverse("aid:config_years")
    )


# --- categories ---------------------------------------------------------------------------


@require_GET
def config_categories(request: HttpRequest) -> HttpResponse:
    services.require_configure(actor_of(request))
    rows = [
        (category, criteria_text(category, "；"), _dataset_label(category.dataset_kind))
        for category in HardshipCategory.objects.order_by("number")
    ]
    return render(request, "aid/config_categories.html", {"rows": rows})


def _dataset_label(kind: str) -> str:
    return str(DatasetKind(kind).label) if kind in DatasetKind.values else ""


@require_http_methods(["GET", "POST"])
def config_category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    services.require_configure(actor)
    category = get_object_or_404(HardshipCategory, pk=pk)
    initial = {
        "name": category.name,
        "department": category.department,
        "dataset_kind": category.dataset_kind,
        "criteria": criteria_text(category),
    }
    form = CategoryForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_category(
                category,
                actor=actor,
                name=data["name"],
                department=data["department"],
                dataset_kind=data["dataset_kind"],
                criteria=data["criteria"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已保存{category}。")
            return redirect("aid:config_categories")
    intro = (
        "第1–6类依据所选部门数据集的最新版本直接认定；条件字段用数据格式中的列名。"
        if category.number != services.VISIT_CATEGORY
        else "第7类须经家访或邻里走访及评议小组评议认定，不设比对数据集。"
    )
    return _form_page(
        request, form, title=f"修改{category}", back=reverse("aid:config_categories"), intro=intro
    )


# --- tiers --------------------------------------------------------------------------------


@require_GET
def config_tiers(request: HttpRequest) -> HttpResponse:
    services.require_configure(actor_of(request))
    return render(request, "aid/config_tiers.html", {"tiers": DifficultyTier.objects.all()})


@require_http_methods(["GET", "POST"])
def config_tier_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = actor_of(request)
    services.require_configure(actor)
    tier = get_object_or_404(DifficultyTier, pk=pk) if pk is not None else None
    initial = {"code": tier.code, "name": tier.name, "rank": tier.rank} if tier else None
    form = TierForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.save_tier(
                tier, actor=actor, code=data["code"], name=data["name"], rank=data["rank"]
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已保存困难等级“{saved.name}”。")
            return redirect("aid:config_tiers")
    title = f"修改困难等级“{tier.name}”" if tier else "新增困难等级"
    return _form_page(request, form, title=title, back=reverse("aid:config_tiers"))


@require_http_methods(["GET", "POST"])
def config_tier_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    services.require_configure(actor)
    tier = get_object_or_404(DifficultyTier, pk=pk)
    form = ConfirmForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.delete_tier(tier, actor=actor)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已删除困难等级“{tier.name}”。")
            return redirect("aid:config_tiers")
    facts = [("困难等级", tier.name), ("代码", tier.code), ("顺序", str(tier.rank))]
    return _confirm_page(
        request, form, title="删除困难等级", facts=facts, back=reverse("aid:config_tiers")
    )


# --- programmes ---------------------------------------------------------------------------


@require_GET
def config_programmes(request: HttpRequest) -> HttpResponse:
    services.require_configure(actor_of(request))
    programmes = Programme.objects.order_by("-active", "code").prefetch_related("excludes")
    return render(request, "aid/config_programmes.html", {"programmes": programmes})


def _programme_initial(programme: Programme) -> dict[str, Any]:
    return {
        "code": programme.code,
        "name": programme.name,
        "stages": programme.stages,
        "grades": "、".join(programme.grades),
        "rhythm": programme.rhythm,
        "boarders_only": programme.boarders_only,
        "non_boarder_ratio": programme.non_boarder_ratio,
        "excludes": list(programme.excludes.all()),
    }


@require_http_methods(["GET", "POST"])
def config_programme_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = actor_of(request)
    services.require_configure(actor)
    programme = get_object_or_404(Programme, pk=pk) if pk is not None else None
    initial = _programme_initial(programme) if programme else {"non_boarder_ratio": 1}
    form = ProgrammeForm(posted(request), initial=initial, programme=programme)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_programme(programme, actor=actor, data=form.data_for_service())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已保存资助项目“{saved.name}”。")
            return redirect("aid:config_programmes")
    title = f"修改资助项目“{programme.name}”" if programme else "新增资助项目"
    return _form_page(
        request,
        form,
        title=title,
        back=reverse("aid:config_programmes"),
        intro="互斥关系是双向的：勾选 A 与 B 互斥后，B 也与 A 互斥。",
    )


@require_http_methods(["GET", "POST"])
def config_programme_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (or reactivate) a programme, after confirmation; never delete it."""
    actor = actor_of(request)
    services.require_configure(actor)
    programme = get_object_or_404(Programme, pk=pk)
    activate = not programme.active
    form = ConfirmForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.set_programme_active(programme, actor=actor, active=activate)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已{'启用' if activate else '停用'}“{programme.name}”。")
            return redirect("aid:config_programmes")
    facts = [
        ("资助项目", programme.name),
        ("操作", "重新启用" if activate else "停用（已有申请和资助不受影响，不能再新建申请）"),
    ]
    title = "启用资助项目" if activate else "停用资助项目"
    return _confirm_page(
        request, form, title=title, facts=facts, back=reverse("aid:config_programmes")
    )


# --- standards ----------------------------------------------------------------------------


@dataclass
class GridCell:
    name: str
    value: str
    error: str = ""
    removed: bool = False


@dataclass
class GridRow:
    label: str
    cells: list[GridCell]


def _stage_label(stage: str) -> str:
    return stage or "各学段通用"


def _standard_values(programme: Programme, year: SchoolYear) -> tuple[dict[Any, Decimal], bool]:
    """The year's standards by (tier, stage); a year without any shows the previous year's
    as a starting point (flagged), since standards mostly carry over."""
    own = Standard.objects.filter(programme=programme, school_year=year)
    values = {(s.tier_id, s.stage): s.annual_amount for s in own}
    if values:
        return values, False
    earlier = (
        Standard.objects.filter(programme=programme, school_year__code__lt=year.code)
        .order_by("-school_year__code")
        .values_list("school_year_id", flat=True)
        .first()
    )
    if earlier is None:
        return {}, False
    previous = Standard.objects.filter(programme=programme, school_year_id=earlier)
    return {(s.tier_id, s.stage): s.annual_amount for s in previous}, True


@dataclass
class StandardGrid:
    headers: list[str]
    rows: list[GridRow]
    parsed: dict[tuple[int, str], Decimal | None]
    ok: bool = True
    carried: bool = False  # showing the previous year's standards as a starting point


def _standard_grid(programme: Programme, year: SchoolYear, posted: Any = None) -> StandardGrid:
    stages = services.standard_stages(programme)
    saved = set(
        Standard.objects.filter(programme=programme, school_year=year).values_list(
            "tier_id", "stage"
        )
    )
    shown, carried = _standard_values(programme, year)
    grid = StandardGrid([_stage_label(s) for s in stages], [], {}, carried=carried)
    for tier in DifficultyTier.objects.order_by("rank"):
        cells = []
        for index, stage in enumerate(stages):
            cell = GridCell(f"amount-{tier.pk}-{index}", _money(shown.get((tier.pk, stage))))
            if posted is not None:
                _parse_cell(cell, posted, grid, (tier.pk, stage), saved)
            cells.append(cell)
        grid.rows.append(GridRow(tier.name, cells))
    return grid


def _parse_cell(
    cell: GridCell, posted: Any, grid: StandardGrid, key: tuple[int, str], saved: set[Any]
) -> None:
    cell.value = posted.get(cell.name, "").strip()
    try:
        grid.parsed[key] = services.parse_amount(cell.value) if cell.value else None
    except DomainError as error:
        cell.error, grid.ok = error.message, False
    cell.removed = not cell.value and key in saved


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _grid_url(name: str, year: SchoolYear, programme: Programme) -> str:
    return f"{reverse(name)}?year={year.pk}&programme={programme.pk}"


@require_http_methods(["GET", "POST"])
def config_standards(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    services.require_configure(actor)
    year, programme = chosen_year(request), _chosen_programme(request)
    if year is None or programme is None:
        return render(request, "aid/config_standards.html", {"missing": True})
    posted = request.POST if request.method == "POST" else None
    grid = _standard_grid(programme, year, posted)
    removals = [cell for row in grid.rows for cell in row.cells if cell.removed]
    confirmed = request.POST.get("confirm_removal") == "1"
    error = ""
    if posted is not None and grid.ok and (not removals or confirmed):
        try:
            result = services.set_standards(
                programme,
                actor=actor,
                school_year=year,
                amounts=grid.parsed,
                allow_removal=confirmed,
            )
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, f"已保存资助标准（{result['changed']} 项有变化）。")
            return redirect(_grid_url("aid:config_standards", year, programme))
    return render(
        request,
        "aid/config_standards.html",
        {
            "year": year,
            "programme": programme,
            "years": _years(),
            "programmes": Programme.objects.order_by("-active", "code"),
            "grid": grid,
            "carried": posted is None and grid.carried,
            "removals": removals if posted is not None else [],
            "error": error,
        },
    )


# --- quotas -------------------------------------------------------------------------------


@dataclass
class QuotaRow:
    school: OrgUnit
    cell: GridCell


def _quota_rows(
    programme: Programme, year: SchoolYear, posted: Any = None
) -> tuple[list[QuotaRow], dict[int, int | None], bool]:
    saved = dict(
        Quota.objects.filter(programme=programme, school_year=year).values_list(
            "school_id", "places"
        )
    )
    fill = (posted.get("fill_all", "") if posted is not None else "").strip()
    rows, parsed, ok = [], {}, True
    for school in services.quota_schools(programme):
        value = saved.get(school.pk)
        cell = GridCell(f"places-{school.pk}", "" if value is None else str(value))
        if posted is not None:
            cell.value = fill or posted.get(cell.name, "").strip()
            if cell.value and not cell.value.isdigit():
                cell.error, ok = "名额应为不小于 0 的整数。", False
            else:
                parsed[school.pk] = int(cell.value) if cell.value else None
            cell.removed = not cell.value and school.pk in saved
        rows.append(QuotaRow(school, cell))
    return rows, parsed, ok


@require_http_methods(["GET", "POST"])
def config_quotas(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    services.require_configure(actor)
    year, programme = chosen_year(request), _chosen_programme(request)
    if year is None or programme is None:
        return render(request, "aid/config_quotas.html", {"missing": True})
    posted = request.POST if request.method == "POST" else None
    rows, parsed, ok = _quota_rows(programme, year, posted)
    removals = [row for row in rows if row.cell.removed]
    confirmed = request.POST.get("confirm_removal") == "1"
    error = ""
    if posted is not None and ok and (not removals or confirmed):
        try:
            result = services.set_quotas(
                programme, actor=actor, school_year=year, places=parsed, allow_removal=confirmed
            )
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, f"已保存名额（{result['changed']} 所学校有变化）。")
            return redirect(_grid_url("aid:config_quotas", year, programme))
    total = sum(int(r.cell.value) for r in rows if r.cell.value.isdigit())
    return render(
        request,
        "aid/config_quotas.html",
        {
            "year": year,
            "programme": programme,
            "years": _years(),
            "programmes": Programme.objects.order_by("-active", "code"),
            "rows": rows,
            "total": total,
            "removals": removals if posted is not None else [],
            "error": error,
        },
    )


def _quota_export_rows(programme: Programme, year: SchoolYear) -> Iterator[list[Any]]:
    places = dict(
        Quota.objects.filter(programme=programme, school_year=year).values_list(
            "school_id", "places"
        )
    )
    for school in services.quota_schools(programme):
        town = school.parent.name if school.parent else ""
        yield [
            year.code,
            programme.name,
            town,
            school.code,
            school.name,
            school.stage,
            places.get(school.pk, ""),
        ]


@require_GET
def config_quota_export(request: HttpRequest) -> HttpResponse:
    services.require_configure(actor_of(request))
    year, programme = chosen_year(request), _chosen_programme(request)
    if year is None or programme is None:
        raise DomainError("请先设置学年和资助项目。")
    return xlsx_response(
        f"名额-{programme.name}-{year.code}.xlsx",
        ("学年", "资助项目", "所属街镇", "学校代码", "学校名称", "学段", "名额"),
        _quota_export_rows(programme, year),
        sheet="名额",
    )


urlpatterns = [
    path("config/", config_home, name="config_home"),
    path("config/years/", config_years, name="config_years"),
    path("config/years/new/", config_year_edit, name="config_year_create"),
    path("config/years/<int:pk>/", config_year_edit, name="config_year_edit"),
    path("config/years/<int:pk>/current/", config_year_current, name="config_year_current"),
    path("config/categories/", config_categories, name="config_categories"),
    path("config/categories/<int:pk>/", config_category_edit, name="config_category_edit"),
    path("config/tiers/", config_tiers, name="config_tiers"),
    path("config/tiers/new/", config_tier_edit, name="config_tier_create"),
    path("config/tiers/<int:pk>/", config_tier_edit, name="config_tier_edit"),
    path("config/tiers/<int:pk>/delete/", config_tier_delete, name="config_tier_delete"),
    path("config/programmes/", config_programmes, name="config_programmes"),
    path("config/programmes/new/", config_programme_edit, name="config_programme_create"),
    path("config/programmes/<int:pk>/", config_programme_edit, name="config_programme_edit"),
    path(
        "config/programmes/<int:pk>/active/",
        config_programme_toggle,
        name="config_programme_toggle",
    ),
    path("config/standards/", config_standards, name="config_standards"),
    path("config/quotas/", config_quotas, name="config_quotas"),
    path("config/quotas/export.xlsx", config_quota_export, name="config_quota_export"),
]
