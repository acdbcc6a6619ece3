"""The soak test's web endpoint: the real URLs plus one that enqueues a broker probe.

Only bench/soak.py serves these (through bench.soak_settings); the product has no
such endpoint, so nobody can fill the queues over HTTP.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.jobs.tasks import broker_probe
from config.celery import CeleryQueue
from config.urls import urlpatterns as product_urlpatterns


@login_not_required
@csrf_exempt
@require_POST
def probe(request: HttpRequest) -> JsonResponse:
    queue = CeleryQueue(request.POST["queue"])
    broker_probe.apply_async(kwargs={"token": request.POST["token"]}, queue=queue.value)
    return JsonResponse({"queued": request.POST["token"]}, status=202)


urlpatterns = [path("soak/probe", probe), *product_urlpatterns]
