"""Job outputs too big for the job row, kept in the file storage that uploads use.

A job row is read by every list and every poll, so its ``result`` stays a summary of a few
hundred bytes. An embedding job's vectors (up to ARGUS_EMBED_MAX_TEXTS x 384 floats, 4 MB as
JSON) are one float32 ``.npy`` file per job instead, served a page at a time by
``GET /api/jobs/<id>/vectors/``.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

# How much of the first vector a job's result carries: enough to see it is real, not 384 numbers.
VECTOR_PREVIEW_VALUES = 6


def job_vectors_name(job_id: uuid.UUID | str) -> str:
    return f"jobs/{job_id}/embeddings.npy"


def job_vectors_save(*, job_id: uuid.UUID | str, vectors: Any) -> str:
    """Store an embedding job's vectors (an (n, dimensions) array or nested lists); returns the name."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vectors, dtype=np.float32), allow_pickle=False)
    name = job_vectors_name(job_id)
    # A redelivered task computes the same vectors again; replace rather than let the storage
    # pick a new name, so the name stays derivable from the job id.
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(buffer.getvalue()))
    return name
