"""The embedded (zero-setup) broker: kombu's filesystem transport, made safe for many processes.

kombu's own ``filesystem://`` transport creates a message file and then writes it,
and a consumer in another process may take the file in between: the worker then
reads an empty file and dies with ``JSONDecodeError`` (issue 9; seen twice in
about 1,300 API calls, reproduced by ``bench/soak.py``). Its exchange tables are
truncated before they are rewritten, so a publisher can read an empty table too.
And a consumed message lives only in the worker's memory until it is acked, so a
killed worker loses the task it was running, even with ``acks_late``.

This transport keeps kombu's folder layout and file names (``queue_lengths`` in
apps/core/metrics.py still counts them) and changes three things:

* every file is written under a temporary name and ``os.replace``d into place, so
  a reader sees a whole message or none;
* a consumer claims a message by renaming it into ``claim_folder`` under its own
  pid, deletes the claim on ack and renames it back on reject or shutdown; claims
  whose process has died are put back in the queue by the next channel that
  looks, so a SIGKILLed worker's task runs again after the supervisor restarts it;
* a message file that cannot be read or parsed is moved to ``quarantine_folder``
  and logged instead of taking the worker down.

Selected by ``CELERY_BROKER_TRANSPORT`` in config/settings.py for ``filesystem://``;
it is meant for one machine (claims name a local pid).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import filesystem

logger = logging.getLogger(__name__)

# How often a consumer looks for claims left by dead processes, in seconds.
_RECOVER_EVERY = 5.0


def _write_atomically(path: Path, data: bytes) -> None:
    # A name that does not end in ".msg" or ".exchange": no reader ever lists it.
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with temp.open("wb") as f:
        f.write(data)
    temp.replace(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Channel(filesystem.Channel):
    """Filesystem channel with atomic writes, claim files and quarantine."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._claims: dict[str, Path] = {}
        self._noack_queues: set[str] = set()
        self.claim_folder.mkdir(parents=True, exist_ok=True)
        self.quarantine_folder.mkdir(parents=True, exist_ok=True)
        self._next_recovery = 0.0

    # --- folders ---------------------------------------------------------------
    @property
    def claim_folder(self) -> Path:
        return Path(self.transport_options.get("claim_folder", Path(self.data_folder_in).parent / "claimed"))

    @property
    def quarantine_folder(self) -> Path:
        return Path(self.transport_options.get("quarantine_folder", Path(self.data_folder_in).parent / "quarantine"))

    # --- publishing --------------------------------------------------------------
    def _put(self, queue: str, payload: dict, **kwargs: Any) -> None:
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        try:
            _write_atomically(Path(self.data_folder_out) / name, json.dumps(payload).encode())
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add message {name!r} to {self.data_folder_out}") from exc

    # --- exchange tables (written by workers declaring queues, read by every publisher)
    def get_table(self, exchange: str) -> list:
        file = self._exchange_file(exchange)
        try:
            table = json.loads(file.read_text())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot open {file}") from exc
        return [filesystem.exchange_queue_t(*q) for q in table]

    @contextlib.contextmanager
    def _table_lock(self, file: Path):
        with file.with_name(f".{file.name}.lock").open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(file):
            table = self.get_table(exchange)
            if entry not in table:
                _write_atomically(file, json.dumps([entry, *table]).encode())

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any) -> None:
        filesystem.virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        file = self._exchange_file(exchange)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(file):
            table = self.get_table(exchange)
            if entry in table:
                table.remove(entry)
                _write_atomically(file, json.dumps(table).encode())

    # --- consuming ---------------------------------------------------------------
    def _get(self, queue: str) -> dict:
        if time.monotonic() >= self._next_recovery:
            self.recover_orphaned_claims()
        suffix = f".{queue}.msg"
        folder = Path(self.data_folder_in)
        for name in sorted(p.name for p in folder.iterdir()):
            if name.startswith(".") or name.partition(".")[2] != suffix[1:]:
                continue
            claim = self.claim_folder / f"{os.getpid()}-{name}"
            try:
                # rename is atomic: of several consumers, exactly one gets the file.
                (folder / name).rename(claim)
            except OSError:
                continue
            try:
                payload = json.loads(claim.read_bytes())
                tag = payload["properties"]["delivery_tag"]
            except (OSError, ValueError, KeyError, TypeError):
                self._quarantine(claim, name)
                continue
            if queue in self._noack_queues:
                claim.unlink(missing_ok=True)
            else:
                self._claims[tag] = claim
            return payload
        raise Empty()

    def _quarantine(self, claim: Path, name: str) -> None:
        target = self.quarantine_folder / name
        logger.error("unreadable broker message %s moved to %s", name, target, exc_info=True)
        with contextlib.suppress(OSError):
            claim.replace(target)

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any):
        if no_ack:
            self._noack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any):
        message = super().basic_get(queue, no_ack=no_ack, **kwargs)
        if message is not None and no_ack:
            self._drop_claim(message.delivery_tag)
        return message

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple=multiple)
        self._drop_claim(delivery_tag)

    def basic_reject(self, delivery_tag: str, requeue: bool = False) -> None:
        # With requeue, _restore has put the claim back already; without, the message is dropped.
        super().basic_reject(delivery_tag, requeue=requeue)
        self._drop_claim(delivery_tag)

    def _drop_claim(self, delivery_tag: str) -> None:
        claim = self._claims.pop(delivery_tag, None)
        if claim is not None:
            claim.unlink(missing_ok=True)

    def _restore(self, message: Any) -> None:
        """Reject with requeue and shutdown: put the claimed file back, so the message exists exactly once."""
        claim = self._claims.pop(message.delivery_tag, None)
        if claim is not None and claim.exists():
            name = claim.name.partition("-")[2]
            with contextlib.suppress(FileNotFoundError):
                claim.replace(Path(self.data_folder_in) / name)
                return
        super()._restore(message)

    def recover_orphaned_claims(self) -> int:
        """Put back the messages claimed by processes that died before acking them."""
        self._next_recovery = time.monotonic() + _RECOVER_EVERY
        recovered = 0
        for claim in self.claim_folder.iterdir():
            pid, _, name = claim.name.partition("-")
            if not pid.isdigit() or not name.endswith(".msg") or _pid_alive(int(pid)):
                continue
            try:
                claim.rename(Path(self.data_folder_in) / name)
            except OSError:
                continue  # another process recovered it first
            recovered += 1
            logger.warning("requeued broker message %s left by dead process %s", name, pid)
        return recovered


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = filesystem.virtual.BrokerState()
