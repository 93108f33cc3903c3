"""Run a scenario against an MQTT broker: real time, accelerated, load, or backfill.

- real time (``speed=1``) and accelerated (``speed=60``): messages are published when their
  time comes; scenario time runs ``speed`` times faster than the clock, and messages carry
  the clock time at which they are sent, so dashboards show them live.
- load (``rate=N``): N messages per second, scenario time sped up so devices keep their mix.
- backfill: historical times from ``start`` to ``end``, published as fast as the broker
  acknowledges them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simulators.generator import Simulation
from simulators.loading import Scenario, load_scenario
from simulators.messages import SimMessage
from simulators.publisher import MqttPublisher, Publisher
from simulators.report import ReportBuilder, SimulationReport
from simulators.scenario import Faults, NetworkFormat
from simulators.timefmt import NS, to_ns

_RATE_SAMPLE = timedelta(hours=1)
_PROGRESS_EVERY = 0.2  # seconds between progress callbacks


@dataclass(slots=True, frozen=True)
class Progress:
    """How far a run has got: published messages and the stamped time reached."""

    published: int
    time_ns: int
    start_ns: int
    end_ns: int | None

    @property
    def fraction(self) -> float | None:
        """Return the share of the time range covered, when the range is bounded."""
        if self.end_ns is None or self.end_ns <= self.start_ns:
            return None
        return min(1.0, max(0.0, (self.time_ns - self.start_ns) / (self.end_ns - self.start_ns)))


ProgressCallback = Callable[[Progress], None]


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(source=scenario)


def estimate_rate(*, scenario: Scenario, start: datetime, seed: int = 0) -> float:
    """Return the scenario's natural uplinks per second over the hour after ``start``."""
    simulation = Simulation(scenario=scenario, start=start, seed=seed)
    count = sum(1 for _ in simulation.messages(end=start + _RATE_SAMPLE))
    return max(count / _RATE_SAMPLE.total_seconds(), 1e-6)


def run_scenario(
    *,
    scenario: Scenario | str | Path,
    mqtt_url: str,
    seed: int = 0,
    speed: float = 1.0,
    rate: float | None = None,
    start: datetime | None = None,
    duration: timedelta | None = None,
    count: int | None = None,
    format: NetworkFormat | None = None,
    faults: Faults | None = None,
    window: int = 100,
    topic_prefix: str = "",
    stop: threading.Event | None = None,
    on_message: Callable[[SimMessage], None] | None = None,
    publisher: Publisher | None = None,
) -> SimulationReport:
    """Publish a scenario's traffic as it happens (real time, ``speed`` or ``rate``).

    Stops after ``duration`` (clock time), ``count`` messages, or when ``stop`` is set,
    whichever comes first (with none of them it runs until ``stop``). ``start`` is the time
    the first messages carry (default: now); ``topic_prefix`` goes in front of every topic.
    Raises ``PublisherError`` when the broker cannot be reached.
    """
    loaded = _scenario(scenario)
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    if speed <= 0:
        raise ValueError("speed must be positive")
    now = datetime.now(UTC)
    begin = start or now
    if rate is not None:
        speed = rate / estimate_rate(scenario=loaded, start=begin, seed=seed)
    simulation = Simulation(
        scenario=loaded,
        start=begin,
        seed=seed,
        speed=speed,
        format=format,
        faults=faults,
        topic_prefix=topic_prefix,
    )
    end = begin + duration if duration is not None else None
    messages = simulation.messages(end=end)
    start_ns = to_ns(moment=begin)
    wall_start = time.monotonic()
    stop = stop or threading.Event()

    end_ns = to_ns(moment=end) if end is not None else None

    def due(index: int, message: SimMessage) -> float:
        if rate is not None:
            return wall_start + index / rate
        deliver = message.deliver_ns
        if end_ns is not None and deliver > end_ns:
            deliver = end_ns  # late deliveries held past the end go out at once
        return wall_start + (deliver - start_ns) / NS

    return _publish(
        simulation=simulation,
        messages=messages,
        mqtt_url=mqtt_url,
        window=window,
        count=count,
        due=due,
        stop=stop,
        on_message=on_message,
        on_progress=None,
        end_ns=end_ns,
        publisher=publisher,
    )


def publish_live(
    *,
    simulation: Simulation,
    messages: Iterator[SimMessage],
    mqtt_url: str,
    stop: threading.Event,
    window: int = 100,
) -> SimulationReport:
    """Publish ``messages`` of a running ``simulation`` (speed 1) when the clock reaches the
    time they carry: how the demo continues the history it wrote from the same model state."""

    def due(_index: int, message: SimMessage) -> float:
        return time.monotonic() + (message.deliver_ns - time.time_ns()) / NS

    return _publish(
        simulation=simulation,
        messages=messages,
        mqtt_url=mqtt_url,
        window=window,
        count=None,
        due=due,
        stop=stop,
        on_message=None,
        on_progress=None,
        end_ns=None,
        publisher=None,
    )


def backfill_scenario(
    *,
    scenario: Scenario | str | Path,
    mqtt_url: str,
    start: datetime | None = None,
    end: datetime | None = None,
    days: float = 1.0,
    seed: int = 0,
    count: int | None = None,
    format: NetworkFormat | None = None,
    faults: Faults | None = None,
    window: int = 100,
    topic_prefix: str = "",
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    publisher: Publisher | None = None,
) -> SimulationReport:
    """Publish history from ``start`` to ``end`` (default: the ``days`` before now) as fast as
    the broker acknowledges it."""
    loaded = _scenario(scenario)
    finish = end or datetime.now(UTC)
    begin = start or finish - timedelta(days=days)
    if begin >= finish:
        raise ValueError("the backfill start must be before its end")
    simulation = Simulation(
        scenario=loaded,
        start=begin,
        seed=seed,
        format=format,
        faults=faults,
        topic_prefix=topic_prefix,
    )
    return _publish(
        simulation=simulation,
        messages=simulation.messages(end=finish),
        mqtt_url=mqtt_url,
        window=window,
        count=count,
        due=None,
        stop=stop or threading.Event(),
        on_message=None,
        on_progress=on_progress,
        end_ns=to_ns(moment=finish),
        publisher=publisher,
    )


def _publish(
    *,
    simulation: Simulation,
    messages: Iterator[SimMessage],
    mqtt_url: str,
    window: int,
    count: int | None,
    due: Callable[[int, SimMessage], float] | None,
    stop: threading.Event,
    on_message: Callable[[SimMessage], None] | None,
    on_progress: ProgressCallback | None,
    end_ns: int | None,
    publisher: Publisher | None,
) -> SimulationReport:
    builder = ReportBuilder(
        scenario=simulation.scenario.name,
        seed=simulation.seed,
        started_at=datetime.now(UTC),
        dev_euis=simulation.devices(),
        device_types=simulation.device_types(),
    )
    own = publisher is None
    if publisher is None:
        mqtt_publisher = MqttPublisher(url=mqtt_url, window=window)
        mqtt_publisher.connect()
        publisher = mqtt_publisher
    published = 0
    next_progress = time.monotonic()
    try:
        for message in messages:
            if count is not None and published >= count:
                break
            if due is not None:
                delay = due(published, message) - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
            if stop.is_set():
                break
            publisher.publish(topic=message.topic, payload=message.payload)
            builder.record(message)
            published += 1
            if on_message is not None:
                on_message(message)
            if on_progress is not None and time.monotonic() >= next_progress:
                next_progress = time.monotonic() + _PROGRESS_EVERY
                on_progress(_progress(simulation, published, message, end_ns))
        publisher.flush()
    finally:
        if own:
            publisher.close()
    if on_progress is not None:
        on_progress(
            Progress(
                published=published,
                time_ns=end_ns or builder.last_ns or simulation.start_ns,
                start_ns=simulation.start_ns,
                end_ns=end_ns,
            )
        )
    return builder.finish(
        tallies=simulation.tallies,
        finished_at=datetime.now(UTC),
        acknowledged=publisher.acknowledged,
    )


def _progress(
    simulation: Simulation, published: int, message: SimMessage, end_ns: int | None
) -> Progress:
    return Progress(
        published=published,
        time_ns=message.time_ns,
        start_ns=simulation.start_ns,
        end_ns=end_ns,
    )
