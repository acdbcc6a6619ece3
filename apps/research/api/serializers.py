"""Input and output serializers of the research API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from apps.core.api_fields import StrictNumberField
from apps.jobs.api import JobOutputSerializer, StrictCharField, StrictSerializer
from apps.research.access import allowed_access_levels, can_delete_document, can_reindex_document
from apps.research.api.common import MAX_SEARCH_LIMIT, SEARCH_MODES, document_api_url, document_page_url
from apps.research.models import (
    AccessLevel,
    Company,
    Document,
    DocumentChunk,
    DocumentStatus,
    DocumentType,
    FiscalPeriod,
)
from apps.research.selectors import (
    DocumentFilters,
    SearchQuery,
    SearchResult,
    chunk_page_url,
    redaction_counts,
    unknown_tickers,
)

# --- output -----------------------------------------------------------------------


class DocumentSerializer(serializers.ModelSerializer):
    ticker = serializers.CharField(
        source="company.ticker", default=None, allow_null=True, help_text="Null when no company is linked."
    )
    company = serializers.CharField(source="company.name", default=None, allow_null=True)
    uploaded_by = serializers.CharField(
        source="uploaded_by.username", default=None, allow_null=True, help_text="Null for system loads."
    )
    job_id = serializers.UUIDField(default=None, read_only=True, help_text="The last ingest or re-index job.")
    url = serializers.SerializerMethodField(help_text="This document in the API.")
    page_url = serializers.SerializerMethodField(help_text="This document's page in the web UI.")

    class Meta:
        model = Document
        fields = [
            "id", "title", "ticker", "company", "doc_type", "access_level", "status", "status_reason", "source",
            "published_on", "fiscal_year", "fiscal_period", "period_end", "original_name", "file_format", "size_bytes",
            "page_count", "chunk_count",
            "uploaded_by", "job_id", "created_at", "indexed_at", "url", "page_url",
        ]  # fmt: skip

    def get_url(self, document: Document) -> str:
        return document_api_url(document.pk)

    def get_page_url(self, document: Document) -> str:
        return document_page_url(document.pk)


class DocumentDetailSerializer(DocumentSerializer):
    redactions = serializers.SerializerMethodField(
        help_text="How many values of each kind (email, phone, iban, person, ...) were redacted before indexing. "
        "The values themselves are never stored or returned."
    )
    redact_person_names = serializers.BooleanField()
    chunks_url = serializers.SerializerMethodField()
    can_delete = serializers.SerializerMethodField(help_text="Whether the caller may delete it (uploader or admin).")
    can_reindex = serializers.SerializerMethodField(
        help_text="Whether the caller may re-index it (uploader, risk officer or admin)."
    )

    class Meta(DocumentSerializer.Meta):
        fields = [
            *DocumentSerializer.Meta.fields,
            "redact_person_names",
            "redactions",
            "chunks_url",
            "can_delete",
            "can_reindex",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_redactions(self, document: Document) -> dict[str, int]:
        return redaction_counts(document)

    def get_chunks_url(self, document: Document) -> str:
        return reverse("api-document-chunks", args=[document.pk])

    def get_can_delete(self, document: Document) -> bool:
        return can_delete_document(self.context["request"].user, document)

    def get_can_reindex(self, document: Document) -> bool:
        return can_reindex_document(self.context["request"].user, document)


class ChunkSerializer(serializers.ModelSerializer):
    page_url = serializers.SerializerMethodField()
    kind = serializers.CharField(read_only=True, help_text='"text", or "table" for a table or a run of its rows.')
    table = serializers.JSONField(
        read_only=True,
        allow_null=True,
        help_text="A table chunk's cells: title, headers, columns with their periods, rows with labels and cells "
        "(text, signed value, scale, unit), part and parts; null for text. A cell is cited as <chunk_id>#r<row>c<col>.",
    )

    class Meta:
        model = DocumentChunk
        fields = [
            "chunk_id", "ordinal", "section", "page_start", "page_end", "char_start", "char_end", "token_count",
            "text", "kind", "table", "page_url",
        ]  # fmt: skip

    def get_page_url(self, chunk: DocumentChunk) -> str:
        return chunk_page_url(chunk.document_id, chunk.chunk_id)


class UploadedDocumentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "title", "status", "original_name", "access_level", "url", "page_url"]

    def get_url(self, document: Document) -> str:
        return document_api_url(document.pk)

    def get_page_url(self, document: Document) -> str:
        return document_page_url(document.pk)


class UploadOutputSerializer(serializers.Serializer):
    job = JobOutputSerializer(help_text="One ingest job for the whole upload; poll its status_url.")
    documents = UploadedDocumentSerializer(many=True)


class DocumentRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    title = serializers.CharField()
    ticker = serializers.CharField(source="company.ticker", default=None, allow_null=True)
    doc_type = serializers.ChoiceField(choices=DocumentType.choices)
    published_on = serializers.DateField(allow_null=True)
    fiscal_year = serializers.IntegerField(allow_null=True)
    fiscal_period = serializers.CharField(allow_blank=True, help_text="FY, Q1..Q4, H1, H2; empty when unknown.")
    access_level = serializers.ChoiceField(choices=AccessLevel.choices)
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    def get_url(self, document: Document) -> str:
        return document_api_url(document.pk)

    def get_page_url(self, document: Document) -> str:
        return document_page_url(document.pk)


class HighlightSerializer(serializers.Serializer):
    start = serializers.IntegerField(help_text="Character offset in `text` where a query term starts.")
    end = serializers.IntegerField(help_text="Offset just after it.")


class SearchResultSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1 = best.")
    chunk_id = serializers.CharField(source="chunk.chunk_id")
    document = DocumentRefSerializer()
    page = serializers.IntegerField(
        source="chunk.page_start", allow_null=True, help_text="Null for formats without pages."
    )
    page_end = serializers.IntegerField(source="chunk.page_end", allow_null=True)
    section = serializers.CharField(source="chunk.section", help_text="Enclosing headings, outermost first.")
    text = serializers.CharField(source="chunk.text", help_text="The chunk as indexed (after redaction).")
    highlights = serializers.SerializerMethodField()
    score = serializers.FloatField(help_text="The mode's score: fused RRF (hybrid), cosine (dense) or BM25 (keyword).")
    ranks = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Rank per retriever (dense, keyword) where the chunk was a candidate.",
    )
    chunk_url = serializers.SerializerMethodField(help_text="The chunk on its document's page in the web UI.")

    @extend_schema_field(HighlightSerializer(many=True))
    def get_highlights(self, result: SearchResult) -> list[dict[str, int]]:
        return [{"start": start, "end": end} for start, end in result.highlights]

    def get_chunk_url(self, result: SearchResult) -> str:
        return chunk_page_url(result.document.pk, result.chunk.chunk_id)


class DetectedCompanySerializer(serializers.Serializer):
    ticker = serializers.CharField()
    name = serializers.CharField()
    text = serializers.CharField(help_text="How the question wrote it: `$AAPL`, `NYSE: KO`, `Apple's`.")
    method = serializers.ChoiceField(choices=["ticker", "name"])


class DetectedPeriodSerializer(serializers.Serializer):
    text = serializers.CharField()
    fiscal_year = serializers.IntegerField(allow_null=True)
    fiscal_period = serializers.ChoiceField(choices=FiscalPeriod.choices)
    label = serializers.CharField(help_text="`FY2022`, `Q2 2023`, `H1 2024`.")
    relative = serializers.CharField(
        allow_blank=True, help_text="The relative phrase it was resolved from (`last_year`, ...), empty if absolute."
    )


class AppliedFiltersSerializer(serializers.Serializer):
    tickers = serializers.ListField(child=serializers.CharField(), help_text="Added from the companies detected.")
    fiscal_years = serializers.ListField(
        child=serializers.IntegerField(), help_text="Added from the periods detected (or `latest`)."
    )
    published_to = serializers.DateField(allow_null=True, help_text="The as-of date's bound on publication dates.")


class QueryUnderstandingSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="The date relative periods were resolved against.")
    companies = DetectedCompanySerializer(many=True)
    periods = DetectedPeriodSerializer(many=True)
    fiscal_years = serializers.ListField(child=serializers.IntegerField(), required=False)
    comparison = serializers.BooleanField(required=False)
    peers = serializers.BooleanField(required=False, help_text="The question asks about companies it does not name.")
    latest = serializers.BooleanField(required=False)
    latest_fiscal_year = serializers.IntegerField(allow_null=True, help_text="What `latest` resolved to.")
    applied_filters = AppliedFiltersSerializer()
    company_scope = serializers.ListField(
        child=serializers.CharField(),
        help_text="The companies an answer may quote; empty means any (no company named, or a peer comparison).",
    )
    fallback = serializers.CharField(
        allow_null=True, help_text="Set when the detected filters matched nothing and a wider search answered."
    )


class SearchOutputSerializer(serializers.Serializer):
    query = serializers.CharField()
    mode = serializers.ChoiceField(choices=SEARCH_MODES)
    count = serializers.IntegerField()
    results = SearchResultSerializer(many=True)
    query_understanding = QueryUnderstandingSerializer(
        help_text="Companies and periods detected in the query, the filters they added, and any fallback."
    )


class CitationSerializer(serializers.Serializer):
    chunk_id = serializers.CharField()
    document_id = serializers.UUIDField()
    title = serializers.CharField(source="document_title")
    page = serializers.IntegerField(allow_null=True)
    section = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="The cited chunk on its document's page in the web UI.")

    def get_url(self, citation: Any) -> str:
        return chunk_page_url(citation.document_id, citation.chunk_id)


class AnswerSentenceSerializer(serializers.Serializer):
    text = serializers.CharField()
    citation = CitationSerializer()


# A client that wants one response may wait this long; longer would hold a web thread on a model.
MAX_ASK_WAIT_SECONDS = 10.0


class AskJobOutputSerializer(serializers.Serializer):
    """An answer job that has not produced an answer: queued, running, or failed."""

    job_id = serializers.UUIDField(source="id")
    status = serializers.CharField(help_text="`queued`, `running` or `failed`.")
    progress = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    status_url = serializers.SerializerMethodField(help_text="GET it until it answers 200 with the answer.")

    def get_status_url(self, job: Any) -> str:
        return f"/api/ask/{job.id}/"


class ConflictQuoteSerializer(serializers.Serializer):
    text = serializers.CharField()
    citation = CitationSerializer()
    doc_type = serializers.CharField(help_text="The cited document's type.")
    trust = serializers.IntegerField(help_text="The source's trust rank (higher is more trusted; ARGUS_SOURCE_TRUST).")
    figures = serializers.ListField(child=serializers.CharField(), help_text="The figures the sentence states.")


class FigureConflictSerializer(serializers.Serializer):
    metric = serializers.CharField(help_text="The metric (a finance-vocabulary concept, e.g. `revenue`).")
    period = serializers.CharField(help_text="The period both sentences name (e.g. `2024`, `Q2 2024`); empty if none.")
    preferred_chunk_id = serializers.CharField(
        help_text="The citation of the most trusted source; empty when the sources are equally trusted."
    )
    quotes = ConflictQuoteSerializer(many=True, help_text="The disagreeing sentences, most trusted source first.")


class AbstentionSerializer(serializers.Serializer):
    sufficient = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why the retrieved passages were (not) enough to answer from.")
    best_dense = serializers.FloatField(allow_null=True, help_text="Best cosine similarity of a retrieved chunk.")
    best_fused = serializers.FloatField(allow_null=True, help_text="Best fused (RRF) score.")
    coverage = serializers.FloatField(help_text="Share of the question's content terms found in the passages.")
    name_coverage = serializers.FloatField(help_text="Share of the question's names and numbers found.")
    missing_terms = serializers.ListField(child=serializers.CharField())
    thresholds = serializers.DictField(child=serializers.FloatField())


class ComputedOperandSerializer(serializers.Serializer):
    chunk_id = serializers.CharField(help_text="The table chunk the operand was read from.")
    cell = serializers.CharField(
        help_text="The cell as `<chunk_id>#r<row>c<col>` (empty for a figure read from prose)."
    )
    url = serializers.CharField(help_text="The document page opened at that cell, marked.")
    document_id = serializers.CharField()
    document_title = serializers.CharField()
    row_label = serializers.CharField()
    column_header = serializers.CharField()
    value = serializers.CharField(help_text="The operand as a decimal string, sign kept, before scaling.")
    text = serializers.CharField(help_text="The cell as printed.")
    unit = serializers.CharField()
    scale = serializers.CharField()


class ComputedFigureSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="lookup, growth, difference, ratio, sum, average, ...")
    value = serializers.JSONField(help_text="The result as a decimal string (a list for multi-value answers).")
    unit = serializers.CharField()
    scale = serializers.CharField(help_text="thousand, million, billion or empty.")
    formula = serializers.CharField(
        help_text="The arithmetic, done by code on the operands, e.g. `(383,285 - 394,328) / 394,328 * 100` "
        "(printed with the minus and times signs)."
    )
    operands = ComputedOperandSerializer(many=True)


class AnswerOutputSerializer(serializers.Serializer):
    job_id = serializers.UUIDField(help_text="The answer job (its inferences are in the audit trail under it).")
    question = serializers.CharField()
    answer = AnswerSentenceSerializer(many=True, source="sentences", help_text="Each sentence cites one chunk.")
    insufficient_evidence = serializers.BooleanField(
        help_text="True when the retrieved chunks do not answer the question; `answer` is then empty."
    )
    method = serializers.CharField(
        help_text="`extractive` (sentences quoted from the chunks), `abstained` (the retrieved chunks were below "
        "the relevance threshold; no model was called) or a generation method."
    )
    sources = SearchResultSerializer(many=True, help_text="The retrieved chunks the answer was drawn from.")
    conflicts = FigureConflictSerializer(
        many=True, help_text="Sentences of the answer that give different figures for the same metric and period."
    )
    abstention = AbstentionSerializer(
        allow_null=True, help_text="The relevance check made before answering (null for answers made before it)."
    )
    computed = ComputedFigureSerializer(
        allow_null=True,
        help_text="A value or computation the question asks for, computed by code from cited table cells; null "
        "when the question needs none or the cells do not settle it.",
    )
    query_understanding = QueryUnderstandingSerializer(
        allow_null=True, help_text="Companies and periods detected in the question, the filters they added."
    )


# --- input ------------------------------------------------------------------------


def _validate_date_range(data: dict[str, Any]) -> dict[str, Any]:
    start, end = data.get("published_from"), data.get("published_to")
    if start and end and start > end:
        raise serializers.ValidationError({"published_to": ["Must not be before published_from."]})
    return data


class FormDateField(serializers.DateField):
    """A date part of a multipart form. A form cannot send null, so the schema states a plain
    date (not nullable); an empty part, as an HTML form sends it, means no date."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "" and not self.required:
            raise SkipField()
        return super().validate_empty_values(data)


class DocumentUploadInputSerializer(StrictSerializer):
    """Files, and metadata that applies to all of them; unknown parts are refused."""

    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        min_length=1,
        max_length=settings.ARGUS_MAX_UPLOAD_FILES,
        help_text=(
            f"1 to {settings.ARGUS_MAX_UPLOAD_FILES} files (repeat the `files` part), each at most "
            f"{settings.ARGUS_MAX_UPLOAD_BYTES // (1024 * 1024)} MB and "
            f"{settings.ARGUS_MAX_UPLOAD_PAGES} pages: PDF (text layer), HTML, Markdown, plain text, "
            "or JSON lines (a batch: one document per line with `text` and optional `title`, `ticker`, "
            "`type`, `date`, `source`, `access_level`)."
        ),
    )
    ticker = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="A ticker of the company master, e.g. ACME."
    )
    doc_type = serializers.ChoiceField(choices=DocumentType.choices, default=DocumentType.OTHER)
    title = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Single file only; defaults to the file's own title.",
    )
    source = serializers.CharField(required=False, allow_blank=True, max_length=255)
    published_on = FormDateField(required=False, help_text="The filing or publication date (what `as_of` compares).")
    fiscal_year = serializers.IntegerField(
        required=False,
        min_value=1900,
        max_value=2100,
        help_text="The fiscal year the document reports on (2022 for the FY2022 10-K filed in 2023); "
        "taken from `period_end` when not given.",
    )
    fiscal_period = serializers.ChoiceField(
        choices=FiscalPeriod.choices, required=False, help_text="FY for annual reports, Q1..Q4, H1, H2."
    )
    period_end = FormDateField(required=False, help_text="The last day of the reported period.")
    access_level = serializers.ChoiceField(
        choices=AccessLevel.choices,
        default=AccessLevel.INTERNAL,
        help_text="Who may read the documents; only a level the uploader may read is accepted.",
    )
    redact_person_names = serializers.BooleanField(
        default=False, help_text="Also redact person names (NER) besides e-mails, phones, IBANs and national ids."
    )

    def validate_ticker(self, ticker: str) -> str:
        ticker = ticker.strip().upper()
        if ticker and not Company.objects.filter(ticker=ticker).exists():
            raise serializers.ValidationError(f"No company with ticker {ticker} in the company master.")
        return ticker

    def validate_access_level(self, level: str) -> str:
        if level not in allowed_access_levels(self.context["request"].user):
            raise serializers.ValidationError(f"You may not upload {level} documents: your role cannot read them.")
        return level

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("title") and len(data["files"]) > 1:
            raise serializers.ValidationError({"title": ["A title applies to a single file; leave it empty."]})
        return data


class _SearchFiltersSerializer(StrictSerializer):
    tickers = serializers.ListField(
        child=StrictCharField(max_length=16), required=False, default=list, max_length=50, help_text="Any of these."
    )
    doc_types = serializers.ListField(
        child=serializers.ChoiceField(choices=DocumentType.choices), required=False, default=list, max_length=10
    )
    published_from = serializers.DateField(required=False, allow_null=True, default=None)
    published_to = serializers.DateField(required=False, allow_null=True, default=None)
    fiscal_years = serializers.ListField(
        child=serializers.IntegerField(min_value=1900, max_value=2100),
        required=False,
        default=list,
        max_length=20,
        help_text="Documents of these fiscal years (and documents without one, such as news).",
    )
    as_of = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Search as of this date: documents published after it (or undated) are never returned, "
        "and `last year`, `last quarter`, `latest` resolve against it.",
    )
    understand = serializers.BooleanField(
        default=True,
        help_text="Filter on the companies and fiscal years the text names when no tickers / fiscal years "
        "are given (with a stated fallback when that finds nothing).",
    )
    mode = serializers.ChoiceField(
        choices=SEARCH_MODES,
        default="hybrid",
        help_text="hybrid: dense and keyword results fused by reciprocal rank; dense: embeddings only; "
        "keyword: BM25 only.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_SEARCH_LIMIT, default=10)

    def validate_tickers(self, tickers: list[str]) -> list[str]:
        unknown = unknown_tickers(tickers)
        if unknown:
            raise serializers.ValidationError(unknown_tickers_message(unknown))
        return tickers

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        return _validate_date_range(data)


def unknown_tickers_message(unknown: list[str]) -> str:
    """Names the tickers, as upload does: a filter on a ticker nobody knows would silently find nothing."""
    if len(unknown) == 1:
        return f"No company with ticker {unknown[0]} in the company master."
    return f"No companies with tickers {', '.join(unknown)} in the company master."


class SearchInputSerializer(_SearchFiltersSerializer):
    query = StrictCharField(max_length=1000, trim_whitespace=True)


class AskInputSerializer(_SearchFiltersSerializer):
    question = StrictCharField(max_length=1000, trim_whitespace=True)
    wait = StrictNumberField(
        default=0,
        min_value=0,
        max_value=MAX_ASK_WAIT_SECONDS,
        help_text=f"Seconds (at most {MAX_ASK_WAIT_SECONDS:g}) to wait for the answer before answering 202.",
    )


def search_query(data: dict[str, Any], text: str) -> SearchQuery:
    return SearchQuery(
        text=text,
        tickers=tuple(t.strip().upper() for t in data["tickers"] if t.strip()),
        doc_types=tuple(dict.fromkeys(data["doc_types"])),
        published_from=data["published_from"],
        published_to=data["published_to"],
        mode=data["mode"],
        limit=data["limit"],
        fiscal_years=tuple(sorted(set(data["fiscal_years"]))),
        as_of=data["as_of"],
        understand=data["understand"],
    )


class DocumentFilterInputSerializer(StrictSerializer):
    """Query parameters of the document list; pagination's own are let through."""

    PAGINATION_PARAMS = frozenset({"limit", "offset"})

    ticker = serializers.CharField(required=False, allow_blank=True, max_length=16)
    doc_type = serializers.ChoiceField(choices=DocumentType.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=DocumentStatus.choices, required=False, allow_blank=True)
    access_level = serializers.ChoiceField(choices=AccessLevel.choices, required=False, allow_blank=True)
    published_from = serializers.DateField(required=False, allow_null=True)
    published_to = serializers.DateField(required=False, allow_null=True)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Words of the title.")

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value({k: v for k, v in data.items() if k not in self.PAGINATION_PARAMS})

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        return _validate_date_range(data)

    def filters(self) -> DocumentFilters:
        data = self.validated_data
        return DocumentFilters(
            ticker=data.get("ticker", ""),
            doc_type=data.get("doc_type", ""),
            status=data.get("status", ""),
            access_level=data.get("access_level", ""),
            published_from=data.get("published_from"),
            published_to=data.get("published_to"),
            text=data.get("q", ""),
        )
