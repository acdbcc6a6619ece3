"""The reports API without a model: request validation, visibility, review workflow, roles."""

from __future__ import annotations

import pytest

from apps.jobs.models import Job, JobKind
from apps.registry.models import Adapter, AdapterStatus, BaseModel
from apps.reports.models import ReportReview, ReportStatus, ResearchReport

pytestmark = pytest.mark.django_db


@pytest.fixture
def base_model(db):
    return BaseModel.objects.create(
        name="tiny", path="/nonexistent", source="test", content_hash="0" * 64, is_default=True
    )


@pytest.fixture
def ready_adapter(base_model):
    return Adapter.objects.create(
        name="writer", version=1, base_model=base_model, path="/x", file_hash="1" * 64, status=AdapterStatus.READY
    )


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def post_report(client, **body):
    return client.post("/api/reports/", {"ticker": "ACME", **body}, format="json")


def test_request_answers_202_with_a_queued_report_and_its_job(api_client, analyst, companies, ready_adapter):
    response = post_report(
        as_user(api_client, analyst),
        question="Is the margin sustainable?",
        required_indicators=["gross margin", "revenue growth", "Gross  Margin"],
        adapter="writer",
        as_of="2025-06-30",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["progress"] == 0 and body["output"] is None
    report = ResearchReport.objects.get(pk=body["id"])
    assert report.required_indicators == ["gross margin", "revenue growth"]  # duplicates folded
    assert report.allowed_access_levels == ["internal", "public"]
    job = Job.objects.get(pk=body["job_id"])
    assert job.kind == JobKind.REPORT and job.params == {"report_id": body["id"]}
    assert body["status_url"] == f"/api/jobs/{job.pk}/"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ticker": "NOPE"}, "ticker"),
        ({"adapter": "missing"}, "adapter"),
        ({"required_indicators": ["a", "b", "c", "d", "e", "f", "g"]}, "required_indicators"),
        ({"required_indicators": "gross margin"}, "required_indicators"),
        ({"required_indicators": [12]}, "required_indicators"),
        ({"template": "poem"}, "template"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"temperature": 2}, "temperature"),
        ({"question": ["not", "a", "string"]}, "question"),
    ],
)
def test_bad_payloads_are_400_with_the_field_and_create_nothing(
    api_client, analyst, companies, base_model, body, field
):
    response = post_report(as_user(api_client, analyst), **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"], error
    assert not ResearchReport.objects.exists() and not Job.objects.exists()


def test_without_a_registered_model_the_request_is_refused(api_client, analyst, companies):
    response = post_report(as_user(api_client, analyst))
    assert response.status_code == 400 and "prepare_models" in response.json()["error"]["detail"]


@pytest.fixture
def draft(analyst, companies, base_model):
    return ResearchReport.objects.create(
        requested_by=analyst,
        company=companies["ACME"],
        status=ReportStatus.DRAFT,
        output={"ticker": "ACME", "rating": "hold", "citations": []},
        rendered_markdown="# ACME\n",
        rendered_html="<h1>ACME</h1>",
        allowed_access_levels=["internal", "public"],
    )


def test_other_users_reports_are_404_and_not_listed(api_client, draft, other_analyst, auditor, outsider):
    client = as_user(api_client, other_analyst)
    assert client.get(f"/api/reports/{draft.pk}/").status_code == 404
    assert client.get("/api/reports/").json()["count"] == 0
    for user, code in ((auditor, 403), (outsider, 403)):
        assert as_user(api_client, user).get(f"/api/reports/{draft.pk}/").status_code == code


def test_owner_and_reviewers_see_the_report(api_client, draft, analyst, risk_officer, admin_user):
    for user in (analyst, risk_officer, admin_user):
        response = as_user(api_client, user).get("/api/reports/?ticker=acme")
        assert response.status_code == 200 and [r["id"] for r in response.json()["results"]] == [str(draft.pk)]


def test_report_built_on_restricted_chunks_is_hidden_from_readers_without_access(
    api_client, draft, risk_officer, restricted_reader
):
    draft.access_level = "restricted"
    draft.save()
    assert as_user(api_client, risk_officer).get(f"/api/reports/{draft.pk}/").status_code == 404
    draft.requested_by = restricted_reader
    draft.save()
    assert as_user(api_client, restricted_reader).get(f"/api/reports/{draft.pk}/").status_code == 200


def test_review_approves_a_draft_once_and_keeps_the_decision(api_client, draft, risk_officer):
    client = as_user(api_client, risk_officer)
    response = client.post(f"/api/reports/{draft.pk}/review/", {"decision": "approved", "comment": "ok"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert response.json()["reviews"][0]["reviewer"] == risk_officer.username
    again = client.post(f"/api/reports/{draft.pk}/review/", {"decision": "rejected"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_draft"
    assert ReportReview.objects.filter(report=draft).count() == 1


def test_requester_and_analysts_cannot_review(api_client, draft, analyst):
    response = as_user(api_client, analyst).post(f"/api/reports/{draft.pk}/review/", {"decision": "approved"})
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == ReportStatus.DRAFT and not draft.reviews.exists()


def test_review_with_a_bad_decision_is_400(api_client, draft, risk_officer):
    response = as_user(api_client, risk_officer).post(
        f"/api/reports/{draft.pk}/review/", {"decision": "maybe"}, format="json"
    )
    assert response.status_code == 400 and "decision" in response.json()["error"]["fields"]


def test_exports_markdown_and_refuses_a_report_without_output(api_client, draft, analyst):
    client = as_user(api_client, analyst)
    response = client.get(f"/api/reports/{draft.pk}/export/?as=md")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/markdown")
    assert "attachment" in response["Content-Disposition"] and response.content == b"# ACME\n"
    assert client.get(f"/api/reports/{draft.pk}/export/?as=docx").status_code == 400
    draft.output = None
    draft.save()
    assert client.get(f"/api/reports/{draft.pk}/export/?as=md").status_code == 409


def test_adapter_list_shows_ready_adapters_only(api_client, analyst, ready_adapter, base_model):
    Adapter.objects.create(name="writer", version=2, base_model=base_model, status=AdapterStatus.TRAINING)
    body = as_user(api_client, analyst).get("/api/adapters/").json()
    assert [(a["name"], a["version"]) for a in body] == [("writer", 1)]
