"""The bank's result file (发放回盘, exchange-formats.md) and what follows a failed payment
(issue 7, "Batches"): successes close lines, failures go back to the school to fix the card
and into the next batch of the same programme and period. Re-importing the same file changes
nothing; a file whose totals differ from what the batch exported is refused whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from zizhu.aid.models import AwardStatus
from zizhu.core import audit, worklist
from zizhu.core.crypto import Sensitive, blind_index
from zizhu.core.errors import Conflict, ImportRejected, InvalidTransition
from zizhu.core.models import Role, User
from zizhu.core.reach import assignments_of, require_permission, scope_for
from zizhu.core.tabular import (
    Column,
    Row,
    RowError,
    Source,
    amount,
    bank_account,
    choice,
    id_number,
    read_table,
    text,
)
from zizhu.payments.models import (
    BankResultImport,
    BatchStatus,
    LineStatus,
    PaymentBatch,
    PaymentLine,
)

MANAGE_PERM = "payment:manage"
SUCCESS = "成功"
FAILURE = "失败"
DEFAULT_FAILURE_REASON = "银行未注明原因"
# Lines that went to the bank: the ones a result file answers for.
EXPORTED_LINE_STATUSES = (LineStatus.PAYABLE, LineStatus.PAID, LineStatus.FAILED)

RESULT_COLUMNS = (
    Column("批次号", "batch_no", text(30)),
    Column("身份证号", "id_number", id_number),
    Column("银行卡号", "bank_account", bank_account),
    Column("金额", "amount", amount),
    Column("结果", "result", choice((SUCCESS, FAILURE))),
    Column("失败原因", "reason", text(200, blank=True), required=False),
)

_OUTCOME = {SUCCESS: LineStatus.PAID, FAILURE: LineStatus.FAILED}


@dataclass
class _Matched:
    changes: list[tuple[PaymentLine, str, str]]  # line, new status, reason
    errors: list[RowError]


def _line_key(id_number_value: str, account: str) -> tuple[str, str]:
    return (
        blind_index(id_number_value, Sensitive.ID_NUMBER),
        blind_index(account, Sensitive.BANK_ACCOUNT),
    )


def _match_rows(batch: PaymentBatch, rows: Iterable[Row]) -> _Matched:
    """Pair every row with its exported line, collecting the rows that do not fit."""
    lines = (
        PaymentLine.objects.select_for_update(of=("self",))
        .filter(batch=batch, status__in=EXPORTED_LINE_STATUSES)
        .select_related("student")
    )
    by_key = {(line.student.id_number_hash, line.bank_account_hash): line for line in lines}
    seen: dict[int, int] = {}
    matched = _Matched(changes=[], errors=[])
    errors = matched.errors
    for row in rows:
        if row["batch_no"] != batch.number:
            reason = f"批次号应为 {batch.number}：该行属于其他批次，请核对回盘文件。"
            errors.append(RowError(row.number, "批次号", row["batch_no"], reason))
            continue
        line = by_key.get(_line_key(row["id_number"], row["bank_account"]))
        if line is None:
            reason = "本批次没有该身份证号与银行卡号对应的发放明细，请核对。"
            errors.append(RowError(row.number, "身份证号", row["id_number"], reason))
            continue
        if line.pk in seen:
            reason = f"与第 {seen[line.pk]} 行是同一条发放明细。"
            errors.append(RowError(row.number, "身份证号", row["id_number"], reason))
            continue
        seen[line.pk] = row.number
        if row["amount"] != line.amount:
            reason = f"金额与发放明细不符：本批次应发 {line.amount} 元。"
            errors.append(RowError(row.number, "金额", str(row["amount"]), reason))
            continue
        status = _OUTCOME[row["result"]]
        reason = (row["reason"] or DEFAULT_FAILURE_REASON) if status == LineStatus.FAILED else ""
        if line.status != LineStatus.PAYABLE and line.status != status:
            shown = LineStatus(line.status).label
            message = f"该明细已有回盘结果（{shown}），与本文件不一致，请与银行核实。"
            errors.append(RowError(row.number, "结果", row["result"], message))
            continue
        matched.changes.append((line, status, reason))
    return matched


def _check_totals(batch: PaymentBatch, rows: list[Row]) -> None:
    """Seed 二(二)3: the file's totals must be the batch's, or nothing is imported."""
    expected = PaymentLine.objects.filter(batch=batch, status__in=EXPORTED_LINE_STATUSES).aggregate(
        total=Sum("amount"), count=Count("pk")
    )
    expected_total = expected["total"] or Decimal("0.00")
    expected_count = expected["count"]
    file_total = sum((row["amount"] for row in rows), Decimal("0.00"))
    if file_total != expected_total or len(rows) != expected_count:
        raise ImportRejected(
            f"回盘文件与批次 {batch.number} 的合计不符，未导入任何数据："
            f"回盘文件共 {len(rows)} 笔、合计 {file_total:.2f} 元；"
            f"本批次发往银行 {expected_count} 笔、合计 {expected_total:.2f} 元。"
            "请向银行索取本批次完整的回盘文件后重新上传。"
        )


def _apply(changes: list[tuple[PaymentLine, str, str]]) -> tuple[int, int]:
    pending = [(line, status, reason) for line, status, reason in changes if line.status != status]
    for line, status, reason in pending:
        line.status = status
        line.result_reason = reason
    PaymentLine.objects.bulk_update([line for line, _, _ in pending], ["status", "result_reason"])
    succeeded = sum(1 for _, status, _ in changes if status == LineStatus.PAID)
    return succeeded, len(changes) - succeeded


def _settle_if_complete(batch: PaymentBatch) -> bool:
    if PaymentLine.objects.filter(batch=batch, status=LineStatus.PAYABLE).exists():
        return False
    if batch.status == BatchStatus.SETTLED:
        return False
    now = timezone.now()
    updated = PaymentBatch.objects.filter(pk=batch.pk, status=BatchStatus.EXPORTED).update(
        status=BatchStatus.SETTLED, settled_at=now
    )
    if updated != 1:
        raise Conflict("该批次刚被其他人修改，请刷新页面后重试。")
    batch.status, batch.settled_at = BatchStatus.SETTLED, now
    return True


@transaction.atomic
def import_bank_results(
    batch: PaymentBatch, source: Source, filename: str, *, actor: User
) -> BankResultImport:
    """Apply one 发放回盘 file to an exported batch, all or nothing."""
    require_permission(actor, MANAGE_PERM)
    table = read_table(source, filename, RESULT_COLUMNS)
    # The lock orders concurrent imports of one batch, so the duplicate check below holds.
    locked = PaymentBatch.objects.select_for_update().get(pk=batch.pk)
    existing = BankResultImport.objects.filter(batch=locked, sha256=table.sha256).first()
    if existing is not None:
        audit.record(
            "payment.result_reimported",
            actor=actor,
            subject=locked,
            after={"sha256": table.sha256, "filename": filename, "import": existing.pk},
        )
        return existing
    if locked.status not in (BatchStatus.EXPORTED, BatchStatus.SETTLED):
        raise InvalidTransition(
            f"批次 {locked.number} 当前为“{locked.get_status_display()}”，"
            "生成银行文件后才能导入回盘文件。"
        )
    table.raise_if_errors()
    matched = _match_rows(locked, table.rows)
    table.errors.extend(matched.errors)
    table.raise_if_errors()
    _check_totals(locked, table.rows)
    succeeded, failed = _apply(matched.changes)
    result = BankResultImport.objects.create(
        batch=locked,
        sha256=table.sha256,
        rows=len(table.rows),
        succeeded=succeeded,
        failed=failed,
        imported_by=actor,
    )
    settled = _settle_if_complete(locked)
    audit.record(
        "payment.results_imported",
        actor=actor,
        subject=locked,
        after={
            "filename": filename,
            "sha256": table.sha256,
            "rows": result.rows,
            "succeeded": succeeded,
            "failed": failed,
            "settled": settled,
        },
    )
    batch.status, batch.settled_at = locked.status, locked.settled_at
    return result


# --- failures back to the school --------------------------------------------------------------


def open_failures() -> QuerySet[PaymentLine]:
    """Failed lines no later batch has taken up yet."""
    return PaymentLine.objects.filter(status=LineStatus.FAILED, retries__isnull=True)


def failed_lines_for(actor: User) -> QuerySet[PaymentLine]:
    return (
        open_failures()
        .filter(pk__in=PaymentLine.objects.visible_to(actor).values("pk"))
        .select_related("student", "school", "batch", "batch__programme")
        .order_by("school_id", "student_id", "pk")
    )


def _officer_school_ids(actor: User) -> set[int]:
    view_scope = scope_for(actor, "payment:view")
    return {
        a.org_unit_id
        for a in assignments_of(actor)
        if a.role == Role.SCHOOL_OFFICER and view_scope.covers(a.org_unit_id)
    }


@worklist.register
def failed_payments(actor: User) -> list[worklist.WorkItem]:
    """The school's officers fix the cards of students whose payment the bank returned."""
    schools = _officer_school_ids(actor)
    if not schools:
        return []
    count = open_failures().filter(school_id__in=schools).count()
    if not count:
        return []
    title = f"{count} 条资助发放失败，请核对银行卡信息"
    return [worklist.WorkItem(title=title, url=reverse("payments:failed_lines"))]


def _paid_awards(batch: PaymentBatch) -> QuerySet[PaymentLine, int]:
    """Awards already paid for this programme and period: nothing is owed on them."""
    return PaymentLine.objects.filter(
        status=LineStatus.PAID,
        batch__programme_id=batch.programme_id,
        batch__school_year_id=batch.school_year_id,
        batch__semester_id=batch.semester_id,
    ).values_list("award_id", flat=True)


@transaction.atomic
def retry_failed(batch: PaymentBatch, *, actor: User) -> int:
    """Put the failed lines of earlier batches of the same programme and period into `batch`.

    Each new line carries the student's card as it is now (the school has fixed it) and points
    at the failed one (`retry_of`), which takes it off the school's work list. A line the batch
    already holds for the same award is linked rather than added (one line per award and
    batch). The pre-payment check then decides whether the new lines may be paid.
    """
    require_permission(actor, MANAGE_PERM)
    if batch.status not in (BatchStatus.DRAFT, BatchStatus.CHECKED):
        raise InvalidTransition("批次审批后不能再补入发放失败的明细。")
    failed = (
        open_failures()
        .filter(
            batch__programme_id=batch.programme_id,
            batch__school_year_id=batch.school_year_id,
            batch__semester_id=batch.semester_id,
            batch__created_at__lte=batch.created_at,
            award__status=AwardStatus.LIVE,
        )
        .exclude(batch=batch)
        .exclude(award_id__in=_paid_awards(batch))
        .select_related("student")
        .order_by("pk")
    )
    present: dict[int, int] = dict(
        PaymentLine.objects.filter(batch=batch).values_list("award_id", "pk")
    )
    added: list[PaymentLine] = []
    linked = 0
    for line in failed:
        if line.award_id in present:
            linked += PaymentLine.objects.filter(
                pk=present[line.award_id], retry_of__isnull=True
            ).update(retry_of=line)
            continue
        present[line.award_id] = 0  # one retry per award, even if it failed twice
        added.append(
            PaymentLine(
                batch=batch,
                award_id=line.award_id,
                student=line.student,
                school_id=line.school_id,
                amount=line.amount,
                bank_account=line.student.bank_account or "",
                status=LineStatus.PAYABLE,
                retry_of=line,
            )
        )
    PaymentLine.objects.bulk_create(added)
    if added or linked:
        audit.record(
            "payment.failed_lines_retried",
            actor=actor,
            subject=batch,
            after={"added": len(added), "linked": linked},
        )
    return len(added) + linked
