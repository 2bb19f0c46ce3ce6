"""PLACEHOLDER: to be written."""

from django.http import HttpRequest, HttpResponse


def import_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def import_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def import_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
