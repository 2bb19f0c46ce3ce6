"""Cross-check screens: one rule with its SQL and hits, the list of all hits, one hit's evidence."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from zizhu.core.crypto import Sensitive, mask
from zizhu.core.http import actor_of, paginate, query_without_page
from zizhu.core.models import User
from zizhu.crosscheck.forms import HitFilterForm
from zizhu.crosscheck.models import Hit, Run, RunHit
from zizhu.crosscheck.rules import get_rule
from zizhu.crosscheck.services.hits import (
    get_hit_for,
    hits_visible_to,
    rule_stats,
)
from zizhu.crosscheck.views.common import (
    LIST_DEFERRED,
    SOURCE_LABELS,
    hit_lines,
    param_lines,
    percent,
    require_view,
    schools,
)
from zizhu.sources import queries as sources_queries
from zizhu.sources.models import DatasetVersion

# --- one rule, all hits -----------------------------------------------------------------------


def _hit_list_queryset(actor: User) -> QuerySet[Hit]:
    return (
        hits_visible_to(actor)
        .select_related("first_run", "last_run")
        .defer(*LIST_DEFERRED)
        .order_by("-last_run__number", "rule", "school__code", "student__name", "pk")
    )


@require_GET
def rule_detail(request: HttpRequest, code: str) -> HttpResponse:
    actor = actor_of(request)
    require_view(actor)
    rule = get_rule(code)
    if rule is None:
        raise Http404("没有这条比对规则。")
    stats = next(s for s in rule_stats(actor) if s.rule.code == code)
    form = HitFilterForm(
        request.GET, schools=schools(actor), fields=("present", "verdict", "school")
    )
    hits = _hit_list_queryset(actor).filter(rule=code)
    hits = form.filter_hits(hits) if form.is_valid() else hits.none()
    page = paginate(request, hits)
    return render(
        request,
        "crosscheck/rule_detail.html",
        {
            "rule": rule,
            "stats": stats,
            "precision": percent(stats.precision),
            "params": param_lines(rule),
            "form": form,
            "page": page,
            "lines": hit_lines(page),
            "query": query_without_page(request),
        },
    )


@require_GET
def hit_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_view(actor)
    form = HitFilterForm(
        request.GET,
        schools=schools(actor),
        fields=("rule", "verdict", "present", "school", "name"),
    )
    hits = _hit_list_queryset(actor)
    hits = form.filter_hits(hits) if form.is_valid() else hits.none()
    page = paginate(request, hits)
    return render(
        request,
        "crosscheck/hit_list.html",
        {
            "form": form,
            "page": page,
            "lines": hit_lines(page),
            "query": query_without_page(request),
            "any_runs": Run.objects.exists(),
        },
    )


# --- one hit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceLine:
    detail: str
    source: str
    version: str
    version_url: str | None
    row_number: int | None
    probability: str


def _evidence_lines(hit: Hit, *, linked: bool) -> list[EvidenceLine]:
    ids = {int(item["version_id"]) for item in hit.evidence if item.get("version_id")}
    versions = DatasetVersion.objects.in_bulk(ids) if ids else {}
    lines = []
    for item in hit.evidence:
        version = versions.get(int(item["version_id"])) if item.get("version_id") else None
        probability = item.get("probability")
        lines.append(
            EvidenceLine(
                detail=str(item.get("detail", "")),
                source=SOURCE_LABELS.get(str(item.get("source", "")), str(item.get("source"))),
                version=f"第 {version.number} 版" if version else "",
                version_url=(
                    reverse("sources:version_detail", args=[version.pk])
                    if version and linked
                    else None
                ),
                row_number=item.get("row_number"),
                probability=percent(float(probability)) if probability is not None else "",
            )
        )
    return lines


@require_GET
def hit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_view(actor)
    hit = get_hit_for(actor, pk)
    history = RunHit.objects.filter(hit=hit).select_related("run", "clue").order_by("-run__number")
    return render(
        request,
        "crosscheck/hit_detail.html",
        {
            "hit": hit,
            "rule": get_rule(hit.rule),
            "id_masked": mask(hit.student.id_number, Sensitive.ID_NUMBER),
            "evidence": _evidence_lines(hit, linked=sources_queries.can_view(actor)),
            "first_run": hit.first_run,
            "last_run": hit.last_run,
            "history": list(history),
        },
    )
