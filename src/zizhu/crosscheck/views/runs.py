"""Cross-check screens: the home page with the rules and runs, "立即运行" and its progress,
one run with its hits and their export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from zizhu.core.crypto import Sensitive, mask
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.http import actor_of, paginate, query_without_page, xlsx_response
from zizhu.core.models import Job, User
from zizhu.core.reach import has_permission, require_permission
from zizhu.core.services import record_export
from zizhu.core.views.jobs import STATUS_CSS, get_job_for
from zizhu.crosscheck import snapshot
from zizhu.crosscheck.forms import HitFilterForm
from zizhu.crosscheck.models import Run, RunHit
from zizhu.crosscheck.rules import all_rules, get_rule
from zizhu.crosscheck.services.hits import (
    rule_stats,
    run_hits_visible_to,
)
from zizhu.crosscheck.services.runs import JOB_KIND, require_runner, start_run
from zizhu.crosscheck.views.common import (
    CONFIRM,
    EXPORT_PERM,
    LIST_DEFERRED,
    RUNS_PER_PAGE,
    SOURCE_LABELS,
    RuleRow,
    can_run,
    dataset_lines,
    get_run,
    param_lines,
    require_view,
    run_hit_lines,
    run_row,
    schools,
    seconds,
    shown,
)
from zizhu.sources import queries as sources_queries
from zizhu.sources.models import DatasetKind

# --- home and "立即运行" -----------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_view(actor)
    rows = [RuleRow(stats, param_lines(stats.rule)) for stats in rule_stats(actor)]
    page = paginate(request, Run.objects.select_related("actor"), per_page=RUNS_PER_PAGE)
    return render(
        request,
        "crosscheck/home.html",
        {
            "rules": rows,
            "page": page,
            "runs": [run_row(run) for run in page],
            "can_run": can_run(actor),
        },
    )


def _confirm_context() -> dict[str, Any]:
    latest = snapshot.latest_versions()
    return {
        "rules": list(all_rules().values()),
        "as_of": timezone.localdate(),
        "datasets": [
            (SOURCE_LABELS.get(kind, kind), latest[kind])
            for kind, _label in DatasetKind.choices
            if kind in latest
        ],
        "missing": [label for kind, label in DatasetKind.choices if kind not in latest],
    }


@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    """First POST: what the run will do, to confirm. Second POST (step=confirm): start it."""
    actor = actor_of(request)
    require_view(actor)
    require_runner(actor)
    if request.POST.get("step") != CONFIRM:
        return render(request, "crosscheck/run_confirm.html", _confirm_context())
    try:
        job = start_run(actor)
    except (NotPermitted, OutOfReach):
        raise
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("crosscheck:home")
    return redirect("crosscheck:run_progress", pk=job.pk)


def _get_run_job(actor: User, pk: int) -> Job:
    require_view(actor)
    job = get_job_for(actor, pk)
    if job.kind != JOB_KIND:
        raise OutOfReach()
    return job


def _progress_context(job: Job) -> dict[str, Any]:
    return {
        "job": job,
        "status_css": STATUS_CSS.get(job.status, "warn"),
        "run": Run.objects.filter(job=job).first() if job.finished else None,
    }


@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = _get_run_job(actor_of(request), pk)
    return render(request, "crosscheck/run_progress.html", _progress_context(job))


@never_cache
@require_GET
def run_progress_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The status block, polled every second while the job runs (as core's job page)."""
    job = _get_run_job(actor_of(request), pk)
    return render(request, "crosscheck/_run_progress.html", _progress_context(job))


# --- one run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRuleLine:
    code: str
    title: str
    version: int
    seconds: str
    counts: dict[str, int]
    params: str


def _run_rule_lines(run: Run) -> list[RunRuleLine]:
    lines = []
    for code, version in run.rule_versions.items():
        rule = get_rule(code)
        params = run.params.get(code, {})
        labels = {p.name: p.label for p in rule.params} if rule else {}
        lines.append(
            RunRuleLine(
                code=code,
                title=rule.title if rule else code,
                version=int(version),
                seconds=seconds(run.timings.get("rules", {}).get(code)),
                counts=run.counts.get("rules", {}).get(code, {}),
                params="；".join(f"{labels.get(k, k)}：{shown(v)}" for k, v in params.items()),
            )
        )
    return lines


def _phases(run: Run) -> list[tuple[str, str]]:
    timings = run.timings
    return [
        ("读取数据快照", seconds(timings.get("snapshot"))),
        ("关联无身份证号的监护人", seconds(timings.get("linkage"))),
        ("运行比对规则", seconds(sum(timings.get("rules", {}).values()) or None)),
        ("记录结果并生成线索", seconds(timings.get("record"))),
        ("合计", seconds(timings.get("total"))),
    ]


def _run_filter(request: HttpRequest, actor: User) -> HitFilterForm:
    return HitFilterForm(request.GET, schools=schools(actor), fields=("rule", "change", "school"))


def _filtered_run_hits(actor: User, run: Run, form: HitFilterForm) -> QuerySet[RunHit]:
    run_hits = run_hits_visible_to(actor, run)
    if not form.is_valid():
        return run_hits.none()
    return form.filter_run_hits(run_hits).order_by(
        "hit__rule", "hit__school__code", "hit__student__name", "pk"
    )


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_view(actor)
    run = get_run(pk)
    form = _run_filter(request, actor)
    deferred = [f"hit__{name}" for name in LIST_DEFERRED]
    page = paginate(request, _filtered_run_hits(actor, run, form).defer(*deferred))
    row = run_row(run)
    return render(
        request,
        "crosscheck/run_detail.html",
        {
            "run": run,
            "row": row,
            "any_hits": bool(row.hits or row.gone),
            "rule_lines": _run_rule_lines(run),
            "phases": _phases(run),
            "datasets": dataset_lines(run, linked=sources_queries.can_view(actor)),
            "snapshot_rows": sorted(run.counts.get("snapshot", {}).items()),
            "form": form,
            "page": page,
            "lines": run_hit_lines(page),
            "query": query_without_page(request),
            "can_export": form.is_valid() and has_permission(actor, EXPORT_PERM),
        },
    )


_EXPORT_HEADERS = (
    "比对运行",
    "规则代码",
    "规则名称",
    "变化",
    "学生姓名",
    "身份证号（脱敏）",
    "学校",
    "年级",
    "班级",
    "最近一次比对",
    "核查结论",
    "线索编号",
    "证据",
)


class _Counter:
    def __init__(self) -> None:
        self.value = 0


def _export_rows(run: Run, run_hits: QuerySet[RunHit], counter: _Counter) -> Iterator[list[Any]]:
    for run_hit in run_hits.iterator(chunk_size=2000):
        counter.value += 1
        hit, student = run_hit.hit, run_hit.hit.student
        clue = run_hit.clue or hit.clue
        rule = get_rule(hit.rule)
        yield [
            run.number,
            hit.rule,
            rule.title if rule else hit.rule,
            run_hit.get_change_display(),
            student.name,
            mask(student.id_number, Sensitive.ID_NUMBER),
            hit.school.name,
            student.grade,
            student.class_name,
            "仍命中" if hit.present else "已消失",
            hit.get_verdict_display(),
            clue.number if clue else "",
            "；".join(str(item.get("detail", "")) for item in hit.evidence),
        ]


@require_GET
def run_export(request: HttpRequest, pk: int) -> HttpResponse:
    """A run's hits as XLSX, filtered as on the page. Names with their findings are personal
    data: the export needs the student-export permission and leaves an audit row."""
    actor = actor_of(request)
    require_view(actor)
    require_permission(actor, EXPORT_PERM)
    run = get_run(pk)
    form = _run_filter(request, actor)
    run_hits = _filtered_run_hits(actor, run, form).defer(
        *[f"hit__{name}" for name in LIST_DEFERRED if name != "evidence"]
    )
    counter = _Counter()
    response = xlsx_response(
        f"比对命中-第{run.number}次.xlsx",
        _EXPORT_HEADERS,
        _export_rows(run, run_hits, counter),
        sheet="比对命中",
    )
    record_export(
        "crosscheck.hits_exported",
        actor=actor,
        perm=EXPORT_PERM,
        filters={"run": str(run.number), **form.described()},
        rows=counter.value,
        org_unit=form.cleaned_data.get("school") if form.is_valid() else None,
        subject=run,
    )
    return response
