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
            assert args[args.index("--concurrency") + 1] == "1", name
    assert consumed == {q: q for q in ("ingest", "models", "interactive", "training")}
    # Every queue of CeleryQueue has a consumer (interactive is being added to CeleryQueue in parallel).
    assert {q.value for q in CeleryQueue} <= set(consumed.values())
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "supervisord -c platform/supervisord.conf" in makefile
    assert "honcho" not in makefile


def _supervisor_conf_for(program: str, tmp_path: Path) -> Path:
    """The real [supervisord] sections and one real program, run from the repository root."""
    parser = read_conf()
    keep = {"supervisord", "unix_http_server", "rpcinterface:supervisor", "supervisorctl", f"program:{program}"}
    for section in parser.sections():
        if section not in keep:
            parser.remove_section(section)
    parser[f"program:{program}"]["directory"] = str(REPO_ROOT)
    path = tmp_path / "supervisord.conf"
    with path.open("w") as f:
        parser.write(f)
    return path


def _pid(conf: Path, program: str, env: dict) -> int:
    out = subprocess.run(
        [str(BIN / "supervisorctl"), "-c", str(conf), "pid", program], env=env, capture_output=True, text=True
    ).stdout.strip()
    return int(out) if out.isdigit() else 0


@pytest.mark.integration
def test_a_worker_killed_with_sigkill_is_started_again_and_runs_tasks(tmp_path, settings):
    from apps.jobs.tasks import broker_probe
    from tests.worker import purge_broker

    purge_broker()
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "ARGUS_VAR_DIR": str(settings.VAR_DIR),
        "ARGUS_LOG_FORMAT": "plain",
    }
    conf = _supervisor_conf_for("ingest", tmp_path)
    log_path = tmp_path / "supervisord.log"
    supervisord = subprocess.Popen(
        [str(BIN / "supervisord"), "-c", str(conf)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log = lambda: log_path.read_text(errors="replace")  # noqa: E731
    try:
        wait_for(lambda: log().count(" ready.") == 1, timeout=180, what=f"the ingest worker:\n{log()}")
        first = _pid(conf, "ingest", env)
        assert first

        os.kill(first, signal.SIGKILL)

        wait_for(lambda: log().count(" ready.") == 2, timeout=180, what=f"the restarted worker:\n{log()}")
        second = _pid(conf, "ingest", env)
        assert second and second != first
        assert "exited: ingest (terminated by SIGKILL" in log()

        token = f"restart-{uuid.uuid4().hex}"
        broker_probe.apply_async(kwargs={"token": token}, queue=CeleryQueue.INGEST.value)
        marker = Path(settings.VAR_DIR) / "broker-probe" / token
        wait_for(marker.exists, timeout=60, what="the probe task on the restarted worker")
        assert int(marker.read_text()) != first
    finally:
        supervisord.send_signal(signal.SIGTERM)
        try:
            supervisord.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(supervisord.pid, signal.SIGKILL)
        time.sleep(0.5)
