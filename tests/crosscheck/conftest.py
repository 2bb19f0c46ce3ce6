"""Fixtures shared by the cross-check tests."""

from tests.crosscheck.planted import planted_district as planted_district
