"""Research pages: the document library (list, upload, detail, re-index, delete), search and cited answers.

Document status is polled by htmx like the job pages: fragments re-render while some
document on them is still queued, parsing, indexing or deleting, and stop asking to be
polled once nothing can change any more.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.research.access import RESEARCH_READER_ROLES, can_delete_document, can_reindex_document
from apps.research.api import refused_file_entry
from apps.research.forms import AskForm, DocumentFilterForm, SearchForm, UploadForm
from apps.research.models import Company, Document, DocumentChunk, DocumentType
from apps.research.selectors import (
    ACTIVE_DOCUMENT_STATUSES,
    MODEL_WORKER_ERRORS,
    SearchResult,
    answer_for_job,
    answer_job_get_for_user,
    chunk_search_understood,
    chunk_table_view,
    document_get_for_user,
    document_is_busy,
    document_list_filtered_for_user,
    redaction_counts,
)
from apps.research.services import (
    UploadFile,
    UploadMetadata,
    UploadRefused,
    answer_job_create,
    document_delete,
    document_reindex,
    documents_upload_many,
)

DOCUMENTS_PER_PAGE = 50
CHUNKS_PER_PAGE = 100
# Enough tickers for the upload form's suggestions without shipping the whole master.
TICKER_SUGGESTIONS = 500


def highlight_segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (part, is_query_term) pieces, so the template can mark terms and still escape all of it."""
    segments: list[tuple[str, bool]] = []
    position = 0
    for start, end in sorted(spans):
        if start < position or end <= start:
            continue  # overlapping or empty spans: keep the first
        if start > position:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def _document_or_404(request: HttpRequest, document_id: Any) -> Document:
    document = document_get_for_user(request.user, document_id)
    if document is None:
        # 404, not 403: a restricted document's id reveals nothing.
        raise Http404("No such document.")
    return document


# --- document list ------------------------------------------------------------------


@role_required(RESEARCH_READER_ROLES)
def research_home(request: HttpRequest) -> HttpResponse:
    """The document library: filters, status badges, live status while documents are in flight."""
    return render(request, "research/document_list.html", _document_table_context(request))


@role_required(RESEARCH_READER_ROLES)
def document_table(request: HttpRequest) -> HttpResponse:
    """The table alone, polled by the list while some of its documents are still in flight."""
    return render(request, "research/_document_table.html", _document_table_context(request))


def _document_table_context(request: HttpRequest) -> dict[str, Any]:
    form = DocumentFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()  # invalid fields are shown with their error and ignored
    documents = document_list_filtered_for_user(request.user, form.filters())
    page = Paginator(documents, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "form": form,
        "page": page,
        "documents": page.object_list,
        "filter_query": query.urlencode(),
        "table_query": request.GET.urlencode(),
        "has_active_documents": any(d.status in ACTIVE_DOCUMENT_STATUSES for d in page.object_list),
        "is_filtered": form.is_bound and form.is_valid() and form.is_filtered(),
    }


# --- upload ---------------------------------------------------------------------------


@role_required(RESEARCH_READER_ROLES)
def document_upload(request: HttpRequest) -> HttpResponse:
    """Drag-and-drop upload. JavaScript sends each file to the API with its own progress bar;
    without it, the form posts here and all files are stored, or none."""
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    refused: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            uploads = [
                UploadFile(filename=f.name, content_type=f.content_type or "", size=f.size, read=f.read)
                for f in data["files"]
            ]
            meta = UploadMetadata(
                ticker=data["ticker"],
                doc_type=data["doc_type"],
                title=data["title"],
                source=data["source"],
                published_on=data["published_on"],
                access_level=data["access_level"],
                redact_person_names=data["redact_person_names"],
                fiscal_year=data["fiscal_year"],
                fiscal_period=data["fiscal_period"],
                period_end=data["period_end"],
            )
            try:
                result = documents_upload_many(uploader=request.user, files=uploads, meta=meta)
            except UploadRefused as exc:
                refused = [
                    refused_file_entry(reason, filename=uploads[index].filename, user=request.user)
                    for index, reason in sorted(exc.refusals.items())
                ]
                status = 400
            else:
                count = len(result.documents)
                messages.success(request, f"{count} document{'s' if count != 1 else ''} queued for ingestion.")
                return redirect("jobs:detail", job_id=result.job.pk)
        else:
            status = 400
    context = {
        "form": form,
        "refused": refused,
        "tickers": Company.objects.values_list("ticker", "name")[:TICKER_SUGGESTIONS],
        "max_files": settings.ARGUS_MAX_UPLOAD_FILES,
        "max_bytes": settings.ARGUS_MAX_UPLOAD_BYTES,
        "max_megabytes": settings.ARGUS_MAX_UPLOAD_BYTES // (1024 * 1024),
        "max_pages": settings.ARGUS_MAX_UPLOAD_PAGES,
        "api_url": reverse("api-document-list"),
        # The job page of any job: the script puts the real id in place of the zeros.
        "job_url_template": reverse("jobs:detail", args=["00000000-0000-0000-0000-000000000000"]),
    }
    return render(request, "research/upload.html", context, status=status)


# --- document detail, re-index, delete --------------------------------------------------


@role_required(RESEARCH_READER_ROLES)
def document_detail(request: HttpRequest, document_id) -> HttpResponse:
    document = _document_or_404(request, document_id)
    chunks = DocumentChunk.objects.filter(document=document).order_by("ordinal")
    cited = request.GET.get("chunk", "")
    cited_cell = request.GET.get("cell", "") if cited else ""
    page_number = request.GET.get("page")
    if cited:
        # A citation link names a chunk: open the page of chunks that holds it.
        ordinal = chunks.filter(chunk_id=cited).values_list("ordinal", flat=True).first()
        if ordinal is not None:
            page_number = chunks.filter(ordinal__lt=ordinal).count() // CHUNKS_PER_PAGE + 1
    page = Paginator(chunks, CHUNKS_PER_PAGE).get_page(page_number)
    entries = [
        {
            "chunk": chunk,
            # Table chunks are shown as tables; a citation's cell (?cell=r3c2) is marked in its chunk.
            "table": chunk_table_view(chunk.table, cited=cited_cell if chunk.chunk_id == cited else "")
            if chunk.kind == "table" and chunk.table
            else None,
        }
        for chunk in page.object_list
    ]
    return render(
        request,
        "research/document_detail.html",
        {
            "document": document,
            "chunk_page": page,
            "chunk_entries": entries,
            "cited_chunk": cited,
            "cited_cell": cited_cell,
            "redactions": redaction_counts(document),
            "can_delete": can_delete_document(request.user, document),
            "can_reindex": can_reindex_document(request.user, document),
            "is_busy": document_is_busy(document),
            "is_active": document.status in ACTIVE_DOCUMENT_STATUSES,
        },
    )


@role_required(RESEARCH_READER_ROLES)
def document_status(request: HttpRequest, document_id) -> HttpResponse:
    """The status card htmx polls while the document is in flight.

    Once it settles, the whole page reloads (``HX-Refresh``) to show the new chunks; once
    it is gone (deleted), the page moves to the library.
    """
    document = document_get_for_user(request.user, document_id)
    is_htmx = request.headers.get("HX-Request") == "true"
    if document is None:
        if is_htmx:
            response = HttpResponse(status=200)
            response["HX-Redirect"] = reverse("research:home")
            return response
        raise Http404("No such document.")
    is_active = document.status in ACTIVE_DOCUMENT_STATUSES
    response = render(request, "research/_document_status.html", {"document": document, "is_active": is_active})
    if is_htmx and not is_active:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@role_required(RESEARCH_READER_ROLES)
def document_reindex_view(request: HttpRequest, document_id) -> HttpResponse:
    document = _document_or_404(request, document_id)
    if not can_reindex_document(request.user, document):
        raise PermissionDenied("Only the uploader of a document, risk officers and admins may re-index it.")
    if document_is_busy(document):
        messages.error(request, "A job is still working on this document; re-index it once that job finished.")
        return redirect("research:document-detail", document_id=document.pk)
    job = document_reindex(user=request.user, document=document)
    messages.success(request, f"Re-indexing “{document.title}”.")
    return redirect("jobs:detail", job_id=job.pk)


@role_required(RESEARCH_READER_ROLES)
def document_delete_view(request: HttpRequest, document_id) -> HttpResponse:
    """GET asks for confirmation; POST deletes (as a job) and shows the job."""
    document = _document_or_404(request, document_id)
    if not can_delete_document(request.user, document):
        raise PermissionDenied("Only the uploader of a document or an admin may delete it.")
    if request.method == "POST":
        if document_is_busy(document):
            messages.error(request, "A job is still working on this document; delete it once that job finished.")
            return redirect("research:document-detail", document_id=document.pk)
        job = document_delete(user=request.user, document=document)
        messages.success(request, f"Deleting “{document.title}”: its vectors, chunks and file.")
        return redirect("jobs:detail", job_id=job.pk)
    return render(request, "research/document_delete.html", {"document": document})


# --- search and ask -----------------------------------------------------------------------


def _result_rows(results: list[SearchResult]) -> list[dict[str, Any]]:
    return [{"result": r, "segments": highlight_segments(r.chunk.text, r.highlights)} for r in results]


def _retrieval_context(form: SearchForm | AskForm) -> dict[str, Any]:
    return {"form": form, "doc_type_choices": DocumentType.choices}


@role_required(RESEARCH_READER_ROLES)
def search(request: HttpRequest) -> HttpResponse:
    """A GET form, so a search is a link that can be shared (with someone who may read the same documents)."""
    form = SearchForm(request.GET or None)
    context: dict[str, Any] = _retrieval_context(form)
    status = 200
    if form.is_bound and form.is_valid():
        try:
            outcome = chunk_search_understood(request.user, form.search_query())
        except MODEL_WORKER_ERRORS:
            context["worker_timeout"] = settings.ARGUS_SEARCH_TIMEOUT
            status = 503
        else:
            context.update(searched=True, rows=_result_rows(outcome.results), understanding=outcome.understanding)
    elif form.is_bound:
        status = 400
    return render(request, "research/search.html", context, status=status)


@role_required(RESEARCH_READER_ROLES)
def ask(request: HttpRequest) -> HttpResponse:
    """The question queues an answer job and the page polls it: no request waits on a model."""
    form = AskForm(request.GET or None)
    context: dict[str, Any] = _retrieval_context(form)
    status = 200
    if form.is_bound and form.is_valid():
        job_id = request.GET.get("job")
        job = answer_job_get_for_user(request.user, job_id) if job_id and _is_uuid(job_id) else None
        if job is None:
            job = answer_job_create(user=request.user, query=form.search_query())
            query = request.GET.copy()
            query["job"] = str(job.pk)
            return redirect(f"{reverse('research:ask')}?{query.urlencode()}")
        context.update(_answer_context(request, job))
    elif form.is_bound:
        status = 400
    return render(request, "research/ask.html", context, status=status)


@role_required(RESEARCH_READER_ROLES)
def ask_result(request: HttpRequest, job_id) -> HttpResponse:
    """The answer card, polled by the Ask page until the job has answered."""
    job = answer_job_get_for_user(request.user, job_id)
    if job is None:
        raise Http404("No such answer.")
    return render(request, "research/_answer.html", _answer_context(request, job))


def _answer_context(request: HttpRequest, job: Any) -> dict[str, Any]:
    answer = answer_for_job(request.user, job)
    context: dict[str, Any] = {"answer_job": job, "answer": answer}
    if answer is not None:
        context["rows"] = _result_rows(answer.sources)
    return context


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
