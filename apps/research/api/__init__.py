"""The research desk's API: documents (upload, list, detail, chunks, re-index, delete), search and cited answers.

Readers (analyst, risk officer, admin) use all of it; a document the caller may not read
answers 404 exactly like one that does not exist, so an id reveals nothing.
"""

from apps.research.api.companies import CompanyDetailApi, CompanyListCreateApi
from apps.research.api.documents import (
    DocumentChunkListApi,
    DocumentDetailApi,
    DocumentListCreateApi,
    DocumentReindexApi,
    refused_file_entry,
)
from apps.research.api.search import AskApi, AskResultApi, SearchApi

__all__ = [
    "AskApi",
    "AskResultApi",
    "CompanyDetailApi",
    "CompanyListCreateApi",
    "DocumentChunkListApi",
    "DocumentDetailApi",
    "DocumentListCreateApi",
    "DocumentReindexApi",
    "SearchApi",
    "refused_file_entry",
]
