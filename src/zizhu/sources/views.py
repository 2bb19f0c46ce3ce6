"""PLACEHOLDER: to be written."""

from django.http import HttpRequest, HttpResponse


def dataset_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
