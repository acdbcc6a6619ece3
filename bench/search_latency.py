"""Search latency over HTTP while reports generate and a corpus indexes, against the old single-worker layout.

Goal (issue 9): search p95 < 1 s over HTTP while 8 reports generate and a corpus indexes.

Everything runs as real processes started here, with the same environment: the web server
(``runserver``), and Celery workers per queue. In one run it measures

  (a) idle:  ``POST /api/search/`` with a token, nothing else running;
  (b) load:  the same while 8 report requests generate (SmolLM2, registered by ``prepare_models``)
             and a freshly generated demo corpus is ingested and indexed;
  (c) old:   the same load with the old layout, one model worker consuming ``interactive,models``
             (search queues behind the batch), the baseline of the ratio.

By default on PostgreSQL + Redis (``--database-url``, ``--broker-url``, ``--redis-url``; the database is
dropped and created again, the Redis dbs flushed: give it your own). ``--embedded`` runs on the
zero-setup defaults (SQLite, filesystem broker) in a private var directory instead.

    .venv/bin/python bench/search_latency.py --quick
    .venv/bin/python bench/search_latency.py --embedded --quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_VAR, REPO_ROOT, percentile, print_table

FINAL = ("succeeded", "failed")
QUERIES = [
    "gross margin trend and pricing",
    "net debt to EBITDA and liquidity",
    "revenue growth guidance for next year",
    "credit risk in the loan book",
    "management commentary on demand",
    "dividend and share buyback plans",
    "supply chain disruption risk",
    "free cash flow conversion",
]
QUESTIONS = [
    "Is the margin trend sustainable?",
    "How leveraged is the balance sheet?",
    "What drives revenue growth?",
    "Is the valuation justified?",
    "What are the main risks?",
    "How does the quarter compare with last year?",
    "Is the rating justified?",
    "What would change the thesis?",
]


@dataclass
class Procs:
    started: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen:
        log = (log_dir / f"{name}.log").open("w")
        proc = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, proc))
        return proc

    def stop(self, names: set[str] | None = None) -> None:
        for name, proc in list(self.started):
            if names is not None and name not in names:
                continue
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            self.started.remove((name, proc))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(args: argparse.Namespace, var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "QDRANT_URL"}
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",
        "ARGUS_VAR_DIR": str(var_dir),
        # The converted SmolLM2 is reused from the repository's var/ (converting takes ~25 s once).
        "ARGUS_MODELS_DIR": str(REPO_ROOT / "var" / "models"),
        "ARGUS_TORCH_THREADS": str(args.torch_threads),
        "ARGUS_LOG_FORMAT": "plain",
        "ARGUS_THROTTLE_SEARCH": "100000/minute",
        "ARGUS_THROTTLE_USER": "100000/minute",
        "ARGUS_THROTTLE_JOBS": "100000/minute",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    if not args.embedded:
        env |= {"DATABASE_URL": args.database_url, "CELERY_BROKER_URL": args.broker_url, "REDIS_URL": args.redis_url}
    return env


def reset_state(args: argparse.Namespace, var_dir: Path) -> None:
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    if args.embedded:
        return
    from urllib.parse import urlsplit

    import psycopg
    import redis

    url = urlsplit(args.database_url)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    for url in (args.broker_url, args.redis_url):
        redis.Redis.from_url(url).flushdb()


def manage(env: dict[str, str], *argv: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise RuntimeError(f"manage.py {' '.join(argv)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def http(method: str, url: str, body: dict | None = None, token: str = "", timeout: float = 120) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:300]
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        return 0, str(exc)


def wait_until(predicate, *, timeout: float, what: str, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def start_workers(procs: Procs, env: dict[str, str], log_dir: Path, layout: dict[str, str]) -> None:
    for name, queues in layout.items():
        procs.start(
            name,
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--concurrency", "1",
             "-n", f"bench-{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            env,
            log_dir,
        )  # fmt: skip
    for name in layout:
        wait_until(lambda n=name: " ready." in (log_dir / f"{n}.log").read_text(), timeout=180, what=f"{name} worker")


def worker_threads(layout: dict[str, str]) -> dict[str, Any]:
    """torch threads reported by each model worker (the health task, sent to each worker's model queue)."""
    from config.celery import app

    seen = {}
    for name, queues in layout.items():
        queue = next((q for q in queues.split(",") if q in ("interactive", "models")), None)
        if queue:
            health = app.send_task("gpu_workers.tasks.health", queue=queue).get(timeout=300)
            seen[f"{name} ({queues})"] = f"torch {health['torch']}, threads {health['threads']}"
    return seen


def unfinished(kind: str | None = None) -> int:
    from apps.jobs.models import Job, JobStatus

    jobs = Job.objects.exclude(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED])
    return jobs.filter(kind=kind).count() if kind else jobs.count()


def fail_leftovers(reason: str) -> int:
    """Between layouts: the first layout's workers are gone; their unfinished jobs must not run in the next."""
    from django.utils import timezone

    from apps.jobs.models import Job, JobStatus
    from apps.reports.models import ReportStatus, ResearchReport

    ResearchReport.objects.filter(status__in=[ReportStatus.QUEUED, ReportStatus.GENERATING]).update(
        status=ReportStatus.FAILED, error=reason
    )
    return Job.objects.exclude(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).update(
        status=JobStatus.FAILED, error=reason, lease_expires_at=None, finished_at=timezone.now()
    )


def purge_queues() -> None:
    from tests.worker import purge_broker

    purge_broker()


def searches(base: str, token: str, count: int, *, timeout: float) -> tuple[list[float], int]:
    latencies, errors = [], 0
    for i in range(count):
        query = f"{QUERIES[i % len(QUERIES)]} {i}"  # never the same text twice: no cache helps
        start = time.perf_counter()
        status, _body = http("POST", f"{base}/api/search/", {"query": query, "limit": 10}, token, timeout=timeout)
        latencies.append(time.perf_counter() - start)
        errors += status != 200
    return latencies, errors


def load_phase(env, base, admin_token, analyst_token, ticker, *, seed, documents, count, var_dir) -> dict[str, Any]:
    """8 reports generating and a new corpus indexing; search measured once the batch is generating."""
    from apps.jobs.models import Job, JobKind, JobStatus

    manage(
        env, "load_demo_corpus", "--seed", str(seed), "--documents", str(documents), "--out", str(var_dir / f"c{seed}")
    )
    for i in range(8):
        status, body = http(
            "POST", f"{base}/api/reports/", {"ticker": ticker, "question": f"{QUESTIONS[i]} ({seed})"}, analyst_token
        )
        assert status == 202, (status, body)
    wait_until(
        lambda: Job.objects.filter(kind=JobKind.REPORT, status=JobStatus.RUNNING).exists(),
        timeout=300,
        what="the report batch to be claimed",
        interval=0.2,
    )
    latencies, errors = searches(base, analyst_token, count, timeout=90)
    return {
        "latencies": latencies,
        "errors": errors,
        "reports_unfinished_after": unfinished(JobKind.REPORT),
        "ingest_unfinished_after": unfinished(JobKind.INGEST),
    }


def summary_row(label: str, latencies: list[float], errors: int) -> list[Any]:
    return [label, len(latencies), errors, percentile(latencies, 50), percentile(latencies, 95), max(latencies)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer searches and a smaller corpus")
    parser.add_argument("--embedded", action="store_true", help="SQLite + filesystem broker (zero-setup defaults)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/argus_faults")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--skip-old", action="store_true", help="do not run the old single-worker layout")
    args = parser.parse_args()

    n_idle, n_load, n_old = (15, 20, 4) if args.quick else (40, 60, 10)
    setup_docs, load_docs = (24, 24) if args.quick else (80, 80)
    var_dir = BENCH_VAR / ("search_latency_embedded" if args.embedded else "search_latency")
    log_dir = var_dir / "logs"
    reset_state(args, var_dir)
    log_dir.mkdir(parents=True)
    env = bench_env(args, var_dir)
    os.environ.update(env)
    for key in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"} - env.keys():
        os.environ.pop(key, None)

    import django

    t0 = time.perf_counter()
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    manage(env, "prepare_models", "--skip-adapter")
    manage(env, "load_demo_corpus", "--seed", "7", "--documents", str(setup_docs), "--out", str(var_dir / "c7"))
    django.setup()
    from apps.research.models import Company, Document

    procs = Procs()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    new_layout = {"interactive": "interactive", "models": "models", "ingest": "ingest"}
    old_layout = {"models": "interactive,models", "ingest": "ingest"}
    rows, notes = [], []
    try:
        procs.start("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env, log_dir)
        start_workers(procs, env, log_dir, new_layout)
        wait_until(lambda: unfinished() == 0, timeout=1800, what="the set-up corpus to be indexed", interval=2)
        setup_s = time.perf_counter() - t0
        wait_until(lambda: http("GET", f"{base}/api/schema/", timeout=10)[0] in (200, 401), timeout=60, what="web")
        password = os.environ.get("ARGUS_DEMO_PASSWORD", "argus-demo-2026")
        analyst = http("POST", f"{base}/api/auth/token/", {"username": "demo-analyst", "password": password})[1]
        token = analyst["token"]
        ticker = (
            Company.objects.filter(documents__isnull=False).order_by("ticker").values_list("ticker", flat=True).first()
        )
        assert ticker, "no company with documents"
        threads = worker_threads(new_layout)

        searches(base, token, 3, timeout=60)  # warm-up: the interactive worker loads the embedder
        idle, idle_errors = searches(base, token, n_idle, timeout=60)
        rows.append(summary_row("(a) idle, new layout", idle, idle_errors))
        new = load_phase(env, base, "", token, ticker, seed=8, documents=load_docs, count=n_load, var_dir=var_dir)
        rows.append(summary_row("(b) 8 reports + indexing, new layout", new["latencies"], new["errors"]))
        notes.append(
            f"new layout: unfinished after the searches: {new['reports_unfinished_after']} report jobs, "
            f"{new['ingest_unfinished_after']} ingest jobs"
        )

        if not args.skip_old:
            procs.stop(set(new_layout))
            purge_queues()
            fail_leftovers("benchmark: layout switched")
            start_workers(procs, env, log_dir, old_layout)
            threads |= worker_threads(old_layout)
            searches(base, token, 1, timeout=120)  # warm-up of the single model worker
            old = load_phase(env, base, "", token, ticker, seed=9, documents=load_docs, count=n_old, var_dir=var_dir)
            rows.append(summary_row("(c) same load, old layout (1 model worker)", old["latencies"], old["errors"]))
            notes.append(
                f"old layout: unfinished after the searches: {old['reports_unfinished_after']} report jobs, "
                f"{old['ingest_unfinished_after']} ingest jobs"
            )
    finally:
        procs.stop()

    import torch

    print("== Search latency over HTTP (POST /api/search/) ==")
    print(f"  backend: {'embedded (SQLite, filesystem broker)' if args.embedded else args.database_url}")
    print(f"  corpus: {Document.objects.count()} documents; report ticker {ticker}; set-up took {setup_s:.0f}s")
    print(f"  ARGUS_TORCH_THREADS={args.torch_threads}; workers: " + "; ".join(f"{k}: {v}" for k, v in threads.items()))
    print(f"  this process: torch {torch.__version__}, torch.get_num_threads()={torch.get_num_threads()}, "
          f"cpu_count={os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    print()
    print_table(["phase", "searches", "errors", "p50 s", "p95 s", "max s"], rows)
    idle_p95, load_p95 = rows[0][4], rows[1][4]
    print(f"  load/idle p95 (new layout):           {load_p95 / idle_p95:.2f}x")
    if len(rows) > 2:
        print(f"  old/new p95 under the same load:      {rows[2][4] / load_p95:.1f}x")
    print(f"  goal p95 < 1 s under load:            {'met' if load_p95 < 1.0 else 'NOT met'} ({load_p95:.3f} s)")
    for note in notes:
        print(f"  {note}")


if __name__ == "__main__":
    main()
