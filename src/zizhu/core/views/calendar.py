"""The holiday calendar pages: a system administrator enters each year's State Council schedule.

A year only counts for working-day deadlines once someone has checked it against the notice
from the General Office of the State Council (国务院办公厅) and marked it complete.
"""

from __future__ import annotations

import calendar as pycalendar
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from zizhu.core import services
from zizhu.core.errors import DomainError
from zizhu.core.http import actor_of
from zizhu.core.models import CalendarDay, CalendarYear, DayKind
from zizhu.core.reach import require_permission

PERM = "calendar:manage"
FIRST_YEAR, LAST_YEAR = 2000, 2100
_LINE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s+(.*))?$")
_NAME_MAX = CalendarDay._meta.get_field("name").max_length or 40

Entries = list[tuple[date, str]]


def _parse_line(line: str, number: int, *, year: int, weekend_only: bool) -> tuple[date, str]:
    """One "2027-01-01 元旦" line; the error names the line so the person can find it."""
    where = f"第 {number} 行“{line}”"
    match = _LINE.match(line)
    if match is None:
        raise forms.ValidationError(
            f"{where}格式不对，应为“2027-01-01 元旦”（日期、空格、节日名称）。"
        )
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise forms.ValidationError(f"{where}中的日期不存在，请核对。") from None
    name = (match.group(4) or "").strip()
    if day.year != year:
        raise forms.ValidationError(f"{where}不属于 {year} 年。")
    if len(name) > _NAME_MAX:
        raise forms.ValidationError(f"{where}的节日名称过长（最多 {_NAME_MAX} 个字）。")
    if weekend_only and day.weekday() < 5:
        raise forms.ValidationError(f"{where}是工作日，调休上班日只能是周六或周日。")
    return day, name


def parse_days(text: str, *, year: int, weekend_only: bool = False) -> Entries:
    """All lines of one textarea; blank lines are skipped, every bad line is reported."""
    entries: Entries = []
    errors: list[str] = []
    seen: set[date] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            day, name = _parse_line(line, number, year=year, weekend_only=weekend_only)
        except forms.ValidationError as error:
            errors.extend(error.messages)
            continue
        if day in seen:
            errors.append(f"第 {number} 行“{line}”与前面的日期重复。")
        seen.add(day)
        entries.append((day, name))
    if errors:
        raise forms.ValidationError(errors)
    return sorted(entries)


class CalendarYearForm(forms.Form):
    source = forms.CharField(
        label="来源",
        max_length=100,
        initial="国务院办公厅关于部分节假日安排的通知",
        help_text="例如：国办发明电〔2026〕×号",
    )
    holidays = forms.CharField(
        label="放假日期（每行一天：2027-01-01 元旦）",
        widget=forms.Textarea(attrs={"rows": 14}),
        required=False,
    )
    workdays = forms.CharField(
        label="调休上班日期（每行一天：2027-02-06 春节调休）",
        widget=forms.Textarea(attrs={"rows": 14}),
        required=False,
    )

    def __init__(self, *args: Any, year: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.year = year

    def clean_holidays(self) -> Entries:
        return parse_days(self.cleaned_data["holidays"], year=self.year)

    def clean_workdays(self) -> Entries:
        return parse_days(self.cleaned_data["workdays"], year=self.year, weekend_only=True)


CONFIRM_FIRST = "请先对照国务院办公厅通知核对全年安排，并勾选“已核对国务院办公厅通知”后再确认。"


class CompleteForm(forms.Form):
    confirmed = forms.BooleanField(
        label="已核对国务院办公厅通知",
        error_messages={"required": CONFIRM_FIRST},
    )


class NewYearForm(forms.Form):
    year = forms.IntegerField(label="年份", min_value=FIRST_YEAR, max_value=LAST_YEAR)


def _day_counts() -> dict[int, Counter[str]]:
    """Holidays and make-up workdays per year, in one grouped query."""
    rows = (
        CalendarDay.objects.annotate(year=ExtractYear("date"))
        .values("year", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int, Counter[str]] = {}
    for row in rows:
        counts.setdefault(row["year"], Counter())[row["kind"]] = row["n"]
    return counts


def calendar_list(request: HttpRequest) -> HttpResponse:
    require_permission(actor_of(request), PERM)
    form = NewYearForm(request.GET or None)
    if form.is_valid():
        return redirect("core:calendar_edit", year=form.cleaned_data["year"])
    counts = _day_counts()
    years = [
        {
            "year": item,
            "holidays": counts.get(item.year, Counter())[DayKind.HOLIDAY],
            "workdays": counts.get(item.year, Counter())[DayKind.WORKDAY],
        }
        for item in CalendarYear.objects.select_related("completed_by")
    ]
    return render(request, "core/calendar_list.html", {"years": years, "form": form})


@dataclass(frozen=True)
class Cell:
    day: date | None
    kind: str = ""
    name: str = ""

    @property
    def weekend(self) -> bool:
        return self.day is not None and self.day.weekday() >= 5


def _month_grids(
    year: int, specials: dict[date, CalendarDay]
) -> list[tuple[int, list[list[Cell]]]]:
    """Twelve Monday-first month grids; days of neighbouring months are left blank."""
    grids = []
    for month in range(1, 13):
        weeks = []
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            row = []
            for day in week:
                special = specials.get(day)
                if day.month != month:
                    row.append(Cell(None))
                elif special is None:
                    row.append(Cell(day))
                else:
                    row.append(Cell(day, special.kind, special.name))
            weeks.append(row)
        grids.append((month, weeks))
    return grids


def _as_lines(days: list[CalendarDay], kind: str) -> str:
    return "\n".join(f"{d.date.isoformat()} {d.name}".strip() for d in days if d.kind == kind)


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(f"年份应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间。")


def calendar_edit(request: HttpRequest, year: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, PERM)
    _check_year(year)
    calendar_year = CalendarYear.objects.filter(pk=year).first()
    days = list(CalendarDay.objects.filter(date__year=year))
    initial = {
        "holidays": _as_lines(days, DayKind.HOLIDAY),
        "workdays": _as_lines(days, DayKind.WORKDAY),
    }
    if calendar_year is not None and calendar_year.source:
        initial["source"] = calendar_year.source
    form = CalendarYearForm(request.POST or None, initial=initial, year=year)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_calendar_year(
                year,
                actor=actor,
                holidays=form.cleaned_data["holidays"],
                workdays=form.cleaned_data["workdays"],
                source=form.cleaned_data["source"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, f"{year} 年的安排已保存。核对无误后请确认完整，该年度才会用于计算工作日。"
            )
            return redirect("core:calendar_edit", year=year)
    context = {
        "year": year,
        "calendar_year": calendar_year,
        "form": form,
        "complete_form": CompleteForm(),
        "months": _month_grids(year, {d.date: d for d in days}),
        "holiday_count": sum(d.kind == DayKind.HOLIDAY for d in days),
        "workday_count": sum(d.kind == DayKind.WORKDAY for d in days),
    }
    return render(request, "core/calendar_edit.html", context)


@require_POST
def calendar_complete(request: HttpRequest, year: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, PERM)
    calendar_year = get_object_or_404(CalendarYear, pk=year)
    form = CompleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, CONFIRM_FIRST)
        return redirect("core:calendar_edit", year=year)
    services.complete_calendar_year(calendar_year, actor=actor)
    messages.success(request, f"{year} 年的节假日安排已确认完整，现在可用于计算工作日。")
    return redirect("core:calendar_list")
