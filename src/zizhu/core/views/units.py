"""PLACEHOLDER: to be written."""
from django.http import HttpRequest, HttpResponse


def unit_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def unit_export(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def unit_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
