"""Every URL in the URL conf, requested by every persona, answers the expected status.

The endpoints are discovered from the resolver, so a new URL fails
``test_every_endpoint_has_expectations`` (and its own matrix cases) until a row
for it is added to ``EXPECTED``. That table is the one place that says who may
reach what.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from apps.accounts.roles import Role
from apps.accounts.services import user_create
from apps.jobs.artifacts import job_vectors_save
from apps.jobs.models import Job, JobKind, JobStatus
from apps.reports.models import ReportStatus, ResearchReport
from apps.research.models import AccessLevel, Company, Document, DocumentStatus
from apps.risk.models import Alert, Article, Feed, FeedKind, RiskScore, Watchlist
from tests.conftest import client_for

PERSONAS = ("anonymous", "outsider", "analyst", "risk_officer", "auditor", "admin")

# Expected outcomes besides a plain status code.
LOGIN = "302 to the login page"
ADMIN = "302 to the Django admin's own login page"

# The Django admin is one app with its own login and permission checks, and it has
# dozens of URLs (one set per registered model, plus auth views). A few stand for
# the rest: the index (staff only), the audit log changelist (auditors' console),
# the user changelist (staff without the model permission get 403). Non-staff users
# are sent to the admin login, not answered 403: that is Django admin's behaviour
# (an anonymous visitor of a model page meets our login middleware first).
ADMIN_REPRESENTATIVES = {
    "admin:index",
    "admin:audit_inferencerecord_changelist",
    "admin:accounts_user_changelist",
    "admin:reports_researchreport_changelist",
}

# The sample job belongs to the analyst: the risk officer (a desk role, but not the
# owner) then shows that object-level visibility is checked too (404, not 403, so
# an id reveals nothing). The sample document (internal, uploaded by the analyst) is
# readable by every research reader, but only its uploader and admins may delete it.
# Columns: the method, then one outcome per persona, in PERSONAS order.
# fmt: off
EXPECTED: dict[str, tuple] = {
    # url name                                  method  anon   outsdr analst risk   auditr admin
    "core:dashboard":                          ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "core:healthz":                            ("GET",  200,   200,   200,   200,   200,   200),
    "accounts:login":                          ("GET",  200,   200,   200,   200,   200,   200),
    "accounts:logout":                         ("POST", LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "jobs:list":                               ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "jobs:table":                              ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "jobs:embed":                              ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "jobs:detail":                             ("GET",  LOGIN, 403,   200,   404,   200,   200),
    "jobs:progress":                           ("GET",  LOGIN, 403,   200,   404,   200,   200),
    # Replay and compare (audit console); the sample seq is no recorded generation.
    "jobs:inference-replay":                   ("POST", LOGIN, 403,   403,   403,   404,   404),
    "research:home":                           ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "research:table":                          ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "research:upload":                         ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "research:search":                         ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "research:ask":                            ("GET",  LOGIN, 403,   200,   200,   403,   200),
    # The sample job is an embedding job, not an answer: nobody gets an answer page for it.
    "research:ask-result":                     ("GET",  LOGIN, 403,   404,   404,   403,   404),
    "research:document-detail":                ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "research:document-status":                ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "research:document-reindex":               ("POST", LOGIN, 403,   302,   302,   403,   302),
    "research:document-delete":                ("GET",  LOGIN, 403,   200,   403,   403,   200),
    "reports:report-list":                     ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "reports:report-detail":                   ("GET",  LOGIN, 403,   200,   200,   403,   200),
    "reports:report-status":                   ("GET",  LOGIN, 403,   200,   200,   403,   200),
    # Reviewers (risk officers, admins) review other people's drafts; the requester may not.
    "reports:report-review":                   ("POST", LOGIN, 403,   403,   302,   403,   302),
    "reports:report-export":                   ("GET",  LOGIN, 403,   200,   200,   403,   200),
    # Risk pages: every role reads (auditors too); risk officers and admins act.
    "risk:home":                               ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:critical-alerts":                    ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:company":                            ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:score-attribution":                  ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:score-attribution-export":           ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:feeds":                              ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:feed-detail":                        ("GET",  LOGIN, 403,   200,   200,   200,   200),
    # No file in the POST: the actor is sent back to the feed with an error message.
    "risk:feed-upload":                        ("POST", LOGIN, 403,   403,   302,   403,   302),
    "risk:articles":                           ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:article-detail":                     ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:watchlists":                         ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:watchlist-create":                   ("GET",  LOGIN, 403,   403,   200,   403,   200),
    "risk:watchlist-detail":                   ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:watchlist-edit":                     ("GET",  LOGIN, 403,   403,   200,   403,   200),
    "risk:alerts":                             ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:alert-detail":                       ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "risk:alert-act":                          ("POST", LOGIN, 403,   403,   302,   403,   302),
    "admin:index":                             ("GET",  ADMIN, ADMIN, ADMIN, ADMIN, 200,   200),
    "admin:audit_inferencerecord_changelist":  ("GET",  LOGIN, ADMIN, ADMIN, ADMIN, 200,   200),
    "admin:accounts_user_changelist":          ("GET",  LOGIN, ADMIN, ADMIN, ADMIN, 403,   200),
    # Reports in the admin are read-only and for admins: auditors are staff, but not report readers.
    "admin:reports_researchreport_changelist": ("GET",  LOGIN, ADMIN, ADMIN, ADMIN, 403,   200),
    "metrics":                                 ("GET",  401,   403,   403,   403,   403,   200),
    "api-token":                               ("POST", 400,   400,   400,   400,   400,   400),
    "api-token-revoke":                        ("POST", 401,   403,   200,   200,   200,   200),
    "api-me":                                  ("GET",  401,   403,   200,   200,   200,   200),
    "api-schema":                              ("GET",  401,   403,   200,   200,   200,   200),
    "api-docs":                                ("GET",  LOGIN, 403,   200,   200,   200,   200),
    "api-job-list":                            ("GET",  401,   403,   200,   200,   200,   200),
    "api-job-detail":                          ("GET",  401,   403,   200,   404,   200,   200),
    "api-job-vectors":                         ("GET",  401,   403,   200,   404,   200,   200),
    "api-embeddings":                          ("POST", 401,   403,   202,   202,   403,   202),
    "api-document-list":                       ("GET",  401,   403,   200,   200,   403,   200),
    "api-document-detail":                     ("GET",  401,   403,   200,   200,   403,   200),
    "api-document-chunks":                     ("GET",  401,   403,   200,   200,   403,   200),
    "api-document-reindex":                    ("POST", 401,   403,   202,   202,   403,   202),
    # The master is read by research readers; its writes (POST, PATCH) are admins' only (tests/research).
    "api-company-list":                        ("GET",  401,   403,   200,   200,   403,   200),
    "api-company-detail":                      ("GET",  401,   403,   200,   200,   403,   200),
    # An empty query is a 400 before the model worker is asked: what passes the role check shows.
    "api-search":                              ("POST", 401,   403,   400,   400,   403,   400),
    "api-ask":                                 ("POST", 401,   403,   400,   400,   403,   400),
    "api-ask-result":                          ("GET",  401,   403,   404,   404,   403,   404),
    "api-report-list":                         ("GET",  401,   403,   200,   200,   403,   200),
    "api-report-detail":                       ("GET",  401,   403,   200,   200,   403,   200),
    "api-report-review":                       ("POST", 401,   403,   403,   400,   403,   400),
    "api-report-export":                       ("GET",  401,   403,   200,   200,   403,   200),
    "api-adapter-list":                        ("GET",  401,   403,   200,   200,   403,   200),
    "api-risk-feed-list":                      ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-feed-detail":                    ("GET",  401,   403,   200,   200,   200,   200),
    # No file in the multipart body: a 400 once the role check passed.
    "api-risk-feed-upload":                    ("POST", 401,   403,   403,   400,   403,   400),
    "api-risk-article-list":                   ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-article-detail":                 ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-watchlist-list":                 ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-watchlist-detail":               ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-alert-list":                     ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-alert-detail":                   ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-alert-acknowledge":              ("POST", 401,   403,   403,   200,   403,   200),
    "api-risk-alert-resolve":                  ("POST", 401,   403,   403,   200,   403,   200),
    "api-risk-alert-assign":                   ("POST", 401,   403,   403,   200,   403,   200),
    "api-risk-alert-escalate":                 ("POST", 401,   403,   403,   200,   403,   200),
    "api-risk-company-scores":                 ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-score-attribution":              ("GET",  401,   403,   200,   200,   200,   200),
    "api-risk-article-analysis":               ("GET",  401,   403,   200,   200,   200,   200),
}
# fmt: on

# JSON bodies for the POST rows. The token endpoint gets no credentials: it must
# answer 400 to everyone (public, and never 401/403, whatever session is sent).
POST_BODIES: dict[str, Any] = {
    "api-token": {},
    "api-embeddings": {"texts": ["Revenue grew 12% year over year."]},
    "api-search": {"query": ""},
    "api-ask": {"question": ""},
    "api-report-review": {},
    "api-risk-alert-acknowledge": {"note": "Seen."},
    "api-risk-alert-resolve": {"note": "Exposure closed."},
    "api-risk-alert-assign": {"assignee": None},
    "api-risk-alert-escalate": {"note": "Board risk committee."},
}


@dataclass(frozen=True)
class World:
    """Objects the URL parameters point at."""

    analyst: Any
    analyst_job: Job
    analyst_document: Document
    analyst_report: ResearchReport
    risk_feed: Feed
    risk_article: Article
    risk_watchlist: Watchlist
    risk_alert: Alert
    risk_score: RiskScore


# Path parameter name -> its sample value. A URL with a parameter not listed here
# fails the discovery test: add a sample (and, if needed, an object in ``world``).
SAMPLE_KWARGS: dict[str, Callable[[World], Any]] = {
    "job_id": lambda world: world.analyst_job.pk,
    "document_id": lambda world: world.analyst_document.pk,
    "report_id": lambda world: world.analyst_report.pk,
    "seq": lambda world: 999_999,
    "feed_id": lambda world: world.risk_feed.pk,
    "article_id": lambda world: world.risk_article.pk,
    "watchlist_id": lambda world: world.risk_watchlist.pk,
    "alert_id": lambda world: world.risk_alert.pk,
    "score_id": lambda world: world.risk_score.pk,
    "ticker": lambda world: "ACME",
}


# --- discovery ----------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    namespace: str
    route: str
    params: tuple[str, ...]


def _walk(patterns, namespace: str = "", prefix: str = "") -> Iterator[Endpoint]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            child_ns = (
                f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace or namespace
            )
            yield from _walk(entry.url_patterns, child_ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if entry.name is None:
                name = f"<unnamed {route}>"
            else:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
            params = tuple(getattr(entry.pattern, "converters", {}) or ())
            # Regex patterns (admin) name their groups instead of declaring converters.
            params += tuple(n for n in entry.pattern.regex.groupindex if n not in params)
            yield Endpoint(name=name, namespace=namespace, route=route, params=params)


def discovered_endpoints() -> dict[str, Endpoint]:
    endpoints = {}
    for endpoint in _walk(get_resolver().url_patterns):
        if endpoint.namespace == "admin" and endpoint.name not in ADMIN_REPRESENTATIVES:
            continue
        endpoints.setdefault(endpoint.name, endpoint)
    return endpoints


ENDPOINTS = discovered_endpoints()


def test_every_endpoint_has_expectations():
    discovered = set(ENDPOINTS)
    expected = set(EXPECTED)
    assert not discovered - expected, f"URLs without a row in EXPECTED (add one): {sorted(discovered - expected)}"
    assert not expected - discovered, f"Rows in EXPECTED for URLs that no longer exist: {sorted(expected - discovered)}"


def test_every_path_parameter_has_a_sample_value():
    missing = {e.name: p for e in ENDPOINTS.values() for p in e.params if p not in SAMPLE_KWARGS}
    assert not missing, f"Add sample values to SAMPLE_KWARGS for: {missing}"


def test_every_row_has_a_method_and_one_outcome_per_persona():
    for name, row in EXPECTED.items():
        assert row[0] in {"GET", "POST"}, name
        assert len(row) == 1 + len(PERSONAS), name


# --- the matrix -----------------------------------------------------------------


@pytest.fixture
def world(analyst) -> World:
    job = Job.objects.create(
        kind=JobKind.EMBED,
        owner=analyst,
        actor_label=f"user:{analyst.username}",
        params={"texts": ["Net debt fell."]},
        status=JobStatus.SUCCEEDED,
    )
    job_vectors_save(job_id=job.pk, vectors=[[0.6, 0.8]])
    document = Document.objects.create(
        title="Acme Q3 review",
        uploaded_by=analyst,
        access_level=AccessLevel.INTERNAL,
        status=DocumentStatus.INDEXED,
        content_hash="0" * 64,
    )
    company = Company.objects.create(ticker="ACME", name="Acme Industrial")
    report = ResearchReport.objects.create(
        requested_by=analyst,
        company=company,
        status=ReportStatus.DRAFT,
        output={"ticker": "ACME"},
        rendered_markdown="# ACME",
        allowed_access_levels=["internal", "public"],
    )
    # Risk samples: a feed with one article, a watchlist (owned by a risk officer) with an open alert.
    feed = Feed.objects.create(name="Wire", kind=FeedKind.UPLOAD)
    article = Article.objects.create(
        feed=feed, title="Acme misses", body="Acme missed.", published_at=timezone.now(), content_hash="1" * 64
    )
    watch_owner = user_create(username="wendy-watch", password="x-long-enough-pw", role=Role.RISK_OFFICER)
    watchlist = Watchlist.objects.create(name="Credit book", owner=watch_owner)
    watchlist.companies.add(company)
    risk_score = RiskScore.objects.create(
        company=company,
        as_of=timezone.now().date(),
        score=61.5,
        level="warning",
        components=[{"kind": "event", "amount": 61.5, "article_id": str(article.pk), "sentence_index": 0}],
        counterfactuals={str(article.pk): 0.0},
    )
    alert = Alert.objects.create(
        watchlist=watchlist, company=company, level="warning", dedup_key="ACME:x", score=61.5, risk_score=risk_score
    )
    return World(
        analyst=analyst,
        analyst_job=job,
        analyst_document=document,
        analyst_report=report,
        risk_feed=feed,
        risk_article=article,
        risk_watchlist=watchlist,
        risk_alert=alert,
        risk_score=risk_score,
    )


# Persona -> its fixture in tests/conftest.py. Only the requester is created (and the
# analyst, who owns the sample job): creating all five per case would triple the run time.
PERSONA_FIXTURES = {
    "outsider": "outsider",
    "analyst": "analyst",
    "risk_officer": "risk_officer",
    "auditor": "auditor",
    "admin": "admin_user",
}


def _client(request: pytest.FixtureRequest, persona: str) -> Client:
    if persona == "anonymous":
        return Client()
    return client_for(request.getfixturevalue(PERSONA_FIXTURES[persona]))


def _assert_outcome(response, expected, *, name: str, path: str) -> None:
    where = f"{name} ({path})"
    if expected == LOGIN:
        assert response.status_code == 302, f"{where}: {response.status_code}"
        assert urlsplit(response["Location"]).path == reverse("accounts:login"), response["Location"]
        return
    if expected == ADMIN:
        assert response.status_code == 302, f"{where}: {response.status_code}"
        assert urlsplit(response["Location"]).path == reverse("admin:login"), response["Location"]
        return
    assert response.status_code == expected, f"{where}: {response.status_code} {response.content[:300]!r}"
    if path.startswith("/api/") and expected >= 400:
        # Every API error speaks the same JSON envelope.
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
        error = response.json()["error"]
        assert error["status"] == expected
        assert error["code"] and error["detail"]
        if expected == 401:
            assert response["WWW-Authenticate"] == "Token"


MATRIX = [pytest.param(name, persona, id=f"{name}-{persona}") for name in sorted(ENDPOINTS) for persona in PERSONAS]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "persona"), MATRIX)
def test_role_matrix(request, world, name, persona):
    assert name in EXPECTED, f"No row for {name} in EXPECTED: add one"
    endpoint = ENDPOINTS[name]
    method, *statuses = EXPECTED[name]
    expected = dict(zip(PERSONAS, statuses, strict=True))[persona]
    path = reverse(name, kwargs={p: SAMPLE_KWARGS[p](world) for p in endpoint.params})
    client = _client(request, persona)
    if method == "POST":
        body = POST_BODIES.get(name)
        if body is None:
            response = client.post(path)
        else:
            response = client.post(path, data=json.dumps(body), content_type="application/json")
    else:
        response = client.get(path)
    _assert_outcome(response, expected, name=name, path=path)
