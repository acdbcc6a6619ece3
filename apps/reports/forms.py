"""Forms of the report pages: request a report, review one."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.reports.models import ReportTemplate
from apps.research.selectors import company_get_by_ticker


class DateInput(forms.DateInput):
    input_type = "date"


class ReportRequestForm(forms.Form):
    """Request a research report (POST)."""

    ticker = forms.CharField(label="Company ticker", max_length=16)
    template = forms.ChoiceField(label="Template", choices=[])
    question = forms.CharField(
        label="Question", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    required_indicators = forms.CharField(
        label="Required indicators",
        required=False,
        max_length=400,
        help_text="Comma-separated, e.g. revenue growth, gross margin, net debt/EBITDA",
    )
    adapter = forms.ChoiceField(label="Adapter", required=False, choices=[])
    as_of = forms.DateField(label="Sources as of", required=False, widget=DateInput)

    def __init__(self, *args: Any, adapter_names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = ReportTemplate.choices
        self.fields["adapter"].choices = [("", "Base model (no adapter)")] + [(n, n) for n in adapter_names or []]
        if adapter_names and not self.is_bound:
            self.initial.setdefault("adapter", adapter_names[0])

    def clean_ticker(self) -> str:
        ticker = self.cleaned_data["ticker"].strip().upper()
        if company_get_by_ticker(ticker) is None:
            raise forms.ValidationError("Unknown ticker: pick a company of the company master.")
        return ticker

    def clean_required_indicators(self) -> list[str]:
        raw = self.cleaned_data.get("required_indicators", "")
        return [part.strip() for part in raw.split(",") if part.strip()]


class ReportReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approved", "Approve"), ("rejected", "Reject")])
    comment = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
