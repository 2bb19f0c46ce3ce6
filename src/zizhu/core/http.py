"""Small helpers every list view shares: the actor, pagination, XLSX downloads."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import xlsxwriter
from django.core.paginator import Page, Paginator
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property

from zizhu.core.models import User

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")

PER_PAGE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def actor_of(request: HttpRequest) -> User:
    """The signed-in user; LoginRequiredMiddleware guarantees one on non-public paths."""
    user = request.user
    assert isinstance(user, User)  # noqa: S101 -- guaranteed by the login wall
    return user


COUNT_CAP = 10_000


class CappedPaginator(Paginator[T]):
    """Counts at most COUNT_CAP + 1 rows. An exact COUNT(*) over a district's 200,000
    students costs more than the page itself; past the cap the page says "超过 10000 条" and
    people narrow the search instead of paging."""

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, models.QuerySet):
            # The order only costs a join and a sort in a count.
            return rows.order_by()[: COUNT_CAP + 1].count()
        return len(list(rows[: COUNT_CAP + 1]))

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP


def paginate(
    request: HttpRequest, queryset: models.QuerySet[Any, T], per_page: int = PER_PAGE
) -> Page[T]:
    """The requested page; out-of-range or malformed page numbers fall back to the nearest."""
    return CappedPaginator(queryset, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current filters as a query string, for pager and export links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def xlsx_response(
    filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1"
) -> HttpResponse:
    """An XLSX download. Every cell is written as text so ID-like values keep their digits."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    worksheet = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True})
    worksheet.write_row(0, 0, list(headers), bold)
    for index, row in enumerate(rows, start=1):
        worksheet.write_row(index, 0, ["" if cell is None else str(cell) for cell in row])
    workbook.close()
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
