from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from apps.accounts.roles import ALL_ROLES, user_roles
from apps.accounts.selectors import api_token_expires_at
from apps.accounts.services import api_token_issue, api_tokens_revoke
from apps.core.api_errors import error_responses


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expires_at = serializers.DateTimeField(help_text="After this time the token is refused (401 `token_expired`).")


class TokenRevokeOutputSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many tokens were deleted (0 when there was none).")


class TokenObtainApi(ObtainAuthToken):
    """Exchange a username and password for the user's API token.

    DRF's view has no throttle, which leaves passwords open to guessing: every caller
    is counted as anonymous, per client address, whatever session it has. No
    authentication runs (the credentials are in the body), so no CSRF check either.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (AnonRateThrottle,)
    # JSON only, size-bounded, like the rest of the API (DRF's view also takes forms).
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    def get_serializer_context(self) -> dict:
        # django-axes counts failures and flags a lockout on the Django request, which its
        # middleware reads; DRF's Request wrapper would keep those flags to itself.
        return {**super().get_serializer_context(), "request": self.request._request}

    @extend_schema(
        operation_id="auth_token_create",
        summary="Obtain an API token",
        description=(
            "Returns the user's token: the same one on every call until it expires "
            "(`ARGUS_API_TOKEN_TTL_HOURS` after it was issued, see `expires_at`) or is revoked "
            "(`POST /api/auth/token/revoke/`, or logging out of the UI). Throttled per client address like "
            "every anonymous request; after repeated wrong passwords the account is locked for a while "
            "(429 `account_locked`, for the UI login too)."
        ),
        request=AuthTokenSerializer,
        responses={
            200: OpenApiResponse(TokenOutputSerializer, description="The user's token."),
            **error_responses(400, 415, 429),
        },
        examples=[
            OpenApiExample(
                "Credentials",
                # The demo analyst of `make run` (manage.py seed_demo), so the example works as sent.
                value={"username": "demo-analyst", "password": "argus-demo-2026"},
                request_only=True,
            ),
            OpenApiExample(
                "Token",
                value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "expires_at": "2025-11-03T09:15:00Z"},
                response_only=True,
            ),
        ],
        tags=["auth"],
        auth=[],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = api_token_issue(user=serializer.validated_data["user"])
        return Response(TokenOutputSerializer({"token": token.key, "expires_at": api_token_expires_at(token)}).data)


class TokenRevokeApi(APIView):
    """Delete the caller's API token: every client using it must obtain a new one."""

    allowed_roles = ALL_ROLES

    @extend_schema(
        operation_id="auth_token_revoke",
        summary="Revoke the API token",
        description="Deletes the caller's API token at once. Logging out of the UI does the same.",
        request=None,
        responses={200: TokenRevokeOutputSerializer, **error_responses(401, 403, 429)},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        return Response({"revoked": api_tokens_revoke(user=request.user)})


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.CharField(help_text="E-mail address; empty when none is on file.")
    roles = serializers.ListField(child=serializers.CharField(), help_text="Role names, sorted.")


class MeApi(APIView):
    """Who the caller is and which roles they hold, for clients that adapt their UI."""

    allowed_roles = ALL_ROLES

    @extend_schema(
        operation_id="me_retrieve",
        summary="The current user and their roles",
        responses={
            200: OpenApiResponse(
                MeOutputSerializer,
                examples=[
                    OpenApiExample(
                        "Analyst",
                        value={
                            "username": "ana-analyst",
                            "display_name": "Ana",
                            "email": "ana@example.com",
                            "roles": ["analyst"],
                        },
                    )
                ],
            ),
            **error_responses(401, 403, 429),
        },
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        user = request.user
        data = {
            "username": user.get_username(),
            "display_name": user.display_name,
            "email": user.email,
            "roles": sorted(role.value for role in user_roles(user)),
        }
        return Response(MeOutputSerializer(data).data)
