"""Sign-in with lockout, sign-out, password change, and the per-role home page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from zizhu.core import services
from zizhu.core.errors import DomainError
from zizhu.core.http import actor_of
from zizhu.core.middleware import client_ip
from zizhu.core.models import User
from zizhu.core.reach import assignments_of
from zizhu.core.worklist import work_items_for


class LoginForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150)
    password = forms.CharField(label="密码", widget=forms.PasswordInput)


def _locked_message() -> str:
    minutes = settings.ZIZHU_LOCKOUT_WINDOW_SECONDS // 60
    return f"登录失败次数过多，账户已临时锁定。请 {minutes} 分钟后再试，或联系系统管理员。"


def _failed_message() -> str:
    minutes = settings.ZIZHU_LOCKOUT_WINDOW_SECONDS // 60
    failures = settings.ZIZHU_LOCKOUT_FAILURES
    return f"用户名或密码不正确。连续失败 {failures} 次将锁定账户 {minutes} 分钟。"


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip()
        ip = client_ip(request)
        user = _authenticate(request, username, form.cleaned_data["password"], ip)
        if isinstance(user, User):
            login(request, user)
            target = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
                target = "core:home"
            return redirect(target or "core:home")
        error = user
    return render(request, "registration/login.html", {"form": form, "error": error})


def _authenticate(request: HttpRequest, username: str, password: str, ip: str | None) -> User | str:
    """The user, or the message to show. A locked account is refused even with the password."""
    known = User.objects.filter(username=username).first()
    if services.is_locked_out(username):
        services.record_locked_attempt(username, user=known, ip=ip)
        return _locked_message()
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        services.record_login(username, user=known, succeeded=False, ip=ip)
        return _locked_message() if services.is_locked_out(username) else _failed_message()
    services.record_login(username, user=user, succeeded=True, ip=ip)
    return user


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return render(
        request,
        "core/home.html",
        {"assignments": assignments_of(actor), "work_items": work_items_for(actor)},
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label="原密码", widget=forms.PasswordInput)
    new_password = forms.CharField(label="新密码", widget=forms.PasswordInput)
    confirm = forms.CharField(label="再次输入新密码", widget=forms.PasswordInput)

    def clean(self) -> dict[str, object] | None:
        data = super().clean() or {}
        if data.get("new_password") != data.get("confirm"):
            raise forms.ValidationError("两次输入的新密码不一致。")
        return data


def password_change(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not actor.check_password(form.cleaned_data["old_password"]):
            form.add_error("old_password", "原密码不正确。")
        else:
            try:
                services.set_password(
                    actor, actor=actor, password=form.cleaned_data["new_password"]
                )
            except DomainError as error:
                form.add_error("new_password", error.message)
            else:
                login(request, actor)
                return redirect("core:home")
    return render(request, "core/password_change.html", {"form": form})
