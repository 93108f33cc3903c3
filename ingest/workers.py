"""``loracity ingest --workers N``: N ingest processes on one MQTT shared subscription.

The broker splits the stream between the workers (``$share/<group>/<filter>``); each worker is
an ordinary single-process ``loracity ingest`` with its own client id and persistent session, so
nothing home-made sits between them and exactly-once storage stays the database's unique frame
key. This module only supervises them:

- worker ``i`` gets the client id ``<client_id>-w<i>`` (stable across restarts, so its
  persistent session and the messages the broker holds for it survive a restart) and serves its
  metrics and health on ``metrics_port + i`` (one port per worker; 0 keeps them off);
- a worker that dies is started again after a back-off (1 s, doubling up to 30 s; back to 1 s
  once a worker has run for a minute) and the death is logged;
- SIGTERM/SIGINT is passed to every worker, which flushes, acknowledges and exits 0; the
  supervisor exits 0 when all did;
- a worker that ends with :data:`CONFIG_ERROR_EXIT` found a configuration no restart can fix
  (e.g. refused credentials): the others are stopped and its one-line reason is repeated last.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

log = logging.getLogger(__name__)

#: Exit status of a worker whose configuration cannot work; the supervisor gives up on it.
CONFIG_ERROR_EXIT = 3
#: Set in a worker's environment: its index (also tells the CLI it runs under a supervisor).
WORKER_INDEX_ENV = "LORACITY_INGEST_WORKER_INDEX"
#: The shared-subscription group used when N > 1 and the user named none.
DEFAULT_SHARED_GROUP = "loracity-ingest"

_BACKOFF_FIRST_S = 1.0
_BACKOFF_MAX_S = 30.0
_HEALTHY_AFTER_S = 60.0
_POLL_S = 0.2


def default_worker_count() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_client_id(*, client_id: str, index: int) -> str:
    """The stable MQTT client id of worker ``index``."""
    return f"{client_id}-w{index}"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerPlan:
    """How to start each worker: the command and the settings that differ between them."""

    count: int
    client_id: str
    shared_group: str
    metrics_port: int  # 0: no metrics endpoint
    command: Sequence[str]
    base_env: Mapping[str, str]

    def env(self, index: int) -> dict[str, str]:
        """The environment of worker ``index``: ``base_env`` with its own settings."""
        return {
            **self.base_env,
            "LORACITY_MQTT_CLIENT_ID": worker_client_id(client_id=self.client_id, index=index),
            "LORACITY_MQTT_SHARED_GROUP": self.shared_group,
            "LORACITY_METRICS_PORT": str(self.metrics_port + index if self.metrics_port else 0),
            "LORACITY_INGEST_WORKERS": "1",
            WORKER_INDEX_ENV: str(index),
        }


@dataclass(slots=True)
class _Worker:
    index: int
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff_s: float = _BACKOFF_FIRST_S
    restarts: int = 0
    last_error: str | None = None
    pump: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Starts the workers of a :class:`WorkerPlan`, restarts the ones that die, stops all."""

    def __init__(
        self, *, plan: WorkerPlan, stop_timeout_s: float = 60.0, stderr: IO[str] | None = None
    ) -> None:
        self.plan = plan
        self.stop_timeout_s = stop_timeout_s
        self._stderr = stderr if stderr is not None else sys.stderr
        self._out_lock = threading.Lock()
        self._workers = [_Worker(index=i) for i in range(plan.count)]
        self.fatal: str | None = None

    @property
    def restarts(self) -> int:
        """How many times a worker was started again after it died."""
        return sum(w.restarts for w in self._workers)

    def pids(self) -> list[int | None]:
        """The process id of each worker (``None`` while one waits to be restarted)."""
        return [w.proc.pid if w.proc is not None else None for w in self._workers]

    def run(self, *, stop: threading.Event) -> int:
        """Supervise until ``stop`` is set or a worker reports a configuration error; returns
        the exit status for the command: 0 when every worker stopped cleanly, else 1."""
        for worker in self._workers:
            self._start(worker)
        while not stop.wait(_POLL_S):
            now = time.monotonic()
            for worker in self._workers:
                if worker.proc is not None and worker.proc.poll() is not None:
                    self._died(worker, now=now)
                    if self.fatal is not None:
                        break
                elif worker.restart_at is not None and now >= worker.restart_at:
                    worker.restarts += 1
                    self._start(worker)
            if self.fatal is not None:
                break
        return self._stop_all()

    def _start(self, worker: _Worker) -> None:
        worker.proc = subprocess.Popen(
            list(self.plan.command),
            env=self.plan.env(worker.index),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        worker.started_at = time.monotonic()
        worker.restart_at = None
        worker.last_error = None
        # The worker's log goes through us so that its last "loracity: ..." line (the reason it
        # gave up) can be repeated when the whole command ends because of it.
        worker.pump = threading.Thread(
            target=self._pump,
            args=(worker, worker.proc),
            name=f"ingest-w{worker.index}-log",
            daemon=True,
        )
        worker.pump.start()
        log.info(
            "worker %d started (pid %d, client id %s)",
            worker.index,
            worker.proc.pid,
            worker_client_id(client_id=self.plan.client_id, index=worker.index),
        )

    def _pump(self, worker: _Worker, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            if line.startswith("loracity: "):
                worker.last_error = line.strip()
            with self._out_lock:
                self._stderr.write(line)
                self._stderr.flush()

    def _died(self, worker: _Worker, *, now: float) -> None:
        proc = worker.proc
        assert proc is not None
        status = proc.returncode
        if worker.pump is not None:
            worker.pump.join(5)
        worker.proc = None
        if status == CONFIG_ERROR_EXIT:
            self.fatal = (
                worker.last_error or f"worker {worker.index} cannot work with the configuration"
            )
            log.error(
                "worker %d stopped on a configuration error; stopping the others", worker.index
            )
            return
        if now - worker.started_at >= _HEALTHY_AFTER_S:
            worker.backoff_s = _BACKOFF_FIRST_S
        how = (
            f"was killed by {signal.Signals(-status).name}"
            if status < 0
            else f"exited with status {status}"
        )
        log.warning(
            "worker %d (pid %d) %s after %.1fs; restarting it in %.0fs",
            worker.index,
            proc.pid,
            how,
            now - worker.started_at,
            worker.backoff_s,
        )
        worker.restart_at = now + worker.backoff_s
        worker.backoff_s = min(worker.backoff_s * 2, _BACKOFF_MAX_S)

    def _stop_all(self) -> int:
        running = [w for w in self._workers if w.proc is not None]
        log.info("stopping %d workers", len(running))
        for worker in running:
            assert worker.proc is not None
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        clean = self.fatal is None
        for worker in running:
            proc = worker.proc
            assert proc is not None
            try:
                status = proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error(
                    "worker %d did not stop within %.0fs; killing it",
                    worker.index,
                    self.stop_timeout_s,
                )
                proc.kill()
                status = proc.wait()
            if worker.pump is not None:
                worker.pump.join(5)
            if status != 0:
                clean = False
                log.error("worker %d exited with status %d", worker.index, status)
            worker.proc = None
        log.info("all workers stopped (%d restarts)", self.restarts)
        return 0 if clean else 1


def stop_when_orphaned(*, stop: threading.Event, interval_s: float = 1.0) -> None:
    """In a worker: set ``stop`` (flush, acknowledge, exit) when the supervisor is gone, e.g.
    killed with -9, so no worker runs on unsupervised."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.wait(interval_s):
            if os.getppid() != parent:
                log.warning("the supervisor (pid %d) is gone; stopping", parent)
                stop.set()

    threading.Thread(target=watch, name="ingest-orphan-watch", daemon=True).start()
