"""JavaScript codecs: the three codec styles, field maps, and the sandbox against hostile codecs.

The hostile codecs really loop, allocate and recurse; the limits are small so each test takes
about one time limit (100 ms) at most.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lorawan.codecs.base import Codec, Measurement
from lorawan.codecs.javascript import JavaScriptCodec, JavaScriptCodecError, JavaScriptLoadError
from lorawan.errors import CodecError

JS = Path(__file__).parents[2] / "data" / "js" / "codecs"

ROOM_FIELD_MAP = {
    "temperature": "temperature",
    "humidity": "relative_humidity",
    "battery_mv": {"quantity": "battery_voltage", "scale": 0.001},
    "lines.1.in": {"quantity": "people_in", "channel": 1},
    "lines.2.out": {"quantity": "people_out", "channel": 2},
}

# A codec that behaves on FPort 1 and misbehaves in a different way on every other port.
HOSTILE = """
function decodeUplink(input) {
  switch (input.fPort) {
    case 1: return { data: { temperature: input.bytes[0] } };
    case 2: while (true) {}
    case 3: throw new Error("sensor on fire");
    case 4: { var heap = []; while (true) heap.push(new Array(100000).fill(1.5)); }
    case 5: { var buffers = []; while (true) buffers.push(new Uint8Array(1e7).fill(7)); }
    case 6: return 42;
    case 7: return undefined;
    case 8: return (function deeper(n) { return deeper(n + 1) + 1; })(0);
    case 9: { (function again() { Promise.resolve().then(again); })(); return { data: {} }; }
    case 10: { var loop = {}; loop.self = loop; return { data: loop }; }
    case 11: return { data: "not an object" };
    case 12: return { data: { big: "x".repeat(2000000) } };
    case 13: return [1, 2, 3];
    case 14: { var u = new Uint8Array(1e7); u.constructor = undefined;
               var copies = []; while (true) copies.push(u.slice()); }
    case 15: { var ab = new ArrayBuffer(8); while (true) ab = ab.transfer(ab.byteLength * 2); }
    case 16: { var big = new Uint8Array({ length: 1e8 }); return { data: {} }; }
  }
  return { errors: ["unknown port"] };
}
"""


@pytest.fixture
def room() -> Iterator[JavaScriptCodec]:
    with JavaScriptCodec.from_file(path=JS / "room-sensor.js", field_map=ROOM_FIELD_MAP) as codec:
        yield codec


@pytest.fixture(scope="module")
def hostile() -> Iterator[JavaScriptCodec]:
    with JavaScriptCodec(name="hostile", source=HOSTILE, timeout_ms=100, memory_mb=32) as codec:
        yield codec


@pytest.fixture(scope="module")
def hungry() -> Iterator[JavaScriptCodec]:
    """The hostile codec with a time limit generous enough that, even on a loaded machine,
    the memory limit is what stops an allocation bomb."""
    with JavaScriptCodec(name="hostile", source=HOSTILE, timeout_ms=10_000, memory_mb=32) as codec:
        yield codec


def _still_works(codec: JavaScriptCodec) -> None:
    result = codec.decode(payload=bytes([21]), f_port=1)
    assert result.fields == {"temperature": 21}


# -- the TS013 style and field maps --------------------------------------------------------------


def test_decodes_ts013_codec_through_field_map(room: JavaScriptCodec) -> None:
    result = room.decode(payload=bytes.fromhex("00d75a0ce4"), f_port=1)

    assert result.fields == {"temperature": 21.5, "humidity": 45, "battery_mv": 3300}
    assert result.measurements == [
        Measurement("temperature", 21.5),
        Measurement("relative_humidity", 45.0),
        Measurement("battery_voltage", pytest.approx(3.3)),  # type: ignore[arg-type]
    ]
    assert result.warnings == []
    assert isinstance(room, Codec)
    assert room.style == "ts013"


def test_nested_paths_and_channels(room: JavaScriptCodec) -> None:
    result = room.decode(payload=bytes([2, 0, 12, 0, 3, 0, 1, 0, 0]), f_port=2)

    assert result.fields == {"lines": {"1": {"in": 12, "out": 3}, "2": {"in": 1, "out": 0}}}
    assert result.measurements == [
        Measurement("people_in", 12.0, channel=1),
        Measurement("people_out", 0.0, channel=2),
    ]


def test_codec_warnings_are_kept(room: JavaScriptCodec) -> None:
    result = room.decode(payload=bytes.fromhex("ffecd00bb8"), f_port=1)

    assert result.warnings == ["humidity above 100 %"]
    assert result.fields["temperature"] == -2


def test_returned_errors_fail_the_call(room: JavaScriptCodec) -> None:
    with pytest.raises(JavaScriptCodecError) as caught:
        room.decode(payload=bytes([0, 215]), f_port=1)

    assert caught.value.problem == "errors"
    assert caught.value.errors == ("expected 5 bytes on FPort 1, got 2",)
    assert "returned errors ['expected 5 bytes on FPort 1, got 2']" in str(caught.value)
    assert isinstance(caught.value, CodecError)


def test_without_field_map_known_top_level_values_become_measurements() -> None:
    source = """
    function decodeUplink(input) {
      return { data: { temp: 19.5, co2_ppm: 612, batv: 3.6, occupied: true, mode: "eco",
                       humidity: "55", nested: { temperature: 99 }, temperature: 20 } };
    }
    """
    with JavaScriptCodec(name="plain", source=source) as codec:
        result = codec.decode(payload=b"\x00", f_port=1)

    assert result.measurements == [
        Measurement("temperature", 19.5),
        Measurement("co2", 612.0),
        Measurement("battery_voltage", 3.6),
        # The rule of lorawan.fields, as for a network server's decoded payload.
        Measurement("parking_occupied", 1.0),
        Measurement("relative_humidity", 55.0),
    ]
    assert result.warnings == ["temperature: temperature channel 0 already taken from temp"]
    assert result.fields["nested"] == {"temperature": 99}


def test_field_map_reads_strings_booleans_lists_and_dotted_keys() -> None:
    source = """
    function decodeUplink(input) {
      return { data: { "pm2.5": "12.5", occupied: false, probes: [{ t: 1.5 }, { t: 2.5 }],
                       status: "fine", level: null } };
    }
    """
    field_map = {
        "pm2.5": "pm2_5",
        "occupied": "parking_occupied",
        "probes.1.t": {"quantity": "temperature", "channel": 2, "offset": 0.5},
        "status": "noise",
        "level": "water_level",
        "absent.field": "co2",
    }
    with JavaScriptCodec(name="mapped", source=source, field_map=field_map) as codec:
        result = codec.decode(payload=b"\x00", f_port=1)

    assert result.measurements == [
        Measurement("pm2_5", 12.5),
        Measurement("parking_occupied", 0.0),
        Measurement("temperature", 3.0, channel=2),
    ]
    assert result.warnings == ["status: 'fine' is not a number"]


@pytest.mark.parametrize(
    ("field_map", "message"),
    [
        ({"t": "temprature"}, "t: unknown quantity 'temprature'"),
        ({"t": {"quantity": "temperature", "scale": "x"}}, "t.scale: expected a number"),
        ({"t": {"quantity": "temperature", "chanel": 1}}, "t: unknown key(s) chanel"),
        ({"t": 3}, "t: expected a quantity name"),
    ],
)
def test_bad_field_maps_are_refused(field_map: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        JavaScriptCodec(name="x", source="function Decoder(b){return {}}", field_map=field_map)


def test_recv_time_arrives_as_a_date() -> None:
    source = "function decodeUplink(i) { return { data: { at: i.recvTime.toISOString() } }; }"
    with JavaScriptCodec(name="clock", source=source) as codec:
        moment = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
        result = codec.decode(payload=b"", f_port=1, recv_time=moment)

    assert result.fields == {"at": "2024-05-01T12:30:00.000Z"}


def test_strict_mode_and_const_functions_are_found() -> None:
    source = """
    "use strict";
    const scale = 10;
    const decodeUplink = (input) => ({ data: { temperature: input.bytes[0] / scale } });
    """
    with JavaScriptCodec(name="modern", source=source) as codec:
        assert codec.decode(payload=bytes([215]), f_port=1).fields == {"temperature": 21.5}


def test_empty_data_is_flagged() -> None:
    with JavaScriptCodec(name="quiet", source="function decodeUplink(){return {data:{}}}") as codec:
        result = codec.decode(payload=b"\x01", f_port=1)

    assert result.fields == {}
    assert result.warnings == ["decodeUplink returned no data"]


# -- legacy styles --------------------------------------------------------------------------------


def test_ttn_v2_decoder() -> None:
    with JavaScriptCodec.from_file(path=JS / "parking-v2.js") as codec:
        result = codec.decode(payload=bytes([1, 0x0E, 0x10]), f_port=3)

    assert codec.style == "ttn-v2"
    assert result.fields == {"occupied": True, "batv": 3.6, "port": 3}
    # A flag is 1/0, as when the network server decoded it (issue 8: one rule).
    assert result.measurements == [
        Measurement("parking_occupied", 1.0),
        Measurement("battery_voltage", 3.6),
    ]


def test_chirpstack_v3_decoder_gets_variables() -> None:
    with JavaScriptCodec.from_file(
        path=JS / "level-chirpstack-v3.js",
        variables={"mount_height_mm": "2500"},
        field_map={"level_mm": {"quantity": "water_level", "scale": 0.001}},
    ) as codec:
        result = codec.decode(payload=bytes([0x03, 0xE8]), f_port=5)

    assert codec.style == "chirpstack-v3"
    assert result.fields == {"distance_mm": 1000, "level_mm": 1500, "fport": 5}
    assert result.measurements == [Measurement("water_level", 1.5)]


# -- downlinks ------------------------------------------------------------------------------------


def test_encode_and_decode_downlink(room: JavaScriptCodec) -> None:
    encoded = room.encode(values={"interval_minutes": 300})

    assert encoded.payload == bytes([1, 1, 44])
    assert encoded.f_port == 10
    decoded = room.decode_downlink(payload=encoded.payload, f_port=encoded.f_port)
    assert decoded.data == {"interval_minutes": 300}


def test_encode_errors_fail(room: JavaScriptCodec) -> None:
    with pytest.raises(JavaScriptCodecError, match="interval_minutes must be 1-1440"):
        room.encode(values={"interval_minutes": 0})


def test_encode_without_encoder_fails_cleanly() -> None:
    with (
        JavaScriptCodec.from_file(path=JS / "parking-v2.js") as codec,
        pytest.raises(JavaScriptCodecError, match="encodeDownlink is not defined") as caught,
    ):
        codec.encode(values={"x": 1})
    assert caught.value.problem == "missing"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return {bytes: [1, 300], fPort: 2}", "'bytes' that are not a byte list"),
        ("return {bytes: [1], fPort: 0}", "returned fPort 0"),
        ("return {bytes: [1]}", "returned no fPort"),
    ],
)
def test_bad_encoder_results(body: str, message: str) -> None:
    source = f"function decodeUplink(){{return {{data:{{}}}}}} function encodeDownlink(i){{{body}}}"
    with (
        JavaScriptCodec(name="enc", source=source) as codec,
        pytest.raises(JavaScriptCodecError, match=message),
    ):
        codec.encode(values={})


# -- loading --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("function decodeUplink(input) { return {", "threw 'SyntaxError"),
        ("throw new Error('no config');", "threw 'Error: no config'"),
        ("function helper() {}", "defines none of decodeUplink, Decoder or Decode"),
        ("while (true) {}", "timed out"),
        ("function decodeUplink(){} /* unterminated", "threw"),
    ],
)
def test_sources_that_do_not_load(source: str, message: str) -> None:
    with pytest.raises(JavaScriptLoadError) as caught:
        JavaScriptCodec(name="broken", source=source, timeout_ms=20)
    assert message in str(caught.value)
    assert str(caught.value).startswith("broken: ")


# -- the sandbox ----------------------------------------------------------------------------------


def test_nothing_from_the_host_is_reachable() -> None:
    source = """
    function decodeUplink() {
      var names = ["require", "process", "fetch", "XMLHttpRequest", "setTimeout", "setInterval",
                   "WebAssembly", "SharedArrayBuffer", "FinalizationRegistry", "Deno", "Bun",
                   "importScripts", "print", "read", "load", "os"];
      var seen = {};
      for (var i = 0; i < names.length; i++) seen[names[i]] = typeof globalThis[names[i]];
      seen.waitAsync = typeof Atomics.waitAsync;
      return { data: seen };
    }
    """
    with JavaScriptCodec(name="probe", source=source) as codec:
        seen = codec.decode(payload=b"", f_port=1).fields

    assert set(seen.values()) == {"undefined"}, seen


def test_codec_cannot_forge_the_bridge() -> None:
    source = """
    var forged = '{"status":"ok","type":"object","result":{"data":{"forged":1}}}';
    JSON.stringify = function () { return forged; };
    try { globalThis.__loracity = { call: function () { return forged; } }; } catch (e) {}
    function decodeUplink(input) { return { data: { real: input.bytes[0] } }; }
    """
    with JavaScriptCodec(name="forger", source=source) as codec:
        assert codec.decode(payload=b"\x05", f_port=1).fields == {"real": 5}


@pytest.mark.timeout(10)  # a missing time limit must fail here, not hang the run
def test_infinite_loop_times_out_and_the_codec_recovers(hostile: JavaScriptCodec) -> None:
    started = time.monotonic()
    with pytest.raises(JavaScriptCodecError) as caught:
        hostile.decode(payload=b"\x00", f_port=2)
    elapsed = time.monotonic() - started

    assert caught.value.problem == "timeout"
    assert "decodeUplink timed out (no result within 100 ms)" in str(caught.value)
    assert 0.09 <= elapsed < 2
    _still_works(hostile)


def test_throw_is_reported_with_its_message(hostile: JavaScriptCodec) -> None:
    with pytest.raises(JavaScriptCodecError) as caught:
        hostile.decode(payload=b"\x00", f_port=3)

    assert caught.value.problem == "threw"
    assert str(caught.value) == "hostile: decodeUplink threw 'Error: sensor on fire'"
    _still_works(hostile)


@pytest.mark.parametrize(
    ("f_port", "limit"),
    [(4, "V8 heap limit of 32 MB"), (5, "ArrayBuffer limit of 32 MB")],
    ids=["heap", "array-buffers"],
)
def test_allocation_bombs_run_out_of_memory(
    hungry: JavaScriptCodec, f_port: int, limit: str
) -> None:
    with pytest.raises(JavaScriptCodecError) as caught:
        hungry.decode(payload=b"\x00", f_port=f_port)

    assert caught.value.problem == "out_of_memory"
    assert f"ran out of memory ({limit})" in str(caught.value)
    _still_works(hungry)


@pytest.mark.parametrize("f_port", [14, 15, 16], ids=["species-bypass", "transfer", "array-like"])
def test_buffer_allocations_that_avoid_the_constructors_are_counted(
    hungry: JavaScriptCodec, f_port: int
) -> None:
    with pytest.raises(JavaScriptCodecError) as caught:
        hungry.decode(payload=b"\x00", f_port=f_port)

    assert caught.value.problem == "out_of_memory"
    _still_works(hungry)


@pytest.mark.parametrize(
    ("f_port", "message"),
    [
        (6, "decodeUplink returned a number, expected an object"),
        (7, "decodeUplink returned undefined, expected an object"),
        (13, "decodeUplink returned an array, expected an object"),
        (10, "not JSON: TypeError: Converting circular structure to JSON"),
        (11, "decodeUplink returned 'data' that is a string, expected an object"),
        (12, "more than 1000000"),
    ],
)
def test_garbage_results_fail_that_call(
    hostile: JavaScriptCodec, f_port: int, message: str
) -> None:
    with pytest.raises(JavaScriptCodecError) as caught:
        hostile.decode(payload=b"\x00", f_port=f_port)

    assert caught.value.problem == "bad_result"
    assert message in str(caught.value)
    _still_works(hostile)


def test_deep_recursion_is_a_thrown_range_error(hostile: JavaScriptCodec) -> None:
    with pytest.raises(JavaScriptCodecError, match="Maximum call stack size exceeded"):
        hostile.decode(payload=b"\x00", f_port=8)
    _still_works(hostile)


def test_endless_promise_chain_is_blamed_on_its_own_call(hostile: JavaScriptCodec) -> None:
    # The call itself returns at once; the promise jobs it queued would run forever after it.
    with pytest.raises(JavaScriptCodecError) as caught:
        hostile.decode(payload=b"\x00", f_port=9)

    assert caught.value.problem == "timeout"
    _still_works(hostile)


def test_buffers_kept_across_calls_do_not_accumulate() -> None:
    # Each call keeps 12 MB alive in a global; a 32 MB allowance holds two of them, so the
    # context is replaced (and the call repeated) instead of growing without bound.
    source = """
    var kept = [];
    function decodeUplink(input) {
      kept.push(new Uint8Array(12 * 1024 * 1024));
      return { data: { kept: kept.length } };
    }
    """
    with JavaScriptCodec(name="hoarder", source=source, memory_mb=32) as codec:
        counts = [codec.decode(payload=b"", f_port=1).fields["kept"] for _ in range(6)]

    assert counts == [1, 2, 1, 2, 1, 2]


def test_calls_from_several_threads_are_serialised(room: JavaScriptCodec) -> None:
    failures: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for value in range(offset, offset + 30):
                payload = bytes([0, value, 90, 12, 228])
                assert room.decode(payload=payload, f_port=1).fields["temperature"] == value / 10
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(start,)) for start in (0, 50, 100, 150)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []


def test_closed_codec_fails_with_codec_error() -> None:
    codec = JavaScriptCodec.from_file(path=JS / "parking-v2.js")
    codec.close()

    with pytest.raises(CodecError, match="closed"):
        codec.decode(payload=bytes([1, 0, 0]), f_port=1)
