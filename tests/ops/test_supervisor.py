"""make run's process supervisor (platform/supervisord.conf): the process set, and restarts of dead workers."""

from __future__ import annotations

import configparser
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import CeleryQueue
from tests.worker import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CONF = REPO_ROOT / "platform" / "supervisord.conf"
BIN = Path(sys.executable).parent


def read_conf() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";",))
    parser.read(CONF)
    return parser


def programs(parser: configparser.RawConfigParser) -> dict[str, configparser.SectionProxy]:
    return {s.removeprefix("program:"): parser[s] for s in parser.sections() if s.startswith("program:")}


def test_make_run_supervises_web_every_worker_and_beat():
    progs = programs(read_conf())
    assert set(progs) == {"web", "ingest", "models", "interactive", "training", "beat"}
    for name, section in progs.items():
        assert section["autorestart"] == "true", name
        assert section["stopasgroup"] == section["killasgroup"] == "true", name
        assert section["stdout_logfile"] == "/dev/stdout", name
    consumed = {}
    for name, section in progs.items():
        args = shlex.split(section["command"].replace("%%", "%"))
        if args[:4] == ["celery", "-A", "config", "worker"]:
            consumed[name] = args[args.index("-Q") + 1]
            # One process per worker: the embedded stores allow one owner. The interactive worker
            # serves with two threads of that process, so a search never waits behind an answer.
            assert args[args.index("--concurrency") + 1] == ("2" if name == "interactive" else "1"), name
            assert ("--pool" in args) == (name == "interactive"), name
    assert consumed == {q: q for q in ("ingest", "models", "interactive", "training")}
    # Every queue of CeleryQueue has a consumer.
    assert {q.value for q in CeleryQueue} <= set(consumed.values())
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "supervisord -c platform/supervisord.conf" in makefile
    assert "honcho" not in makefile


def _supervisor_conf_for(program: str, tmp_path: Path, *, queue: str) -> Path:
    """The real [supervisord] sections and one real program, run from the repository root.

    The program consumes ``queue`` instead of its own: a session worker of other integration
    tests may still consume the real queues on the same broker and would take the test's tasks.
    """
    parser = read_conf()
    keep = {"supervisord", "unix_http_server", "rpcinterface:supervisor", "supervisorctl", f"program:{program}"}
    for section in parser.sections():
        if section not in keep:
            parser.remove_section(section)
    section = parser[f"program:{program}"]
    section["directory"] = str(REPO_ROOT)
    assert f" -Q {program} " in section["command"]
    section["command"] = section["command"].replace(f" -Q {program} ", f" -Q {queue} ")
    path = tmp_path / "supervisord.conf"
    with path.open("w") as f:
        parser.write(f)
    return path


def _pid(conf: Path, program: str, env: dict) -> int:
    out = subprocess.run(
        [str(BIN / "supervisorctl"), "-c", str(conf), "pid", program], env=env, capture_output=True, text=True
    ).stdout.strip()
    return int(out) if out.isdigit() else 0


class Supervised:
    """supervisord running the real ``ingest`` program, with helpers to read its log and the worker's pid."""

    def __init__(self, conf: Path, env: dict, log_path: Path, queue: str):
        self.conf, self.env, self.log_path, self.queue = conf, env, log_path, queue

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, times: int) -> int:
        wait_for(lambda: self.log().count(" ready.") >= times, timeout=180, what=f"worker start {times}:\n{self.log()}")
        pid = _pid(self.conf, "ingest", self.env)
        assert pid
        return pid


@pytest.fixture
def supervised_ingest(tmp_path, settings):
    from tests.worker import purge_broker

    purge_broker()
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "ARGUS_VAR_DIR": str(settings.VAR_DIR),
        "ARGUS_LOG_FORMAT": "plain",
    }
    queue = f"supervised-{uuid.uuid4().hex[:12]}"
    conf = _supervisor_conf_for("ingest", tmp_path, queue=queue)
    log_path = tmp_path / "supervisord.log"
    supervisord = subprocess.Popen(
        [str(BIN / "supervisord"), "-c", str(conf)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield Supervised(conf, env, log_path, queue)
    finally:
        supervisord.send_signal(signal.SIGTERM)
        try:
            supervisord.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(supervisord.pid, signal.SIGKILL)
        time.sleep(0.5)


def _marker(settings, token: str) -> Path:
    return Path(settings.VAR_DIR) / "broker-probe" / token


@pytest.mark.integration
def test_a_worker_killed_with_sigkill_is_started_again_and_runs_tasks(supervised_ingest, settings):
    from apps.jobs.tasks import broker_probe

    first = supervised_ingest.wait_ready(1)

    os.kill(first, signal.SIGKILL)

    second = supervised_ingest.wait_ready(2)
    assert second != first
    assert "exited: ingest (terminated by SIGKILL" in supervised_ingest.log()
    token = f"restart-{uuid.uuid4().hex}"
    broker_probe.apply_async(kwargs={"token": token}, queue=supervised_ingest.queue)
    wait_for(_marker(settings, token).exists, timeout=60, what="the probe task on the restarted worker")


@pytest.mark.integration
@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("filesystem://"),
    reason="Redis hands an unacked task back only after the visibility timeout (hours)",
)
def test_the_task_of_a_worker_killed_mid_task_runs_once_after_the_restart(supervised_ingest, settings):
    """The worker and its pool child die together (as under the OOM killer): the task is not lost."""
    from apps.jobs.tasks import broker_probe

    first = supervised_ingest.wait_ready(1)
    token = f"killed-{uuid.uuid4().hex}"
    sent = broker_probe.apply_async(kwargs={"token": token, "hold_seconds": 20}, queue=supervised_ingest.queue)
    wait_for(lambda: f"[{sent.id}] received" in supervised_ingest.log(), timeout=60, what="the worker to take the task")

    os.killpg(first, signal.SIGKILL)  # supervisord starts each program in a process group of its own

    supervised_ingest.wait_ready(2)
    marker = _marker(settings, token)
    wait_for(marker.exists, timeout=120, what=f"the task to run again:\n{supervised_ingest.log()}")
    time.sleep(1)
    assert sorted(p.name for p in marker.parent.glob(f"{token}*")) == [token], "ran exactly once"
