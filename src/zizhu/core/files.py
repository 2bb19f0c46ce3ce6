"""Uploaded evidence (scans of certificates, letters, signed forms) and its audited download.

One rule for every screen that takes a file from a person: PDF, JPG or PNG, at most 10 MB,
checked by its leading bytes (the extension is only what the person called it), and stored
under a random name, because the name people give a scan often holds the child's name.
Every download of such a file writes an audit row: they are papers about minors' families.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath, PurePosixPath

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

from zizhu.core.models import OrgUnit, User
from zizhu.core.services import record_export

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
# Extension → the bytes such a file starts with.
EVIDENCE_SIGNATURES: dict[str, bytes] = {
    ".pdf": b"%PDF-",
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".png": b"\x89PNG\r\n\x1a\n",
}
EVIDENCE_ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
EVIDENCE_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}


def clean_evidence(upload: UploadedFile | None, *, label: str) -> UploadedFile | None:
    """Validate an optional upload for a form's clean_<field>; raises ValidationError with a
    message naming the field (`label`, e.g. "证明材料")."""
    if not upload:
        return None
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in EVIDENCE_SIGNATURES:
        raise forms.ValidationError(f"{label}只能是 PDF、JPG 或 PNG 文件，请转换格式后再上传。")
    if (upload.size or 0) > EVIDENCE_MAX_BYTES:
        size_mb = (upload.size or 0) / 1024 / 1024
        raise forms.ValidationError(
            f"{label}不能超过 10 MB（所选文件约 {size_mb:.1f} MB），请压缩或分页扫描后再上传。"
        )
    signature = EVIDENCE_SIGNATURES[suffix]
    upload.seek(0)
    head = upload.read(len(signature))
    upload.seek(0)
    if head != signature:
        raise forms.ValidationError(
            f"{label}：文件内容与扩展名不符，不是有效的 PDF、JPG 或 PNG 文件，请重新选择。"
        )
    upload.name = f"{uuid.uuid4().hex}{'.jpg' if suffix == '.jpeg' else suffix}"
    return upload


def audited_download(
    file: FieldFile,
    *,
    actor: User,
    action: str,
    perm: str,
    filters: dict[str, object],
    org_unit: OrgUnit | None,
    subject: models.Model | None,
    filename: str,
    label: str,
) -> FileResponse:
    """Send a stored file as a download after logging who took it. `filename` is the name
    without extension (the stored file's extension is added); `label` names the file in the
    404 messages."""
    if not file:
        raise Http404(f"没有上传{label}。")
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404(f"{label}文件已不在存储中，请联系系统管理员。") from None
    record_export(
        action,
        actor=actor,
        perm=perm,
        filters=filters,
        rows=1,
        org_unit=org_unit,
        subject=subject,
    )
    suffix = PurePosixPath(file.name or "").suffix.lower()
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{filename}{suffix}",
        content_type=EVIDENCE_TYPES.get(suffix, "application/octet-stream"),
    )
