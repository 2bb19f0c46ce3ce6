"""PLACEHOLDER: to be written."""

from django.http import HttpRequest, HttpResponse


def status_change_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def ledger_evidence(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
