"""The company master: list and search (research readers), create and update (admins)."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.roles import Role
from apps.core.api_errors import error_responses
from apps.jobs.api import StrictCharField, StrictSerializer
from apps.research.access import RESEARCH_READER_ROLES
from apps.research.models import Company
from apps.research.selectors import company_get_by_ticker, company_list_search
from apps.research.services import company_create, company_update

# Writes are for admins only: the master decides which tickers search and upload accept.
ADMIN_ROLES: frozenset[Role] = frozenset({Role.ADMIN})
_TICKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,15}$")
_CIK = re.compile(r"^[0-9]{1,10}$")

COMPANY_EXAMPLE = {
    "ticker": "AAPL",
    "name": "Apple Inc.",
    "aliases": ["Apple"],
    "sector": "Information Technology",
    "cik": "320193",
    "url": "/api/companies/AAPL/",
}


class CompanySerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="This company in the API.")

    class Meta:
        model = Company
        fields = ["ticker", "name", "aliases", "sector", "cik", "url"]

    def get_url(self, company: Company) -> str:
        return f"/api/companies/{company.ticker}/"


class _CompanyFieldsSerializer(StrictSerializer):
    name = StrictCharField(max_length=255, help_text="The registered name, e.g. `Apple Inc.`.")
    aliases = serializers.ListField(
        child=StrictCharField(max_length=255),
        max_length=50,
        default=list,
        help_text="Other names it goes by (`Apple`, `Facebook`): questions and documents naming them link to it.",
    )
    sector = StrictCharField(max_length=120, allow_blank=True, default="")
    cik = StrictCharField(max_length=10, allow_blank=True, default="", help_text="The SEC's Central Index Key.")

    def validate_cik(self, cik: str) -> str:
        if cik and not _CIK.match(cik):
            raise serializers.ValidationError("A CIK is up to 10 digits.")
        return cik


class CompanyCreateInputSerializer(_CompanyFieldsSerializer):
    ticker = StrictCharField(max_length=16, help_text="Stored upper-case; `BRK.B` style for share classes.")

    def validate_ticker(self, ticker: str) -> str:
        ticker = ticker.strip().upper()
        if not _TICKER.match(ticker):
            raise serializers.ValidationError("A ticker is letters, digits, '.' and '-' (at most 16).")
        if Company.objects.filter(ticker=ticker).exists():
            raise serializers.ValidationError(f"The company master already has {ticker}.")
        return ticker


class CompanyUpdateInputSerializer(_CompanyFieldsSerializer):
    """Partial: only the fields sent change. The ticker cannot change (documents and reports key on it)."""


class CompanyListInputSerializer(StrictSerializer):
    PAGINATION_PARAMS = frozenset({"limit", "offset"})

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="A ticker (exact matches first), or words of the name or an alias.",
    )
    cik = serializers.CharField(required=False, allow_blank=True, max_length=10)

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value({k: v for k, v in data.items() if k not in self.PAGINATION_PARAMS})


class _ReadersGetAdminsWrite:
    request: Request

    @property
    def allowed_roles(self) -> frozenset[Role]:
        return RESEARCH_READER_ROLES if self.request.method in ("GET", "HEAD", "OPTIONS") else ADMIN_ROLES


class CompanyListCreateApi(_ReadersGetAdminsWrite, GenericAPIView):
    serializer_class = CompanySerializer

    def get_queryset(self):
        params = CompanyListInputSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return company_list_search(text=params.validated_data.get("q", ""), cik=params.validated_data.get("cik", ""))

    @extend_schema(
        operation_id="companies_list",
        summary="List and search the company master",
        description=(
            "The companies search, ask, upload and the entity linker know, paginated with `limit`/`offset`. "
            "`q` finds a ticker (exact match first) or words of the name or an alias; `cik` an SEC filer. "
            "Readable by research readers (analyst, risk officer, admin)."
        ),
        parameters=[CompanyListInputSerializer],
        responses={200: CompanySerializer(many=True), **error_responses(400, 401, 403, 429)},
        examples=[
            OpenApiExample(
                "Search",
                value={"count": 1, "next": None, "previous": None, "results": [COMPANY_EXAMPLE]},
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["research"],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CompanySerializer(page, many=True).data)

    @extend_schema(
        operation_id="companies_create",
        summary="Add a company to the master",
        description="Admins only. **201** with the company; 400 when the ticker exists already or a field is invalid.",
        request=CompanyCreateInputSerializer,
        responses={201: CompanySerializer, **error_responses(400, 401, 403, 415, 429)},
        examples=[
            OpenApiExample(
                "New company",
                value={k: v for k, v in COMPANY_EXAMPLE.items() if k != "url"},
                request_only=True,
            )
        ],
        tags=["research"],
    )
    def post(self, request: Request) -> Response:
        payload = CompanyCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            company = company_create(**payload.validated_data)
        except IntegrityError:  # created by someone else since the check
            raise serializers.ValidationError({"ticker": ["The company master already has this ticker."]})
        return Response(CompanySerializer(company).data, status=status.HTTP_201_CREATED)


class CompanyDetailApi(_ReadersGetAdminsWrite, APIView):
    def _company(self, ticker: str) -> Company:
        company = company_get_by_ticker(ticker)
        if company is None:
            raise NotFound(f"No company with ticker {ticker.strip().upper()} in the company master.")
        return company

    @extend_schema(
        operation_id="companies_retrieve",
        summary="Get one company",
        description="The company of a ticker (case-insensitive); 404 naming the ticker when the master has none.",
        responses={200: CompanySerializer, **error_responses(401, 403, 404, 429)},
        tags=["research"],
    )
    def get(self, request: Request, ticker: str) -> Response:
        return Response(CompanySerializer(self._company(ticker)).data)

    @extend_schema(
        operation_id="companies_partial_update",
        summary="Update a company",
        description="Admins only. Changes the fields sent (name, aliases, sector, cik); the ticker stays.",
        request=CompanyUpdateInputSerializer(partial=True),
        responses={200: CompanySerializer, **error_responses(400, 401, 403, 404, 415, 429)},
        examples=[OpenApiExample("New alias", value={"aliases": ["Apple", "AAPL Inc"]}, request_only=True)],
        tags=["research"],
    )
    def patch(self, request: Request, ticker: str) -> Response:
        company = self._company(ticker)
        payload = CompanyUpdateInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        company = company_update(company=company, **payload.validated_data)
        return Response(CompanySerializer(company).data)
