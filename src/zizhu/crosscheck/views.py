"""Cross-check screens (issue 6): the rules with their statistics and the latest runs,
"立即运行" behind a confirmation step and its progress, one run with its hits and their export,
one rule with its SQL, one hit's evidence, and the list of all hits.

Every page needs district-wide `crosscheck:view` (403 otherwise); hits are read through
`services.hits`, so a hit out of reach answers 404 like a missing one. ID numbers appear
masked only, on the pages and in the export (architecture.md, "Personal data").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from zizhu.core.crypto import Sensitive, mask
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.http import actor_of, paginate, query_without_page, xlsx_response
from zizhu.core.models import Job, OrgUnit, User
from zizhu.core.reach import has_permission, require_permission, scope_for
from zizhu.core.services import record_export
from zizhu.core.views.jobs import STATUS_CSS, get_job_for
from zizhu.crosscheck import snapshot
from zizhu.crosscheck.forms import HitFilterForm
from zizhu.crosscheck.models import Hit, Run, RunHit, RunStatus
from zizhu.crosscheck.rules import Param, Rule, all_rules, get_rule
from zizhu.crosscheck.services.hits import (
    RUN_PERM,
    VIEW_PERM,
    RuleStats,
    get_hit_for,
    hits_visible_to,
    rule_stats,
    run_hits_visible_to,
)
from zizhu.crosscheck.services.runs import JOB_KIND, require_runner, start_run
from zizhu.sources import queries as sources_queries
from zizhu.sources.models import DatasetKind, DatasetVersion

EXPORT_PERM = "student:export"
_CONFIRM = "confirm"
RUNS_PER_PAGE = 10

# Where a piece of evidence comes from: a department dataset, or the platform's own data.
SOURCE_LABELS: dict[str, str] = {
    **dict(DatasetKind.choices),
    "register": "学籍档案",
    "awards": "资助名单",
    "guardian": "监护人信息",
    "staff": "教职工名册",
    "cadre": "领导干部",
    "village_cadre": "村社区干部",
    "phone": "联系电话",
    "linked": "监护人姓名住址关联",
}

RUN_STATUS_CSS: dict[str, str] = {
    RunStatus.RUNNING: "warn",
    RunStatus.SUCCEEDED: "ok",
    RunStatus.FAILED: "bad",
}

# Encrypted or long columns a hit list never shows: each one left out is a decryption less.
_LIST_DEFERRED = (
    "evidence",
    "student__phone",
    "student__bank_account",
    "student__card_holder_id",
    "student__hukou_address",
    "student__home_address",
)


# --- reach ----------------------------------------------------------------------------------


def _require_view(actor: User) -> None:
    """The results cover the whole district: only district-level roles read them."""
    require_permission(actor, VIEW_PERM)
    if not scope_for(actor, VIEW_PERM).everything:
        raise NotPermitted("大数据比对结果为全区数据，仅区级岗位可以查看。")


def _can_run(actor: User) -> bool:
    return scope_for(actor, RUN_PERM).everything


def _schools(actor: User) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.visible_to(actor, VIEW_PERM).schools().order_by("code")


def _get_run(pk: int) -> Run:
    run = Run.objects.select_related("actor", "job").filter(pk=pk).first()
    if run is None:
        raise OutOfReach()
    return run


# --- display helpers ------------------------------------------------------------------------


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(item) for item in value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _seconds(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f} 秒"


@dataclass(frozen=True)
class ParamLine:
    param: Param
    value: str
    default: str


def _param_lines(rule: Rule) -> list[ParamLine]:
    values = rule.param_values()
    return [ParamLine(p, _shown(values[p.name]), _shown(p.default)) for p in rule.params]


@dataclass(frozen=True)
class RuleRow:
    stats: RuleStats
    params: list[ParamLine]

    @property
    def rule(self) -> Rule:
        return self.stats.rule

    @property
    def precision(self) -> str:
        return _percent(self.stats.precision)


@dataclass(frozen=True)
class DatasetLine:
    label: str
    number: int
    as_of: str
    rows: int | None
    url: str | None


def _dataset_lines(run: Run, *, linked: bool) -> list[DatasetLine]:
    """The department data a run read, each linked to its version page where it still is."""
    used = run.dataset_versions
    present: set[int] = set()
    if linked:
        ids = [info.get("id") for info in used.values()]
        present = set(DatasetVersion.objects.filter(pk__in=ids).values_list("pk", flat=True))
    return [
        DatasetLine(
            label=SOURCE_LABELS.get(kind, kind),
            number=int(info.get("number", 0)),
            as_of=str(info.get("as_of", "")),
            rows=info.get("rows"),
            url=(
                reverse("sources:version_detail", args=[info["id"]])
                if info.get("id") in present
                else None
            ),
        )
        for kind, info in used.items()
    ]


@dataclass(frozen=True)
class RunRow:
    run: Run
    datasets: str
    hits: int
    opened: int
    gone: int
    clues: int

    @property
    def status_css(self) -> str:
        return RUN_STATUS_CSS.get(self.run.status, "warn")


def _run_row(run: Run) -> RunRow:
    tallies = run.counts.get("rules", {}).values()
    datasets = "、".join(
        f"{SOURCE_LABELS.get(kind, kind)} 第{info.get('number')}版"
        for kind, info in run.dataset_versions.items()
    )
    return RunRow(
        run=run,
        datasets=datasets or "未使用部门数据",
        hits=sum(int(t.get("hits", 0)) for t in tallies),
        opened=sum(int(t.get("new", 0)) + int(t.get("reopened", 0)) for t in tallies),
        gone=sum(int(t.get("gone", 0)) for t in tallies),
        clues=int(run.counts.get("clues", 0)),
    )


@dataclass(frozen=True)
class HitLine:
    """One row of a hit list: the hit, its student's masked ID number, and the clue shown."""

    hit: Hit
    id_masked: str
    change: str = ""
    clue_pk: int | None = None
    clue_number: str = ""

    @property
    def rule_title(self) -> str:
        rule = get_rule(self.hit.rule)
        return rule.title if rule else self.hit.rule


def _hit_lines(hits: Iterable[Hit]) -> list[HitLine]:
    return [
        HitLine(
            hit=hit,
            id_masked=mask(hit.student.id_number, Sensitive.ID_NUMBER),
            clue_pk=hit.clue_id,
            clue_number=hit.clue.number if hit.clue else "",
        )
        for hit in hits
    ]


def _run_hit_lines(run_hits: Iterable[RunHit]) -> list[HitLine]:
    lines = []
    for run_hit in run_hits:
        # The clue this run opened; for a hit only still present, the one it opened before.
        clue = run_hit.clue or run_hit.hit.clue
        lines.append(
            HitLine(
                hit=run_hit.hit,
                id_masked=mask(run_hit.hit.student.id_number, Sensitive.ID_NUMBER),
                change=run_hit.get_change_display(),
                clue_pk=clue.pk if clue else None,
                clue_number=clue.number if clue else "",
            )
        )
    return lines


# --- home and "立即运行" -----------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _require_view(actor)
    rows = [RuleRow(stats, _param_lines(stats.rule)) for stats in rule_stats(actor)]
    page = paginate(request, Run.objects.select_related("actor"), per_page=RUNS_PER_PAGE)
    return render(
        request,
        "crosscheck/home.html",
        {
            "rules": rows,
            "page": page,
            "runs": [_run_row(run) for run in page],
            "can_run": _can_run(actor),
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
    _require_view(actor)
    require_runner(actor)
    if request.POST.get("step") != _CONFIRM:
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
    _require_view(actor)
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
                seconds=_seconds(run.timings.get("rules", {}).get(code)),
                counts=run.counts.get("rules", {}).get(code, {}),
                params="；".join(f"{labels.get(k, k)}：{_shown(v)}" for k, v in params.items()),
            )
        )
    return lines


def _phases(run: Run) -> list[tuple[str, str]]:
    timings = run.timings
    return [
        ("读取数据快照", _seconds(timings.get("snapshot"))),
        ("关联无身份证号的监护人", _seconds(timings.get("linkage"))),
        ("运行比对规则", _seconds(sum(timings.get("rules", {}).values()) or None)),
        ("记录结果并生成线索", _seconds(timings.get("record"))),
        ("合计", _seconds(timings.get("total"))),
    ]


def _run_filter(request: HttpRequest, actor: User) -> HitFilterForm:
    return HitFilterForm(request.GET, schools=_schools(actor), fields=("rule", "change", "school"))


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
    _require_view(actor)
    run = _get_run(pk)
    form = _run_filter(request, actor)
    deferred = [f"hit__{name}" for name in _LIST_DEFERRED]
    page = paginate(request, _filtered_run_hits(actor, run, form).defer(*deferred))
    row = _run_row(run)
    return render(
        request,
        "crosscheck/run_detail.html",
        {
            "run": run,
            "row": row,
            "any_hits": bool(row.hits or row.gone),
            "rule_lines": _run_rule_lines(run),
            "phases": _phases(run),
            "datasets": _dataset_lines(run, linked=sources_queries.can_view(actor)),
            "snapshot_rows": sorted(run.counts.get("snapshot", {}).items()),
            "form": form,
            "page": page,
            "lines": _run_hit_lines(page),
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
    _require_view(actor)
    require_permission(actor, EXPORT_PERM)
    run = _get_run(pk)
    form = _run_filter(request, actor)
    run_hits = _filtered_run_hits(actor, run, form).defer(
        *[f"hit__{name}" for name in _LIST_DEFERRED if name != "evidence"]
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


# --- one rule, all hits -----------------------------------------------------------------------


def _hit_list_queryset(actor: User) -> QuerySet[Hit]:
    return (
        hits_visible_to(actor)
        .select_related("first_run", "last_run")
        .defer(*_LIST_DEFERRED)
        .order_by("-last_run__number", "rule", "school__code", "student__name", "pk")
    )


@require_GET
def rule_detail(request: HttpRequest, code: str) -> HttpResponse:
    actor = actor_of(request)
    _require_view(actor)
    rule = get_rule(code)
    if rule is None:
        raise Http404("没有这条比对规则。")
    stats = next(s for s in rule_stats(actor) if s.rule.code == code)
    form = HitFilterForm(
        request.GET, schools=_schools(actor), fields=("present", "verdict", "school")
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
            "precision": _percent(stats.precision),
            "params": _param_lines(rule),
            "form": form,
            "page": page,
            "lines": _hit_lines(page),
            "query": query_without_page(request),
        },
    )


@require_GET
def hit_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _require_view(actor)
    form = HitFilterForm(
        request.GET,
        schools=_schools(actor),
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
            "lines": _hit_lines(page),
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
                probability=_percent(float(probability)) if probability is not None else "",
            )
        )
    return lines


@require_GET
def hit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    _require_view(actor)
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
