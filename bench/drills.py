"""Fault drills: faults during a stream of uplinks, and whether ingest stays exact.

Run from the repository root::

    .venv/bin/python bench/drills.py                      # 100,000 uplinks per drill
    .venv/bin/python bench/drills.py --quick              # 3,000 uplinks per drill (~1-2 min)
    .venv/bin/python bench/drills.py --only kill9 --only pg-stop --count 20000

Each drill gets a fresh database and a fresh ``loracity ingest --workers N`` (its own process,
durable PostgreSQL and a mosquitto with persistence, both started by the script), publishes a
stream of simple TTN v3 uplinks at ``--rate`` per second with QoS 1 and, at 30 % of the
stream, does one of:

- ``kill9``: ``kill -9`` of worker 0; the supervisor starts it again;
- ``pg-stop``: PostgreSQL stopped for ``--outage`` seconds (10) and started;
- ``broker-restart``: the broker stopped and started (persistence on);
- ``malformed``: no fault, but one malformed message (bad JSON, wrong types, oversize, unknown
  format, in turn) mixed in after every ten uplinks;
- ``duplicates``: no fault, but the network server publishes every uplink twice.

For each it prints expected and stored uplinks, duplicates counted, dead letters by reason and
the time to recover (fault over → the stored count grows again), and exits 1 when any drill is
not exact: every uplink stored once, every malformed message dead-lettered with its reason, the
duplicates of the ``duplicates`` drill counted, and ingest storing again after the fault.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path; the packages come from the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import os
import re
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
import psycopg
from _servers import IngestProcess, IngestTotals, Servers, fresh_database, start_servers
from _traffic import simple_stream

from lorawan.topics import DEFAULT_TOPICS
from simulators.publisher import MqttPublisher

Message = tuple[str, bytes]
DRILLS = ("kill9", "pg-stop", "broker-restart", "malformed", "duplicates")
RAW_FILTER = "loracity-drill/raw/#"  # a topic with no known format: unknown_format
MAX_MESSAGE_BYTES = 65_536


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def malformed_messages(*, count: int, template: Message) -> tuple[list[Message], Counter[str]]:
    """``count`` malformed messages, the four kinds in turn, and the dead-letter reasons due."""
    topic, payload = template
    wrong = orjson.loads(payload)
    wrong["uplink_message"]["f_cnt"] = "not a number"
    kinds: list[tuple[Message, str]] = [
        ((topic, b'{"end_device_ids": {"dev_eui": '), "not_json"),
        ((topic, orjson.dumps(wrong)), "invalid_envelope"),
        ((topic, b'{"pad": "' + b"x" * MAX_MESSAGE_BYTES + b'"}'), "oversized"),
        (("loracity-drill/raw/sensor", orjson.dumps({"hello": "world"})), "unknown_format"),
    ]
    messages: list[Message] = []
    reasons: Counter[str] = Counter()
    for i in range(count):
        message, reason = kinds[i % len(kinds)]
        messages.append(message)
        reasons[reason] += 1
    return messages, reasons


@dataclass(kw_only=True)
class DrillResult:
    """What one drill found."""

    name: str
    expected: int
    stored: int = 0
    distinct: int = 0
    duplicates: int = 0
    expected_duplicates: int | None = None  # None: any number (redeliveries after a fault)
    dead_letters: Counter[str] = field(default_factory=Counter)
    expected_dead_letters: Counter[str] = field(default_factory=Counter)
    recover_s: float | None = None
    fault: bool = True
    exit_status: int | None = None
    problems: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Fill ``problems`` with every way the drill was not exact."""
        if self.stored != self.expected or self.distinct != self.expected:
            self.problems.append(
                f"stored {self.stored:,} ({self.distinct:,} distinct), expected {self.expected:,}"
            )
        if self.expected_duplicates is not None and self.duplicates != self.expected_duplicates:
            self.problems.append(
                f"{self.duplicates:,} duplicates counted, expected {self.expected_duplicates:,}"
            )
        if self.dead_letters != self.expected_dead_letters:
            self.problems.append(
                f"dead letters {dict(self.dead_letters)}, expected"
                f" {dict(self.expected_dead_letters)}"
            )
        if self.fault and self.recover_s is None:
            self.problems.append("ingest did not store anything after the fault")
        if self.exit_status != 0:
            self.problems.append(f"ingest exited with {self.exit_status} on SIGTERM")


class _Publisher(threading.Thread):
    """Publishes the stream at a fixed rate with QoS 1, counting what was handed over."""

    def __init__(self, *, mqtt_url: str, messages: Sequence[Message], rate: float) -> None:
        super().__init__(daemon=True)
        self.mqtt_url, self.messages, self.rate = mqtt_url, messages, rate
        self.published = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with MqttPublisher(url=self.mqtt_url, window=100, outage_timeout=120) as publisher:
                start = time.monotonic()
                for i, (topic, payload) in enumerate(self.messages):
                    delay = start + i / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    publisher.publish(topic=topic, payload=payload)
                    self.published += 1
                publisher.flush()
        except BaseException as exc:  # reported by the drill
            self.error = exc


def _count(database_url: str) -> int | None:
    try:
        with psycopg.connect(database_url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM uplinks").fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return None  # the database is down (the pg-stop drill)


def _worker_pid(log: str, index: int) -> int:
    found = re.findall(rf"worker {index} started \(pid (\d+)", log)
    if not found:
        raise RuntimeError(f"no worker {index} in the ingest log:\n{log[-3000:]}")
    return int(found[-1])


def run_drill(
    *, name: str, servers: Servers, workdir: Path, args: argparse.Namespace, stream: list[Message]
) -> DrillResult:
    """One drill on a fresh database and a fresh ingest."""
    database_url = fresh_database(server=servers.postgres, purpose=name.replace("-", "_"))
    messages: list[Message] = list(stream)
    result = DrillResult(name=name, expected=len(stream))
    if name == "malformed":
        bad, reasons = malformed_messages(count=max(1, len(stream) // 10), template=stream[0])
        mixed: list[Message] = []
        for i, message in enumerate(stream):
            mixed.append(message)
            if i % 10 == 9 and (i // 10) < len(bad):
                mixed.append(bad[i // 10])
        messages = mixed
        result.expected_dead_letters = reasons
        result.fault = False
    elif name == "duplicates":
        messages = [m for m in stream for _ in (0, 1)]
        result.expected_duplicates = len(stream)
        result.fault = False
    else:
        result.expected_duplicates = None
    ingest = IngestProcess(
        database_url=database_url,
        mqtt_url=servers.broker.url,
        client_id=f"drill-{name}-{uuid.uuid4().hex[:6]}",
        protocol="auto" if servers.broker.mqtt5 else "3.1.1",
        batch_size=5_000,
        max_delay_ms=20,
        workdir=workdir,
        workers=args.workers,
        extra_env={
            "LORACITY_MQTT_TOPICS": ",".join((*DEFAULT_TOPICS, RAW_FILTER)),
            "LORACITY_METRICS_PORT": "0",
        },
    )
    publisher = _Publisher(mqtt_url=servers.broker.url, messages=messages, rate=args.rate)
    try:
        ingest.start()
        ingest.wait_subscribed(timeout=120)
        publisher.start()
        fault_at = int(len(messages) * 0.3)
        while publisher.published < fault_at and publisher.is_alive():
            time.sleep(0.02)
        fault_over = time.monotonic()
        before = _count(database_url) or 0
        subscribed = ingest.log_text().count("subscribed to")
        if name == "kill9":
            os.kill(_worker_pid(ingest.log_text(), 0), signal.SIGKILL)
            fault_over = time.monotonic()
        elif name == "pg-stop":
            servers.postgres.stop()
            time.sleep(args.outage)
            servers.postgres.start()
            fault_over = time.monotonic()
            before = _count(database_url) or 0
        elif name == "broker-restart":
            servers.broker.stop()
            servers.broker.start()
            fault_over = time.monotonic()
            before = _count(database_url) or 0
        deadline = time.monotonic() + 60 + len(messages) / 500
        stored = before
        while time.monotonic() < deadline:
            now_count = _count(database_url)
            if name == "kill9":
                # The other worker goes on storing; recovered is the killed one back at work.
                if (
                    result.recover_s is None
                    and ingest.log_text().count("subscribed to") > subscribed
                ):
                    result.recover_s = time.monotonic() - fault_over
            elif now_count is not None and result.recover_s is None and now_count > before:
                result.recover_s = time.monotonic() - fault_over
            if now_count is not None:
                stored = now_count
                if stored >= result.expected and not publisher.is_alive():
                    break
            time.sleep(0.1)
        publisher.join(30)
        if publisher.error is not None:
            result.problems.append(f"publishing failed: {publisher.error}")
        totals = _stop(ingest, result)
        result.duplicates = totals.duplicates if totals else 0
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT (dev_eui, f_cnt)) FROM uplinks"
            ).fetchone()
            assert row is not None
            result.stored, result.distinct = int(row[0]), int(row[1])
            result.dead_letters = Counter(
                {
                    str(r[0]): int(r[1])
                    for r in conn.execute(
                        "SELECT reason, count(*) FROM dead_letters GROUP BY reason"
                    )
                }
            )
    finally:
        ingest.close()
    result.check()
    return result


def _stop(ingest: IngestProcess, result: DrillResult) -> IngestTotals | None:
    try:
        totals = ingest.stop(timeout=120)
    except RuntimeError as exc:
        result.exit_status = -1
        result.problems.append(str(exc).splitlines()[0])
        return None
    result.exit_status = 0
    return totals


def report(results: Sequence[DrillResult], *, args: argparse.Namespace, load: float) -> str:
    """The table, one row per drill."""
    lines = [
        f"loracity ingest drills: {args.count:,} uplinks per drill at {args.rate:,.0f}/s,"
        f" --workers {args.workers}, {os.cpu_count()} cores, 1-min load average {load:.1f}"
        " at the start",
        "",
        f"{'drill':<15}{'expected':>9}{'stored':>9}{'dups':>7}  {'recover':>8}  dead letters"
        " by reason (expected)   exact",
    ]
    for r in results:
        dead = ", ".join(f"{k} {v:,}" for k, v in sorted(r.dead_letters.items())) or "none"
        want = ", ".join(f"{k} {v:,}" for k, v in sorted(r.expected_dead_letters.items()))
        recover = f"{r.recover_s:.1f} s" if r.recover_s is not None else "—"
        lines.append(
            f"{r.name:<15}{r.expected:>9,}{r.stored:>9,}{r.duplicates:>7,}  "
            f"{recover:>8}  {dead}{f' ({want})' if want else ''}   "
            f"{'yes' if not r.problems else 'NO'}"
        )
    for r in results:
        lines.extend(f"PROBLEM {r.name}: {p}" for p in r.problems)
    return "\n".join(lines)


def parse_args(*, argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description="Fault drills during a stream of uplinks.")
    parser.add_argument(
        "--count", type=int, default=100_000, help="uplinks per drill (default 100,000)"
    )
    parser.add_argument(
        "--rate", type=float, default=5_000.0, help="messages published per second (default 5,000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="ingest workers (default 2)")
    parser.add_argument(
        "--outage",
        type=float,
        default=10.0,
        help="seconds PostgreSQL stays down in pg-stop (default 10)",
    )
    parser.add_argument(
        "--only", action="append", choices=DRILLS, help="run only this drill (repeatable)"
    )
    parser.add_argument("--quick", action="store_true", help="3,000 uplinks per drill at 1,000/s")
    parser.add_argument(
        "--rungs",
        default="local,embedded",
        help="server ladder rungs to try (default local,embedded)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.rate = 3_000, 1_000.0
    if args.count < 10 or args.rate <= 0 or args.workers < 1:
        parser.error("--count must be at least 10, --rate and --workers positive")
    return args


def main(
    *, argv: Sequence[str] | None = None, on_result: Callable[[DrillResult], None] | None = None
) -> int:
    """Run the drills and print the table; 1 when any drill was not exact."""
    args = parse_args(argv=argv)
    load = os.getloadavg()[0]
    stream = simple_stream(count=args.count, devices=min(args.count, 1_000))
    rungs = [r.strip() for r in args.rungs.split(",") if r.strip()]
    results: list[DrillResult] = []
    with (
        start_servers(rungs=rungs, log=lambda line: _say(f"  {line}")) as servers,
        tempfile.TemporaryDirectory(prefix="loracity-drills-") as workdir,
    ):
        for name in args.only or DRILLS:
            if name == "broker-restart" and not servers.broker.durable_sessions:
                _say(
                    f"skipping {name}: the {servers.broker.origin} broker keeps no sessions"
                    " across a restart"
                )
                continue
            if name == "kill9" and not servers.broker.shared_subscriptions and args.workers > 1:
                _say(f"skipping {name}: the broker has no shared subscriptions")
                continue
            _say(f"drill {name}: {args.count:,} uplinks at {args.rate:,.0f}/s")
            result = run_drill(
                name=name, servers=servers, workdir=Path(workdir), args=args, stream=stream
            )
            results.append(result)
            if on_result is not None:
                on_result(result)
    print(report(results, args=args, load=load), flush=True)
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
