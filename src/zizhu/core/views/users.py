"""PLACEHOLDER: to be written."""
from django.http import HttpRequest, HttpResponse


def user_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def user_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def user_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
