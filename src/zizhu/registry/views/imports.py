"""Register imports from the web: upload the four exchange files, follow the job, read what
the import did (issue 3; exchange-formats.md, "School register (学籍)").

The work itself runs as a background job (`registry.imports.start_register_import`); these
pages start it and show its record. An import is within reach when its job is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from zizhu.core.crypto import Sensitive, mask
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.http import actor_of, paginate
from zizhu.core.models import Job, User
from zizhu.core.reach import require_permission, scope_for
from zizhu.core.tabular import Column
from zizhu.core.views.jobs import visible_jobs
from zizhu.registry import formats, imports
from zizhu.registry.imports import start_register_import
from zizhu.registry.models import RegisterChange, RegisterImport, Student, StudentStatus

IMPORT_PERM = "register:import"
MAX_UPLOAD_MB = 50
ACCEPTED_SUFFIXES = (".csv", ".xlsx")


@dataclass(frozen=True)
class FileKind:
    key: str  # the upload's name in start_register_import's mapping
    label: str
    columns: Sequence[Column]

    @property
    def headers(self) -> str:
        """The header row as the help text shows it, drawn from the format itself."""
        return "、".join(f"{column.header}（{column.key}）" for column in self.columns)


FILE_KINDS: tuple[FileKind, ...] = tuple(
    FileKind(kind, imports.LABELS[kind], imports.COLUMNS[kind]) for kind in imports.KINDS
)
UPLOAD_KEYS = tuple(kind.key for kind in FILE_KINDS)
KIND_LABELS = {**imports.LABELS, "households": "家庭"}

# Labels for the counts an import's summary holds; unknown keys are shown as they are.
COUNT_LABELS: dict[str, str] = {
    "created": "新增",
    "updated": "更新",
    "unchanged": "未变化",
    "removed": "删除",
    "status_changes": "学籍异动",
    "transfers": "区内转学",
    "students_moved": "调整家庭的学生",
}
# Field names in a change record that the model's verbose names do not say well.
FIELD_LABELS: dict[str, str] = {"school": "学校代码", "guardians": "监护人", "class": "班级"}

# How each sensitive value in a change is shown; they are stored masked already, and masking
# is idempotent, so masking again guards the page against a record that is not.
_SENSITIVE_KEYS: dict[str, str] = {
    "id_number": Sensitive.ID_NUMBER,
    "phone": Sensitive.PHONE,
    "bank_account": Sensitive.BANK_ACCOUNT,
    "card_holder_id": Sensitive.ID_NUMBER,
}


class UploadForm(forms.Form):
    """Up to four register files; at least one. The columns each needs come from formats.py."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in FILE_KINDS:
            self.fields[kind.key] = forms.FileField(
                label=f"{kind.label}文件",
                required=False,
                help_text=f"表头：{kind.headers}",
                widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_SUFFIXES)}),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        uploads = [key for key in UPLOAD_KEYS if data.get(key)]
        if not uploads and not self.errors:
            raise forms.ValidationError("请至少选择一个文件（学校、学生、监护人或教职工）。")
        for key in uploads:
            self._check_file(key, data[key])
        return data

    def _check_file(self, key: str, upload: UploadedFile) -> None:
        name = (upload.name or "").lower()
        if not name.endswith(ACCEPTED_SUFFIXES):
            self.add_error(key, "只能上传 CSV 或 XLSX（Excel）文件。")
        elif (upload.size or 0) > MAX_UPLOAD_MB * 1024 * 1024:
            self.add_error(key, f"文件超过 {MAX_UPLOAD_MB} MB，请拆分后分批上传。")

    def uploads(self) -> dict[str, UploadedFile]:
        return {key: self.cleaned_data[key] for key in UPLOAD_KEYS if self.cleaned_data.get(key)}


def visible_imports(actor: User) -> QuerySet[RegisterImport]:
    """The list door for imports: those whose job the actor may see."""
    return RegisterImport.objects.filter(job__in=visible_jobs(actor).values("pk"))


def _get_import_for(actor: User, pk: int) -> RegisterImport:
    try:
        return visible_imports(actor).select_related("job__created_by", "job__org_unit").get(pk=pk)
    except RegisterImport.DoesNotExist:
        raise OutOfReach() from None


# --- pages ----------------------------------------------------------------------------------


@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, IMPORT_PERM)
    records = visible_imports(actor).select_related("job__created_by", "job__org_unit")
    page = paginate(request, records.order_by("-created_at", "-id"))
    rows = [
        (record, [KIND_LABELS.get(str(f.get("kind")), str(f.get("kind"))) for f in record.files])
        for record in page
    ]
    return render(request, "registry/import_list.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
def import_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, IMPORT_PERM)
    # Bound on every POST, even an empty one, so "choose a file" is said rather than ignored.
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    if form.is_bound and form.is_valid():
        job = _start(form, actor)
        if job is not None:
            return redirect("core:job_detail", job.pk)
    return render(
        request,
        "registry/import_create.html",
        {"form": form, "kinds": FILE_KINDS, "max_mb": MAX_UPLOAD_MB},
    )


def _start(form: UploadForm, actor: User) -> Job | None:
    """Start the job; a refusal the person can fix is shown on the form instead."""
    try:
        return start_register_import(form.uploads(), actor=actor)
    except NotPermitted:
        raise  # the middleware answers 403 and audits the refusal
    except DomainError as error:
        form.add_error(None, error.message)
        return None


@dataclass(frozen=True)
class ChangeRow:
    change: RegisterChange
    fields: list[tuple[str, str, str]]  # (label, before, after)


def _field_labels() -> dict[str, str]:
    labels = {column.key: column.header for column in formats.STUDENTS}
    labels.update({field.name: str(field.verbose_name) for field in Student._meta.concrete_fields})
    return {**labels, **FIELD_LABELS}


def _guardian_text(guardian: Any) -> str:
    if not isinstance(guardian, dict):
        return str(guardian)
    number = mask(str(guardian.get("id_number") or ""), Sensitive.ID_NUMBER) or "无身份证号"
    return f"{guardian.get('relation', '')} {guardian.get('name', '')}（{number}）"


def _shown(key: str, value: Any) -> str:
    """One side of a change as the page shows it: labels for codes, identifiers masked."""
    if value is None or value == "" or value == []:
        return "—"
    if key == "guardians" and isinstance(value, list):
        return "；".join(_guardian_text(guardian) for guardian in value)
    if key == "status" and value in StudentStatus.values:
        return str(StudentStatus(value).label)
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in _SENSITIVE_KEYS:
        return mask(str(value), _SENSITIVE_KEYS[key])
    return str(value)


def _change_rows(changes: Sequence[RegisterChange]) -> list[ChangeRow]:
    labels = _field_labels()
    rows = []
    for change in changes:
        fields = []
        for key, pair in change.fields.items():
            is_pair = isinstance(pair, list | tuple) and len(pair) == 2
            before, after = pair if is_pair else (None, pair)
            fields.append((labels.get(key, key), _shown(key, before), _shown(key, after)))
        rows.append(ChangeRow(change, fields))
    return rows


def _summary_table(summary: dict[str, Any]) -> tuple[list[str], list[tuple[str, list[Any]]]]:
    """The summary {kind: {count: n}} as a table: count headers, then one row per kind."""
    keys: list[str] = []
    for counts in summary.values():
        if isinstance(counts, dict):
            keys.extend(key for key in counts if key not in keys)
    rows = [
        (KIND_LABELS.get(kind, kind), [counts.get(key, "—") for key in keys])
        for kind, counts in summary.items()
        if isinstance(counts, dict)
    ]
    return [COUNT_LABELS.get(key, key) for key in keys], rows


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    record = _get_import_for(actor, pk)
    # Only students within the actor's own reach are listed by name.
    changes = scope_for(actor, "student:view").filter(
        record.changes.select_related("student").only(
            "created", "fields", "register_import_id", "student__name", "student__school_id"
        ),
        "student__school",
    )
    page = paginate(request, changes.order_by("pk"))
    headers, summary_rows = _summary_table(record.summary)
    files = [
        {**entry, "label": KIND_LABELS.get(str(entry.get("kind")), entry.get("kind"))}
        for entry in record.files
    ]
    return render(
        request,
        "registry/import_detail.html",
        {
            "record": record,
            "job": record.job,
            "files": files,
            "summary_headers": headers,
            "summary_rows": summary_rows,
            "page": page,
            "changes": _change_rows(list(page)),
        },
    )
