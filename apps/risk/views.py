"""Risk pages: feeds, articles, watchlists and alerts. Thin: role check, form, service, template."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.accounts.roles import Role, user_has_role
from apps.research.selectors import company_get_by_ticker
from apps.research.services import company_for_ticker
from apps.risk import selectors, services
from apps.risk.exports import EXPORT_FORMATS, attribution_export
from apps.risk.feeds import feed_upload
from apps.risk.models import AlertStatus
from pipelines.parsing.errors import DocumentRejected

READERS = {Role.ANALYST, Role.RISK_OFFICER, Role.AUDITOR}
ACTORS = {Role.RISK_OFFICER}
MAX_UPLOAD_BYTES = 5_000_000


@role_required(READERS)
def risk_home(request: HttpRequest) -> HttpResponse:
    """The dashboard of one watchlist (``?watchlist=``; default: the user's own, else the first)."""
    watchlist = selectors.dashboard_watchlist(request.user, request.GET.get("watchlist"))
    if watchlist is None and request.GET.get("watchlist"):
        raise Http404("No such watchlist.")
    context = {
        "watchlist": watchlist,
        "watchlists": selectors.watchlist_list().order_by("name", "pk"),
        "critical_alerts": selectors.critical_alerts_open(),
    }
    if watchlist is not None:
        context |= {
            "rows": selectors.watchlist_company_rows(watchlist),
            "alerts": selectors.alerts_open_for_watchlist(watchlist),
            "chart_data": selectors.watchlist_chart_data(watchlist),
            "graph_data": selectors.watchlist_graph(watchlist),
        }
    return render(request, "risk/home.html", context)


@role_required(READERS)
def critical_alerts_view(request: HttpRequest) -> HttpResponse:
    """The critical-alert banner alone: polled by htmx so a new critical alert shows without a reload."""
    return render(request, "risk/_critical_banner.html", {"critical_alerts": selectors.critical_alerts_open()})


def _company_or_404(ticker: str):
    company = company_get_by_ticker(ticker)
    if company is None:
        raise Http404(f"No company with ticker {ticker[:16]!r}.")
    return company


@role_required(READERS)
def company_risk_view(request: HttpRequest, ticker: str) -> HttpResponse:
    company = _company_or_404(ticker)
    latest = selectors.company_latest_score(company)
    context = {
        "company": company,
        "latest": latest,
        "attribution": selectors.attribution_report(latest) if latest else None,
        "scores": list(selectors.company_risk_scores(company).reverse()[:120]),
        "chart_data": selectors.company_chart_data(company),
        "events": selectors.company_risk_events(company),
        "mentions": selectors.company_recent_articles(company),
        "alerts": selectors.alert_list(selectors.AlertFilters(ticker=company.ticker, status="unresolved"))[:20],
    }
    return render(request, "risk/company_detail.html", context)


def _score_or_404(score_id: int):
    risk_score = selectors.risk_score_get(score_id)
    if risk_score is None:
        raise Http404("No such risk score.")
    return risk_score


@role_required(READERS)
def score_attribution_view(request: HttpRequest, score_id: int) -> HttpResponse:
    report = selectors.attribution_report(_score_or_404(score_id))
    alerts = selectors.alert_list().filter(risk_score_id=score_id)
    return render(request, "risk/attribution.html", {"report": report, "score": report.risk_score, "alerts": alerts})


@role_required(READERS)
def score_attribution_export_view(request: HttpRequest, score_id: int) -> HttpResponse:
    fmt = request.GET.get("as", "json")
    if fmt not in EXPORT_FORMATS:
        raise Http404(f"Export formats: {', '.join(EXPORT_FORMATS)}.")
    return attribution_export(selectors.attribution_report(_score_or_404(score_id)), fmt, request=request)


def _can_act(request: HttpRequest) -> bool:
    return user_has_role(request.user, ACTORS)


# --- feeds --------------------------------------------------------------------------------------------


@role_required(READERS)
def feed_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "risk/feed_list.html", {"feeds": selectors.feed_list(), "can_act": _can_act(request)})


@role_required(READERS)
def feed_detail_view(request: HttpRequest, feed_id: int) -> HttpResponse:
    feed = selectors.feed_get(feed_id)
    if feed is None:
        raise Http404("No such feed.")
    articles = selectors.article_list(selectors.ArticleFilters(feed_id=feed.pk))[:50]
    context = {
        "feed": feed,
        "articles": articles,
        "rejections": selectors.feed_rejections(feed, limit=50),
        "can_act": _can_act(request),
    }
    return render(request, "risk/feed_detail.html", context)


@require_POST
@role_required(ACTORS)
def feed_upload_view(request: HttpRequest, feed_id: int) -> HttpResponse:
    feed = selectors.feed_get(feed_id)
    if feed is None:
        raise Http404("No such feed.")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a JSON lines or RSS/Atom file to upload.")
    elif upload.size > MAX_UPLOAD_BYTES:
        messages.error(request, f"The file is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB.")
    else:
        outcome = feed_upload(feed=feed, data=upload.read(), filename=upload.name)
        if outcome.error:
            messages.error(request, f"Nothing was stored: {outcome.error}")
        else:
            messages.success(
                request,
                f"{outcome.created} new, {outcome.near_duplicates} syndicated copies, "
                f"{outcome.duplicates} already stored, {outcome.rejected} rejected.",
            )
    return redirect("risk:feed-detail", feed_id=feed_id)


# --- articles -----------------------------------------------------------------------------------------


@role_required(READERS)
def article_list_view(request: HttpRequest) -> HttpResponse:
    filters = selectors.ArticleFilters(
        ticker=request.GET.get("ticker", "")[:16], include_duplicates=request.GET.get("duplicates") != "hide"
    )
    page = Paginator(selectors.article_list(filters), 50).get_page(request.GET.get("page"))
    return render(request, "risk/article_list.html", {"article_page": page, "filters": filters})


@role_required(READERS)
def article_detail_view(request: HttpRequest, article_id: str) -> HttpResponse:
    article = selectors.article_get(article_id)
    if article is None:
        raise Http404("No such article.")
    context = {"article": article, "analysis": selectors.article_analysis(article)}
    return render(request, "risk/article_detail.html", context)


# --- watchlists ---------------------------------------------------------------------------------------


class WatchlistForm(forms.Form):
    name = forms.CharField(max_length=200)
    tickers = forms.CharField(required=False, help_text="Comma-separated tickers of the company master.")
    watch_threshold = forms.FloatField(initial=0.3, min_value=0)
    warning_threshold = forms.FloatField(initial=0.5, min_value=0)
    critical_threshold = forms.FloatField(initial=0.75, min_value=0)
    hysteresis = forms.FloatField(initial=0.05, min_value=0)
    notify_emails = forms.CharField(required=False, help_text="Comma-separated addresses for critical alerts.")

    def clean_tickers(self) -> list:
        companies = []
        for ticker in (t.strip() for t in self.cleaned_data["tickers"].split(",")):
            if not ticker:
                continue
            try:
                companies.append(company_for_ticker(ticker))
            except DocumentRejected as exc:  # the research service's input error for an unknown ticker
                raise forms.ValidationError(exc.message) from None
        return companies

    def clean_notify_emails(self) -> list[str]:
        return [e.strip() for e in self.cleaned_data["notify_emails"].split(",") if e.strip()]


@role_required(READERS)
def watchlist_list_view(request: HttpRequest) -> HttpResponse:
    context = {"watchlists": selectors.watchlist_list(), "can_act": _can_act(request)}
    return render(request, "risk/watchlist_list.html", context)


@role_required(READERS)
def watchlist_detail_view(request: HttpRequest, watchlist_id: int) -> HttpResponse:
    watchlist = selectors.watchlist_get(watchlist_id)
    if watchlist is None:
        raise Http404("No such watchlist.")
    alerts = selectors.alert_list(selectors.AlertFilters(watchlist_id=watchlist.pk, status="unresolved"))
    context = {"watchlist": watchlist, "alerts": alerts, "can_act": _can_act(request)}
    return render(request, "risk/watchlist_detail.html", context)


@role_required(ACTORS)
def watchlist_edit_view(request: HttpRequest, watchlist_id: int | None = None) -> HttpResponse:
    watchlist = None
    if watchlist_id is not None:
        watchlist = selectors.watchlist_get(watchlist_id)
        if watchlist is None:
            raise Http404("No such watchlist.")
    if request.method == "POST":
        form = WatchlistForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            companies = data.pop("tickers")
            try:
                if watchlist is None:
                    watchlist = services.watchlist_create(actor=request.user, companies=companies, **data)
                else:
                    services.watchlist_update(watchlist=watchlist, actor=request.user, companies=companies, **data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Watchlist saved.")
                return redirect("risk:watchlist-detail", watchlist_id=watchlist.pk)
    elif watchlist is not None:
        form = WatchlistForm(
            initial={
                "name": watchlist.name,
                "tickers": ", ".join(c.ticker for c in watchlist.companies.all()),
                "watch_threshold": watchlist.watch_threshold,
                "warning_threshold": watchlist.warning_threshold,
                "critical_threshold": watchlist.critical_threshold,
                "hysteresis": watchlist.hysteresis,
                "notify_emails": ", ".join(watchlist.notify_emails),
            }
        )
    else:
        form = WatchlistForm()
    return render(request, "risk/watchlist_edit.html", {"form": form, "watchlist": watchlist})


# --- alerts -------------------------------------------------------------------------------------------


@role_required(READERS)
def alert_list_view(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "unresolved")
    if status not in {*AlertStatus.values, "unresolved", ""}:
        status = "unresolved"
    alerts = selectors.alert_list(selectors.AlertFilters(status=status, ticker=request.GET.get("ticker", "")[:16]))
    page = Paginator(alerts, 50).get_page(request.GET.get("page"))
    return render(request, "risk/alert_list.html", {"alert_page": page, "status": status})


def _risk_officers() -> list:
    return [u for u in get_user_model().objects.filter(is_active=True).order_by("username") if user_has_role(u, ACTORS)]


@role_required(READERS)
def alert_detail_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_get(alert_id)
    if alert is None:
        raise Http404("No such alert.")
    can_act = _can_act(request)
    context = {
        "alert": alert,
        "contributions": selectors.attribution_lines(alert.attribution or [], score=alert.score),
        "history": selectors.alert_history(alert),
        "can_act": can_act,
        "assignees": _risk_officers() if can_act else [],
    }
    return render(request, "risk/alert_detail.html", context)


ALERT_ACTIONS = {
    "acknowledge": services.alert_acknowledge,
    "escalate": services.alert_escalate,
    "resolve": services.alert_resolve,
    "reopen": services.alert_reopen,
}


@require_POST
@role_required(ACTORS)
def alert_act_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_get(alert_id)
    if alert is None:
        raise Http404("No such alert.")
    action = request.POST.get("action", "")
    note = request.POST.get("note", "")[:5000]
    try:
        if action in ALERT_ACTIONS:
            ALERT_ACTIONS[action](alert=alert, actor=request.user, note=note)
        elif action == "assign":
            username = request.POST.get("assignee", "")
            assignee = get_user_model().objects.filter(username=username, is_active=True).first() if username else None
            services.alert_assign(alert=alert, actor=request.user, assignee=assignee, note=note)
        elif action == "comment":
            services.alert_comment(alert=alert, actor=request.user, note=note)
        else:
            messages.error(request, "Unknown action.")
    except services.AlertTransitionError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    except PermissionDenied:
        raise
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect("risk:alert-detail", alert_id=alert_id)
