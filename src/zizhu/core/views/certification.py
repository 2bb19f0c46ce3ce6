"""PLACEHOLDER: to be written."""
from django.http import HttpRequest, HttpResponse


def certification_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def certification_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def certification_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def certification_revoke(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
