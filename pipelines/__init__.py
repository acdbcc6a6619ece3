"""Plain-Python pipelines (no Django): the apps call them with plain data and get plain data back.

Ingest: ``pipelines.ingest.ingest_bytes`` chains ``parsing`` (bytes -> ``documents.ParsedDocument``),
``cleaning``, ``redaction`` (PII removed, with an audit log) and ``chunking`` (token-bounded,
section-aware chunks). Heavy libraries (tokenizers, spaCy) load lazily, on first use.
"""
