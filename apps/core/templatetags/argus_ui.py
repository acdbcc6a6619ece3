"""Small presentation filters shared by the page templates."""

from __future__ import annotations

import datetime
import uuid

from django import template

from apps.accounts.roles import Role

register = template.Library()


@register.filter
def role_label(value: str) -> str:
    """``risk_officer`` -> ``Risk officer``; unknown values pass through."""
    try:
        return str(Role(value).label)
    except ValueError:
        return value


@register.filter
def short_id(value: uuid.UUID | str) -> str:
    """The first block of a UUID: enough to tell jobs apart on a page."""
    return str(value).split("-", 1)[0]


@register.filter
def duration_between(start: datetime.datetime | None, end: datetime.datetime | None) -> str:
    """``start|duration_between:end`` as ``850 ms``, ``12.4 s`` or ``3 min 05 s``; empty when unknown."""
    if start is None or end is None:
        return ""
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
