"""Signing in to a tenant and out again. The same credential checks, throttling and audit as the API.

A temporary or expired password (``tenants_app.expiry``) leads from the sign-in form to a second step,
``/signin/password/``, where the user chooses a new one. The first step proved the current password; the
session remembers that proof for a few minutes, bound to the password's hash, so the second step cannot be
reached without it and cannot be replayed once the password has changed.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login as start_session
from django.contrib.auth import logout as end_session
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from framework.errors import PasswordChangeNeeded, PasswordExpired, ServiceError
from framework.web.pages import status_of
from tenants_app import passwords, services, tenancy
from tenants_app.audit import Caller
from tenants_app.forms import ChangePasswordForm, ForgotPasswordForm, NewPasswordForm, SignInForm
from tenants_app.middleware import SESSION_TENANT, SESSION_TENANT_UID
from tenants_app.models import Tenant, User

PENDING_CHANGE = "registry_password_change"
PENDING_FOR = 600  # seconds between the proof of the current password and the new one
CHANGE_URL = "/signin/password/"


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/models/"
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return target if allowed else "/models/"


@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            tenant, user = services.authenticate(
                tenant_id=form.cleaned_data["tenant"],
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                address=request.META.get("REMOTE_ADDR"),
            )
        except PasswordChangeNeeded as error:
            _remember_proof(request, form.cleaned_data["tenant"], form.cleaned_data["username"], error)
            return HttpResponseRedirect(f"{CHANGE_URL}?{urlencode({'next': _safe_next(request)})}")
        except ServiceError as error:
            form.add_error(None, str(error.details))
            status = status_of(error, request)
        else:
            return _signed_in(request, tenant, user)
    elif request.method == "POST":
        status = 400
    tenant_ids = tenancy.offered_tenant_ids()
    if tenant_ids:  # typed or picked: the list only suggests
        form.fields["tenant"].widget.attrs["list"] = "tenant-ids"
    context = {"form": form, "next": _safe_next(request), "tenant_ids": tenant_ids}
    return render(request, "web/signin.html", context, status=status)


def _signed_in(request: HttpRequest, tenant: Tenant, user: User) -> HttpResponse:
    start_session(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_TENANT] = tenant.id
    request.session[SESSION_TENANT_UID] = tenant.uid
    messages.success(request, f"Signed in to {tenant.id} as {user.username}.")
    return HttpResponseRedirect(_safe_next(request))


def _password_digest(user: User) -> str:
    # Keyed by SECRET_KEY and bound to the current hash: the session cookie is signed, not encrypted.
    return salted_hmac("registry.signin.password-change", user.password).hexdigest()


def _remember_proof(request: HttpRequest, tenant_id: str, username: str, error: PasswordChangeNeeded) -> None:
    """After right credentials with a stale password (``authenticate`` left the tenant entered)."""
    tenant = tenancy.find_tenant(tenant_id)
    user = User.objects.filter(username=username, is_active=True, is_service=False).first()
    if tenant is None or user is None:
        return  # deleted in the meantime: the second step sends them back to the first
    request.session[PENDING_CHANGE] = {
        "tenant": tenant.id,
        "tenant_uid": tenant.uid,
        "user": user.pk,
        "digest": _password_digest(user),
        "since": time.time(),
        "expired": isinstance(error, PasswordExpired),
    }


def _proven_user(request: HttpRequest) -> tuple[Tenant, User, dict[str, Any]] | None:
    """The tenant and user whose current password this browser proved in the last PENDING_FOR seconds."""
    proof = request.session.get(PENDING_CHANGE)
    if not isinstance(proof, dict) or time.time() - float(proof.get("since", 0)) > PENDING_FOR:
        return None
    tenant = tenancy.find_tenant(proof.get("tenant"), proof.get("tenant_uid"))
    if tenant is None:
        return None
    tenancy.enter(tenant)
    user = User.objects.filter(pk=proof.get("user"), is_active=True, is_service=False).first()
    if user is None or not constant_time_compare(_password_digest(user), str(proof.get("digest", ""))):
        return None
    return tenant, user, proof


@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    """The second step of signing in with a temporary or expired password: choose a new one, then in."""
    proven = _proven_user(request)
    if proven is None:
        request.session.pop(PENDING_CHANGE, None)
        messages.info(request, "Sign in with your current password first; then choose the new one.")
        return HttpResponseRedirect(f"/signin/?{urlencode({'next': _safe_next(request)})}")
    tenant, user, proof = proven
    form = ChangePasswordForm(request.POST or None)
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    if request.method == "POST" and form.is_valid():
        caller = Caller(user=user, address=request.META.get("REMOTE_ADDR"))
        try:
            services.change_own_password(caller, user, form.cleaned_data["password"])
        except ServiceError as error:
            form.add_error("password", error.details.split(": ", 1)[-1])
            status = status_of(error, request)
        else:
            del request.session[PENDING_CHANGE]
            services.record_login(caller)
            return _signed_in(request, tenant, user)
    context = {"form": form, "subject": user, "tenant": tenant, "expired": proof.get("expired")}
    return render(request, "web/change_password.html", {**context, "next": _safe_next(request)}, status=status)


@require_http_methods(["GET", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    """Ask for a reset e-mail: the same answer whether or not the address belongs to a user."""
    form = ForgotPasswordForm(request.POST or None)
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    if request.method == "POST" and form.is_valid():
        try:
            passwords.request_reset(
                tenant_id=form.cleaned_data["tenant"],
                email=form.cleaned_data["email"],
                address=request.META.get("REMOTE_ADDR"),
                link=request.build_absolute_uri("/signin/reset/"),
            )
        except ServiceError as error:
            form.add_error(None, str(error.details))
            status = status_of(error, request)
        else:
            return render(request, "web/reset_requested.html", {"email": form.cleaned_data["email"]})
    return render(request, "web/forgot_password.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest) -> HttpResponse:
    """Choose a new password with the code of a reset e-mail (its link fills the form: ``reset.js``)."""
    form = NewPasswordForm(request.POST or None)
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    if request.method == "POST" and form.is_valid():
        try:
            passwords.complete_reset(
                tenant_id=form.cleaned_data["tenant"],
                token=form.cleaned_data["reset"],
                password=form.cleaned_data["password"],
                address=request.META.get("REMOTE_ADDR"),
            )
        except ServiceError as error:
            field = "password" if error.details.startswith("password") else "reset"
            form.add_error(field, error.details.split(": ", 1)[-1])
            status = status_of(error, request)
        else:
            end_session(request)  # whoever was signed in on this browser signs in again, with the new password
            messages.success(request, "Password changed. Sign in with it.")
            return HttpResponseRedirect("/signin/")
    return render(request, "web/reset_password.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def signout(request: HttpRequest) -> HttpResponse:
    end_session(request)
    messages.info(request, "Signed out.")
    return HttpResponseRedirect("/signin/")


def home(request: HttpRequest) -> HttpResponse:
    """The front door: the models list when signed in, the sign-in page otherwise."""
    return HttpResponseRedirect("/models/" if request.user.is_authenticated else "/signin/")
