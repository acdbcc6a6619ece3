"""Only a document's uploader, risk officers and admins may re-index it (API and page)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.research.models import AccessLevel, Document, DocumentStatus
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(analyst):
    return Document.objects.create(
        title="Acme Q3 review",
        uploaded_by=analyst,
        access_level=AccessLevel.INTERNAL,
        status=DocumentStatus.INDEXED,
        content_hash="1" * 64,
    )


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_another_analyst_may_read_but_not_reindex(document, other_analyst):
    client = _api(other_analyst)
    assert client.get(f"/api/documents/{document.pk}/").json()["can_reindex"] is False
    response = client.post(f"/api/documents/{document.pk}/reindex/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    page = client_for(other_analyst).post(f"/research/documents/{document.pk}/reindex/")
    assert page.status_code == 403
    detail = client_for(other_analyst).get(f"/research/documents/{document.pk}/")
    assert b'data-testid="reindex"' not in detail.content


@pytest.mark.parametrize("persona", ["analyst", "risk_officer", "admin"])
def test_uploader_risk_officer_and_admin_may_reindex(document, personas, persona):
    user = personas[persona]
    assert _api(user).get(f"/api/documents/{document.pk}/").json()["can_reindex"] is True
    response = _api(user).post(f"/api/documents/{document.pk}/reindex/")
    assert response.status_code == 202, response.content
