"""PLACEHOLDER: to be written."""

from django.http import HttpRequest, HttpResponse


def job_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def job_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def job_progress(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def job_report(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
