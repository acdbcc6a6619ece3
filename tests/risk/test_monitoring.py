"""Monitoring end to end on real pipelines: spaCy linking, sentiment, events, relations, scores, alerts."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from apps.audit.models import InferenceKind, InferenceRecord
from apps.jobs.models import Job, JobStatus
from apps.risk.analysis import article_submit
from apps.risk.models import Alert, AlertAction, Article, ArticleCompany, RelationEdge, RiskEvent, RiskScore
from apps.risk.monitoring import articles_process, risk_scores_compute
from apps.risk.services import alert_resolve, risk_monitor_job_create

pytestmark = pytest.mark.django_db

ACTOR_LABEL = "test:monitoring"
DAY = datetime(2024, 11, 12, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolated_sentiment_model(tmp_path, monkeypatch, settings):
    """No registered classifier: the labelled lexicon fallback, so the test does not depend on var/."""
    monkeypatch.setenv("ARGUS_MODELS_DIR", str(tmp_path / "models"))
    settings.ARGUS_MODELS_DIR = tmp_path / "models"
    from pipelines import sentiment

    sentiment.reset_cache()


def actor():
    from apps.audit.services import Actor

    return Actor(label=ACTOR_LABEL)


def submit(title: str, body: str, when: datetime = DAY, **metadata) -> Article:
    article, outcome = article_submit(title=title, body=body, published_at=when, metadata=metadata or None)
    assert outcome == "created"
    return article


@pytest.fixture
def crisis(companies):
    """Acme, a supplier to Globex, files for Chapter 11; quiet Initech news around it."""
    return [
        submit(
            "Acme Industrial files for Chapter 11",
            "Acme Industrial Corp, a key supplier to Globex Corporation, filed for Chapter 11 bankruptcy protection "
            "on Tuesday after missing an interest payment. Analysts expect heavy losses for creditors.",
        ),
        submit(
            "Initech launches a new product line",
            "Initech Inc launched a new product line on Tuesday. The company reported results in line with guidance.",
            when=DAY - timedelta(days=1),
        ),
    ]


def test_processing_links_companies_and_stores_events_sentiment_and_relations(crisis):
    summary = articles_process(article_ids=[a.pk for a in crisis], actor=actor())

    assert summary.processed == 2 and summary.failed == 0
    bankrupt = Article.objects.get(pk=crisis[0].pk)
    assert bankrupt.status == "processed"
    tickers = {t for s in bankrupt.analysis["sentences"] for t in s["tickers"]}
    assert {"ACME", "GLBX"} <= tickers
    assert set(ArticleCompany.objects.filter(article=bankrupt).values_list("company__ticker", flat=True)) >= {"ACME"}
    events = RiskEvent.objects.filter(article=bankrupt)
    assert events.filter(company__ticker="ACME", event_type="default").exists()
    # The default is Acme's; Globex's exposure comes through the supplier edge, not an event of its own.
    assert not events.filter(company__ticker="GLBX", event_type="default").exists()
    assert RelationEdge.objects.filter(source__ticker="ACME", target__ticker="GLBX", relation="supplier").exists()
    kinds = set(InferenceRecord.objects.filter(actor=ACTOR_LABEL).values_list("kind", flat=True))
    assert {InferenceKind.NER, InferenceKind.SENTIMENT} <= kinds


def test_processing_twice_changes_nothing_and_skips_syndicated_copies(crisis):
    copy, outcome = article_submit(
        title="Acme Industrial files for Chapter 11 protection",
        body=crisis[0].body + " (syndicated)",
        published_at=DAY + timedelta(hours=2),
    )
    assert outcome == "near_duplicate"
    articles_process(article_ids=[a.pk for a in crisis] + [copy.pk], actor=actor())
    events = RiskEvent.objects.count()
    again = articles_process(article_ids=[a.pk for a in crisis] + [copy.pk], actor=actor())

    assert again.processed == 0 and RiskEvent.objects.count() == events
    assert Article.objects.get(pk=copy.pk).status == "new"  # one story counts once


def test_scores_sum_to_their_contributions_and_name_their_evidence(crisis):
    articles_process(article_ids=[a.pk for a in crisis], actor=actor())
    summary = risk_scores_compute(as_of=DAY.date(), actor=actor())

    acme = RiskScore.objects.get(company__ticker="ACME", as_of=DAY.date())
    assert acme.score > 40
    assert sum(c["amount"] for c in acme.components) == pytest.approx(acme.score, abs=1e-9)
    event = next(c for c in acme.components if c["kind"] == "event")
    assert event["article_id"] == str(crisis[0].pk) and "Chapter 11" in event["evidence_text"]
    # Without the bankruptcy story Acme's score falls: an exact rerun of the same scoring code.
    assert acme.counterfactuals[str(crisis[0].pk)] < acme.score - 20
    globex = RiskScore.objects.get(company__ticker="GLBX", as_of=DAY.date())
    assert any(c["kind"] == "neighbour" and c["neighbour"] == "ACME" for c in globex.components)
    assert globex.neighbour_subtotal > 0
    record = InferenceRecord.objects.get(seq=summary.inference_record_seq)
    assert record.kind == InferenceKind.SCORE and acme.inference_record_seq == record.seq


def test_rescoring_a_day_overwrites_in_place(crisis):
    articles_process(article_ids=[a.pk for a in crisis], actor=actor())
    risk_scores_compute(as_of=DAY.date(), actor=actor())
    first = dict(RiskScore.objects.values_list("company__ticker", "score"))
    risk_scores_compute(as_of=DAY.date(), actor=actor())

    assert dict(RiskScore.objects.values_list("company__ticker", "score")) == first
    assert RiskScore.objects.count() == len(first)


def test_watchlist_alerts_once_per_story_and_not_again_after_resolution(crisis, watchlist, risk_officer):
    articles_process(article_ids=[a.pk for a in crisis], actor=actor())
    risk_scores_compute(as_of=DAY.date(), actor=actor())
    alert = Alert.objects.get(watchlist=watchlist, company__ticker="ACME")
    assert alert.level in {"warning", "critical"}
    assert sum(c["amount"] for c in alert.attribution) == pytest.approx(alert.score, abs=1e-9)
    assert not Alert.objects.filter(company__ticker="INIT").exists()  # a quiet company stays quiet

    risk_scores_compute(as_of=DAY.date() + timedelta(days=1), actor=actor())
    assert Alert.objects.filter(watchlist=watchlist, company__ticker="ACME").count() == 1

    alert_resolve(alert=alert, actor=risk_officer, note="Exposure hedged")
    risk_scores_compute(as_of=DAY.date() + timedelta(days=2), actor=actor())
    assert Alert.objects.filter(watchlist=watchlist, company__ticker="ACME").count() == 1


def test_an_8k_item_code_is_the_filers_event(companies):
    filing = submit(
        "Item 4.02 Non-Reliance on Previously Issued Financial Statements",
        "On November 8, 2024 the Audit Committee concluded that the previously issued financial statements "
        "should no longer be relied upon.",
        item_code="4.02",
        ticker="INIT",
    )
    articles_process(article_ids=[filing.pk], actor=actor())

    event = RiskEvent.objects.get(article=filing, source="8-K 4.02")
    assert event.company.ticker == "INIT" and event.event_type == "restatement"
    risk_scores_compute(as_of=DAY.date(), actor=actor())
    initech = RiskScore.objects.get(company__ticker="INIT", as_of=DAY.date())
    assert any(c["kind"] == "event" and c["event_type"] == "restatement" for c in initech.components)


@pytest.fixture
def eager_tasks():
    from config.celery import app

    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager


def run_backfill(capture, first_day: date, last_day: date) -> Job:
    with capture(execute=True):
        job = risk_monitor_job_create(date_from=first_day, date_to=last_day, actor_label=ACTOR_LABEL)
    job.refresh_from_db()
    return job


def test_a_backfill_run_twice_changes_nothing(crisis, watchlist, eager_tasks, django_capture_on_commit_callbacks):
    first_day, last_day = date(2024, 11, 10), date(2024, 11, 14)
    job = run_backfill(django_capture_on_commit_callbacks, first_day, last_day)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["days_scored"] == 5 and job.result["processing"]["processed"] == 2
    scores = sorted(RiskScore.objects.values_list("company__ticker", "as_of", "score"))
    alerts, actions = Alert.objects.count(), AlertAction.objects.count()

    again = run_backfill(django_capture_on_commit_callbacks, first_day, last_day)
    assert again.status == JobStatus.SUCCEEDED
    assert again.result["processing"]["processed"] == 0
    assert sorted(RiskScore.objects.values_list("company__ticker", "as_of", "score")) == scores
    assert (Alert.objects.count(), AlertAction.objects.count()) == (alerts, actions)
    assert Job.objects.filter(kind="risk_scan").count() == 2


def test_the_backfill_command_splits_a_long_range_into_bounded_jobs(companies):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    call_command("risk_backfill", "--from", "2020-01-01", "--to", "2024-12-31", stdout=out)

    windows = sorted((j.params["date_from"], j.params["date_to"]) for j in Job.objects.filter(kind="risk_scan"))
    assert windows[0][0] == "2020-01-01" and windows[-1][1] == "2024-12-31" and len(windows) == 3
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert date.fromisoformat(start) == date.fromisoformat(end) + timedelta(days=1)  # no gap, no overlap
    with pytest.raises(CommandError):
        call_command("risk_backfill", "--from", "2024-02-01", "--to", "2024-01-01")


def test_a_score_that_can_raise_an_alert_has_its_counterfactuals(companies, risk_officer):
    from apps.risk.services import watchlist_create

    weak = submit(
        "Initech shares slip after a weak quarter",
        "Initech Inc shares fell 4% after the company reported weak sales and a loss in its services unit.",
    )
    articles_process(article_ids=[weak.pk], actor=actor())
    risk_scores_compute(as_of=DAY.date(), actor=actor())
    initech = RiskScore.objects.get(company__ticker="INIT", as_of=DAY.date())
    assert 0 < initech.score < 20 and initech.counterfactuals == {}  # below every threshold: not explained

    watchlist_create(
        actor=risk_officer,
        name="Sensitive book",
        companies=[companies["INIT"]],
        watch_threshold=initech.score / 2,
        warning_threshold=50.0,
        critical_threshold=80.0,
        hysteresis=1.0,
    )
    risk_scores_compute(as_of=DAY.date(), actor=actor())
    initech.refresh_from_db()
    assert initech.counterfactuals == {str(weak.pk): 0.0}  # its only article: without it, nothing
    assert Alert.objects.get(company__ticker="INIT").risk_score_id == initech.pk
