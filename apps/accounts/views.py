from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from apps.accounts.services import api_tokens_revoke


class LogoutView(auth_views.LogoutView):
    """Logging out also revokes the user's API tokens: a session's end ends its API access."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            api_tokens_revoke(user=request.user)
        return super().post(request, *args, **kwargs)
