"""Two worker processes appending at once leave one linear, unbroken chain."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from apps.audit.models import AuditChainHead, InferenceRecord
from apps.audit.selectors import audit_chain_verify
from tests.audit.conftest import tamper
from tests.conftest import database_url_for_subprocess

RECORDS_PER_PROCESS = 200
START_TIMEOUT_SECONDS = 120
RUN_TIMEOUT_SECONDS = 300

# Each process gets ready (Django set up, connection open) and then waits for the
# "go" file, so that both start appending at the same moment.
APPENDER = """
import sys
import time
from pathlib import Path

import django

django.setup()
from django.db import connection

from apps.audit.models import InferenceKind, InferenceStatus
from apps.audit.services import inference_record_append

label, count, ready, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
connection.ensure_connection()
ready.touch()
deadline = time.monotonic() + float(sys.argv[5])
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit(f"{label}: never told to start")
    time.sleep(0.005)
for i in range(count):
    inference_record_append(
        actor=f"system:{label}",
        kind=InferenceKind.EMBED,
        model_name="concurrency-probe",
        input_hash=f"{label}-{i}",
        status=InferenceStatus.OK,
        details={"i": i},
    )
"""


def subprocess_env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url_for_subprocess(),
        "PYTHONPATH": str(settings.BASE_DIR),
    }


def wait_for(paths: list[Path], processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not all(p.exists() for p in paths):
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"appender exited early: {process.communicate()[1]}")
        if time.monotonic() > deadline:
            pytest.fail("appenders did not get ready")
        time.sleep(0.02)


def run_verify_audit() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "verify_audit", "--json"],
        cwd=settings.BASE_DIR,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_processes_appending_at_once_leave_one_unbroken_chain(tmp_path):
    go = tmp_path / "go"
    labels = ("appender-a", "appender-b")
    ready = [tmp_path / f"{label}.ready" for label in labels]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                APPENDER,
                label,
                str(RECORDS_PER_PROCESS),
                str(flag),
                str(go),
                str(START_TIMEOUT_SECONDS),
            ],
            cwd=settings.BASE_DIR,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label, flag in zip(labels, ready, strict=True)
    ]
    try:
        wait_for(ready, processes)
        go.touch()
        results = [process.communicate(timeout=RUN_TIMEOUT_SECONDS) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, (_out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err

    records = list(InferenceRecord.objects.order_by("seq").values_list("seq", "actor", "details"))
    total = 2 * RECORDS_PER_PROCESS
    assert [seq for seq, _, _ in records] == list(range(1, total + 1))
    for label in labels:
        # Each process's own records keep their order within the one chain.
        own = [details["i"] for _, actor, details in records if actor == f"system:{label}"]
        assert own == list(range(RECORDS_PER_PROCESS))
    handovers = sum(1 for before, after in itertools.pairwise(records) if before[1] != after[1])
    print(f"chain switched between the two appenders {handovers} times")

    verdict = audit_chain_verify()
    assert verdict.ok, str(verdict)
    assert verdict.checked == total
    head = AuditChainHead.objects.get(pk=1)
    assert head.last_seq == total

    # The command as cron would run it: a separate process, exit status 0 ...
    intact = run_verify_audit()
    assert intact.returncode == 0, intact.stderr
    assert json.loads(intact.stdout)["checked"] == total

    # ... and 1, naming the record, once a row is changed behind the ORM's back.
    tampered = InferenceRecord.objects.get(seq=137)
    tamper("UPDATE audit_inferencerecord SET model_name = 'other-model' WHERE seq = 137")
    broken = run_verify_audit()
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["broken_id"] == tampered.pk
    assert f"seq=137 id={tampered.pk}" in broken.stderr
