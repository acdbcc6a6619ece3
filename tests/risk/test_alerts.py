"""Watchlists and the alert workflow: dedup, escalation on a level rise, history, e-mail, roles."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from apps.risk import services
from apps.risk.models import Alert, AlertAction, AlertStatus
from apps.risk.selectors import alert_current_level, alert_history
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ATTRIBUTION = [
    {"kind": "event", "value": 0.4, "event_type": "litigation", "evidence": "Acme was sued by the SEC."},
    {"kind": "sentiment", "value": 0.15},
]


def raise_alert(watchlist, company, level="warning", score=0.55, key="ACME:litigation:2024-11-12"):
    return services.alert_raise(
        watchlist=watchlist, company=company, level=level, score=score, dedup_key=key, attribution=ATTRIBUTION
    )


def actions(alert) -> list[str]:
    return [a.action for a in alert_history(alert)]


def test_the_same_story_raises_one_alert_and_updates_it(watchlist, companies):
    first, what_first = raise_alert(watchlist, companies["ACME"], score=0.55)
    again, what_again = raise_alert(watchlist, companies["ACME"], score=0.58)

    assert (what_first, what_again) == ("raised", "updated")
    assert again.pk == first.pk and Alert.objects.count() == 1
    again.refresh_from_db()
    assert again.score == 0.58 and again.status == AlertStatus.OPEN
    assert actions(again) == ["raised", "updated"]
    assert again.attribution == ATTRIBUTION


def test_another_story_is_another_alert(watchlist, companies):
    raise_alert(watchlist, companies["ACME"], key="ACME:litigation:2024-11-12")
    raise_alert(watchlist, companies["ACME"], key="ACME:downgrade:2024-11-20")
    assert Alert.objects.count() == 2


def test_a_level_rise_on_an_open_alert_escalates_it_with_history(watchlist, companies):
    alert, _ = raise_alert(watchlist, companies["ACME"], level="watch", score=0.35)
    services.alert_acknowledge(alert=alert, actor=watchlist.owner, note="Looking.")

    alert, what = raise_alert(watchlist, companies["ACME"], level="warning", score=0.6)

    alert.refresh_from_db()
    assert what == "escalated"
    assert (alert.level, alert.status) == ("warning", AlertStatus.ESCALATED)
    assert actions(alert) == ["raised", "acknowledged", "level_changed", "escalated"]
    change = alert.actions.get(action="level_changed")
    assert change.details == {"from_level": "watch", "to_level": "warning", "score": 0.6}
    assert alert_current_level(watchlist=watchlist, company=companies["ACME"]) == "warning"


def test_a_lower_score_keeps_the_alerts_highest_level(watchlist, companies):
    alert, _ = raise_alert(watchlist, companies["ACME"], level="warning", score=0.6)
    alert, what = raise_alert(watchlist, companies["ACME"], level="watch", score=0.4)
    alert.refresh_from_db()
    assert what == "updated" and alert.level == "warning" and alert.score == 0.4


def test_the_workflow_writes_every_step_into_the_history(watchlist, companies, risk_officer, admin_user):
    alert, _ = raise_alert(watchlist, companies["ACME"])

    services.alert_assign(alert=alert, actor=admin_user, assignee=risk_officer, note="Yours.")
    services.alert_acknowledge(alert=alert, actor=risk_officer, note="On it.")
    services.alert_escalate(alert=alert, actor=risk_officer, note="Exposure is large.")
    services.alert_comment(alert=alert, actor=admin_user, note="Credit committee informed.")
    services.alert_resolve(alert=alert, actor=risk_officer, note="Limit cut.")
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at is not None
    services.alert_reopen(alert=alert, actor=risk_officer, note="New filing.")

    assert alert.status == AlertStatus.OPEN and alert.resolved_at is None
    history = alert_history(alert)
    assert [a.action for a in history] == [
        "raised", "assigned", "acknowledged", "escalated", "commented", "resolved", "reopened",
    ]  # fmt: skip
    assert history[0].actor is None and history[0].actor_label == "schedule:risk-scan"
    assert history[1].actor == admin_user and history[1].details["to_assignee"] == risk_officer.username
    assert history[5].details == {"from_status": "escalated", "to_status": "resolved"}
    assert history[4].note == "Credit committee informed."


def test_actions_a_status_does_not_allow_are_refused(watchlist, companies, risk_officer):
    alert, _ = raise_alert(watchlist, companies["ACME"])
    services.alert_resolve(alert=alert, actor=risk_officer)
    with pytest.raises(services.AlertTransitionError):
        services.alert_acknowledge(alert=alert, actor=risk_officer)
    with pytest.raises(services.AlertTransitionError):
        services.alert_assign(alert=alert, actor=risk_officer, assignee=risk_officer)
    assert actions(alert) == ["raised", "resolved"]


def test_after_resolution_the_same_story_raises_a_new_alert_and_the_old_one_cannot_reopen(
    watchlist, companies, risk_officer
):
    old, _ = raise_alert(watchlist, companies["ACME"])
    services.alert_resolve(alert=old, actor=risk_officer)
    new, what = raise_alert(watchlist, companies["ACME"])
    assert what == "raised" and new.pk != old.pk
    with pytest.raises(services.AlertTransitionError, match="same story"):
        services.alert_reopen(alert=old, actor=risk_officer)
    old.refresh_from_db()
    assert old.status == AlertStatus.RESOLVED


def test_alerts_go_to_risk_officers_only(watchlist, companies, risk_officer, analyst):
    alert, _ = raise_alert(watchlist, companies["ACME"])
    with pytest.raises(ValidationError):
        services.alert_assign(alert=alert, actor=risk_officer, assignee=analyst)


@pytest.mark.parametrize("persona", ["analyst", "auditor"])
def test_readers_cannot_act_on_alerts_or_watchlists(request, watchlist, companies, persona):
    user = request.getfixturevalue(persona)
    alert, _ = raise_alert(watchlist, companies["ACME"])
    for act in (services.alert_acknowledge, services.alert_resolve, services.alert_escalate):
        with pytest.raises(PermissionDenied):
            act(alert=alert, actor=user)
    with pytest.raises(PermissionDenied):
        services.watchlist_create(actor=user, name="Mine")
    assert AlertAction.objects.filter(alert=alert).count() == 1


# --- e-mail -------------------------------------------------------------------------------------------


def test_a_critical_alert_is_mailed_to_the_watchlist_and_its_owner_on_commit(
    watchlist, companies, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        alert, _ = raise_alert(watchlist, companies["ACME"], level="critical", score=0.9)
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert set(message.to) == {"desk@bank.example", "rita@bank.example"}
    assert "CRITICAL" in message.subject and "ACME" in message.subject
    assert "Acme was sued by the SEC." in message.body and f"/risk/alerts/{alert.pk}/" in message.body
    assert "notified" in actions(alert)


def test_an_escalation_to_critical_is_mailed_once(watchlist, companies, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(watchlist, companies["ACME"], level="warning", score=0.6)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(watchlist, companies["ACME"], level="critical", score=0.85)
        raise_alert(watchlist, companies["ACME"], level="critical", score=0.87)
    assert len(mail.outbox) == 1


def test_nothing_is_mailed_when_the_transaction_rolls_back(watchlist, companies, django_capture_on_commit_callbacks):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        raise_alert(watchlist, companies["ACME"], level="critical", score=0.9)
        raise RuntimeError("scoring run failed")
    assert callbacks == [] and mail.outbox == []


# --- watchlists ---------------------------------------------------------------------------------------


def test_thresholds_must_rise(risk_officer):
    with pytest.raises(ValidationError):
        services.watchlist_create(actor=risk_officer, name="Bad", watch_threshold=60.0, warning_threshold=50.0)
    with pytest.raises(ValidationError):
        services.watchlist_create(actor=risk_officer, name="Bad e-mail", notify_emails=["not an address"])


def test_a_watchlist_is_updated_in_place(watchlist, risk_officer, companies):
    services.watchlist_update(
        watchlist=watchlist, actor=risk_officer, critical_threshold=85.0, companies=[companies["GLBX"]]
    )
    watchlist.refresh_from_db()
    assert watchlist.critical_threshold == 85.0
    assert list(watchlist.companies.values_list("ticker", flat=True)) == ["GLBX"]
    with pytest.raises(ValidationError):
        services.watchlist_update(watchlist=watchlist, actor=risk_officer, warning_threshold=90.0)


# --- API and pages ------------------------------------------------------------------------------------


def test_risk_officer_acknowledges_through_the_api(watchlist, companies, risk_officer, api_client):
    alert, _ = raise_alert(watchlist, companies["ACME"])
    api_client.force_authenticate(risk_officer)
    response = api_client.post(f"/api/risk/alerts/{alert.pk}/acknowledge/", {"note": "Seen."}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged"
    assert [h["action"] for h in body["history"]] == ["raised", "acknowledged"]
    assert body["history"][1]["actor"] == risk_officer.username and body["history"][1]["note"] == "Seen."
    # Acknowledging a resolved alert is a conflict, in the error envelope.
    api_client.post(f"/api/risk/alerts/{alert.pk}/resolve/", {}, format="json")
    conflict = api_client.post(f"/api/risk/alerts/{alert.pk}/acknowledge/", {}, format="json")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "alert_conflict"


def test_the_alert_list_filters_unresolved(watchlist, companies, risk_officer, analyst, api_client):
    open_alert, _ = raise_alert(watchlist, companies["ACME"], key="a")
    closed, _ = raise_alert(watchlist, companies["GLBX"], key="b")
    services.alert_resolve(alert=closed, actor=risk_officer)
    api_client.force_authenticate(analyst)
    response = api_client.get("/api/risk/alerts/?status=unresolved")
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [open_alert.pk]
    assert api_client.get("/api/risk/alerts/?status=bogus").status_code == 400


def test_assigning_through_the_api(watchlist, companies, risk_officer, analyst, api_client):
    alert, _ = raise_alert(watchlist, companies["ACME"])
    api_client.force_authenticate(risk_officer)
    ok = api_client.post(f"/api/risk/alerts/{alert.pk}/assign/", {"assignee": risk_officer.username}, format="json")
    assert ok.status_code == 200 and ok.json()["assigned_to"] == risk_officer.username
    bad = api_client.post(f"/api/risk/alerts/{alert.pk}/assign/", {"assignee": analyst.username}, format="json")
    assert bad.status_code == 400


def test_feed_creation_is_for_risk_officers(analyst, risk_officer, auditor, api_client):
    body = {"name": "Wire", "kind": "rss", "url_or_path": "https://news.example/rss.xml"}
    for user, expected in ((analyst, 403), (auditor, 403), (risk_officer, 201)):
        api_client.force_authenticate(user)
        assert api_client.post("/api/risk/feeds/", body, format="json").status_code == expected
    api_client.force_authenticate(risk_officer)
    refused = api_client.post("/api/risk/feeds/", {**body, "url_or_path": "file:///etc/passwd"}, format="json")
    assert refused.status_code == 400


def test_the_alert_page_acts_and_shows_the_history(watchlist, companies, risk_officer, analyst):
    alert, _ = raise_alert(watchlist, companies["ACME"])
    officer = client_for(risk_officer)
    response = officer.post(f"/risk/alerts/{alert.pk}/act/", {"action": "escalate", "note": "Big exposure."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ESCALATED
    page = officer.get(f"/risk/alerts/{alert.pk}/").content.decode()
    assert "Big exposure." in page and "Acme was sued by the SEC." in page
    reader_page = client_for(analyst).get(f"/risk/alerts/{alert.pk}/").content.decode()
    assert 'data-testid="alert-actions"' not in reader_page


def test_the_watchlist_form_creates_a_watchlist(risk_officer, companies):
    response = client_for(risk_officer).post(
        "/risk/watchlists/new/",
        {
            "name": "Suppliers",
            "tickers": "ACME, glbx",
            "watch_threshold": 20.0,
            "warning_threshold": 40.0,
            "critical_threshold": 70.0,
            "hysteresis": 5.0,
            "notify_emails": "a@bank.example, b@bank.example",
        },
    )
    assert response.status_code == 302
    from apps.risk.models import Watchlist

    created = Watchlist.objects.get(name="Suppliers")
    assert sorted(created.companies.values_list("ticker", flat=True)) == ["ACME", "GLBX"]
    assert created.notify_emails == ["a@bank.example", "b@bank.example"]
    assert created.owner == risk_officer


def test_an_attribution_with_a_bad_article_id_still_renders(watchlist, companies, analyst):
    alert, _ = services.alert_raise(
        watchlist=watchlist,
        company=companies["ACME"],
        level="watch",
        score=0.35,
        dedup_key="k",
        attribution=[{"kind": "event", "value": 0.35, "article_id": "not-a-uuid", "evidence": "Acme was fined."}],
    )
    response = client_for(analyst).get(f"/risk/alerts/{alert.pk}/")
    assert response.status_code == 200 and "Acme was fined." in response.content.decode()


def test_an_unknown_ticker_is_a_form_error(risk_officer, companies):
    response = client_for(risk_officer).post(
        "/risk/watchlists/new/",
        {"name": "X", "tickers": "ACME, NOPE", "watch_threshold": 20.0, "warning_threshold": 40.0,
         "critical_threshold": 70.0, "hysteresis": 5.0, "notify_emails": ""},
    )  # fmt: skip
    assert response.status_code == 200 and "NOPE" in response.content.decode()
