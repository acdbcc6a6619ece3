"""The embedded broker (config.broker on filesystem://): no half-written reads, no lost messages.

These drive the transport that settings select for ``filesystem://`` through kombu
directly, in this process and in child processes, without a Celery worker.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Connection, Exchange, Queue

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("filesystem://"), reason="the embedded broker is not in use"
)


def options(root: Path) -> dict:
    folders = {
        "data_folder_in": root / "queue",
        "data_folder_out": root / "queue",
        "processed_folder": root / "processed",
        "control_folder": root / "control",
        "claim_folder": root / "claimed",
        "quarantine_folder": root / "quarantine",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {**{k: str(v) for k, v in folders.items()}, "polling_interval": 0.01}


def connect(root: Path) -> Connection:
    return Connection(
        "filesystem://",
        transport=getattr(settings, "CELERY_BROKER_TRANSPORT", None),
        transport_options=options(root),
    )


def queue_in(root: Path) -> Queue:
    """A queue of its own per test: kombu keeps declared bindings per process, not per folder."""
    name = f"probe-{abs(hash(str(root)))}"
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def _publish_many(root: str, start: int, count: int, size: int) -> None:
    queue = queue_in(Path(root))
    with connect(Path(root)) as conn:
        producer = conn.Producer(serializer="json")
        for i in range(start, start + count):
            producer.publish({"i": i, "pad": "x" * size}, exchange=queue.exchange, routing_key=queue.routing_key)


def test_settings_select_the_atomic_transport_for_filesystem_urls():
    assert settings.CELERY_BROKER_TRANSPORT == "config.broker:Transport"
    with connect(Path(settings.BROKER_DIR)) as conn:
        assert conn.transport_cls == "config.broker:Transport" or conn.transport.__module__ == "config.broker"


def test_consumer_never_reads_a_message_its_writers_have_not_finished(tmp_path):
    """Four writer processes publish large messages while one consumer polls: every message arrives whole.

    kombu's own transport creates the file and then writes it; a consumer in
    between read an empty file and died with JSONDecodeError (issue 9).
    """
    writers, per_writer = 4, 150
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=_publish_many, args=(str(tmp_path), w * per_writer, per_writer, 256_000))
        for w in range(writers)
    ]
    seen: list[int] = []
    with connect(tmp_path) as conn:
        queue_in(tmp_path)(conn.default_channel).declare()
        for proc in procs:
            proc.start()
        simple = conn.SimpleQueue(queue_in(tmp_path))
        while len(seen) < writers * per_writer:
            message = simple.get(timeout=60)
            seen.append(message.payload["i"])
            message.ack()
        simple.close()
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert sorted(seen) == list(range(writers * per_writer))
    assert not list((tmp_path / "quarantine").iterdir())


def test_an_unreadable_message_file_is_set_aside_and_the_next_one_delivered(tmp_path):
    with connect(tmp_path) as conn:
        simple = conn.SimpleQueue(queue_in(tmp_path))
        # What a crashed writer of an older version could leave behind.
        (tmp_path / "queue" / f"0_00000000-0000-0000-0000-000000000000.{queue_in(tmp_path).name}.msg").write_bytes(b"")
        simple.put({"i": 1})
        message = simple.get(timeout=5)
        assert message.payload == {"i": 1}
        message.ack()
        simple.close()
    (quarantined,) = (tmp_path / "quarantine").iterdir()
    assert quarantined.name.startswith("0_00000000-") and quarantined.read_bytes() == b""


def test_an_acked_message_is_gone_and_a_rejected_one_comes_back_once(tmp_path):
    with connect(tmp_path) as conn:
        simple = conn.SimpleQueue(queue_in(tmp_path))
        simple.put({"i": 1})
        message = simple.get(timeout=5)
        assert list((tmp_path / "claimed").iterdir()), "a delivered message is held in a claim file until acked"
        message.requeue()
        again = simple.get(timeout=5)
        assert again.payload == {"i": 1}
        again.ack()
        simple.close()
    assert not list((tmp_path / "queue").glob("*.msg"))
    assert not list((tmp_path / "claimed").iterdir())


def test_a_message_rejected_without_requeue_is_dropped_for_good(tmp_path):
    with connect(tmp_path) as conn:
        simple = conn.SimpleQueue(queue_in(tmp_path))
        simple.put({"i": 1})
        simple.get(timeout=5).reject()
        simple.close()
    assert not list((tmp_path / "claimed").iterdir()), "a dead worker's recovery would bring it back"
    assert not list((tmp_path / "queue").glob("*.msg"))


def test_a_message_taken_by_a_process_that_died_is_delivered_again(tmp_path):
    """A worker SIGKILLed mid-task never acks: its claim goes back to the queue, so the task is not lost."""
    with connect(tmp_path) as conn:
        simple = conn.SimpleQueue(queue_in(tmp_path))
        simple.put({"i": 7})
        simple.close()
    dead = subprocess.Popen(["true"])
    dead.wait()
    # The dead process had taken the message: its claim file is all that is left of it.
    (message_file,) = (tmp_path / "queue").glob("*.msg")
    message_file.rename(tmp_path / "claimed" / f"{dead.pid}-{message_file.name}")
    assert json.loads((tmp_path / "claimed" / f"{dead.pid}-{message_file.name}").read_text())
    with connect(tmp_path) as conn:
        simple = conn.SimpleQueue(queue_in(tmp_path))
        message = simple.get(timeout=10)
        assert message.payload == {"i": 7}
        message.ack()
        simple.close()
    assert not list((tmp_path / "claimed").iterdir())


def test_a_live_process_keeps_its_claim(tmp_path):
    with connect(tmp_path) as conn:
        simple = conn.SimpleQueue(queue_in(tmp_path))
        simple.put({"i": 3})
        simple.close()
    (message_file,) = (tmp_path / "queue").glob("*.msg")
    message_file.rename(tmp_path / "claimed" / f"{os.getppid()}-{message_file.name}")
    with connect(tmp_path) as conn:
        simple = conn.SimpleQueue(queue_in(tmp_path))
        with pytest.raises(simple.Empty):
            simple.get(timeout=0.5)
        simple.close()
