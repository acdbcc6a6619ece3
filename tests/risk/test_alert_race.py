"""Two scoring runs raising the same story at once still make one alert (the partial unique constraint decides)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.risk import services
from apps.risk.models import Alert, AlertAction


@pytest.mark.django_db(transaction=True)
def test_concurrent_raises_of_one_story_make_one_alert(watchlist, companies):
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(score: float) -> None:
        try:
            barrier.wait(timeout=10)
            _, what = services.alert_raise(
                watchlist=watchlist, company=companies["ACME"], level="warning", score=score, dedup_key="ACME:story"
            )
            outcomes.append(what)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(0.5 + i / 100,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert Alert.objects.filter(dedup_key="ACME:story").count() == 1
    assert sorted(outcomes).count("raised") == 1 and len(outcomes) == 4
    assert AlertAction.objects.filter(action="raised").count() == 1
