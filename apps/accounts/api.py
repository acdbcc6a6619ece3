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
from apps.core.api_errors import error_responses


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


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

    @extend_schema(
        operation_id="auth_token_create",
        summary="Obtain an API token",
        description=(
            "Returns the user's token (the same one on every call until it is revoked). "
            "Throttled per client address like every anonymous request."
        ),
        request=AuthTokenSerializer,
        responses={
            200: OpenApiResponse(TokenOutputSerializer, description="The user's token."),
            **error_responses(400, 415, 429),
        },
        examples=[
            OpenApiExample(
                "Credentials",
                value={"username": "ana-analyst", "password": "correct-horse-battery-staple"},
                request_only=True,
            ),
            OpenApiExample("Token", value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}, response_only=True),
        ],
        tags=["auth"],
        auth=[],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.EmailField()
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
