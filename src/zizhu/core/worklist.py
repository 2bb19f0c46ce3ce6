"""The home page's work list. Each later app contributes its items (applications to review,
clues due, batches to approve); the foundation has none yet, so the list is empty."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from zizhu.core.models import User


@dataclass(frozen=True)
class WorkItem:
    title: str
    url: str
    due_on: date | None = None
    overdue: bool = False


WorkSource = Callable[[User], list[WorkItem]]
SOURCES: list[WorkSource] = []


def register(source: WorkSource) -> WorkSource:
    SOURCES.append(source)
    return source


def work_items_for(actor: User) -> list[WorkItem]:
    items = [item for source in SOURCES for item in source(actor)]
    return sorted(items, key=lambda item: (item.due_on is None, item.due_on or date.max))
