from __future__ import annotations

import pytest

from apps.research.models import Company


@pytest.fixture
def eager_models_worker(settings, tmp_path):
    """Run ingest and model-queue tasks in this process, against a fresh embedded store."""
    from config.celery import app
    from gpu_workers.runtime import model_cache

    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.QDRANT_PATH = tmp_path / "qdrant"
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    app.conf.task_always_eager = was_eager
    store = model_cache._models.pop("vector_store", None)
    if store is not None:
        store.close()


@pytest.fixture
def companies(db):
    return {
        "ACME": Company.objects.create(ticker="ACME", name="Acme Industrial Corp", sector="Industrials"),
        "GLBX": Company.objects.create(ticker="GLBX", name="Globex Capital", sector="Financials"),
    }


@pytest.fixture
def restricted_reader(make_user):
    from django.contrib.auth.models import Group

    from apps.accounts.roles import Role
    from apps.research.access import RESTRICTED_READERS_GROUP

    user = make_user("rhea-restricted", Role.ANALYST)
    user.groups.add(Group.objects.get_or_create(name=RESTRICTED_READERS_GROUP)[0])
    return user
