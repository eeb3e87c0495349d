"""The /manage/ pages for tenant admins: overview, users and the audit log.

The signed session has entered the tenant, so every query here reaches the tenant's database only; writes
go through ``tenants_app.services`` like the API's, and their refusals are shown next to the form field.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from framework.errors import ServiceError
from framework.web.pages import admin_required, focus_first_error, list_page, show_refusal, status_of
from tenants_app import lists, services
from tenants_app.audit import Caller
from tenants_app.forms import AuditFilterForm, PasswordResetForm, RoleForm, UserCreateForm, UserFilterForm
from tenants_app.models import AuditEntry, AuditResult, Role, User

SECTION = {"section": "manage"}


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    focus_first_error(context)
    return render(request, template, {**SECTION, **context}, status=status)


# ------------------------------------------------------------------ overview


@require_GET
@admin_required
def dashboard(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=1)
    users = User.objects.aggregate(total=Count("pk"), admins=Count("pk", filter=Q(role=Role.ADMIN)))
    log = AuditEntry.objects.filter(timestamp__gte=since).aggregate(
        total=Count("pk"), failed=Count("pk", filter=Q(result=AuditResult.FAILURE))
    )
    return _page(
        request,
        "tenants_app/dashboard.html",
        {"users": users, "log": log, "active": "overview"},
    )


# ------------------------------------------------------------------ users


@require_GET
@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "active": "users", "listing": None}
    if not form.is_valid():
        return _page(request, "tenants_app/users.html", context, status=400)
    users = User.objects.annotate(item_count=Count("items"))
    context["filtered"] = bool(form.filter_document())
    context["listing"] = list_page(
        request,
        users,
        lists.USERS_FOR_ADMINS,
        form.filter_document(),
        sort={"username": "asc"},
        page=form.cleaned_data["page"],
    )
    return _page(request, "tenants_app/users.html", context)


@require_http_methods(["GET", "POST"])
@admin_required
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = services.create_user(Caller.of(request), **form.cleaned_data)
            except ServiceError as error:
                show_refusal(form, error)
                status = status_of(error, request)
            else:
                messages.success(request, f"User {user.username} created.")
                return HttpResponseRedirect(reverse("manage:users"))
    return _page(request, "tenants_app/user_create.html", {"form": form, "active": "users"}, status=status)


def _user(user_id: str) -> User:
    return get_object_or_404(User.objects.annotate(item_count=Count("items")), pk=user_id)


def _user_page(
    request: HttpRequest,
    user: User,
    *,
    role_form: RoleForm | None = None,
    password_form: PasswordResetForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "subject": user,
        "role_form": role_form or RoleForm(initial={"role": user.role}),
        "password_form": password_form or PasswordResetForm(),
        "active": "users",
    }
    return _page(request, "tenants_app/user_detail.html", context, status=status)


@require_GET
@admin_required
def user_detail(request: HttpRequest, user_id: str) -> HttpResponse:
    return _user_page(request, _user(user_id))


def _after_own_change(request: HttpRequest, user: User) -> HttpResponse | None:
    """Where an admin goes after changing their own account so that it is no longer an admin's."""
    if user.pk == request.user.pk and not user.is_admin:
        messages.info(request, "You are no longer an admin of this tenant.")
        return HttpResponseRedirect("/")
    return None


@require_POST
@admin_required
def user_role(request: HttpRequest, user_id: str) -> HttpResponse:
    user = _user(user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _user_page(request, user, role_form=form, status=400)
    role = form.cleaned_data["role"]
    if role == user.role:
        messages.info(request, f"{user.username} already has the role {user.get_role_display()}.")
        return HttpResponseRedirect(reverse("manage:user", args=[user.pk]))
    try:
        services.update_user(Caller.of(request), user, {"role": role})
    except ServiceError as error:
        show_refusal(form, error)
        return _user_page(request, _user(user_id), role_form=form, status=status_of(error, request))
    messages.success(request, f"{user.username} is now: {user.get_role_display()}.")
    return _after_own_change(request, user) or HttpResponseRedirect(reverse("manage:user", args=[user.pk]))


@require_POST
@admin_required
def user_password(request: HttpRequest, user_id: str) -> HttpResponse:
    user = _user(user_id)
    form = PasswordResetForm(request.POST)
    if not form.is_valid():
        return _user_page(request, user, password_form=form, status=400)
    try:
        changes = {"password": form.cleaned_data["password"]}
        if form.cleaned_data["temporary"]:
            changes["temporary"] = True
        services.update_user(Caller.of(request), user, changes)
    except ServiceError as error:
        show_refusal(form, error)
        return _user_page(request, _user(user_id), password_form=form, status=status_of(error, request))
    if user.pk == request.user.pk:
        update_session_auth_hash(request, user)  # a new password ends other sessions, not this one
    must_change = " They choose their own at their next sign-in." if form.cleaned_data["temporary"] else ""
    messages.success(
        request, f"The password of {user.username} was reset; their older API tokens stopped working.{must_change}"
    )
    return HttpResponseRedirect(reverse("manage:user", args=[user.pk]))


@require_http_methods(["GET", "POST"])
@admin_required
def user_delete(request: HttpRequest, user_id: str) -> HttpResponse:
    user = _user(user_id)
    context: dict[str, Any] = {"subject": user, "active": "users", "error": None}
    if request.method == "POST":
        itself = user.pk == request.user.pk
        try:
            services.delete_user(Caller.of(request), user)
        except ServiceError as error:
            context["error"] = str(error.details).removeprefix("_id: ")
            return _page(request, "tenants_app/user_delete.html", context, status=status_of(error, request))
        messages.success(request, f"User {user.username} deleted.")
        return HttpResponseRedirect("/signin/" if itself else reverse("manage:users"))
    return _page(request, "tenants_app/user_delete.html", context)


# ------------------------------------------------------------------ audit log


@require_GET
@admin_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "active": "log", "listing": None}
    if not form.is_valid():
        return _page(request, "tenants_app/audit_log.html", context, status=400)
    context["listing"] = list_page(
        request,
        AuditEntry.objects.all(),
        lists.AUDIT_LOG,
        form.filter_document(),
        page=form.cleaned_data["page"],
    )
    return _page(request, "tenants_app/audit_log.html", context)
