"""API token authentication with a lifetime (``ARGUS_API_TOKEN_TTL_HOURS``)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from apps.accounts.selectors import api_token_is_expired


class TokenExpired(exceptions.AuthenticationFailed):
    default_code = "token_expired"
    default_detail = "The API token has expired; obtain a new one from /api/auth/token/."


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication that refuses tokens older than the configured lifetime."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if api_token_is_expired(token):
            raise TokenExpired()
        return user, token
