"""PLACEHOLDER: to be written."""
from django.http import HttpRequest, HttpResponse


def audit_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def audit_export(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def audit_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
