"""The aid demo: every application state, live notices of each round, awards, and an
intact audit chain, all on top of the demo district."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from zizhu.aid.demo import PLAN, SECOND_OFFICER, seed_aid_demo
from zizhu.aid.models import Application, AppStatus, Award, Notice, NoticeRound
from zizhu.aid.services.notices import (
    NoticeState,
    live_district_notices,
    notice_token,
    public_entries,
    state_filter,
)
from zizhu.core import audit
from zizhu.core.errors import DomainError
from zizhu.core.models import User
from zizhu.core.services import live_certificate
from zizhu.registry.demo import seed_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded() -> dict[str, Any]:
    seed_demo(students=300, seed=1)
    return seed_aid_demo(seed=1)


def test_every_application_state_is_present(seeded: dict[str, Any]) -> None:
    present = set(Application.objects.values_list("status", flat=True))
    assert present == set(AppStatus.values)
    assert seeded["applications"] == Application.objects.count()


def test_each_round_has_a_live_notice(seeded: dict[str, Any]) -> None:
    live = Notice.objects.filter(state_filter(NoticeState.LIVE))
    assert set(live.values_list("round", flat=True)) == set(NoticeRound.values)
    # The applications left at a round are on that round's live notice.
    for round_, status in (
        (1, AppStatus.NOTICE_1),
        (2, AppStatus.NOTICE_2),
        (3, AppStatus.NOTICE_3),
    ):
        waiting = set(Application.objects.filter(status=status).values_list("pk", flat=True))
        listed = set(live.filter(round=round_).values_list("applications", flat=True))
        assert waiting and waiting <= listed


def test_the_round3_notice_is_on_the_portal(seeded: dict[str, Any], client: Client) -> None:
    notice = live_district_notices().get()
    home = client.get(reverse("portal:home"))
    assert notice.title in home.content.decode()
    page = client.get(reverse("portal:notice_detail", args=[notice_token(notice)]))
    assert page.status_code == 200
    body = page.content.decode()
    entries = public_entries(notice)
    assert entries
    for entry in entries:
        assert entry.name in body
    for app in notice.applications.select_related("student"):
        assert str(app.student.id_number) not in body


def test_awards_exist_for_the_awarded(seeded: dict[str, Any]) -> None:
    awarded = Application.objects.filter(status=AppStatus.AWARDED)
    assert awarded.exists()
    assert Award.objects.filter(application__in=awarded).count() == awarded.count()


def test_the_second_officer_is_certified_and_reviewed(seeded: dict[str, Any]) -> None:
    officer2 = User.objects.get(username=SECOND_OFFICER)
    assert live_certificate(officer2) is not None
    reviewed = Application.objects.filter(
        events__to_status=AppStatus.SCHOOL_REVIEWED, events__actor=officer2
    )
    assert reviewed.exists()
    assert not reviewed.filter(submitted_by=officer2).exists()


def test_the_audit_chain_verifies(seeded: dict[str, Any]) -> None:
    report = audit.verify_chain()
    assert report.ok, report.reason


class _Undo(Exception):
    pass


def _seed_and_read(seed: int) -> list[tuple[str, str, str]]:
    """Seed both halves inside a savepoint, read what was made, then roll it back."""
    made: list[tuple[str, str, str]] = []
    try:
        with transaction.atomic():
            seed_demo(students=300, seed=1)
            seed_aid_demo(seed=seed)
            made = sorted(Application.objects.values_list("student__name", "status", "tier__code"))
            raise _Undo
    except _Undo:
        pass
    return made


def test_the_same_seed_gives_the_same_demo() -> None:
    first = _seed_and_read(1)
    assert len(first) == sum(count for _, count in PLAN)
    assert _seed_and_read(1) == first


def test_a_second_run_is_refused() -> None:
    seed_demo(students=300, seed=1)
    seed_aid_demo(seed=1)
    with pytest.raises(DomainError, match="只能生成一次"):
        seed_aid_demo(seed=1)


def test_the_command_reports_what_it_made(capsys: pytest.CaptureFixture[str]) -> None:
    seed_demo(students=300, seed=1)
    call_command("seed_demo_aid", "--seed", "1")
    out = capsys.readouterr().out
    assert "已生成资助演示数据" in out
    assert SECOND_OFFICER in out
