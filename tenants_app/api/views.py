"""Tenants (API_TOKEN), login, users and audit-log endpoints. Thin: validation in, service call, document out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from framework.api.listing import ListSpec
from framework.api.schema import LIST_PARAMETERS, collection_operations, ok, page_of
from framework.api.viewsets import RegistryViewSet
from framework.errors import Forbidden, NotFound, Unauthorized
from tenants_app import expiry, keys, lists, passwords, services
from tenants_app.api import serializers as io
from tenants_app.audit import Caller
from tenants_app.authentication import ApiTokenAuthentication
from tenants_app.models import ApiKey, AuditEntry, Tenant, User

if TYPE_CHECKING:
    from tenants_app.http import SignedInApiRequest


@extend_schema_view(
    **collection_operations("tenant", io.TenantSerializer, create=io.TenantCreateInput, update=io.TenantUpdateInput)
)
class TenantViewSet(RegistryViewSet):
    """``/v1/tenants``: only the holder of API_TOKEN; a JWT here is a 401."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsAuthenticated]
    list_spec = lists.TENANTS

    @staticmethod
    def caller(request: Request) -> Caller:
        return Caller.of(request, name="<api-token>")

    @staticmethod
    def tenant(pk: str) -> Tenant:
        tenant = Tenant.objects.filter(pk=pk).first()
        if tenant is None:
            raise NotFound(f"_id: no tenant {pk!r}")
        return tenant

    def list(self, request: Request) -> Response:
        return self.list_response(request, Tenant.objects.all(), lambda rows: [io.tenant_document(t) for t in rows])

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(io.tenant_document(self.tenant(pk)))

    def create(self, request: Request) -> Response:
        data = self.validated(io.TenantCreateInput, request)
        data.pop("passwordhash", None)
        tenant = services.create_tenant(self.caller(request), tenant_id=data.pop("_id"), **data)
        return Response(io.tenant_document(tenant), status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str) -> Response:
        tenant = self.tenant(pk)
        changes = self.validated(io.TenantUpdateInput, request)
        return Response(io.tenant_document(services.update_tenant(self.caller(request), tenant, changes)))

    def destroy(self, request: Request, pk: str) -> Response:
        tenant = services.delete_tenant(self.caller(request), self.tenant(pk))
        return Response(io.tenant_document(tenant))


@extend_schema_view(
    post=extend_schema(
        operation_id="login",
        request=io.LoginInput,
        responses=ok(io.LoginSerializer, 200, 400, 401, 429),
        tags=["login"],
        auth=[],
        description="Right credentials with a temporary password answer 401 `password_change_required`, with an "
        "expired one 401 `password_expired`: send the login again with `new_password` (checked against the "
        "password rules, 400 naming `new_password`) to replace it and get the token in the same call, or ask "
        "for a reset e-mail (`POST /v1/self/reset`).",
    ),
    put=extend_schema(
        operation_id="renew_token",
        request=None,
        responses=ok(io.LoginSerializer, 200, 401),
        tags=["login"],
        description="Renew a valid or expired token within JWT_RENEW_EXPIRATIONTIME of the original login; "
        "refused (401 `password_expired`) once the user's password has expired.",
    ),
)
class LoginView(APIView):
    """``POST /v1/login`` (also ``/login``) signs in; ``PUT /v1/login`` renews a token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = RegistryViewSet.validated(io.LoginInput, request)
        session = services.login(
            tenant_id=data.get("tenant") or settings.DEFAULT_TENANT,
            username=data["username"],
            password=data["password"],
            address=request.META.get("REMOTE_ADDR"),
            new_password=data.get("new_password"),
        )
        return Response(io.login_document(session.user, session.token))

    def put(self, request: Request) -> Response:
        parts = request.META.get("HTTP_AUTHORIZATION", "").split()
        if len(parts) != 2 or parts[0] not in settings.SIMPLE_JWT["AUTH_HEADER_TYPES"]:
            raise Unauthorized("Send the token to renew as 'Authorization: JWT <token>'.")
        session = services.renew(parts[1], address=request.META.get("REMOTE_ADDR"))
        return Response(io.login_document(session.user, session.token))


class PasswordStrengthView(APIView):
    """``GET /v1/types/passwordStrength``: the password rules and the default validity, for anyone."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="password_policy",
        request=None,
        responses=ok(io.PasswordPolicySerializer, 200),
        tags=["login"],
        auth=[],
        description="The original registry's `passwordStrength` and `ValidityPasswordDays`, as numbers, with the "
        "rules a new password must pass.",
    )
    def get(self, request: Request) -> Response:
        return Response(expiry.policy_document())


RESET_REQUESTED = (
    "If this address belongs to a user of the tenant, an e-mail with a reset link is on its way; it works "
    "once, within PASSWORD_RESET_TIMEOUT."
)


class SelfResetView(APIView):
    """``POST /v1/self/reset``: ask for a password-reset e-mail (the same answer whether the address exists)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="request_password_reset",
        request=io.ResetRequestInput,
        responses=ok(io.MessageSerializer, 200, 400, 429),
        tags=["login"],
        auth=[],
        description="`tenant` may also come as `?tenant=` (the original registry's form).",
    )
    def post(self, request: Request) -> Response:
        data = RegistryViewSet.validated(io.ResetRequestInput, request)
        passwords.request_reset(
            tenant_id=data.get("tenant") or request.query_params.get("tenant") or settings.DEFAULT_TENANT,
            email=data["email"],
            address=request.META.get("REMOTE_ADDR"),
            link=request.build_absolute_uri("/signin/reset/"),
        )
        return Response({"message": RESET_REQUESTED})


class SelfView(APIView):
    """``PUT /v1/self``: set a new password with the code of a reset e-mail."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="reset_password",
        request=io.ResetInput,
        responses=ok(io.MessageSerializer, 200, 400),
        tags=["login"],
        auth=[],
        description="A used, expired or unknown code is a 400 naming `reset`; a password that breaks the rules "
        "is a 400 naming `password`, and the code still works.",
    )
    def put(self, request: Request) -> Response:
        data = RegistryViewSet.validated(io.ResetInput, request)
        passwords.complete_reset(
            tenant_id=data.get("tenant") or settings.DEFAULT_TENANT,
            token=data["reset"],
            password=data["password"],
            address=request.META.get("REMOTE_ADDR"),
        )
        return Response({"message": "Password changed: sign in with it. Every earlier session has ended."})


@extend_schema_view(
    **collection_operations("user", io.UserSerializer, create=io.UserCreateInput, update=io.UserUpdateInput)
)
class UserViewSet(RegistryViewSet):
    """``/v1/users``: everyone in the tenant sees who exists; only admins see others' e-mail and role."""

    if TYPE_CHECKING:
        request: SignedInApiRequest  # signed in: IsAuthenticated, the API's default permission

    def get_list_spec(self) -> ListSpec:
        return lists.USERS_FOR_ADMINS if self.request.user.is_admin else lists.USERS

    def document(self, user: User) -> dict[str, Any]:
        viewer = self.request.user
        return io.user_document(user, full=viewer.is_admin or viewer.pk == user.pk)

    @staticmethod
    def user(ref: str) -> User:
        user = User.objects.filter(Q(pk=ref) | Q(username=ref)).first()
        if user is None:
            raise NotFound(f"_id: no user {ref!r}")
        return user

    def list(self, request: SignedInApiRequest) -> Response:
        return self.list_response(request, User.objects.all(), lambda rows: [self.document(u) for u in rows])

    def retrieve(self, request: SignedInApiRequest, pk: str) -> Response:
        return Response(self.document(self.user(pk)))

    def create(self, request: SignedInApiRequest) -> Response:
        if not request.user.is_admin:  # before validation: non-admins learn nothing about the body rules
            raise Forbidden("Only tenant admins can create users.", action="create")
        data = self.validated(io.UserCreateInput, request)
        user = services.create_user(Caller.of(request), **data)
        return Response(self.document(user), status=status.HTTP_201_CREATED)

    def update(self, request: SignedInApiRequest, pk: str) -> Response:
        user = self.user(pk)
        changes = self.validated(io.UserUpdateInput, request)
        return Response(self.document(services.update_user(Caller.of(request), user, changes)))

    def destroy(self, request: SignedInApiRequest, pk: str) -> Response:
        user = self.user(pk)
        document = io.user_document(user, full=True)
        services.delete_user(Caller.of(request), user)
        return Response(document)


@extend_schema_view(
    list=extend_schema(
        operation_id="log_list",
        parameters=LIST_PARAMETERS,
        responses=ok(page_of(io.AuditEntrySerializer), 200, 400, 401, 403),
        tags=["log"],
    ),
)
class AuditLogViewSet(RegistryViewSet):
    """``/v1/log``: the tenant's audit log, for its admins."""

    list_spec = lists.AUDIT_LOG

    def list(self, request: SignedInApiRequest) -> Response:
        if not request.user.is_admin:
            raise Forbidden("Only tenant admins can read the audit log.")
        return self.list_response(request, AuditEntry.objects.all(), lambda rows: [io.audit_document(e) for e in rows])


@extend_schema_view(
    **collection_operations("key", io.ApiKeySerializer, create=io.KeyCreateInput, update=None),
)
class ApiKeyViewSet(RegistryViewSet):
    """``/v1/keys``: API keys. Everyone manages their own; admins list and revoke anyone's, and create keys
    for service accounts. A key's secret is in the answer that created it, and nowhere else, ever."""

    list_spec = lists.KEYS
    if TYPE_CHECKING:
        request: SignedInApiRequest

    def list(self, request: SignedInApiRequest) -> Response:
        keys_shown = keys.visible_keys(Caller.of(request))
        return self.list_response(request, keys_shown, lambda rows: [io.key_document(key) for key in rows])

    def retrieve(self, request: SignedInApiRequest, pk: str) -> Response:
        return Response(io.key_document(keys.find_key(Caller.of(request), pk)))

    def create(self, request: SignedInApiRequest) -> Response:
        data = self.validated(io.KeyCreateInput, request)
        owner = UserViewSet.user(data.pop("user")) if "user" in data else None
        key, text = keys.create_key(Caller.of(request), user=owner, **data)
        return Response(io.key_document(key, text), status=status.HTTP_201_CREATED)

    def destroy(self, request: SignedInApiRequest, pk: str) -> Response:
        caller = Caller.of(request)
        key: ApiKey = keys.revoke_key(caller, keys.find_key(caller, pk))
        return Response(io.key_document(key))
