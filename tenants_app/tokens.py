"""The registry's JWT: a simplejwt sliding token that also names the tenant it was issued for.

Claims beyond simplejwt's (``exp``, ``refresh_exp``, ``jti``, ``user_id``, and a digest of the password
hash that makes a password change revoke every older token):

- ``tenant`` and ``tenant_uid``: the tenant and its incarnation; a deleted tenant (even one re-created
  with the same id) never accepts the token again;
- ``orig_iat``: the original login time; renewal keeps it.
"""

from __future__ import annotations

from typing import Any, cast

import jwt
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.tokens import SlidingToken
from rest_framework_simplejwt.utils import datetime_to_epoch

from tenants_app.models import Tenant, User


class RegistryToken(SlidingToken):
    @classmethod
    def issue(cls, tenant: Tenant, user: User) -> RegistryToken:
        # ``for_user`` builds ``cls``; simplejwt's blacklist mixin types its result as a plain SlidingToken.
        token = cast(RegistryToken, cls.for_user(user))
        token["tenant"] = tenant.id
        token["tenant_uid"] = tenant.uid
        token["orig_iat"] = datetime_to_epoch(token.current_time)
        return token

    @classmethod
    def renewed(cls, payload: dict[str, Any]) -> RegistryToken:
        """A fresh token with the same identity claims and renew deadline, and a new expiry."""
        token = cls()
        kept = ("user_id", "tenant", "tenant_uid", "orig_iat", api_settings.REVOKE_TOKEN_CLAIM)
        for claim in (*kept, api_settings.SLIDING_TOKEN_REFRESH_EXP_CLAIM):
            token[claim] = payload[claim]
        return token


def decode_for_renewal(raw: str) -> dict[str, Any] | None:
    """The payload of a correctly signed registry token, expired or not; None when it is not one."""
    try:
        payload = jwt.decode(
            raw,
            cast(str, token_backend.signing_key),  # None only for asymmetric algorithms; ours is HS256
            algorithms=[token_backend.algorithm],
            issuer=token_backend.issuer,
            options={
                "verify_exp": False,
                "require": ["exp", "refresh_exp", "tenant", "tenant_uid", "user_id", "orig_iat"],
            },
        )
    except jwt.InvalidTokenError:
        return None
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != RegistryToken.token_type:
        return None
    return payload
