"""Signing in to a tenant and out again. The same credential checks, throttling and audit as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login as start_session
from django.contrib.auth import logout as end_session
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from framework.errors import ServiceError
from framework.web.pages import status_of
from tenants_app import passwords, services, tenancy
from tenants_app.forms import ForgotPasswordForm, NewPasswordForm, SignInForm
from tenants_app.middleware import SESSION_TENANT, SESSION_TENANT_UID


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
        except ServiceError as error:
            form.add_error(None, str(error.details))
            status = status_of(error, request)
        else:
            start_session(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_TENANT] = tenant.id
            request.session[SESSION_TENANT_UID] = tenant.uid
            messages.success(request, f"Signed in to {tenant.id} as {user.username}.")
            return HttpResponseRedirect(_safe_next(request))
    elif request.method == "POST":
        status = 400
    tenant_ids = tenancy.offered_tenant_ids()
    if tenant_ids:  # typed or picked: the list only suggests
        form.fields["tenant"].widget.attrs["list"] = "tenant-ids"
    context = {"form": form, "next": _safe_next(request), "tenant_ids": tenant_ids}
    return render(request, "web/signin.html", context, status=status)


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
