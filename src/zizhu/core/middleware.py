"""Request id, the login wall, and the one place domain errors become HTTP responses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from zizhu.core.audit import RequestContext
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach

Handler = Callable[[HttpRequest], HttpResponse]

# Paths anyone may open without signing in (the public portal adds its own prefix later).
PUBLIC_PREFIXES = ("/login/", "/static/", "/healthz", "/portal/")


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # read by views
        response = self.get_response(request)
        response["X-Request-Id"] = request_id
        return response


class SlidingSessionMiddleware:
    """Push a signed-in session's expiry forward once it has aged ZIZHU_SESSION_REFRESH_SECONDS:
    the idle timeout slides with use, at the cost of one session write a minute per person
    instead of one per request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            expires = request.session.get("_expires_at")
            fresh_for = settings.SESSION_COOKIE_AGE - settings.ZIZHU_SESSION_REFRESH_SECONDS
            if expires is None or expires - now < fresh_for:
                # Marks the session modified, so the backend saves it with a new expiry.
                request.session["_expires_at"] = now + settings.SESSION_COOKIE_AGE
        return self.get_response(request)


class LoginRequiredMiddleware:
    """Everything but the public paths needs a signed-in user; the actor carries the context."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            # Services read this for the audit row's request id and address.
            context = RequestContext(
                request_id=getattr(request, "request_id", ""), ip=client_ip(request)
            )
            setattr(request.user, "request_context", context)  # noqa: B010
        elif not request.path.startswith(PUBLIC_PREFIXES):
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class DomainErrorMiddleware:
    """Maps DomainError to a page (or an htmx fragment) and audits every refusal."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if isinstance(exception, NotPermitted | OutOfReach) and request.user.is_authenticated:
            from zizhu.core.services import record_denied

            record_denied(
                request.user,
                reason=f"{type(exception).__name__}: {exception.message}",
                path=request.path,
            )
        if isinstance(exception, OutOfReach):
            raise Http404(exception.message)
        return render(
            request,
            "core/error.html",
            {"message": exception.message},
            status=exception.status,
        )
