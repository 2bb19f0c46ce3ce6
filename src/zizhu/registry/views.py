"""PLACEHOLDER: to be written."""
from django.http import HttpRequest, HttpResponse


def student_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def student_export(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def student_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def student_reveal(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def staff_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
