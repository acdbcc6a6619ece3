"""Reports moved from apps.research to apps.reports: a database migrated before the move keeps its rows.

The test takes the database back to the last migration before the move (research 0003, no reports
app), writes a report, a review and the report's content type there with the historical models,
migrates forward and reads them back through apps.reports.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE_THE_MOVE = [("research", "0003_report_number_checks"), ("reports", None)]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_reports_written_before_the_move_are_read_after_it():
    latest = _latest()
    try:
        executor = _migrate(BEFORE_THE_MOVE)
        old = executor.loader.project_state([("research", "0003_report_number_checks")]).apps
        assert ("reports", "researchreport") not in {(m._meta.app_label, m._meta.model_name) for m in old.get_models()}
        user_model = old.get_model("accounts", "User")
        author = user_model.objects.create(username="old-analyst")
        reviewer = user_model.objects.create(username="old-reviewer")
        company = old.get_model("research", "Company").objects.create(ticker="ACME", name="Acme Industrial")
        report_id = uuid.uuid4()
        report = old.get_model("research", "ResearchReport").objects.create(
            id=report_id,
            requested_by=author,
            company=company,
            status="approved",
            output={"ticker": "ACME", "rating": "neutral"},
            rendered_markdown="# ACME",
            allowed_access_levels=["public"],
            supported_share=0.75,
            numbers_checked=4,
            numbers_unsupported=1,
        )
        old.get_model("research", "ReportReview").objects.create(
            report=report, reviewer=reviewer, decision="approved", comment="Sign checked."
        )
        content_types = old.get_model("contenttypes", "ContentType").objects
        content_types.get_or_create(app_label="research", model="researchreport")

        _migrate(latest)
    finally:
        _migrate(latest)  # the rest of the suite runs on the latest schema, whatever happened above

    from django.contrib.contenttypes.models import ContentType

    from apps.reports.models import ResearchReport

    moved = ResearchReport.objects.select_related("company", "requested_by").get(pk=report_id)
    assert (moved.company.ticker, moved.requested_by.username, moved.status) == ("ACME", "old-analyst", "approved")
    assert (moved.supported_share, moved.numbers_checked, moved.numbers_unsupported) == (0.75, 4, 1)
    assert moved.output == {"ticker": "ACME", "rating": "neutral"}
    assert [(r.reviewer.username, r.decision, r.comment) for r in moved.reviews.all()] == [
        ("old-reviewer", "approved", "Sign checked.")
    ]
    assert ResearchReport._meta.db_table == "reports_researchreport"
    assert ContentType.objects.filter(app_label="reports", model="researchreport").exists()
    assert not ContentType.objects.filter(app_label="research", model="researchreport").exists()
