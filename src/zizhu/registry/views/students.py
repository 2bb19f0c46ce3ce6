"""Register screens: student search, student page with audited reveal, export; staff list.

Identifiers are shown masked everywhere (architecture.md, "Personal data"); the full value is
rendered only in the answer to a reveal, which `core.services.reveal_sensitive` logs. An ID
number searched for travels by POST and comes back in the address as its blind index only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.core.crypto import Sensitive, mask
from zizhu.core.errors import DomainError
from zizhu.core.http import actor_of, paginate, query_without_page, xlsx_response
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import get_for, has_permission, require_permission, scope_for
from zizhu.core.services import record_export, reveal_sensitive
from zizhu.registry.forms import (
    STUDENT_SORTS,
    RevealForm,
    StaffSearchForm,
    StudentSearchForm,
)
from zizhu.registry.models import Guardian, Staff, StatusChange, Student, StudentStatus

# Ties broken by pk so that pages never overlap or skip a row.
_LIST_FIELDS = (
    "name",
    "gender",
    "grade",
    "class_name",
    "status",
    "boarder",
    "birth_date",
    "school__name",
    "school__code",
    "id_number",
    "phone",
)
# Matches registry.Student's student_list_order_idx, so pages are read off the index.
_DEFAULT_STUDENT_ORDER = ("school_id", "grade_rank", "class_name", "name", "pk")

_STUDENT_IDENTIFIERS: dict[str, tuple[str, str]] = {
    "id_number": ("身份证号", Sensitive.ID_NUMBER),
    "phone": ("联系电话", Sensitive.PHONE),
    "bank_account": ("银行卡号", Sensitive.BANK_ACCOUNT),
    "card_holder_id": ("持卡人身份证号", Sensitive.ID_NUMBER),
}
_GUARDIAN_IDENTIFIERS: dict[str, tuple[str, str]] = {
    "id_number": ("身份证号", Sensitive.ID_NUMBER),
    "phone": ("联系电话", Sensitive.PHONE),
}


@dataclass(frozen=True)
class Identifier:
    """One masked identifier on a page, with the key a reveal form posts for it."""

    label: str
    masked: str
    key: str


@dataclass(frozen=True)
class StudentRow:
    student: Student
    id_number: str
    phone: str


@dataclass(frozen=True)
class GuardianCard:
    guardian: Guardian
    identifiers: list[Identifier]


# --- shared search ----------------------------------------------------------------------


def _schools_within(actor: User, perm: str) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.visible_to(actor, perm).schools().order_by("code")


def _require_school_in_reach(data: QueryDict, actor: User, perm: str) -> None:
    """A school named in the query must be within reach: 404 otherwise, like a missing one."""
    raw = data.get("school", "")
    if raw:
        get_for(actor, OrgUnit.objects.schools(), "pk", perm=perm, pk=raw)


def _filter_students(students: QuerySet[Student], data: dict[str, Any]) -> QuerySet[Student]:
    if data["name"]:
        students = students.filter(name__startswith=data["name"])
    if data["idh"]:
        # Exact match through the keyed hash: the clear number never reaches the database.
        students = students.filter(id_number_hash=data["idh"])
    if data["school"]:
        students = students.filter(school=data["school"])
    for key in ("grade", "class_name", "status"):
        if data[key]:
            students = students.filter(**{key: data[key]})
    return students.order_by(*STUDENT_SORTS.get(data["sort"], _DEFAULT_STUDENT_ORDER))


def _search_form(data: QueryDict, actor: User, perm: str) -> StudentSearchForm:
    _require_school_in_reach(data, actor, perm)
    return StudentSearchForm(data, schools=_schools_within(actor, perm))


def _search_students(
    request: HttpRequest, actor: User, perm: str
) -> tuple[StudentSearchForm, QuerySet[Student]]:
    form = _search_form(request.GET, actor, perm)
    # Only what a list row shows: each encrypted column left out is one decryption less.
    students = Student.objects.visible_to(actor, perm).select_related("school").only(*_LIST_FIELDS)
    if not form.is_valid():
        return form, students.none()
    return form, _filter_students(students, form.cleaned_data)


def _searched_id(form: StudentSearchForm, actor: User, perm: str) -> tuple[str, str]:
    """(blind index, masked number) of the ID number searched for, to show the search back.
    Looked up within reach only, so a hash from elsewhere tells nothing of other schools."""
    digest: str = form.cleaned_data.get("idh", "") if form.is_valid() else ""
    if not digest:
        return "", ""
    numbers = Student.objects.visible_to(actor, perm).filter(id_number_hash=digest)
    number = numbers.values_list("id_number", flat=True).first()
    return digest, mask(number, Sensitive.ID_NUMBER)


def _describe_filters(form: StudentSearchForm, id_masked: str) -> dict[str, str]:
    """The filters for the audit row; an ID number searched for is logged masked."""
    if not form.is_valid():
        return {}
    described: dict[str, str] = {}
    for key, value in form.cleaned_data.items():
        if not value:
            continue
        if key == "idh":
            described["id_number"] = id_masked or "（范围内无此身份证号）"
            continue
        if key == "school":
            value = value.code
        described[key] = str(value)
    return described


# --- students ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def student_list(request: HttpRequest) -> HttpResponse:
    """GET filters and pages; a POSTed search (which may hold an ID number) is answered with a
    redirect to the same filters in the address, the ID number as its blind index only."""
    actor = actor_of(request)
    if request.method == "POST" or "id_number" in request.GET:
        # A clear number already in the address (an old bookmark) is swapped the same way.
        form = _search_form(request.POST or request.GET, actor, "student:view")
        if form.is_valid():
            return redirect(f"{reverse('registry:student_list')}?{urlencode(form.query_params())}")
        return _render_student_list(request, actor, form, Student.objects.none())
    form, students = _search_students(request, actor, "student:view")
    return _render_student_list(request, actor, form, students)


def _list_rows(students: Iterable[Student]) -> list[dict[str, str]]:
    """Plain strings per row: the list is the busiest page, and Django's template engine
    spends most of its time resolving `row.student.school.name`-style lookups and `{% url %}`
    per row (profiled: 50 rows ≈ 60 % of the page's time)."""
    detail = reverse("registry:student_detail", args=[0])[: -len("0/")]
    labels = dict(StudentStatus.choices)
    return [
        {
            "url": f"{detail}{student.pk}/",
            "name": student.name,
            "id_number": mask(student.id_number, Sensitive.ID_NUMBER),
            "gender": student.gender,
            "school": student.school.name,
            "grade": student.grade,
            "class_name": student.class_name,
            "status": labels.get(student.status, student.status),
            "phone": mask(student.phone, Sensitive.PHONE) or "—",
        }
        for student in students
    ]


def _render_student_list(
    request: HttpRequest, actor: User, form: StudentSearchForm, students: QuerySet[Student]
) -> HttpResponse:
    # Page through ids alone (an index-only scan on PostgreSQL), then fetch those 50 rows:
    # a common surname matches thousands of students, whose full rows need not be read.
    page = paginate(request, students.values_list("pk", flat=True))
    ids = list(page.object_list)
    fetched = students.in_bulk(ids)
    rows = _list_rows(fetched[pk] for pk in ids)
    idh, id_masked = _searched_id(form, actor, "student:view")
    return render(
        request,
        "registry/student_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "idh": idh,
            "id_masked": id_masked,
            "query_without_id": _query_without(request, "idh"),
            "can_export": form.is_valid() and has_permission(actor, "student:export"),
        },
    )


def _query_without(request: HttpRequest, *keys: str) -> str:
    params = request.GET.copy()
    for key in ("page", *keys):
        params.pop(key, None)
    return params.urlencode()


class _Counter:
    def __init__(self) -> None:
        self.value = 0


def _export_rows(students: QuerySet[Student], counter: _Counter) -> Iterator[list[Any]]:
    for student in students.iterator(chunk_size=2000):
        counter.value += 1
        yield [
            student.name,
            mask(student.id_number, Sensitive.ID_NUMBER),
            student.gender,
            student.birth_date,
            student.school.name,
            student.grade,
            student.class_name,
            student.get_status_display(),
            mask(student.phone, Sensitive.PHONE),
            mask(student.bank_account, Sensitive.BANK_ACCOUNT),
        ]


_EXPORT_HEADERS = (
    "姓名",
    "身份证号",
    "性别",
    "出生日期",
    "学校",
    "年级",
    "班级",
    "学籍状态",
    "联系电话",
    "银行卡号",
)


@require_GET
def student_export(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    # Checked up front so a refused export costs nothing; the service checks again.
    require_permission(actor, "student:export")
    if "id_number" in request.GET:
        raise DomainError("导出链接中不能带有身份证号。请在学生列表中按身份证号查询后再导出。")
    form, students = _search_students(request, actor, "student:export")
    students = students.only(*_LIST_FIELDS, "bank_account")
    counter = _Counter()
    response = xlsx_response(
        "学生名单.xlsx", _EXPORT_HEADERS, _export_rows(students, counter), sheet="学生名单"
    )
    record_export(
        "student.exported",
        actor=actor,
        perm="student:export",
        filters=_describe_filters(form, _searched_id(form, actor, "student:export")[1]),
        rows=counter.value,
        org_unit=form.cleaned_data.get("school") if form.is_valid() else None,
    )
    return response


def _student_identifiers(student: Student) -> list[Identifier]:
    return [
        Identifier(label, mask(getattr(student, attr), kind), attr)
        for attr, (label, kind) in _STUDENT_IDENTIFIERS.items()
    ]


def _guardian_cards(actor: User, student: Student) -> list[GuardianCard]:
    guardians = Guardian.objects.visible_to(actor).filter(student=student).order_by("pk")
    return [
        GuardianCard(
            guardian,
            [
                Identifier(
                    label, mask(getattr(guardian, attr), kind), f"guardian:{guardian.pk}:{attr}"
                )
                for attr, (label, kind) in _GUARDIAN_IDENTIFIERS.items()
            ],
        )
        for guardian in guardians
    ]


def _get_student(actor: User, pk: int) -> Student:
    return get_for(
        actor, Student.objects.select_related("school"), "school", perm="student:view", pk=pk
    )


def _ledger_of(actor: User, student: Student) -> QuerySet[StatusChange]:
    """The student's ledger, oldest first so each entry's before→after reads as a history."""
    return (
        StatusChange.objects.visible_to(actor)
        .filter(student=student)
        .select_related("from_school", "to_school", "actor")
        .order_by("effective_on", "pk")
    )


def _household_members(actor: User, student: Student) -> list[StudentRow]:
    """Other students of the same household, within reach only, identifiers masked."""
    if student.household_id is None:
        return []
    members = (
        Student.objects.visible_to(actor)
        .filter(household_id=student.household_id)
        .exclude(pk=student.pk)
        .select_related("school")
        .order_by("birth_date", "pk")
    )
    return [
        StudentRow(
            student=member,
            id_number=mask(member.id_number, Sensitive.ID_NUMBER),
            phone=mask(member.phone, Sensitive.PHONE),
        )
        for member in members
    ]


@require_GET
def student_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    student = _get_student(actor, pk)
    return render(
        request,
        "registry/student_detail.html",
        {
            "student": student,
            "identifiers": _student_identifiers(student),
            "guardians": _guardian_cards(actor, student),
            "household": _household_members(actor, student),
            "ledger": _ledger_of(actor, student),
            "can_reveal": scope_for(actor, "pii:reveal").covers(student.school_id),
            "can_change_status": scope_for(actor, "student:change_status").covers(
                student.school_id
            ),
        },
    )


def _reveal_target(actor: User, student: Student, form: RevealForm) -> tuple[Any, str, str]:
    """(object, attribute, label) for the requested field; a foreign guardian is a 404."""
    guardian_target = form.guardian_target()
    if guardian_target is None:
        attr = form.cleaned_data["field"]
        return student, attr, f"{student.name}的{_STUDENT_IDENTIFIERS[attr][0]}"
    guardian_pk, attr = guardian_target
    guardian = get_for(
        actor,
        Guardian.objects.filter(student=student),
        "student__school",
        perm="student:view",
        pk=guardian_pk,
    )
    label = f"监护人{guardian.name}（{guardian.relation}）的{_GUARDIAN_IDENTIFIERS[attr][0]}"
    return guardian, attr, label


@never_cache
@require_POST
def student_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    student = _get_student(actor, pk)
    form = RevealForm(request.POST)
    context: dict[str, Any] = {"student": student, "form": form}
    if form.is_valid():
        target, attr, label = _reveal_target(actor, student, form)
        context["label"] = label
        context["value"] = reveal_sensitive(
            target, attr, actor=actor, unit=student.school, reason=form.cleaned_data["reason"]
        )
    # htmx swaps the fragment in place of the form; a plain POST gets a whole page.
    is_htmx = bool(getattr(request, "htmx", False))
    template = "registry/_reveal_result.html" if is_htmx else "registry/student_reveal.html"
    return render(request, template, context)


# --- staff ------------------------------------------------------------------------------


@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _require_school_in_reach(request.GET, actor, "staff:view")
    form = StaffSearchForm(request.GET, schools=_schools_within(actor, "staff:view"))
    staff = Staff.objects.visible_to(actor).select_related("school")
    if form.is_valid():
        data = form.cleaned_data
        if data["name"]:
            staff = staff.filter(name__startswith=data["name"])
        if data["school"]:
            staff = staff.filter(school=data["school"])
        if data["post"]:
            staff = staff.filter(post=data["post"])
    else:
        staff = staff.none()
    page = paginate(request, staff.order_by("school__code", "name", "pk"))
    rows = [
        (member, mask(member.id_number, Sensitive.ID_NUMBER), mask(member.phone, Sensitive.PHONE))
        for member in page
    ]
    return render(
        request,
        "registry/staff_list.html",
        {"form": form, "page": page, "rows": rows, "query": query_without_page(request)},
    )
