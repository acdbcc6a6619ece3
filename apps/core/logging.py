"""Request, job and task ids carried into every log line (JSON logs)."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
job_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("job_id", default="")
task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs its 4xx/5xx lines after the middleware chain returned
        # (context already reset), but attaches the request itself.
        record.request_id = (
            getattr(record, "request_id", "")
            or request_id_var.get()
            or getattr(getattr(record, "request", None), "request_id", "")
        )
        record.job_id = getattr(record, "job_id", "") or job_id_var.get()
        record.task_id = getattr(record, "task_id", "") or task_id_var.get()
        return True


@contextmanager
def job_context(job_id: str) -> Iterator[None]:
    token = job_id_var.set(str(job_id))
    try:
        yield
    finally:
        job_id_var.reset(token)


# Tokens of the tasks running in this thread, by task id. Prerun and postrun are sent
# from the thread that runs the task, eager runs in a web request included.
_task_tokens: dict[str, contextvars.Token[str]] = {}


def _task_context_enter(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _task_tokens[task_id] = task_id_var.set(task_id)


def _task_context_exit(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            task_id_var.reset(token)
        except ValueError:  # set in another context (a thread pool); nothing to restore here
            task_id_var.set("")


def task_log_context_connect() -> None:
    """Put the Celery task id into the log context of every task, in every worker."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_context_enter, dispatch_uid="argus-task-log-context-enter", weak=False)
    task_postrun.connect(_task_context_exit, dispatch_uid="argus-task-log-context-exit", weak=False)
