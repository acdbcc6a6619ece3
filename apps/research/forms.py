"""Forms of the research pages: document filters, upload metadata, search and ask."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings

from apps.research.access import allowed_access_levels
from apps.research.models import AccessLevel, Company, DocumentStatus, DocumentType, FiscalPeriod
from apps.research.selectors import DocumentFilters, SearchQuery, unknown_tickers

SEARCH_MODE_CHOICES = [
    ("hybrid", "Hybrid (meaning + keywords)"),
    ("dense", "Meaning only (embeddings)"),
    ("keyword", "Keywords only (BM25)"),
]
MAX_SEARCH_LIMIT = 50
_TICKER_SPLIT = re.compile(r"[\s,;]+")


class DateInput(forms.DateInput):
    input_type = "date"


def _any(label: str, choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", label), *choices]


def _check_date_range(form: forms.Form, cleaned: dict[str, Any]) -> None:
    start, end = cleaned.get("published_from"), cleaned.get("published_to")
    if start and end and start > end:
        form.add_error("published_to", "Must not be before the start date.")


class DocumentFilterForm(forms.Form):
    """The document list's filters (a GET form: the URL is the filtered list)."""

    q = forms.CharField(label="Title", required=False, max_length=200)
    ticker = forms.CharField(label="Ticker", required=False, max_length=16)
    doc_type = forms.ChoiceField(label="Type", required=False, choices=_any("Any type", DocumentType.choices))
    status = forms.ChoiceField(label="Status", required=False, choices=_any("Any status", DocumentStatus.choices))
    access_level = forms.ChoiceField(label="Access", required=False, choices=_any("Any level", AccessLevel.choices))
    published_from = forms.DateField(label="Published from", required=False, widget=DateInput)
    published_to = forms.DateField(label="to", required=False, widget=DateInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _check_date_range(self, cleaned)
        return cleaned

    def filters(self) -> DocumentFilters:
        """The filters that validated; a bad value filters nothing rather than everything out."""
        data = self.cleaned_data if self.is_bound else {}
        return DocumentFilters(
            ticker=data.get("ticker") or "",
            doc_type=data.get("doc_type") or "",
            status=data.get("status") or "",
            access_level=data.get("access_level") or "",
            published_from=data.get("published_from"),
            published_to=data.get("published_to"),
            text=data.get("q") or "",
        )

    def is_filtered(self) -> bool:
        return self.is_bound and any(self.cleaned_data.get(name) for name in self.fields)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; empty files pass so the pipeline can say why it refuses them."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_empty_file=True, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        if not files:
            if self.required:
                raise forms.ValidationError("Choose at least one file.", code="required")
            return []
        if len(files) > settings.ARGUS_MAX_UPLOAD_FILES:
            raise forms.ValidationError(f"At most {settings.ARGUS_MAX_UPLOAD_FILES} files per upload.", code="max")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UploadForm(forms.Form):
    """Files and the metadata applied to all of them.

    The page sends each file to ``POST /api/documents/`` with its own progress bar; without
    JavaScript the form posts here and the same service stores all files or none.
    """

    files = MultipleFileField(label="Files")
    ticker = forms.CharField(
        label="Company ticker",
        required=False,
        max_length=16,
        help_text="From the company master; leave empty if the documents are not about one company.",
    )
    doc_type = forms.ChoiceField(label="Type", choices=DocumentType.choices, initial=DocumentType.REPORT)
    title = forms.CharField(
        label="Title", required=False, max_length=500, help_text="Single file only; otherwise taken from each file."
    )
    source = forms.CharField(label="Source", required=False, max_length=255, help_text="Broker, website, data room…")
    published_on = forms.DateField(
        label="Published on", required=False, widget=DateInput, help_text="Filing or publication date."
    )
    fiscal_year = forms.IntegerField(
        label="Fiscal year",
        required=False,
        min_value=1900,
        max_value=2100,
        help_text="The year reported on (2022 for the FY2022 10-K filed in 2023).",
    )
    fiscal_period = forms.ChoiceField(label="Fiscal period", required=False, choices=_any("—", FiscalPeriod.choices))
    period_end = forms.DateField(label="Period end", required=False, widget=DateInput)
    access_level = forms.ChoiceField(label="Access level", choices=AccessLevel.choices, initial=AccessLevel.INTERNAL)
    redact_person_names = forms.BooleanField(
        label="Also redact person names",
        required=False,
        help_text="E-mails, phone numbers, IBANs and national ids are always redacted.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        readable = allowed_access_levels(user)
        self.fields["access_level"].choices = [(v, label) for v, label in AccessLevel.choices if v in readable]

    def clean_ticker(self) -> str:
        ticker = self.cleaned_data["ticker"].strip().upper()
        if ticker and not Company.objects.filter(ticker=ticker).exists():
            raise forms.ValidationError(f"No company with ticker {ticker} in the company master.")
        return ticker

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("title") and len(cleaned.get("files") or []) > 1:
            self.add_error("title", "A title applies to a single file; leave it empty.")
        return cleaned


class _RetrievalForm(forms.Form):
    """Filters shared by search and ask."""

    text_field = "query"

    tickers = forms.CharField(
        label="Tickers", required=False, max_length=400, help_text="One or more, separated by spaces or commas."
    )
    doc_types = forms.MultipleChoiceField(
        label="Types", required=False, choices=DocumentType.choices, widget=forms.CheckboxSelectMultiple
    )
    published_from = forms.DateField(label="Published from", required=False, widget=DateInput)
    published_to = forms.DateField(label="to", required=False, widget=DateInput)
    as_of = forms.DateField(
        label="As of",
        required=False,
        widget=DateInput,
        help_text="Only documents published by this date; “last year” and “latest” count from it.",
    )
    mode = forms.ChoiceField(label="Retrieval", choices=SEARCH_MODE_CHOICES, initial="hybrid", required=False)
    limit = forms.IntegerField(
        label="Chunks", min_value=1, max_value=MAX_SEARCH_LIMIT, initial=10, required=False, help_text="1 to 50."
    )

    def clean_tickers(self) -> list[str]:
        tickers = [t.upper() for t in _TICKER_SPLIT.split(self.cleaned_data["tickers"]) if t]
        if len(tickers) > 50:
            raise forms.ValidationError("At most 50 tickers.")
        if any(len(t) > 16 for t in tickers):
            raise forms.ValidationError("A ticker has at most 16 characters.")
        unknown = unknown_tickers(tickers)
        if unknown:
            raise forms.ValidationError(
                f"No company with ticker{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in the company master."
            )
        return list(dict.fromkeys(tickers))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _check_date_range(self, cleaned)
        return cleaned

    def search_query(self) -> SearchQuery:
        data = self.cleaned_data
        return SearchQuery(
            text=data[self.text_field],
            tickers=tuple(data.get("tickers") or ()),
            doc_types=tuple(data.get("doc_types") or ()),
            published_from=data.get("published_from"),
            published_to=data.get("published_to"),
            mode=data.get("mode") or "hybrid",
            limit=data.get("limit") or 10,
            as_of=data.get("as_of"),
        )


class SearchForm(_RetrievalForm):
    query = forms.CharField(label="Search", max_length=1000, strip=True)
    field_order = ["query"]


class AskForm(_RetrievalForm):
    text_field = "question"

    question = forms.CharField(label="Question", max_length=1000, strip=True)
    field_order = ["question"]
