"""Department data screens: datasets, versions with provenance, records, diffs, upload.

Every view starts with `queries.require_view` (403 for anyone without district-wide
`dataset:view`) and reads through `queries`; ID numbers appear only masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from zizhu.core.http import actor_of, paginate, query_without_page
from zizhu.sources import queries
from zizhu.sources.formats import FORMATS, DatasetFormat
from zizhu.sources.forms import CompareForm, DatasetUploadForm, RecordSearchForm
from zizhu.sources.models import DatasetKind, DatasetRecord, DatasetVersion
from zizhu.sources.services import format_of, require_district_permission, start_dataset_import

_DIFF_TABS = {"added": "新增", "removed": "减少", "changed": "变更"}


@dataclass(frozen=True)
class RecordLine:
    record: DatasetRecord
    attrs: list[tuple[str, Any]]


def _attr_labels(spec: DatasetFormat) -> dict[str, str]:
    """English key → Chinese header for the columns kept in `attrs`."""
    kept = {spec.person_key, spec.name_key, spec.related_key}
    return {c.key: c.header for c in spec.columns if c.key not in kept}


def _lines(records: Any, spec: DatasetFormat) -> list[RecordLine]:
    labels = _attr_labels(spec)
    return [RecordLine(record, queries.attr_items(record, labels)) for record in records]


@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    queries.require_view(actor)
    return render(
        request,
        "sources/dataset_list.html",
        {"summaries": queries.dataset_summaries(actor), "can_import": queries.can_import(actor)},
    )


@require_GET
def dataset_detail(request: HttpRequest, kind: str) -> HttpResponse:
    actor = actor_of(request)
    queries.require_view(actor)
    if kind not in FORMATS:
        raise Http404("没有这个数据集。")
    versions = queries.versions_of(actor, kind)
    latest_two = list(versions.values_list("pk", flat=True)[:2])
    initial = {"new": latest_two[0], "old": latest_two[1]} if len(latest_two) == 2 else {}
    asked = "old" in request.GET or "new" in request.GET  # not the versions' pager
    compare = CompareForm(request.GET if asked else None, versions=versions, initial=initial)
    if compare.is_valid():
        old, new = compare.cleaned_data["old"], compare.cleaned_data["new"]
        return redirect("sources:version_diff", old_pk=old.pk, new_pk=new.pk)
    spec = format_of(kind)
    return render(
        request,
        "sources/dataset_detail.html",
        {
            "kind": kind,
            "label": spec.label,
            "spec": spec,
            "page": paginate(request, versions),
            "compare": compare,
            "can_import": queries.can_import(actor),
        },
    )


@require_http_methods(["GET", "POST"])
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Records of one version. A search holding an ID number comes by POST and is answered
    with a redirect whose address carries the number's blind index only."""
    actor = actor_of(request)
    queries.require_view(actor)
    version = queries.get_version_for(actor, pk)
    searched = request.method == "POST" or "id_number" in request.GET
    form = RecordSearchForm(request.POST if request.method == "POST" else request.GET)
    if searched and form.is_valid():
        here = reverse("sources:version_detail", args=[version.pk])
        return redirect(f"{here}?{urlencode(form.query_params())}")
    records = DatasetRecord.objects.none()
    if not searched and form.is_valid():
        records = queries.records_of(version, **form.cleaned_data)
    page = paginate(request, records)
    spec = format_of(version.kind)
    idh = form.cleaned_data.get("idh", "") if form.is_valid() else ""
    return render(
        request,
        "sources/version_detail.html",
        {
            "version": version,
            "spec": spec,
            "headers": list(_attr_labels(spec).values()),
            "has_related": spec.related_key is not None,
            "form": form,
            "idh": idh,
            "id_masked": next((r.person_masked for r in page), "") if idh else "",
            "page": page,
            "lines": _lines(page, spec),
            "query": query_without_page(request),
        },
    )


def _diff_pair(actor: Any, old_pk: int, new_pk: int) -> tuple[DatasetVersion, DatasetVersion]:
    old = queries.get_version_for(actor, old_pk)
    new = queries.get_version_for(actor, new_pk)
    if old.kind != new.kind or old.pk == new.pk:
        raise Http404("只能比较同一数据集的两个不同版本。")
    return old, new


@require_GET
def version_diff(request: HttpRequest, old_pk: int, new_pk: int) -> HttpResponse:
    actor = actor_of(request)
    queries.require_view(actor)
    old, new = _diff_pair(actor, old_pk, new_pk)
    diff = queries.diff_versions(old, new)
    tab = request.GET.get("tab", "added")
    if tab not in _DIFF_TABS:
        tab = "added"
    people = getattr(diff, tab)
    page: Page[Any] = Paginator(people, 50).get_page(request.GET.get("page"))
    spec = format_of(new.kind)
    changes = []
    if tab == "changed":
        labels = _attr_labels(spec)
        changes = [
            (
                change.person,
                [RecordLine(r, queries.attr_items(r, labels)) for r in change.before],
                [RecordLine(r, queries.attr_items(r, labels)) for r in change.after],
            )
            for change in queries.changes_for(diff, list(page))
        ]
    return render(
        request,
        "sources/version_diff.html",
        {
            "old": old,
            "new": new,
            "label": spec.label,
            "counts": [
                (key, label, getattr(diff, key).count()) for key, label in _DIFF_TABS.items()
            ],
            "tab": tab,
            "tab_label": _DIFF_TABS[tab],
            "page": page,
            "changes": changes,
            "query": query_without_page(request),
        },
    )


@require_http_methods(["GET", "POST"])
def dataset_upload(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_district_permission(actor, "dataset:import")
    initial = {"kind": request.GET.get("kind")} if request.GET.get("kind") in FORMATS else {}
    form = DatasetUploadForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        job = start_dataset_import(
            data["file"],
            actor=actor,
            kind=data["kind"],
            as_of=data["as_of"],
            department=data["department"],
        )
        return redirect(reverse("core:job_detail", args=[job.pk]))
    return render(
        request,
        "sources/dataset_upload.html",
        {"form": form, "formats": [(FORMATS[k], label) for k, label in DatasetKind.choices]},
    )
