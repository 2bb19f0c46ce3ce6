"""Guardians without an ID number linked to officials (placeholder until Splink lands)."""

from __future__ import annotations

from typing import Any


def link_guardians(con: Any, *, floor: float | None = None) -> int:
    con.execute(
        "CREATE OR REPLACE TABLE guardian_link (guardian_id BIGINT, official_key VARCHAR,"
        " probability DOUBLE)"
    )
    return 0
