"""Risk writes: feeds, watchlists and the alert workflow (raise with dedup, assign, acknowledge, escalate,
resolve, reopen, comment). Every alert change writes an ``AlertAction``; critical alerts e-mail the
watchlist's recipients once the transaction commits.

Feed polling and article storage live in ``apps.risk.feeds``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from apps.accounts.roles import Role, user_has_role
from apps.jobs.models import ACTIVE_STATUSES, Job, JobKind
from apps.jobs.services import job_create
from apps.risk.models import (
    LEVEL_RANK,
    UNRESOLVED_STATUSES,
    Alert,
    AlertAction,
    AlertActionKind,
    AlertLevel,
    AlertStatus,
    Article,
    Feed,
    FeedKind,
    RiskScore,
    Watchlist,
)

logger = logging.getLogger(__name__)

# Who may change feeds, watchlists and alerts; analysts and auditors read.
RISK_ACTOR_ROLES: frozenset[Role] = frozenset({Role.RISK_OFFICER, Role.ADMIN})
RAISABLE_LEVELS = (AlertLevel.WATCH, AlertLevel.WARNING, AlertLevel.CRITICAL)
ATTRIBUTION_MAX_ITEMS = 200


class AlertTransitionError(Exception):
    """The alert's status does not allow the action (e.g. acknowledging a resolved alert)."""


def _require_actor(actor: Any) -> None:
    if not user_has_role(actor, RISK_ACTOR_ROLES):
        raise PermissionDenied("Only risk officers and administrators change feeds, watchlists and alerts.")


def _actor_label(actor: Any) -> str:
    return f"user:{actor.get_username()}" if actor is not None else ""


# --- feeds --------------------------------------------------------------------------------------------


def feed_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    url_or_path: str = "",
    poll_interval_seconds: int = 900,
    min_seconds_between_requests: float = 1.0,
    enabled: bool = True,
) -> Feed:
    _require_actor(actor)
    if kind not in FeedKind.values:
        raise ValidationError({"kind": f"kind must be one of {', '.join(FeedKind.values)}"})
    if kind == FeedKind.RSS and not url_or_path.startswith(("http://", "https://")):
        raise ValidationError({"url_or_path": "An RSS/Atom feed needs an http(s) URL."})
    if kind in (FeedKind.JSONL_FILE, FeedKind.JSONL_FOLDER, FeedKind.DEMO) and not url_or_path:
        raise ValidationError({"url_or_path": "A file feed needs a path."})
    if poll_interval_seconds < 60:
        raise ValidationError({"poll_interval_seconds": "Poll at most once a minute (the beat interval)."})
    return Feed.objects.create(
        name=name.strip()[:200],
        kind=kind,
        url_or_path=url_or_path.strip(),
        poll_interval_seconds=poll_interval_seconds,
        min_seconds_between_requests=max(0.0, min_seconds_between_requests),
        enabled=enabled,
        owner=actor,
    )


def feed_set_enabled(*, feed: Feed, actor: Any, enabled: bool) -> Feed:
    """Enable or pause a feed; re-enabling also clears its backoff so it is polled at the next beat."""
    _require_actor(actor)
    feed.enabled = enabled
    fields = ["enabled"]
    if enabled:
        feed.consecutive_errors = 0
        feed.next_poll_at = None
        fields += ["consecutive_errors", "next_poll_at"]
    feed.save(update_fields=fields)
    return feed


# --- watchlists ---------------------------------------------------------------------------------------


def _clean_emails(emails: Iterable[str]) -> list[str]:
    cleaned = []
    for email in emails:
        email = email.strip()
        if not email:
            continue
        validate_email(email)
        if email not in cleaned:
            cleaned.append(email)
    return cleaned


def watchlist_create(
    *,
    actor: Any,
    name: str,
    companies: Iterable[Any] = (),
    watch_threshold: float = 40.0,
    warning_threshold: float = 60.0,
    critical_threshold: float = 80.0,
    hysteresis: float = 5.0,
    notify_emails: Iterable[str] = (),
    owner: Any = None,
) -> Watchlist:
    """A watchlist owned by ``owner`` (the actor by default). Thresholds must rise: watch < warning < critical."""
    _require_actor(actor)
    watchlist = Watchlist(
        name=name.strip()[:200],
        owner=owner or actor,
        watch_threshold=watch_threshold,
        warning_threshold=warning_threshold,
        critical_threshold=critical_threshold,
        hysteresis=hysteresis,
        notify_emails=_clean_emails(notify_emails),
    )
    watchlist.full_clean(exclude=["companies"])
    with transaction.atomic():
        watchlist.save()
        watchlist.companies.set(list(companies))
    return watchlist


WATCHLIST_EDITABLE = (
    "name",
    "watch_threshold",
    "warning_threshold",
    "critical_threshold",
    "hysteresis",
    "notify_emails",
    "owner",
)


def watchlist_update(
    *, watchlist: Watchlist, actor: Any, companies: Iterable[Any] | None = None, **changes: Any
) -> Watchlist:
    """Change fields of ``WATCHLIST_EDITABLE`` and, when given, replace the companies."""
    _require_actor(actor)
    unknown = set(changes) - set(WATCHLIST_EDITABLE)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
    for name, value in changes.items():
        if name == "notify_emails":
            value = _clean_emails(value)
        setattr(watchlist, name, value)
    watchlist.full_clean(exclude=["companies"])
    with transaction.atomic():
        watchlist.save()
        if companies is not None:
            watchlist.companies.set(list(companies))
    return watchlist


# --- alerts -------------------------------------------------------------------------------------------


def _action(
    alert: Alert, action: str, *, actor: Any = None, actor_label: str = "", note: str = "", **details: Any
) -> AlertAction:
    return AlertAction.objects.create(
        alert=alert,
        actor=actor,
        actor_label=actor_label or _actor_label(actor),
        action=action,
        note=note,
        details=details,
    )


def _bounded_attribution(attribution: Sequence[dict[str, Any]] | None) -> list[dict[str, Any]]:
    # Contributions come sorted by size from the scorer; the tail beyond the bound is summed, not lost.
    items = list(attribution or [])
    if len(items) <= ATTRIBUTION_MAX_ITEMS:
        return items
    kept, rest = items[:ATTRIBUTION_MAX_ITEMS], items[ATTRIBUTION_MAX_ITEMS:]
    kept.append({"kind": "other", "value": sum(float(i.get("value", 0.0)) for i in rest), "count": len(rest)})
    return kept


def alert_raise(
    *,
    watchlist: Watchlist,
    company: Any,
    level: str,
    score: float,
    dedup_key: str,
    attribution: Sequence[dict[str, Any]] | None = None,
    risk_score: RiskScore | None = None,
    actor_label: str = "schedule:risk-scan",
    note: str = "",
) -> tuple[Alert, str]:
    """Raise an alert, or update the unresolved one with the same dedup key (one story, one alert).

    Returns the alert and what happened: ``"raised"``, ``"escalated"`` (an open alert's level rose: it
    takes the new level and status ESCALATED), or ``"updated"`` (score and attribution refreshed; an
    alert keeps the highest level it reached until someone resolves it). A new critical alert, or one
    escalated to critical, is e-mailed after commit.
    """
    if level not in RAISABLE_LEVELS:
        raise ValueError(f"level must be one of {', '.join(RAISABLE_LEVELS)}, got {level!r}")
    snapshot = _bounded_attribution(attribution)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                existing = (
                    Alert.objects.select_for_update()
                    .filter(watchlist=watchlist, dedup_key=dedup_key, status__in=UNRESOLVED_STATUSES)
                    .first()
                )
                if existing is None:
                    alert = Alert.objects.create(
                        watchlist=watchlist,
                        company=company,
                        level=level,
                        dedup_key=dedup_key[:300],
                        score=score,
                        risk_score=risk_score,
                        attribution=snapshot,
                    )
                    _action(alert, AlertActionKind.RAISED, actor_label=actor_label, note=note, level=level, score=score)
                    if level == AlertLevel.CRITICAL:
                        _notify_critical(alert)
                    return alert, "raised"
                return existing, _alert_refresh(existing, level, score, snapshot, risk_score, actor_label, note)
        except IntegrityError:
            # Another run raised the same story between our read and insert; take its alert on the retry.
            continue
    raise RuntimeError(f"could not raise or update the alert {dedup_key!r}")


def _alert_refresh(
    alert: Alert,
    level: str,
    score: float,
    snapshot: list[dict[str, Any]],
    risk_score: RiskScore | None,
    actor_label: str,
    note: str,
) -> str:
    previous_level, previous_status, previous_score = alert.level, alert.status, alert.score
    alert.score = score
    alert.attribution = snapshot
    if risk_score is not None:
        alert.risk_score = risk_score
    if LEVEL_RANK[level] > LEVEL_RANK[previous_level]:
        alert.level = level
        alert.status = AlertStatus.ESCALATED
        alert.save()
        _action(
            alert,
            AlertActionKind.LEVEL_CHANGED,
            actor_label=actor_label,
            note=note,
            from_level=previous_level,
            to_level=level,
            score=score,
        )
        if previous_status != AlertStatus.ESCALATED:
            _action(
                alert,
                AlertActionKind.ESCALATED,
                actor_label=actor_label,
                note=f"Level rose from {previous_level} to {level}.",
                from_status=previous_status,
                to_status=AlertStatus.ESCALATED,
            )
        if level == AlertLevel.CRITICAL:
            _notify_critical(alert)
        return "escalated"
    alert.save(update_fields=["score", "attribution", "risk_score", "updated_at"])
    if abs(score - previous_score) > 1e-9:
        _action(
            alert, AlertActionKind.UPDATED, actor_label=actor_label, note=note, from_score=previous_score, score=score
        )
    return "updated"


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert.pk)


def _transition(
    alert: Alert,
    *,
    actor: Any,
    allowed_from: Iterable[str],
    to_status: str,
    action: str,
    note: str,
    **extra: Any,
) -> Alert:
    _require_actor(actor)
    with transaction.atomic():
        current = _locked(alert)
        if current.status not in allowed_from:
            raise AlertTransitionError(
                f"A {current.get_status_display().lower()} alert cannot be {AlertActionKind(action).label.lower()}."
            )
        from_status = current.status
        current.status = to_status
        fields = ["status", "updated_at"]
        if to_status == AlertStatus.RESOLVED:
            current.resolved_at = timezone.now()
            fields.append("resolved_at")
        elif from_status == AlertStatus.RESOLVED:
            current.resolved_at = None
            fields.append("resolved_at")
        try:
            with transaction.atomic():
                current.save(update_fields=fields)
        except IntegrityError:
            raise AlertTransitionError(
                "An unresolved alert for the same story exists on this watchlist; work on that one."
            ) from None
        _action(current, action, actor=actor, note=note, from_status=from_status, to_status=to_status, **extra)
        if action == AlertActionKind.ESCALATED and current.level == AlertLevel.CRITICAL:
            _notify_critical(current)
    alert.refresh_from_db()
    return alert


def alert_acknowledge(*, alert: Alert, actor: Any, note: str = "") -> Alert:
    return _transition(
        alert,
        actor=actor,
        allowed_from=(AlertStatus.OPEN, AlertStatus.ESCALATED),
        to_status=AlertStatus.ACKNOWLEDGED,
        action=AlertActionKind.ACKNOWLEDGED,
        note=note,
    )


def alert_escalate(*, alert: Alert, actor: Any, note: str = "") -> Alert:
    return _transition(
        alert,
        actor=actor,
        allowed_from=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
        to_status=AlertStatus.ESCALATED,
        action=AlertActionKind.ESCALATED,
        note=note,
    )


def alert_resolve(*, alert: Alert, actor: Any, note: str = "") -> Alert:
    return _transition(
        alert,
        actor=actor,
        allowed_from=UNRESOLVED_STATUSES,
        to_status=AlertStatus.RESOLVED,
        action=AlertActionKind.RESOLVED,
        note=note,
    )


def alert_reopen(*, alert: Alert, actor: Any, note: str = "") -> Alert:
    return _transition(
        alert,
        actor=actor,
        allowed_from=(AlertStatus.RESOLVED,),
        to_status=AlertStatus.OPEN,
        action=AlertActionKind.REOPENED,
        note=note,
    )


def alert_assign(*, alert: Alert, actor: Any, assignee: Any, note: str = "") -> Alert:
    """Give the alert to a risk officer or administrator (None unassigns it)."""
    _require_actor(actor)
    if assignee is not None and not user_has_role(assignee, RISK_ACTOR_ROLES):
        raise ValidationError({"assignee": "Alerts go to risk officers or administrators."})
    with transaction.atomic():
        current = _locked(alert)
        if current.status == AlertStatus.RESOLVED:
            raise AlertTransitionError("A resolved alert cannot be assigned; reopen it first.")
        previous = current.assigned_to.get_username() if current.assigned_to else None
        current.assigned_to = assignee
        current.save(update_fields=["assigned_to", "updated_at"])
        _action(
            current,
            AlertActionKind.ASSIGNED,
            actor=actor,
            note=note,
            from_assignee=previous,
            to_assignee=assignee.get_username() if assignee else None,
        )
    alert.refresh_from_db()
    return alert


def alert_comment(*, alert: Alert, actor: Any, note: str) -> AlertAction:
    _require_actor(actor)
    note = note.strip()
    if not note:
        raise ValidationError({"note": "A comment needs text."})
    return _action(alert, AlertActionKind.COMMENTED, actor=actor, note=note[:5000])


# --- notification -------------------------------------------------------------------------------------


def critical_alert_recipients(watchlist: Watchlist) -> list[str]:
    recipients = list(watchlist.notify_emails or [])
    owner_email = getattr(watchlist.owner, "email", "")
    if owner_email and owner_email not in recipients:
        recipients.append(owner_email)
    return recipients


def _critical_alert_message(alert: Alert) -> tuple[str, str]:
    company = alert.company
    subject = f"[Argus] CRITICAL risk alert: {company.ticker} on {alert.watchlist.name}"
    top = sorted(alert.attribution or [], key=lambda c: -abs(float(c.get("value", 0.0))))[:5]
    lines = [
        f"{company.name} ({company.ticker}) reached the critical level on watchlist “{alert.watchlist.name}”.",
        f"Score {alert.score:.3f} (critical threshold {alert.watchlist.critical_threshold:.3f}).",
        "",
        "Largest contributions:",
        *[
            f"  {c.get('kind', '?')}: {float(c.get('value', 0.0)):+.3f}  {str(c.get('evidence', ''))[:160]}"
            for c in top
        ],
        "",
        f"Review it: {settings.ARGUS_BASE_URL.rstrip('/')}{reverse('risk:alert-detail', args=[alert.pk])}",
    ]
    return subject, "\n".join(lines)


def _notify_critical(alert: Alert) -> None:
    """Record the notification in the history now; send after commit (a rolled-back alert sends nothing)."""
    recipients = critical_alert_recipients(alert.watchlist)
    if not recipients:
        return
    _action(alert, AlertActionKind.NOTIFIED, actor_label="system:mail", recipients=recipients)
    alert_id = alert.pk

    def send() -> None:
        fresh = Alert.objects.select_related("company", "watchlist").get(pk=alert_id)
        subject, body = _critical_alert_message(fresh)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
        except OSError:
            # The alert stands and shows in the UI at once; a mail outage must not undo it.
            logger.exception("critical alert %s: e-mail to %s failed", alert_id, recipients)

    transaction.on_commit(send)


RISK_MONITOR_TASK = "apps.risk.tasks.risk_monitor_run"
# Two years of days: the demo world's span. Each day is one scoring pass over its window.
RISK_BACKFILL_MAX_DAYS = 800


def risk_monitor_job_create(
    *,
    date_from: date,
    date_to: date,
    poll: bool = False,
    owner: Any | None = None,
    actor_label: str = "",
    article_ids: Sequence[str] = (),
) -> Job:
    """A monitoring run as a job: (poll,) process new articles, score each day of the window, evaluate watchlists.

    Running the same window twice changes nothing: scores are one row per company and day, and an
    alert's story alerts once.
    """
    if date_to < date_from:
        raise ValidationError("The window ends before it starts.")
    if (date_to - date_from).days > RISK_BACKFILL_MAX_DAYS:
        raise ValidationError(f"A window is at most {RISK_BACKFILL_MAX_DAYS} days; split a longer backfill.")
    if owner is not None:
        _require_actor(owner)
    return job_create(
        kind=JobKind.RISK_SCAN,
        owner=owner,
        params={
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "poll": poll,
            "article_ids": [str(a) for a in article_ids],
        },
        task_name=RISK_MONITOR_TASK,
        actor_label=actor_label,
        message="Waiting for the ingest worker",
    )


def risk_monitor_scheduled_job_create(*, today: date) -> Job | None:
    """The beat's run: none while another monitoring run is queued or running (they would do the same work)."""
    if Job.objects.filter(kind=JobKind.RISK_SCAN, status__in=ACTIVE_STATUSES).exists():
        return None
    return risk_monitor_job_create(date_from=today, date_to=today, poll=True, actor_label="schedule:risk-monitor")


def article_submit_and_score(
    *,
    actor: Any,
    title: str,
    body: str,
    source: str = "api",
    url: str = "",
    published_at: datetime | None = None,
) -> tuple[Article, str, Job | None]:
    """The real-time path: store one article and queue the run that processes it and rescores its day.

    A duplicate of a stored story is returned as it is, with no job: one story counts once.
    """
    from apps.risk.analysis import article_submit

    _require_actor(actor)
    article, outcome = article_submit(title=title, body=body, source=source, url=url, published_at=published_at)
    if outcome != "created":
        return article, outcome, None
    day = article.published_at.astimezone(UTC).date()
    job = risk_monitor_job_create(date_from=day, date_to=day, owner=actor, article_ids=[str(article.pk)])
    return article, outcome, job
