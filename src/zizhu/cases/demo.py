"""The clue half of the demo district: clues in every state, from several channels, two of
them overdue and escalated (issue 5, "The demo district has clues in every state, some
overdue").

It builds on `registry.demo.seed_demo` and acts only through the intake and handling
services, as the demo accounts: demo_district registers, assigns, decides, replies and
closes; demo_officer (certified, at 邾城街中心小学) verifies; the public form and an appeal
come from a member of the public.

One thing here is not how the live system works, and only the demo does it: time travel.
Every step is dated today, so no clue could be overdue yet. After the services have made the
two clues meant to be late, their `due_on` is moved to a past working day with a queryset
update (bypassing the services and the audit log), and then `sweep_deadlines` runs for real:
it marks them overdue and escalates them, with its notifications, events and audit rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from zizhu.cases.models import (
    Channel,
    Clue,
    ClueStatus,
    FamilyAnswer,
    InvestigationKind,
    Opinion,
    ReplyMethod,
)
from zizhu.cases.services import handling, intake
from zizhu.cases.services.deadlines import sweep_deadlines
from zizhu.core.calendar import is_working_day
from zizhu.core.errors import DomainError
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import home_unit
from zizhu.registry.models import Student

DISTRICT = "demo_district"
OFFICER = "demo_officer"
DEMO_IP = "127.0.0.1"
# How many working days before today the overdue clues' steps fell due.
OVERDUE_BY = 2

ALLEGATIONS: dict[str, str] = {
    Channel.HOTLINE: "来电反映该生家庭近期新购小汽车一辆，与认定的困难等级不符，请核实。",
    Channel.LETTER: "来信反映该生父母均在外务工，收入稳定，家庭经济情况已明显好转。",
    Channel.VISIT: "家长来访反映同班同学家庭经营门店，却享受一档资助，请求核查。",
    Channel.STUDENT_UNION: "学生会反映该生日常消费较高，与困难情况不符。",
    Channel.PARENT_MEETING: "家长会上有家长反映该生家庭已搬入新建住房。",
    Channel.MEDIA: "本地媒体报道中提及该校资助名单存在优亲厚友情况，请核查。",
    Channel.SUPERVISION: "日常监管中发现该生银行卡持卡人与监护人信息不一致。",
    Channel.SELF_DECLARATION: "监护人主动申报：家庭成员已稳定就业，申请调整资助等级。",
}
PUBLIC_ALLEGATION = "我反映一下邾城街中心小学的资助情况，有学生家里条件很好也拿了补助，希望核实。"


@dataclass(frozen=True)
class ClueDemoSummary:
    clues: int
    by_status: dict[str, int]
    escalated: int


@dataclass(frozen=True)
class _Cast:
    district: User
    officer: User
    school: OrgUnit
    students: list[Student]


def _cast(rng: random.Random) -> _Cast:
    users = {u.username: u for u in User.objects.filter(username__in=(DISTRICT, OFFICER))}
    if len(users) != 2:
        raise DomainError("缺少演示账号，请先执行 zizhu seed-demo。")
    school = home_unit(users[OFFICER], "clue:verify")
    if school is None:
        raise DomainError("演示账号 demo_officer 没有学校岗位，请重新生成演示数据。")
    pool = list(Student.objects.filter(school=school).order_by("pk").values_list("pk", flat=True))
    chosen = rng.sample(pool, k=min(len(pool), 8))
    students = list(Student.objects.filter(pk__in=chosen).order_by("pk"))
    return _Cast(users[DISTRICT], users[OFFICER], school, students)


def _student(cast: _Cast, index: int) -> list[Student]:
    return [cast.students[index % len(cast.students)]] if cast.students else []


def _register(cast: _Cast, channel: str, index: int) -> Clue:
    return intake.register_clue(
        actor=cast.district,
        channel=channel,
        allegation=ALLEGATIONS[channel],
        students=_student(cast, index),
        school=cast.school,
    )


def _assigned(cast: _Cast, channel: str, index: int) -> Clue:
    clue = _register(cast, channel, index)
    return handling.assign_clue(
        clue, actor=cast.district, school=cast.school, note="请于期限内核实并提交结论。"
    )


def _submitted(cast: _Cast, channel: str, index: int, *, disputed: bool = False) -> Clue:
    clue = _assigned(cast, channel, index)
    today = timezone.localdate()
    if disputed:
        handling.record_investigation(
            clue,
            actor=cast.officer,
            kind=InvestigationKind.HOME_VISIT,
            done_on=today,
            findings="入户走访：家庭住房为自建老房，未见新购车辆；邻里反映情况属实部分待核。",
        )
    handling.submit_verification(
        clue,
        actor=cast.officer,
        contacted_on=today,
        contacted_person="学生监护人",
        contact_method="电话联系并到校面谈",
        answer=FamilyAnswer.DISPUTED if disputed else FamilyAnswer.CONFIRMED,
        conclusion="经核实，反映情况不属实，家庭经济困难情况与认定等级相符。",
        opinion=Opinion.CONTINUE,
    )
    clue.refresh_from_db()
    return clue


def _decided(cast: _Cast, channel: str, index: int) -> Clue:
    clue = _submitted(cast, channel, index)
    handling.decide_clue(
        clue,
        actor=cast.district,
        opinion=Opinion.CONTINUE,
        reasoning="同意学校核实结论，继续资助。",
    )
    clue.refresh_from_db()
    return clue


def _closed(cast: _Cast, channel: str, index: int) -> Clue:
    clue = _decided(cast, channel, index)
    handling.reply_to_clue(
        clue,
        actor=cast.district,
        method=ReplyMethod.ORAL,
        replied_on=timezone.localdate(),
        content="经学校核实，反映情况不属实，该生继续享受资助。感谢您的监督。",
    )
    return handling.close_clue(clue, actor=cast.district)


def _appealed(cast: _Cast) -> Clue:
    clue, _code = intake.submit_public_report(
        allegation=PUBLIC_ALLEGATION, school=cast.school, contact="13800000000", ip=DEMO_IP
    )
    clue = handling.assign_clue(clue, actor=cast.district, school=cast.school)
    handling.submit_verification(
        clue,
        actor=cast.officer,
        contacted_on=timezone.localdate(),
        contacted_person="相关学生监护人",
        contact_method="到校面谈",
        answer=FamilyAnswer.CONFIRMED,
        conclusion="经核实，所涉学生家庭经济困难情况属实。",
        opinion=Opinion.NOT_APPLICABLE,
    )
    clue.refresh_from_db()
    handling.decide_clue(
        clue,
        actor=cast.district,
        opinion=Opinion.NOT_APPLICABLE,
        reasoning="反映情况经核实不属实，不涉及资助调整。",
    )
    handling.reply_to_clue(
        clue,
        actor=cast.district,
        method=ReplyMethod.WRITTEN,
        replied_on=timezone.localdate(),
        content="经核实，您反映的情况不属实，相关学生符合资助条件。",
    )
    handling.close_clue(clue, actor=cast.district)
    handling.lodge_appeal(clue, text="对答复不满意，该生家里确有新车，请再次核查。")
    clue.refresh_from_db()
    return clue


def past_working_day(today: date, working_days: int) -> date:
    """The working day `working_days` working days before today."""
    day, counted = today, 0
    while counted < working_days:
        day -= timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def _make_overdue(clues: list[Clue]) -> int:
    """Time travel (see the module docstring): only the due date moves; the sweep does the
    rest exactly as it would on a real late morning."""
    today = timezone.localdate()
    Clue.objects.filter(pk__in=[c.pk for c in clues]).update(
        due_on=past_working_day(today, OVERDUE_BY)
    )
    return sweep_deadlines(today=today).escalated


@transaction.atomic
def seed_demo_clues(*, seed: int = 1) -> ClueDemoSummary:
    """Seed demo clues into a database seeded by `zizhu seed-demo`; once only."""
    # Objections raised by the aid demo's notices arrive as clues on their own; any other
    # clue means the demo clues were seeded already (or this is not a demo database).
    if Clue.objects.exclude(channel=Channel.NOTICE_OBJECTION).exists():
        raise DomainError("库中已有线索：演示线索只能生成在没有其他线索的库中。")
    rng = random.Random(seed)  # noqa: S311 - reproducible fictitious data, not secrets
    cast = _cast(rng)
    _register(cast, Channel.HOTLINE, 0)
    intake.submit_public_report(allegation=PUBLIC_ALLEGATION, school=cast.school, ip=DEMO_IP)
    _assigned(cast, Channel.LETTER, 1)
    late_at_school = _assigned(cast, Channel.VISIT, 2)
    _submitted(cast, Channel.STUDENT_UNION, 3)
    late_at_district = _submitted(cast, Channel.PARENT_MEETING, 4, disputed=True)
    _decided(cast, Channel.MEDIA, 5)
    _closed(cast, Channel.SUPERVISION, 6)
    _closed(cast, Channel.SELF_DECLARATION, 7)
    _appealed(cast)
    escalated = _make_overdue([late_at_school, late_at_district])
    counts = dict.fromkeys(ClueStatus.values, 0)
    for status in Clue.objects.values_list("status", flat=True):
        counts[status] += 1
    return ClueDemoSummary(clues=sum(counts.values()), by_status=counts, escalated=escalated)
