"""Soak test of the zero-setup broker: many trivial tasks through web, two workers and beat.

    .venv/bin/python -m bench.soak --tasks 10000 --producers 4 --http-share 0.1

starts, on a fresh var/ folder and the embedded defaults (SQLite, the default
broker unless CELERY_BROKER_URL / CELERY_BROKER_TRANSPORT say otherwise):
``runserver`` with one extra endpoint that enqueues a probe (bench/soak_urls.py),
the ingest and models workers and beat as platform/Procfile starts them, and a
beat entry that sends a probe every second. Then several producer processes and
one HTTP client send ``apps.jobs.tasks.broker_probe`` messages, each with its own
token, to the ingest and models queues, while the workers consume them.

Every probe leaves one marker file per delivery. The report counts:
crashes (a worker or web process that exited; it is restarted, as the supervisor
of ``make run`` would, and the restart counted), lost tasks (a token sent but never
run), duplicates (a token run twice), send errors, CRITICAL lines in the logs,
and throughput (tasks/s from the first send to the last marker).

Candidates compared in issue 9 (same command, environment set per run):
    (default)                                          config.broker:Transport on filesystem://
    CELERY_BROKER_TRANSPORT=kombu.transport.filesystem:Transport   kombu's own
    CELERY_BROKER_URL=sqla+sqlite:////abs/path/broker.sqlite3      kombu's SQLAlchemy transport
    CELERY_BROKER_URL=redis://127.0.0.1:6379/8                     a Redis server, for reference
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.common import REPO_ROOT, thread_settings

QUEUES = ("ingest", "models")
# What the soak does not pass on: it runs on the embedded defaults.
_DROPPED_ENV = ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "QDRANT_URL", "DJANGO_SETTINGS_MODULE")
_BROKER_ENV = ("CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT")


@dataclass
class SoakResult:
    broker: str
    transport: str
    tasks: int
    producers: int
    http_tasks: int
    payload_bytes: int
    sent: int = 0
    send_errors: int = 0
    completed: int = 0
    lost: int = 0
    duplicates: int = 0
    crashes: int = 0
    restarts: int = 0
    critical_log_lines: int = 0
    quarantined: int = 0
    beat_probes: int = 0
    seconds: float = 0.0
    tasks_per_second: float = 0.0
    crash_reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.crashes or self.send_errors or self.critical_log_lines)


@dataclass
class _Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None
    pids: list[int] = field(default_factory=list)

    def start(self) -> None:
        log = self.log_path.open("a")
        self.popen = subprocess.Popen(
            self.argv, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pids.append(self.popen.pid)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(var_dir: Path, broker_env: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    if broker_env is not None:
        env = {k: v for k, v in env.items() if k not in _BROKER_ENV} | broker_env
    env.update(
        ARGUS_VAR_DIR=str(var_dir),
        ARGUS_LOG_FORMAT="plain",
        ARGUS_TORCH_THREADS="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


_BEAT_ENTRY = """
from django_celery_beat.models import IntervalSchedule, PeriodicTask
every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
PeriodicTask.objects.update_or_create(name="soak-probe", defaults={
    "task": "apps.jobs.tasks.broker_probe", "interval": every, "kwargs": '{"source": "beat"}',
    "queue": "ingest", "expires": None})
"""


def _wait_until(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def _http_producer(port: int, tokens: list[tuple[str, str]], failed: list[str]) -> None:
    url = f"http://127.0.0.1:{port}/soak/probe"
    for token, queue in tokens:
        body = urllib.parse.urlencode({"token": token, "queue": queue}).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=30) as response:
                ok = response.status == 202
        except OSError:
            ok = False
        if not ok:
            failed.append(token)


def produce(tokens_file: Path, payload_bytes: int) -> None:
    """One producer process: send the tokens of ``tokens_file`` with short random pauses."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from apps.jobs.tasks import broker_probe

    failed = []
    rng = random.Random(os.getpid())
    for line in tokens_file.read_text().split():
        token, queue = line.split(",")
        try:
            broker_probe.apply_async(kwargs={"token": token, "padding": "x" * payload_bytes}, queue=queue)
        except Exception as exc:
            failed.append(token)
            print(f"send failed: {exc!r}", file=sys.stderr)
        # Bursts and gaps, so that queues run empty and full while the workers poll.
        if rng.random() < 0.02:
            time.sleep(rng.uniform(0, 0.2))
    tokens_file.with_suffix(".failed").write_text("\n".join(failed))


def run_soak(
    *,
    tasks: int,
    producers: int,
    http_share: float,
    var_dir: Path,
    payload_bytes: int = 0,
    broker_env: dict[str, str] | None = None,
    idle_timeout: float = 90.0,
) -> SoakResult:
    """Soak the broker that ``broker_env`` selects (CELERY_BROKER_URL/TRANSPORT; None: this environment's)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    env = _environment(var_dir, broker_env)
    _manage(env, "migrate", "--noinput")
    _manage(env, "shell", "-c", _BEAT_ENTRY)
    broker = env.get("CELERY_BROKER_URL", "filesystem:// (default)")
    transport = env.get("CELERY_BROKER_TRANSPORT", "(settings default)")
    logs = var_dir / "logs"
    logs.mkdir(exist_ok=True)
    port = _free_port()
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    worker_opts = ["--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    services = [
        _Process(
            "web",
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            {**env, "DJANGO_SETTINGS_MODULE": "bench.soak_settings"},
            logs / "web.log",
        ),
        *(
            _Process(q, [*celery, "worker", "-Q", q, "-n", f"{q}@%h", *worker_opts], env, logs / f"{q}.log")
            for q in QUEUES
        ),
        _Process(
            "beat",
            [*celery, "beat", "--loglevel", "INFO", "--schedule", str(var_dir / "celerybeat-schedule")],
            env,
            logs / "beat.log",
        ),
    ]
    result = SoakResult(
        broker=broker,
        transport=transport,
        tasks=tasks,
        producers=producers,
        http_tasks=round(tasks * http_share),
        payload_bytes=payload_bytes,
    )
    producer_procs: list[subprocess.Popen] = []
    try:
        for service in services:
            service.start()
        for worker in services[1:3]:
            _wait_until(lambda w=worker: " ready." in w.log(), timeout=180, what=f"{worker.name} worker")
        _wait_until(lambda: _port_open(port), timeout=120, what="runserver")

        rng = random.Random(0)
        all_tokens = [(f"soak-{uuid.uuid4().hex}", rng.choice(QUEUES)) for _ in range(tasks)]
        http_tokens, process_tokens = all_tokens[: result.http_tasks], all_tokens[result.http_tasks :]
        markers = var_dir / "broker-probe"
        started = time.monotonic()
        for i in range(producers):
            share = process_tokens[i::producers]
            path = var_dir / f"producer-{i}.txt"
            path.write_text("\n".join(f"{t},{q}" for t, q in share))
            producer_procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.soak", "--produce", str(path), "--payload-bytes", str(payload_bytes)],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=(logs / f"producer-{i}.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        http_failed: list[str] = []
        http_thread = threading.Thread(target=_http_producer, args=(port, http_tokens, http_failed), daemon=True)
        http_thread.start()

        wanted = {t for t, _ in all_tokens}
        failed: set[str] = set()
        done: set[str] = set()
        last_progress = time.monotonic()
        while True:
            for service in services:
                if not service.alive():
                    result.crashes += 1
                    tail = [line for line in service.log().splitlines() if "CRITICAL" in line or "Error" in line]
                    result.crash_reasons.append(f"{service.name} exit {service.popen.returncode}: {tail[-1:]}")
                    service.start()
                    result.restarts += 1
            names = [p.name for p in markers.iterdir()] if markers.is_dir() else []
            now_done = {n for n in names if n in wanted}
            if len(now_done) > len(done):
                last_progress = time.monotonic()
                result.seconds = last_progress - started
            done = now_done
            producing = http_thread.is_alive() or any(p.poll() is None for p in producer_procs)
            if not producing and not failed:
                failed = set(http_failed) | _failed_sends(var_dir, producers)
            if not producing and done >= wanted - failed:
                break
            if not producing and time.monotonic() - last_progress > idle_timeout:
                break
            time.sleep(0.5)

        failed = set(http_failed) | _failed_sends(var_dir, producers)
        result.send_errors = len(failed)
        result.sent = len(wanted) - len(failed)
        names = [p.name for p in markers.iterdir()] if markers.is_dir() else []
        result.completed = len({n for n in names if n in wanted})
        result.lost = len(wanted - failed - set(names))
        result.duplicates = sum(1 for n in names if n.startswith("soak-") and "." in n)
        result.beat_probes = sum(1 for n in names if n.startswith("beat-"))
        quarantine = var_dir / "broker" / "quarantine"
        result.quarantined = len(list(quarantine.iterdir())) if quarantine.is_dir() else 0
        result.tasks_per_second = round(result.completed / result.seconds, 1) if result.seconds else 0.0
        result.seconds = round(result.seconds, 1)
    finally:
        for proc in producer_procs:
            if proc.poll() is None:
                proc.kill()
        for service in services:
            service.stop()
    result.critical_log_lines = sum(
        1 for service in services for line in service.log().splitlines() if "CRITICAL" in line
    )
    return result


def _failed_sends(var_dir: Path, producers: int) -> set[str]:
    failed: set[str] = set()
    for i in range(producers):
        path = var_dir / f"producer-{i}.failed"
        # A producer that died before writing its list failed to send its whole share.
        lines = path.read_text().split() if path.exists() else (var_dir / f"producer-{i}.txt").read_text().split()
        failed |= {line.split(",")[0] for line in lines}
    return failed


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--http-share", type=float, default=0.1, help="share of the tasks sent through the web")
    parser.add_argument("--payload-bytes", type=int, default=0, help="padding per producer message")
    parser.add_argument("--var-dir", type=Path, help="default: a fresh temporary folder under var/bench")
    parser.add_argument("--keep", action="store_true", help="keep the var folder (logs) afterwards")
    parser.add_argument("--produce", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.produce:
        produce(args.produce, args.payload_bytes)
        return
    for key, value in thread_settings().items():
        print(f"# {key}: {value}")
    base = REPO_ROOT / "var" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    var_dir = args.var_dir or Path(tempfile.mkdtemp(prefix="soak-", dir=base))
    result = run_soak(
        tasks=args.tasks,
        producers=args.producers,
        http_share=args.http_share,
        var_dir=var_dir,
        payload_bytes=args.payload_bytes,
    )
    print(json.dumps({**asdict(result), "ok": result.ok}, indent=2))
    if not args.keep:
        import shutil

        shutil.rmtree(var_dir, ignore_errors=True)
    else:
        print(f"# logs kept in {var_dir / 'logs'}")
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
