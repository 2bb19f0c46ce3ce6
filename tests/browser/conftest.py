"""Playwright drives Debian's Chromium (stack-notes.md); Playwright never downloads a browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

# Playwright's sync API keeps an event loop running in this thread, so Django would refuse the
# test's own database calls as "async unsafe"; the live server runs in its own thread anyway.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright has no option for the executable, so override its launch arguments."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: run `make browser-deps`.")
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _setup_connections(django_db_setup: None) -> dict[str, BaseDatabaseWrapper]:
    """The connection objects the test databases were created on, taken before Playwright."""
    return {alias: connections[alias] for alias in connections}


@pytest.fixture(scope="session", autouse=True)
def _same_connections_under_playwright(
    _setup_connections: dict[str, BaseDatabaseWrapper], playwright: Any
) -> Iterator[None]:
    """Keep using those connection objects once Playwright runs.

    Django keeps connections in an asgiref Local, which turns into a per-context store as soon
    as an event loop runs in the thread — and Playwright's sync API leaves one running. The
    tests would then get fresh connection objects without the serialized reference data
    (district, towns, calendar) that `serialized_rollback` restores after each flush.
    """
    for alias, wrapper in _setup_connections.items():
        connections[alias] = wrapper
    yield


@pytest.fixture(scope="module", autouse=True)
def _restore_reference_data_after_module(
    django_db_blocker: Any, _same_connections_under_playwright: None
) -> Iterator[None]:
    """Leave the migrated reference data behind for whatever the worker runs next.

    Each live-server test ends with a flush; `serialized_rollback` reloads the data only at
    the start of the next such test, so tests that follow these (pytest-django runs tests
    whose database use it cannot see after the transactional ones) would find no district.
    """
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            contents = getattr(connections[alias], "_test_serialized_contents", None)
            if contents:
                connections[alias].creation.deserialize_db_from_string(contents)


@pytest.fixture
def demo_site(live_server: Any) -> str:
    """A small demo district on the live server, with students at the demo school and the
    calendar reaching into next year (clue deadlines and payment periods may)."""
    from zizhu.aid.demo import enrol_demo_students, ensure_demo_calendar
    from zizhu.registry.demo import seed_demo

    seed_demo(students=60, seed=1)
    ensure_demo_calendar()
    # The small district leaves the demo school without students: enrol a few.
    enrol_demo_students(3, seed=1)
    return str(live_server.url)
