from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from rest_framework.authtoken.models import Token


def api_token_expires_at(token: Token) -> dt.datetime:
    return token.created + dt.timedelta(hours=settings.ARGUS_API_TOKEN_TTL_HOURS)


def api_token_is_expired(token: Token, *, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) >= api_token_expires_at(token)
