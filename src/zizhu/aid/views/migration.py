"""Uploading the 受助学生 file (the first year's migration of current recipients). The
import runs as a background job; this page starts it and hands over to the job's page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods

from zizhu.aid.models import Programme
from zizhu.aid.services.migration import IMPORT_PERM, SPEC, SUFFIXES, start_award_import
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.http import actor_of
from zizhu.core.models import Job, User
from zizhu.core.reach import require_permission

MAX_UPLOAD_MB = 50


class UploadForm(forms.Form):
    file = forms.FileField(
        label="受助学生文件",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(SUFFIXES)}),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(SUFFIXES):
            raise forms.ValidationError("只能上传 CSV 或 XLSX（Excel）文件。")
        if (upload.size or 0) > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(f"文件超过 {MAX_UPLOAD_MB} MB，请拆分后分批上传。")
        return upload


def _start(form: UploadForm, actor: User) -> Job | None:
    try:
        return start_award_import(form.cleaned_data["file"], actor=actor)
    except NotPermitted:
        raise  # the middleware answers 403 and audits the refusal
    except DomainError as error:
        form.add_error(None, error.message)
        return None


@require_http_methods(["GET", "POST"])
def migration_upload(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, IMPORT_PERM)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = _start(form, actor)
        if job is not None:
            return redirect(reverse("core:job_detail", args=[job.pk]))
    context: dict[str, Any] = {
        "form": form,
        "columns": SPEC,
        "programmes": Programme.objects.order_by("code"),
        "max_mb": MAX_UPLOAD_MB,
    }
    return render(request, "aid/migration_upload.html", context)


urlpatterns: list[URLPattern] = [
    path("migration/", migration_upload, name="migration_upload"),
]
