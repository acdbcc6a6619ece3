"""Asking in tests: the answer job runs in this process (eager), then its answer is read back."""

from __future__ import annotations

from typing import Any

from apps.research.selectors import SearchQuery, answer_for_job
from apps.research.services import answer_job_create


def ask_now(user: Any, query: SearchQuery) -> Any:
    job = answer_job_create(user=user, query=query)
    job.refresh_from_db()
    return answer_for_job(user, job)


def ask_api(client: Any, body: dict, run: Any) -> Any:
    """POST /api/ask/ (202 with the job; ``run`` executes what the request enqueued), then GET its answer."""
    response = run(lambda: client.post("/api/ask/", body, content_type="application/json"))
    assert response.status_code == 202, response.content
    return client.get(response.json()["status_url"])
