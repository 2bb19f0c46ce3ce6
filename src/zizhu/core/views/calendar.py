"""PLACEHOLDER: to be written."""
from django.http import HttpRequest, HttpResponse


def calendar_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def calendar_edit(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def calendar_complete(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
