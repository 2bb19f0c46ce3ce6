"""The demo district has paid batches for the past semester (issue 7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from tests.cases.test_deadlines import set_today
from zizhu.aid.models import Term
from zizhu.core.audit import verify_chain
from zizhu.core.models import User
from zizhu.core.worklist import work_items_for
from zizhu.payments.demo import FAILURE_REASON
from zizhu.payments.models import BatchStatus, FundEntry, FundEntryKind, LineStatus, PaymentBatch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # The clue demo files public reports, which count against the per-network hourly limit
    # in the (per-process) cache: leave none behind for the other demo tests on this worker.
    cache.clear()
    yield
    cache.clear()


def test_demo_district_has_a_paid_batch_for_the_past_semester(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The clue demo's working-day arithmetic needs a day inside the seeded calendar.
    set_today(monkeypatch, date(2026, 11, 26))
    out = StringIO()

    call_command("seed_demo", "--students", "300", "--seed", "3", stdout=out)

    batch = PaymentBatch.objects.get(
        status=BatchStatus.SETTLED,
        school_year__code="2025-2026",
        semester__term=Term.SPRING,
    )
    assert batch.approved_by is not None
    assert batch.approved_by.username == "demo_head"
    paid = batch.lines.filter(status=LineStatus.PAID)
    failed = batch.lines.filter(status=LineStatus.FAILED)
    assert paid.exists()
    assert failed.count() == 1
    assert failed.get().result_reason == FAILURE_REASON
    assert not batch.lines.filter(status=LineStatus.PAYABLE).exists()
    officer = User.objects.get(username="demo_officer")
    assert any("发放失败" in item.title for item in work_items_for(officer))
    assert FundEntry.objects.filter(batch=batch, kind=FundEntryKind.DISBURSEMENT).exists()
    assert f"成功 {paid.count()} 笔、失败 1 笔" in out.getvalue()
    assert verify_chain().ok
