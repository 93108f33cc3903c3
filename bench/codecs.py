"""Decodes per second: loracity's native codecs next to JavaScript codecs on the same frames.

Run from the repository root::

    .venv/bin/python bench/codecs.py [--seconds 1.0] [--repeats 3] [--only TYPE ...]

For every native device type (:func:`lorawan.codecs.native.native_codecs`) the codec's own
encoder builds one typical periodic uplink from :data:`SAMPLES`; the frame must decode back to
the same values without warnings, or the run stops. Each codec's ``decode`` is then timed on
that frame.

For a subset of device types, ``bench/js/<type>.js`` holds a small TS013 ``decodeUplink`` codec
written for this benchmark. It runs through :class:`lorawan.codecs.javascript.JavaScriptCodec`,
the V8 sandbox loracity uses for user-supplied codecs, so a JavaScript decode costs what it
costs in ingest (the Python/V8 round trip, JSON conversion, field map) and not only the
JavaScript itself. Before timing, the JavaScript output must equal the native fields and every
JavaScript measurement must be one the native codec produced too; otherwise the run stops, so
the two columns always compare the same work.

Timing: ``time.perf_counter`` around a loop of decodes, after a warm-up; each figure is the
median of ``--repeats`` runs. The figures hold for this run on this machine only.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from lorawan.codecs.base import Codec, DecodeResult, EncodeResult
from lorawan.codecs.javascript import JavaScriptCodec
from lorawan.codecs.native import native_codecs

JS_DIR = Path(__file__).resolve().parent / "js"

_AMBIENCE = {
    "battery": 87,
    "temperature": 22.4,
    "humidity": 41.5,
    "pir": "idle",
    "light_level": 3,
    "co2": 612,
    "tvoc_iaq": 1.05,
    "pressure": 1009.8,
}
_LHT65 = {
    "battery_voltage": 3.05,
    "battery_state": "good",
    "temperature": 21.37,
    "relative_humidity": 48.2,
    "status_flags": 0,
    "external_sensor": "e1_temperature",
    "external_temperature": 19.56,
}

#: One typical periodic uplink per device type, as the values its codec's ``encode`` takes.
SAMPLES: Mapping[str, Mapping[str, Any]] = {
    "paxcounter-plain": {"wifi": 87, "ble": 143},
    "paxcounter-packed": {"wifi": 87, "ble": 143},
    "milesight-vs133": {
        "line_1_total_in": 15734,
        "line_1_total_out": 15519,
        "line_2_total_in": 8210,
        "line_2_total_out": 8377,
        "line_1_period_in": 42,
        "line_1_period_out": 37,
        "line_2_period_in": 18,
        "line_2_period_out": 23,
    },
    "milesight-vs121": {
        "people_count_all": 7,
        "region_occupied": [True, False, True, True],
        "people_in": 12,
        "people_out": 9,
    },
    "milesight-am307": _AMBIENCE,
    "milesight-am308": {**_AMBIENCE, "pm2_5": 9, "pm10": 14},
    "milesight-am319": {**_AMBIENCE, "pm2_5": 9, "pm10": 14, "hcho": 0.03},
    "milesight-em500": {"battery": 95, "temperature": 18.3, "co2": 587, "pressure": 1012.4},
    "milesight-em500-co2": {
        "battery": 95,
        "temperature": 18.3,
        "humidity": 56.0,
        "co2": 587,
        "pressure": 1012.4,
    },
    "milesight-em500-lgt": {"battery": 93, "illumination": 5230},
    "milesight-em500-pp": {"battery": 90, "pipe_pressure": 412},
    "milesight-em500-pt100": {"battery": 91, "temperature": 64.2},
    "milesight-em500-smt": {"battery": 88, "temperature": 14.6, "moisture": 31.27, "ec": 412},
    "milesight-em500-swl": {"battery": 86, "depth": 142},
    "milesight-em500-udl": {"battery": 92, "distance": 1873},
    "cayenne-lpp": {
        "temperature_1": 21.3,
        "relative_humidity_2": 45.5,
        "barometric_pressure_3": 1013.2,
        "luminosity_4": 320,
        "analog_in_5": 3.61,
    },
    "imbuildings-people-counter": {
        "payload_variant": 7,
        "device_id": "0004a30b00f0d40e",
        "sensor_status": 0,
        "people_in_total": 1234,
        "people_out_total": 1201,
    },
    "dragino-lht65": _LHT65,
    "dragino-lht65n": _LHT65,
    "dragino-ldds75": {
        "battery_voltage": 3.387,
        "distance_mm": 1820,
        "interrupt_triggered": False,
        "probe_temperature": 0.0,
        "sensor_detected": True,
    },
    "dragino-lgt92": {
        "latitude": 52.520008,
        "longitude": 13.404954,
        "position_status": "fix",
        "alarm": False,
        "battery_voltage": 3.912,
        "motion_mode": "move",
        "led_on": False,
        "firmware_revision": 6,
        "roll": 1.25,
        "pitch": -0.5,
    },
    "elsys-ers": {
        "temperature": 22.6,
        "humidity": 41,
        "light": 39,
        "motion": 6,
        "co2": 776,
        "battery_voltage": 3.615,
    },
    "nwave-parking": {
        "type": "parking_status",
        "occupied": True,
        "previous_state_minutes": 74,
        "previous_state_error_minutes": 0,
        "previous_state_overflow": False,
    },
    "bosch-parking": {"type": "parking_status", "occupied": True},
}

#: Device types with a JavaScript codec in ``bench/js/<type>.js``, and its field map (output
#: field → quantity), so the sandbox turns fields into measurements as the native codec does.
JS_FIELD_MAPS: Mapping[str, Mapping[str, Any]] = {
    "paxcounter-plain": {"wifi": "wifi_devices", "ble": "ble_devices"},
    "milesight-am308": {
        "battery": "battery",
        "temperature": "temperature",
        "humidity": "relative_humidity",
        "co2": "co2",
        "pressure": "pressure",
        "pm2_5": "pm2_5",
        "pm10": "pm10",
    },
    "imbuildings-people-counter": {
        "battery_voltage": "battery_voltage",
        "people_in": "people_in",
        "people_out": "people_out",
        "people_in_total": "people_in_total",
        "people_out_total": "people_out_total",
    },
    "cayenne-lpp": {
        "temperature_1": {"quantity": "temperature", "channel": 1},
        "relative_humidity_2": {"quantity": "relative_humidity", "channel": 2},
        "barometric_pressure_3": {"quantity": "pressure", "channel": 3},
        "luminosity_4": {"quantity": "illuminance", "channel": 4},
    },
    "dragino-lht65": {
        "battery_voltage": "battery_voltage",
        "temperature": "temperature",
        "relative_humidity": "relative_humidity",
        "external_temperature": {"quantity": "temperature", "channel": 1},
    },
}


_EMPTY_CODEC = "function decodeUplink(input) { return { data: { size: input.bytes.length } }; }"
_EMPTY_PAYLOAD = bytes(11)


class BenchError(Exception):
    """The benchmark cannot give an honest figure (a sample or a JavaScript codec is off)."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Decodes per second (median over ``repeats`` runs of ``iterations`` decodes each)."""

    rate: float
    iterations: int
    repeats: int


@dataclass(frozen=True, slots=True)
class Row:
    """One device type's figures; ``javascript`` is ``None`` without a JavaScript codec."""

    device_type: str
    frame: EncodeResult
    native: Timing
    javascript: Timing | None


def sample_frame(*, codec: Codec) -> EncodeResult:
    """Encode the device type's sample and check that it decodes back unchanged.

    Raises :class:`BenchError` when there is no sample or the round trip changes anything.
    """
    values = SAMPLES.get(codec.name)
    if values is None:
        raise BenchError(f"{codec.name}: no sample in bench/codecs.py SAMPLES; add one")
    frame = codec.encode(values=values)
    decoded = codec.decode(payload=frame.payload, f_port=frame.f_port)
    if decoded.fields != values or decoded.warnings:
        raise BenchError(
            f"{codec.name}: sample frame {frame.payload.hex()} decodes to {decoded.fields!r}"
            f" (warnings {decoded.warnings!r}), not {dict(values)!r}"
        )
    return frame


def check_agreement(*, device_type: str, native: DecodeResult, javascript: DecodeResult) -> None:
    """Make sure both codecs made the same of one frame.

    The fields must be equal (numbers within a relative 1e-9) and every JavaScript measurement
    must be a native one; measurements the native codec derives from words (``pir: "trigger"``
    becoming ``motion``) have no place in a field map, so the reverse is not required. Raises
    :class:`BenchError` otherwise.
    """
    if javascript.warnings:
        raise BenchError(f"{device_type}: the JavaScript codec warned {javascript.warnings!r}")
    if not _same(native.fields, javascript.fields):
        raise BenchError(
            f"{device_type}: JavaScript fields {javascript.fields!r}"
            f" differ from native fields {native.fields!r}"
        )
    if not javascript.measurements:
        raise BenchError(f"{device_type}: the JavaScript codec produced no measurements")
    for measurement in javascript.measurements:
        if not any(
            theirs.quantity == measurement.quantity
            and theirs.channel == measurement.channel
            and _same(theirs.value, measurement.value)
            for theirs in native.measurements
        ):
            raise BenchError(
                f"{device_type}: JavaScript measurement {measurement} is not among the native"
                f" ones {native.measurements}"
            )


def time_decodes(
    *,
    decoders: Sequence[Callable[[], object]],
    seconds: float,
    repeats: int,
    iterations: int | None = None,
) -> list[Timing]:
    """Time each decoder after a warm-up; return the median rate of its ``repeats`` runs.

    Without ``iterations``, each run makes as many calls as fit in ``seconds / repeats`` by the
    warm-up's estimate, and the warm-up lasts a fifth of ``seconds``. The decoders take turns
    run by run, so a burst of load elsewhere on the machine hits them alike and their ratio
    stays fair.
    """
    counts = [_warm_up(decode, seconds / 5, repeats, iterations) for decode in decoders]
    rates: list[list[float]] = [[] for _ in decoders]
    for _ in range(repeats):
        for decode, count, runs in zip(decoders, counts, rates, strict=True):
            start = time.perf_counter()
            for _ in range(count):
                decode()
            runs.append(count / (time.perf_counter() - start))
    return [
        Timing(rate=statistics.median(runs), iterations=count, repeats=repeats)
        for count, runs in zip(counts, rates, strict=True)
    ]


def bench_device(
    *,
    codec: Codec,
    javascript: JavaScriptCodec | None,
    seconds: float,
    repeats: int,
    iterations: int | None = None,
) -> Row:
    """Build the device type's sample frame, check the codecs agree on it, and time both."""
    frame = sample_frame(codec=codec)
    payload, f_port = frame.payload, frame.f_port
    decoders: list[Callable[[], object]] = [lambda: codec.decode(payload=payload, f_port=f_port)]
    if javascript is not None:
        check_agreement(
            device_type=codec.name,
            native=codec.decode(payload=payload, f_port=f_port),
            javascript=javascript.decode(payload=payload, f_port=f_port),
        )
        decoders.append(lambda: javascript.decode(payload=payload, f_port=f_port))
    timings = time_decodes(
        decoders=decoders, seconds=seconds, repeats=repeats, iterations=iterations
    )
    return Row(
        device_type=codec.name,
        frame=frame,
        native=timings[0],
        javascript=timings[1] if javascript is not None else None,
    )


def sandbox_round_trip(*, seconds: float, repeats: int, iterations: int | None = None) -> Timing:
    """Time a JavaScript codec that does no work: what the sandbox itself costs per decode."""
    with JavaScriptCodec(name="empty", source=_EMPTY_CODEC) as codec:
        (timing,) = time_decodes(
            decoders=[lambda: codec.decode(payload=_EMPTY_PAYLOAD, f_port=2)],
            seconds=seconds,
            repeats=repeats,
            iterations=iterations,
        )
    return timing


def machine_summary() -> str:
    """Describe the machine and the engines: CPUs, operating system, Python, mini-racer."""
    cpus = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    cpu_text = f"{cpus} CPUs" if usable == cpus else f"{cpus} CPUs ({usable} usable)"
    model = _cpu_model()
    if model:
        cpu_text += f", {model}"
    try:
        racer = f"mini-racer {importlib.metadata.version('mini-racer')}"
    except importlib.metadata.PackageNotFoundError:
        racer = "mini-racer (version unknown)"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{cpu_text}; {platform.system()} {platform.release()}; {python}; {racer}"


def run(
    *,
    out: TextIO,
    seconds: float,
    repeats: int,
    only: Sequence[str] = (),
    iterations: int | None = None,
) -> list[Row]:
    """Benchmark the chosen device types (all when ``only`` is empty), printing as it goes."""
    codecs = [codec for codec in native_codecs() if not only or codec.name in only]
    budget = (
        f"{iterations} decodes per run"
        if iterations is not None
        else f"~{seconds:g} s per codec and engine"
    )
    print("loracity codec benchmark: decodes per second, native Python and JavaScript", file=out)
    print(f"machine: {machine_summary()}", file=out)
    print(
        f"method: time.perf_counter, warm-up, then the median of {repeats} runs ({budget});"
        " native and JS runs alternate; n = decodes per run",
        file=out,
    )
    print(file=out)
    width = max([len("device type"), *(len(codec.name) for codec in codecs)])
    header = (
        f"{'device type':<{width}}  {'frame':>11}  {'native/s':>10}  {'n':>8}"
        f"  {'JS/s':>8}  {'n':>6}  {'native/JS':>9}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    rows = []
    for codec in codecs:
        # One V8 context at a time: each codec's is closed before the next one starts.
        with contextlib.ExitStack() as stack:
            field_map = JS_FIELD_MAPS.get(codec.name)
            javascript = None
            if field_map is not None:
                javascript = stack.enter_context(
                    JavaScriptCodec.from_file(path=JS_DIR / f"{codec.name}.js", field_map=field_map)
                )
            row = bench_device(
                codec=codec,
                javascript=javascript,
                seconds=seconds,
                repeats=repeats,
                iterations=iterations,
            )
        rows.append(row)
        print(_format_row(row, width), file=out, flush=True)
    print(file=out)
    if any(row.javascript is not None for row in rows):
        floor = sandbox_round_trip(seconds=seconds, repeats=repeats, iterations=iterations)
        print(
            f"sandbox alone (a decodeUplink that does no work): {floor.rate:,.0f}/s,"
            f" {1e6 / floor.rate:,.0f} us per call (n = {floor.iterations:,})",
            file=out,
        )
    print(
        "frame: sample uplink length in bytes and its FPort. JS: bench/js/<type>.js through"
        " lorawan.codecs.javascript.JavaScriptCodec (V8 sandbox); — = no JavaScript codec.",
        file=out,
    )
    print(
        "These figures are from this run on this machine, with whatever else it was doing;"
        " rerun before comparing.",
        file=out,
    )
    return rows


def main(*, argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the benchmark and return the exit code."""
    known = [codec.name for codec in native_codecs()]
    parser = argparse.ArgumentParser(
        prog="bench/codecs.py",
        description="Decodes per second of loracity's native codecs next to JavaScript codecs"
        " decoding the same frames.",
    )
    parser.add_argument(
        "--seconds",
        type=_positive_float,
        default=1.0,
        help="timed seconds per codec and engine, split over the repeats (default 1)",
    )
    parser.add_argument(
        "--repeats", type=_positive_int, default=3, help="timed runs per figure (default 3)"
    )
    parser.add_argument(
        "--iterations",
        type=_positive_int,
        help="decodes per run instead of a time budget (for smoke tests)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="TYPE",
        default=[],
        help="benchmark only this device type (repeatable)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only) - set(known))
    if unknown:
        parser.error(f"unknown device type(s) {', '.join(unknown)}; known: {', '.join(known)}")
    try:
        run(
            out=sys.stdout,
            seconds=args.seconds,
            repeats=args.repeats,
            only=args.only,
            iterations=args.iterations,
        )
    except BenchError as exc:
        print(f"bench/codecs.py: {exc}", file=sys.stderr)
        return 1
    return 0


# -- internals ------------------------------------------------------------------------------------


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours is theirs
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(ours, Mapping) and isinstance(theirs, Mapping):
        return ours.keys() == theirs.keys() and all(_same(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(_same, ours, theirs))
    return bool(ours == theirs)


def _warm_up(
    decode: Callable[[], object], seconds: float, repeats: int, iterations: int | None
) -> int:
    """Call ``decode`` for ``seconds`` (or ``iterations`` times); return the calls per run."""
    if iterations is not None:
        for _ in range(iterations):
            decode()
        return iterations
    # The first calls are slow (caches, V8 compiling the codec), so only the second half of the
    # warm-up estimates the cost of a call.
    deadline = time.perf_counter() + seconds / 2
    while time.perf_counter() < deadline:
        decode()
    calls = 0
    start = time.perf_counter()
    while True:
        decode()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 2:
            break
    # The warm-up lasted a fifth of the budget, which the runs share.
    return max(1, round(5 * seconds / repeats / (elapsed / calls)))


def _format_row(row: Row, width: int) -> str:
    frame = f"{len(row.frame.payload)} B/{row.frame.f_port}"
    native = row.native
    if row.javascript is None:
        js_rate, js_n, ratio = "—", "", "—"
    else:
        js_rate = f"{row.javascript.rate:,.0f}"
        js_n = f"{row.javascript.iterations:,}"
        ratio = f"{native.rate / row.javascript.rate:,.1f}x"
    return (
        f"{row.device_type:<{width}}  {frame:>11}  {native.rate:>10,.0f}  {native.iterations:>8,}"
        f"  {js_rate:>8}  {js_n:>6}  {ratio:>9}"
    )


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return " ".join(line.partition(":")[2].split())
    return platform.processor()


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
